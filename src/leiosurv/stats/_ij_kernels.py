"""The compiled loops of the weighted and delayed-entry estimators: locating a group's sorted rows among
its event times (:func:`locate`, :func:`at_risk`), the infinitesimal-jackknife variance's sums
(:func:`b_side`, :func:`ij_cause`, :func:`km_variance`), and Kaplan–Meier's table (:func:`at_all_times`).

The algebra is :mod:`leiosurv.stats._entry_weights`'s (its module docstring derives it); these are the
loops that evaluate it.  Each variance loop is one pass over the ``m`` event times of a group (and one over its late
rows with delayed entry) in the order the sums are defined, so a sum is added in the same order as a
cumulative sum or a ``bincount`` would add it.  As numpy array expressions the same sums took about
40 passes over the event times and 15 gathers per late row, each a fresh temporary of ``m`` values:
at 10^6 rows that was most of the estimator's time (``docs/regression.md``, Speed).

Memory is the other cost: fresh memory costs more than the arithmetic on it (on this project's
2-core machine about 0.8 ms per MB first written), so the loops write no array they can do without;
an array with room for every row costs only the part that is written.

Compiled by numba on first use and cached beside this file (or, where that is read-only, in numba's
per-user cache), so the compile is paid once per installation, not per process.

Array conventions (one group; ``K`` causes, ``m`` event times ``t_0 < ... < t_{m-1}``, ``L`` late rows):

* ``h`` (m,): the jump of ``B`` at an event; ``rb`` (m,): ``B``'s drift;
* ``w2_event`` (K, m), ``c0``, ``c1`` (m,): the per-bin sums of squared weights of each cause's events,
  of the censored rows exiting before ``t_l`` (bin ``g = l``) and of those exiting at ``t_l`` (read only
  with ``at_event``: some censored row exits at an event time);
* the late rows (``entry`` true): entry bin ``a``, exit bins ``g`` and ``b``, ``ge`` (``g`` of an event
  row, ``m`` of a censored one), column ``col`` (0 censored, k cause), squared weight ``w2l``, and
  ``ea`` (m,): the sum of ``w^2`` of all rows per entry bin.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def locate(xs: np.ndarray, col: np.ndarray, w: np.ndarray, weighted: bool, e: np.ndarray, entry: bool, k: int,
           squares: bool, pooled: bool
           ) -> tuple[int, int, int, bool, float, float, np.ndarray, np.ndarray, np.ndarray, int, np.ndarray,
                      np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                      np.ndarray, np.ndarray, np.ndarray]:
    """One group's rows, in exit order, located among its distinct event times: one pass.

    ``xs``: the group's exit times in increasing order, and of the same rows in the same order ``col``
    (0 censored, k cause), ``w`` (read with ``weighted``) and ``e`` (read with ``entry``).  A run of equal
    exit times holding an event is an event time ``t_l``.  With ``pooled``, the weighted sums of the
    events (``dn``, ``w2_event``) have one row, every cause's (Kaplan–Meier needs no more).

    Returns ``m`` (event times), the number of censored rows and of late rows (entering at or after
    ``t_0``), whether a censored row exits at an event time
    (``at_event``), the total weight and the total squared weight; then, each with room for every row
    (the first ``m``, ``m + 1`` or late-row entries hold the values; the rest is never written, so costs
    no memory): ``time``, ``left`` (weight exiting before ``t_l``), ``start`` (with entry: the sorted
    position of ``t_l``'s first row; and that of the last event time, ``last_start``, as a number),
    ``t_l``'s first row), ``dn`` (K, .) weighted and ``events`` (K, .) unweighted events, the censored
    rows' times in order; with ``squares`` the squared weights of the events ``w2_event`` (K, .) and of
    the censored rows exiting in ``(t_{l-1}, t_l)`` (``c0``, m + 1) and at ``t_l`` (``c1``, written
    only with ``at_event``), the late rows excluded; and per late row in exit order its bins ``g``
    (event times before its exit) and ``b`` (at or before it), column, weight and entry.
    """
    n = xs.size
    time = np.empty(n)
    left = np.empty(n)
    start = np.empty(n if entry else 0, dtype=np.intp)  # (without entry only the last one is read)
    last_start = 0
    kw = 1 if pooled else k
    dn = np.empty((kw, n))
    events = np.empty((k, n), dtype=np.int64)
    cens = np.empty(n)
    w2_event = np.empty((kw, n if squares else 0))
    c0 = np.empty(n + 1 if squares else 0)
    c1 = np.empty(n + 1 if squares else 0)
    nl_cap = n if entry else 0
    lg = np.empty(nl_cap, dtype=np.intp)
    lb = np.empty(nl_cap, dtype=np.intp)
    lcol = np.empty(nl_cap, dtype=np.intp)
    lw = np.empty(nl_cap)
    le = np.empty(nl_cap)
    m = 0
    nc = 0
    nl = 0
    at_event = False
    cum = 0.0
    w2_total = 0.0
    time0 = np.inf
    if squares:
        c0[0] = 0.0
    i = 0
    while i < n:
        x = xs[i]
        j = i + 1
        while j < n and xs[j] == x:
            j += 1
        event_time = False
        for r in range(i, j):
            if col[r] > 0:
                event_time = True
                break
        ll = m  # this event time's index (when it is one)
        if event_time:
            m += 1
            time[ll] = x
            last_start = i
            if entry:
                start[ll] = i
            left[ll] = cum
            for c in range(k):
                events[c, ll] = 0
            for c in range(kw):
                dn[c, ll] = 0.0
                if squares:
                    w2_event[c, ll] = 0.0
            if squares:
                c0[m] = 0.0  # the bin of the rows exiting after t_l
                if at_event:
                    c1[ll] = 0.0
            if ll == 0:
                time0 = x
        for r in range(i, j):
            c = col[r]
            wi = w[r] if weighted else 1.0
            cum += wi
            w2 = wi * wi
            w2_total += w2
            late = entry and m > 0 and e[r] >= time0
            if c > 0:
                cw = 0 if pooled else c - 1
                dn[cw, ll] += wi
                events[c - 1, ll] += 1
                if squares and not late:
                    w2_event[cw, ll] += w2
            else:
                cens[nc] = x
                nc += 1
                if squares and not late:
                    if event_time:
                        if not at_event:  # the first: c1 is written from here on
                            at_event = True
                            c1[: ll + 1] = 0.0
                        c1[ll] += w2
                    else:
                        c0[m] += w2
            if late:
                lg[nl] = ll if event_time else m
                lb[nl] = ll + 1 if event_time else m
                lcol[nl] = c
                lw[nl] = wi
                le[nl] = e[r]
                nl += 1
        i = j
    return (m, nc, nl, at_event, cum, w2_total, time, left, start, last_start, dn, events, cens, w2_event,
            c0, c1, lg, lb, lcol, lw, le)


@njit(cache=True)
def at_risk(time: np.ndarray, left: np.ndarray, start: np.ndarray, last_start: int, dn: np.ndarray,
            events: np.ndarray, n: int, total: float, w2_total: float, le: np.ndarray, eorder: np.ndarray,
            lw: np.ndarray, lcol: np.ndarray, lg: np.ndarray, squares: bool, entry: bool
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The weighted numbers at risk ``y`` (m,: written over ``left``, the weight exiting before each
    event time ``time``), and for the late rows (entry ``le``, sorting order ``eorder``, weight ``lw``)
    their entry bins ``a`` (event times at or before the entry), ``ge`` (``g`` of an event row, ``m`` of
    a censored one) and the sum of squared weights of all rows per entry bin (m + 1,; with ``squares``
    and ``entry``).

    Where every row at risk has an event (the unweighted counts say so exactly), ``y`` is those
    events' weight: as a difference of cumulated sums it keeps a rounding residue, and ``1 - d / y``
    would then leave a tiny ``S`` instead of 0 (and the IJ jump ``h = S_{l-1} / (y S)`` a huge one).
    Without entry only the last event time can be such (every row left after it would still be at
    risk), and ``start`` is empty: ``last_start`` is its first row's position.
    """
    m = time.size
    nl = le.size
    a = np.empty(nl, dtype=np.intp)
    j = 0
    for q in range(nl):  # the late rows by entry: a merge with the event times
        r = eorder[q]
        while j < m and time[j] <= le[r]:
            j += 1
        a[r] = j
    entered = np.zeros(m + 1 if nl else 0)
    by_entry = np.zeros(m + 1 if squares and entry else 0)
    count = np.zeros(m + 1 if nl else 0, dtype=np.intp)
    ge = np.empty(nl, dtype=np.intp)
    wl = 0.0
    w2l = 0.0
    for r in range(nl):
        entered[a[r]] += lw[r]
        wl += lw[r]
        if squares:
            by_entry[a[r]] += lw[r] * lw[r]
            w2l += lw[r] * lw[r]
        count[a[r]] += 1
        ge[r] = lg[r] if lcol[r] > 0 else m
    if nl:
        entered[0] += total - wl
    if by_entry.size:
        by_entry[0] += w2_total - w2l
    y = left
    s = total
    waiting = nl  # late rows not entered yet
    for ll in range(m):
        if nl:
            s = s + entered[ll] if ll else entered[0]
            waiting -= count[ll]
        y[ll] = s - left[ll]
        d = 0
        wd = 0.0
        for c in range(events.shape[0]):
            d += events[c, ll]
        for c in range(dn.shape[0]):  # (one row when pooled)
            wd += dn[c, ll]
        first = start[ll] if start.size else (last_start if ll == m - 1 else -1)
        if first >= 0 and n - first - waiting == d:
            y[ll] = wd
    return y, a, ge, by_entry


@njit(cache=True)
def b_side(h: np.ndarray, rb: np.ndarray, w2_event: np.ndarray, c0: np.ndarray, c1: np.ndarray, at_event: bool,
           w2_total: float, entry: bool, a: np.ndarray, g: np.ndarray, b: np.ndarray, ge: np.ndarray,
           w2l: np.ndarray, ea: np.ndarray, b_ev: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ``B`` side of the variance, shared by every cause: ``crb`` (m + 1,: ``R^B`` through
    ``t_{l-1}``), ``bb`` (the cumulated ``F^2`` part), ``r1`` (``sum w^2`` over the rows at risk after
    ``t_l``), ``kf`` (the cumulated ``K F`` part of the late rows, doubled; with entry, else empty), and
    per late row ``beta`` (``B`` once gone) and ``bx`` (``beta - v``).  ``b_ev`` (m,; or empty: not
    asked) receives ``B`` of an event row at ``t_l`` once gone."""
    m = h.size
    k = w2_event.shape[0]
    crb = np.empty(m + 1)
    crb[0] = 0.0
    s = 0.0
    for j in range(m):
        s += rb[j]
        crb[j + 1] = s
    nl = a.size
    beta = np.empty(nl)
    bx = np.empty(nl)
    # per exit bin g, the late rows' sum w^2 (beta^2 - v^2), sum w^2 and sum w^2 v (zeros without entry),
    # turned in place into the cumulated bb, r1 and kf below
    bb = np.zeros(m) if entry else np.empty(m)
    r1 = np.zeros(m) if entry else np.empty(m)
    kf = np.zeros(m if entry else 0)
    for i in range(nl):
        v = crb[a[i]]
        x = (h[ge[i]] if ge[i] < m else 0.0) - crb[b[i]]
        bx[i] = x
        beta[i] = x + v
        gi = g[i]
        if gi < m:  # (a row leaving after the last event time never counts as gone)
            bb[gi] += w2l[i] * x * (x + v + v)
            r1[gi] += w2l[i]
            kf[gi] += w2l[i] * v
    sb = 0.0
    sg = 0.0
    sk = 0.0
    for j in range(m):
        be = h[j] - crb[j + 1]
        if b_ev.size:
            b_ev[j] = be
        w2 = w2_event[0, j]
        for c in range(1, k):
            w2 += w2_event[c, j]
        x = w2 * be * be + c0[j] * crb[j] * crb[j]
        gone = w2 + c0[j]
        if at_event:  # censored rows exiting at an event time
            x += c1[j] * crb[j + 1] * crb[j + 1]
            gone += c1[j]
        if entry:
            sb += x + bb[j] + ea[j] * crb[j] * crb[j]
            sg += ea[j] - (gone + r1[j])
            r1[j] = sg
            sk += ea[j] * crb[j] - kf[j]
            kf[j] = 2.0 * sk
        else:
            sb += x
            sg += gone
            r1[j] = w2_total - sg
        bb[j] = sb
    return crb, bb, r1, kf, beta, bx


@njit(cache=True)
def km_variance(surv: np.ndarray, crb: np.ndarray, bb: np.ndarray, r1: np.ndarray, kf: np.ndarray,
                out: np.ndarray) -> None:
    """Kaplan–Meier's IJ variance ``S^2 sum_i w_i^2 B_i^2`` into ``out``: the ``B`` side alone
    (``A = 0``, ``F = 1``, so ``K = -R^B``)."""
    for j in range(surv.size):
        kk = -crb[j + 1]
        v = kk * r1[j]
        if kf.size:
            v += kf[j]
        v = v * kk + bb[j]
        out[j] = surv[j] * surv[j] * (v if v > 0.0 else 0.0)


@njit(cache=True)
def ij_cause(f: np.ndarray, dn: np.ndarray, y: np.ndarray, p: np.ndarray, h: np.ndarray, da: np.ndarray,
             w2_event: np.ndarray, c0: np.ndarray, c1: np.ndarray, at_event: bool, crb: np.ndarray,
             b_ev: np.ndarray, bb: np.ndarray, r1: np.ndarray, kf: np.ndarray, beta: np.ndarray, bx: np.ndarray,
             cause: int, entry: bool, a: np.ndarray, g: np.ndarray, b: np.ndarray, ge: np.ndarray,
             col: np.ndarray, w2l: np.ndarray, ea: np.ndarray, work: np.ndarray, out: np.ndarray) -> None:
    """``sum_i w_i^2 (A_i(t_l) - f_l B_i(t_l))^2`` at every event time, into ``out`` (m,), for the cause
    whose CIF is ``f`` (m,), events ``dn`` (m,) and column number ``cause`` (1..K).  ``p`` (m + 1,): the
    further jump of ``A`` at an event of the cause, with a last 0; ``h``, ``da`` (m,): ``B``'s jump and
    the all-cause hazard increments; ``crb`` ... ``bx``: from :func:`b_side`; ``work``: scratch rows
    (3 with entry, else 1) of ``m + 1``, shared by the causes.  ``q_l = h_l f_l`` is the jump of ``A`` at
    any event."""
    m = f.size
    k = w2_event.shape[0]
    cra = work[0]  # R^A through t_{l-1}
    cra[0] = 0.0
    s = 0.0
    for j in range(m):
        s += dn[j] / y[j] * p[j] + h[j] * f[j] * da[j]
        cra[j + 1] = s
    if entry:
        # per exit bin g, the late rows' w^2 (alpha^2 - u^2) (in out until the last loop),
        # w^2 (alpha beta - u v) and w^2 u
        late_ab = work[1]
        late_wu = work[2]
        out[:] = 0.0
        late_ab[:] = 0.0
        late_wu[:] = 0.0
        for i in range(a.size):
            u = cra[a[i]]
            gi = g[i]
            x = (h[ge[i]] * f[ge[i]] if ge[i] < m else 0.0) + p[gi if col[i] == cause else m] - cra[b[i]]
            wx = w2l[i] * x  # (x: A once gone less u)
            wu = w2l[i] * u
            if gi < m:
                out[gi] += wx * (u + u + x)
                late_ab[gi] += wx * beta[i] + wu * bx[i]
                late_wu[gi] += wu
    sa = 0.0
    sb = 0.0
    sk = 0.0
    for j in range(m):
        fj = f[j]
        w2 = w2_event[0, j]
        for c in range(1, k):
            w2 += w2_event[c, j]
        a_ev = h[j] * fj - cra[j + 1]  # A of an event row of another cause, once gone
        own = w2_event[cause - 1, j] * p[j]
        x = w2 * a_ev
        y_ = (x + own) * b_ev[j]
        x = x * a_ev + (a_ev * 2.0 + p[j]) * own
        c = c0[j] * cra[j]  # the censored rows of the bin, exiting before t_l ...
        y_ += c * crb[j]
        x += c * cra[j]
        if at_event:  # ... and at it
            c = c1[j] * cra[j + 1]
            y_ += c * crb[j + 1]
            x += c * cra[j + 1]
        kk = cra[j + 1] - fj * crb[j + 1]  # K_l: an at-risk row's A - F B is -(K_l - (u - F v))
        risk = kk * r1[j]
        if entry:
            eu = ea[j] * cra[j]
            x = x + out[j] + eu * cra[j]
            y_ = y_ + eu * crb[j] + late_ab[j]
            sk += late_wu[j] - eu
            risk = risk + 2.0 * sk + fj * kf[j]
        sa += x
        sb += y_
        v = sa - sb * fj * 2.0 + fj * fj * bb[j] + risk * kk
        out[j] = v if v > 0.0 else 0.0


@njit(cache=True)
def at_all_times(d: np.ndarray, s_ev: np.ndarray, var_ev: np.ndarray, surv: np.ndarray, se: np.ndarray) -> None:
    """Kaplan–Meier's ``S`` and SE at every time of the table (``d``: its events per time, > 0 at the event
    times, in order) from their values at the event times (``s_ev``, the variance ``var_ev``): each time
    takes the last event time's at or before it (before the first, ``S = 1`` and SE 0)."""
    s = 1.0
    v = 0.0
    j = 0
    for i in range(d.size):
        if d[i] > 0:
            s = s_ev[j]
            v = np.sqrt(var_ev[j])
            j += 1
        surv[i] = s
        se[i] = v

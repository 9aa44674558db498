"""The compiled loops of the weighted and delayed-entry estimators: locating a group's sorted rows among
its event times (:func:`locate`, :func:`at_risk`), the infinitesimal-jackknife variance's sums
(:func:`ij_variance`, every cause's and Kaplan–Meier's), and Kaplan–Meier's table (:func:`at_all_times`).

The algebra is :mod:`leiosurv.stats._entry_weights`'s (its module docstring derives it); these are the
loops that evaluate it.  The variance is one pass over the ``m`` event times of a group, every cause at
once, taking the late rows (delayed entry) at their exit, in the order the sums are defined: a sum is
added in the same order as a cumulative sum or a ``bincount`` would add it.  As numpy array
expressions the same sums took about 40 passes over the event times and 15 gathers per late row, each
a fresh temporary of ``m`` values: at 10^6 rows that was most of the estimator's time (``docs/regression.md``, Speed).

Memory is the other cost: fresh memory costs more than the arithmetic on it (on this project's
2-core machine about 0.8 ms per MB first written), so the loops write no array they can do without;
an array with room for every row costs only the part that is written.

Compiled by numba on first use and cached beside this file (or, where that is read-only, in numba's
per-user cache), so the compile is paid once per installation, not per process.

Array conventions (one group; ``K`` causes, ``m`` event times ``t_0 < ... < t_{m-1}``, ``L`` late rows):

* ``w2_event`` (K, m), ``c0``, ``c1`` (m,): the per-bin sums of squared weights of each cause's events,
  of the censored rows exiting before ``t_l`` (bin ``g = l``) and of those exiting at ``t_l`` (read only
  with ``at_event``: some censored row exits at an event time);
* the late rows (``entry`` true), in exit order: entry bin ``a``, exit bins ``g`` and ``b``, column ``col``
  (0 censored, k cause), squared weight ``w2l``, and ``ea`` (m,): the sum of ``w^2`` of all rows per
  entry bin.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def locate(xs: np.ndarray, col: np.ndarray, w: np.ndarray, weighted: bool, e: np.ndarray, entry: bool, k: int,
           squares: bool, pooled: bool, full: bool
           ) -> tuple[int, int, int, bool, float, float, np.ndarray, np.ndarray, np.ndarray, int, np.ndarray,
                      np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                      np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One group's rows, in exit order, located among its distinct event times: one pass.

    ``xs``: the group's exit times in increasing order, and of the same rows in the same order ``col``
    (0 censored, k cause), ``w`` (read with ``weighted``) and ``e`` (read with ``entry``).  A run of equal
    exit times holding an event is an event time ``t_l``.  With ``pooled``, the weighted sums of the
    events (``dn``, ``w2_event``) have one row, every cause's (Kaplan–Meier needs no more).  With
    ``full``, the counts are written on the full grid of distinct exit times instead of as the censored
    rows' times (the table of Kaplan–Meier has every time).

    Returns ``m`` (event times), the number of censored rows (with ``full``: of distinct exit times) and
    of late rows (entering at or after ``t_0``), whether a censored row exits at an event time
    (``at_event``), the total weight and the total squared weight; then, each with room for every row
    (the first ``m``, ``m + 1``, late-row or distinct-time entries hold the values; the rest is never
    written, so costs no memory):

    * ``time``; ``left`` (weight exiting before ``t_l``); with entry ``start`` (the sorted position of
      ``t_l``'s first row), and as a number ``last_start`` (that of the last event time);
    * ``dn`` (K, .) weighted and ``events`` (K, .) unweighted events at each ``t_l``;
    * the censored rows' times in order, or with ``full`` the distinct exit times, and (``full`` only)
      the unweighted events (K, .) and censored rows at each;
    * with ``squares``, the squared weights of the events ``w2_event`` (K, .), of the censored rows
      exiting in ``(t_{l-1}, t_l)`` (``c0``, m + 1) and at ``t_l`` (``c1``, written only with
      ``at_event``), the late rows excluded;
    * per late row in exit order its bins ``g`` (event times before its exit) and ``b`` (at or before
      it), column, weight and entry.
    """
    n = xs.size
    time = np.empty(n)
    left = np.empty(n)
    start = np.empty(n if entry else 0, dtype=np.intp)  # (without entry only the last one is read)
    last_start = 0
    kw = 1 if pooled else k
    dn = np.empty((kw, n))
    events = np.empty((k, n), dtype=np.int64)
    cens = np.empty(n)  # the censored rows' times; with full, the distinct exit times
    f_events = np.empty((k, n if full else 0), dtype=np.int64)
    f_cens = np.empty(n if full else 0, dtype=np.int64)
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
        if full:
            cens[nc] = x
            for c in range(k):
                f_events[c, nc] = 0
            f_cens[nc] = 0
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
                if full:
                    f_events[c - 1, nc] += 1
                if squares and not late:
                    w2_event[cw, ll] += w2
            else:
                if full:
                    f_cens[nc] += 1
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
        if full:
            nc += 1
        i = j
    return (m, nc, nl, at_event, cum, w2_total, time, left, start, last_start, dn, events, cens, f_events,
            f_cens, w2_event, c0, c1, lg, lb, lcol, lw, le)


@njit(cache=True)
def at_risk(time: np.ndarray, left: np.ndarray, start: np.ndarray, last_start: int, dn: np.ndarray,
            events: np.ndarray, n: int, total: float, w2_total: float, le: np.ndarray, eorder: np.ndarray,
            lw: np.ndarray, squares: bool, entry: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The weighted numbers at risk ``y`` (m,: written over ``left``, the weight exiting before each
    event time ``time``), and for the late rows (entry ``le``, sorting order ``eorder``, weight ``lw``)
    their entry bins ``a`` (event times at or before the entry) and the sum of squared weights of all rows
    per entry bin (m + 1,; with ``squares`` and ``entry``).

    Where every row at risk has an event (the unweighted counts say so exactly), ``y`` is those
    events' weight: as a difference of cumulated sums it keeps a rounding residue, and ``1 - d / y``
    would then leave a tiny ``S`` instead of 0 (and the IJ jump ``h = S_{l-1} / (y S)`` a huge one).
    Without entry only the last event time can be such (every row left after it would still be at
    risk), and ``start`` is empty: ``last_start`` is its first row's position.
    """
    m = time.size
    nl = le.size
    a = np.empty(nl, dtype=np.intp)
    by_entry = np.empty(m + 1 if squares and entry else 0)
    wl = 0.0
    w2l = 0.0
    for r in range(nl):
        wl += lw[r]
        w2l += lw[r] * lw[r]
    # the late rows' entries and weights in entry order, gathered in a loop of their own (the merge
    # below, reading them through eorder, waited on each read: measured 3x slower)
    e_sorted = np.empty(nl)
    w_sorted = np.empty(nl)
    for q in range(nl):
        e_sorted[q] = le[eorder[q]]
        w_sorted[q] = lw[eorder[q]]
    y = left
    s = total - wl  # the weight at risk from the start: every row but the late ones
    q = 0  # the late rows by entry, merged with the event times: entered, unless waiting
    for ll in range(m):
        entered = 0.0
        entered2 = 0.0
        while q < nl and e_sorted[q] < time[ll]:  # entered before t_l: at or after t_{l-1}
            a[eorder[q]] = ll
            entered += w_sorted[q]
            entered2 += w_sorted[q] * w_sorted[q]
            q += 1
        s += entered
        if by_entry.size:
            by_entry[ll] = entered2 + (w2_total - w2l if ll == 0 else 0.0)
        y[ll] = s - left[ll]
        d = 0
        wd = 0.0
        for c in range(events.shape[0]):
            d += events[c, ll]
        for c in range(dn.shape[0]):  # (one row when pooled)
            wd += dn[c, ll]
        first = start[ll] if start.size else (last_start if ll == m - 1 else -1)
        if first >= 0 and n - first - (nl - q) == d:
            y[ll] = wd
    entered2 = 0.0
    while q < nl:  # entered at or after the last event time
        a[eorder[q]] = m
        entered2 += w_sorted[q] * w_sorted[q]
        q += 1
    if by_entry.size:
        by_entry[m] = entered2 + (w2_total - w2l if m == 0 else 0.0)
    return y, a, by_entry


@njit(cache=True, error_model="numpy")
def _jumps(y: np.ndarray, d: np.ndarray, surv: np.ndarray, lag: np.ndarray, j: int) -> tuple[float, float, float]:
    """At event time ``t_j``: ``p = S_{j-1}/y`` (the further jump of ``A`` at an event of the cause),
    ``h = S_{j-1}/(y S_j)`` (the jump of ``B`` at an event; 0 where ``S_j = 0``: then nothing is left to
    change) and the all-cause hazard increment ``d / y``.

    ``y > 0`` at every event time.  numpy's error model (no zero check, as numpy's own division): with
    Python's, each call carries a check that made the loops calling it 3 to 6 times slower (measured).
    """
    yj = y[j]
    sj = surv[j]
    return lag[j] / yj, (lag[j] / (yj * sj) if sj > 0.0 else 0.0), d[j] / yj


@njit(cache=True)
def ij_variance(y: np.ndarray, d: np.ndarray, surv: np.ndarray, lag: np.ndarray, dn: np.ndarray, f: np.ndarray,
                w2_event: np.ndarray, c0: np.ndarray, c1: np.ndarray, at_event: bool, w2_total: float, entry: bool,
                a: np.ndarray, g: np.ndarray, b: np.ndarray, col: np.ndarray, w2l: np.ndarray, ea: np.ndarray,
                out: np.ndarray) -> None:
    """The IJ variance of every cause's CIF at every event time, ``sum_i w_i^2 (A_i - F B_i)^2``, into
    ``out`` (m, K); with no cause (``f`` and ``dn`` of K = 0), Kaplan–Meier's ``S^2 sum_i w_i^2 B_i^2``
    into ``out`` (m, 1).  One pass over the event times, every cause at once.

    Per event time ``t_l``: the numbers at risk ``y``, all-cause events ``d``, ``S_l`` (``surv``),
    ``S_{l-1}`` (``lag``), each cause's events ``dn`` (K, m) and CIF ``f`` (m, K).  The late rows, in exit
    order, are taken at their exit bin ``g``: their entry bin ``a`` is at most ``g``, so the drifts they
    read at their entry (``u``, ``v``) are already cumulated; ``b`` is ``g`` + 1 when the exit is an event
    time, else ``g``.  The drifts are cumulated first, per event time in one row (``R^B``, then ``R^A`` of
    each cause), and each late row's row at its entry bin gathered before the pass.

    From ``S`` and ``y`` (:func:`_jumps`): ``p_l``, ``h_l``, ``q_l = h_l F_l`` (the jump of ``A`` at any
    event) and ``B``'s drift ``h_l d_l / y_l``.
    """
    m = y.size
    k = f.shape[1]
    kw = w2_event.shape[0]
    cr = np.empty((m + 1, k + 1))  # through t_{l-1}: R^B, then R^A of each cause
    cr[0, :] = 0.0
    # per cause: the late rows of this exit bin's w^2 (alpha^2 - u^2), w^2 (alpha beta - u v), w^2 u;
    # and the running sums
    late_aa = np.zeros(k)
    late_ab = np.zeros(k)
    late_wu = np.zeros(k)
    sa = np.zeros(k)
    sb = np.zeros(k)
    sk = np.zeros(k)
    sbb = 0.0  # the cumulated F^2 part (B side)
    sg = 0.0  # the squared weights gone (without entry) or at risk (with entry)
    skf = 0.0  # the late rows' cumulated K F part
    for j in range(m):
        pj, hj, daj = _jumps(y, d, surv, lag, j)
        cr[j + 1, 0] = cr[j, 0] + hj * daj
        for c in range(k):
            cr[j + 1, c + 1] = cr[j, c + 1] + (dn[c, j] / y[j] * pj + hj * f[j, c] * daj)
    # each late row's drifts at its entry (v, then u of each cause), gathered in a loop of their own: in
    # the pass below, a random read per late row waits in a long loop body (measured 2 to 3x slower)
    nl = a.size
    at_entry = np.empty((nl, k + 1))
    for i in range(nl):
        for c in range(k + 1):
            at_entry[i, c] = cr[a[i], c]
    i = 0
    for j in range(m):
        pj, hj, _ = _jumps(y, d, surv, lag, j)
        sj = surv[j]
        crb0 = cr[j, 0]
        crb1 = cr[j + 1, 0]
        # the late rows leaving in this bin (g = j), in exit order
        bb_late = 0.0
        r1_late = 0.0
        kf_late = 0.0
        for c in range(k):
            late_aa[c] = 0.0
            late_ab[c] = 0.0
            late_wu[c] = 0.0
        while i < nl and g[i] == j:
            bi = b[i]
            w = w2l[i]
            ev = col[i] > 0
            v = at_entry[i, 0]
            xb = (hj if ev else 0.0) - cr[bi, 0]  # B once gone, less v
            bb_late += w * xb * (xb + v + v)
            r1_late += w
            kf_late += w * v
            beta = xb + v
            for c in range(k):
                u = at_entry[i, c + 1]
                x = (hj * f[j, c] if ev else 0.0) + (pj if col[i] == c + 1 else 0.0) - cr[bi, c + 1]
                wx = w * x  # (x: A once gone less u)
                wu = w * u
                late_aa[c] += wx * (u + u + x)
                late_ab[c] += wx * beta + wu * xb
                late_wu[c] += wu
            i += 1
        # the B side
        be = hj - crb1  # B of an event row at t_l, once gone
        w2 = w2_event[0, j]
        for c in range(1, kw):
            w2 += w2_event[c, j]
        xs = w2 * be * be + c0[j] * crb0 * crb0
        gone = w2 + c0[j]
        if at_event:  # censored rows exiting at an event time
            xs += c1[j] * crb1 * crb1
            gone += c1[j]
        if entry:
            sbb += xs + bb_late + ea[j] * crb0 * crb0
            sg += ea[j] - (gone + r1_late)
            r1 = sg  # sum w^2 over the rows at risk after t_l
            skf += ea[j] * crb0 - kf_late
            kf = 2.0 * skf
        else:
            sbb += xs
            sg += gone
            r1 = w2_total - sg
            kf = 0.0
        if k == 0:  # Kaplan–Meier: A = 0, F = 1, so K_l = -R^B
            kk = -crb1
            v = kk * r1
            if entry:
                v += kf
            v = v * kk + sbb
            out[j, 0] = sj * sj * (v if v > 0.0 else 0.0)
            continue
        for c in range(k):
            fj = f[j, c]
            cra0 = cr[j, c + 1]
            cra1 = cr[j + 1, c + 1]
            a_ev = hj * fj - cra1  # A of an event row of another cause, once gone
            own = w2_event[c, j] * pj
            x = w2 * a_ev
            y_ = (x + own) * be
            x = x * a_ev + (a_ev * 2.0 + pj) * own
            cc = c0[j] * cra0  # the censored rows of the bin, exiting before t_l ...
            y_ += cc * crb0
            x += cc * cra0
            if at_event:  # ... and at it
                cc = c1[j] * cra1
                y_ += cc * crb1
                x += cc * cra1
            kk = cra1 - fj * crb1  # K_l: an at-risk row's A - F B is -(K_l - (u - F v))
            risk = kk * r1
            if entry:
                eu = ea[j] * cra0
                x = x + late_aa[c] + eu * cra0
                y_ = y_ + eu * crb0 + late_ab[c]
                sk[c] += late_wu[c] - eu
                risk = risk + 2.0 * sk[c] + fj * kf
            sa[c] += x
            sb[c] += y_
            v = sa[c] - sb[c] * fj * 2.0 + fj * fj * sbb + risk * kk
            out[j, c] = v if v > 0.0 else 0.0


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

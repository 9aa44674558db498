"""The infinitesimal-jackknife variance's sums over the event times and the late rows, compiled.

The algebra is :mod:`leiosurv.stats._entry_weights`'s (its module docstring derives it); these are the
loops that evaluate it.  Each is one pass over the ``m`` event times of a group (and one over its late
rows with delayed entry) in the order the sums are defined, so a sum is added in the same order as a
cumulative sum or a ``bincount`` would add it.  As numpy array expressions the same sums took about
40 passes over the event times and 15 gathers per late row, each a fresh temporary of ``m`` values:
at 10^6 rows that was most of the estimator's time (``docs/regression.md``, Speed).

Compiled by numba on first use and cached beside this file (or, where that is read-only, in numba's
per-user cache), so the compile is paid once per installation, not per process.

Array conventions (one group; ``K`` causes, ``m`` event times ``t_0 < ... < t_{m-1}``, ``L`` late rows):

* ``h`` (m,): the jump of ``B`` at an event; ``rb`` (m,): ``B``'s drift;
* ``w2_events`` (m,), ``c0``, ``c1`` (m,): the per-bin sums of squared weights of the events, the
  censored rows exiting before ``t_l`` (bin ``g = l``) and those exiting at ``t_l`` (only with ties);
* the late rows (``entry`` true): entry bin ``a``, exit bins ``g`` and ``b``, ``ge`` (``g`` of an event
  row, ``m`` of a censored one), column ``col`` (0 censored, k cause), squared weight ``w2l``, and
  ``ea`` (m,): the sum of ``w^2`` of all rows per entry bin.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def b_side(h: np.ndarray, rb: np.ndarray, w2_events: np.ndarray, c0: np.ndarray, c1: np.ndarray, ties: bool,
           w2_total: float, entry: bool, a: np.ndarray, g: np.ndarray, b: np.ndarray, ge: np.ndarray,
           w2l: np.ndarray, ea: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ``B`` side of the variance, shared by every cause: ``crb`` (m + 1,: ``R^B`` through
    ``t_{l-1}``), ``b_ev`` (``B`` of an event row at ``t_l`` once gone), ``bb`` (the cumulated ``F^2``
    part), ``r1`` (``sum w^2`` over the rows at risk after ``t_l``), ``kf`` (the cumulated ``K F`` part
    of the late rows, doubled; zeros without entry), and per late row ``beta`` (``B`` once gone) and
    ``bx`` (``beta - v``)."""
    m = h.size
    crb = np.empty(m + 1)
    crb[0] = 0.0
    s = 0.0
    for j in range(m):
        s += rb[j]
        crb[j + 1] = s
    nl = a.size
    beta = np.empty(nl)
    bx = np.empty(nl)
    b_ev = np.empty(m)
    # per exit bin g, the late rows' sum w^2 (beta^2 - v^2), sum w^2 and sum w^2 v (zeros without entry),
    # turned in place into the cumulated bb, r1 and kf below
    bb = np.zeros(m)
    r1 = np.zeros(m)
    kf = np.zeros(m)
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
        b_ev[j] = be
        x = w2_events[j] * be * be + c0[j] * crb[j] * crb[j]
        gone = w2_events[j] + c0[j]
        if ties:  # censored rows exiting at an event time
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
    return crb, b_ev, bb, r1, kf, beta, bx


@njit(cache=True)
def ij_cause(f: np.ndarray, dn: np.ndarray, y: np.ndarray, p: np.ndarray, h: np.ndarray, da: np.ndarray,
             w2_event: np.ndarray, w2_events: np.ndarray, c0: np.ndarray, c1: np.ndarray, ties: bool,
             crb: np.ndarray, b_ev: np.ndarray, bb: np.ndarray, r1: np.ndarray, kf: np.ndarray,
             beta: np.ndarray, bx: np.ndarray, cause: int, entry: bool, a: np.ndarray, g: np.ndarray,
             b: np.ndarray, ge: np.ndarray, col: np.ndarray, w2l: np.ndarray, ea: np.ndarray,
             out: np.ndarray) -> None:
    """``sum_i w_i^2 (A_i(t_l) - f_l B_i(t_l))^2`` at every event time, into ``out`` (m,), for the cause
    whose CIF is ``f`` (m,), events ``dn`` and squared event weights ``w2_event`` (m,) and column number
    ``cause`` (1..K).  ``p`` (m + 1,): the further jump of ``A`` at an event of the cause, with a last 0;
    ``h``, ``da`` (m,): ``B``'s jump and the all-cause hazard increments; ``crb`` ... ``bx``: from
    :func:`b_side`.  ``q_l = h_l f_l`` is the jump of ``A`` at any event."""
    m = f.size
    cra = np.empty(m + 1)  # R^A through t_{l-1}
    cra[0] = 0.0
    s = 0.0
    for j in range(m):
        s += dn[j] / y[j] * p[j] + h[j] * f[j] * da[j]
        cra[j + 1] = s
    # per exit bin g, the late rows' w^2 (alpha^2 - u^2) (in out until the last loop), w^2 (alpha beta - u v)
    # and w^2 u
    out[:] = 0.0
    late_ab = np.zeros(m if entry else 0)
    late_wu = np.zeros(m if entry else 0)
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
        a_ev = h[j] * fj - cra[j + 1]  # A of an event row of another cause, once gone
        own = w2_event[j] * p[j]
        x = w2_events[j] * a_ev
        y_ = (x + own) * b_ev[j]
        x = x * a_ev + (a_ev * 2.0 + p[j]) * own
        c = c0[j] * cra[j]  # the censored rows of the bin, exiting before t_l ...
        y_ += c * crb[j]
        x += c * cra[j]
        if ties:  # ... and at it
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

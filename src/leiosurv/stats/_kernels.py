"""Vectorised numerics on one group's counts: KM, Aalen–Johansen, two variances.

Everything here is O(m) in the number ``m`` of distinct times of a group (and
O(m·K) over K causes): cumulative sums and products, no Python loop over times.
Inputs are the columns of a :class:`~leiosurv.stats._counts.GroupCounts`; the
(m, K) results can be written into a given ``out`` (e.g. a view that skips a
leading row), so that no copy is needed.

Several groups can go through a kernel at once, stacked one after the other,
with ``bounds`` (``(0, m_1, m_1 + m_2, ...)``) marking where each group's rows
start and end: the elementwise steps then run once for all groups and only the
cumulative sums and products restart at each group, so every value is the one
the group alone gives, bit for bit.  Small groups are computed this way (the
cost of a kernel at a few hundred rows is the number of numpy calls).

Notation (per group, distinct times ``t_1 < ... < t_m``): ``n_j`` at risk just
before ``t_j``; ``d_kj`` events of cause k at ``t_j``; ``d_j = sum_k d_kj``;
``S_j = prod_{i<=j} (1 - d_i/n_i)`` the all-cause Kaplan–Meier estimate and
``S_{j-1}`` its left limit; ``F_k(t_j) = sum_{i<=j} S_{i-1} d_ki / n_i`` the
Aalen–Johansen cumulative incidence of cause k.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from leiosurv.stats._counts import GroupCounts

__all__ = ["risk_and_events", "km_parts", "aj_cif", "var_delta", "var_aalen", "greenwood"]

#: where each stacked group's rows start and end, ``(0, m_1, m_1 + m_2, ..., m)``; None: one group
Bounds = Sequence[int] | None


def _segments(m: int, bounds: Bounds) -> list[tuple[int, int]]:
    """The non-empty ``(start, stop)`` row ranges of the stacked groups."""
    if bounds is None:
        return [(0, m)] if m else []
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def risk_and_events(g: GroupCounts) -> tuple[np.ndarray, np.ndarray]:
    """``(n_risk, d)`` of a group: at risk just before each time, events of any cause.

    The same integers as ``g.n_risk`` and ``g.n_events``, computed once (a row
    sum as a matrix product is much faster than ``sum(axis=1)`` on (m, K)).
    """
    d = g.events @ np.ones(g.events.shape[1], dtype=np.int64)
    left = np.cumsum(d + g.censored)
    n_risk = g.n - np.concatenate(([0], left[:-1])) - g.not_entered(g.time)
    return n_risk, d


def km_parts(n_risk: np.ndarray, d: np.ndarray, bounds: Bounds = None) -> tuple[np.ndarray, np.ndarray]:
    """All-cause Kaplan–Meier ``S_j`` and its left limit ``S_{j-1}`` (``S_0 = 1``)."""
    n = np.asarray(n_risk, dtype=np.float64)
    surv = np.divide(d, n)
    np.subtract(1.0, surv, out=surv)
    lag = np.empty_like(surv)
    for a, b in _segments(surv.size, bounds):
        np.multiply.accumulate(surv[a:b], out=surv[a:b])
        lag[a] = 1.0
        lag[a + 1 : b] = surv[a : b - 1]
    return surv, lag


def greenwood(n_risk: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Greenwood sum ``sum_{i<=j} d_i / (n_i (n_i - d_i))``; ``inf`` once ``d_i = n_i``."""
    n = n_risk.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(d > 0, d / (n * (n - d)), 0.0)
    return np.cumsum(a)


def aj_cif(n_risk: np.ndarray, dk: np.ndarray, surv_lag: np.ndarray, bounds: Bounds = None,
           out: np.ndarray | None = None) -> np.ndarray:
    """Aalen–Johansen cumulative incidence ``F_k(t_j)`` for each cause column of ``dk``.

    Returns an (m, K) array in column-major order, so that each cause's curve
    is contiguous.  All causes are computed at once (a handful of numpy calls,
    whatever K), each column with the same operations in the same order as a
    cause-by-cause loop.
    """
    n = np.asarray(n_risk, dtype=np.float64)
    if out is None:
        out = np.empty(dk.shape, dtype=np.float64, order="F")
    np.divide(dk, n[:, None], out=out)
    out *= surv_lag[:, None]
    _cumsum_columns(out, out, bounds)
    return out


def var_delta(n_risk: np.ndarray, dk: np.ndarray, d: np.ndarray, surv_lag: np.ndarray, cif: np.ndarray,
              bounds: Bounds = None, out: np.ndarray | None = None) -> np.ndarray:
    """Delta-method variance of ``F_k`` as ``prodlim::prodlim`` computes it.

    Marubini & Valsecchi (1995, *Analysing Survival Data from Clinical Trials
    and Observational Studies*, Wiley, p. 341), ported from prodlim's
    ``prodlim_comprisk.c``::

        var F_k(t_j) = F_j^2 G - 2 F_j V1 + V2,
        G  = sum a_i,                     a_i = d_i / (n_i (n_i - d_i))
        V1 = sum F_i a_i + S_{i-1} d_ki / n_i^2
        V2 = sum F_i^2 a_i + S_{i-1}^2 (n_i - d_ki) d_ki / n_i^3 + 2 F_i S_{i-1} d_ki / n_i^2

    (sums over ``i <= j``).  The three ``a_j`` terms of the current time cancel
    exactly (``F_j^2 a_j - 2 F_j^2 a_j + F_j^2 a_j = 0``), so they are left out:
    the result is the same wherever prodlim's is finite, and stays finite at a
    last time where everyone at risk has an event (``d_j = n_j``), where prodlim
    returns ``NA`` but ``survival::survfit``'s infinitesimal-jackknife variance
    (equal to this one elsewhere) is finite and equal to this value.

    All causes at once on (m, K) column-major arrays (each column the same
    operations in the same order as one cause alone), in reused buffers: at
    registry sizes the kernel is bound by memory traffic, and at small sizes by
    the number of numpy calls.

    Returns an array shaped like ``cif`` (m, K), clipped at 0 against rounding.
    """
    n = np.asarray(n_risk, dtype=np.float64)
    m, n_causes = cif.shape
    # a = d / (n (n - d)) where 0 < d < n, else 0 (d = n only at a group's last
    # time, whose a-term is dropped); in one buffer
    a = np.subtract(n, d)
    keep = (d > 0) & (a > 0)
    a *= n
    np.divide(d, a, out=a, where=keep)
    a[~keep] = 0.0
    del keep
    g_prev = _shifted_cumsum(a, np.empty(m), bounds)
    sl_n2 = np.multiply(n, n)
    np.divide(surv_lag, sl_n2, out=sl_n2)
    if out is None:
        out = np.empty((m, n_causes), order="F")
    if m > _BATCH_ROWS:
        # large groups: one cause at a time, so the four buffers are (m,), not (m, K)
        bufs = tuple(np.empty((m, 1), order="F") for _ in range(4))
        for k in range(n_causes):
            _var_delta_into(out[:, k : k + 1], n[:, None], a[:, None], g_prev[:, None], sl_n2[:, None],
                            surv_lag[:, None], dk[:, k : k + 1], cif[:, k : k + 1], bufs, bounds)
    else:
        bufs = tuple(np.empty((m, n_causes), order="F") for _ in range(4))
        _var_delta_into(out, n[:, None], a[:, None], g_prev[:, None], sl_n2[:, None], surv_lag[:, None],
                        dk, cif, bufs, bounds)
    return np.maximum(out, 0.0, out=out)


#: groups with at most this many event times run the causes together (fewer numpy
#: calls); larger ones cause by cause (fewer and smaller temporaries)
_BATCH_ROWS = 1 << 16


def _var_delta_into(out: np.ndarray, col: np.ndarray, a: np.ndarray, g_prev: np.ndarray, sl_n2: np.ndarray,
                    lag: np.ndarray, dk: np.ndarray, cif: np.ndarray, bufs: tuple[np.ndarray, ...],
                    bounds: Bounds) -> None:
    """The delta variance of the cause columns ``cif`` into ``out`` (see :func:`var_delta`)."""
    f = np.asfortranarray(cif)
    x, t, c, v1 = bufs
    v2 = out  # V2 accumulates in the output
    np.multiply(sl_n2, dk, out=x)  # S_{i-1} d_ki / n_i^2
    np.multiply(f, a, out=t)  # F_i a_i
    _shifted_cumsum(t, v1, bounds)
    v1 += _cumsum_columns(x, c, bounds)  # V1 without the current a-term
    t *= f  # F_i^2 a_i
    _shifted_cumsum(t, v2, bounds)
    np.multiply(f, x, out=t)
    t *= 2.0  # 2 F_i S_{i-1} d_ki / n_i^2
    np.multiply(x, lag, out=c)
    np.subtract(col, dk, out=x)
    c *= x
    c /= col  # S_{i-1}^2 (n_i - d_ki) d_ki / n_i^3
    t += c
    v2 += _cumsum_columns(t, c, bounds)  # V2 without the current a-term
    np.multiply(f, g_prev, out=x)
    v1 *= 2.0
    x -= v1
    x *= f
    out += x  # F^2 G - 2 F V1 + V2


def var_aalen(n_risk: np.ndarray, dk: np.ndarray, d: np.ndarray, surv: np.ndarray, surv_lag: np.ndarray,
              cif: np.ndarray, bounds: Bounds = None, out: np.ndarray | None = None) -> np.ndarray:
    """Aalen-type variance of ``F_k`` as ``cmprsk::cuminc`` computes it (Gray 1988).

    Port of cmprsk's Fortran ``cinc`` (``cincsub.f``) with the ties factor
    ``t5 = 1 - (d - 1)/(n - 1)``.  With ``fk = S_{j-1}``, ``fkn = S_j``:

    * other-cause events (``d_j - d_kj > 0`` and ``S_j > 0``):
      ``t6 = fk^2 t5 d_o / n^2``, ``t3 = 1/fkn``, ``t4 = F_j/fkn``;
    * cause-k events (``d_kj > 0``): ``t6 = fk^2 t5 d_k / n^2``,
      ``t3 = 1/fkn`` (0 if ``fkn = 0``), ``t4 = 1 + t3 F_j``;

    each adds ``t4^2 t6``, ``t3 t4 t6``, ``t3^2 t6`` to ``v1``, ``v2``, ``v3``;
    ``var = v1 + F^2 v3 - 2 F v2`` is evaluated only at cause-k event times,
    so, as in cmprsk, the variance is a step function that jumps only where
    ``F_k`` jumps (an other-cause event changes it at the next cause-k event).
    Zero before the first cause-k event.
    """
    n = n_risk.astype(np.float64)
    m = n.size
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(surv > 0, 1.0 / surv, 0.0)  # t3 = 1/fkn (0 if fkn = 0)
        fk2_n2 = surv_lag * surv_lag / (n * n)
        n1 = n - 1.0
    alive = surv > 0
    if out is None:
        out = np.empty(cif.shape, order="F")
    for k in range(cif.shape[1]):  # one contiguous pass per cause (K is small)
        f = np.ascontiguousarray(cif[:, k])
        de = np.ascontiguousarray(dk[:, k])
        do = d - de
        with np.errstate(divide="ignore", invalid="ignore"):
            t6o = np.where((do > 0) & alive, fk2_n2 * np.where(do > 1, 1.0 - (do - 1.0) / n1, 1.0) * do, 0.0)
            me = de > 0
            t6e = np.where(me, fk2_n2 * np.where(de > 1, 1.0 - (de - 1.0) / n1, 1.0) * de, 0.0)
        r = f * inv  # t4 of the other causes; 1 + r is t4 of the cause itself
        w = t6o + t6e
        v1 = _cumsum_columns(r * r * w + t6e * (1.0 + 2.0 * r), None, bounds)
        v2 = _cumsum_columns(inv * (r * w + t6e), None, bounds)
        v3 = _cumsum_columns(inv * inv * w, None, bounds)
        v = v1 + f * f * v3 - 2.0 * f * v2
        # cmprsk evaluates v only where F_k jumps: carry the last such value forward
        idx = np.where(me, np.arange(m), -1)
        for a, b in _segments(m, bounds):
            np.maximum.accumulate(idx[a:b], out=idx[a:b])
        out[:, k] = np.where(idx >= 0, v[np.maximum(idx, 0)], 0.0)
    return np.maximum(out, 0.0, out=out)


def _cumsum_columns(x: np.ndarray, out: np.ndarray | None, bounds: Bounds = None) -> np.ndarray:
    """Cumulative sum down each column (axis 0) of each group, one contiguous column at a time.

    numpy's ``add.accumulate(axis=0)`` on an (m, K) array runs its inner loop
    across the K columns (about 10x slower for K = 2); a column of a
    column-major array is contiguous.  ``out=None``: in place.
    """
    if out is None:
        out = x
    segments = _segments(x.shape[0], bounds)
    if x.ndim == 1:
        for a, b in segments:
            np.add.accumulate(x[a:b], out=out[a:b])
        return out
    for k in range(x.shape[1]):
        for a, b in segments:
            np.add.accumulate(x[a:b, k], out=out[a:b, k])
    return out


def _shifted_cumsum(x: np.ndarray, out: np.ndarray, bounds: Bounds = None) -> np.ndarray:
    """``out[0] = 0``, ``out[j] = x[0] + ... + x[j-1]`` (along axis 0, within each group):
    the cumulative sum up to the previous time."""
    for a, b in _segments(out.shape[0], bounds):
        out[a] = 0.0
        _cumsum_columns(x[a : b - 1], out[a + 1 : b])
    return out

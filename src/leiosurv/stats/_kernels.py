"""Vectorised numerics on one group's counts: KM, Aalen–Johansen, two variances.

Everything here is O(m) in the number ``m`` of distinct times of a group (and
O(m·K) over K causes): cumulative sums and products, no Python loop over times.
Inputs are the columns of a :class:`~leiosurv.stats._counts.GroupCounts`.

Notation (per group, distinct times ``t_1 < ... < t_m``): ``n_j`` at risk just
before ``t_j``; ``d_kj`` events of cause k at ``t_j``; ``d_j = sum_k d_kj``;
``S_j = prod_{i<=j} (1 - d_i/n_i)`` the all-cause Kaplan–Meier estimate and
``S_{j-1}`` its left limit; ``F_k(t_j) = sum_{i<=j} S_{i-1} d_ki / n_i`` the
Aalen–Johansen cumulative incidence of cause k.
"""

from __future__ import annotations

import numpy as np

__all__ = ["km_parts", "aj_cif", "var_delta", "var_aalen", "greenwood"]


def km_parts(n_risk: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All-cause Kaplan–Meier ``S_j`` and its left limit ``S_{j-1}`` (``S_0 = 1``)."""
    n = n_risk.astype(np.float64)
    surv = np.cumprod(1.0 - d / n)
    lag = np.concatenate(([1.0], surv[:-1]))
    return surv, lag


def greenwood(n_risk: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Greenwood sum ``sum_{i<=j} d_i / (n_i (n_i - d_i))``; ``inf`` once ``d_i = n_i``."""
    n = n_risk.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(d > 0, d / (n * (n - d)), 0.0)
    return np.cumsum(a)


def aj_cif(n_risk: np.ndarray, dk: np.ndarray, surv_lag: np.ndarray) -> np.ndarray:
    """Aalen–Johansen cumulative incidence ``F_k(t_j)`` for each cause column of ``dk``."""
    n = n_risk.astype(np.float64)[:, None]
    return np.cumsum(surv_lag[:, None] * (dk / n), axis=0)


def var_delta(n_risk: np.ndarray, dk: np.ndarray, d: np.ndarray, surv_lag: np.ndarray, cif: np.ndarray) -> np.ndarray:
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

    Returns an array shaped like ``cif`` (m, K), clipped at 0 against rounding.
    """
    n = n_risk.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        # d = n can only happen at a group's last time, whose a-term is dropped
        a = np.where((d > 0) & (d < n), d / (n * (n - d)), 0.0)
    # a-terms up to i = j - 1 (shifted cumulative sums)
    a_col = a[:, None]
    g_prev = _shift(np.cumsum(a))[:, None]
    v1a_prev = _shift0(np.cumsum(cif * a_col, axis=0))
    v2a_prev = _shift0(np.cumsum(cif * cif * a_col, axis=0))
    n2 = (n * n)[:, None]
    n3 = (n * n * n)[:, None]
    sl = surv_lag[:, None]
    p = np.cumsum(sl * dk / n2, axis=0)
    q = np.cumsum(2.0 * cif * sl * dk / n2, axis=0)
    r = np.cumsum(sl * sl * (n[:, None] - dk) * dk / n3, axis=0)
    var = cif * cif * g_prev - 2.0 * cif * (v1a_prev + p) + v2a_prev + q + r
    return np.maximum(var, 0.0)


def var_aalen(n_risk: np.ndarray, dk: np.ndarray, d: np.ndarray, surv: np.ndarray, surv_lag: np.ndarray, cif: np.ndarray) -> np.ndarray:
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
    n = n_risk.astype(np.float64)[:, None]
    fk = surv_lag[:, None]
    fkn = surv[:, None]
    dd = d[:, None]
    do = dd - dk
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(fkn > 0, 1.0 / fkn, 0.0)
        # other causes
        mo = (do > 0) & (fkn > 0)
        t5o = np.where(do > 1, 1.0 - (do - 1.0) / (n - 1.0), 1.0)
        t6o = np.where(mo, fk * fk * t5o * do / (n * n), 0.0)
        t4o = cif * inv
        # the cause of interest
        me = dk > 0
        t5e = np.where(dk > 1, 1.0 - (dk - 1.0) / (n - 1.0), 1.0)
        t6e = np.where(me, fk * fk * t5e * dk / (n * n), 0.0)
        t4e = 1.0 + inv * cif
    v1 = np.cumsum(t4o * t4o * t6o + t4e * t4e * t6e, axis=0)
    v2 = np.cumsum(inv * t4o * t6o + inv * t4e * t6e, axis=0)
    v3 = np.cumsum(inv * inv * t6o + inv * inv * t6e, axis=0)
    v = v1 + cif * cif * v3 - 2.0 * cif * v2
    # keep the value of the last cause-k event time at or before t_j
    m, k = cif.shape
    idx = np.where(me, np.arange(m)[:, None], -1)
    idx = np.maximum.accumulate(idx, axis=0)
    out = np.take_along_axis(v, np.maximum(idx, 0), axis=0)
    out = np.where(idx >= 0, out, 0.0)
    return np.maximum(out, 0.0)


def _shift(x: np.ndarray) -> np.ndarray:
    return np.concatenate(([0.0], x[:-1]))


def _shift0(x: np.ndarray) -> np.ndarray:
    return np.concatenate((np.zeros((1,) + x.shape[1:]), x[:-1]), axis=0)

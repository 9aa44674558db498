"""Gray's K-sample test for equality of cumulative incidence functions."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from leiosurv.exceptions import InputError, StatisticalWarning
from leiosurv.stats._counts import EventCounts, GroupCounts
from leiosurv.stats._engines import count_events
from leiosurv.stats._kernels import aj_cif, km_parts, risk_and_events
from leiosurv.stats._provenance import provenance
from leiosurv.stats._results import CumulativeIncidence, GrayTest

__all__ = ["gray_test", "GrayTest", "MAX_GROUPS"]

#: the most groups :func:`gray_test` compares.  Its variance is a
#: (G-1) x (G-1) matrix built from a sum over the T pooled event times of
#: G x G products per group: O(T G^3) work (about 4 s for 100 groups of 20
#: rows on a busy 2-core machine, growing 8x with each doubling of G).  A
#: K-sample test across hundreds of groups has little power and is rarely
#: what is meant; merge groups or test pairs.
MAX_GROUPS = 100


def gray_test(
    data: Any,
    time: str = "time",
    event: str = "event",
    group: str | None = None,
    *,
    rho: float = 0.0,
    causes: Sequence[int] | None = None,
    event_map: Mapping[Any, int] | None = None,
    entry: str | None = None,
    weights: str | None = None,
) -> GrayTest:
    """Gray's test that a cause's cumulative incidence is equal across groups.

    A port of the Fortran ``crstm``/``crst`` behind ``cmprsk::cuminc(time,
    status, group, rho = rho)$Tests`` (unstratified), vectorised over times:
    the score for the first K-1 groups, its variance, ``stat = s' V^{-1} s``,
    ``pv = P(chi2_{K-1} > stat)``, ``df = K - 1``.  The p-value is the
    chi-square survival function; cmprsk computes ``1 - pchisq(stat, df)``,
    which agrees to ~3e-10 relative at p ~ 1e-7 (melanoma) and loses relative
    precision for smaller p, where this value is the more accurate one.

    Parameters
    ----------
    data : data, EventCounts or CumulativeIncidence
        A grouped data set (``group`` is required then), its counts, or a
        grouped cumulative-incidence result (its counts are reused).
    time, event, group
        As in :func:`cumulative_incidence`.
    rho : float, default 0
        Power of the weight ``(1 - F(t-))^rho``.
    causes, event_map
        As in :func:`cumulative_incidence`.
    entry, weights : None
        Refused: ``cmprsk::cuminc``, whose test this reproduces, has neither
        delayed entry nor case weights, and no R reference checks a
        truncated or weighted Gray test; so is data (counts or a
        cumulative-incidence result) that carries entries or weights.

    Raises
    ------
    InputError
        Fewer than two groups, or more than :data:`MAX_GROUPS` (100): the
        variance needs O(T G^3) work for G groups and T pooled event times,
        so the limit is checked before any of it is done.  ``entry`` or
        ``weights`` given, or counts that carry them.

    Returns
    -------
    GrayTest
        ``.table`` with one row per cause: ``cause, stat, pv, df``.  Where the
        variance matrix is singular (cmprsk reports ``stat = -1``) or not
        positive definite (possible on degenerate data, e.g. a group whose
        survival drops to 0 at tied times; cmprsk then reports a negative
        ``stat`` with ``pv = 1``), ``stat`` and ``pv`` are NaN and a
        :class:`StatisticalWarning` says what cmprsk would have reported.

    References
    ----------
    Gray RJ (1988). A class of K-sample tests for comparing the cumulative
    incidence of a competing risk. Ann Stat 16:1141-1154.

    Examples
    --------
    >>> data = {"time": [1, 2, 3, 4, 5, 1, 2, 3, 4, 5], "event": [1, 0, 2, 1, 0, 2, 1, 0, 0, 2],
    ...         "arm": [0] * 5 + [1] * 5}
    >>> gt = gray_test(data, group="arm")
    >>> gt.table[["cause", "df"]].to_numpy().tolist()
    [[1, 1], [2, 1]]
    """
    if entry is not None or weights is not None:
        option = "entry" if entry is not None else "weights"
        raise InputError(
            f"gray_test takes no {option}=: cmprsk::cuminc's test has no delayed entry or case weights "
            "and there is no R reference to check one against; compare the groups' cumulative_incidence "
            "curves (with entry/weights) instead"
        )
    if isinstance(data, CumulativeIncidence):
        counts = data.counts
    else:
        if group is None and not isinstance(data, EventCounts):
            raise InputError("gray_test needs a group column, but group was None")
        counts = count_events(data, time, event, group, causes=causes, event_map=event_map)
    carried = [k for k in ("entry", "weights") if counts.meta.get(k) is not None]
    if carried:
        raise InputError(
            f"gray_test takes no data with {carried[0]} (these counts carry {carried[0]} column "
            f"{counts.meta[carried[0]]!r}): cmprsk::cuminc's test has neither delayed entry nor case weights"
        )
    try:
        rho = float(rho)
    except (TypeError, ValueError):
        raise InputError(f"rho must be a number, but was {rho!r}") from None
    if not np.isfinite(rho):
        raise InputError(f"rho must be finite, but was {rho!r}")
    if len(counts.groups) < 2:
        raise InputError(f"gray_test needs at least two groups, but the data have {counts.labels!r}")
    if len(counts.groups) > MAX_GROUPS:
        raise InputError(
            f"gray_test compares at most {MAX_GROUPS} groups, but the data have {len(counts.groups)}: "
            "its variance needs work growing with the cube of the number of groups; merge groups "
            "(e.g. by a coarser category) or test pairs of groups"
        )
    use = counts.causes if causes is None else tuple(causes)
    import pandas as pd
    from scipy.stats import chi2  # scipy only when a test is computed

    rows = []
    pool = _pool(counts.groups)
    for k in use:
        if k not in counts.causes:
            raise InputError(f"cause must be one of {list(counts.causes)!r}, but was {k!r}")
        s, v = _score_variance(counts.groups, counts.causes.index(k), rho, pool)
        ng1 = len(counts.groups) - 1
        if not np.isfinite(v).all() or np.linalg.matrix_rank(v) < ng1:
            warnings.warn(f"Gray's test for cause {k}: singular variance matrix (cmprsk reports stat = -1); "
                          "stat and pv are NaN", StatisticalWarning, stacklevel=2)
            stat = np.nan
        elif np.linalg.eigvalsh(v).min() <= 0:
            r_stat = float(s @ np.linalg.solve(v, s))
            warnings.warn(f"Gray's test for cause {k}: the variance estimate is not positive definite "
                          f"(cmprsk would report stat = {r_stat:.6g}); stat and pv are NaN",
                          StatisticalWarning, stacklevel=2)
            stat = np.nan
        else:
            stat = float(s @ np.linalg.solve(v, s))
        rows.append({"cause": k, "stat": stat, "pv": float(chi2.sf(stat, ng1)), "df": ng1})
    table = pd.DataFrame(rows, columns=["cause", "stat", "pv", "df"])
    prov = provenance("gray_test", {"time": time, "event": event, "group": group, "rho": rho, "causes": list(use)},
                      counts)
    return GrayTest(table, counts.labels, rho, prov)


def _pool(groups: Sequence[GroupCounts]) -> dict[str, Any]:
    """What every cause shares: the pooled event times and, per group on them,
    the risk set, all-cause events and Kaplan–Meier (arrays (T, K))."""
    parts = [risk_and_events(g) for g in groups]
    pooled = np.unique(np.concatenate([g.time[d > 0] for g, (_, d) in zip(groups, parts)]))
    T, G = pooled.size, len(groups)
    rs = np.zeros((T, G))
    dall = np.zeros((T, G))
    skmm = np.ones((T, G))
    where = []
    for gi, g in enumerate(groups):
        pos = np.searchsorted(g.time, pooled)
        here = pos < g.time.size
        here[here] = g.time[pos[here]] == pooled[here]
        nr, ne = parts[gi]
        dall[here, gi] = ne[pos[here]]
        left_out = np.concatenate(([0], np.cumsum(ne + g.censored)))
        rs[:, gi] = g.n - left_out[pos]
        surv, lag = km_parts(nr, ne)
        left = pos - 1
        ok = left >= 0
        skmm[ok, gi] = surv[left[ok]]
        where.append((pos, here, left, ok, nr, lag))
    atrisk = rs > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        skm = np.where(atrisk, skmm * (rs - dall) / rs, skmm)
        h = np.where(atrisk, rs / skmm, 0.0)
    return {"where": where, "rs": rs, "dall": dall, "skmm": skmm, "skm": skm, "h": h, "atrisk": atrisk,
            "tr": h @ np.ones(G)}


def _score_variance(groups: Sequence[GroupCounts], col: int, rho: float, pool: dict[str, Any] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Score ``s`` (K-1) and variance ``V`` (K-1 x K-1) for one cause (crst in cmprsk).

    Arrays are (T, K) over the pooled event times T and the K groups; the
    Fortran's K x K matrices ``a`` and ``c`` are handled one column k at a time.
    Only times with an event matter: at a censoring-only time crst just updates
    the risk sets, which the counts give directly.
    """
    if pool is None:
        pool = _pool(groups)
    rs, dall, skmm, skm, h, atrisk, tr = (pool[x] for x in ("rs", "dall", "skmm", "skm", "h", "atrisk", "tr"))
    T, G = rs.shape
    d1 = np.zeros((T, G))
    f1m = np.zeros((T, G))
    for gi, g in enumerate(groups):
        pos, here, left, ok, nr, lag = pool["where"][gi]
        d1[here, gi] = g.events[pos[here], col]
        cif = aj_cif(nr, g.events[:, [col]].astype(np.float64), lag)[:, 0]
        f1m[ok, gi] = cif[left[ok]]
    d2 = dall - d1
    ones = np.ones(G)  # row sums as a matrix product: much faster than .sum(axis=1) on (T, K)
    with np.errstate(divide="ignore", invalid="ignore"):
        tq = np.where(atrisk, rs * (1.0 - f1m) / skmm, 0.0) @ ones
        nd1 = d1 @ ones
        f = np.cumsum(nd1 / tr)
        fm = np.concatenate(([0.0], f[:-1]))
        fb = (1.0 - fm) ** rho
        wc = nd1 / (tr * (1.0 - fm))  # c accumulates a * wc
        contrib = np.where(atrisk, d1 - nd1[:, None] * rs * (1.0 - f1m) / (skmm * tq[:, None]), 0.0)
        score = (fb[:, None] * contrib).sum(axis=0)
        # cause-of-interest terms (times with nd1 > 0, groups at risk)
        e = (nd1 > 0)[:, None] & atrisk
        t4 = np.where(skm > 0, 1.0 - (1.0 - f[:, None]) / skm, 1.0)
        t5 = np.where(nd1[:, None] > 1, 1.0 - (nd1[:, None] - 1.0) / (tr[:, None] * skmm - 1.0), 1.0)
        t3 = np.where(e, t5 * skmm * nd1[:, None] / (tr[:, None] * rs), 0.0)
        # other-cause terms
        o = (skm > 0) & (d2 > 0)
        u4 = np.where(o, (1.0 - f[:, None]) / skm, 0.0)
        u5 = np.where(d2 > 1, 1.0 - (d2 - 1.0) / (rs - 1.0), 1.0)
        u3 = np.where(o, u5 * skmm * skmm * d2 / (rs * rs), 0.0)
    w = u4 * u4 * u3
    v3 = (t4 * t4 * t3).sum(axis=0) + w.sum(axis=0)
    v2 = np.zeros((G, G))
    v = np.zeros((G, G))
    cf = np.zeros((G, G))
    hk_over_tr = h / tr[:, None]
    finite = np.isfinite(t3).all() and np.isfinite(w).all()
    roots = (np.sqrt(t3), np.sqrt(w)) if finite and (t3 >= 0).all() and (w >= 0).all() else None
    for k in range(G):
        # column k of a(t, i, k) = fb (h_i [i == k] - h_i h_k / tr) and of its running sum c
        a_k = -fb[:, None] * h * hk_over_tr[:, [k]]
        a_k[:, k] += fb * h[:, k]
        # crst adds a * wc to c only for pairs of groups both at risk: a time after
        # which the pooled F reaches 1 has wc = inf, and 0 * inf must not enter
        with np.errstate(invalid="ignore"):
            inc = a_k * wc[:, None]
        inc[~(atrisk & atrisk[:, [k]])] = 0.0
        c_k = np.cumsum(inc, axis=0)
        b_k = a_k - t4[:, [k]] * c_k
        x = t4[:, k] * t3[:, k]
        v2[:, k] = b_k.T @ x - c_k.T @ w[:, k]
        if roots is not None:
            # X' diag(d) X as Y'Y with Y = sqrt(d) X: numpy hands a product of an
            # array with its own transpose to BLAS syrk, which stays fast on a
            # busy machine where a threaded gemm of this size is ~30x slower
            sb = b_k * roots[0][:, [k]]
            sc = c_k * roots[1][:, [k]]
            v += sb.T @ sb
            v += sc.T @ sc
        else:
            v += (b_k * t3[:, [k]]).T @ b_k + (c_k * w[:, [k]]).T @ c_k
        cf[:, k] = c_k[-1]
    v = v + (cf * v3) @ cf.T + cf @ v2.T + v2 @ cf.T
    return score[: G - 1], v[: G - 1, : G - 1]

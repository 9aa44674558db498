"""Risk differences (and ratios) between groups at horizons, with Wald intervals."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from leiosurv.exceptions import InputError, StatisticalWarning
from leiosurv.stats._provenance import provenance
from leiosurv.stats._results import CumulativeIncidence, RiskDifference

__all__ = ["risk_difference", "RiskDifference", "wald_difference", "log_ratio"]


def wald_difference(p1: Any, se1: Any, p0: Any, se0: Any, z: float) -> tuple[np.ndarray, ...]:
    """``rd = p1 - p0``, ``se = sqrt(se1^2 + se0^2)``, bounds ``rd -/+ z*se`` (not truncated).

    Examples
    --------
    >>> rd, se, lo, hi = wald_difference(0.25, 0.03, 0.10, 0.04, 1.96)
    >>> round(float(rd), 3), round(float(se), 3), round(float(lo), 3), round(float(hi), 3)
    (0.15, 0.05, 0.052, 0.248)
    """
    p1, se1, p0, se0 = (np.asarray(a, dtype=np.float64) for a in (p1, se1, p0, se0))
    rd = p1 - p0
    se = np.sqrt(se1 * se1 + se0 * se0)
    return rd, se, rd - z * se, rd + z * se


def log_ratio(p1: Any, se1: Any, p0: Any, se0: Any, z: float) -> tuple[np.ndarray, ...]:
    """Risk ratio ``p1/p0`` with a delta-method CI on the log scale.

    ``se(log rr) = sqrt((se1/p1)^2 + (se0/p0)^2)``; bounds ``exp(log rr -/+ z*se)``.
    NaN (with a :class:`StatisticalWarning`) where either risk is 0.

    Examples
    --------
    >>> rr, se, lo, hi = log_ratio(0.2, 0.02, 0.1, 0.01, 1.96)
    >>> round(float(rr), 3), round(float(lo), 3), round(float(hi), 3)
    (2.0, 1.516, 2.639)
    """
    p1, se1, p0, se0 = (np.asarray(a, dtype=np.float64) for a in (p1, se1, p0, se0))
    zero = (p1 == 0) | (p0 == 0)
    if np.any(zero):
        warnings.warn(
            f"risk ratio undefined where a risk is 0 ({int(np.sum(zero))} case(s)); reported as NaN",
            StatisticalWarning,
            stacklevel=3,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = np.where(zero, np.nan, p1 / p0)
        se = np.where(zero, np.nan, np.sqrt((se1 / p1) ** 2 + (se0 / p0) ** 2))
        lo = np.exp(np.log(rr) - z * se)
        hi = np.exp(np.log(rr) + z * se)
    return rr, se, lo, hi


def risk_difference(
    result: CumulativeIncidence,
    horizon: Any,
    *,
    reference: Any = None,
    cause: int | Sequence[int] | None = None,
    ratio: bool = False,
) -> RiskDifference:
    """Risk difference of each group minus a reference group at horizon(s).

    ``rd = F_g(h) - F_ref(h)``, ``se = sqrt(se_g^2 + se_ref^2)`` (independent
    groups), ``rd -/+ z*se`` with the result's ``z``, not truncated: the
    reference's ``risk_differences`` and seed 001's RD 7.8 % (-1 to 17) follow
    this rule.  With ``ratio=True`` also the risk ratio with a log-scale
    delta-method interval.

    Parameters
    ----------
    result : CumulativeIncidence
        A grouped result (at least two groups).
    horizon : float or sequence of float
        Horizons; beyond a group's follow-up raises :class:`DataError`.
    reference : group label, optional
        Default: the first group.
    cause : int or sequence of int, optional
        Default: all causes.
    ratio : bool, default False

    Returns
    -------
    RiskDifference

    Examples
    --------
    >>> from leiosurv.stats import cumulative_incidence
    >>> data = {"time": [1, 2, 3, 4, 1, 2, 3, 4], "event": [1, 0, 2, 0, 1, 1, 0, 2],
    ...         "arm": ["a"] * 4 + ["b"] * 4}
    >>> res = cumulative_incidence(data, group="arm", z=1.96)
    >>> rd = risk_difference(res, 2, cause=1)
    >>> rd.table[["group", "reference", "rd"]].to_numpy().tolist()
    [['b', 'a', 0.25]]
    """
    if not isinstance(result, CumulativeIncidence):
        raise InputError(f"result must be a CumulativeIncidence, but was {type(result).__name__}")
    labels = result.groups
    if len(labels) < 2:
        raise InputError(f"risk_difference needs at least two groups, but the result has {labels!r}")
    if reference is None:
        reference = labels[0]
    elif reference not in labels:
        raise InputError(f"reference must be one of the groups {labels!r}, but was {reference!r}")
    if cause is None:
        causes = list(result.causes)
    else:
        causes = [int(cause)] if isinstance(cause, (int, np.integer)) else [int(c) for c in cause]
        for k in causes:
            if k not in result.causes:
                raise InputError(f"cause must be one of {list(result.causes)!r}, but was {k!r}")
    import pandas as pd

    at = result.at(horizon)
    parts = []
    ref_rows = at[[g == reference for g in at["group"]]]
    for k in causes:
        ref = ref_rows[ref_rows["cause"] == k]
        for label in labels:
            if label == reference:
                continue
            cur = at[[g == label for g in at["group"]]]
            cur = cur[cur["cause"] == k]
            p1, s1 = cur["estimate"].to_numpy(), cur["se"].to_numpy()
            p0, s0 = ref["estimate"].to_numpy(), ref["se"].to_numpy()
            rd, se, lo, hi = wald_difference(p1, s1, p0, s0, result.z)
            part = {
                "cause": np.full(rd.size, k, dtype=np.int64),
                "horizon": cur["horizon"].to_numpy(),
                "group": [label] * rd.size,
                "reference": [reference] * rd.size,
                "risk": p1, "risk_reference": p0, "rd": rd, "se": se, "lower": lo, "upper": hi,
            }
            if ratio:
                rr, lse, rlo, rhi = log_ratio(p1, s1, p0, s0, result.z)
                part.update(ratio=rr, log_ratio_se=lse, ratio_lower=rlo, ratio_upper=rhi)
            parts.append(pd.DataFrame(part))
    table = pd.concat(parts, ignore_index=True)
    for c in ("group", "reference"):
        table[c] = table[c].astype(object)
    prov = provenance("risk_difference", {"horizon": np.atleast_1d(horizon), "reference": reference,
                                          "cause": causes, "ratio": ratio}, source=result.provenance)
    return RiskDifference(table, reference, result.z, result.level, prov)

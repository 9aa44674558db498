"""Argument checks and pointwise confidence intervals shared by the estimators.

Every public estimator validates its options here once, at the boundary, with
messages that name the argument and the value.  The interval formulas are the
ones of the R functions the results are tested against:

* ``"plain"`` — ``est -/+ z*se`` truncated to [0, 1] (``prodlim::prodlim``'s
  native interval; seed 001's intervals);
* ``"log"`` — ``exp(log(est) -/+ z*se/est)``, upper bound truncated at 1, NaN
  where ``est == 0`` (``survival::survfit`` ``conf.type = "log"``, its default);
* ``"log-log"`` — ``est ** exp(+/- z*se/(est*|log est|))``: the lower bound takes
  the ``+`` sign (a power above 1 makes a probability smaller).  Undefined where
  ``est`` is 0 or 1: both bounds are NaN there, as R reports ``NA``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from statistics import NormalDist
from typing import Any

import numpy as np

from leiosurv.exceptions import InputError

__all__ = ["resolve_z", "check_choice", "ci_bounds", "CI_TYPES", "EstimateBlock", "exact_bound", "exact_bounds",
           "exact_band", "at_zero_or_one", "EDGE_TOLERANCE", "n_known", "n_known_at"]

CI_TYPES = ("plain", "log", "log-log")

_STD_NORMAL = NormalDist()


def check_choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; else raise naming ``name``."""
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise InputError(f"{name} must be one of {', '.join(repr(a) for a in allowed)}, but was {value!r}")
    return value


def resolve_z(level: Any, z: Any) -> tuple[float, float]:
    """Validate ``level`` and ``z``; return ``(level, z)``.

    ``z`` defaults to the standard-normal quantile ``(1 + level) / 2``; an
    explicit ``z`` overrides it (``level`` is still checked and reported).
    The quantile is Wichura's AS241 (:class:`statistics.NormalDist`), the
    algorithm of R's ``qnorm``.
    """
    try:
        lv = float(level)
    except (TypeError, ValueError):
        raise InputError(f"level must be a number in (0, 1), but was {level!r}") from None
    if not (0.0 < lv < 1.0):
        raise InputError(f"level must be in (0, 1), but was {level!r}")
    if z is None:
        return lv, _STD_NORMAL.inv_cdf((1.0 + lv) / 2.0)
    try:
        zz = float(z)
    except (TypeError, ValueError):
        raise InputError(f"z must be a positive finite number, but was {z!r}") from None
    if not (math.isfinite(zz) and zz > 0):
        raise InputError(f"z must be a positive finite number, but was {z!r}")
    return lv, zz


def ci_bounds(est: np.ndarray, se: np.ndarray, kind: str, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise bounds of a probability ``est`` with standard error ``se``.

    Parameters
    ----------
    est, se : ndarray of float64
        Estimates in [0, 1] and their standard errors (same shape).
    kind : {"plain", "log", "log-log"}
        Interval type, see the module docstring.
    z : float
        Normal quantile.

    Returns
    -------
    lower, upper : ndarray of float64

    Examples
    --------
    >>> lo, hi = ci_bounds(np.array([0.25]), np.array([0.2]), "plain", 1.96)
    >>> round(float(lo[0]), 3), round(float(hi[0]), 3)
    (0.0, 0.642)
    """
    est = np.asarray(est, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if kind == "plain":
            half = z * se
            lower = np.subtract(est, half)
            np.maximum(lower, 0.0, out=lower)
            np.minimum(lower, 1.0, out=lower)
            upper = np.add(est, half, out=half)
            np.maximum(upper, 0.0, out=upper)
            np.minimum(upper, 1.0, out=upper)
        elif kind == "log":
            half = z * se / est
            lower = np.exp(np.log(est) - half)
            upper = np.minimum(np.exp(np.log(est) + half), 1.0)
            bad = ~(est > 0)
            lower = np.where(bad, np.nan, lower)
            upper = np.where(bad, np.nan, upper)
        elif kind == "log-log":
            w = z * se / (est * np.abs(np.log(est)))
            lower = est ** np.exp(w)
            upper = est ** np.exp(-w)
            bad = ~((est > 0) & (est < 1))
            lower = np.where(bad, np.nan, lower)
            upper = np.where(bad, np.nan, upper)
        else:  # pragma: no cover - callers validate first
            raise InputError(f"ci must be one of {CI_TYPES!r}, but was {kind!r}")
    return lower, upper


class EstimateBlock(dict[str, Any]):
    """One group's arrays (``time``, ``cif_<k>``, ``se_<k>``, ...) whose interval bounds
    ``lower_<k>`` / ``upper_<k>`` are computed from ``cif_<k>`` and ``se_<k>`` on first
    access (and then kept): a result that is only read at horizons never holds
    two more arrays per cause over all its event times.

    It is a plain ``dict`` otherwise; ``keys()`` lists the bounds once computed
    (:meth:`complete` computes them all).
    """

    def __init__(self, data: dict[str, Any], ci: str, z: float) -> None:
        super().__init__(data)
        self.ci = ci
        self.z = z

    def __missing__(self, key: str) -> np.ndarray:
        stat, _, cause = str(key).partition("_")
        if stat in ("lower", "upper") and f"cif_{cause}" in self:
            lower, upper = ci_bounds(self[f"cif_{cause}"], self[f"se_{cause}"], self.ci, self.z)
            self[f"lower_{cause}"] = lower
            self[f"upper_{cause}"] = upper
            value: np.ndarray = self[key]
            return value
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        if dict.__contains__(self, key):
            return True
        stat, _, cause = str(key).partition("_")
        return stat in ("lower", "upper") and dict.__contains__(self, f"cif_{cause}")

    def complete(self) -> EstimateBlock:
        """Compute every bound now; returns self."""
        for key in [k for k in self if k.startswith("cif_")]:
            self[f"lower_{key[4:]}"]
        return self


EXACT_BOUND_METHOD = (
    "exact (Clopper–Pearson) bound on the patients whose status at the horizon is known (those not censored "
    "before it): with 0 events among n of them the interval is 0 to 1 - (α/2)^(1/n), with all n having the "
    "event (α/2)^(1/n) to 1 (Clopper & Pearson 1934; the 'rule of three' of Hanley & Lippman-Hand 1983 is its "
    "approximation 3/n at 95%; effective sample size for censored data after Dorey & Korn 1987)"
)
"""How :func:`exact_bound` is described in a report's Methods."""


def exact_bound(estimate: float, n_known: int, level: float) -> tuple[float, float]:
    """Exact interval of a risk estimated at 0 or 1, where the variance (and any Wald interval) is zero.

    The Aalen–Johansen variance is 0 when no event (or only events) occurred, so
    every interval built from it is degenerate — ``0 (0 to 0)`` — or undefined
    (log-log: NaN).  This bound treats the ``n_known`` patients whose status at
    the horizon is known (not censored before it) as binomial trials and gives
    the two-sided Clopper–Pearson interval at ``level``: with 0 events the
    lower bound is 0 and the upper bound ``1 - (alpha/2)**(1/n)`` (about 3/n at
    95 %, the "rule of three"); with all events the lower bound is
    ``(alpha/2)**(1/n)`` and the upper 1.  Patients censored before the horizon
    add no information to it, so it is conservative (Dorey & Korn 1987
    recommend the smaller, Peto-type effective sample size for this side).
    With ``n_known == 0`` the interval is 0 to 1.  It is an *added* bound: the
    R-exact estimators and their intervals are not changed.

    Parameters
    ----------
    estimate : float
        The risk, 0 or 1.
    n_known : int
        Patients not censored before the horizon (:func:`n_known`).
    level : float
        Two-sided confidence level in (0, 1).

    Returns
    -------
    lower, upper : float

    References
    ----------
    Clopper & Pearson (1934), Biometrika 26:404-413.  Hanley & Lippman-Hand
    (1983), JAMA 249:1743-1745.  Dorey & Korn (1987), Stat Med 6:679-687.

    Examples
    --------
    >>> [round(x, 5) for x in exact_bound(0.0, 320, 0.95)]
    [0.0, 0.01146]
    >>> [round(x, 4) for x in exact_bound(1.0, 2, 0.95)]
    [0.1581, 1.0]
    """
    if estimate not in (0.0, 1.0):
        raise InputError(f"estimate must be 0 or 1 for an exact bound, but was {estimate!r}")
    if isinstance(n_known, bool) or int(n_known) != n_known or n_known < 0:
        raise InputError(f"n_known must be a whole number >= 0, but was {n_known!r}")
    lower, upper = exact_bounds(np.array([float(estimate)]), np.array([int(n_known)]), level)
    return float(lower[0]), float(upper[0])


def exact_bounds(estimate: np.ndarray, n_known: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`exact_bound` at many points at once: the one formula of the exact bound.

    Parameters
    ----------
    estimate : ndarray of float64
        Estimates, each 0 or 1 (not checked here; :func:`exact_bound` checks
        its scalar arguments, :func:`exact_band` passes only 0s and 1s).
    n_known : ndarray of int
        Patients whose status is known at each point (same shape), ``>= 0``.
    level : float
        Two-sided confidence level in (0, 1).

    Returns
    -------
    lower, upper : ndarray of float64
        ``0`` to ``1 - (alpha/2)**(1/n)`` where the estimate is 0,
        ``(alpha/2)**(1/n)`` to ``1`` where it is 1; ``0`` to ``1`` where ``n`` is 0.

    Examples
    --------
    >>> lo, hi = exact_bounds(np.array([0.0, 0.0, 1.0]), np.array([320, 0, 2]), 0.95)
    >>> [round(float(x), 5) for x in hi], [round(float(x), 4) for x in lo]
    ([0.01146, 1.0, 1.0], [0.0, 0.0, 0.1581])
    """
    est = np.asarray(estimate, dtype=np.float64)
    n = np.asarray(n_known, dtype=np.int64)
    tail = np.where(n > 0, ((1.0 - level) / 2.0) ** (1.0 / np.maximum(n, 1)), 0.0)
    zero = est == 0.0
    return np.where(zero, 0.0, tail), np.where(zero, 1.0 - tail, 1.0)


EDGE_TOLERANCE = 1e-9
"""How close to 0 or 1 an estimate is taken to be *at* 0 or 1 (:func:`at_zero_or_one`)."""


def at_zero_or_one(estimate: np.ndarray | float) -> np.ndarray:
    """Where an estimate is at 0 or 1: within :data:`EDGE_TOLERANCE` (1e-9) of either.

    A curve is exactly 0 before its first event, but it reaches 1 by summing
    Aalen–Johansen increments, so in floating point it can miss 1 by a few
    units in the last place (153 local recurrences among 153 patients sum to
    1.0000000000000004).  1e-9 is the tolerance to which the estimators are
    tested against R: an estimate that close to 0 or 1 cannot be told from it.
    NaN is at neither.

    Examples
    --------
    >>> at_zero_or_one(np.array([0.0, 1.0000000000000004, 0.999, 1e-12, np.nan])).tolist()
    [True, True, False, True, False]
    """
    est = np.asarray(estimate, dtype=np.float64)
    return (np.abs(est) <= EDGE_TOLERANCE) | (np.abs(est - 1.0) <= EDGE_TOLERANCE)


def exact_band(estimate: np.ndarray, lower: np.ndarray, upper: np.ndarray, n_known: np.ndarray,
               level: float) -> tuple[np.ndarray, np.ndarray]:
    """A pointwise band that is never degenerate where there are data: the CI method's bounds, and
    the exact bound (:func:`exact_bounds`) at every point where the estimate is 0 or 1
    (:func:`at_zero_or_one`).

    A curve is 0 before its first event and in a group without events (1 after
    everybody had the event); its variance is 0 there, so a Wald band has zero
    width and a log or log-log band is undefined.  At those points the band is
    the exact Clopper–Pearson bound on the ``n_known`` patients whose status is
    known there, as a risk at a horizon is (:func:`exact_bound`).  Elsewhere,
    and where the estimate is NaN, ``lower``/``upper`` are returned unchanged.

    Parameters
    ----------
    estimate, lower, upper : ndarray of float64
        The curve and its CI method's bounds at each point (same shape).
    n_known : ndarray of int
        Patients whose status is known at each point (:func:`n_known_at`).
    level : float
        Two-sided confidence level in (0, 1).

    Returns
    -------
    lower, upper : ndarray of float64

    Examples
    --------
    >>> est = np.array([0.0, 0.25, 1.0])
    >>> lo, hi = exact_band(est, est, est, np.array([40, 30, 2]), 0.95)
    >>> [round(float(x), 4) for x in lo], [round(float(x), 4) for x in hi]
    ([0.0, 0.25, 0.1581], [0.0881, 0.25, 1.0])
    """
    est = np.asarray(estimate, dtype=np.float64)
    edge = at_zero_or_one(est)
    exact_lower, exact_upper = exact_bounds(np.where(edge, np.round(est), 0.0), n_known, level)
    return (np.where(edge, exact_lower, np.asarray(lower, dtype=np.float64)),
            np.where(edge, exact_upper, np.asarray(upper, dtype=np.float64)))


def n_known(time: np.ndarray, censored: np.ndarray, n: int, horizon: float) -> int:
    """Patients whose status at ``horizon`` is known: ``n`` minus those censored strictly before it.

    ``time``/``censored`` are a group's distinct times and censorings there
    (:class:`~leiosurv.stats.GroupCounts`); a patient censored exactly at the
    horizon was followed to it, so is known.

    Examples
    --------
    >>> n_known(np.array([1.0, 2.0, 3.0]), np.array([1, 0, 2]), 10, 3.0)
    9
    """
    return int(n_known_at(time, censored, n, np.array([float(horizon)]))[0])


def n_known_at(time: np.ndarray, censored: np.ndarray, n: int, horizons: np.ndarray) -> np.ndarray:
    """:func:`n_known` at each of ``horizons``: ``n`` minus the patients censored strictly before it.

    Examples
    --------
    >>> n_known_at(np.array([1.0, 2.0, 3.0]), np.array([1, 0, 2]), 10, np.array([0.0, 1.0, 1.5, 3.0, 4.0]))
    array([10, 10,  9,  9,  7])
    """
    before = np.concatenate(([0], np.cumsum(np.asarray(censored, dtype=np.int64))))
    idx = np.searchsorted(np.asarray(time, dtype=np.float64), np.asarray(horizons, dtype=np.float64), side="left")
    return np.asarray(int(n) - before[idx], dtype=np.int64)

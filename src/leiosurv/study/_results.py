"""Result objects and argument parsing of the cohort study.

Frozen dataclasses that print themselves and serialise losslessly to JSON the
way every leiosurv result does (:mod:`leiosurv.serial`: ``to_dict`` /
``from_dict`` / ``json_schema``; NaN is written as ``null``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from leiosurv.clinical import evidence
from leiosurv.exceptions import InputError
from leiosurv.serial import JSONFloat, Serialisable
from leiosurv.study._multivariable import MultivariableFineGray
from leiosurv.study._performance_results import RulePerformance
from leiosurv.study._schema import DAYS_PER_YEAR
from leiosurv.study._stability import RuleStability

__all__ = [
    "parse_horizon",
    "parse_thresholds",
    "Risk",
    "Curve",
    "Table1Row",
    "FactorResult",
    "GroupResult",
    "Rule",
    "StudyResult",
    "Comparison",
    "RuleValidation",
    "ConditionalRisk",
    "MIN_PATIENTS",
    "MIN_EVENTS",
    "interval_flags",
]

OUTCOME_LABELS = {"metastasis": "Metastasis", "local_recurrence": "Local recurrence"}
# DAYS_PER_YEAR (like OUTCOME_COLUMNS) is defined once, in the cohort format (_schema)

MIN_PATIENTS = 10
"""Default reporting threshold: an estimate from a group of fewer patients is flagged.

A statistical reporting choice, not a clinical rule.  Below about 10 patients a
cumulative incidence moves in steps of 10 points or more with a single event,
and its Wald interval (estimate -/+ z*SE) is not a reliable 95 % interval."""

MIN_EVENTS = 5
"""Default reporting threshold: an estimate resting on fewer events (of the outcome, by the horizon) is flagged.

The usual rule of thumb for the normal approximation behind a Wald interval
(at least 5 expected events); with 0 events the SE is 0 and the interval
(0 to 0) says nothing about the risk."""


def interval_flags(n: int, n_events: int, se: float, *, min_patients: int = MIN_PATIENTS,
                   min_events: int = MIN_EVENTS) -> tuple[str, ...]:
    """Reasons an estimate's interval is not to be trusted (empty when it is).

    Parameters
    ----------
    n : int
        Patients in the group (at the landmark, for a conditional risk).
    n_events : int
        Events of the outcome in the group by the horizon.
    se : float
        The estimate's standard error.
    min_patients, min_events : int
        The reporting thresholds (:data:`MIN_PATIENTS`, :data:`MIN_EVENTS`).

    Examples
    --------
    >>> interval_flags(4, 0, 0.0)
    ('4 patients (fewer than 10)', '0 events (fewer than 5)', 'standard error 0: exact bound shown')
    >>> interval_flags(300, 12, 0.01)
    ()
    """
    out = []
    if n < min_patients:
        out.append(f"{n} patient{'s' if n != 1 else ''} (fewer than {min_patients})")
    if n_events < min_events:
        out.append(f"{n_events} event{'s' if n_events != 1 else ''} (fewer than {min_events})")
    if se == 0:
        out.append("standard error 0: exact bound shown")
    return tuple(out)


# ---------------------------------------------------------------------------
# Argument parsing (validated once, here)
# ---------------------------------------------------------------------------
_HORIZON = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([ymd])\s*$", re.IGNORECASE)


def parse_horizon(text: str | float | int) -> float:
    """Turn a horizon such as ``"5y"``, ``"60m"`` or ``"1826d"`` into days.

    A year is 365.25 days and a month a twelfth of that.  A bare number is
    taken as days.

    Examples
    --------
    >>> parse_horizon("5y"), parse_horizon("60m"), parse_horizon("1826d")
    (1826.25, 1826.25, 1826.0)
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        days = float(text)
    else:
        m = _HORIZON.match(str(text))
        if not m:
            raise InputError(
                f"horizon: expected a number with a unit y, m or d (e.g. '5y', '60m', '1826d'), got {text!r}"
            )
        value, unit = float(m.group(1)), m.group(2).lower()
        days = value * {"y": DAYS_PER_YEAR, "m": DAYS_PER_YEAR / 12, "d": 1.0}[unit]
    if not math.isfinite(days) or days <= 0:
        raise InputError(f"horizon: must be a positive duration, got {text!r}")
    return days


_OUTCOME_ALIASES = {"met": "metastasis", "metastasis": "metastasis", "lr": "local_recurrence",
                    "local_recurrence": "local_recurrence"}


def parse_thresholds(text: str | Mapping[str, float] | None) -> dict[str, float]:
    """Derivation thresholds per outcome, as fractions.

    ``"met=5,lr=10"`` (percentage points) gives ``{"metastasis": 0.05,
    "local_recurrence": 0.10}``; outcomes not named keep the published default
    (``evidence.DLMS_DERIVATION_THRESHOLDS``).  A mapping is taken as fractions.

    Examples
    --------
    >>> parse_thresholds("met=3")
    {'metastasis': 0.03, 'local_recurrence': 0.1}
    """
    out = dict(evidence.DLMS_DERIVATION_THRESHOLDS)
    if text is None:
        return out
    if isinstance(text, Mapping):
        items = [(k, v, False) for k, v in text.items()]
    else:
        items = []
        for part in filter(None, (p.strip() for p in str(text).split(","))):
            if "=" not in part:
                raise InputError(f"thresholds: expected OUTCOME=PERCENT (e.g. 'met=5,lr=10'), got {part!r}")
            key, _, value = part.partition("=")
            items.append((key.strip(), value.strip(), True))
    for key, value, percent in items:
        outcome = _OUTCOME_ALIASES.get(str(key).lower())
        if outcome is None:
            raise InputError(f"thresholds: unknown outcome {key!r}; use met (metastasis) or lr (local_recurrence)")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"thresholds: {key} must be a number, got {value!r}") from None
        if not math.isfinite(number) or not (-100 < number < 100 if percent else -1 < number < 1):
            raise InputError(f"thresholds: {key} must be a risk difference between -100 and 100 points, got {value!r}")
        out[outcome] = number / 100 if percent else number
    return out


# ---------------------------------------------------------------------------
# Result objects
# ---------------------------------------------------------------------------
class _Interval:
    """Mixin of the estimates with a CI (``estimate``, ``lower``, ``upper``, ``flags``): flag and text."""

    estimate: float
    lower: float
    upper: float
    flags: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def format(self, digits: int = 1) -> str:
        """``"9.3% (0.6 to 18.0)"``-style text: estimate and CI bounds in percent."""
        if math.isnan(self.estimate):
            return "not estimable"
        exact = ", exact" if getattr(self, "interval", "") == "exact" else ""  # tables: "exact" = exact bound
        return f"{_pct(self.estimate, digits)}% ({_pct(self.lower, digits)} to {_pct(self.upper, digits)}{exact})"


FLAG_MARK = "†"
"""Marker of an estimate whose interval is flagged (tables, prose, figures)."""


def format_p(p: float | None) -> str:
    """A p-value as the report prints it: ``"p < 0.001"`` or ``"p = 0.062"`` (``"p = NA"`` if missing).

    Examples
    --------
    >>> format_p(0.0004), format_p(0.06215), format_p(float("nan"))
    ('p < 0.001', 'p = 0.062', 'p = NA')
    """
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "p = NA"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _pct(x: float, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    text = f"{100 * x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.0"


class _RiskDifferenceText:
    """``format_rd`` for results holding ``rd``, ``rd_lower`` and ``rd_upper``."""

    rd: float
    rd_lower: float
    rd_upper: float

    flags: tuple[str, ...]

    def format_rd(self, digits: int = 1) -> str:
        if math.isnan(self.rd):
            return "not estimable"
        return f"{_pct(self.rd, digits)} ({_pct(self.rd_lower, digits)} to {_pct(self.rd_upper, digits)})"

    @property
    def flagged(self) -> bool:
        """The difference rests on a flagged arm (few patients or events, or SE 0)."""
        return bool(self.flags)

    @property
    def significant(self) -> bool:
        """The CI excludes 0 *and* nothing is flagged; a flagged difference is never called significant."""
        return (not self.flagged and not math.isnan(self.rd)
                and (self.rd_lower > 0 or self.rd_upper < 0))


@dataclass(frozen=True)
class Risk(_Interval, Serialisable):
    """A cumulative incidence at the horizon with its standard error and CI."""

    estimate: JSONFloat
    se: JSONFloat
    lower: JSONFloat
    upper: JSONFloat
    n: int
    n_risk: int
    beyond_follow_up: bool
    n_events: int = -1
    """Events of the outcome in the group by the horizon (-1: not recorded)."""
    flags: tuple[str, ...] = ()
    """Why the interval is not to be trusted (see :func:`interval_flags`); empty when it is."""
    interval: str = ""
    """``"exact"`` when the estimate is 0 or 1 and ``lower``/``upper`` are the exact bound
    (:func:`leiosurv.stats.exact_bound`) instead of the degenerate interval of the CI method; else ``""``."""




@dataclass(frozen=True)
class Curve(Serialisable):
    """A cumulative-incidence curve evaluated on a time grid (days), with numbers at risk.

    ``lower``/``upper`` are the pointwise band: the CI method's bounds, and where
    the estimate is 0 or 1 the exact bound (:func:`leiosurv.stats.exact_band`)
    on the patients whose status at that time is known, as a :class:`Risk` at
    the horizon has; NaN beyond the group's follow-up.
    """

    outcome: str
    group: str
    time: tuple[JSONFloat, ...]
    estimate: tuple[JSONFloat, ...]
    lower: tuple[JSONFloat, ...]
    upper: tuple[JSONFloat, ...]
    risk_times: tuple[JSONFloat, ...]
    n_risk: tuple[int, ...]



@dataclass(frozen=True)
class Table1Row(Serialisable):
    """One line of Table 1: ``variable``/``level``, formatted ``text`` and the raw numbers."""

    variable: str
    level: str
    text: str
    values: dict[str, int | JSONFloat] = field(default_factory=dict)



@dataclass(frozen=True)
class FactorResult(_RiskDifferenceText, Serialisable):
    """Univariable result for one factor and one outcome (complete cases for that factor)."""

    factor: str
    label: str
    outcome: str
    n_used: int
    n_missing: int
    n_present: int
    n_absent: int
    present: Risk | None
    absent: Risk | None
    rd: JSONFloat
    rd_se: JSONFloat
    rd_lower: JSONFloat
    rd_upper: JSONFloat
    note: str = ""
    gray_statistic: JSONFloat = float("nan")
    gray_df: JSONFloat = float("nan")
    gray_p_value: JSONFloat = float("nan")
    """Gray's test (cause 1) of present vs absent."""
    flags: tuple[str, ...] = ()
    """Flags of the arms, prefixed ``"present: "`` / ``"absent: "``; the RD inherits them."""



@dataclass(frozen=True)
class GroupResult(_RiskDifferenceText, Serialisable):
    """High vs low risk group for one outcome: risks, difference and Gray's test."""

    outcome: str
    n_high: int
    n_low: int
    n_incomplete: int
    high: Risk | None
    low: Risk | None
    rd: JSONFloat
    rd_se: JSONFloat
    rd_lower: JSONFloat
    rd_upper: JSONFloat
    gray_statistic: JSONFloat
    gray_df: JSONFloat
    gray_p_value: JSONFloat
    note: str = ""
    flags: tuple[str, ...] = ()
    """Flags of the arms, prefixed ``"high: "`` / ``"low: "``."""



@dataclass(frozen=True)
class ConditionalRisk(_Interval, Serialisable):
    """Risk of an outcome by the horizon given event-free at a landmark (landmark Aalen–Johansen).

    ``estimate`` is the cumulative incidence by ``horizon_days`` (from time 0)
    among those event-free and under observation just after ``landmark_days``,
    as :func:`leiosurv.stats.conditional_incidence`; ``landmark_days = 0`` is
    the ordinary risk.  ``n_at_landmark`` patients were left, ``n_events`` of
    them had the outcome by the horizon.
    """

    outcome: str
    group: str  # "all", "high", "low"
    landmark_days: JSONFloat
    horizon_days: JSONFloat
    n_at_landmark: int
    n_events: int
    estimate: JSONFloat
    se: JSONFloat
    lower: JSONFloat
    upper: JSONFloat
    flags: tuple[str, ...] = ()
    interval: str = ""
    """``"exact"`` when ``lower``/``upper`` are the exact bound of an estimate at 0 or 1 (see :class:`Risk`)."""

    @property
    def landmark_years(self) -> float:
        return self.landmark_days / DAYS_PER_YEAR




@dataclass(frozen=True)
class Rule(Serialisable):
    """A high/low-risk rule: the factors per outcome; high if any is present."""

    id: str
    by_outcome: dict[str, tuple[str, ...]]
    derived: bool
    thresholds: dict[str, JSONFloat] | None = None

    @property
    def factors(self) -> tuple[str, ...]:
        """Union of the factors of all outcomes, in the order of first appearance."""
        seen: list[str] = []
        for fs in self.by_outcome.values():
            seen.extend(f for f in fs if f not in seen)
        return tuple(seen)



@dataclass(frozen=True)
class StudyResult(Serialisable):
    """Everything the study computed, with its inputs and provenance.

    Attributes
    ----------
    provenance : dict
        Cohort source, n, synthetic flag, horizon, thresholds, factors,
        variance and CI method, level, leiosurv version, rule id, timestamp.
    table1 : tuple of Table1Row
    overall : dict
        Outcome -> :class:`Risk` at the horizon (whole cohort).
    univariable : tuple of FactorResult
        One per factor and outcome.
    rule : Rule
        The derived rule (``run_study``) or the published one (``validate_rule``).
    groups : dict
        Outcome -> :class:`GroupResult` for the rule's high/low groups.
    curves : tuple of Curve
        Overall and by-group cumulative incidence per outcome, for the figures.
    conditional : tuple of ConditionalRisk
        Per outcome, group (all, high, low) and landmark: the risk by the
        horizon given event-free at the landmark.
    multivariable : tuple of MultivariableFineGray
        The optional multivariable Fine–Gray table per outcome
        (``run_study(..., multivariable=True)``); empty when not asked for.
    """

    provenance: dict[str, Any]
    table1: tuple[Table1Row, ...]
    overall: dict[str, Risk]
    univariable: tuple[FactorResult, ...]
    rule: Rule
    groups: dict[str, GroupResult]
    curves: tuple[Curve, ...]
    conditional: tuple[ConditionalRisk, ...] = ()
    stability: RuleStability | None = None
    """The derivation repeated on bootstrap resamples (``bootstrap=`` resamples; None when 0)."""
    multivariable: tuple[MultivariableFineGray, ...] = ()

    @property
    def synthetic(self) -> bool:
        return bool(self.provenance.get("synthetic"))

    @property
    def horizon_days(self) -> float:
        return float(self.provenance["horizon_days"])

    def factor_result(self, factor: str, outcome: str) -> FactorResult:
        for r in self.univariable:
            if r.factor == factor and r.outcome == outcome:
                return r
        raise KeyError(f"no univariable result for factor {factor!r} and outcome {outcome!r}")

    def factor_label(self, factor: str) -> str:
        """The display label of a factor column (its evidence label, or the column name for extras)."""
        for r in self.univariable:
            if r.factor == factor:
                return r.label
        return evidence.DLMS_FACTORS.get(factor, factor)

    def flagged_estimates(self) -> list[tuple[str, tuple[str, ...]]]:
        """Every flagged estimate as ``(what, reasons)``, in report order."""
        out: list[tuple[str, tuple[str, ...]]] = []
        for o, r in self.overall.items():
            if r.flags:
                out.append((f"{OUTCOME_LABELS.get(o, o)}, all patients", r.flags))
        for r in self.univariable:
            for arm, risk in (("present", r.present), ("absent", r.absent)):
                if risk is not None and risk.flags:
                    out.append((f"{r.label}, {OUTCOME_LABELS.get(r.outcome, r.outcome).lower()}, factor {arm}",
                                risk.flags))
        for o, g in self.groups.items():
            for arm, risk in (("high", g.high), ("low", g.low)):
                if risk is not None and risk.flags:
                    out.append((f"{OUTCOME_LABELS.get(o, o)}, {arm} risk group", risk.flags))
        return out


    def __str__(self) -> str:
        p = self.provenance
        mark = "SYNTHETIC DATA — " if self.synthetic else ""
        years = p["horizon_days"] / DAYS_PER_YEAR
        lines = [f"{mark}Cohort study: {p['cohort_source']} (n = {p['n']}), {years:g}-year risks, "
                 f"{int(round(100 * p['level']))}% CI"]
        mark_ = FLAG_MARK
        for o, r in self.overall.items():
            lines.append(f"  overall {OUTCOME_LABELS.get(o, o)}: {r.format()}{mark_ if r.flagged else ''}")
        for r in self.univariable:
            lines.append(f"  {r.label} -> {OUTCOME_LABELS.get(r.outcome, r.outcome)}: RD {r.format_rd()}"
                         f"{mark_ if r.flagged else ''} (n = {r.n_used}, missing {r.n_missing}; Gray "
                         f"{format_p(r.gray_p_value)}{mark_ if r.flagged else ''})")
        names = "; ".join(self.factor_label(f) for f in self.rule.factors) or "(none)"
        kind = "derived rule" if self.rule.derived else f"published rule {self.rule.id}"
        lines.append(f"  {kind}: high risk if any of {names}")
        st = self.stability
        if st is not None:
            which = ("derived rule re-derived in " f"{100 * st.derived_frequency:.1f}%, " if self.rule.derived else "")
            lines.append(f"  bootstrap ({st.resamples} resamples, seed {st.seed}): {which}published rule in "
                         f"{100 * st.published_frequency:.1f}% (exploratory: univariable, no multiple-testing "
                         "adjustment)")
        for o, g in self.groups.items():
            lines.append(f"  {OUTCOME_LABELS.get(o, o)}: high {g.high.format() if g.high else 'NA'} vs low "
                         f"{g.low.format() if g.low else 'NA'}; RD {g.format_rd()}{mark_ if g.flagged else ''}; "
                         f"Gray {format_p(g.gray_p_value)}{mark_ if g.flagged else ''}")
        flagged = self.flagged_estimates()
        if flagged:
            lines.append(f"  {mark_} interval not reliable (not interpreted as significant):")
            lines += [f"    {what}: {'; '.join(why)}" for what, why in flagged]
        return "\n".join(lines)


@dataclass(frozen=True)
class Comparison(Serialisable):
    """One published figure against the cohort's estimate of it."""

    factor: str
    outcome: str
    quantity: str  # "present", "absent" or "difference"
    published: JSONFloat
    published_lower: JSONFloat
    published_upper: JSONFloat
    cohort: JSONFloat
    cohort_lower: JSONFloat
    cohort_upper: JSONFloat
    cohort_in_published_ci: bool | None
    published_in_cohort_ci: bool | None
    message: str
    published_text: str = ""
    """The figure as printed in the paper, e.g. ``"18 (3 to 33)"``."""
    published_min: JSONFloat = float("nan")
    published_max: JSONFloat = float("nan")
    """The range of values the printed estimate allows given its rounding (for a difference, together
    with the difference of the two printed risks, which counts too)."""
    published_ci_min: JSONFloat = float("nan")
    published_ci_max: JSONFloat = float("nan")
    """The published CI widened by the rounding of its printed bounds."""
    rounding_explains: bool = False
    """True when the figure is consistent only once the rounding is allowed for."""
    cohort_se: JSONFloat = float("nan")
    """The cohort estimate's standard error (for a difference, ``rd_se``)."""
    published_se: JSONFloat = float("nan")
    """The SE the published 95 % CI implies (:func:`leiosurv.study.published_se`)."""
    z_statistic: JSONFloat = float("nan")
    """Distance between the cohort's estimate and the nearest value the printed figure allows, over
    ``sqrt(cohort_se^2 + published_se^2)``; NaN when not assessable."""
    flags: tuple[str, ...] = ()
    """The cohort estimate's flags (:func:`interval_flags`); a flagged estimate is not assessable."""
    verdict: str = "not assessable"
    """``"consistent"``, ``"disagrees"`` or ``"not assessable"``."""
    reason: str = ""
    """Why: the difference, its SE and z, or what makes the figure not assessable."""

    @property
    def agrees(self) -> bool:
        return self.verdict == "consistent"

    @property
    def status(self) -> str:
        """``"consistent"``, ``"disagrees"`` (``z_statistic`` above the normal quantile of the level) or
        ``"not assessable"`` (not estimable, flagged, or SE 0)."""
        return self.verdict



@dataclass(frozen=True)
class RuleValidation(Serialisable):
    """The published rule applied to a cohort, and the cohort against the published figures."""

    study: StudyResult
    comparisons: tuple[Comparison, ...]
    performance: RulePerformance | None = None
    """The rule's discrimination and calibration on the cohort (:func:`leiosurv.study.rule_performance`)."""

    COMPARISON_RULE = (
        "A published figure and the cohort's estimate are compared through their difference, weighing both "
        "uncertainties: the published 95% CI gives the published standard error (its larger half-width, after "
        "widening each printed bound by its rounding, over 1.96), the cohort gives its own; the difference "
        "between the cohort's estimate and the nearest value the printed figure can stand for (\"18\" is 17.5 "
        "to 18.5, \"9.3\" is 9.25 to 9.35; a risk difference may also stand for the difference of the two "
        "printed risks, 26.0 - 8.4 = 17.5 to 17.7) is divided by sqrt(SE_cohort² + SE_published²). The figure "
        "disagrees when this exceeds the normal quantile of the confidence level (1.96 at 95%), and is "
        "consistent otherwise. It is not assessable when the cohort cannot estimate it, when the cohort's "
        "estimate is flagged † (few patients or events, or standard error 0), or when its standard error is 0; "
        "the verdict rests on estimates and standard errors only, so it is the same under every CI type."
    )
    """How :func:`validate_rule` compares a published figure with the cohort (printed with every validation)."""

    @property
    def provenance(self) -> dict:
        return self.study.provenance

    @property
    def synthetic(self) -> bool:
        return self.study.synthetic

    @property
    def disagreements(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if c.status == "disagrees")

    @property
    def not_assessable(self) -> tuple[Comparison, ...]:
        """Figures the cohort cannot test: not estimable, or its interval has zero width."""
        return tuple(c for c in self.comparisons if c.status == "not assessable")


    def __str__(self) -> str:
        lines = [str(self.study), f"  published figures compared: {len(self.comparisons)}, "
                 f"disagreements: {len(self.disagreements)}, not assessable: {len(self.not_assessable)}",
                 f"  rule: {self.COMPARISON_RULE}"]
        lines += [f"  ! {c.message}" for c in self.disagreements]
        lines += [f"  ? {c.message}" for c in self.not_assessable]
        lines += [f"  ~ {c.message}" for c in self.comparisons if c.rounding_explains]
        return "\n".join(lines)

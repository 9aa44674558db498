"""The cohort study of seed 001, repeatable on any cohort.

``run_study`` reproduces the analysis of seed 001 (Abebe et al. 2025) on a
:class:`~leiosurv.study.Cohort`: Table 1, overall 5-year risks of metastasis and
local recurrence (Aalen–Johansen, all-cause death as competing risk), the
univariable analysis of every candidate factor (risk present / absent and their
difference), the factors whose risk difference exceeds the derivation
thresholds, and the resulting high/low-risk groups with their own risks, risk
difference and Gray's test.  ``validate_rule`` applies the *published* rule
instead of deriving one and compares the cohort with the published figures.

Every number comes from :mod:`leiosurv.stats`; every published figure, factor,
threshold and rule from :mod:`leiosurv.clinical.evidence`.  The results are
frozen objects that carry their inputs and provenance and serialise losslessly
to JSON (``to_dict`` / ``from_dict``).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from statistics import NormalDist
from typing import Any, Literal, TypedDict, Unpack

from leiosurv import __version__
from leiosurv.clinical import evidence
from leiosurv.exceptions import InputError
from leiosurv.study._analysis import CI_METHODS, VARIANCES
from leiosurv.study._analysis import analyse as _analyse
from leiosurv.study._multivariable import multivariable_fine_gray
from leiosurv.study._performance import rule_performance
from leiosurv.study._results import (
    DAYS_PER_YEAR,
    FLAG_MARK,
    MIN_EVENTS,
    MIN_PATIENTS,
    OUTCOME_LABELS,
    Comparison,
    Risk,
    Rule,
    RuleValidation,
    StudyResult,
    _pct,
    parse_horizon,
    parse_thresholds,
)
from leiosurv.study._stability import DEFAULT_BOOTSTRAP, DEFAULT_SEED

__all__ = ["run_study", "validate_rule", "StudyOptions", "printed_decimals", "rounding_interval", "published_se"]

# ---------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------
class StudyOptions(TypedDict, total=False):
    """The options :func:`run_study` and :func:`validate_rule` share, all optional (see :func:`run_study`).

    Defaults: ``horizon_days`` 5 years, ``level`` 0.95, ``variance`` ``"delta"``,
    ``ci`` ``"plain"``, ``progress`` None, ``min_patients`` :data:`MIN_PATIENTS`,
    ``min_events`` :data:`MIN_EVENTS`, ``landmarks_years`` 0, 1, ... before the horizon.
    """

    horizon_days: float | str
    level: float
    variance: str
    ci: str
    progress: Callable[[str, int, int], None] | Literal[False] | None
    min_patients: int
    min_events: int
    landmarks_years: Sequence[float] | None
    bootstrap: int
    seed: int


_DEFAULTS: dict[str, Any] = {"horizon_days": 5 * DAYS_PER_YEAR, "level": 0.95, "variance": "delta", "ci": "plain",
                             "progress": None, "min_patients": MIN_PATIENTS, "min_events": MIN_EVENTS,
                             "landmarks_years": None, "bootstrap": DEFAULT_BOOTSTRAP, "seed": DEFAULT_SEED}


def run_study(
    cohort: Any,
    *,
    factors: Sequence[str] | None = None,
    thresholds: Mapping[str, float] | str | None = None,
    labels: Mapping[str, str] | None = None,
    multivariable: bool = False,
    **options: Unpack[StudyOptions],
) -> StudyResult:
    """Run the cohort study of seed 001 on *cohort* and derive a high/low-risk rule.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort (:func:`leiosurv.study.read_cohort`).
    factors : sequence of str, optional
        Extra 0/1 factor columns analysed after the four of
        ``evidence.DLMS_FACTORS``.
    labels : mapping of str to str, optional
        Display labels of the extra factors, e.g. ``{"deep_invasion": "Deep
        invasion"}``, used in every table, sentence and figure instead of the
        column name (the four published factors keep their evidence labels).
    thresholds : mapping or str, optional
        Derivation thresholds per outcome (fractions, or ``"met=5,lr=10"`` in
        points); default ``evidence.DLMS_DERIVATION_THRESHOLDS``.  A factor
        enters the rule when its risk difference is strictly greater.
    multivariable : bool, default False
        Add the multivariable Fine–Gray table (:func:`leiosurv.study.multivariable_fine_gray`:
        age, sex and the four factors of seed 001, per outcome, flagged exploratory below 10
        events per variable) as ``result.multivariable``.  A model that cannot be estimated
        carries its note; the study goes on.
    **options : StudyOptions
        Keywords shared with :func:`validate_rule` (an unknown one is an InputError):
    horizon_days : float or str, default 5 years (1826.25 days)
        Horizon of the absolute risks; strings as in :func:`parse_horizon`.
    level : float, default 0.95
        Confidence level.
    variance, ci : str, default "delta", "plain"
        Passed to :func:`leiosurv.stats.cumulative_incidence`; the defaults
        (prodlim's delta-method SE, Wald CI truncated to [0, 1]) reproduce
        seed 001's intervals.  ``ci="log-log"`` gives log-log intervals of each
        risk, and the risk differences' intervals are then built from the two
        groups' log-log intervals (MOVER, Zou & Donner 2008) so that they agree
        with them; with ``"plain"`` the RD interval is ``rd -/+ z*sqrt(se1^2 +
        se0^2)`` (seed 001).
    progress : callable, optional
        Called as ``progress(step, done, total)`` after each step (``step``
        names it, e.g. ``"Invasion / metastasis"``); the command line draws its
        progress bar from it.  ``None`` or ``False``: no reporting.
    min_patients, min_events : int, default :data:`MIN_PATIENTS` (10), :data:`MIN_EVENTS` (5)
        Reporting thresholds: an estimate from fewer patients, or resting on
        fewer events of the outcome by the horizon, or with standard error 0,
        is flagged in every table, in the prose and in the forest plot, and a
        risk difference resting on a flagged group is never called
        significant.  Statistical reporting choices, not clinical rules.
    landmarks_years : sequence of float, optional
        Landmarks (years) of the remaining-risk table: the risk by the horizon
        given event-free at each landmark.  Default 0, 1, 2, ... up to the last
        whole year before the horizon (0-4 for 5 years).
    bootstrap : int, default :data:`DEFAULT_BOOTSTRAP` (200)
        Bootstrap resamples on which the derivation is repeated
        (:class:`RuleStability`: how often each factor is selected, how often
        the derived and the published rule are re-derived); 0 skips it.
    seed : int, default 1
        Seed of the resampling (the same seed gives the same frequencies).

    Returns
    -------
    StudyResult

    Examples
    --------
    >>> from leiosurv.study import read_cohort, synthesize_cohort
    >>> cohort = read_cohort(synthesize_cohort(3000, seed=1))
    >>> res = run_study(cohort, progress=False)
    >>> res.provenance["synthetic"], res.rule.derived, sorted(res.groups)
    (True, True, ['local_recurrence', 'metastasis'])
    >>> r = res.factor_result("necrosis", "metastasis")
    >>> r.n_used + r.n_missing == cohort.n
    True
    """
    horizon, opts = _options("run_study", options)
    thr = parse_thresholds(thresholds)
    if not isinstance(multivariable, bool):
        raise InputError(f"multivariable must be True or False, but was {multivariable!r}")
    result = _analyse(cohort, horizon=horizon, extra_factors=tuple(factors or ()), thresholds=thr, rule=None,
                      provenance=_provenance(cohort), labels=labels, **opts)
    return _with_multivariable(cohort, result) if multivariable else result


def validate_rule(cohort: Any, **options: Unpack[StudyOptions]) -> RuleValidation:
    """Apply the published rule (``evidence.DLMS_RULE_ID``) to *cohort*.

    Runs the same analysis as :func:`run_study` but with the published
    high-risk factors (``evidence.DLMS_HIGH_RISK_FACTORS``) instead of a derived
    rule, and compares every published factor figure
    (``evidence.DLMS_FACTOR_RISKS``) with the cohort's estimate: is the
    cohort's estimate inside the published 95 % CI, and the published estimate
    inside the cohort's CI?  Both allow for the paper's rounding
    (:attr:`RuleValidation.COMPARISON_RULE`): a printed "18" stands for 17.5 to
    18.5, a printed RD may also stand for the difference of the two printed risks,
    and printed CI bounds are widened by half their last digit.  Disagreements
    are flagged in words.  The options are those of :func:`run_study`.

    Examples
    --------
    >>> from leiosurv.study import read_cohort, synthesize_cohort
    >>> val = validate_rule(read_cohort(synthesize_cohort(3000, seed=1)), progress=False)
    >>> val.study.rule.id, len(val.comparisons)
    ('dlms-risk-abebe-2025', 15)
    """
    horizon, opts = _options("validate_rule", options)
    # the published rule, with the thresholds it was derived with (drawn in the forest plot)
    rule = Rule(evidence.DLMS_RULE_ID, {k: tuple(v) for k, v in evidence.DLMS_HIGH_RISK_FACTORS.items()}, False,
                dict(evidence.DLMS_DERIVATION_THRESHOLDS))
    study = _analyse(cohort, horizon=horizon, extra_factors=(), thresholds=None, rule=rule,
                     provenance=_provenance(cohort, analysis="validate-rule"), **opts)
    return RuleValidation(study, tuple(_compare(study)), rule_performance(cohort, study))


def _with_multivariable(cohort: Any, result: StudyResult) -> StudyResult:
    """*result* with the multivariable Fine–Gray table of *cohort* (at the study's confidence level)."""
    tables = multivariable_fine_gray(cohort, level=float(result.provenance["level"]))
    return dataclasses.replace(result, multivariable=tables,
                               provenance={**result.provenance, "multivariable": True})


def _options(function: str, given: Mapping[str, Any]) -> tuple[float, dict]:
    """Validate the options shared by run_study and validate_rule (one message naming each): (horizon, options)."""
    unknown = sorted(set(given) - set(_DEFAULTS))
    if unknown:
        raise InputError(f"{function}: unknown option {unknown[0]!r}; the options are {', '.join(_DEFAULTS)}")
    o = {**_DEFAULTS, **given}
    horizon = parse_horizon(o["horizon_days"])
    level, variance, ci, progress = o["level"], o["variance"], o["ci"], o["progress"]
    min_patients, min_events, landmarks_years = o["min_patients"], o["min_events"], o["landmarks_years"]
    if isinstance(level, bool) or not (isinstance(level, (int, float)) and 0 < level < 1):
        raise InputError(f"level must be in (0, 1), but was {level!r}")
    if variance not in VARIANCES:
        raise InputError(f"variance must be one of {', '.join(map(repr, VARIANCES))}, but was {variance!r}")
    if ci not in CI_METHODS:
        raise InputError(f"ci must be one of {', '.join(map(repr, CI_METHODS))}, but was {ci!r}")
    if progress is True:
        raise InputError("progress must be a callable progress(step, done, total) or None, but was True; "
                         "the command line draws the progress bar")
    if progress is not None and progress is not False and not callable(progress):
        raise InputError(f"progress must be a callable progress(step, done, total) or None, but was {progress!r}")
    for name, v in (("min_patients", min_patients), ("min_events", min_events), ("bootstrap", o["bootstrap"]),
                    ("seed", o["seed"])):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InputError(f"{name} must be a whole number >= 0, but was {v!r}")
    if landmarks_years is None:
        marks = tuple(float(y) for y in range(0, int(math.ceil(horizon / DAYS_PER_YEAR))))
    else:
        try:
            marks = tuple(sorted({float(y) for y in landmarks_years}))
        except (TypeError, ValueError):
            raise InputError(f"landmarks_years must be numbers of years, but was {landmarks_years!r}") from None
        bad = [y for y in marks if not (math.isfinite(y) and 0 <= y * DAYS_PER_YEAR < horizon)]
        if bad:
            raise InputError(f"landmarks_years must lie in [0, horizon) = [0, {horizon / DAYS_PER_YEAR:g}) years, "
                             f"but contained {bad[0]:g}")
    return horizon, {"level": float(level), "variance": variance, "ci": ci, "progress": progress or None,
                     "min_patients": min_patients, "min_events": min_events, "landmarks": marks,
                     "bootstrap": o["bootstrap"], "seed": o["seed"]}


# ---------------------------------------------------------------------------
# Rounding-aware comparison with the published figures
# ---------------------------------------------------------------------------
def printed_decimals(published: Any) -> tuple[int, int, int]:
    """Decimals of a published figure as printed in its source: (estimate, lower, upper).

    Read from the text the evidence keeps of every published figure
    (``PublishedRisk.printed``, e.g. ``{"estimate": "18", "lower": "3", "upper": "33"}``).

    Examples
    --------
    >>> from leiosurv.clinical import evidence
    >>> printed_decimals(evidence.DLMS_FACTOR_RISKS[("positive_margins", "local_recurrence")].difference)
    (0, 0, 0)
    >>> printed_decimals(evidence.DLMS_FACTOR_RISKS[("necrosis", "metastasis")].present)
    (1, 1, 1)
    """
    text = published.printed

    def dec(key: str) -> int:
        t = text.get(key, "")
        return len(t.split(".", 1)[1]) if "." in t else 0

    return dec("estimate"), dec("lower"), dec("upper")


def rounding_interval(value: float, decimals: int) -> tuple[float, float]:
    """The values (as fractions) that print as ``value`` (a fraction) in percent with ``decimals`` decimals.

    Examples
    --------
    >>> [round(100 * x, 10) for x in rounding_interval(0.18, 0)]
    [17.5, 18.5]
    >>> [round(100 * x, 10) for x in rounding_interval(0.093, 1)]
    [9.25, 9.35]
    """
    half = 0.5 * 10.0 ** (-decimals) / 100
    return value - half, value + half


def _printed(p: Any, dec: tuple[int, int, int]) -> str:
    """A published figure as the paper printed it, e.g. ``"18 (3 to 33)"``."""
    if p.lower is None or p.upper is None:
        return _pct(p.estimate, dec[0])
    return f"{_pct(p.estimate, dec[0])} ({_pct(p.lower, dec[1])} to {_pct(p.upper, dec[2])})"


_Z95 = NormalDist().inv_cdf(0.975)
"""The normal quantile of the published 95 % intervals (their SE is half-width / z)."""


def published_se(estimate: float, ci_min: float, ci_max: float) -> float:
    """The standard error a published 95 % CI implies: its larger half-width over z(0.975).

    The larger half-width, because a Wald interval truncated at 0 (seed 001's
    "25.0 (0-67)") keeps its full width on the other side only; the bounds are
    those widened by their rounding, so the SE is never understated.

    Examples
    --------
    >>> round(100 * published_se(0.084, 0.0545, 0.1105), 3)
    1.505
    """
    return max(ci_max - estimate, estimate - ci_min) / _Z95


def _distance(value: float, ranges: Sequence[tuple[float, float]]) -> float:
    """How far ``value`` lies from the nearest of ``ranges`` (0 inside one)."""
    return min(max(lo - value, value - hi, 0.0) for lo, hi in ranges)


def _compare(study: StudyResult) -> list[Comparison]:
    """Each published figure against the cohort's estimate, through their difference (both SEs)."""
    z = NormalDist().inv_cdf((1 + float(study.provenance["level"])) / 2)
    level = int(round(100 * float(study.provenance["level"])))
    out = []
    for (factor, outcome), pub in evidence.DLMS_FACTOR_RISKS.items():
        fr = study.factor_result(factor, outcome)
        # each printed figure stands for the interval its rounding allows; a printed difference may
        # also stand for the difference of the two printed risks (26.0 - 8.4: 17.5 to 17.7), which
        # counts too - either reading is accepted, so allowing for rounding never adds a disagreement
        allowed: dict[str, list[tuple[float, float]]] = {}
        for quantity in ("present", "absent", "difference"):
            p = getattr(pub, quantity)
            allowed[quantity] = [rounding_interval(p.estimate, printed_decimals(p)[0])]
        (p_lo, p_hi), (a_lo, a_hi) = allowed["present"][0], allowed["absent"][0]
        allowed["difference"].append((p_lo - a_hi, p_hi - a_lo))
        for quantity, (est, se, lo, hi), flags in (
            ("present", _quad(fr.present), () if fr.present is None else fr.present.flags),
            ("absent", _quad(fr.absent), () if fr.absent is None else fr.absent.flags),
            ("difference", (fr.rd, fr.rd_se, fr.rd_lower, fr.rd_upper), fr.flags),
        ):
            p = getattr(pub, quantity)
            dec = printed_decimals(p)
            printed = _printed(p, dec)
            ranges = allowed[quantity]
            a_min, a_max = min(r[0] for r in ranges), max(r[1] for r in ranges)
            ci_min = rounding_interval(p.lower, dec[1])[0]
            ci_max = rounding_interval(p.upper, dec[2])[1]
            what = {"present": "5-year risk with the factor", "absent": "5-year risk without the factor",
                    "difference": "risk difference"}[quantity]
            label = f"{fr.label}, {OUTCOME_LABELS[outcome].lower()}, {what}"
            se_p = published_se(p.estimate, ci_min, ci_max)
            extra = dict(published_text=printed, published_min=a_min, published_max=a_max,
                         published_ci_min=ci_min, published_ci_max=ci_max, cohort_se=se,
                         published_se=se_p, flags=tuple(flags))
            cohort_text = ("not estimable" if math.isnan(est) else
                           f"{_pct(est)}%{FLAG_MARK if flags else ''} ({level}% CI {_pct(lo)} to {_pct(hi)})")
            head = f"{label}: cohort {cohort_text} vs published {printed}"
            # not assessable: nothing to compare, or an estimate whose uncertainty is not measured -
            # decided on the estimate, its SE and its flags, never on its interval, so that the verdict
            # is the same under every CI type
            reason = ""
            if math.isnan(est):
                reason = "not estimable in this cohort"
            elif flags:
                reason = "the cohort's estimate is flagged " + FLAG_MARK + " (" + "; ".join(flags) + ")"
            elif not se > 0:
                reason = "the cohort's standard error is 0"
            if reason:
                msg = f"{head}: NOT ASSESSABLE — {reason}"
                out.append(Comparison(factor, outcome, quantity, p.estimate, p.lower, p.upper, est, lo, hi,
                                      None, None, msg, **extra, verdict="not assessable", reason=reason))
                continue
            gap = _distance(est, ranges)
            se_d = math.hypot(se, se_p)
            zstat = gap / se_d
            consistent = zstat <= z
            # the same test with the figure as printed (no rounding range, unwidened CI)
            strict_z = abs(est - p.estimate) / math.hypot(se, published_se(p.estimate, p.lower, p.upper))
            rounding = consistent and strict_z > z
            c_in = bool(ci_min <= est <= ci_max)
            p_in = any(lo <= r_hi and r_lo <= hi for r_lo, r_hi in ranges)
            allows = _join_ranges(ranges, dec[0] + 1)
            detail = (f"within what the printed figure allows ({allows}), SE {_pct(se_d)} = sqrt(cohort "
                      f"{_pct(se)}² + published {_pct(se_p)}²), z = 0.00")
            if gap:
                detail = (f"difference {_pct(gap)} points beyond what the printed figure allows ({allows}), "
                          f"SE {_pct(se_d)} = sqrt(cohort {_pct(se)}² + published {_pct(se_p)}²), z = {zstat:.2f}")
            if consistent:
                reason = f"{detail} <= {z:.2f}" + (" (consistent once the paper's rounding is allowed for)"
                                                   if rounding else "")
                msg = f"{head}: consistent — {reason}"
                verdict = "consistent"
            else:
                reason = f"{detail} > {z:.2f}"
                msg = f"{head}: DISAGREES — {reason}"
                verdict = "disagrees"
            out.append(Comparison(factor, outcome, quantity, p.estimate, p.lower, p.upper, est, lo, hi, c_in, p_in,
                                  msg, **extra, rounding_explains=rounding, verdict=verdict, reason=reason,
                                  z_statistic=zstat))
    return out


def _join_ranges(ranges: Sequence[tuple[float, float]], digits: int) -> str:
    text = f"{_pct(ranges[0][0], digits)} to {_pct(ranges[0][1], digits)}"
    if len(ranges) > 1:
        text += (f", or {_pct(ranges[1][0], digits)} to {_pct(ranges[1][1], digits)} as the difference of the "
                 "printed risks")
    return text


def _quad(r: Risk | None) -> tuple[float, float, float, float]:
    return (float("nan"),) * 4 if r is None else (r.estimate, r.se, r.lower, r.upper)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _provenance(cohort: Any, **extra: Any) -> dict:
    return {
        "analysis": "study",
        "cohort_source": str(getattr(cohort, "source", "(in memory)")),
        **({"selection": cohort.selection.text()} if getattr(cohort, "selection", None) is not None else {}),
        "n": int(cohort.n),
        "synthetic": bool(getattr(cohort, "synthetic", False)),
        "leiosurv_version": __version__,
        "python_version": sys.version.split()[0],
        "timestamp": _now(),
        **extra,
    }

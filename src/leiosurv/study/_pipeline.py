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

import datetime as _dt
import math
import sys
from typing import Any, Mapping, Sequence

from leiosurv import __version__
from leiosurv.clinical import evidence
from leiosurv.exceptions import InputError
from leiosurv.study._analysis import analyse as _analyse
from leiosurv.study._results import (
    DAYS_PER_YEAR,
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

__all__ = ["run_study", "validate_rule"]

# ---------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------
def run_study(
    cohort: Any,
    *,
    horizon_days: float | str = 5 * DAYS_PER_YEAR,
    factors: Sequence[str] | None = None,
    thresholds: Mapping[str, float] | str | None = None,
    level: float = 0.95,
    variance: str = "delta",
    ci: str = "plain",
    progress: bool = True,
) -> StudyResult:
    """Run the cohort study of seed 001 on *cohort* and derive a high/low-risk rule.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort (:func:`leiosurv.study.read_cohort`).
    horizon_days : float or str, default 5 years (1826.25 days)
        Horizon of the absolute risks; strings as in :func:`parse_horizon`.
    factors : sequence of str, optional
        Extra 0/1 factor columns analysed after the four of
        ``evidence.DLMS_FACTORS``.
    thresholds : mapping or str, optional
        Derivation thresholds per outcome (fractions, or ``"met=5,lr=10"`` in
        points); default ``evidence.DLMS_DERIVATION_THRESHOLDS``.  A factor
        enters the rule when its risk difference is strictly greater.
    level : float, default 0.95
        Confidence level.
    variance, ci : str, default "delta", "plain"
        Passed to :func:`leiosurv.stats.cumulative_incidence`; the defaults
        (prodlim's delta-method SE, Wald CI truncated to [0, 1]) reproduce
        seed 001's intervals.
    progress : bool, default True
        Show a progress bar on stderr (only when stderr is a terminal).

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
    horizon = parse_horizon(horizon_days)
    thr = parse_thresholds(thresholds)
    _check_level(level)
    return _analyse(cohort, horizon=horizon, extra_factors=tuple(factors or ()), thresholds=thr, rule=None,
                    level=level, variance=variance, ci=ci, progress=progress, provenance=_provenance(cohort))


def validate_rule(
    cohort: Any,
    *,
    horizon_days: float | str = 5 * DAYS_PER_YEAR,
    level: float = 0.95,
    variance: str = "delta",
    ci: str = "plain",
    progress: bool = True,
) -> RuleValidation:
    """Apply the published rule (``evidence.DLMS_RULE_ID``) to *cohort*.

    Runs the same analysis as :func:`run_study` but with the published
    high-risk factors (``evidence.DLMS_HIGH_RISK_FACTORS``) instead of a derived
    rule, and compares every published factor figure
    (``evidence.DLMS_FACTOR_RISKS``) with the cohort's estimate: is the
    cohort's estimate inside the published 95 % CI, and the published estimate
    inside the cohort's CI?  Disagreements are flagged in words.

    Examples
    --------
    >>> from leiosurv.study import read_cohort, synthesize_cohort
    >>> val = validate_rule(read_cohort(synthesize_cohort(3000, seed=1)), progress=False)
    >>> val.study.rule.id, len(val.comparisons)
    ('dlms-risk-abebe-2025', 15)
    """
    horizon = parse_horizon(horizon_days)
    _check_level(level)
    # the published rule, with the thresholds it was derived with (drawn in the forest plot)
    rule = Rule(evidence.DLMS_RULE_ID, {k: tuple(v) for k, v in evidence.DLMS_HIGH_RISK_FACTORS.items()}, False,
                dict(evidence.DLMS_DERIVATION_THRESHOLDS))
    study = _analyse(cohort, horizon=horizon, extra_factors=(), thresholds=None, rule=rule,
                     level=level, variance=variance, ci=ci, progress=progress,
                     provenance=_provenance(cohort, analysis="validate-rule"))
    return RuleValidation(study, tuple(_compare(study)))


def _check_level(level: float) -> None:
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise InputError(f"level must be in (0, 1), but was {level!r}")


def _compare(study: StudyResult) -> list[Comparison]:
    out = []
    for (factor, outcome), pub in evidence.DLMS_FACTOR_RISKS.items():
        fr = study.factor_result(factor, outcome)
        for quantity, p, (est, lo, hi) in (
            ("present", pub.present, _triple(fr.present)),
            ("absent", pub.absent, _triple(fr.absent)),
            ("difference", pub.difference, (fr.rd, fr.rd_lower, fr.rd_upper)),
        ):
            if math.isnan(est):
                c_in, p_in = None, None
                msg = (f"{fr.label}, {OUTCOME_LABELS[outcome].lower()}, {quantity}: NOT ASSESSABLE — not estimable "
                       f"in this cohort (published {p.format()})")
            else:
                c_in = bool(p.lower <= est <= p.upper)
                # a zero-width Wald interval (SE 0: no events, or only events, in a small group) tests
                # nothing; nor does a risk difference one of whose arms has SE 0, since its interval
                # then carries the other arm's uncertainty only
                degenerate = hi - lo == 0 or (
                    quantity == "difference" and any(r is not None and r.se == 0 for r in (fr.present, fr.absent))
                )
                p_in = None if degenerate else bool(lo <= p.estimate <= hi)
                what = {"present": "5-year risk with the factor", "absent": "5-year risk without the factor",
                        "difference": "risk difference"}[quantity]
                head = f"{fr.label}, {OUTCOME_LABELS[outcome].lower()}, {what}: cohort {_pct(est)}% ({_pct(lo)} to {_pct(hi)}) vs published {p.format()}"
                if p_in is None:
                    zero = ("the cohort's interval has zero width (standard error 0 — no events, or only events, "
                            "among few patients)") if hi - lo == 0 else (
                            "one of the two groups has standard error 0 (no events, or only events, among few "
                            "patients), so the difference's interval ignores that group's uncertainty")
                    msg = (f"{head}: DISAGREES — the cohort's estimate lies outside the published confidence "
                           f"interval; {zero}" if not c_in else
                           f"{head}: NOT ASSESSABLE — {zero}, so the published estimate cannot be tested against it")
                elif c_in and p_in:
                    msg = f"{head}: consistent"
                elif not c_in and not p_in:
                    msg = f"{head}: DISAGREES — each estimate lies outside the other's confidence interval"
                elif not c_in:
                    msg = f"{head}: DISAGREES — the cohort's estimate lies outside the published confidence interval"
                else:
                    msg = f"{head}: DISAGREES — the published estimate lies outside the cohort's confidence interval"
            out.append(Comparison(factor, outcome, quantity, p.estimate, p.lower, p.upper, est, lo, hi, c_in, p_in, msg))
    return out


def _triple(r: Risk | None) -> tuple[float, float, float]:
    return (float("nan"),) * 3 if r is None else (r.estimate, r.lower, r.upper)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _provenance(cohort: Any, **extra: Any) -> dict:
    return {
        "analysis": "study",
        "cohort_source": str(getattr(cohort, "source", "(in memory)")),
        "n": int(cohort.n),
        "synthetic": bool(getattr(cohort, "synthetic", False)),
        "leiosurv_version": __version__,
        "python_version": sys.version.split()[0],
        "timestamp": _now(),
        **extra,
    }

"""How well the published rule separates and calibrates on a cohort (issue 24, item 5).

:func:`rule_performance` adds to ``validate_rule``:

* **discrimination**: per outcome (metastasis, local recurrence; all-cause
  death without the outcome competing), the time-dependent AUC at the study's
  horizon of the rule's high/low grouping and of the number of the rule's
  factors present, with its standard error and Wald interval, from
  :func:`leiosurv.stats.score` (exact to ``riskRegression::Score``, inverse
  probability of censoring weights from the Kaplan–Meier of the censoring);
* **calibration**: the published 5-year risks of seed 001 against this
  cohort's Aalen–Johansen risks of the same strata (overall, each published
  factor present / absent), with both intervals; and the cohort's risk of
  each rule group, for which seed 001 publishes no risk, so its predicted
  value is left empty rather than invented (:data:`PREDICTED_RULE`).

Observed risks are the study's own :class:`~leiosurv.study.Risk` objects
(the same Aalen–Johansen estimates the report shows), not a second estimate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from leiosurv.clinical import evidence
from leiosurv.exceptions import DataError, InputError
from leiosurv.study._analysis import _classify
from leiosurv.study._figures import SYNTHETIC_MARK, _watermark
from leiosurv.study._performance_results import CalibrationPoint, Discrimination, RulePerformance
from leiosurv.study._results import DAYS_PER_YEAR, FLAG_MARK, OUTCOME_LABELS, Risk, StudyResult, _pct
from leiosurv.study._schema import OUTCOME_COLUMNS

__all__ = ["rule_performance", "calibration_plot", "performance_lines", "PREDICTED_RULE", "MARKERS"]

MARKERS = {"rule_group": "High vs low risk group", "factor_count": "Number of the rule's factors present"}
"""The markers whose AUC is reported: the rule's grouping and the count of its factors present."""

PREDICTED_RULE = (
    "Predicted = the risk seed 001 published for the same stratum: the overall 5-year risk and, for each "
    "published factor-outcome pair, the risk with and without the factor. Seed 001 publishes no risk for the "
    "rule's high or low group, and its per-factor risks are marginal (each pools patients with and without the "
    "other factors), so no published figure is the risk of a rule group: the groups' observed risks are shown "
    "without a predicted value. Observed = this cohort's Aalen-Johansen risk of the stratum (all-cause death "
    "without the outcome competing)."
)
"""What is compared in the calibration, and why the rule's groups have no predicted risk."""

_NO_GROUP_RISK = "not published: seed 001 gives no risk per rule group"


def _counts(rows: Any, tcol: str, horizon: float) -> dict[str, int]:
    t, s = rows[tcol].to_numpy(float), rows.iloc[:, 1].to_numpy(int)
    return {"n_cases": int(((t <= horizon) & (s == 1)).sum()), "n_competing": int(((t <= horizon) & (s == 2)).sum()),
            "n_censored": int(((t <= horizon) & (s == 0)).sum()), "n_event_free": int((t > horizon).sum())}


def _discrimination(df: Any, mask: Any, marker: np.ndarray, outcome: str, name: str, horizon: float,
                    level: float) -> Discrimination:
    from leiosurv.stats import score

    tcol, scol = OUTCOME_COLUMNS[outcome]
    rows = df.loc[mask, [tcol, scol]].astype({tcol: float, scol: int}).reset_index(drop=True)
    counts = _counts(rows, tcol, horizon)
    nan = float("nan")
    note = ""
    auc = (nan, nan, nan, nan)
    if len(np.unique(marker)) < 2:
        note = f"every tumour has the same {MARKERS[name].lower()}: AUC not defined"
    else:
        try:
            s = score(rows, {name: marker}, horizon, tcol, scol, cause=1, null_model=False, level=level)
        except (DataError, InputError) as exc:
            note = str(exc)
        else:
            r = s.auc.iloc[0]
            auc = (float(r["auc"]), float(r["se"]), float(r["lower"]), float(r["upper"]))
    return Discrimination(outcome, name, MARKERS[name], horizon, *auc, len(rows), **counts, note=note)


def _point(outcome: str, kind: str, factor: str, arm: str, label: str, published: Any, source: str,
           risk: Risk | None) -> CalibrationPoint:
    nan = float("nan")
    if published is None:
        pred = (nan, nan, nan, "", source)
    else:
        lo = nan if published.lower is None else published.lower
        hi = nan if published.upper is None else published.upper
        text = published.printed.get("estimate", "")
        if published.lower is not None and published.upper is not None:
            text += f" ({published.printed.get('lower', '')} to {published.printed.get('upper', '')})"
        pred = (published.estimate, lo, hi, text, published.citation.short())
    if risk is None:
        return CalibrationPoint(outcome, kind, factor, arm, label, *pred, nan, nan, nan, nan, 0, 0)
    return CalibrationPoint(outcome, kind, factor, arm, label, *pred, risk.estimate, risk.se, risk.lower,
                            risk.upper, risk.n, risk.n_events, flags=tuple(risk.flags))


def rule_performance(cohort: Any, study: StudyResult) -> RulePerformance:
    """Discrimination and calibration of ``study.rule`` on *cohort* at the study's horizon.

    Parameters
    ----------
    cohort : Cohort
        The cohort *study* was computed on.
    study : StudyResult
        ``validate_rule(cohort).study`` (or any study result: its rule, horizon
        and level are used).

    Returns
    -------
    RulePerformance
        A marker or outcome whose AUC cannot be computed (no case by the
        horizon, every tumour in one group, ...) has a NaN AUC and a ``note``;
        the validation is never stopped by it.

    Examples
    --------
    >>> from leiosurv.study import read_cohort, synthesize_cohort, validate_rule
    >>> c = read_cohort(synthesize_cohort(2000, seed=1))
    >>> perf = rule_performance(c, validate_rule(c, progress=False).study)
    >>> sorted({d.marker for d in perf.discrimination})
    ['factor_count', 'rule_group']
    """
    horizon, level = study.horizon_days, float(study.provenance["level"])
    factors = tuple(study.rule.factors)
    df = cohort.factor_frame(list(dict.fromkeys([*factors, *evidence.DLMS_FACTORS])))
    high, low = _classify(df, factors)
    grouped = (high | low).to_numpy()
    recorded = df[list(factors)].notna().all(axis=1).to_numpy() if factors else np.ones(len(df), bool)
    count = df.loc[recorded, list(factors)].astype(float).sum(axis=1).to_numpy() / max(len(factors), 1)
    discrimination = []
    for o in study.overall:
        discrimination.append(_discrimination(df, grouped, high.to_numpy()[grouped].astype(float), o,
                                              "rule_group", horizon, level))
        discrimination.append(_discrimination(df, recorded, count, o, "factor_count", horizon, level))
    calibration = []
    for o in study.overall:
        oname = OUTCOME_LABELS.get(o, o)
        calibration.append(_point(o, "overall", "", "all", f"{oname}, all patients",
                                  evidence.DLMS_OVERALL_5Y.get(o), "not published", study.overall[o]))
        for (f, fo), pub in evidence.DLMS_FACTOR_RISKS.items():
            if fo != o:
                continue
            fr = study.factor_result(f, o)
            for arm in ("present", "absent"):
                calibration.append(_point(o, "factor", f, arm, f"{oname}, {fr.label.lower()} {arm}",
                                          getattr(pub, arm), "", getattr(fr, arm)))
        g = study.groups.get(o)
        for arm in ("high", "low"):
            calibration.append(_point(o, "group", "", arm, f"{oname}, {arm} risk group", None, _NO_GROUP_RISK,
                                      None if g is None else getattr(g, arm)))
    return RulePerformance(horizon, level, tuple(discrimination), tuple(calibration))


def performance_lines(perf: RulePerformance) -> list[str]:
    """The performance as text lines (the CLI prints them; flagged observed risks carry the mark)."""
    years = perf.horizon_days / DAYS_PER_YEAR
    lvl = int(round(100 * perf.level))
    out = [f"Discrimination: time-dependent AUC at {years:g} years (IPCW, death without the outcome competing; "
           "as riskRegression::Score)"]
    for d in perf.discrimination:
        head = f"  {OUTCOME_LABELS.get(d.outcome, d.outcome)}, {d.label.lower()}: "
        if math.isnan(d.auc):
            out.append(f"{head}not computed - {d.note}")
        else:
            out.append(f"{head}AUC {d.auc:.3f} ({lvl}% CI {d.lower:.3f} to {d.upper:.3f}; SE {d.se:.3f}), "
                       f"n = {d.n:,}, {d.n_cases:,} outcomes and {d.n_competing:,} deaths by year {years:g}")
    out.append("Calibration: published (predicted) against this cohort's observed risk")
    for c in perf.calibration:
        mark = FLAG_MARK if c.flags else ""
        obs = ("not estimable" if math.isnan(c.observed) else
               f"{_pct(c.observed)}%{mark} ({_pct(c.observed_lower)} to {_pct(c.observed_upper)})")
        pred = f"published {c.predicted_text}" if c.published else c.predicted_source
        out.append(f"  {c.label}: observed {obs}; {pred}")
    return out


def calibration_plot(perf: RulePerformance, *, synthetic: bool = False) -> Figure:
    """Published (predicted) against observed risk, one panel per outcome, with both intervals.

    Each stratum with a published risk is one point: x the published risk and
    its published interval, y the cohort's Aalen–Johansen risk and its
    interval; the dashed diagonal is perfect agreement.  Flagged observed risks
    are hollow.  The rule's groups (no published risk) are not drawn.

    Examples
    --------
    >>> from leiosurv.study import read_cohort, synthesize_cohort, validate_rule
    >>> v = validate_rule(read_cohort(synthesize_cohort(2000, seed=1)), progress=False)
    >>> calibration_plot(v.performance).axes[0].get_xlabel()
    'Published 5-year risk (%)'
    """
    years = perf.horizon_days / DAYS_PER_YEAR
    lvl = int(round(100 * perf.level))
    outcomes = list(dict.fromkeys(c.outcome for c in perf.calibration))
    fig = Figure(figsize=(12, 7.2), dpi=100)
    colours = {"overall": "black", "present": "#c0392b", "absent": "#1f5fa8"}
    for i, o in enumerate(outcomes):
        x0 = 0.07 + 0.49 * i
        ax = fig.add_axes((x0, 0.36, 0.41, 0.55), gid=f"calibration-{o}")
        pts = [c for c in perf.calibration if c.outcome == o and c.published and not math.isnan(c.observed)]
        top = 1.0
        for k, c in enumerate(pts, start=1):
            x, y = 100 * c.predicted, 100 * c.observed
            xerr = None if math.isnan(c.predicted_lower) else [[x - 100 * c.predicted_lower],
                                                                 [100 * c.predicted_upper - x]]
            yerr = [[y - 100 * c.observed_lower], [100 * c.observed_upper - y]]
            colour = colours["overall" if c.kind == "overall" else c.arm]
            ax.errorbar([x], [y], xerr=xerr, yerr=yerr, fmt="s" if c.kind == "overall" else "o", color=colour,
                        markerfacecolor="white" if c.flags else colour, capsize=3, elinewidth=1.1)
            ax.annotate(str(k), (x, y), xytext=(4, 3), textcoords="offset points", fontsize=8.5, color=colour,
                        fontweight="bold")
            name = "all patients" if c.kind == "overall" else c.label.split(", ", 1)[1]
            fig.text(x0, 0.25 - 0.028 * (k - 1),
                     f"{k}  {name}{' ' + FLAG_MARK if c.flags else ''}: published {c.predicted_text}; "
                     f"observed {_pct(c.observed)} ({_pct(c.observed_lower)} to {_pct(c.observed_upper)})",
                     fontsize=7.2, color=colour)
            top = max(top, x if xerr is None else 100 * c.predicted_upper, 100 * c.observed_upper)
        top = min(100.0, 1.08 * top)
        ax.plot([0, top], [0, top], linestyle="--", color="#888888", linewidth=1, label="perfect agreement")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_xlabel(f"Published {years:g}-year risk (%)")
        ax.set_ylabel(f"Observed {years:g}-year risk in this cohort (%), {lvl}% CI")
        ax.set_title(OUTCOME_LABELS.get(o, o), fontsize=11, fontweight="bold", loc="left")
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(color="#e8e8e8", linewidth=0.6)
        for key, text in (("overall", "overall risk (no published CI)"), ("present", "factor present"),
                          ("absent", "factor absent")):
            ax.plot([], [], "s" if key == "overall" else "o", color=colours[key], label=text)
        ax.legend(loc="upper left", frameon=False, fontsize=8.5)
    title = (f"Calibration of the published {years:g}-year risks (seed 001) in this cohort: "
             "published risk and CI (x) against the Aalen-Johansen risk and CI (y)")
    if synthetic:
        title = f"{SYNTHETIC_MARK} — {title}"
    fig.suptitle(title, fontsize=10.5, color="#c00000" if synthetic else "black")
    fig.text(0.01, 0.01, f"Seed 001 publishes no risk per rule group; those are not drawn. {FLAG_MARK} hollow: "
             "observed interval not reliable (few patients or events, or standard error 0).", fontsize=8,
             color="#444444")
    _watermark(fig, synthetic)
    return fig


def extra_tables(result: Any) -> dict[str, Any]:
    """The report's CSV tables of this module and the multivariable table, when the result has them.

    ``multivariable.csv`` (a study run with ``multivariable=True``: one row per outcome and covariate,
    or one row with the note of a model that could not be estimated), ``discrimination.csv`` and
    ``calibration.csv`` (a rule validation).  The caller adds the ``synthetic`` column.
    """
    import pandas as pd

    from leiosurv.study._results import RuleValidation

    validation = result if isinstance(result, RuleValidation) else None
    study = validation.study if validation else result
    out: dict[str, Any] = {}
    if study.multivariable:
        rows = []
        for m in study.multivariable:
            head = {"outcome": m.outcome, "n_used": m.n_used, "n_excluded_missing": m.n_excluded_missing,
                    "n_events": m.n_events, "n_competing": m.n_competing,
                    "events_per_variable": m.events_per_variable,
                    "min_events_per_variable": m.min_events_per_variable, "exploratory": m.exploratory,
                    "level": m.level, "note": m.note}
            rows += [{**head, **r.to_dict()} for r in m.rows] or [head]
        out["multivariable"] = pd.DataFrame(rows)
    if validation is not None and validation.performance is not None:
        perf = validation.performance
        out["discrimination"] = pd.DataFrame([d.to_dict() for d in perf.discrimination])
        out["calibration"] = pd.DataFrame([{**c.to_dict(), "flags": "; ".join(c.flags)} for c in perf.calibration])
    return out

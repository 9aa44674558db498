"""The study report: one self-contained HTML page, tables as CSV and JSON, figures as PNG and SVG.

``write_report`` takes a :class:`StudyResult` (``run_study``) or a
:class:`RuleValidation` (``validate_rule``) and writes, into ``out_dir``:

* ``report.html`` — self-contained (figures inline as SVG, CSS inline, nothing
  fetched): Methods written as in a paper, Table 1, overall risks,
  univariable analysis with the forest plot, the rule and its risk groups
  (and, for a validation, the comparison with the published figures);
* ``result.json`` — the whole result (``to_dict``), lossless;
* ``table1.csv``, ``overall_risks.csv``, ``univariable.csv``, ``rule.csv``,
  ``risk_groups.csv``, ``remaining_risk.csv`` (and ``published_comparison.csv``,
  ``discrimination.csv``, ``calibration.csv`` for a validation, ``multivariable.csv``
  when the study has the multivariable table);
* ``forest_plot``, ``cif_<outcome>``, ``cif_groups_<outcome>``, ``remaining_risk``
  (and ``calibration`` for a validation) as ``.png`` (200 dpi) and ``.svg``.

:func:`render_report` renders all of them in memory; :func:`write_report`
writes them all or none (:func:`leiosurv.files.atomic_write`).

A synthetic cohort is marked everywhere: a banner on the page, the title and a
watermark of every figure, a ``synthetic`` column in every CSV and a
``synthetic`` field in the JSON.
"""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path
from statistics import NormalDist
from typing import Any

import pandas as pd

from leiosurv.clinical import evidence
from leiosurv.files import atomic_write
from leiosurv.stats import EXACT_BOUND_METHOD
from leiosurv.study._figures import cif_plot, figure_bytes, forest_plot, remaining_risk_plot
from leiosurv.study._performance import PREDICTED_RULE, calibration_plot, extra_tables
from leiosurv.study._results import (
    DAYS_PER_YEAR,
    FLAG_MARK,
    OUTCOME_LABELS,
    RuleValidation,
    StudyResult,
    _pct,
    format_p,
)

__all__ = ["write_report", "render_report", "methods_text", "results_text", "provenance_rows", "result_tables",
           "stability_text", "gray_p"]

_DPI = 200
_CI_TEXT = {"plain": "plain Wald intervals (estimate ± z·SE) truncated to [0, 1]",
            "log-log": "log–log transformed intervals (the risk F as F^exp(±z·SE/(F·|log F|)))"}
_RD_CI_TEXT = {
    "plain": ("from the sum of the two groups' variances (independent groups), rd ± z·sqrt(SE₁² + SE₀²), "
              "not truncated"),
    "log-log": ("from the two groups' own log–log intervals by the method of variance estimates recovery "
                "(MOVER; Zou & Donner 2008), so that each difference's interval agrees with its two risks' "
                "intervals"),
}
_VAR_TEXT = {"delta": "the delta-method (Greenwood-type) estimator, as R's prodlim and survival::survfit",
             "aalen": "Gray's Aalen-type estimator, as R's cmprsk::cuminc"}


def _fmt_risk(r: Any) -> str:
    if r is None:
        return "—"
    return r.format() + (f" {FLAG_MARK}" if getattr(r, "flagged", False) else "")


def _ci(r: Any, level: int) -> str:
    """``"9.3% (95% CI 0.6 to 18.0)"``, with the flag mark when flagged."""
    if r is None or math.isnan(r.estimate):
        return "not estimable"
    mark = FLAG_MARK if r.flagged else ""
    exact = ", exact bound" if getattr(r, "interval", "") == "exact" else ""
    return f"{_pct(r.estimate)}%{mark} ({level}% CI {_pct(r.lower)} to {_pct(r.upper)}{exact})"


def _rd(r: Any, level: int) -> str:
    mark = FLAG_MARK if r.flagged else ""
    return f"RD {_pct(r.rd)} percentage points{mark}; {level}% CI {_pct(r.rd_lower)} to {_pct(r.rd_upper)}"


def _events(r: Any) -> str:
    """``"3 events"`` of the outcome by the horizon."""
    if r is None or r.n_events < 0:
        return "events not recorded"
    return f"{r.n_events:,} event{'s' if r.n_events != 1 else ''}"


def _patients(n: int) -> str:
    return f"{n:,} patient{'s' if n != 1 else ''}"


def gray_p(r: Any) -> str:
    """Gray's p-value as printed everywhere, marked † when it rests on a flagged estimate."""
    return format_p(r.gray_p_value) + (FLAG_MARK if r.flagged else "")


def stability_text(result: StudyResult) -> str:
    """The bootstrap paragraph: how often each factor was selected, and each rule re-derived."""
    st = result.stability
    assert st is not None
    names = {f: _lower_first(result.factor_label(f)) for f in st.selected_any}
    per = []
    for o, counts in st.selected.items():
        items = [f"{names[f]} {100 * k / st.resamples:.1f}%" for f, k in counts.items()]
        per.append(f"for {OUTCOME_LABELS.get(o, o).lower()}, {_join(items)}")
    text = (f"In {st.resamples} bootstrap resamples (seed {st.seed}), the factors were selected with these "
            f"frequencies: {'; '.join(per)}. ")
    if result.rule.derived:
        text += (f"The derived rule was re-derived exactly in {100 * st.derived_frequency:.1f}% of the resamples "
                 f"and the published rule in {100 * st.published_frequency:.1f}%. ")
    else:
        text += f"The published rule was re-derived exactly in {100 * st.published_frequency:.1f}% of the resamples. "
    text += ("The rule is exploratory: univariable, unadjusted for multiple testing, and chosen by point "
             "estimates; these frequencies show how much it depends on the sample.")
    return text


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _join(items: list[str], last: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def methods_text(result: StudyResult) -> list[str]:
    """The Methods section as paragraphs, written as in a paper.

    Examples
    --------
    >>> from leiosurv.study import read_cohort, run_study, synthesize_cohort
    >>> res = run_study(read_cohort(synthesize_cohort(1000, seed=1)))
    >>> "Aalen–Johansen" in methods_text(res)[0]
    True
    """
    p = result.provenance
    level = int(round(100 * p["level"]))
    years = p["horizon_days"] / DAYS_PER_YEAR
    var = _VAR_TEXT.get(p["variance"], p["variance"])
    ci = _CI_TEXT.get(p["ci"], p["ci"])
    rd_ci = _RD_CI_TEXT.get(p["ci"], "")
    cohort = (f"The cohort comprised {p['n']:,} patients ({p['cohort_source']}; one row per patient's tumour), "
              "with time measured in days from excision or diagnosis (a year is 365.25 days). ")
    if p.get("selection"):
        cohort += p["selection"] + " "
    if p.get("synthetic"):
        cohort += ("These are SYNTHETIC data generated by leiosurv to resemble the published Danish cohort "
                   f"({evidence.SEED_001.reference}); they describe no real patient. ")
    outcomes = (f"The outcomes were metastasis and local recurrence, each analysed separately with all-cause "
                f"death without that outcome as a competing risk. Absolute {years:g}-year risks (cumulative "
                f"incidences) were estimated with the Aalen–Johansen estimator; standard errors used {var}, "
                f"and {level}% confidence intervals were {ci}. Risk differences (factor present minus absent, "
                f"high minus low risk) were given {level}% confidence intervals {rd_ci}. Cumulative incidence curves "
                "were compared with Gray's K-sample test, for each factor and for the risk groups. Median follow-up "
                "was estimated with the reverse Kaplan–Meier method.")
    outcomes += (f" Where a risk was estimated at exactly 0 (no event) or 1 (only events), its variance is 0 "
                 f"and the interval above degenerate (zero width, or undefined for log–log), so the {level}% "
                 f"interval shown is instead an {EXACT_BOUND_METHOD}; it is marked \"exact bound\", and a risk "
                 "difference with such an arm was given the interval built from the two arms' intervals (MOVER; "
                 "Newcombe 1998). The pointwise confidence bands of the cumulative incidence curves use the same "
                 "exact bound at every time where a curve is 0 (before its first event, or in a group without "
                 "events) or 1, on the patients whose status at that time is known, so no band has zero width "
                 "where there are data. The estimates themselves are those of the Aalen–Johansen estimator. A group "
                 "whose follow-up ended with events (nobody censored at its last time) keeps its last estimate "
                 "after that time.")
    mp, me = p.get("min_patients"), p.get("min_events")
    if mp is not None:
        outcomes += (f" An estimate from fewer than {mp} patients, or resting on fewer than {me} events of the "
                     f"outcome by {years:g} years, or with a standard error of 0 was flagged ({FLAG_MARK}) as "
                     "having an unreliable interval; a risk difference or Gray's test resting on such an "
                     f"estimate carries the same mark {FLAG_MARK} and was not interpreted as a difference.")
    factors = ("Each candidate factor was analysed univariably on the patients in whom it was recorded "
               "(complete cases for that factor only; the number excluded is reported with every result).")
    if result.rule.derived:
        thr = result.rule.thresholds or {}
        parts = ", ".join(f"more than {100 * v:g} percentage points for {OUTCOME_LABELS.get(o, o).lower()}"
                          for o, v in thr.items())
        rule = (f"Following the published derivation ({evidence.SEED_001.reference}), a factor entered the "
                f"high-risk definition when its {years:g}-year risk difference exceeded the threshold for an "
                f"outcome ({parts}). A patient was classified as high risk if any such factor was present, "
                "as low risk if all of them were recorded as absent, and as incomplete otherwise; incomplete "
                "patients were reported and excluded from the group comparison, never counted as low risk.")
    else:
        rule = (f"The published high/low-risk rule ({p['rule_id']}; {evidence.SEED_001.reference}) was applied: "
                "high risk if any of its factors was present, low risk if all were recorded as absent, incomplete "
                "otherwise (reported, excluded from the group comparison). Each published 5-year risk and risk "
                "difference was compared with this cohort's estimate, allowing for the paper's rounding: "
                + RuleValidation.COMPARISON_RULE)
    marks = p.get("landmarks_years") or []
    landmark = ""
    if marks:
        landmark = (f" The remaining risk by {years:g} years among patients still event-free and under "
                    f"observation at {_join([f'{m:g}' for m in marks])} years after diagnosis was estimated with "
                    "the landmark Aalen–Johansen estimator (the same estimator on the patients followed beyond "
                    "the landmark, with time measured from it), for all patients and by risk group; the window "
                    f"is therefore the {years:g} years from diagnosis less the landmark "
                    f"({_join([f'{years - m:g}' for m in marks])} years), not a further {years:g} years.")
    b = p.get("bootstrap") or 0
    if b:
        what = "derived" if result.rule.derived else "published"
        landmark += (f" The stability of the derivation was assessed by repeating it (each factor's risk "
                     f"difference against the same thresholds) on {b} bootstrap resamples of the patients drawn "
                     f"with replacement (seed {p.get('seed')}), counting how often each factor was selected and "
                     f"how often the {what} rule was re-derived exactly.")
    limits = ("The analysis is univariable, as in the published derivation: the factors were not adjusted for "
              "one another, no correction was made for testing several factors on two outcomes (multiple "
              "testing), and the rule was chosen by point estimates of the risk differences, so the derived "
              "rule is exploratory and needs validation in an independent cohort. Follow-up medians are per "
              "outcome time scale, and the flagging thresholds are reporting conventions: a flagged estimate "
              "is reported, not suppressed.")
    python = p.get("python_version", platform.python_version())
    software = (f"Analyses used leiosurv {p['leiosurv_version']} (Python {python}) "
                f"on {p['timestamp']}.")
    return [cohort + outcomes, factors + " " + rule + landmark, limits, software]


def _table1_value(result: StudyResult, variable: str, level: str, key: str) -> float | None:
    for r in result.table1:
        if r.variable == variable and r.level == level:
            v = r.values.get(key)
            return None if v is None else float(v)
    return None


def results_text(result: StudyResult) -> list[str]:
    """The Results as paragraphs in the paper's style, generated from the numbers.

    Cohort (n, median age, % male) and overall risks; each factor's risks with
    and without it and their difference, with CIs and Gray's test; the derived
    (or applied) classification and its risk groups; the remaining risk given
    event-free at the last landmark.  Flagged estimates carry the mark and are
    never called a difference; the last paragraph (if any) is the footnote
    naming each flagged estimate and why, one per line.

    Examples
    --------
    >>> from leiosurv.study import read_cohort, run_study, synthesize_cohort
    >>> res = run_study(read_cohort(synthesize_cohort(1000, seed=1)))
    >>> results_text(res)[0].startswith("Among 1,000 patients (median age:")
    True
    """
    p = result.provenance
    level = int(round(100 * p["level"]))
    years = p["horizon_days"] / DAYS_PER_YEAR
    out: list[str] = []
    age = _table1_value(result, "Age, years", "median (IQR)", "median")
    male = _table1_value(result, "Sex", "male", "percent")
    who = []
    if age is not None:
        who.append(f"median age: {age:.0f} years")
    if male is not None:
        who.append(f"{male:.0f}% male")
    overall = [(OUTCOME_LABELS.get(o, o).lower(), r) for o, r in result.overall.items()]
    out.append(f"Among {p['n']:,} patients ({'; '.join(who)}), the {years:g}-year risks of "
               f"{_join([name for name, _ in overall])} were {_join([_ci(r, level) for _, r in overall])}"
               f"{', respectively' if len(overall) > 1 else ''}.")
    for o in result.overall:
        oname = OUTCOME_LABELS.get(o, o).lower()
        sentences = []
        for r in (x for x in result.univariable if x.outcome == o):
            label = _lower_first(r.label)
            recorded = f" (recorded in {r.n_used:,} patients)" if r.n_missing else ""
            if math.isnan(r.rd):
                sentences.append(f"For {label}{recorded}, the risk difference was not estimable ({r.note}).")
                continue
            gray = f"; Gray's test {gray_p(r)}" if not math.isnan(r.gray_p_value) else ""
            caveat = "; not interpreted: it rests on an unreliable estimate" if r.flagged else ""
            sentences.append(
                f"With {label} present{recorded}, the {years:g}-year risk of {oname} was {_ci(r.present, level)} "
                f"in {_patients(r.n_present)} ({_events(r.present)}), compared with {_ci(r.absent, level)} in the "
                f"{r.n_absent:,} without ({_events(r.absent)}) ({_rd(r, level)}{gray}{caveat}).")
        if sentences:
            out.append(f"For {oname}: " + " ".join(sentences))
    rule = result.rule
    names = {f: _lower_first(result.factor_label(f)) for f in rule.factors}
    if rule.derived:
        thr = rule.thresholds or {}
        parts = []
        for o, fs in rule.by_outcome.items():
            if o not in thr:
                continue
            oname = OUTCOME_LABELS.get(o, o).lower()
            flagged = [f for f in fs if result.factor_result(f, o).flagged]
            if fs:
                marked = [names[f] + (FLAG_MARK if f in flagged else "") for f in fs]
                parts.append(f"for {oname}, the {years:g}-year risk difference exceeded {100 * thr[o]:g} "
                             f"percentage points with {_join(marked)}")
            else:
                parts.append(f"for {oname}, no factor's {years:g}-year risk difference exceeded "
                             f"{100 * thr[o]:g} percentage points")
        text = "; ".join(parts)
        text = text[:1].upper() + text[1:]
        defined = _join([names[f] for f in rule.factors], "or")
        text += (f"; in this exploratory derivation, high risk was therefore defined by the presence of {defined}."
                 if rule.factors else "; no factor defined a high-risk group.")
    else:
        text = (f"Under the published rule ({rule.id}), high risk was defined by the presence of "
                f"{_join([names[f] for f in rule.factors], 'or')}.")
    g0 = next(iter(result.groups.values()), None)
    if g0 is not None and g0.high is not None:
        text += (f" {g0.n_high:,} patients were classified as high risk and {g0.n_low:,} as low risk"
                 + (f"; {g0.n_incomplete:,} with incomplete factor data were not classified." if g0.n_incomplete
                    else "."))
        parts = []
        for g in result.groups.values():
            if g.high is None:
                continue
            parts.append(f"{_ci(g.high, level)} in the high-risk and {_ci(g.low, level)} in the low-risk group "
                         f"({_rd(g, level)}; Gray's test {gray_p(g)})")
        names_o = [OUTCOME_LABELS.get(o, o).lower() for o, g in result.groups.items() if g.high is not None]
        if parts:
            text += f" The {years:g}-year risk of {names_o[0]} was {parts[0]}"
            text += "".join(f"; that of {n} was {x}" for n, x in zip(names_o[1:], parts[1:])) + "."
    elif g0 is not None:
        text += f" {g0.note[:1].upper()}{g0.note[1:]}."
    out.append(text)
    cond = [c for c in result.conditional if c.landmark_days > 0]
    if cond:
        last = max(c.landmark_days for c in cond)
        parts = []
        for o in result.overall:
            at = {c.group: c for c in cond if c.outcome == o and c.landmark_days == last}
            if "all" not in at:
                continue
            c = at["all"]
            text = (f"{_ci(c, level)}, with {c.n_events:,} event{'s' if c.n_events != 1 else ''} among "
                    f"{c.n_at_landmark:,} patients at risk")
            if "high" in at and "low" in at:
                text += (f" ({_pct(at['high'].estimate)}%{FLAG_MARK if at['high'].flagged else ''} in the "
                         f"high-risk and {_pct(at['low'].estimate)}%{FLAG_MARK if at['low'].flagged else ''} in "
                         "the low-risk group)")
            parts.append((OUTCOME_LABELS.get(o, o).lower(), text))
        if parts:
            window = years - last / DAYS_PER_YEAR
            out.append(f"Among patients event-free at {last / DAYS_PER_YEAR:g} years, the remaining risk of "
                       f"{parts[0][0]} by year {years:g} (a window of {window:g} year{'s' if window != 1 else ''} "
                       f"after the landmark) was {parts[0][1]}"
                       + "".join(f"; that of {n} was {x}" for n, x in parts[1:]) + ".")
    st = result.stability
    if st is not None:
        out.append(stability_text(result))
    flagged = result.flagged_estimates() + [
        (f"{OUTCOME_LABELS.get(c.outcome, c.outcome)}, {c.group if c.group != 'all' else 'all patients'}"
         f"{' risk group' if c.group != 'all' else ''}, event-free at {c.landmark_years:g} years", c.flags)
        for c in cond if c.flagged and c.landmark_days == max(x.landmark_days for x in cond)]
    if flagged:
        mp, me = p.get("min_patients"), p.get("min_events")
        out.append(f"{FLAG_MARK} Interval not reliable (fewer than {mp} patients or {me} events, or standard error "
                   "0):\n" + "\n".join(f"{what} — {', '.join(why)}" for what, why in flagged))
    return out


_PROVENANCE_LABELS = {
    "analysis": "Analysis", "cohort_source": "Cohort", "n": "Patients", "synthetic": "Synthetic data",
    "horizon_days": "Horizon", "factors": "Factors analysed", "thresholds": "Derivation thresholds",
    "level": "Confidence level", "variance": "Standard errors", "ci": "Confidence intervals",
    "rule_id": "Rule", "min_patients": "Flagged when", "landmarks_years": "Landmarks (remaining risk)",
    "leiosurv_version": "leiosurv version", "python_version": "Python version", "timestamp": "Run at (UTC)",
}


def provenance_rows(provenance: dict) -> list[tuple[str, str]]:
    """The provenance as ``(label, text)`` rows for a readable table (no raw list or dict text).

    Examples
    --------
    >>> provenance_rows({"n": 381, "level": 0.95, "factors": ["necrosis", "invasion"]})[:2]
    [('Patients', '381'), ('Confidence level', '95%')]
    >>> provenance_rows({"n": 381, "level": 0.95, "factors": ["necrosis", "invasion"]})[2][1]
    'Tumour necrosis; Perineural or intravascular invasion'
    """
    p = provenance
    rows: list[tuple[str, str]] = []
    for key, value in p.items():
        if key in ("horizon_years", "min_events"):
            continue
        label = _PROVENANCE_LABELS.get(key, key.replace("_", " ").capitalize())
        if key == "synthetic":
            text = "yes — SYNTHETIC DATA, no real patient" if value else "no"
        elif key == "horizon_days":
            text = f"{value / DAYS_PER_YEAR:g} years ({value:g} days)"
        elif key == "level":
            text = f"{100 * value:g}%"
        elif key == "factors":
            names = p.get("labels") or {}
            text = "; ".join(evidence.DLMS_FACTORS.get(f, names.get(f, f)) for f in value)
        elif key == "labels":
            continue
        elif key == "thresholds":
            text = ("none (the published rule was applied)" if not value else "; ".join(
                f"{OUTCOME_LABELS.get(o, o).lower()}: RD > {100 * v:g} points" for o, v in value.items()))
        elif key == "variance":
            text = _VAR_TEXT.get(value, str(value))
        elif key == "ci":
            text = _CI_TEXT.get(value, str(value))
        elif key == "min_patients":
            text = (f"fewer than {value} patients, or fewer than {p.get('min_events')} events by the horizon, "
                    "or standard error 0")
        elif key == "landmarks_years":
            text = ", ".join(f"{y:g}" for y in value) + " years" if value else "none"
        elif key == "n":
            text = f"{value:,}"
        elif isinstance(value, (list, tuple)):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            text = "; ".join(f"{k}: {v}" for k, v in value.items())
        else:
            text = str(value)
        rows.append((label, text))
    return rows


def result_tables(result: StudyResult | RuleValidation) -> dict[str, pd.DataFrame]:
    """The report's tables as data frames (each with a ``synthetic`` column)."""
    validation = result if isinstance(result, RuleValidation) else None
    study = validation.study if validation else result
    syn = study.synthetic
    h = study.horizon_days
    t1 = pd.DataFrame([{"variable": r.variable, "level": r.level, "value": r.text,
                        **{f"value_{k}": v for k, v in r.values.items()}} for r in study.table1])

    def risk_cols(prefix: str, r: Any) -> dict:
        keys = ("estimate", "se", "lower", "upper", "interval", "n", "n_risk", "n_events", "beyond_follow_up")
        out = {f"{prefix}{k}": (None if r is None else getattr(r, k)) for k in keys}
        out[f"{prefix}flags"] = "" if r is None else "; ".join(r.flags)
        return out

    overall = pd.DataFrame([{"outcome": o, "horizon_days": h, **risk_cols("", r)} for o, r in study.overall.items()])
    uni = pd.DataFrame([{
        "factor": r.factor, "label": r.label, "outcome": r.outcome, "horizon_days": h, "n_used": r.n_used,
        "n_missing": r.n_missing, "n_present": r.n_present, "n_absent": r.n_absent,
        **risk_cols("present_", r.present), **risk_cols("absent_", r.absent),
        "rd": r.rd, "rd_se": r.rd_se, "rd_lower": r.rd_lower, "rd_upper": r.rd_upper,
        "rd_flagged": r.flagged, "rd_significant": r.significant,
        "gray_statistic": r.gray_statistic, "gray_df": r.gray_df, "gray_p_value": r.gray_p_value,
        "gray_flagged": r.flagged,
        "in_rule": r.factor in study.rule.by_outcome.get(r.outcome, ()), "note": r.note,
    } for r in study.univariable])
    rule = pd.DataFrame([{"rule_id": study.rule.id, "derived": study.rule.derived, "outcome": o, "factor": f,
                          "label": study.factor_label(f), "threshold": (study.rule.thresholds or {}).get(o)}
                         for o, fs in study.rule.by_outcome.items() for f in fs],
                        columns=["rule_id", "derived", "outcome", "factor", "label", "threshold"])
    groups = pd.DataFrame([{
        "outcome": o, "rule_id": study.rule.id, "horizon_days": h, "n_high": g.n_high, "n_low": g.n_low,
        "n_incomplete": g.n_incomplete, **risk_cols("high_", g.high), **risk_cols("low_", g.low),
        "rd": g.rd, "rd_se": g.rd_se, "rd_lower": g.rd_lower, "rd_upper": g.rd_upper,
        "gray_statistic": g.gray_statistic, "gray_df": g.gray_df, "gray_p_value": g.gray_p_value,
        "gray_flagged": g.flagged, "rd_flagged": g.flagged, "rd_significant": g.significant, "note": g.note,
    } for o, g in study.groups.items()])
    remaining = pd.DataFrame([{
        "outcome": c.outcome, "group": c.group, "landmark_years": c.landmark_years, "landmark_days": c.landmark_days,
        "horizon_days": c.horizon_days, "n_at_landmark": c.n_at_landmark, "n_events": c.n_events,
        "window_years": (c.horizon_days - c.landmark_days) / DAYS_PER_YEAR,
        "estimate": c.estimate, "se": c.se, "lower": c.lower, "upper": c.upper, "interval": c.interval,
        "flags": "; ".join(c.flags),
    } for c in study.conditional], columns=["outcome", "group", "landmark_years", "landmark_days", "horizon_days",
                                            "window_years", "n_at_landmark", "n_events", "estimate", "se", "lower",
                                            "upper", "interval", "flags"])
    out = {"table1": t1, "overall_risks": overall, "univariable": uni, "rule": rule, "risk_groups": groups,
           "remaining_risk": remaining}
    st = study.stability
    if st is not None:
        out["rule_stability"] = pd.DataFrame([{
            "factor": f, "label": study.factor_label(f), "outcome": o, "resamples": st.resamples, "seed": st.seed,
            "selected": k, "frequency": k / st.resamples, "selected_any_outcome": st.selected_any[f],
            "in_rule": f in study.rule.by_outcome.get(o, ()),
        } for o, counts in st.selected.items() for f, k in counts.items()])
    if validation:
        out["published_comparison"] = pd.DataFrame([
            {**c.to_dict(), "flags": "; ".join(c.flags), "flagged": bool(c.flags), "status": c.status}
            for c in validation.comparisons])
    out.update(extra_tables(result))
    for df in out.values():
        df.insert(0, "synthetic", syn)
    return out


def render_report(result: StudyResult | RuleValidation, *, ci_bands: bool = True) -> dict[str, bytes]:
    """Render every file of the report in memory: ``{file name: content}``; nothing is written.

    See the module docstring for the files.  ``ci_bands=False`` draws the
    cumulative-incidence curves without their pointwise CI bands.

    Examples
    --------
    >>> from leiosurv.study import read_cohort, run_study, synthesize_cohort
    >>> files = render_report(run_study(read_cohort(synthesize_cohort(1000, seed=1))))
    >>> "report.html" in files and "remaining_risk.svg" in files
    True
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    validation = result if isinstance(result, RuleValidation) else None
    study = validation.study if validation else result
    files: dict[str, bytes] = {}
    figures: dict[str, tuple[str, str]] = {}
    specs = [("forest_plot", "Forest plot", lambda: forest_plot(study))]
    for o in study.overall:
        specs.append((f"cif_{o}", f"{OUTCOME_LABELS[o]}, all patients",
                      lambda o=o: cif_plot(study, o, ci_band=ci_bands)))
    for o in study.overall:
        specs.append((f"cif_groups_{o}", f"{OUTCOME_LABELS[o]} by risk group",
                      lambda o=o: cif_plot(study, o, by="group", ci_band=ci_bands)))
    if study.conditional:
        specs.append(("remaining_risk", "Remaining risk given event-free", lambda: remaining_risk_plot(study)))
    if validation is not None and validation.performance is not None:
        specs.append(("calibration", "Calibration of the published risks",
                      lambda: calibration_plot(validation.performance, synthetic=study.synthetic)))
    for name, caption, make in specs:
        fig = make()
        files[f"{name}.png"] = figure_bytes(fig, "png", dpi=_DPI)
        svg = figure_bytes(fig, "svg")
        files[f"{name}.svg"] = svg
        text = svg.decode("utf-8")
        figures[name] = (caption, text[text.index("<svg"):])

    for name, df in result_tables(result).items():
        files[f"{name}.csv"] = df.to_csv(index=False).encode("utf-8")
    payload = {"synthetic": study.synthetic, "kind": "rule_validation" if validation else "study",
               **result.to_dict()}
    files["result.json"] = json.dumps(payload, indent=1, allow_nan=False).encode("utf-8")

    level = int(round(100 * study.provenance["level"]))
    env = Environment(loader=PackageLoader("leiosurv.study", "templates"), autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template("report.html.j2").render(
        s=study, v=validation, p=study.provenance, figures=figures, methods=methods_text(study),
        results=results_text(study), provenance=provenance_rows(study.provenance),
        labels=OUTCOME_LABELS, fmt_risk=_fmt_risk, fmt_p=format_p, gray_p=gray_p, pct=_pct, mark=FLAG_MARK,
        stability=study.stability, z_level=NormalDist().inv_cdf((1 + study.provenance["level"]) / 2),
        stability_text=stability_text(study) if study.stability else "",
        years=study.horizon_days / DAYS_PER_YEAR, level=level, ci_bands=ci_bands,
        published=evidence.DLMS_FACTOR_RISKS, published_overall=evidence.DLMS_OVERALL_5Y, seed=evidence.SEED_001,
        factor_label=study.factor_label, notes=_footnotes(study),
        remaining=_remaining_rows(study), comparison_rule=RuleValidation.COMPARISON_RULE,
        predicted_rule=PREDICTED_RULE,
        files=sorted(files) + ["report.html"],
    )
    files["report.html"] = html.encode("utf-8")
    return files


def _footnotes(study: StudyResult) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """Flagged estimates per table: ``(what, reasons)`` for the footnote under each."""
    notes: dict[str, list] = {"overall": [], "univariable": [], "groups": []}
    for o, r in study.overall.items():
        if r.flagged:
            notes["overall"].append((OUTCOME_LABELS.get(o, o), r.flags))
    for r in study.univariable:
        if r.flagged:
            notes["univariable"].append((f"{r.label}, {OUTCOME_LABELS.get(r.outcome, r.outcome).lower()}", r.flags))
    for o, g in study.groups.items():
        if g.flagged:
            notes["groups"].append((OUTCOME_LABELS.get(o, o), g.flags))
    return notes


def _remaining_rows(study: StudyResult) -> list[dict]:
    """The remaining-risk table: one row per outcome and group, one cell per landmark."""
    rows = []
    for o in study.overall:
        for g in ("all", "high", "low"):
            cells = sorted((c for c in study.conditional if c.outcome == o and c.group == g),
                           key=lambda c: c.landmark_days)
            if cells:
                rows.append({"outcome": o, "group": g, "cells": cells})
    return rows


def write_report(result: StudyResult | RuleValidation, out_dir: str | Path, *, ci_bands: bool = True) -> Path:
    """Write the HTML report, the tables (CSV, JSON) and the figures (PNG, SVG): all files or none.

    Renders with :func:`render_report`, then writes with
    :func:`leiosurv.files.atomic_write` (each file to a temporary file beside
    it, renamed into place only when all were written).

    Parameters
    ----------
    result : StudyResult or RuleValidation
    out_dir : str or Path
        Created if missing; existing files of the same names are replaced.
    ci_bands : bool, default True
        Draw the pointwise CI bands of the cumulative-incidence curves.

    Returns
    -------
    Path
        The path of ``report.html``.

    Examples
    --------
    >>> import tempfile
    >>> from leiosurv.study import read_cohort, run_study, synthesize_cohort
    >>> res = run_study(read_cohort(synthesize_cohort(1000, seed=1)))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_report(res, tmp).name
    'report.html'
    """
    out = Path(out_dir)
    files = render_report(result, ci_bands=ci_bands)
    atomic_write({out / name: content for name, content in files.items()})
    return out / "report.html"

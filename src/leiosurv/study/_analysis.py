"""The computations of the cohort study (called by ``run_study``/``validate_rule``).

Every estimate comes from :mod:`leiosurv.stats` (Aalen–Johansen with all-cause
death as competing risk, risk differences, Gray's test).  The data reach this
module as one pandas frame with only the columns the analysis needs (the cohort's
``factor_frame``); factor subsets are complete cases for that factor only, and
the number excluded is reported with every result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from leiosurv.clinical import evidence, rule_groups
from leiosurv.exceptions import InputError
from leiosurv.stats import (
    CumulativeIncidence,
    EventCounts,
    GroupCounts,
    at_zero_or_one,
    conditional_incidence,
    count_events,
    cumulative_incidence,
    exact_band,
    exact_bound,
    gray_test,
    kaplan_meier,
    n_known,
    n_known_at,
    risk_difference,
)
from leiosurv.study._results import (
    OUTCOME_LABELS,
    ConditionalRisk,
    Curve,
    FactorResult,
    GroupResult,
    Risk,
    Rule,
    StudyResult,
    Table1Row,
    interval_flags,
)
from leiosurv.study._schema import DAYS_PER_YEAR, OUTCOME_COLUMNS
from leiosurv.study._stability import bootstrap_rule

__all__ = ["analyse", "reverse_km_median", "mover_bounds", "VARIANCES", "CI_METHODS"]

_GROUP = "_risk_group"
_CURVE_POINTS = 400


VARIANCES = ("delta", "aalen")
"""``variance`` options of the study (those of :func:`leiosurv.stats.cumulative_incidence`)."""
CI_METHODS = ("plain", "log-log")
"""``ci`` options of the study: plain Wald truncated to [0, 1] (seed 001), or log-log."""


class _Fitter:
    """Holds the estimation and reporting options and calls the statistics engine."""

    def __init__(self, horizon: float, level: float, variance: str, ci: str, min_patients: int,
                 min_events: int) -> None:
        self.horizon, self.level, self.variance, self.ci = horizon, level, variance, ci
        self.min_patients, self.min_events = min_patients, min_events

    def counts(self, df: pd.DataFrame, outcome: str, group: str | None = None) -> EventCounts:
        t, s = OUTCOME_COLUMNS[outcome]
        return count_events(df, time=t, event=s, group=group, causes=(1, 2))

    def fit(self, df: pd.DataFrame | EventCounts, outcome: str, group: str | None = None) -> CumulativeIncidence:
        counts = df if isinstance(df, EventCounts) else self.counts(df, outcome, group)
        return cumulative_incidence(counts, variance=self.variance, ci=self.ci, level=self.level)

    def flags(self, n: int, n_events: int, se: float) -> tuple[str, ...]:
        return interval_flags(n, n_events, se, min_patients=self.min_patients, min_events=self.min_events)

    def bounds(self, est: float, lower: float, upper: float, g: GroupCounts, horizon: float
               ) -> tuple[float, float, float, str]:
        """The estimate and the interval shown: the CI method's, or the exact bound where the estimate
        is 0 or 1.

        At 0 (no event) or 1 (only events) the variance is 0, so a Wald interval
        has zero width and a log-log one is undefined; the exact Clopper–Pearson
        bound on the patients whose status at the horizon is known
        (:func:`leiosurv.stats.exact_bound`) is shown instead, marked
        ``interval = "exact"``.  The estimate and its SE are R's; one that misses
        0 or 1 only by rounding (:func:`leiosurv.stats.at_zero_or_one`, e.g.
        1.0000000000000004) is given as 0 or 1, so it lies inside its interval.
        """
        if bool(at_zero_or_one(est)):
            est = float(round(est))
            lo, hi = exact_bound(est, n_known(g.time, g.censored, g.n, horizon), self.level)
            return est, lo, hi, "exact"
        return est, lower, upper, ""

    def risk(self, res: CumulativeIncidence, label: Any, n: int) -> Risk:
        tab = _cause1(res.at([self.horizon], beyond="nan"))
        row = _row_for(tab, label)
        g = res.counts[label]
        events = int(g.events[g.time <= self.horizon, 0].sum())
        est, se = float(row["estimate"]), float(row["se"])
        flags = () if math.isnan(est) else self.flags(int(n), events, se)
        est, lo, hi, how = self.bounds(est, float(row["lower"]), float(row["upper"]), g, self.horizon)
        return Risk(est, se, lo, hi, int(n), int(row["n_risk_at_horizon"]), bool(row["beyond_follow_up"]), events,
                    flags, interval=how)

    def rd(self, res: CumulativeIncidence, one: Risk, zero: Risk) -> tuple[float, float, float, float]:
        """Group 1 minus group 0 at the horizon: Wald (plain CI) or MOVER from the two log-log CIs."""
        if one.beyond_follow_up or zero.beyond_follow_up:
            return (float("nan"),) * 4  # a group's follow-up ends before the horizon: not estimable
        tab = risk_difference(res, self.horizon, reference=0, cause=1).table
        row = _row_for(tab, 1)
        rd, se, lo, hi = float(row["rd"]), float(row["se"]), float(row["lower"]), float(row["upper"])
        if self.ci == "log-log" or one.interval == "exact" or zero.interval == "exact":
            # from the arms' own intervals (MOVER; Newcombe 1998): an arm at 0 or 1 contributes its
            # exact bound instead of a zero variance
            lo, hi = mover_bounds(one, zero)
        return rd, se, lo, hi

    def gray(self, df: pd.DataFrame, outcome: str, group: str) -> tuple[float, float, float]:
        t, s = OUTCOME_COLUMNS[outcome]
        tab = gray_test(df, time=t, event=s, group=group, causes=(1, 2)).table
        row = tab[tab["cause"] == 1].iloc[0]
        return float(row["stat"]), float(row["df"]), float(row["pv"])

    def curve(self, res: CumulativeIncidence, label: Any, df: pd.DataFrame, outcome: str, name: str) -> Curve:
        grid = np.linspace(0.0, self.horizon, _CURVE_POINTS + 1)
        tab = _cause1(res.at(grid, beyond="nan"))
        if label is not None:
            tab = tab[tab["group"] == label]
        tab = tab.sort_values("horizon")
        # the band is never degenerate where there are data: where the curve is 0 (before the first event,
        # or no event at all) or 1, the exact bound on the patients whose status is known at that time,
        # exactly as the risk at the horizon (see bounds); elsewhere the CI method's
        g = res.counts[label]
        h = tab["horizon"].to_numpy(dtype=np.float64)
        est = tab["estimate"].to_numpy(dtype=np.float64, na_value=np.nan)
        est = np.where(at_zero_or_one(est), np.round(est), est)  # as bounds: 1 + 4e-16 is given as 1
        lower, upper = exact_band(est, tab["lower"].to_numpy(dtype=np.float64, na_value=np.nan),
                                  tab["upper"].to_numpy(dtype=np.float64, na_value=np.nan),
                                  n_known_at(g.time, g.censored, g.n, h), self.level)
        t = np.sort(df[OUTCOME_COLUMNS[outcome][0]].to_numpy(dtype=np.float64))
        step = DAYS_PER_YEAR if self.horizon > 2 * DAYS_PER_YEAR else DAYS_PER_YEAR / 4
        risk_times = np.arange(0.0, self.horizon + 1e-9, step)
        n_risk = t.size - np.searchsorted(t, risk_times, side="left")
        time, est_, lo_, hi_, at = (tuple(float(x) for x in a) for a in (h, est, lower, upper, risk_times))
        return Curve(outcome, name, time, est_, lo_, hi_, at, tuple(int(x) for x in n_risk))

    def remaining(self, counts: EventCounts, outcome: str, names: Mapping[Any, str],
                  landmarks_days: Sequence[float]) -> list[ConditionalRisk]:
        """Risk by the horizon given event-free at each landmark, per group of ``counts``.

        Landmark 0 is the ordinary risk from diagnosis (every patient, including
        any with an event or censoring at time 0); later landmarks use
        :func:`leiosurv.stats.conditional_incidence` (follow-up time > s).
        """
        out = []
        for s in landmarks_days:
            if s == 0:
                inc: CumulativeIncidence | None = self.fit(counts, outcome)
                n_left = {g.label: g.n for g in counts.groups}
            else:
                res = conditional_incidence(counts, landmark=s, variance=self.variance, ci=self.ci,
                                            level=self.level)
                inc, n_left = res.incidence, res.n_at_landmark
            tab = None if inc is None else _cause1(inc.at([self.horizon - s], beyond="nan"))
            for label, name in names.items():
                n_at = int(n_left.get(label, 0))
                if n_at == 0 or tab is None:
                    nan = float("nan")
                    out.append(ConditionalRisk(outcome, name, float(s), self.horizon, 0, 0, nan, nan, nan, nan,
                                               ("nobody at risk at the landmark",)))
                    continue
                row = _row_for(tab, label)
                g = inc.counts[label]
                events = int(g.events[g.time <= self.horizon - s, 0].sum())
                est, se = float(row["estimate"]), float(row["se"])
                flags = (("follow-up ends before the horizon",) if math.isnan(est) else
                         self.flags(n_at, events, se))
                est, lo, hi, how = self.bounds(est, float(row["lower"]), float(row["upper"]), g, self.horizon - s)
                out.append(ConditionalRisk(outcome, name, float(s), self.horizon, n_at, events, est, se,
                                           lo, hi, flags, interval=how))
        return out


def mover_bounds(one: Risk, zero: Risk) -> tuple[float, float]:
    """CI of ``one - zero`` from the two groups' own CIs (MOVER; Zou & Donner 2008, Newcombe 1998).

    ``lower = rd - sqrt((p1 - l1)^2 + (u0 - p0)^2)``, ``upper = rd + sqrt((u1 - p1)^2 + (p0 - l0)^2)``.
    With untruncated Wald intervals this is exactly ``rd -/+ z*sqrt(se1^2 + se0^2)``; with log-log
    intervals it keeps their asymmetry; with an arm at 0 or 1 it uses that arm's exact bound (the study gives
    such an arm :func:`leiosurv.stats.exact_bound` first), as Newcombe (1998) does with exact intervals.

    Examples
    --------
    >>> a = Risk(0.30, 0.05, 0.30 - 1.96 * 0.05, 0.30 + 1.96 * 0.05, 100, 50, False)
    >>> b = Risk(0.10, 0.02, 0.10 - 1.96 * 0.02, 0.10 + 1.96 * 0.02, 100, 50, False)
    >>> [round(x, 6) for x in mover_bounds(a, b)]
    [0.094451, 0.305549]
    """
    rd = one.estimate - zero.estimate
    lo = rd - math.sqrt((one.estimate - one.lower) ** 2 + (zero.upper - zero.estimate) ** 2)
    hi = rd + math.sqrt((one.upper - one.estimate) ** 2 + (zero.estimate - zero.lower) ** 2)
    return lo, hi


def _floats(col: pd.Series) -> tuple[float, ...]:
    return tuple(float(x) for x in col.to_numpy(dtype=np.float64, na_value=np.nan))


def _cause1(tab: pd.DataFrame) -> pd.DataFrame:
    return tab[tab["cause"] == 1] if "cause" in tab.columns else tab


def _row_for(tab: pd.DataFrame, label: Any) -> pd.Series:
    if label is not None and "group" in tab.columns:
        tab = tab[tab["group"] == label]
    if len(tab) != 1:
        raise RuntimeError(f"expected one row for group {label!r}, got {len(tab)}")
    return tab.iloc[0]


# ---------------------------------------------------------------------------
def reverse_km_median(time: np.ndarray, status: np.ndarray) -> float:
    """Median potential follow-up by the reverse Kaplan–Meier method.

    The end of follow-up (status 0) is the "event" and any outcome or death
    censors; the median is the first time at which the product-limit curve
    reaches 0.5 or below (NaN if it never does).

    Examples
    --------
    >>> reverse_km_median(np.array([1.0, 2, 3, 4]), np.array([0, 0, 1, 0]))
    2.0
    """
    ended = (np.asarray(status) == 0).astype(np.int64)
    if not ended.any():
        return float("nan")  # nobody reached the end of follow-up alive and event-free
    tab = kaplan_meier({"t": np.asarray(time, dtype=np.float64), "e": ended}, "t", "e").table
    surv = tab["surv"].to_numpy()
    hit = np.nonzero(surv <= 0.5 + 1e-12)[0]
    return float(tab["time"].iat[hit[0]]) if hit.size else float("nan")


def _table1(df: pd.DataFrame, factors: Sequence[str], labels: Mapping[str, str]) -> tuple[Table1Row, ...]:
    n = len(df)
    rows: list[Table1Row] = [Table1Row("Patients", "", f"{n}", {"n": n})]
    age = df["age"].to_numpy(dtype=np.float64)
    q1, med, q3 = (float(x) for x in np.quantile(age, [0.25, 0.5, 0.75]))
    rows.append(Table1Row("Age, years", "median (IQR)", f"{med:.0f} ({q1:.0f}-{q3:.0f})",
                          {"median": med, "q1": q1, "q3": q3}))
    for level in ("male", "female"):
        k = int((df["sex"] == level).sum())
        rows.append(Table1Row("Sex", level, f"{k} ({100 * k / n:.1f}%)", {"n": k, "percent": 100 * k / n}))
    year = df["diagnosis_year"].to_numpy(dtype=np.int64)
    rows.append(Table1Row("Diagnosis year", "range", f"{year.min()}-{year.max()}",
                          {"min": int(year.min()), "max": int(year.max())}))
    decades, counts = np.unique(year // 10 * 10, return_counts=True)
    for d, k in zip(decades, counts):
        # a decade is labelled by the years the data cover: "2020-2022" for data to 2022
        first, last = max(int(d), int(year.min())), min(int(d) + 9, int(year.max()))
        rows.append(Table1Row("Diagnosis period", f"{first}-{last}" if last > first else f"{first}",
                              f"{k} ({100 * k / n:.1f}%)", {"n": int(k), "percent": 100 * k / n}))
    for f in factors:
        col = df[f]
        for level, k in (("present", int((col == 1).sum())), ("absent", int((col == 0).sum())),
                         ("missing", int(col.isna().sum()))):
            rows.append(Table1Row(labels[f], level, f"{k} ({100 * k / n:.1f}%)", {"n": k, "percent": 100 * k / n}))
    for outcome, (t, s) in OUTCOME_COLUMNS.items():
        name = OUTCOME_LABELS.get(outcome, outcome).lower()
        status = df[s].to_numpy()
        med_fu = reverse_km_median(df[t].to_numpy(dtype=np.float64), status)
        rows.append(Table1Row(f"Follow-up for {name}", "median, years (reverse Kaplan-Meier)",
                              "not reached" if math.isnan(med_fu) else f"{med_fu / DAYS_PER_YEAR:.1f}",
                              {"median_days": med_fu}))
        for level, code in ((name, 1), (f"death without {name}", 2), ("censored", 0)):
            k = int((status == code).sum())
            rows.append(Table1Row(f"Events ({name} analysis)", level, f"{k} ({100 * k / n:.1f}%)",
                                  {"n": k, "percent": 100 * k / n}))
    return tuple(rows)


# ---------------------------------------------------------------------------
def analyse(cohort: Any, *, horizon: float, extra_factors: tuple[str, ...], thresholds: Mapping[str, float] | None,
            rule: Rule | None, level: float, variance: str, ci: str,
            progress: Callable[[str, int, int], None] | None, min_patients: int, min_events: int,
            landmarks: Sequence[float], provenance: dict, bootstrap: int = 0, seed: int = 1,
            labels: Mapping[str, str] | None = None) -> StudyResult:
    """Run every step; ``rule=None`` derives the rule from ``thresholds``.

    ``progress(step, done, total)`` is called after each step (and each
    bootstrap resample); ``landmarks`` are in years; ``bootstrap`` resamples
    (seeded with ``seed``) repeat the derivation (:mod:`._stability`).
    """
    factors = tuple(evidence.DLMS_FACTORS) + tuple(f for f in extra_factors if f not in evidence.DLMS_FACTORS)
    for key, text in (labels or {}).items():
        if key not in factors or key in evidence.DLMS_FACTORS:
            raise InputError(f"labels: {key!r} is not an extra factor of this study (extra factors: "
                             f"{', '.join(f for f in factors if f not in evidence.DLMS_FACTORS) or 'none'}); "
                             "the four published factors keep their evidence labels")
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"labels: the label of {key!r} must be non-empty text, but was {text!r}")
    labels = {**{f: f for f in factors}, **(labels or {}), **evidence.DLMS_FACTORS}
    df = cohort.factor_frame(list(factors))
    missing = [c for c in (*factors, "age", "sex", "diagnosis_year", *sum(OUTCOME_COLUMNS.values(), ()))
               if c not in df.columns]
    if missing:
        raise InputError(f"cohort {getattr(cohort, 'source', '')}: missing column(s) {', '.join(missing)}")
    for f in factors:
        bad = df[f].dropna()
        bad = bad[~bad.isin([0, 1])]
        if len(bad):
            raise InputError(f"factor {f!r}: values must be 0, 1 or missing; row {bad.index[0]} has {bad.iloc[0]!r}")
    outcomes = tuple(evidence.DLMS_OUTCOMES)
    fit = _Fitter(horizon, level, variance, ci, min_patients, min_events)
    total = 1 + len(outcomes) * (1 + len(factors) + 2) + bootstrap
    done = 0

    def step(name: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(name, done, total)

    table1 = _table1(df, factors, labels)
    step("Table 1")
    landmarks_days = [y * DAYS_PER_YEAR for y in landmarks]
    overall: dict[str, Risk] = {}
    curves: list[Curve] = []
    conditional: list[ConditionalRisk] = []
    for o in outcomes:
        counts = fit.counts(df, o)
        res = fit.fit(counts, o)
        overall[o] = fit.risk(res, None, len(df))
        if overall[o].beyond_follow_up:
            last = float(df[OUTCOME_COLUMNS[o][0]].max())
            raise InputError(f"horizon: {horizon:g} days is beyond the last follow-up time ({last:g} days) "
                             f"for {OUTCOME_LABELS[o].lower()}; choose a shorter horizon")
        curves.append(fit.curve(res, None, df, o, "all"))
        conditional.extend(fit.remaining(counts, o, {None: "all"}, landmarks_days))
        step(f"overall {OUTCOME_LABELS[o].lower()}")
    univariable: list[FactorResult] = []
    for o in outcomes:
        for f in factors:
            univariable.append(_univariable(fit, df, f, labels[f], o))
            step(f"{labels[f]} / {OUTCOME_LABELS[o].lower()}")
    if rule is None:
        by_outcome = {o: tuple(r.factor for r in univariable
                               if r.outcome == o and not math.isnan(r.rd) and r.rd > thresholds[o])
                      for o in outcomes}
        rule = Rule("derived", by_outcome, True, dict(thresholds))
    groups: dict[str, GroupResult] = {}
    high, low = _classify(df, rule.factors)
    gdf = df.loc[high | low].copy()
    gdf[_GROUP] = high[high | low].astype(np.int64).to_numpy()
    for o in outcomes:
        g, cs, counts = _groups(fit, gdf, o, n_incomplete=int((~(high | low)).sum()))
        groups[o] = g
        curves.extend(cs)
        step(f"risk groups / {OUTCOME_LABELS[o].lower()}")
        if counts is not None:
            conditional.extend(fit.remaining(counts, o, {1: "high", 0: "low"}, landmarks_days))
        step(f"remaining risk / {OUTCOME_LABELS[o].lower()}")
    stability = None
    if bootstrap:
        used = dict(thresholds) if rule.derived and thresholds is not None else dict(
            evidence.DLMS_DERIVATION_THRESHOLDS)
        published = {k: tuple(v) for k, v in evidence.DLMS_HIGH_RISK_FACTORS.items()}
        stability = bootstrap_rule(df, factors, used, horizon, bootstrap, seed,
                                   rule.by_outcome if rule.derived else {}, published,
                                   lambda b: step(f"bootstrap resample {b} of {bootstrap}"))
    prov = {**provenance, "horizon_days": horizon, "horizon_years": horizon / DAYS_PER_YEAR,
            "factors": list(factors), "thresholds": None if thresholds is None else dict(thresholds),
            "level": level, "variance": variance, "ci": ci, "rule_id": rule.id,
            "min_patients": min_patients, "min_events": min_events, "landmarks_years": list(landmarks),
            "bootstrap": bootstrap, "seed": seed,
            "labels": {f: labels[f] for f in factors if f not in evidence.DLMS_FACTORS}}
    return StudyResult(prov, table1, overall, tuple(univariable), rule, groups, tuple(curves), tuple(conditional),
                       stability)


def _arm_flags(pairs: Sequence[tuple[str, Risk | None]]) -> tuple[str, ...]:
    return tuple(f"{arm}: {reason}" for arm, r in pairs if r is not None for reason in r.flags)


def _univariable(fit: _Fitter, df: pd.DataFrame, factor: str, label: str, outcome: str) -> FactorResult:
    t, s = OUTCOME_COLUMNS[outcome]
    known = df[factor].notna()
    sub = df.loc[known, [t, s]].copy()
    sub[factor] = df.loc[known, factor].astype(np.int64).to_numpy()
    n_present = int((sub[factor] == 1).sum())
    n_absent = len(sub) - n_present
    nan = float("nan")
    if n_present == 0 or n_absent == 0:
        which = "present" if n_present == 0 else "absent"
        note = f"no patient with the factor {which}: risk difference not estimable"
        present = absent = None
        if len(sub):
            res = fit.fit(sub, outcome, factor)
            present = fit.risk(res, 1, n_present) if n_present else None
            absent = fit.risk(res, 0, n_absent) if n_absent else None
        return FactorResult(factor, label, outcome, len(sub), int((~known).sum()), n_present, n_absent,
                            present, absent, nan, nan, nan, nan, note,
                            flags=_arm_flags((("factor present", present), ("factor absent", absent))))
    res = fit.fit(sub, outcome, factor)
    present, absent = fit.risk(res, 1, n_present), fit.risk(res, 0, n_absent)
    rd = fit.rd(res, present, absent)
    note = "" if not math.isnan(rd[0]) else "follow-up of a group ends before the horizon: not estimable"
    gray = fit.gray(sub, outcome, factor)
    return FactorResult(factor, label, outcome, len(sub), int((~known).sum()), n_present, n_absent,
                        present, absent, *rd, note, *gray,
                        flags=_arm_flags((("factor present", present), ("factor absent", absent))))


def _classify(df: pd.DataFrame, factors: Sequence[str]) -> tuple[pd.Series, pd.Series]:
    """The rule of the clinical core (:func:`leiosurv.clinical.rule_groups`, its one implementation)
    on the cohort: high if any rule factor is present; low if all are known absent; else incomplete."""
    if not factors:
        return pd.Series(False, index=df.index), pd.Series(True, index=df.index)
    vals = df[list(factors)].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    groups = rule_groups(vals)
    return pd.Series(groups == "high", index=df.index), pd.Series(groups == "low", index=df.index)


def _groups(fit: _Fitter, gdf: pd.DataFrame, outcome: str,
            n_incomplete: int) -> tuple[GroupResult, list[Curve], EventCounts | None]:
    n_high = int((gdf[_GROUP] == 1).sum())
    n_low = len(gdf) - n_high
    nan = float("nan")
    if n_high == 0 or n_low == 0:
        note = ("no factor entered the rule: every tumour with known factors is low risk"
                if n_high == 0 else "no tumour is low risk")
        return GroupResult(outcome, n_high, n_low, n_incomplete, None, None, nan, nan, nan, nan, nan, nan, nan,
                           note), [], None
    t, s = OUTCOME_COLUMNS[outcome]
    sub = gdf[[t, s, _GROUP]]
    counts = fit.counts(sub, outcome, _GROUP)
    res = fit.fit(counts, outcome)
    stat, df_, p = fit.gray(sub, outcome, _GROUP)
    high, low = fit.risk(res, 1, n_high), fit.risk(res, 0, n_low)
    rd = fit.rd(res, high, low)
    note = "" if not math.isnan(rd[0]) else "follow-up of a group ends before the horizon: not estimable"
    g = GroupResult(outcome, n_high, n_low, n_incomplete, high, low, *rd, stat, df_, p, note,
                    flags=_arm_flags((("high risk", high), ("low risk", low))))
    curves = [fit.curve(res, lab, sub[sub[_GROUP] == lab], outcome, name) for lab, name in ((1, "high"), (0, "low"))]
    return g, curves, counts

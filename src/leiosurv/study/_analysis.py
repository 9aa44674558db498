"""The computations of the cohort study (called by ``run_study``/``validate_rule``).

Every estimate comes from :mod:`leiosurv.stats` (Aalen–Johansen with all-cause
death as competing risk, risk differences, Gray's test).  The data reach this
module as one pandas frame with only the columns the analysis needs (the cohort's
``factor_frame``); factor subsets are complete cases for that factor only, and
the number excluded is reported with every result.
"""

from __future__ import annotations

import math
import sys
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from leiosurv.clinical import evidence
from leiosurv.exceptions import InputError
from leiosurv.stats import count_events
from leiosurv.study._results import (
    Curve,
    FactorResult,
    GroupResult,
    Risk,
    Rule,
    StudyResult,
    Table1Row,
)
from leiosurv.study._schema import DAYS_PER_YEAR, OUTCOME_COLUMNS

__all__ = ["analyse", "reverse_km_median"]

_GROUP = "_risk_group"
_CURVE_POINTS = 400


class _Fitter:
    """Holds the estimation options and calls the statistics engine."""

    def __init__(self, horizon: float, level: float, variance: str, ci: str) -> None:
        self.horizon, self.level, self.variance, self.ci = horizon, level, variance, ci

    def fit(self, df: pd.DataFrame, outcome: str, group: str | None = None):
        from leiosurv.stats import cumulative_incidence

        t, s = OUTCOME_COLUMNS[outcome]
        return cumulative_incidence(df, time=t, event=s, group=group, causes=(1, 2), variance=self.variance,
                                    ci=self.ci, level=self.level)

    def risk(self, res: Any, label: Any, n: int) -> Risk:
        tab = _cause1(res.at([self.horizon], beyond="nan"))
        row = _row_for(tab, label)
        return Risk(float(row["estimate"]), float(row["se"]), float(row["lower"]), float(row["upper"]), int(n),
                    int(row["n_risk_at_horizon"]), bool(row["beyond_follow_up"]))

    def rd(self, res: Any) -> tuple[float, float, float, float]:
        from leiosurv.stats import risk_difference

        if _cause1(res.at([self.horizon], beyond="nan"))["beyond_follow_up"].any():
            return (float("nan"),) * 4  # a group's follow-up ends before the horizon: not estimable
        tab = risk_difference(res, self.horizon, reference=0, cause=1).table
        row = _row_for(tab, 1)
        return float(row["rd"]), float(row["se"]), float(row["lower"]), float(row["upper"])

    def gray(self, df: pd.DataFrame, outcome: str, group: str) -> tuple[float, float, float]:
        from leiosurv.stats import gray_test

        t, s = OUTCOME_COLUMNS[outcome]
        tab = gray_test(df, time=t, event=s, group=group, causes=(1, 2)).table
        row = tab[tab["cause"] == 1].iloc[0]
        return float(row["stat"]), float(row["df"]), float(row["pv"])

    def curve(self, res: Any, label: Any, df: pd.DataFrame, outcome: str, name: str) -> Curve:
        grid = np.linspace(0.0, self.horizon, _CURVE_POINTS + 1)
        tab = _cause1(res.at(grid, beyond="nan"))
        if label is not None:
            tab = tab[tab["group"] == label]
        tab = tab.sort_values("horizon")
        t = np.sort(df[OUTCOME_COLUMNS[outcome][0]].to_numpy(dtype=np.float64))
        step = DAYS_PER_YEAR if self.horizon > 2 * DAYS_PER_YEAR else DAYS_PER_YEAR / 4
        risk_times = np.arange(0.0, self.horizon + 1e-9, step)
        n_risk = t.size - np.searchsorted(t, risk_times, side="left")
        return Curve(outcome, name, tuple(tab["horizon"].astype(float)), _floats(tab["estimate"]),
                     _floats(tab["lower"]), _floats(tab["upper"]), tuple(float(x) for x in risk_times),
                     tuple(int(x) for x in n_risk))


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
    counts = count_events({"t": time, "e": ended}, "t", "e", causes=(1,))
    g = counts.groups[0]
    surv = np.cumprod(1.0 - g.events[:, 0] / g.n_risk)
    hit = np.nonzero(surv <= 0.5 + 1e-12)[0]
    return float(g.time[hit[0]]) if hit.size else float("nan")


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
        rows.append(Table1Row("Diagnosis period", f"{d}-{d + 9}", f"{k} ({100 * k / n:.1f}%)",
                              {"n": int(k), "percent": 100 * k / n}))
    for f in factors:
        col = df[f]
        for level, k in (("present", int((col == 1).sum())), ("absent", int((col == 0).sum())),
                         ("missing", int(col.isna().sum()))):
            rows.append(Table1Row(labels[f], level, f"{k} ({100 * k / n:.1f}%)", {"n": k, "percent": 100 * k / n}))
    for outcome, (t, s) in OUTCOME_COLUMNS.items():
        name = outcome.replace("_", " ")
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
            rule: Rule | None, level: float, variance: str, ci: str, progress: bool,
            provenance: dict) -> StudyResult:
    """Run every step; ``rule=None`` derives the rule from ``thresholds``."""
    from tqdm.auto import tqdm

    factors = tuple(evidence.DLMS_FACTORS) + tuple(f for f in extra_factors if f not in evidence.DLMS_FACTORS)
    labels = {**{f: f for f in factors}, **evidence.DLMS_FACTORS}
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
    fit = _Fitter(horizon, level, variance, ci)
    steps = 1 + len(outcomes) * (1 + len(factors) + 1)
    bar = tqdm(total=steps, desc="cohort study", unit="step", file=sys.stderr,
               disable=not (progress and sys.stderr.isatty()))
    try:
        bar.set_postfix_str("Table 1")
        table1 = _table1(df, factors, labels)
        bar.update()
        overall: dict[str, Risk] = {}
        curves: list[Curve] = []
        for o in outcomes:
            bar.set_postfix_str(f"overall {o}")
            res = fit.fit(df, o)
            overall[o] = fit.risk(res, None, len(df))
            if overall[o].beyond_follow_up:
                last = float(df[OUTCOME_COLUMNS[o][0]].max())
                raise InputError(f"horizon: {horizon:g} days is beyond the last follow-up time ({last:g} days) "
                                 f"for {o.replace('_', ' ')}; choose a shorter horizon")
            curves.append(fit.curve(res, None, df, o, "all"))
            bar.update()
        univariable: list[FactorResult] = []
        for o in outcomes:
            for f in factors:
                bar.set_postfix_str(f"{f} / {o}")
                univariable.append(_univariable(fit, df, f, labels[f], o))
                bar.update()
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
            bar.set_postfix_str(f"risk groups / {o}")
            g, cs = _groups(fit, gdf, o, n_incomplete=int((~(high | low)).sum()))
            groups[o] = g
            curves.extend(cs)
            bar.update()
    finally:
        bar.close()
    prov = {**provenance, "horizon_days": horizon, "horizon_years": horizon / DAYS_PER_YEAR,
            "factors": list(factors), "thresholds": None if thresholds is None else dict(thresholds),
            "level": level, "variance": variance, "ci": ci, "rule_id": rule.id}
    return StudyResult(prov, table1, overall, tuple(univariable), rule, groups, tuple(curves))


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
                            present, absent, nan, nan, nan, nan, note)
    res = fit.fit(sub, outcome, factor)
    rd = fit.rd(res)
    note = "" if not math.isnan(rd[0]) else "follow-up of a group ends before the horizon: not estimable"
    return FactorResult(factor, label, outcome, len(sub), int((~known).sum()), n_present, n_absent,
                        fit.risk(res, 1, n_present), fit.risk(res, 0, n_absent), *rd, note)


def _classify(df: pd.DataFrame, factors: Sequence[str]) -> tuple[pd.Series, pd.Series]:
    """High if any rule factor is present; low if all are known absent; else incomplete."""
    if not factors:
        return pd.Series(False, index=df.index), pd.Series(True, index=df.index)
    vals = df[list(factors)]
    high = (vals == 1).fillna(False).astype(bool).any(axis=1)
    low = (vals == 0).fillna(False).astype(bool).all(axis=1) & ~high
    return high, low


def _groups(fit: _Fitter, gdf: pd.DataFrame, outcome: str, n_incomplete: int) -> tuple[GroupResult, list[Curve]]:
    n_high = int((gdf[_GROUP] == 1).sum())
    n_low = len(gdf) - n_high
    nan = float("nan")
    if n_high == 0 or n_low == 0:
        note = ("no factor entered the rule: every tumour with known factors is low risk"
                if n_high == 0 else "no tumour is low risk")
        return GroupResult(outcome, n_high, n_low, n_incomplete, None, None, nan, nan, nan, nan, nan, nan, nan,
                           note), []
    t, s = OUTCOME_COLUMNS[outcome]
    sub = gdf[[t, s, _GROUP]]
    res = fit.fit(sub, outcome, _GROUP)
    stat, df_, p = fit.gray(sub, outcome, _GROUP)
    rd = fit.rd(res)
    note = "" if not math.isnan(rd[0]) else "follow-up of a group ends before the horizon: not estimable"
    g = GroupResult(outcome, n_high, n_low, n_incomplete, fit.risk(res, 1, n_high), fit.risk(res, 0, n_low),
                    *rd, stat, df_, p, note)
    curves = [fit.curve(res, lab, sub[sub[_GROUP] == lab], outcome, name) for lab, name in ((1, "high"), (0, "low"))]
    return g, curves

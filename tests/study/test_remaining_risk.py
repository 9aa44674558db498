"""The study's remaining risk: risk by the horizon given event-free at each landmark, all patients and by group."""

from __future__ import annotations

import pandas as pd
import pytest
from study_cohorts import cohort_frame

from leiosurv.stats import conditional_incidence
from leiosurv.study import ConditionalRisk, StudyResult, read_cohort, remaining_risk_plot, render_report, run_study
from leiosurv.study._analysis import _classify

H5 = 5 * 365.25


@pytest.fixture(scope="module")
def cohort():
    return read_cohort(cohort_frame(600, seed=3))


@pytest.fixture(scope="module")
def result(cohort):
    return run_study(cohort)


def test_landmarks_and_groups(result):
    marks = sorted({c.landmark_years for c in result.conditional})
    assert marks == [0, 1, 2, 3, 4] and result.provenance["landmarks_years"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    for o in ("metastasis", "local_recurrence"):
        for g in ("all", "high", "low"):
            assert len([c for c in result.conditional if c.outcome == o and c.group == g]) == 5


def test_equals_the_landmark_estimator_on_the_cohort(result, cohort):
    df = cohort.factor_frame(list(result.provenance["factors"]))
    high, low = _classify(df, result.rule.factors)
    for c in result.conditional:
        t, s = {"metastasis": ("met_time", "met_status"), "local_recurrence": ("lr_time", "lr_status")}[c.outcome]
        sub = df if c.group == "all" else df[high if c.group == "high" else low]
        ref = conditional_incidence(sub, t, s, landmark=c.landmark_days, causes=(1, 2)).at(H5)
        row = ref[ref["cause"] == 1].iloc[0]
        assert (c.estimate, c.se) == (row["estimate"], row["se"])
        if c.interval == "exact":  # a risk of 0 or 1: the exact bound instead of R's degenerate interval
            assert c.estimate in (0.0, 1.0) and c.upper > c.lower
        else:
            assert (c.lower, c.upper) == (row["lower"], row["upper"])
        assert c.n_at_landmark == int((sub[t] > c.landmark_days).sum())
        after = sub[(sub[t] > c.landmark_days) & (sub[t] <= H5)]
        assert c.n_events == int((after[s] == 1).sum())


def test_landmark_zero_is_the_ordinary_risk(result):
    for o, risk in result.overall.items():
        c = next(c for c in result.conditional if c.outcome == o and c.group == "all" and c.landmark_days == 0)
        assert c.estimate == risk.estimate and c.se == risk.se
    for o, g in result.groups.items():
        c = next(c for c in result.conditional if c.outcome == o and c.group == "high" and c.landmark_days == 0)
        assert c.estimate == g.high.estimate


def test_few_at_risk_are_flagged():
    df = cohort_frame(120, seed=4, missing=0.0)
    res = run_study(read_cohort(df), landmarks_years=[0, 4.5])
    late = [c for c in res.conditional if c.landmark_years == 4.5]
    assert late and all(c.flagged for c in late)  # few events in the last half year
    for c in late:
        assert any("event" in f or "patient" in f or "standard error 0" in f for f in c.flags)
        if c.n_at_landmark < 10:
            assert f"{c.n_at_landmark} patient" in c.flags[0]


def test_report_shows_table_and_figure(result):
    files = render_report(result)
    html = files["report.html"].decode()
    assert 'id="remaining-risk"' in html and 'id="fig-remaining"' in html
    table = html[html.index('id="remaining-risk"'):]
    table = table[:table.index("</table>")]
    assert table.count("<th>Event-free at") == 5 and table.count("<tr>") == 1 + 6
    c = next(c for c in result.conditional if c.outcome == "metastasis" and c.group == "low" and c.landmark_years == 4)
    assert f"{c.format()}" in table and f"{c.n_events} / {c.n_at_landmark}" in table
    csv = pd.read_csv(__import__("io").BytesIO(files["remaining_risk.csv"]))
    assert len(csv) == len(result.conditional) and csv["synthetic"].all()
    assert "remaining risk of metastasis by year 5" in html


def test_figure(result):
    fig = remaining_risk_plot(result)
    axes = [ax for ax in fig.axes if ax.get_xlabel()]
    assert [ax.get_title(loc="left") for ax in axes] == ["Metastasis", "Local recurrence"]
    texts = [t.get_text() for t in fig.texts]
    c = next(c for c in result.conditional if c.outcome == "metastasis" and c.group == "all" and c.landmark_years == 2)
    assert f"{c.n_at_landmark:,}" in texts and any("SYNTHETIC DATA" in t for t in texts + [fig._suptitle.get_text()])
    pts = [ln for ln in axes[0].lines if ln.get_marker() == "o"]
    assert len(pts) == 15  # 5 landmarks x 3 groups


def test_round_trip(result):
    back = StudyResult.from_dict(__import__("json").loads(__import__("json").dumps(result.to_dict())))
    assert back.conditional == result.conditional and isinstance(back.conditional[0], ConditionalRisk)


def test_landmark_zero_keeps_events_at_time_zero():
    """Landmark 0 is the risk from diagnosis: a metastasis recorded at day 0 counts (time > 0 would drop it)."""
    df = cohort_frame(300, seed=5, missing=0.0)
    first = df.index[df["met_status"] == 1][:3]
    df.loc[first, "met_time"] = 0.0
    res = run_study(read_cohort(df))
    c0 = next(c for c in res.conditional if c.outcome == "metastasis" and c.group == "all" and c.landmark_days == 0)
    assert c0.n_at_landmark == 300 and c0.estimate == res.overall["metastasis"].estimate
    c1 = next(c for c in res.conditional if c.outcome == "metastasis" and c.group == "all" and c.landmark_days > 0)
    assert c1.n_at_landmark < 300

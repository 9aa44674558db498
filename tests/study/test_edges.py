"""The third pass of the study (issue 23): honest at the edges.

Zero events and estimates at 1 get an exact bound instead of a degenerate
interval; a group whose follow-up ends in events stays estimable; validation
weighs both uncertainties and does not depend on the CI type; the derivation's
stability is bootstrapped; the report's wording, units, labels and windows.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from study_cohorts import FrameCohort, cohort_frame

from leiosurv.exceptions import InputError
from leiosurv.stats import exact_bound, n_known
from leiosurv.study import (
    DEFAULT_BOOTSTRAP,
    ConditionalRisk,
    Risk,
    methods_text,
    read_cohort,
    render_report,
    result_tables,
    results_text,
    run_study,
    synthesize_cohort,
    validate_rule,
)
from leiosurv.study._results import FLAG_MARK

H5 = 1826.25


@pytest.fixture(scope="module")
def small():
    return read_cohort(synthesize_cohort(40, seed=1))


@pytest.fixture(scope="module")
def calibrated():
    return read_cohort(synthesize_cohort(381, seed=1))


@pytest.fixture(scope="module")
def small_result(small):
    return run_study(small)


@pytest.fixture(scope="module")
def calibrated_result(calibrated):
    return run_study(calibrated)


def _every_interval(result):
    yield from result.overall.values()
    for f in result.univariable:
        yield from (x for x in (f.present, f.absent) if x is not None)
    for g in result.groups.values():
        yield from (x for x in (g.high, g.low) if x is not None)
    yield from result.conditional


# -- 1. intervals never degenerate where the data are -------------------------------------------------------
def test_exact_bound_edges():
    """Clopper-Pearson at 0 events and at all events; the counting of patients whose status is known."""
    assert exact_bound(0.0, 320, 0.95) == pytest.approx((0.0, 1.0 - 0.025 ** (1 / 320)), rel=1e-12)
    assert exact_bound(1.0, 2, 0.95) == pytest.approx((0.025 ** 0.5, 1.0), rel=1e-12)
    assert exact_bound(0.0, 0, 0.95) == (0.0, 1.0)
    assert exact_bound(0.0, 3, 0.95)[1] == pytest.approx(0.7075982261787, rel=1e-12)
    with pytest.raises(InputError, match="estimate must be 0 or 1"):
        exact_bound(0.5, 10, 0.95)
    t, c = np.array([1.0, 2.0, 3.0]), np.array([1, 1, 1])
    # censored strictly before the horizon is unknown; censored at the horizon was followed to it
    assert [n_known(t, c, 5, h) for h in (1.0, 1.0 + 1e-9, 3.0, 3.0 + 1e-9)] == [5, 4, 3, 2]


@pytest.mark.parametrize("ci", ["plain", "log-log"])
def test_no_degenerate_interval_anywhere(small, calibrated, ci):
    """n = 40 and n = 381: every risk of 0 or 1 has the exact bound; no "0.0 to 0.0", no "NA to NA"."""
    for cohort in (small, calibrated):
        res = run_study(cohort, ci=ci, bootstrap=0)
        exact = 0
        for r in _every_interval(res):
            if math.isnan(r.estimate):
                continue
            assert r.upper > r.lower, r
            if r.estimate in (0.0, 1.0):
                assert r.interval == "exact"
                exact += 1
            else:
                assert r.interval == "" and not math.isnan(r.lower)
        assert exact  # both cohorts have zero-event estimates (the remaining risk at 4 years at least)
        text = " ".join(results_text(res))
        assert "0.0 to 0.0" not in text and "NA to NA" not in text and "exact bound" in text
        html = render_report(res)["report.html"].decode()
        assert "0.0 to 0.0)" not in html and "(NA to NA)" not in html
        assert "Clopper" in methods_text(res)[0]


def test_zero_events_among_320(calibrated_result):
    """The issue's "0.0%† (95% CI 0.0 to 0.0), with 0 events among 320 patients": about 1 %, not 0."""
    c = next(c for c in calibrated_result.conditional
             if c.outcome == "metastasis" and c.group == "all" and c.landmark_years == 4)
    assert c.n_events == 0 and c.n_at_landmark == 320 and c.estimate == 0.0
    assert c.interval == "exact" and 0.0115 <= c.upper <= 0.02
    assert c.flagged and "standard error 0: exact bound shown" in c.flags
    csv = result_tables(calibrated_result)["remaining_risk"]
    row = csv[(csv["outcome"] == "metastasis") & (csv["group"] == "all") & (csv["landmark_years"] == 4)].iloc[0]
    assert row["interval"] == "exact" and row["upper"] == c.upper and row["window_years"] == 1.0


# -- 2. estimable when follow-up ends in events ------------------------------------------------------------
def _two_invaded_both_recur() -> pd.DataFrame:
    """Invasion in exactly 2 patients, both with a local recurrence (days 114 and 359): the issue's example."""
    df = cohort_frame(300, seed=5, missing=0.0)
    inv = df.index[df["invasion"] == 1]
    df.loc[inv[2:], "invasion"] = 0.0
    two = inv[:2]
    df.loc[two, "lr_time"], df.loc[two, "lr_status"] = [114.0, 359.0], 1
    df.loc[two, "met_time"], df.loc[two, "met_status"] = [2000.0, 2100.0], 0
    return df


def test_a_group_everyone_of_whom_had_the_event_is_estimable():
    res = run_study(FrameCohort(_two_invaded_both_recur()), bootstrap=0)
    r = res.factor_result("invasion", "local_recurrence")
    assert r.present.n == 2 and r.present.n_events == 2 and r.present.estimate == 1.0
    assert not r.present.beyond_follow_up and r.note == "" and not math.isnan(r.rd)
    assert r.present.interval == "exact" and r.present.lower == pytest.approx(0.025 ** 0.5, rel=1e-12)
    assert r.flagged and not math.isnan(r.gray_p_value)
    # the flag follows the estimate into Table 3 (risk, RD and Gray's p), the prose and the CSV
    html = render_report(res)["report.html"].decode()
    table = html[html.index('id="univariable"'):html.index("</table>", html.index('id="univariable"'))]
    row = next(tr for tr in table.split("<tr>") if "Perineural or intravascular invasion" in tr
               and "Local recurrence" in tr)
    assert "not estimable" not in row and "100.0%" in row
    assert row.count(FLAG_MARK) >= 3 and f"{FLAG_MARK}</td>" in row  # the Gray cell ends with the mark
    sentence = next(s for s in " ".join(results_text(res)).split("With ")
                    if s.startswith("perineural or intravascular invasion present, the 5-year risk of local"))
    assert f"Gray's test p < 0.001{FLAG_MARK}" in sentence or f"{FLAG_MARK}; not interpreted" in sentence
    uni = result_tables(res)["univariable"]
    row = uni[(uni["factor"] == "invasion") & (uni["outcome"] == "local_recurrence")].iloc[0]
    assert bool(row["gray_flagged"]) and bool(row["rd_flagged"]) and row["present_interval"] == "exact"


# -- 3. and 4. validation weighs both sides, the same under every CI type ---------------------------------
@pytest.mark.parametrize("n", [40, 381])
def test_verdicts_do_not_depend_on_the_ci_type(n):
    cohort = read_cohort(synthesize_cohort(n, seed=1))
    plain = validate_rule(cohort, bootstrap=0)
    loglog = validate_rule(cohort, ci="log-log", bootstrap=0)
    assert [c.status for c in plain.comparisons] == [c.status for c in loglog.comparisons]
    for c in plain.comparisons:
        # a flagged estimate (or SE 0) is never a disagreement
        if c.flags or not c.cohort_se > 0:
            assert c.status == "not assessable" and c.reason
    assert plain.disagreements == ()


def test_comparison_csv_carries_flags_and_reason(calibrated):
    val = validate_rule(calibrated, bootstrap=0)
    csv = result_tables(val)["published_comparison"]
    for col in ("flags", "flagged", "reason", "status", "cohort_se", "published_se", "z_statistic"):
        assert col in csv.columns
    flagged = csv[csv["flagged"]]
    assert len(flagged) and (flagged["status"] == "not assessable").all()
    assert flagged["flags"].str.len().gt(0).all() and flagged["reason"].str.contains("flagged").all()
    html = render_report(val)["report.html"].decode()
    table = html[html.index('id="published-comparison"'):html.index("</table>", html.index('id="published-'))]
    assert "sqrt" not in table and f"{FLAG_MARK} (" in table
    # one decimal for the cohort's figures, as elsewhere in the report
    c = val.comparisons[0]
    assert f"{100 * c.cohort:.1f}" in table and f"{100 * c.cohort:.2f}" not in table


# -- 5. the rule's stability --------------------------------------------------------------------------------
def test_bootstrap_reproduces_the_derivation_on_each_resample():
    """B = 2 resamples by hand: the same rows, derived with run_study, give the same selections."""
    df = cohort_frame(500, seed=3, missing=0.05)
    cohort = FrameCohort(df)
    res = run_study(cohort, bootstrap=2, seed=7)
    st = res.stability
    rng = np.random.default_rng(7)
    selected = {o: dict.fromkeys(st.selected[o], 0) for o in st.selected}
    same = 0
    for _ in range(2):
        idx = rng.integers(0, len(df), len(df))
        again = run_study(FrameCohort(df.iloc[idx].reset_index(drop=True)), bootstrap=0)
        for o, fs in again.rule.by_outcome.items():
            for f in fs:
                selected[o][f] += 1
        same += {o: set(fs) for o, fs in again.rule.by_outcome.items()} == {
            o: set(fs) for o, fs in res.rule.by_outcome.items()}
    assert st.selected == selected and st.same_as_derived == same and st.resamples == 2
    assert run_study(cohort, bootstrap=2, seed=7).stability == st  # seeded


def test_stability_in_report_json_and_csv(calibrated):
    res = run_study(calibrated, bootstrap=30)
    st = res.stability
    assert st.resamples == 30 and res.provenance["bootstrap"] == 30 and res.provenance["seed"] == 1
    assert sum(st.selected_any.values()) > 0 and 0 <= st.derived_frequency <= 1
    files = render_report(res)
    html = files["report.html"].decode()
    assert 'id="stability"' in html and "exploratory" in html and "multiple testing" in html
    assert "adjusted" in html and "univariable" in html
    payload = json.loads(files["result.json"])
    assert payload["stability"]["resamples"] == 30 and payload["stability"]["selected"] == st.selected
    csv = result_tables(res)["rule_stability"]
    assert set(csv["factor"]) == set(st.selected_any) and (csv["resamples"] == 30).all()
    assert DEFAULT_BOOTSTRAP == 200
    with pytest.raises(InputError, match="bootstrap must be a whole number >= 0, but was -1"):
        run_study(calibrated, bootstrap=-1)


# -- 6. wording, units, labels, windows ---------------------------------------------------------------------
def test_report_wording(small_result, calibrated_result):
    for res in (small_result, calibrated_result):
        text = "\n".join(methods_text(res) + results_text(res))
        assert "tumours" not in text  # one unit: patients
        assert "with no factor" not in text and "so the published estimate" not in text
        assert "not a further 5 years" in text and "(a window of 1 year after the landmark)" in text
        html = render_report(res)["report.html"].decode()
        assert "χ²" not in html  # Gray's test shown one way: its p-value
        assert "risk over 1 y, to year 5" in html and " ev.<br>" in html
    rule = results_text(calibrated_result)
    assert any("exploratory derivation" in p for p in rule)


def test_labels_for_extra_factors():
    df = cohort_frame(400, seed=2, missing=0.0)
    df["deep_invasion"] = (np.arange(400) % 3 == 0).astype(float)
    cohort = FrameCohort(df, extras=("deep_invasion",))
    res = run_study(cohort, factors=["deep_invasion"], labels={"deep_invasion": "Deep invasion"}, bootstrap=0)
    assert res.factor_label("deep_invasion") == "Deep invasion"
    html = render_report(res)["report.html"].decode()
    assert "Deep invasion" in html and "deep_invasion" not in html.split('id="provenance"')[0]
    with pytest.raises(InputError, match="labels: 'necrosis' is not an extra factor"):
        run_study(cohort, factors=["deep_invasion"], labels={"necrosis": "x"}, bootstrap=0)


def test_risk_classes_keep_the_interval_field_in_json():
    r = Risk(0.0, 0.0, 0.0, 0.5, 4, 4, False, 0, ("x",), interval="exact")
    assert Risk.from_dict(json.loads(json.dumps(r.to_dict()))) == r and r.format() == "0.0% (0.0 to 50.0, exact)"
    c = ConditionalRisk("metastasis", "all", 1461.0, H5, 10, 0, 0.0, 0.0, 0.0, 0.3, (), interval="exact")
    assert ConditionalRisk.from_dict(c.to_dict()) == c


def test_flags_follow_the_estimates_into_the_curve_figures(small_result):
    """The n = 40 cohort: each curve's legend gives its 5-year risk, marked † when flagged, and the
    by-group figure gives Gray's p, marked † when it rests on a flagged estimate."""
    from leiosurv.study import cif_plot

    g = small_result.groups["metastasis"]
    fig = cif_plot(small_result, "metastasis", by="group")
    legend = fig.axes[0].get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts[0] == f"High risk: {g.high.format()}{FLAG_MARK if g.high.flagged else ''} at 5 y"
    assert any(FLAG_MARK in t for t in texts) and any("exact" in t for t in texts)
    assert legend.get_title().get_text().startswith("Gray's test p") and g.flagged
    assert legend.get_title().get_text().endswith(FLAG_MARK)
    overall = small_result.overall["metastasis"]
    text = cif_plot(small_result, "metastasis").axes[0].get_legend().get_texts()[0].get_text()
    assert text == f"All patients: {overall.format()}{FLAG_MARK} at 5 y" and overall.flagged

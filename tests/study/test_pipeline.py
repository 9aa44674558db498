"""The study pipeline: horizon/threshold parsing, Table 1, univariable analysis,
derived rule, risk groups, rule validation, provenance and lossless JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from study_cohorts import cohort_frame

from leiosurv.clinical import evidence
from leiosurv.exceptions import InputError
from leiosurv.stats import cumulative_incidence, gray_test, risk_difference
from leiosurv.study import (
    RuleValidation,
    StudyResult,
    parse_horizon,
    parse_thresholds,
    read_cohort,
    run_study,
    validate_rule,
)
from leiosurv.study._analysis import _classify, reverse_km_median

H5 = 5 * 365.25


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return cohort_frame(600, seed=3)


@pytest.fixture(scope="module")
def cohort(frame):
    return read_cohort(frame)


@pytest.fixture(scope="module")
def result(cohort) -> StudyResult:
    return run_study(cohort, progress=False)


# -- parsing ------------------------------------------------------------------
@pytest.mark.parametrize("text, days", [("5y", 1826.25), ("60m", 1826.25), ("1826d", 1826.0), (" 2.5Y ", 913.125),
                                        (730, 730.0)])
def test_parse_horizon(text, days):
    assert parse_horizon(text) == pytest.approx(days, rel=1e-15)


@pytest.mark.parametrize("text", ["5", "5 years", "y", "-1y", "0d", "5q", ""])
def test_parse_horizon_rejects(text):
    with pytest.raises(InputError, match="horizon"):
        parse_horizon(text)


def test_parse_thresholds():
    assert parse_thresholds(None) == evidence.DLMS_DERIVATION_THRESHOLDS
    assert parse_thresholds("met=5,lr=10") == {"metastasis": 0.05, "local_recurrence": 0.10}
    assert parse_thresholds("lr=2.5") == {"metastasis": 0.05, "local_recurrence": 0.025}
    assert parse_thresholds({"metastasis": 0.01})["metastasis"] == 0.01
    with pytest.raises(InputError, match="unknown outcome 'death'"):
        parse_thresholds("death=3")
    with pytest.raises(InputError, match="met must be a number, got 'x'"):
        parse_thresholds("met=x")
    with pytest.raises(InputError, match="OUTCOME=PERCENT"):
        parse_thresholds("met5")


def test_bad_level_and_unknown_factor(cohort):
    with pytest.raises(InputError, match="level must be in"):
        run_study(cohort, level=1.5, progress=False)
    with pytest.raises(InputError, match="ulceration"):
        run_study(cohort, factors=["ulceration"], progress=False)


# -- the numbers are the stats engine's, on the right rows ----------------------
def test_overall_risks_match_engine(result, frame):
    for outcome, (t, s) in {"metastasis": ("met_time", "met_status"),
                            "local_recurrence": ("lr_time", "lr_status")}.items():
        ref = cumulative_incidence(frame, time=t, event=s, causes=(1, 2)).at([H5])
        ref = ref[ref["cause"] == 1].iloc[0]
        r = result.overall[outcome]
        assert_allclose([r.estimate, r.se, r.lower, r.upper], ref[["estimate", "se", "lower", "upper"]].astype(float),
                        rtol=1e-12)
        assert r.n == len(frame)


def test_univariable_complete_cases_per_factor(result, frame, cohort):
    view = cohort.factor_frame()
    for r in result.univariable:
        known = view[r.factor].notna()
        assert r.n_missing == int((~known).sum()) and r.n_missing > 0  # the fixture has missing values
        assert r.n_used + r.n_missing == len(frame)
        t, s = ("met_time", "met_status") if r.outcome == "metastasis" else ("lr_time", "lr_status")
        sub = view.loc[known, [t, s]].assign(g=view.loc[known, r.factor].astype(int).to_numpy())
        res = cumulative_incidence(sub, time=t, event=s, group="g", causes=(1, 2))
        rd = risk_difference(res, H5, reference=0, cause=1).table.iloc[0]
        assert_allclose([r.rd, r.rd_se, r.rd_lower, r.rd_upper], rd[["rd", "se", "lower", "upper"]].astype(float),
                        rtol=1e-12)
        assert r.rd == pytest.approx(r.present.estimate - r.absent.estimate, abs=1e-15)
        assert r.n_present == int((sub["g"] == 1).sum()) and r.n_absent == int((sub["g"] == 0).sum())
        assert r.label == evidence.DLMS_FACTORS[r.factor]


def test_default_ci_is_plain_truncated(result):
    for r in result.univariable:
        for risk in (r.present, r.absent):
            assert 0.0 <= risk.lower <= risk.estimate <= risk.upper <= 1.0
        # RD interval is rd -/+ z sqrt(se1^2 + se0^2), not truncated
        z = (r.rd_upper - r.rd) / r.rd_se
        assert z == pytest.approx(1.959963984540054, rel=1e-9)
        assert r.rd_se == pytest.approx(math.hypot(r.present.se, r.absent.se), rel=1e-12)


# -- derived rule: strictly greater than the threshold --------------------------
def test_derived_rule_is_factors_above_threshold(result):
    for o in evidence.DLMS_OUTCOMES:
        expected = tuple(r.factor for r in result.univariable
                         if r.outcome == o and r.rd > evidence.DLMS_DERIVATION_THRESHOLDS[o])
        assert result.rule.by_outcome[o] == expected
    assert result.rule.derived and result.rule.thresholds == evidence.DLMS_DERIVATION_THRESHOLDS
    # the simulated hazards make these factors matter (necrosis, grade 3 for metastasis; margins for LR)
    assert {"necrosis", "mitotic_grade_3"} <= set(result.rule.by_outcome["metastasis"])
    assert "positive_margins" in result.rule.by_outcome["local_recurrence"]


def test_threshold_equal_to_rd_excludes(cohort, result):
    r = result.factor_result("necrosis", "metastasis")
    exact = run_study(cohort, thresholds={"metastasis": r.rd}, progress=False)
    assert "necrosis" not in exact.rule.by_outcome["metastasis"]
    below = run_study(cohort, thresholds={"metastasis": np.nextafter(r.rd, -1)}, progress=False)
    assert "necrosis" in below.rule.by_outcome["metastasis"]


# -- classification and groups --------------------------------------------------
def test_groups_count_incomplete_apart(result, cohort):
    view = cohort.factor_frame()
    vals = view[list(result.rule.factors)]
    high = (vals == 1).fillna(False).any(axis=1)
    low = (vals == 0).fillna(False).all(axis=1) & ~high
    for o, g in result.groups.items():
        assert g.n_high == int(high.sum()) and g.n_low == int(low.sum())
        assert g.n_high + g.n_low + g.n_incomplete == cohort.n
        assert g.n_incomplete > 0
        assert g.rd == pytest.approx(g.high.estimate - g.low.estimate, abs=1e-15)
        t, s = ("met_time", "met_status") if o == "metastasis" else ("lr_time", "lr_status")
        gt = gray_test(view.loc[high | low, [t, s]].assign(g=high[high | low].astype(int).to_numpy()),
                       time=t, event=s, group="g", causes=(1, 2)).table
        assert g.gray_p_value == pytest.approx(float(gt.loc[gt["cause"] == 1, "pv"].iloc[0]), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0, 1, None]), min_size=3, max_size=3), min_size=1, max_size=30))
def test_classify_property(rows):
    df = pd.DataFrame(rows, columns=["a", "b", "c"], dtype="Int8")
    high, low = _classify(df, ["a", "b", "c"])
    for i, row in enumerate(rows):
        assert high.iloc[i] == any(v == 1 for v in row)
        assert low.iloc[i] == all(v == 0 for v in row)  # unknown is never low


def test_factor_without_exposed_is_not_estimable():
    df = cohort_frame(300, seed=5, missing=0.0)
    df["invasion"] = 0.0
    res = run_study(read_cohort(df), progress=False)
    for o in evidence.DLMS_OUTCOMES:
        r = res.factor_result("invasion", o)
        assert r.present is None and math.isnan(r.rd) and "not estimable" in r.note
        assert "invasion" not in res.rule.by_outcome[o]
    json.dumps(res.to_dict(), allow_nan=False)


def test_reverse_km_median():
    # censorings at 1, 2, 4 (the "events" of the reverse KM); the outcome at 3 censors
    assert reverse_km_median(np.array([1.0, 2, 3, 4]), np.array([0, 0, 1, 0])) == 2.0
    assert math.isnan(reverse_km_median(np.array([1.0, 2]), np.array([1, 2])))


def test_table1(result, frame):
    rows = {(r.variable, r.level): r for r in result.table1}
    assert rows[("Patients", "")].values["n"] == len(frame)
    assert rows[("Age, years", "median (IQR)")].values["median"] == pytest.approx(float(frame["age"].median()))
    assert rows[("Sex", "male")].values["n"] == int((frame["sex"] == "male").sum())
    assert rows[("Tumour necrosis", "missing")].values["n"] == int(frame["necrosis"].isna().sum())
    assert rows[("Events (metastasis analysis)", "metastasis")].values["n"] == int((frame["met_status"] == 1).sum())
    assert rows[("Events (local recurrence analysis)", "death without local recurrence")].values["n"] == int(
        (frame["lr_status"] == 2).sum())


# -- provenance and serialisation ----------------------------------------------
def test_provenance_and_lossless_json(result):
    p = result.provenance
    assert p["synthetic"] is True and p["n"] == 600 and p["horizon_days"] == H5
    assert p["variance"] == "delta" and p["ci"] == "plain" and p["level"] == 0.95
    assert p["factors"] == list(evidence.DLMS_FACTORS) and p["rule_id"] == "derived"
    assert {"leiosurv_version", "timestamp", "cohort_source", "thresholds"} <= set(p)
    text = json.dumps(result.to_dict(), allow_nan=False)
    back = StudyResult.from_dict(json.loads(text))
    assert back.to_dict() == result.to_dict()
    assert back.overall["metastasis"].estimate == result.overall["metastasis"].estimate  # bit-exact
    assert "SYNTHETIC DATA" in str(result)


def test_gray_test_per_factor(result, frame, cohort):
    """Each factor's Gray test is cmprsk's test of present vs absent on its complete cases."""
    df = cohort.factor_frame(list(evidence.DLMS_FACTORS))
    for r in result.univariable:
        t, s = {"metastasis": ("met_time", "met_status"), "local_recurrence": ("lr_time", "lr_status")}[r.outcome]
        sub = df[df[r.factor].notna()][[t, s, r.factor]].astype({r.factor: int})
        ref = gray_test(sub, time=t, event=s, group=r.factor, causes=(1, 2)).table
        row = ref[ref["cause"] == 1].iloc[0]
        assert (r.gray_statistic, r.gray_df, r.gray_p_value) == (row["stat"], row["df"], row["pv"])


def test_no_private_stats_names_in_the_study():
    import inspect

    from leiosurv.study import _analysis, _pipeline, _report

    for mod in (_analysis, _pipeline, _report):
        assert "leiosurv.stats._" not in inspect.getsource(mod), mod.__name__


def test_variance_option_is_passed(cohort, result):
    aalen = run_study(cohort, variance="aalen", progress=False)
    assert aalen.provenance["variance"] == "aalen"
    assert aalen.overall["metastasis"].estimate == result.overall["metastasis"].estimate
    assert aalen.overall["metastasis"].se != result.overall["metastasis"].se


# -- validate_rule --------------------------------------------------------------
def test_validate_rule(cohort):
    val = validate_rule(cohort, progress=False)
    assert isinstance(val, RuleValidation)
    assert val.study.rule.id == evidence.DLMS_RULE_ID and not val.study.rule.derived
    assert val.study.rule.by_outcome == evidence.DLMS_HIGH_RISK_FACTORS
    assert len(val.comparisons) == 3 * len(evidence.DLMS_FACTOR_RISKS)
    for c in val.comparisons:
        pub = evidence.DLMS_FACTOR_RISKS[(c.factor, c.outcome)]
        fig = {"present": pub.present, "absent": pub.absent, "difference": pub.difference}[c.quantity]
        assert c.published == fig.estimate
        # the published CI widened by the rounding of its printed bounds
        assert c.published_ci_min < fig.lower and c.published_ci_max > fig.upper
        assert c.cohort_in_published_ci == (c.published_ci_min <= c.cohort <= c.published_ci_max)
        assert c.published_min <= fig.estimate + 1e-12 or c.quantity == "difference"
        if c.status != "not assessable":
            # the values the printed estimate can stand for overlap the cohort's interval
            assert c.published_in_cohort_ci == (c.cohort_lower <= c.published_max
                                                and c.published_min <= c.cohort_upper)
            assert (c.status == "disagrees") == (c.z_statistic > 1.959963984540054)
        else:
            assert c.published_in_cohort_ci is None and (c.flags or not c.cohort_se > 0)
        assert ("consistent" in c.message) == (c.status == "consistent") == c.agrees
        assert ("DISAGREES" in c.message) == (c.status == "disagrees")
        assert ("NOT ASSESSABLE" in c.message) == (c.status == "not assessable")
    # the test cohort's hazards are far from the published ones: some figures must disagree
    assert val.disagreements
    assert RuleValidation.from_dict(json.loads(json.dumps(val.to_dict()))).to_dict() == val.to_dict()


def _censor_at(df: pd.DataFrame, rows: pd.Series, day: float) -> pd.DataFrame:
    df = df.copy()
    for t, s in (("met_time", "met_status"), ("lr_time", "lr_status")):
        late = rows & (df[t] > day)
        df.loc[late, t], df.loc[late, s] = day, 0
    return df


def test_horizon_beyond_follow_up():
    df = _censor_at(cohort_frame(300, seed=2, missing=0.0), pd.Series(True, index=range(300)), 900.0)
    with pytest.raises(InputError, match=r"horizon: 1826.25 days is beyond the last follow-up time \(900 days\)"):
        run_study(read_cohort(df), progress=False)
    assert run_study(read_cohort(df), horizon_days="2y", progress=False).overall["metastasis"].n == 300


def test_group_follow_up_shorter_than_horizon_is_not_estimable():
    df = cohort_frame(300, seed=2, missing=0.0)
    df = _censor_at(df, df["necrosis"] == 1, 900.0)
    res = run_study(read_cohort(df), progress=False)
    r = res.factor_result("necrosis", "metastasis")
    assert r.present.beyond_follow_up and math.isnan(r.present.estimate) and math.isnan(r.rd)
    assert "ends before the horizon" in r.note and "necrosis" not in res.rule.by_outcome["metastasis"]
    assert not math.isnan(res.factor_result("invasion", "metastasis").rd)


@pytest.mark.parametrize("module", ["_results", "_analysis", "_pipeline", "_report", "_figures"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"leiosurv.study.{module}")
    failed, tried = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failed == 0


def test_progress_is_a_callback(cohort):
    calls = []
    run_study(cohort, progress=lambda step, done, total: calls.append((step, done, total)))
    total = calls[0][2]
    assert [c[1] for c in calls] == list(range(1, total + 1)) and {c[2] for c in calls} == {total}
    assert calls[0][0] == "Table 1" and any("Tumour necrosis / metastasis" == c[0] for c in calls)
    msg = "progress must be a callable progress\\(step, done, total\\) or None, but was True"
    with pytest.raises(InputError, match=msg):
        run_study(cohort, progress=True)


def test_analysis_has_no_progress_bar_of_its_own():
    import inspect

    from leiosurv.study import _analysis, _pipeline

    for mod in (_analysis, _pipeline):
        assert "tqdm" not in inspect.getsource(mod)


def test_zero_width_interval_is_not_assessable():
    df = cohort_frame(400, seed=8, missing=0.0)
    exposed = df.index[df["invasion"] == 1]
    df.loc[exposed, "lr_status"] = df.loc[exposed, "lr_status"].replace(1, 0)  # no LR among the invaded
    val = validate_rule(read_cohort(df), progress=False)
    for quantity in ("present", "difference"):
        c = next(c for c in val.comparisons
                 if (c.factor, c.outcome, c.quantity) == ("invasion", "local_recurrence", quantity))
        assert c.published_in_cohort_ci is None and c.status == "not assessable" and c in val.not_assessable
        assert "standard error 0" in c.message and c not in val.disagreements
    c = next(c for c in val.comparisons
             if (c.factor, c.outcome, c.quantity) == ("invasion", "local_recurrence", "present"))
    # the cohort's interval is the exact bound, never 0 to 0
    assert c.cohort == 0.0 and c.cohort_lower == 0.0 and c.cohort_upper > 0.0

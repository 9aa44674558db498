"""Public surface of leiosurv.stats: arguments, step semantics, JSON, plots, doctests."""

from __future__ import annotations

import doctest
import importlib
import io
import json
import math
import types

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import leiosurv.stats as stats
from leiosurv.clinical.evidence import DLMS_FACTOR_RISKS
from leiosurv.exceptions import DataError, InputError, StatisticalWarning
from leiosurv.stats import (
    CumulativeIncidence,
    EventCounts,
    GrayTest,
    KaplanMeier,
    RiskDifference,
    conditional_incidence,
    count_events,
    cumulative_incidence,
    gray_test,
    kaplan_meier,
    risk_difference,
)
from leiosurv.stats._risk_difference import wald_difference

# time:   1  2  2  3  5  5  6  8
# event:  1  2  0  1  0  1  2  0   (group a: first four rows, b: last four)
DATA = pd.DataFrame(
    {
        "time": [1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 6.0, 8.0],
        "event": [1, 2, 0, 1, 0, 1, 2, 0],
        "arm": ["a", "a", "a", "a", "b", "b", "b", "b"],
    }
)


@pytest.fixture
def res() -> CumulativeIncidence:
    return cumulative_incidence(DATA)


# ---------------------------------------------------------------------------
# surface
# ---------------------------------------------------------------------------
def test_all_lists_exactly_the_public_names():
    public = {n for n, v in vars(stats).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    assert set(stats.__all__) == public
    assert len(stats.__all__) == len(set(stats.__all__))
    for name in ("cumulative_incidence", "kaplan_meier", "risk_difference", "gray_test", "CumulativeIncidence",
                 "KaplanMeier", "RiskDifference", "GrayTest", "EventCounts", "count_events"):
        assert name in stats.__all__


@pytest.mark.parametrize(
    "module",
    ["", "._aalen_johansen", "._kaplan_meier", "._results", "._risk_difference", "._gray", "._ci", "._counts", "._sql",
     "._serialize"],
)
def test_docstring_examples_run(module):
    mod = importlib.import_module(f"leiosurv.stats{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


# ---------------------------------------------------------------------------
# validation at the boundary
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"variance": "greenwood"}, r"variance must be one of 'delta', 'aalen', 'ij', but was 'greenwood'"),
        ({"ci": "logit"}, r"ci must be one of 'plain', 'log-log', 'log', but was 'logit'"),
        ({"level": 1.5}, r"level must be in \(0, 1\), but was 1.5"),
        ({"level": 0}, r"level must be in \(0, 1\), but was 0"),
        ({"level": "high"}, r"level must be a number in \(0, 1\), but was 'high'"),
        ({"z": -1.0}, r"z must be a positive finite number, but was -1.0"),
    ],
)
def test_cumulative_incidence_rejects_bad_options(kwargs, message):
    with pytest.raises(InputError, match=message):
        cumulative_incidence(DATA, **kwargs)


def test_kaplan_meier_rejects_bad_ci():
    with pytest.raises(InputError, match=r"ci must be one of 'log', 'log-log', 'plain', but was 'cloglog'"):
        kaplan_meier(DATA, ci="cloglog")


def test_z_defaults_to_the_level_quantile_and_can_be_overridden():
    assert math.isclose(cumulative_incidence(DATA).z, 1.959963984540054, rel_tol=1e-15)
    assert math.isclose(cumulative_incidence(DATA, level=0.9).z, 1.6448536269514722, rel_tol=1e-15)
    assert cumulative_incidence(DATA, z=1.96).z == 1.96


@pytest.mark.parametrize(
    ("horizons", "message"),
    [(-1, r"horizons must be finite numbers >= 0, but got -1.0 at position 0"),
     ([1, float("nan")], r"but got nan at position 1"),
     ([], r"non-empty"),
     ("soon", r"horizons must be numbers >= 0")],
)
def test_at_rejects_bad_horizons(res, horizons, message):
    with pytest.raises(DataError, match=message):
        res.at(horizons)


def test_at_rejects_bad_beyond(res):
    with pytest.raises(InputError, match=r"beyond must be one of 'raise', 'nan', but was 'clip'"):
        res.at(1, beyond="clip")


# ---------------------------------------------------------------------------
# the step function
# ---------------------------------------------------------------------------
def test_table_columns_and_ungrouped_group_column(res):
    assert list(res.table.columns) == [
        "group", "time", "n_risk", "n_event_1", "n_event_2", "n_censored",
        "cif_1", "se_1", "lower_1", "upper_1", "cif_2", "se_2", "lower_2", "upper_2",
    ]
    assert res.table["group"].tolist() == [None] * 6
    assert res.causes == (1, 2) and res.groups == [None]
    assert res.table["time"].tolist() == [1, 2, 3, 5, 6, 8]
    assert res.table["n_risk"].tolist() == [8, 7, 5, 4, 2, 1]


def test_at_is_right_continuous(res):
    """Before the first time 0, exactly at a jump the new value, between jumps the last one."""
    t = res.table
    out = res.at([0, 0.5, 1, 1.5, 3, 4.999, 5, 8])
    c1 = out[out["cause"] == 1]
    cif1 = dict(zip(t["time"], t["cif_1"]))
    expected = [0, 0, cif1[1], cif1[1], cif1[3], cif1[3], cif1[5], cif1[8]]
    assert_allclose(c1["estimate"], expected, rtol=0, atol=0)
    assert c1["se"].iloc[:2].tolist() == [0.0, 0.0]
    assert c1["estimate"].iloc[2] == 1 / 8
    assert c1["n_risk_at_horizon"].tolist() == [8, 8, 8, 7, 5, 4, 4, 1]
    assert not c1["beyond_follow_up"].any()
    assert list(out.columns) == ["group", "cause", "horizon", "estimate", "se", "lower", "upper",
                                 "n_risk_at_horizon", "beyond_follow_up"]


def test_beyond_follow_up_raises_naming_group_horizon_and_last_time():
    grouped = cumulative_incidence(DATA, group="arm")
    grouped.at(8)  # group b's last time is 8 (a censoring): a horizon equal to it is within follow-up
    with pytest.raises(DataError, match=r"horizon 8.5 is beyond the last follow-up time 8 of group 'b'"):
        grouped.at([1, 8.5])


def test_beyond_nan_flags_the_rows():
    out = cumulative_incidence(DATA, group="arm").at([2, 9], beyond="nan")
    b = out[out["group"] == "b"]
    assert b["beyond_follow_up"].tolist() == [False, True, False, True]
    assert np.isnan(b.loc[b["beyond_follow_up"], ["estimate", "se", "lower", "upper"]].to_numpy()).all()
    a = out[out["group"] == "a"]
    assert not a["beyond_follow_up"].any() and a["estimate"].notna().all()


def test_follow_up_ending_in_events_carries_the_last_value_forward():
    """Group a's last patient has an event at day 3 (nobody censored then): the risk set is emptied by
    events, so the curves are known for ever after (survfit's summary(extend = TRUE); prodlim: NA)."""
    res = cumulative_incidence(DATA, group="arm")
    last = res.at(3, beyond="nan")
    later = res.at([3.0 + 1e-9, 1826.25], beyond="nan")
    a_last, a_later = last[last["group"] == "a"], later[later["group"] == "a"]
    for k in (1, 2):
        ref = a_last[a_last["cause"] == k].iloc[0]
        rows = a_later[a_later["cause"] == k]
        assert rows["estimate"].tolist() == [ref["estimate"]] * 2
        assert rows["se"].tolist() == [ref["se"]] * 2
        assert rows["n_risk_at_horizon"].tolist() == [0, 0]
        assert not rows["beyond_follow_up"].any()
    # the same for Kaplan-Meier: survival 0 after the last event
    km = kaplan_meier(DATA, group="arm").at(100, beyond="nan")
    assert km.loc[km["group"] == "a", "estimate"].tolist() == [0.0]
    # a censoring at the last time (with or without an event there) ends what is known
    tied = pd.DataFrame({"time": [1.0, 2.0, 2.0], "event": [1, 1, 0]})
    with pytest.raises(DataError, match="beyond the last follow-up time 2"):
        cumulative_incidence(tied).at(3)


def test_kaplan_meier_step_and_ci():
    km = kaplan_meier(DATA)
    out = km.at([0, 1, 2.5])
    assert_allclose(out["estimate"], [1.0, 7 / 8, 7 / 8 * 6 / 7], rtol=1e-15)
    assert out["se"].iloc[0] == 0.0
    assert list(out.columns) == ["group", "horizon", "estimate", "se", "lower", "upper", "n_risk_at_horizon",
                                 "beyond_follow_up"]
    row = km.table.iloc[0]
    greenwood = 1 / (8 * 7)
    assert_allclose(row["se"], 7 / 8 * math.sqrt(greenwood), rtol=1e-15)
    assert_allclose(row["lower"], math.exp(math.log(7 / 8) - km.z * math.sqrt(greenwood)), rtol=1e-15)


def test_log_log_bounds_are_nan_where_undefined_and_plain_bounds_are_truncated():
    res = cumulative_incidence(DATA, ci="log-log")
    first = res.table.iloc[0]
    assert first["cif_2"] == 0 and math.isnan(first["lower_2"]) and math.isnan(first["upper_2"])
    plain = cumulative_incidence(DATA, ci="plain").table
    assert (plain["lower_1"] >= 0).all() and (plain["upper_1"] <= 1).all()


def test_event_map_and_event_counts_input_give_the_same_result(res):
    labelled = DATA.assign(status=DATA["event"].map({0: "alive", 1: "met", 2: "dead"}))
    mapped = cumulative_incidence(labelled, event="status", event_map={"alive": 0, "met": 1, "dead": 2})
    pd.testing.assert_frame_equal(mapped.table, res.table)
    counts = count_events(DATA, "time", "event")
    assert isinstance(counts, EventCounts)
    pd.testing.assert_frame_equal(cumulative_incidence(counts).table, res.table)
    assert mapped.provenance["arguments"]["event_map"] == [["alive", 0], ["met", 1], ["dead", 2]]


def test_events_at_time_zero():
    out = cumulative_incidence({"time": [0.0, 0.0, 1.0, 2.0], "event": [1, 0, 2, 0]})
    assert out.table["time"].tolist() == [0.0, 1.0, 2.0]
    assert_allclose(out.at(0)["estimate"], [0.25, 0.0])


# ---------------------------------------------------------------------------
# serialisation and printing
# ---------------------------------------------------------------------------
def test_cumulative_incidence_json_round_trip_is_lossless():
    res = cumulative_incidence(DATA, group="arm", ci="log-log", variance="aalen")
    text = json.dumps(res.to_dict(), allow_nan=False)
    back = CumulativeIncidence.from_dict(json.loads(text))
    pd.testing.assert_frame_equal(back.table, res.table, check_exact=True)
    pd.testing.assert_frame_equal(back.at([1, 3]), res.at([1, 3]), check_exact=True)
    assert (back.variance, back.ci, back.level, back.z) == (res.variance, res.ci, res.level, res.z)
    assert back.provenance == json.loads(json.dumps(res.provenance))
    assert back.counts.labels == ["a", "b"]


def test_ungrouped_json_round_trip_keeps_the_none_label(res):
    back = CumulativeIncidence.from_dict(json.loads(json.dumps(res.to_dict(), allow_nan=False)))
    pd.testing.assert_frame_equal(back.table, res.table, check_exact=True)
    assert back.groups == [None]


def test_counts_input_with_other_causes_is_rejected():
    counts = count_events(DATA, "time", "event")
    with pytest.raises(InputError, match=r"causes must match the counts' causes \[1, 2\] .* but was \[1\]"):
        cumulative_incidence(counts, causes=[1])


def test_kaplan_meier_json_round_trip_is_lossless():
    km = kaplan_meier(DATA, group="arm")
    back = KaplanMeier.from_dict(json.loads(json.dumps(km.to_dict(), allow_nan=False)))
    pd.testing.assert_frame_equal(back.table, km.table, check_exact=True)


def test_provenance_records_inputs():
    res = cumulative_incidence(DATA, group="arm", z=1.96)
    p = res.provenance
    assert p["function"] == "leiosurv.stats.cumulative_incidence"
    assert p["arguments"]["group"] == "arm" and p["arguments"]["z"] == 1.96
    assert p["n"] == 8 and p["groups"] == [{"label": "a", "n": 4}, {"label": "b", "n": 4}]
    assert "leiosurv_version" in p and isinstance(p["engine"], dict)


def test_estimators_raise_not_fitted_before_fit():
    """STYLE 1: __init__ stores options, fit returns self, fitted attributes end in _, NotFittedError before fit."""
    from leiosurv.exceptions import NotFittedError
    from leiosurv.stats import AalenJohansenEstimator, KaplanMeierEstimator

    for est in (AalenJohansenEstimator(), KaplanMeierEstimator()):
        with pytest.raises(NotFittedError, match=rf"this {type(est).__name__} is not fitted yet"):
            est.predict([1.0])
        with pytest.raises(NotFittedError, match=r"result_ is set by fit\(\)"):
            est.result_
        with pytest.raises(AttributeError, match="no attribute 'colour'"):
            est.colour
        assert est.fit(DATA, group="arm") is est
        assert not isinstance(est.predict(2.0), type(None)) and est.groups_ == ["a", "b"]
    aj = AalenJohansenEstimator(z=1.96).fit(DATA, group="arm")
    pd.testing.assert_frame_equal(pd.DataFrame(aj.predict([2.0, 3.0])),
                                  pd.DataFrame(cumulative_incidence(DATA, group="arm", z=1.96).at([2.0, 3.0])))
    assert aj.causes_ == (1, 2) and repr(AalenJohansenEstimator()).startswith("AalenJohansenEstimator(variance='delta'")


def test_results_print_themselves(res, capsys):
    text = str(res)
    assert text.startswith("CumulativeIncidence: variance='delta', ci='plain'")
    assert "cif_at_last" in text
    res.print_summary()
    assert "cif_at_last" in capsys.readouterr().out
    assert "surv_at_last" in str(kaplan_meier(DATA))
    assert list(res.summary().columns)[:5] == ["group", "cause", "cif_at_last", "lower", "upper"]


@pytest.mark.parametrize("width", [40, 60, 80])
def test_printing_in_a_narrow_terminal_never_hides_the_estimate(monkeypatch, width):
    """Issue 13: print(res.at([...])) and print(res) in a narrow terminal show the estimate."""
    import os

    monkeypatch.setattr("shutil.get_terminal_size", lambda fallback=(80, 24): os.terminal_size((width, 24)))
    res = cumulative_incidence(DATA, group="arm", z=1.96)
    at = res.at([1.0, 2.0])
    text = str(at)
    header = text.splitlines()[0].split()
    for key in ("group", "cause", "horizon", "estimate", "lower", "upper"):
        assert key in header or key in text.split()
    if width >= 60:
        assert all(len(line) <= width for line in text.splitlines())
        assert "not shown for width" in text  # secondary columns dropped, and said so
    assert repr(at) == text
    assert isinstance(at[["estimate"]], pd.DataFrame) and type(at[["estimate"]]) is pd.DataFrame
    assert "cif_at_last" in str(res) and "lower" in str(res).splitlines()[2]
    gt = gray_test(res)
    assert "pv" in str(gt)
    rd = risk_difference(res, 2.0)
    assert " rd " in f" {str(rd)} ".replace("\n", " ")


# ---------------------------------------------------------------------------
# risk differences
# ---------------------------------------------------------------------------
def test_risk_difference_table_and_validation():
    both = pd.DataFrame({"time": [1, 2, 3, 4, 1, 2, 2, 4], "event": [1, 2, 1, 0, 2, 1, 1, 0],
                         "arm": ["a"] * 4 + ["b"] * 4})
    res = cumulative_incidence(both, group="arm", z=1.96)
    rd = risk_difference(res, [2, 3], ratio=True)
    assert isinstance(rd, RiskDifference) and rd.reference == "a"
    t = rd.table
    assert list(t.columns) == ["cause", "horizon", "group", "reference", "risk", "risk_reference", "rd", "se",
                               "lower", "upper", "ratio", "log_ratio_se", "ratio_lower", "ratio_upper"]
    at = res.at([2, 3])
    p1 = at[(at["group"] == "b") & (at["cause"] == 1)]
    p0 = at[(at["group"] == "a") & (at["cause"] == 1)]
    r = t[t["cause"] == 1]
    assert_allclose(r["rd"], p1["estimate"].to_numpy() - p0["estimate"].to_numpy())
    back = RiskDifference.from_dict(json.loads(json.dumps(rd.to_dict(), allow_nan=False)))
    pd.testing.assert_frame_equal(back.table, rd.table, check_exact=True)
    assert (back.reference, back.z, back.level) == (rd.reference, rd.z, rd.level)
    assert "RiskDifference" in str(rd)
    with pytest.raises(InputError, match=r"reference must be one of the groups \['a', 'b'\], but was 'c'"):
        risk_difference(res, 2, reference="c")
    with pytest.raises(InputError, match=r"cause must be one of \[1, 2\], but was 3"):
        risk_difference(res, 2, cause=3)
    with pytest.raises(InputError, match=r"at least two groups"):
        risk_difference(cumulative_incidence(DATA), 2)
    with pytest.raises(DataError, match=r"beyond the last follow-up time 4 of group 'a'"):
        risk_difference(res, 9)


def test_risk_ratio_with_a_zero_risk_warns_and_is_nan():
    res = cumulative_incidence(DATA, group="arm")
    with pytest.warns(StatisticalWarning, match="risk ratio undefined"):
        t = risk_difference(res, 2, cause=1, ratio=True).table  # group b has no event before 5
    assert math.isnan(t["ratio"].iat[0])
    assert t["rd"].iat[0] == -1 / 4


def test_seed_001_risk_difference_follows_from_its_group_intervals():
    """Seed 001: necrosis, 5-year metastasis 9.3% (0.6-18.0) vs 1.5% (0.2-2.8) -> RD 7.8% (-1 to 17).

    The published group CIs are symmetric plain Wald intervals, so se = half-width
    / 1.96; rd -/+ 1.96*sqrt(se1^2 + se0^2) reproduces the published RD interval
    to the published precision (whole percent).
    """
    fr = DLMS_FACTOR_RISKS[("necrosis", "metastasis")]
    z = 1.96
    se1 = (fr.present.upper - fr.present.lower) / 2 / z
    se0 = (fr.absent.upper - fr.absent.lower) / 2 / z
    rd, se, lo, hi = wald_difference(fr.present.estimate, se1, fr.absent.estimate, se0, z)
    assert round(100 * float(rd), 1) == round(100 * fr.difference.estimate, 1) == 7.8
    assert round(100 * float(lo)) == round(100 * fr.difference.lower) == -1
    assert round(100 * float(hi)) == round(100 * fr.difference.upper) == 17


# ---------------------------------------------------------------------------
# Gray's test
# ---------------------------------------------------------------------------
def test_gray_test_surface():
    gt = gray_test(DATA, group="arm")
    assert isinstance(gt, GrayTest)
    assert list(gt.table.columns) == ["cause", "stat", "pv", "df"]
    assert gt.groups == ["a", "b"] and gt.rho == 0.0
    back = GrayTest.from_dict(json.loads(json.dumps(gt.to_dict(), allow_nan=False)))
    pd.testing.assert_frame_equal(back.table, gt.table, check_exact=True)
    assert (back.groups, back.rho) == (gt.groups, gt.rho)
    assert "Gray's test" in str(gt)
    one = gray_test(cumulative_incidence(DATA, group="arm"), causes=[2]).table
    assert one["cause"].tolist() == [2] and one["stat"].iat[0] == gt.table["stat"].iat[1]
    with pytest.raises(InputError, match=r"cause must be one of \[1, 2\], but was 3"):
        gray_test(cumulative_incidence(DATA, group="arm"), causes=[3])
    with pytest.raises(InputError, match="gray_test needs a group column"):
        gray_test(DATA)
    with pytest.raises(InputError, match=r"rho must be a number, but was 'x'"):
        gray_test(DATA, group="arm", rho="x")


def test_gray_test_refuses_more_groups_than_its_limit_before_any_work(monkeypatch):
    """Issue 14: the variance is O(T G^3); above MAX_GROUPS the test refuses at once, naming the limit."""
    from leiosurv.stats import _gray
    from leiosurv.stats._gray import MAX_GROUPS

    rng = np.random.default_rng(3)
    n_groups = 10 * MAX_GROUPS  # 1,000 groups took 16 s before the limit
    n = 20 * n_groups
    data = {"time": np.ceil(rng.exponential(300.0, n)), "event": rng.integers(0, 3, n),
            "g": np.arange(n) % n_groups}

    def never(*args, **kwargs):
        raise AssertionError("the variance must not be computed above the limit")

    with monkeypatch.context() as m:
        m.setattr(_gray, "_pool", never)
        m.setattr(_gray, "_score_variance", never)
        with pytest.raises(InputError, match=rf"gray_test compares at most {MAX_GROUPS} groups, but the data have "
                                             rf"{n_groups}: .*merge groups"):
            gray_test(data, group="g")
    ok = {"time": data["time"][:400], "event": data["event"][:400], "g": np.arange(400) % MAX_GROUPS}
    assert len(gray_test(ok, group="g").groups) == MAX_GROUPS  # at the limit it runs


def test_gray_test_with_a_non_positive_variance_is_nan_with_a_warning():
    """cmprsk's variance estimate is negative here (group b's survival reaches 0 at tied
    times); cmprsk would print stat -3.81, pv 1 -- leiosurv refuses to report a p-value."""
    df = pd.DataFrame({"time": [0.0] * 8 + [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0],
                       "event": [0] * 8 + [1, 1, 0, 1, 1, 0, 0, 0],
                       "arm": list("aaaaaaaaab") + list("aba") + ["a"] * 3})
    with pytest.warns(StatisticalWarning, match=r"not positive definite \(cmprsk would report stat = -3.8075"):
        t = gray_test(df, group="arm").table
    assert np.isnan(t["stat"].iat[0]) and np.isnan(t["pv"].iat[0])


# ---------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------
def test_plot_returns_a_figure_with_labelled_axes_and_risk_table():
    from matplotlib.figure import Figure

    res = cumulative_incidence(DATA, group="arm")
    fig = res.plot(labels={"causes": {1: "metastasis", 2: "death"}, "groups": {"b": "arm B"}}, ci_band=True)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "Cumulative incidence" and ax.get_xlabel() == "time"
    assert len(ax.get_lines()) == 4
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["arm=a, metastasis", "arm=a, death", "arm B, metastasis", "arm B, death"]
    tables = [a for a in ax.child_axes if a.get_title(loc="left") == "Number at risk"]
    assert len(tables) == 1
    texts = [t.get_text() for t in tables[0].texts]
    assert "8" not in texts and "4" in texts and {"arm=a", "arm B"} <= texts_and_names(tables[0])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")  # renders without a display
    assert buf.getvalue()[:4] == b"\x89PNG"


def texts_and_names(ax) -> set:
    return {t.get_text() for t in ax.texts}


def test_plot_rejects_malformed_labels():
    with pytest.raises(InputError, match=r"labels must be a dict with keys 'groups' and/or 'causes'"):
        cumulative_incidence(DATA).plot(labels={1: "metastasis"})


def test_plot_on_given_axes_and_km_plot():
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    out = cumulative_incidence(DATA).plot(ax, causes=[1], risk_table=False)
    assert out is fig and len(ax.get_lines()) == 1 and not ax.child_axes
    with pytest.raises(InputError, match=r"cause must be one of \[1, 2\], but was 7"):
        cumulative_incidence(DATA).plot(causes=[7])
    km_fig = kaplan_meier(DATA, group="arm").plot()
    assert km_fig.axes[0].get_ylabel() == "Survival probability"


def test_wald_difference_is_not_truncated():
    rd, se, lo, hi = wald_difference([0.01], [0.02], [0.0], [0.0], 1.96)
    assert lo[0] < 0


def test_readers_are_chosen_by_type_and_errors_from_inside_a_reader_pass_through():
    """Issue 14: engine dispatch is a registry by type; a TypeError raised while reading is not
    mistaken for "unsupported input" (the old dispatch matched the error's text)."""
    from leiosurv.stats._engines import READERS

    assert [r.name for r in READERS] == ["path", "pandas", "pyarrow", "structured", "mapping", "narwhals"]

    class Frame:  # no reader accepts it
        pass

    with pytest.raises(DataError, match=r"cannot count events in a .*Frame: pass a pandas, polars"):
        count_events(Frame(), "time", "event")

    class Exploding(dict):
        def __getitem__(self, key):
            raise TypeError("Expected something from_native Unsupported")  # the words the old code searched for

    with pytest.raises(TypeError, match="Expected something"):
        count_events(Exploding(time=[1], event=[1]), "time", "event")


def test_shared_constants_and_sql_quoting_are_public():
    from leiosurv.stats import DAYS_PER_MONTH, DAYS_PER_YEAR, quote_identifier, quote_literal

    assert DAYS_PER_YEAR == 365.25 and DAYS_PER_MONTH == 365.25 / 12
    assert quote_identifier('we"ird col') == '"we""ird col"'
    assert quote_literal("it's.csv") == "'it''s.csv'"
    import duckdb

    name = 'a "quoted" col'
    rel = duckdb.sql(f"SELECT 1 AS {quote_identifier(name)}, {quote_literal(name)} AS v")
    assert rel.columns[0] == name and rel.fetchall() == [(1, name)]


def test_import_loads_numpy_only():
    """Issue 14: `import leiosurv.stats` imports pandas, scipy, matplotlib, duckdb, narwhals and
    pyarrow only where they are used (checked in a fresh interpreter; the time is in the benchmark)."""
    import subprocess
    import sys

    code = ("import sys, leiosurv.stats; heavy = ('pandas', 'scipy', 'matplotlib', 'duckdb', 'narwhals', "
            "'pyarrow', 'polars'); print(','.join(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
    code = ("import sys, leiosurv.stats as s; s.cumulative_incidence({'time': [1, 2], 'event': [1, 0]}); "
            "print(','.join(m for m in ('pandas', 'scipy', 'duckdb') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""  # estimating on arrays needs numpy alone; pandas comes with the first table


# -- issue 23, point 7: the statistics API at its edges ------------------------------------------------------
def test_a_stray_event_code_is_refused_unless_declared():
    data = {"time": [1.0, 2.0, 3.0, 4.0], "event": [1, 3, 2, 0]}
    with pytest.raises(DataError, match=r"column 'event': 1 row has event code \[3\], beyond the default coding"):
        cumulative_incidence(data)
    res = cumulative_incidence(data, causes=(1, 2, 3))  # declared: a third cause
    assert res.causes == (1, 2, 3)
    assert cumulative_incidence(data, event_map={0: 0, 1: 1, 2: 2, 3: 2}).causes == (1, 2)
    with pytest.raises(DataError, match="event code"):
        kaplan_meier(data)


def test_results_show_themselves_in_notebooks_and_the_repl():
    res = cumulative_incidence(DATA, group="arm")
    html = res._repr_html_()
    assert html.startswith("<p><strong>CumulativeIncidence") and "<table" in html and "cif_at_last" in html
    gray = gray_test(res)
    assert repr(gray) == str(gray) and "<GrayTest" not in repr(gray)
    assert "stat" in repr(gray) and "pv" in repr(gray) and "<table" in gray._repr_html_()
    assert "<table" in kaplan_meier(DATA)._repr_html_()


def test_risk_difference_table_prints_every_column():
    rd = risk_difference(cumulative_incidence(DATA, group="arm"), [3, 4], cause=2)
    with pd.option_context("display.max_columns", 0, "display.width", 80):  # as in an 80-column terminal
        text = repr(rd.table)
    assert "..." not in text
    for col in rd.table.columns:
        assert col in text
    assert rd.table["rd"].tolist() == rd.table["rd"].tolist()  # still a DataFrame to compute on


def test_plot_names_the_time_axis():
    res = cumulative_incidence(DATA, group="arm")
    fig = res.plot(labels={"time": "Days since diagnosis", "causes": {1: "metastasis"}})
    assert fig.axes[0].get_xlabel() == "Days since diagnosis"
    assert kaplan_meier(DATA).plot(labels={"time": "Years"}).axes[0].get_xlabel() == "Years"
    assert res.plot().axes[0].get_xlabel() == "time"
    with pytest.raises(InputError, match=r"labels\['time'\] must be text"):
        res.plot(labels={"time": 5})


def test_conditional_incidence_plots():
    cond = conditional_incidence(DATA, group="arm", landmark=1.5)
    fig = cond.plot()
    assert fig.axes[0].get_xlabel() == "time since the landmark 1.5"
    assert cond.plot(labels={"time": "days after s"}).axes[0].get_xlabel() == "days after s"
    assert "<table" in cond._repr_html_()


def test_the_ci_defaults_are_explained():
    import inspect

    assert inspect.signature(cumulative_incidence).parameters["ci"].default == "plain"
    assert inspect.signature(kaplan_meier).parameters["ci"].default == "log"
    assert "Why ``\"plain\"`` by default" in cumulative_incidence.__doc__
    assert "Why ``\"log\"`` by default" in kaplan_meier.__doc__

"""Delayed entry (left truncation) against R: ``survival::survfit`` (multi-state, IJ SE),
``prodlim`` (delta-method SE) and ``survfit`` Kaplan–Meier, rtol 1e-9.

Reference: shared/reference/melanoma_delayed_entry.json, made by
``survfit(Surv(entry, time, factor(status, levels = 0:2)) ~ ulcer, data, id = id)`` and
``prodlim(Hist(time, status, entry = entry) ~ ulcer)`` (R 4.2.2, survival 3.5-3,
prodlim 2019.11.13); entry = (3 * time) %/% 10 for rows i %% 3 == 0, else 0.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from leiosurv.exceptions import DataError, InputError
from leiosurv.stats import count_events, cumulative_incidence, kaplan_meier

from ._entry_weights_data import ATOL, HORIZONS, RTOL, arr, melanoma, reference, strata

FILE = "melanoma_delayed_entry.json"


def _label(stratum: str):
    return None if stratum == "overall" else int(stratum.split("=")[1])


@pytest.mark.parametrize(("group", "stratum"), strata())
def test_curves_match_survfit_ij(group, stratum):
    """survfit(Surv(entry, time, factor(status)) ~ 1 / ~ ulcer, id = id): cif1, cif2, se1, se2 and
    n.risk on every event time of the stratum."""
    ref = reference(FILE)["strata"][stratum]["curve"]
    res = cumulative_incidence(melanoma(), "time", "status", group, entry="entry", variance="ij")
    tab = res.table[res.table["group"].apply(lambda g: g == _label(stratum))]
    tab = tab[tab["time"].isin(ref["time"])]
    assert_array_equal(tab["time"], ref["time"])
    assert_array_equal(tab["n_risk"], ref["n_risk"])
    for k in (1, 2):
        assert_allclose(tab[f"cif_{k}"], ref[f"cif{k}"], rtol=RTOL, atol=ATOL)
        assert_allclose(tab[f"se_{k}"], ref[f"se{k}"], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(("group", "stratum"), strata())
def test_horizons_match_survfit_with_log_ci(group, stratum):
    """survfit's est, IJ se and native log CI (conf.type = 'log', z = qnorm(0.975)) at 1, 2, 5 years;
    survfit gives no log bound where the estimate is 0 (NaN here)."""
    ref = reference(FILE)["strata"][stratum]["survfit"]
    res = cumulative_incidence(melanoma(), "time", "status", group, entry="entry", variance="ij", ci="log")
    at = res.at(HORIZONS)
    for k in (1, 2):
        rows = at[(at["cause"] == k) & at["group"].apply(lambda g: g == _label(stratum))]
        c = ref[f"cause{k}"]
        assert_allclose(rows["estimate"], c["est"], rtol=RTOL, atol=ATOL)
        assert_allclose(rows["se"], c["se"], rtol=RTOL, atol=ATOL)
        assert_allclose(rows["lower"], arr(c["lower_native"]), rtol=RTOL, atol=ATOL)
        assert_allclose(rows["upper"], arr(c["upper_native"]), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(("group", "stratum"), strata())
def test_delta_variance_with_entry_matches_prodlim(group, stratum):
    """prodlim(Hist(time, status, entry = entry) ~ ulcer): cuminc and se.cuminc at 1, 2, 5 years
    (prodlim's delta method on the left-truncated risk sets; R printed 15 digits)."""
    ref = reference(FILE)["strata"][stratum]["prodlim"]
    at = cumulative_incidence(melanoma(), "time", "status", group, entry="entry").at(HORIZONS)
    for k in (1, 2):
        rows = at[(at["cause"] == k) & at["group"].apply(lambda g: g == _label(stratum))]
        assert_allclose(rows["estimate"], ref[f"cause{k}"]["est"], rtol=1e-13, atol=ATOL)
        assert_allclose(rows["se"], ref[f"cause{k}"]["se"], rtol=1e-13, atol=ATOL)


def test_kaplan_meier_with_entry_matches_survfit():
    """summary(survfit(Surv(entry, time, status > 0) ~ 1), times = c(365.25, 730.5, 1826.25)):
    surv, std.err (Greenwood on the left-truncated risk sets), log CI; and ~ ulcer (surv, std.err).
    Values from R 4.2.2 / survival 3.5-3 run by hand on melanoma.csv."""
    km = kaplan_meier(melanoma(), "time", "status", entry="entry").at(HORIZONS)
    assert_allclose(km["estimate"], [0.92291715851455602, 0.86290243451914705, 0.69770941144275389], rtol=RTOL)
    assert_allclose(km["se"], [0.022322161091338558, 0.027808127643376385, 0.034263000404931215], rtol=RTOL)
    assert_allclose(km["lower"], [0.88018732624034068, 0.81008509722315836, 0.63368571079037006], rtol=RTOL)
    assert_allclose(km["upper"], [0.96772136576754031, 0.91916344844688813, 0.76820167241680493], rtol=RTOL)
    by = kaplan_meier(melanoma(), "time", "status", "ulcer", entry="entry").at(HORIZONS)
    assert_allclose(by["estimate"], [0.97483974358974368, 0.97483974358974368, 0.87144140094634093,
                                     0.8600575634368145, 0.73203115744193581, 0.49652760900814585], rtol=RTOL)
    assert_allclose(by["se"], [0.01756681814432046, 0.01756681814432046, 0.033428300912324592,
                               0.043228030039545874, 0.052412352717065923, 0.054430472025238132], rtol=RTOL)


def test_entry_on_an_event_day_is_not_at_risk_that_day():
    """At risk when entry < t <= time: entering on the day of an event leaves the row out of that
    risk set; entering the day before puts it in (moving the entry by a day changes the estimate)."""
    base = {"time": [5.0, 8.0, 9.0, 12.0], "event": [1, 0, 1, 2]}
    on_day = cumulative_incidence({**base, "entry": [0.0, 0.0, 5.0, 0.0]}, entry="entry")
    day_before = cumulative_incidence({**base, "entry": [0.0, 0.0, 4.0, 0.0]}, entry="entry")
    assert on_day.table["n_risk"].tolist() == [3, 3, 2, 1]
    assert day_before.table["n_risk"].tolist() == [4, 3, 2, 1]
    assert on_day.at(5)["estimate"].iat[0] == pytest.approx(1 / 3)
    assert day_before.at(5)["estimate"].iat[0] == pytest.approx(1 / 4)
    assert on_day.at(5)["n_risk_at_horizon"].iat[0] == 3  # n_risk_at reads the entries too
    assert day_before.at(5)["n_risk_at_horizon"].iat[0] == 4


_times = st.lists(st.tuples(st.integers(1, 30), st.integers(0, 2), st.integers(0, 1)), min_size=2, max_size=40)


@settings(max_examples=60, deadline=None)
@given(_times)
def test_entry_at_zero_changes_nothing(rows):
    """Every row entering at 0 (times > 0) gives the plain estimates, SEs and numbers at risk, for
    both variances and for Kaplan–Meier."""
    data = {"time": [float(t) for t, _, _ in rows], "event": [e for _, e, _ in rows],
            "g": [g for _, _, g in rows], "entry": [0.0] * len(rows)}
    if not any(data["event"]):
        data["event"][0] = 1
    for variance in ("delta", "ij"):
        plain = cumulative_incidence(data, group=None, variance=variance).table
        entered = cumulative_incidence(data, variance=variance, entry="entry").table
        pd.testing.assert_frame_equal(plain, entered, check_exact=False, rtol=1e-12, atol=1e-15)
    pd.testing.assert_frame_equal(kaplan_meier(data, group="g").table,
                                  kaplan_meier(data, group="g", entry="entry").table)


@settings(max_examples=60, deadline=None)
@given(_times, st.lists(st.integers(0, 29), min_size=40, max_size=40))
def test_ij_and_delta_agree_without_weights(rows, entries):
    """The IJ variance on unweighted data without entry equals prodlim's delta method (survfit and prodlim
    agree there); with entry the CIFs agree (the variances need not)."""
    data = {"time": [float(t) for t, _, _ in rows], "event": [e for _, e, _ in rows]}
    if not any(data["event"]):
        data["event"][0] = 1
    d = cumulative_incidence(data, variance="delta").table
    ij = cumulative_incidence(data, variance="ij").table
    # where the true variance is 0 (a CIF reaching 1), both kernels leave a rounding residue of
    # ~1e-17 in the variance, ~1e-8 after the square root: hence atol on the SEs and bounds
    pd.testing.assert_frame_equal(d, ij, check_exact=False, rtol=1e-9, atol=5e-8)
    data["entry"] = [float(min(e, t - 1)) for e, t in zip(entries, data["time"])]
    d = cumulative_incidence(data, variance="delta", entry="entry").table
    ij = cumulative_incidence(data, variance="ij", entry="entry").table
    cifs = [c for c in d.columns if c.startswith("cif_")]
    assert_allclose(d[cifs], ij[cifs], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ([0.0, 1.0, 3.0], r"column 'e' \(entry\): 1 row\(s\) have an entry at or after their 'time' "
                          r"\(first at position 2: entry 3, time 3\); a row must enter before it leaves"),
        ([0.0, 5.0, 1.0], r"column 'e' \(entry\): 1 row\(s\) have an entry at or after their 'time' "
                          r"\(first at position 1"),
        ([0.0, -1.0, 1.0], r"column 'e' \(entry\): 1 row\(s\) have a negative entry time"),
        ([0.0, float("nan"), 1.0], r"column 'e' \(entry\): 1 row\(s\) have a missing or infinite entry time"),
        ([0.0, float("inf"), 1.0], r"column 'e' \(entry\): 1 row\(s\) have a missing or infinite entry time"),
    ],
)
def test_bad_entries_are_one_clear_line(entry, match):
    data = {"time": [1.0, 2.0, 3.0], "event": [1, 0, 2], "e": entry}
    with pytest.raises(DataError, match=match):
        cumulative_incidence(data, entry="e")
    with pytest.raises(DataError, match=match):
        kaplan_meier(data, entry="e")


def test_entry_refusals_name_the_problem(tmp_path):
    data = {"time": [1.0, 2.0, 3.0], "event": [1, 0, 2], "e": [0.0, 1.0, 0.5]}
    with pytest.raises(DataError, match=r"column 'entry_day' \(the entry column\) not found"):
        cumulative_incidence(data, entry="entry_day")
    with pytest.raises(InputError, match=r"variance='aalen' \(cmprsk::cuminc\) has no delayed entry"):
        cumulative_incidence(data, entry="e", variance="aalen")
    with pytest.raises(InputError, match="EventCounts"):
        cumulative_incidence(count_events(data, "time", "event"), entry="e")
    path = tmp_path / "rows.csv"
    pd.DataFrame(data).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"column 'entry_day' \(the entry column\) not found"):
        cumulative_incidence(path, entry="entry_day")


def test_entry_and_weights_from_files_and_other_engines_give_the_in_memory_estimates(tmp_path):
    """A CSV or Parquet path (DuckDB streams out the named columns), a polars frame and a DuckDB relation
    (narrowed and collected through Narwhals) give exactly the in-memory estimates: the same numpy code
    computes them (CIF with the IJ and delta SEs, Kaplan–Meier with weights)."""
    df = melanoma()
    csv, parquet = tmp_path / "m.csv", tmp_path / "m.parquet"
    df.to_csv(csv, index=False)
    df.to_parquet(parquet)
    pl = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    inputs = [csv, str(parquet), pl.from_pandas(df), pl.from_pandas(df).lazy(),
              con.sql(f"SELECT * FROM read_parquet('{parquet}')")]
    calls = [
        lambda d: cumulative_incidence(d, "time", "status", "ulcer", entry="entry", weights="w", variance="ij").table,
        lambda d: cumulative_incidence(d, "time", "status", "ulcer", entry="entry").table,
        lambda d: kaplan_meier(d, "time", "status", "ulcer", entry="entry", weights="w").table,
    ]
    for call in calls:
        expected = call(df)
        for data in inputs:
            pd.testing.assert_frame_equal(call(data), expected)


def test_entries_survive_pooling():
    """Counts with entries pooled over groups keep the entries (the numbers at risk stay left-truncated)."""
    df = melanoma()
    res = cumulative_incidence(df, "time", "status", "ulcer", entry="entry")
    pooled = res.counts.pooled().groups[0]
    whole = cumulative_incidence(df, "time", "status", entry="entry").counts.groups[0]
    assert_array_equal(pooled.n_risk, whole.n_risk)


def test_results_with_entry_round_trip_through_json():
    """to_dict/from_dict keep the entry times: the numbers at risk stay left-truncated after a round trip."""
    from leiosurv.stats import CumulativeIncidence, KaplanMeier

    df = melanoma()
    for res, cls in ((cumulative_incidence(df, "time", "status", "ulcer", entry="entry", variance="ij"),
                      CumulativeIncidence),
                     (kaplan_meier(df, "time", "status", "ulcer", entry="entry"), KaplanMeier)):
        back = cls.from_dict(res.to_dict())
        pd.testing.assert_frame_equal(back.table, res.table)
        pd.testing.assert_frame_equal(back.at(HORIZONS), res.at(HORIZONS))

"""The same data through every engine give identical counts and identical curves.

Counts are checked against R's risk tables in shared/reference/melanoma.json
(``n_risk``, ``n_event1``, ``n_event2``, ``n_censor`` on the grid of distinct
times, from ``survival::survfit(Surv(time, factor(status, levels = 0:2)) ~ group)``),
and the Aalen–Johansen curves of every engine against the pandas path (bitwise)
and R's ``prodlim::prodlim(Hist(time, status) ~ group)`` (rtol 1e-9).
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from leiosurv.stats import EventCounts, count_events, cumulative_incidence

REF = Path(__file__).resolve().parents[2].parent / "shared" / "reference"


@pytest.fixture(scope="module")
def melanoma() -> pd.DataFrame:
    return pd.read_csv(REF / "melanoma.csv")


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads((REF / "melanoma.json").read_text())


@pytest.fixture(scope="module")
def files(melanoma: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("engines")
    melanoma.to_csv(d / "melanoma.csv", index=False)
    melanoma.to_parquet(d / "melanoma.parquet", index=False)
    return {"csv": d / "melanoma.csv", "parquet": d / "melanoma.parquet"}


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for the whole test run (slow to start)."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("leiosurv-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "1")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


# name -> (how to build the input, expected meta["engine"])
BACKENDS = {
    "pandas": (lambda df, f: df, "numpy"),
    "pandas-nullable": (lambda df, f: df.convert_dtypes(), "numpy"),
    "dict-numpy": (lambda df, f: {c: df[c].to_numpy() for c in df.columns}, "numpy"),
    "dict-lists": (lambda df, f: {c: df[c].tolist() for c in df.columns}, "numpy"),
    "structured": (lambda df, f: df.to_records(index=False), "numpy"),
    "pyarrow": (lambda df, f: pa.Table.from_pandas(df, preserve_index=False), "numpy"),
    "polars": (lambda df, f: pl.from_pandas(df), "narwhals[polars]"),
    "polars-lazy": (lambda df, f: pl.from_pandas(df).lazy(), "narwhals[polars]"),
    "duckdb-relation": (lambda df, f: duckdb.from_arrow(pa.Table.from_pandas(df)), "narwhals[duckdb]"),
    "csv-path": (lambda df, f: f["csv"], "duckdb"),
    "csv-str": (lambda df, f: str(f["csv"]), "duckdb"),
    "parquet-path": (lambda df, f: f["parquet"], "numpy"),  # small files: pyarrow reads, numpy counts
}


def assert_same_counts(a: EventCounts, b: EventCounts) -> None:
    assert a.causes == b.causes
    assert a.group_name == b.group_name
    assert a.labels == b.labels
    for ga, gb in zip(a.groups, b.groups):
        assert_array_equal(ga.time, gb.time)
        assert_array_equal(ga.events, gb.events)
        assert_array_equal(ga.censored, gb.censored)
        assert ga.events.dtype == gb.events.dtype == np.int64
        assert ga.censored.dtype == gb.censored.dtype == np.int64


def assert_matches_r(ec: EventCounts, reference: dict, group: str | None) -> None:
    """R tabulates the distinct *event* times; every censor-only time adds to n_censor there."""
    strata = {None: "overall"} if group is None else {lab: f"{group}={lab}" for lab in ec.labels}
    for label, key in strata.items():
        r = reference["curves"][key]
        g = ec[label]
        assert g.n == r["n"]
        keep = g.n_events > 0
        assert_array_equal(g.time[keep], r["time"])
        assert_array_equal(g.n_risk[keep], r["n_risk"])
        assert_array_equal(g.events[keep, 0], r["n_event1"])
        assert_array_equal(g.events[keep, 1], r["n_event2"])
        assert int(g.censored.sum()) == r["n_censored"]


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("group", [None, "ulcer"])
def test_every_backend_gives_the_same_counts(backend, group, melanoma, files, reference):
    build, engine = BACKENDS[backend]
    expected = count_events(melanoma, "time", "status", group)
    got = count_events(build(melanoma, files), "time", "status", group)
    assert_same_counts(got, expected)
    assert_matches_r(got, reference, group)
    assert got.meta["engine"] == engine
    assert got.meta["n_rows"] == 205
    assert got.meta["columns"] == {"time": "time", "event": "status", "group": group}
    assert got.meta["source"]


@pytest.mark.parametrize("backend", ["pandas", "polars-lazy", "pyarrow", "parquet-path", "duckdb-relation"])
def test_every_backend_gives_the_same_cif(backend, melanoma, files, reference):
    """prodlim::prodlim(Hist(time, status) ~ ulcer): cif1, cif2 per stratum, rtol 1e-9."""
    build, _ = BACKENDS[backend]
    base = cumulative_incidence(melanoma, "time", "status", "ulcer")
    res = cumulative_incidence(build(melanoma, files), "time", "status", "ulcer")
    pd.testing.assert_frame_equal(res.table, base.table)
    for label in (0, 1):
        r = reference["curves"][f"ulcer={label}"]
        tab = res.table[(res.table["group"] == label) & res.table["time"].isin(r["time"])]
        assert_allclose(tab["cif_1"], r["prodlim"]["cif1"], rtol=1e-9, atol=1e-15)
        assert_allclose(tab["cif_2"], r["prodlim"]["cif2"], rtol=1e-9, atol=1e-15)


@pytest.mark.spark
def test_spark_counts_and_cif_match(spark, melanoma, reference):
    """The distributed path: groupBy on Spark, only the aggregate collected."""
    sdf = spark.createDataFrame(melanoma)
    got = count_events(sdf, "time", "status", "ulcer")
    assert got.meta["engine"] == "narwhals[pyspark]"
    assert got.meta["n_keys"] < 205
    assert_same_counts(got, count_events(melanoma, "time", "status", "ulcer"))
    assert_matches_r(got, reference, "ulcer")
    res = cumulative_incidence(sdf, "time", "status", "ulcer")
    base = cumulative_incidence(melanoma, "time", "status", "ulcer")
    pd.testing.assert_frame_equal(res.table, base.table)


@pytest.mark.spark
def test_spark_bad_input_is_a_data_error(spark, melanoma):
    from leiosurv.exceptions import DataError

    bad = melanoma.assign(time=melanoma["time"].astype(float))
    bad.loc[[3, 7], "time"] = -1.0
    with pytest.raises(DataError, match=r"column 'time': 2 rows have negative times \(smallest -1\.0\)"):
        count_events(spark.createDataFrame(bad), "time", "status", "ulcer")
    with pytest.raises(DataError, match=r"column 'stat' \(the event column\) not found; available columns: \['time', 'status'"):
        count_events(spark.createDataFrame(melanoma), "time", "stat")


def test_event_counts_pass_through(melanoma):
    ec = count_events(melanoma, "time", "status")
    assert count_events(ec, "ignored", "ignored") is ec


@pytest.mark.parametrize("backend", ["pandas", "polars", "csv-path", "duckdb-relation"])
def test_event_map_with_labels(backend, melanoma, tmp_path):
    labelled = melanoma.assign(
        outcome=melanoma["status"].map({0: "alive", 1: "melanoma death", 2: "other death"})
    )
    labelled.to_csv(tmp_path / "labelled.csv", index=False)
    build, _ = BACKENDS[backend]
    data = build(labelled, {"csv": tmp_path / "labelled.csv"})
    emap = {"alive": 0, "melanoma death": 1, "other death": 2}
    got = count_events(data, "time", "outcome", "sex", event_map=emap)
    assert_same_counts(got, count_events(melanoma, "time", "status", "sex"))
    assert got.meta["event_map"] == {"'alive'": 0, "'melanoma death'": 1, "'other death'": 2}


def test_event_map_merges_causes_and_declares_empty_ones(melanoma):
    """Codes 1 and 2 both mapped to 1 ('any death'); a declared cause 2 with no events stays a zero column."""
    got = count_events(melanoma, "time", "status", event_map={0: 0, 1: 1, 2: 1})
    assert got.causes == (1,)
    assert int(got.groups[0].events.sum()) == 57 + 14
    two = count_events(melanoma, "time", "status", causes=(1, 2, 3))
    assert two.causes == (1, 2, 3)
    assert int(two.groups[0].events[:, 2].sum()) == 0


def test_boolean_event_and_string_groups():
    data = {
        "t": np.array([3.0, 1.0, 2.0, 2.0, 5.0]),
        "dead": np.array([True, False, True, False, True]),
        "arm": np.array(["b", "a", "a", "b", "a"]),
    }
    ec = count_events(data, "t", "dead", "arm")
    assert ec.causes == (1,) and ec.labels == ["a", "b"]
    assert ec["a"].time.tolist() == [1.0, 2.0, 5.0]
    assert ec["a"].events[:, 0].tolist() == [0, 1, 1]
    assert ec["b"].censored.tolist() == [1, 0]


def test_categorical_groups_keep_their_declared_order():
    df = pd.DataFrame(
        {
            "t": [1, 2, 3, 4],
            "e": [1, 1, 0, 1],
            "risk": pd.Categorical(["high", "low", "high", "low"], categories=["low", "high"]),
        }
    )
    assert count_events(df, "t", "e", "risk").labels == ["low", "high"]


def test_parquet_rows_never_reach_python(tmp_path):
    """A 2-million-row file is aggregated by DuckDB: Python allocates only the aggregate."""
    path = tmp_path / "big.parquet"
    duckdb.sql(
        "SELECT (i % 3650)::DOUBLE AS t, (i % 7 = 0)::INTEGER + (i % 11 = 0)::INTEGER AS e, "
        "(i % 2) AS g FROM range(2000000) r(i)"
    ).write_parquet(str(path))
    tracemalloc.start()
    try:
        ec = count_events(path, "t", "e", "g")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ec.n == 2_000_000 and ec.meta["engine"] == "duckdb"
    assert ec.meta["n_keys"] <= 2 * 3650 * 3
    raw_bytes = 2_000_000 * 3 * 8
    assert peak < raw_bytes / 20, f"peak Python allocation {peak} bytes for {raw_bytes} bytes of rows"


def test_integer_and_float_times_agree(melanoma):
    ints = count_events(melanoma, "time", "status", "ulcer")
    floats = count_events(melanoma.assign(time=melanoma["time"] * 1.0), "time", "status", "ulcer")
    shifted = count_events(melanoma.assign(time=melanoma["time"] + 0.25), "time", "status", "ulcer")
    assert ints.meta["counting"] == floats.meta["counting"] == "bincount"
    assert shifted.meta["counting"] == "sort"
    assert_same_counts(ints, floats)
    for a, b in zip(ints.groups, shifted.groups):
        assert_array_equal(a.time + 0.25, b.time)
        assert_array_equal(a.events, b.events)
        assert_array_equal(a.censored, b.censored)


def test_meta_is_json_serialisable(melanoma, files):
    for data in (melanoma, files["parquet"], pl.from_pandas(melanoma)):
        ec = count_events(data, "time", "status", "sex", event_map={0: 0, 1: 1, 2: 2})
        assert json.loads(json.dumps(ec.meta)) == ec.meta


def test_files_are_counted_by_the_strategy_that_fits_them(tmp_path):
    """Small Parquet: pyarrow + numpy; large with ties: DuckDB GROUP BY; large continuous: rows streamed to numpy.

    Every strategy gives the counts of the in-memory numpy path, exactly."""
    from leiosurv.stats._engine_frames import SMALL_PARQUET_ROWS

    rng = np.random.default_rng(7)
    n = SMALL_PARQUET_ROWS + 1000
    cont = {"t": rng.exponential(100.0, n), "e": rng.integers(0, 3, n).astype(np.int8),
            "g": rng.integers(0, 2, n).astype(np.int8)}
    ties = dict(cont, t=np.ceil(cont["t"]))
    for name, data, expected in (("cont", cont, "rows"), ("ties", ties, "group by")):
        path = tmp_path / f"{name}.parquet"
        import pyarrow.parquet as pq

        pq.write_table(pa.table(data), path, row_group_size=300_000)
        from_file = count_events(path, "t", "e", "g")
        assert from_file.meta["file_counting"] == expected
        assert_same_counts(from_file, count_events(data, "t", "e", "g"))
        small = tmp_path / f"{name}_small.parquet"
        pq.write_table(pa.table({k: v[:5000] for k, v in data.items()}), small)
        ec = count_events(small, "t", "e", "g")
        assert ec.meta["file_counting"] == "pyarrow" and ec.meta["engine"] == "numpy"
        assert_same_counts(ec, count_events({k: v[:5000] for k, v in data.items()}, "t", "e", "g"))

"""Every kind of bad survival data raises DataError naming the column and the row count.

Each case runs through the in-memory path (pandas -> numpy), the DuckDB file
path (Parquet) and the Narwhals path (polars); the messages are the same.
Nothing is dropped silently: a count is only returned for fully valid data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leiosurv.exceptions import DataError, InputError
from leiosurv.stats import count_events, cumulative_incidence


def base() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "status": [1, 0, 2, 1, 0, 0, 1, 0],
            "arm": ["a", "b", "a", "b", "a", "b", "a", "b"],
        }
    )


@pytest.fixture(params=["pandas", "parquet", "polars"])
def through(request, tmp_path):
    """Turn a pandas frame into the input of one engine."""

    def convert(df: pd.DataFrame):
        if request.param == "pandas":
            return df
        if request.param == "polars":
            return pl.from_pandas(df, nan_to_null=False)
        path = tmp_path / "data.parquet"
        df.to_parquet(path, index=False)
        return path

    convert.engine = request.param
    return convert


def raises(n_rows: int, column: str | None, pattern: str):
    """pytest.raises(DataError) that also checks the structured context."""

    class _Check:
        def __enter__(self):
            self._ctx = pytest.raises(DataError, match=pattern)
            self._info = self._ctx.__enter__()
            return self._info

        def __exit__(self, *exc):
            out = self._ctx.__exit__(*exc)
            assert self._info.value.column == column
            assert self._info.value.n_rows == n_rows
            return out

    return _Check()


def test_negative_times(through):
    df = base()
    df.loc[[0, 3, 5], "time"] = [-2.0, -0.5, -1.0]
    with raises(3, "time", r"column 'time': 3 rows have negative times \(smallest -2\.0\); times must be >= 0"):
        count_events(through(df), "time", "status", "arm")


def test_missing_times(through):
    df = base()
    df.loc[[1, 6], "time"] = np.nan
    with raises(2, "time", r"column 'time': 2 rows have missing times \(null or NaN\)"):
        count_events(through(df), "time", "status", "arm")


def test_null_times_in_nullable_integer_column(through):
    df = base().astype({"time": "Int64"})
    df.loc[[2], "time"] = pd.NA
    with raises(1, "time", r"column 'time': 1 row has missing times"):
        count_events(through(df), "time", "status")


def test_infinite_times(through):
    df = base()
    df.loc[[4], "time"] = np.inf
    with raises(1, "time", r"column 'time': 1 row has infinite times; times must be finite"):
        count_events(through(df), "time", "status", "arm")


def test_missing_event_codes(through):
    df = base().astype({"status": "float64"})
    df.loc[[0, 2], "status"] = np.nan
    with raises(2, "status", r"column 'status': 2 rows have a missing event code .*not a censoring"):
        count_events(through(df), "time", "status", "arm")


def test_unknown_event_codes(through):
    df = base()
    df.loc[[1, 5], "status"] = 3
    df.loc[[7], "status"] = -1
    with raises(
        3,
        "status",
        r"column 'status': 3 rows have event codes that are neither 0 \(censored\) nor a cause in "
        r"\(1, 2\): \[-1, 3\]; declare the causes",
    ):
        count_events(through(df), "time", "status", "arm", causes=(1, 2))


def test_non_integer_event_codes_are_unknown(through):
    df = base().astype({"status": "float64"})
    df.loc[[4], "status"] = 1.5
    with raises(1, "status", r"column 'status': 1 row has event codes .*\[1\.5\]"):
        count_events(through(df), "time", "status")


def test_text_event_codes_need_an_event_map(through):
    df = base().assign(status=lambda d: d["status"].map({0: "alive", 1: "lms", 2: "other"}))
    with raises(8, "status", r"column 'status': 8 rows have event codes .*\['alive', 'lms', 'other'\].*event_map"):
        count_events(through(df), "time", "status")


def test_event_map_lists_unmapped_values(through):
    df = base().assign(status=lambda d: d["status"].map({0: "alive", 1: "lms", 2: "lost"}))
    with raises(1, "status", r"column 'status': 1 row has values missing from event_map: \['lost'\]"):
        count_events(through(df), "time", "status", event_map={"alive": 0, "lms": 1})


def test_missing_group_labels(through):
    df = base()
    df.loc[[2, 3], "arm"] = None
    with raises(2, "arm", r"column 'arm': 2 rows have a missing group label"):
        count_events(through(df), "time", "status", "arm")


def test_all_rows_censored(through):
    df = base().assign(status=0)
    with raises(8, "status", r"column 'status': all 8 rows are censored \(code 0\)"):
        count_events(through(df), "time", "status", "arm")


def test_missing_column_lists_available(through):
    with raises(
        None, "tme", r"column 'tme' \(the time column\) not found; available columns: \['time', 'status', 'arm'\]"
    ):
        count_events(through(base()), "tme", "status", "arm")
    with raises(None, "group", r"column 'group' \(the group column\) not found"):
        count_events(through(base()), "time", "status", "group")


def test_text_times(through):
    df = base().astype({"time": str})
    with pytest.raises(DataError, match=r"column 'time' .*(type|numeric)"):
        count_events(through(df), "time", "status")


def test_zero_rows(through):
    df = base().iloc[:0]
    with raises(0, "time", r"column 'time': the data have 0 rows"):
        count_events(through(df), "time", "status")


@pytest.mark.parametrize(
    "make",
    [
        lambda df: df.astype({"arm": pd.CategoricalDtype(["a", "b", "c"])}),
        lambda df: pl.from_pandas(df).with_columns(pl.col("arm").cast(pl.Enum(["a", "b", "c"]))),
        lambda df: pa.Table.from_pandas(df.drop(columns="arm"), preserve_index=False).append_column(
            "arm",
            pa.DictionaryArray.from_arrays(pa.array([0, 1] * 4, pa.int32()), pa.array(["a", "b", "c"])),
        ),
    ],
    ids=["pandas-categorical", "polars-enum", "arrow-dictionary"],
)
def test_empty_declared_group(make):
    with raises(0, "arm", r"column 'arm': 1 declared group level\(s\) have 0 rows: \['c'\]"):
        count_events(make(base()), "time", "status", "arm")


def test_bad_arguments():
    with pytest.raises(DataError, match=r"causes must be distinct positive integers .*got \(0, 1\)"):
        count_events(base(), "time", "status", causes=(0, 1))
    with pytest.raises(DataError, match=r"event_map\['x'\] = -1: event_map values must be integers >= 0"):
        count_events(base(), "time", "status", event_map={"x": -1})
    with pytest.raises(DataError, match=r"event_map\['x'\] = 'censored': event_map values must be integers"):
        count_events(base(), "time", "status", event_map={"x": "censored"})
    with pytest.raises(DataError, match=r"event_map must be a mapping \{value: 0..K\}, got list"):
        count_events(base(), "time", "status", event_map=[0, 1])
    with pytest.raises(DataError, match=r"cannot count events in a builtins.list"):
        count_events([[1, 1]], "time", "status")


def test_file_problems(tmp_path):
    with pytest.raises(DataError, match=r"file not found: '.*nope\.parquet'"):
        count_events(tmp_path / "nope.parquet", "time", "status")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataError, match=r"cannot tell the format of '.*x\.json'"):
        count_events(tmp_path / "x.json", "time", "status")
    (tmp_path / "na.csv").write_text("time,status\n1,1\nNA,0\n3,0\n")
    with pytest.raises(DataError, match=r"column 'time' in '.*na\.csv' has type VARCHAR.*'NA'"):
        count_events(tmp_path / "na.csv", "time", "status")


def test_unequal_column_lengths():
    with raises(None, "status", r"column 'status' has 2 rows but column 't' has 3"):
        count_events({"t": [1, 2, 3], "status": [1, 0]}, "t", "status")


def test_data_error_is_a_value_error_and_estimators_raise_it():
    df = base()
    df.loc[[0], "time"] = -3.0
    with pytest.raises(ValueError, match=r"column 'time': 1 row has negative times \(smallest -3\.0\)"):
        cumulative_incidence(df, "time", "status", "arm")
    assert issubclass(DataError, InputError)


def test_first_problem_reported_and_nothing_dropped(through):
    """Several problems: the message describes one; fixing it reveals the next — never a partial result."""
    df = base()
    df.loc[[0], "time"] = np.nan
    df.loc[[1], "status"] = 7
    with pytest.raises(DataError, match=r"column 'time': 1 row has missing times"):
        count_events(through(df), "time", "status")
    df.loc[[0], "time"] = 1.0
    with pytest.raises(DataError, match=r"column 'status': 1 row has event codes .*\[7\]"):
        count_events(through(df), "time", "status", causes=(1, 2))
    df.loc[[1], "status"] = 0
    assert count_events(through(df), "time", "status").n == len(df)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.integers(-5, 30).map(float), st.just(float("nan")), st.just(float("inf"))),
            st.sampled_from([0, 1, 2, 3]),
        ),
        min_size=1,
        max_size=60,
    ),
    st.sampled_from(["numpy", "polars"]),
)
def test_every_bad_row_is_counted_and_no_row_is_dropped(rows, engine):
    """Property: the error's n_rows is exactly the number of offending rows; valid data keep every row."""
    t = np.array([r[0] for r in rows])
    e = np.array([r[1] for r in rows])
    data = {"t": t, "e": e} if engine == "numpy" else pl.DataFrame({"t": t, "e": e}, nan_to_null=False)
    missing, negative, infinite = np.isnan(t).sum(), (t < 0).sum(), np.isinf(t).sum()
    unknown = (e == 3).sum()
    expected = [
        (missing, "missing times"),
        (negative, "negative times"),
        (infinite, "infinite times"),
        (unknown, "event codes that are neither"),
        (len(rows) if not ((e == 1) | (e == 2)).any() else 0, "are censored"),
    ]
    first = next(((n, what) for n, what in expected if n), None)
    if first is None:
        ec = count_events(data, "t", "e", causes=(1, 2))
        assert ec.n == len(rows) and ec.meta["n_rows"] == len(rows)
        return
    with pytest.raises(DataError, match=first[1]) as info:
        count_events(data, "t", "e", causes=(1, 2))
    assert info.value.n_rows == first[0]

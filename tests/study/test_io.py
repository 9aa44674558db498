"""read_cohort: every format, every row checked, every problem reported, nothing dropped."""

from __future__ import annotations

import sqlite3

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leiosurv.exceptions import CohortError, InputError
from leiosurv.study import Cohort, read_cohort, synthesize_cohort
from leiosurv.study._validate import MAX_EXAMPLES_PER_CHECK


def _plain(n: int = 40, seed: int = 3) -> pd.DataFrame:
    """A small valid cohort as a plain (non-synthetic) DataFrame."""
    df = synthesize_cohort(n, seed=seed).drop(columns="synthetic")
    df.attrs = {}
    return df


def _frame_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    cols = ["age", "diagnosis_year", "necrosis", "mitotic_grade", "invasion", "met_time", "met_status",
            "lr_time", "lr_status"]
    for c in cols:
        # Excel keeps 15 significant digits, so floats compare to 1e-14
        np.testing.assert_allclose(a[c].astype(float).to_numpy(na_value=np.nan),
                                   b[c].astype(float).to_numpy(na_value=np.nan), rtol=1e-14, err_msg=c)
    for c in ("sex", "margins"):
        assert a[c].astype(object).where(a[c].notna(), None).tolist() == \
            b[c].astype(object).where(b[c].notna(), None).tolist(), c


@pytest.fixture
def df() -> pd.DataFrame:
    return _plain()


# ---------------------------------------------------------------------------
# formats
# ---------------------------------------------------------------------------
def test_reads_every_format_identically(df, tmp_path):
    df = df.copy()
    df.loc[[2, 5], "necrosis"] = pd.NA
    df.loc[7, "margins"] = None
    ref = read_cohort(df)
    df.to_csv(tmp_path / "c.csv", index=False)
    df.to_parquet(tmp_path / "c.parquet", index=False)
    df.to_excel(tmp_path / "c.xlsx", index=False, sheet_name="cohort")
    con = duckdb.connect(str(tmp_path / "c.duckdb"))
    con.register("frame", df)
    con.execute("CREATE TABLE patients AS SELECT * FROM frame")
    con.close()
    with sqlite3.connect(tmp_path / "c.sqlite") as sq:
        df.astype(object).where(df.notna(), None).to_sql("patients", sq, index=False)
    sources = [
        (tmp_path / "c.csv", {}),
        (str(tmp_path / "c.parquet"), {}),
        (tmp_path / "c.xlsx", {"sheet": "cohort"}),
        (tmp_path / "c.duckdb", {"table": "patients"}),
        (f"duckdb:///{tmp_path / 'c.duckdb'}", {"table": "patients"}),
        (f"sqlite:///{tmp_path / 'c.sqlite'}", {"table": "patients"}),
        (tmp_path / "c.sqlite", {"table": "patients"}),
    ]
    for src, kw in sources:
        got = read_cohort(src, **kw)
        assert got.n == len(df), src
        assert not got.synthetic
        _frame_equal(got.data, ref.data)
        assert got.missing_counts()["necrosis"] == 2 and got.missing_counts()["margins"] == 1


def test_database_needs_table(tmp_path, df):
    con = duckdb.connect(str(tmp_path / "c.duckdb"))
    con.close()
    with pytest.raises(InputError, match="table"):
        read_cohort(tmp_path / "c.duckdb")
    with pytest.raises(InputError, match="not found"):
        read_cohort(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="cannot tell the format"):
        (tmp_path / "c.json").write_text("{}")
        read_cohort(tmp_path / "c.json")


def test_text_normalisation_and_na_strings(tmp_path, df):
    df = df.copy()
    df["sex"] = ["M", "f", " Male ", "FEMALE"] * (len(df) // 4)
    df["margins"] = df["margins"].str.upper()
    df.to_csv(tmp_path / "c.csv", index=False)
    text = (tmp_path / "c.csv").read_text().splitlines()
    header = text[0].split(",")
    cells = text[1].split(",")
    cells[header.index("necrosis")] = "NA"
    cells[header.index("invasion")] = ""
    text[1] = ",".join(cells)
    (tmp_path / "c.csv").write_text("\n".join(text) + "\n")
    got = read_cohort(tmp_path / "c.csv")
    assert got.data["sex"].tolist()[:4] == ["male", "female", "male", "female"]
    assert set(got.data["margins"].dropna()) <= {"positive", "negative"}
    assert pd.isna(got.data.loc[0, "necrosis"]) and pd.isna(got.data.loc[0, "invasion"])
    assert got.n == len(df)


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------
def test_missing_columns_listed_with_found(df):
    with pytest.raises(CohortError) as exc:
        read_cohort(df.drop(columns=["lr_time", "margins"]))
    msg = str(exc.value)
    assert "['margins', 'lr_time']" in msg and "columns found" in msg and "'met_time'" in msg


def test_missing_extra_factor_column(df):
    with pytest.raises(CohortError, match="ulceration"):
        read_cohort(df, factors=["ulceration"])


def test_empty_cohort(df):
    with pytest.raises(CohortError, match="no rows"):
        read_cohort(df.iloc[:0])


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("met_time", -1.0, "must be >= 0"),
        ("lr_time", np.inf, "must be finite"),
        ("met_time", np.nan, "is missing"),
        ("met_status", 3, "must be one of 0, 1, 2"),
        ("lr_status", 1.5, "must be a whole number"),
        ("age", 130, "must be <= 120"),
        ("age", None, "is missing"),
        ("sex", "x", "must be male or female"),
        ("diagnosis_year", 1999.5, "whole number"),
        ("necrosis", 2, "must be one of 0, 1"),
        ("mitotic_grade", 4, "must be one of 1, 2, 3"),
        ("invasion", -1, "must be one of 0, 1"),
        ("margins", "close", "must be positive or negative"),
        ("met_status", "abc", "is not a number"),
    ],
)
def test_bad_value_names_row_and_column(df, column, value, message):
    df = df.copy()
    df[column] = df[column].astype(object)
    df.loc[16, column] = value  # data row 17
    with pytest.raises(CohortError) as exc:
        read_cohort(df)
    paths = [e.path for e in exc.value.errors]
    assert f"row 17.{column}" in paths, exc.value.errors
    assert message in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_all_problems_collected_and_capped(df):
    df = df.copy()
    df["age"] = df["age"].astype(object)
    df.loc[:, "met_time"] = -5.0  # every row
    df.loc[3, "age"] = "old"
    df.loc[4, "id"] = df.loc[5, "id"]
    with pytest.raises(CohortError) as exc:
        read_cohort(df)
    paths = [e.path for e in exc.value.errors]
    assert "row 4.age" in paths
    assert "row 5.id" in paths and "row 6.id" in paths
    met = [p for p in paths if p.endswith(".met_time") and p.startswith("row ")]
    assert len(met) == MAX_EXAMPLES_PER_CHECK
    assert f"and {len(df) - MAX_EXAMPLES_PER_CHECK} more rows" in str(exc.value)


def test_death_ends_follow_up_in_both_outcomes(df):
    df = df.copy()
    df.loc[9, ["met_time", "met_status", "lr_time", "lr_status"]] = [100.0, 2, 250.0, 0]
    df.loc[10, ["met_time", "met_status", "lr_time", "lr_status"]] = [300.0, 1, 200.0, 2]
    df.loc[11, ["met_time", "met_status", "lr_time", "lr_status"]] = [100.0, 2, 100.0, 2]  # consistent
    df.loc[12, ["met_time", "met_status", "lr_time", "lr_status"]] = [500.0, 2, 120.0, 0]  # lr stopped early: ok
    with pytest.raises(CohortError) as exc:
        read_cohort(df)
    paths = [e.path for e in exc.value.errors]
    assert paths == ["row 10.lr_time", "row 11.met_time"]
    assert "death recorded in the metastasis outcome" in str(exc.value)


def test_missing_factor_is_not_absent(df):
    df = df.copy()
    df["necrosis"] = df["necrosis"].astype("Int8")
    df.loc[0, "necrosis"] = pd.NA
    cohort = read_cohort(df)
    frame = cohort.factor_frame(["necrosis"])
    assert pd.isna(frame.loc[0, "necrosis"])
    assert len(frame) == len(df)


# ---------------------------------------------------------------------------
# the synthetic label
# ---------------------------------------------------------------------------
def test_synthetic_from_metadata_or_column(tmp_path, df):
    assert not read_cohort(df).synthetic
    with_col = df.assign(synthetic=[False] * (len(df) - 1) + [True])
    assert read_cohort(with_col).synthetic
    tbl = pa.Table.from_pandas(df, preserve_index=False)
    tbl = tbl.replace_schema_metadata({**(tbl.schema.metadata or {}), b"leiosurv.synthetic": b"true"})
    pq.write_table(tbl, tmp_path / "m.parquet")
    got = read_cohort(tmp_path / "m.parquet")
    assert got.synthetic and got.metadata["leiosurv.synthetic"] == "true"
    assert "SYNTHETIC" in repr(got) and "SYNTHETIC" in str(got)


def test_factor_frame_columns_and_unknown(df):
    cohort = read_cohort(df.assign(ulceration=np.arange(len(df)) % 2), factors=["ulceration"])
    frame = cohort.factor_frame()
    assert list(frame.columns) == ["necrosis", "mitotic_grade_3", "invasion", "positive_margins", "ulceration",
                                   "met_time", "met_status", "lr_time", "lr_status", "age", "sex", "diagnosis_year"]
    assert frame["mitotic_grade_3"].tolist() == (df["mitotic_grade"] == 3).astype(int).tolist()
    with pytest.raises(InputError, match="unknown factor"):
        cohort.factor_frame(["bogus"])
    assert isinstance(cohort, Cohort)


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------
_CELLS = {
    "met_time": st.sampled_from([-0.5, float("nan"), float("inf"), "x"]),
    "lr_status": st.sampled_from([-1, 3, 0.5, "two", None]),
    "age": st.sampled_from([-1, 121, "sixty", None, float("inf")]),
    "sex": st.sampled_from(["", "unknown", "2", None]),
    "mitotic_grade": st.sampled_from([0, 4, 2.5, "III"]),
    "margins": st.sampled_from(["close", "1", "R1"]),
    "necrosis": st.sampled_from([2, -1, 0.5, "yes"]),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(0, 39), column=st.sampled_from(sorted(_CELLS)), data=st.data())
def test_any_single_bad_cell_is_reported_at_its_row(df, row, column, data):
    value = data.draw(_CELLS[column])
    bad = df.copy()
    bad[column] = bad[column].astype(object)
    bad.loc[row, column] = value
    with pytest.raises(CohortError) as exc:
        read_cohort(bad)
    assert f"row {row + 1}.{column}" in [e.path for e in exc.value.errors]


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 10_000), missing=st.sampled_from([0.0, 0.3]))
def test_valid_cohorts_read_back_unchanged(n, seed, missing):
    df = synthesize_cohort(n, seed=seed, missing=missing)
    got = read_cohort(df)
    assert got.n == n and got.synthetic
    _frame_equal(got.data, df)
    assert got.data["id"].tolist() == df["id"].tolist()


def test_row_order_kept_on_large_input():
    df = synthesize_cohort(150_000, seed=6).sample(frac=1.0, random_state=1).reset_index(drop=True)
    got = read_cohort(df)
    assert got.data["id"].tolist() == df["id"].tolist()
    np.testing.assert_array_equal(got.data["met_time"].to_numpy(), df["met_time"].to_numpy())


# ---------------------------------------------------------------------------
# file structure: duplicated columns, ragged rows, engines' errors (issue 14)
# ---------------------------------------------------------------------------
def test_duplicated_column_is_an_error_in_every_format(tmp_path, df):
    dup = df.copy()
    dup.insert(len(dup.columns), "age_again", dup["age"])
    dup.columns = [*df.columns, "age"]  # two columns named 'age'
    with pytest.raises(CohortError, match=r"\(columns\): column 'age' appears 2 times \(columns 2, 13\)"):
        read_cohort(dup)
    tbl = pa.Table.from_arrays([pa.array(dup.iloc[:, i]) for i in range(dup.shape[1])], names=list(dup.columns))
    with pytest.raises(CohortError, match="column 'age' appears 2 times"):
        read_cohort(tbl)
    pq.write_table(tbl, tmp_path / "dup.parquet")
    with pytest.raises(CohortError, match="column 'age' appears 2 times"):
        read_cohort(tmp_path / "dup.parquet")
    dup.to_excel(tmp_path / "dup.xlsx", index=False)
    with pytest.raises(CohortError, match="column 'age' appears 2 times"):
        read_cohort(tmp_path / "dup.xlsx")
    dup.to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(CohortError, match="column 'age' appears 2 times"):
        read_cohort(tmp_path / "dup.csv")


def test_ragged_row_names_the_file_line(tmp_path, df):
    lines = df.to_csv(index=False).splitlines()
    lines[3] += ",1"
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    n = len(df.columns)
    with pytest.raises(InputError, match=rf"r\.csv: line 4 \(data row 3\): {n + 1} fields, but the header has {n};"):
        read_cohort(tmp_path / "r.csv")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_guessed_from_the_header(tmp_path, df, delimiter):
    df.to_csv(tmp_path / "d.csv", index=False, sep=delimiter)
    got = read_cohort(tmp_path / "d.csv")
    assert got.n == len(df)
    _frame_equal(got.data, read_cohort(df).data)


def test_crlf_bom_gzip_and_trailing_empty_column(tmp_path, df):
    text = df.to_csv(index=False, lineterminator="\r\n")
    lines = [line + "," for line in text.split("\r\n") if line]  # a trailing delimiter: an unnamed empty column
    (tmp_path / "w.csv").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    import gzip

    (tmp_path / "w.csv.gz").write_bytes(gzip.compress((tmp_path / "w.csv").read_bytes()))
    for name in ("w.csv", "w.csv.gz"):
        got = read_cohort(tmp_path / name)
        assert got.n == len(df), name
        _frame_equal(got.data, read_cohort(df).data)


def test_header_only_and_empty_files(tmp_path, df):
    (tmp_path / "h.csv").write_text(",".join(df.columns) + "\n")
    with pytest.raises(CohortError, match="no rows"):
        read_cohort(tmp_path / "h.csv")
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(CohortError, match="header row"):
        read_cohort(tmp_path / "e.csv")


def test_engine_errors_are_one_short_line(tmp_path):
    (tmp_path / "g.parquet").write_bytes(b"PAR1" + b"\x00" * 100)
    (tmp_path / "g.duckdb").write_bytes(b"\x00" * 5000)
    (tmp_path / "g.sqlite").write_bytes(b"SQLite format 3\x00" + b"\x01" * 200)
    (tmp_path / "g.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    cases = [("g.parquet", {}, "not a readable Parquet file"), ("g.duckdb", {"table": "t"}, "not a readable DuckDB"),
             ("g.sqlite", {"table": "t"}, "cannot read 't'"), ("g.xlsx", {}, "not a readable Excel workbook")]
    for name, kw, expected in cases:
        with pytest.raises(InputError) as exc:
            read_cohort(tmp_path / name, **kw)
        msg = str(exc.value)
        assert expected in msg and "\n" not in msg and len(msg) < 400, msg


def test_long_names_and_values_are_cut(tmp_path, df):
    with pytest.raises(InputError, match=r"File name too long") as exc:
        read_cohort(tmp_path / ("x" * 5000 + ".csv"))
    assert len(str(exc.value)) < 300
    bad = df.copy()
    bad["margins"] = bad["margins"].astype(object)
    bad.loc[2, "margins"] = "z" * 5000
    with pytest.raises(CohortError) as exc:
        read_cohort(bad)
    assert "row 3.margins" in str(exc.value) and "z" * 201 not in str(exc.value) and "(5000 ch)" in str(exc.value)
    with pytest.raises(CohortError) as exc:
        read_cohort(df.rename(columns={"age": "a" * 5000}))
    assert "a" * 201 not in str(exc.value)


def test_source_path():
    from leiosurv.study import source_path

    assert source_path("duckdb:///x/c.duckdb").as_posix() == "x/c.duckdb"
    assert source_path(pd.DataFrame()) is None


def test_csv_errors_deep_in_the_file_name_their_line(tmp_path, df):
    lines = df.to_csv(index=False).splitlines()
    quoted = lines[:]
    quoted[10] = quoted[10].replace(",", ',"', 1)  # an opening quote that never closes
    (tmp_path / "q.csv").write_text("\n".join(quoted) + "\n")
    with pytest.raises(InputError, match=r"q\.csv: line 11: Value with unterminated quote found\.$"):
        read_cohort(tmp_path / "q.csv")
    data = ("\n".join(lines) + "\n").encode()
    cut = data.index(b"\n", data.index(b"\n") + 1) + 1  # after the first data row
    (tmp_path / "u.csv").write_bytes(data[:cut] + b"\xff" + data[cut:])
    with pytest.raises(InputError, match=r"u\.csv: line 3: Invalid unicode .* not utf-8 encoded"):
        read_cohort(tmp_path / "u.csv")


def test_ragged_row_deep_in_a_large_file(tmp_path):
    """DuckDB streams large files: a late error arrives through Arrow (an OSError), still one line with its line."""
    n = 300_000
    text = synthesize_cohort(n, seed=1).to_csv(index=False).split("\n")
    text[n - 5] += ",x"
    (tmp_path / "big.csv").write_text("\n".join(text))
    with pytest.raises(InputError, match=rf"big\.csv: line {n - 4} \(data row {n - 5}\): 14 fields, but the header"):
        read_cohort(tmp_path / "big.csv")


def test_sqlite_file_name_with_uri_characters(tmp_path, df):
    path = tmp_path / "odd?name#1.sqlite"
    with sqlite3.connect(path) as sq:
        df.astype(object).where(df.notna(), None).to_sql("patients", sq, index=False)
    assert read_cohort(path, table="patients").n == len(df)

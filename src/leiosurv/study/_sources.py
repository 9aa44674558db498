"""Load a cohort source (CSV, Parquet, Excel, DuckDB, SQLite, a frame) into one Arrow table.

Only the file's structure is checked here; the rows are validated by
:mod:`leiosurv.study._validate` (see :func:`leiosurv.study.read_cohort`).  A
source that cannot be read as a table is one :class:`~leiosurv.exceptions.InputError`
line naming the file, and the line where there is one:

* CSV: UTF-8, the delimiter guessed from the header row, exactly as many
  fields in every row as in the header (a ragged row names its line);
* every format: duplicated column names are a :class:`~leiosurv.exceptions.CohortError`;
* damaged files (garbage bytes, a mislabelled format): the first line of the
  engine's message, never its multi-line advice;
* special files (FIFOs, devices) are refused: reading them would wait forever.
"""

from __future__ import annotations

import csv
import gzip
import re
import sqlite3
import stat
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from leiosurv.exceptions import CohortError, FieldIssue, InputError
from leiosurv.files import short
from leiosurv.study._schema import quote_identifier as _q

__all__ = ["load_source", "source_path", "check_column_names", "is_synthetic_file", "arrow_table",
           "SYNTHETIC_METADATA_KEY"]

SYNTHETIC_METADATA_KEY = "leiosurv.synthetic"
"""Parquet key-value metadata key marking a synthetic cohort (value ``"true"``)."""

_NULL_STRINGS = ["", "NA", "N/A", "NaN", "nan", "null", "NULL"]


def _engine_message(exc: BaseException) -> str:
    """A reading engine's error (DuckDB, Arrow, pandas, openpyxl) condensed to one short line."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = lines[0] if lines else type(exc).__name__
    text = re.sub(r"^(Invalid Input|IO|Catalog|Binder|Parser|Conversion) Error: ", "", text)
    return short(text, 160)


def check_column_names(names: Sequence[Any], where: str) -> None:
    """Refuse duplicated column names: which of two equal columns is meant cannot be guessed.

    Empty names (a trailing delimiter in a CSV header) are not compared.

    Raises
    ------
    CohortError
        Naming each duplicated column and its 1-based positions.
    """
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        text = "" if name is None else str(name)
        if text.strip():
            seen.setdefault(text, []).append(i)
    dups = {k: v for k, v in seen.items() if len(v) > 1}
    if dups:
        issues = [FieldIssue("(columns)", f"column {short(k, 60)!r} appears {len(v)} times (columns "
                             f"{', '.join(map(str, v[:10]))}); column names must be unique")
                  for k, v in list(dups.items())[:10]]
        raise CohortError(issues, source=where)


def _frame_to_arrow(df: pd.DataFrame, where: str) -> pa.Table:
    """A DataFrame as Arrow; mixed object columns (typos in a numeric column) become text."""
    check_column_names(list(df.columns), where)
    try:
        return pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.Table.from_pandas(_objects_to_text(df), preserve_index=False)


def _objects_to_text(df: pd.DataFrame) -> pd.DataFrame:
    """Make mixed object columns (Excel, SQLite) Arrow-safe without losing values."""
    df = df.copy()
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = [None if (v is None or (isinstance(v, float) and np.isnan(v))) else str(v)
                       for v in df[col]]
    return df


def source_path(source: Any) -> Path | None:
    """The file a cohort source reads (for a CLI to keep outputs away from it), or None for frames.

    >>> source_path("sqlite:///data/c.sqlite").as_posix(), source_path("c.csv").as_posix()
    ('data/c.sqlite', 'c.csv')
    """
    if isinstance(source, (pd.DataFrame, pa.Table)):
        return None
    text = str(source)
    for prefix in ("sqlite:///", "duckdb:///"):
        if text.startswith(prefix):
            return Path(text[len(prefix):])
    return Path(text)


def is_synthetic_file(path: str | Path) -> bool:
    """Whether *path* is a Parquet file labelled synthetic (``leiosurv.synthetic = "true"`` metadata).

    Anything else (real data, another format, an unreadable file) is False.
    """
    try:
        meta = pq.read_schema(path).metadata
    except (pa.ArrowException, OSError, ValueError):
        return False
    return leiosurv_metadata(meta).get(SYNTHETIC_METADATA_KEY, "").lower() == "true"


def _suffix(path: Path) -> str:
    return "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".gz" else path.suffix.lower()


def load_source(source: Any, table: str | None, sheet: str | int | None) -> tuple[pa.Table, str, dict[str, str]]:
    """The source as one Arrow table, where it came from (shortened), and its ``leiosurv.*`` metadata."""
    if isinstance(source, pd.DataFrame):
        return _frame_to_arrow(source, "<DataFrame>"), "<DataFrame>", {}
    if isinstance(source, pa.Table):
        check_column_names(source.column_names, "<Arrow table>")
        return source, "<Arrow table>", leiosurv_metadata(source.schema.metadata)
    text = str(source)
    path = source_path(source)
    try:
        if not path.exists():
            raise InputError(f"source: file not found: {short(text)}")
        mode = path.stat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # reading a FIFO or device would wait forever
            raise InputError(f"source {short(text)}: is a special file (FIFO, device or socket); give a regular file")
        if text.startswith("sqlite:///"):
            return _load_sqlite(path, table)
        if text.startswith("duckdb:///"):
            return _load_duckdb(path, table)
        suffix = _suffix(path)
        database = suffix in (".duckdb", ".ddb", ".sqlite", ".sqlite3", ".db")
        if table is not None and not database:
            raise InputError(f"table: only for a DuckDB or SQLite database; {short(text)} is not one")
        if sheet is not None and suffix not in (".xlsx", ".xlsm"):
            raise InputError(f"sheet: only for an Excel workbook; {short(text)} is not one")
        if suffix == ".parquet" or path.is_dir():
            return _load_parquet(path)
        if suffix in (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt"):
            return _load_csv(path, suffix), short(path), {}
        if suffix in (".xlsx", ".xlsm"):
            return _load_excel(path, sheet)
        if suffix in (".duckdb", ".ddb"):
            return _load_duckdb(path, table)
        if suffix in (".sqlite", ".sqlite3", ".db"):
            return _load_sqlite(path, table)
    except OSError as exc:  # name too long, permission denied, a directory where a file was expected, ...
        raise InputError(f"source {short(text)}: {exc.strerror or _engine_message(exc)}") from None
    raise InputError(
        f"source: cannot tell the format of {short(text)!r}; use .csv, .parquet, .xlsx, a .duckdb file or "
        "sqlite:///path (with table=...)"
    )


def _load_parquet(path: Path) -> tuple[pa.Table, str, dict[str, str]]:
    try:
        check_column_names(pq.read_schema(path).names if path.is_file() else [], short(path))
        tbl = pq.read_table(path)
    except CohortError:
        raise
    except (pa.ArrowException, OSError, ValueError, TypeError, KeyError, IndexError) as exc:
        raise InputError(f"{short(path)}: not a readable Parquet file ({_engine_message(exc)})") from None
    check_column_names(tbl.column_names, short(path))
    return tbl, short(path), leiosurv_metadata(tbl.schema.metadata)


_MAX_HEADER_BYTES = 1 << 20
_DELIMITERS = (",", ";", "\t", "|")


def _csv_header(path: Path, suffix: str) -> tuple[list[str], str]:
    """The header row of a delimited text file, and its delimiter (guessed from the header)."""
    opener = gzip.open if suffix.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            head = fh.readline(_MAX_HEADER_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{short(path)}: cannot read ({_engine_message(exc)})") from None
    if len(head) > _MAX_HEADER_BYTES:
        raise InputError(f"{short(path)}: line 1: the header row is longer than 1 MiB; is this a CSV file?")
    try:
        line = head.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise InputError(f"{short(path)}: line 1: not UTF-8 text (byte {exc.start + 1}); save the file as "
                         "UTF-8 CSV") from None
    if not line.strip():
        raise CohortError([FieldIssue("(columns)", "the first line is empty; a header row with the column "
                                      "names is required")], source=short(path))
    if suffix.startswith(".tsv"):
        delim = "\t"
    else:  # the delimiter that splits the header into the most fields (',' on ties)
        delim = max(_DELIMITERS, key=lambda d: (_count_fields(line, d), d == ","))
    try:
        names = next(csv.reader([line], delimiter=delim, strict=True))
    except (csv.Error, StopIteration) as exc:
        raise InputError(f"{short(path)}: line 1: cannot read the header row ({exc})") from None
    return [n.strip() for n in names], delim


def _count_fields(line: str, delimiter: str) -> int:
    try:
        return len(next(csv.reader([line], delimiter=delimiter)))
    except (csv.Error, StopIteration):
        return 0


def _load_csv(path: Path, suffix: str) -> pa.Table:
    names, delim = _csv_header(path, suffix)
    where = short(path)
    check_column_names(names, where)
    columns = {f"c{i}": "VARCHAR" for i in range(len(names))}
    con = duckdb.connect()
    try:
        rel = con.sql(
            "SELECT * FROM read_csv(?, header = true, auto_detect = false, columns = ?, delim = ?, quote = '\"', "
            "escape = '\"', strict_mode = true, null_padding = false, nullstr = ?)",
            params=[str(path), columns, delim, _NULL_STRINGS],
        )
        tbl = arrow_table(rel)
    except (duckdb.Error, pa.ArrowException, OSError) as exc:  # DuckDB 2 streams: errors come through Arrow
        raise InputError(f"{where}: {_csv_error(exc)}") from None
    finally:
        con.close()
    labels = [n if n else f"(unnamed column {i + 1})" for i, n in enumerate(names)]
    return tbl.rename_columns(labels)


def _csv_error(exc: BaseException) -> str:
    """DuckDB's multi-line CSV error as one line: the file line and what is wrong with it."""
    msg = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", msg)
    fields = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", msg)
    if line and fields:
        n = int(line.group(1))
        return (f"line {n} (data row {n - 1}): {fields.group(2)} fields, but the header has {fields.group(1)}; "
                "a quote or delimiter is missing or extra")
    detail = _engine_message(exc)
    if line:
        # paragraphs: "CSV Error on Line: N / Original Line: ... (may span lines)", the reason (its own
        # paragraph or the last line of the first), "Possible fixes: ...", the reader's settings
        paragraphs = [p.strip() for p in msg.split("\n\n") if p.strip()]
        until = next((i for i, p in enumerate(paragraphs) if p.startswith("Possible")), len(paragraphs))
        last = paragraphs[until - 1].splitlines()[-1].strip() if until else ""
        reason = "" if last.startswith(("Original Line", "Invalid Input Error")) else last
        return f"line {line.group(1)}: {short(reason, 160) if reason else 'cannot be read as CSV'}"
    return f"cannot read as CSV ({detail})"


def _excel_header(path: Path, sheet: str | int | None) -> list[Any]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if isinstance(sheet, str):
            ws = wb[sheet]
        else:
            ws = wb.worksheets[sheet or 0]
        return list(next(ws.iter_rows(max_row=1, values_only=True), ()))
    finally:
        wb.close()


def _load_excel(path: Path, sheet: str | int | None) -> tuple[pa.Table, str, dict[str, str]]:
    where = f"{short(path)}::{short(sheet or 0, 60)}"
    try:
        check_column_names(_excel_header(path, sheet), where)
        df = pd.read_excel(path, sheet_name=0 if sheet is None else sheet)
    except (CohortError, ImportError):
        raise
    except KeyError:
        raise InputError(f"{short(path)}: no sheet named {short(sheet, 60)!r}") from None
    except IndexError:
        raise InputError(f"{short(path)}: no sheet number {sheet}") from None
    except Exception as exc:  # noqa: BLE001 - any failure of the Excel engines on a damaged file is bad input
        raise InputError(f"{short(path)}: not a readable Excel workbook ({type(exc).__name__}: "
                         f"{_engine_message(exc)})") from None
    return _frame_to_arrow(df, where), where, {}


def arrow_table(rel: duckdb.DuckDBPyRelation) -> pa.Table:
    """A relation's rows as one Arrow table (DuckDB 1.x returns a table, 2.x a reader)."""
    res = rel.arrow()
    return res.read_all() if hasattr(res, "read_all") else res


def leiosurv_metadata(meta: Mapping[bytes, bytes] | None) -> dict[str, str]:
    """The ``leiosurv.*`` entries of Arrow/Parquet key-value metadata, as text."""
    if not meta:
        return {}
    out = {}
    for k, v in meta.items():
        key = k.decode("utf-8", "replace")
        if key.startswith("leiosurv."):
            out[key] = v.decode("utf-8", "replace")
    return out


def _need_table(path: Path, table: str | None) -> str:
    if not table:
        raise InputError(f"table: {short(path)} is a database; name the table with table=... (--table)")
    return table


def _load_duckdb(path: Path, table: str | None) -> tuple[pa.Table, str, dict[str, str]]:
    table = _need_table(path, table)
    if not path.exists():
        raise InputError(f"source: file not found: {short(path)}")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise InputError(f"{short(path)}: not a readable DuckDB database ({_engine_message(exc)})") from None
    try:
        tbl = arrow_table(con.sql(f"SELECT * FROM {_q(table)}"))
    except (duckdb.Error, pa.ArrowException, OSError) as exc:
        raise InputError(f"table: cannot read {short(table, 60)!r} from {short(path)}: "
                         f"{_engine_message(exc)}") from None
    finally:
        con.close()
    return tbl, f"{short(path)}::{short(table, 60)}", {}


def _load_sqlite(path: Path, table: str | None) -> tuple[pa.Table, str, dict[str, str]]:
    table = _need_table(path, table)
    if not path.exists():
        raise InputError(f"source: file not found: {short(path)}")
    where = f"{short(path)}::{short(table, 60)}"
    con = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)  # as_uri escapes '?' and '#'
    try:
        df = pd.read_sql_query(f"SELECT * FROM {_q(table)}", con)
    except (sqlite3.Error, pd.errors.DatabaseError) as exc:
        detail = _engine_message(exc).split("': ")[-1]  # pandas prefixes "Execution failed on sql '...': "
        raise InputError(f"table: cannot read {short(table, 60)!r} from {short(path)}: {detail}") from None
    finally:
        con.close()
    return _frame_to_arrow(df, where), where, {}

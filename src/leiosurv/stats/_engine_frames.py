"""Counting inside the engine that holds the data: Narwhals frames and DuckDB files.

* Polars (eager and lazy), DuckDB relations, PySpark DataFrames and anything
  else Narwhals understands: ``group_by([group, time, event]).agg(len)`` runs
  on the native engine (on the cluster, for Spark); only the aggregate is
  collected.
* CSV and Parquet paths: DuckDB SQL ``SELECT g, t, e, count(*) ... GROUP BY ALL``
  over ``read_parquet`` / ``read_csv``, which streams the file; the rows never
  reach Python.

The aggregate — at most one row per distinct ``(group, time, event)`` — is then
validated (nulls, negatives and unknown codes are keys of the GROUP BY) and
turned into :class:`EventCounts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from leiosurv.exceptions import DataError
from leiosurv.stats import _engine_checks as chk
from leiosurv.stats._counts import EventCounts, from_codes, from_sorted
from leiosurv.stats._sql import quote_identifier, quote_literal

__all__ = ["count_aggregate", "count_narwhals", "count_file", "arrow_column"]

_N = "__leiosurv_n"
_PARQUET = (".parquet", ".pq", ".parq")
_CSV = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".csv.zst")
_DUCKDB_NUMERIC = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
    "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL",
}  # fmt: skip


def count_aggregate(
    t_vals: Any,
    e_vals: Any,
    g_vals: Any | None,
    n: np.ndarray,
    request: chk.Request,
    *,
    declared_levels: Sequence[Any] | None = None,
    presorted: bool = False,
) -> EventCounts:
    """Validate an aggregated long table ``(group, time, event, n)`` and build the counts.

    ``presorted``: the engine returned the rows ordered by group, then time; the
    order is verified and used to skip the sort (falls back if it does not hold).
    """
    tname, ename, gname = request.names
    causes, event_map = request.causes, request.event_map
    n = np.asarray(n, dtype=np.int64)
    n_rows = int(n.sum())
    chk.check_no_rows(n_rows, tname)
    t = chk.as_float_times(tname, t_vals)
    chk.check_time_values(tname, t, n)
    ev = chk.factorize(np.asarray(e_vals), weights=n)
    lut, causes_t = chk.resolve_events(ename, ev, causes, event_map)
    codes = labels = None
    if gname is not None:
        gr = chk.factorize(np.asarray(g_vals), weights=n)
        glut, labels = chk.resolve_groups(gname, gr)
        chk.check_declared_levels(gname, declared_levels, labels)
        codes = glut[gr.codes]
    chk.check_any_event(ename, ev, lut)
    cols = lut[ev.codes]
    meta = dict(request.meta, n_rows=n_rows, n_keys=int(n.size))
    if presorted:
        out = from_sorted(codes, labels, t, cols, n, causes_t, gname, meta)
        if out is not None:
            return out
    return from_codes(codes, labels, t, cols, n, causes_t, gname, meta)


# -- Narwhals -------------------------------------------------------------------------
def count_narwhals(native: Any, request: chk.Request) -> EventCounts:
    """Group and count on the frame's own engine via Narwhals."""
    import narwhals.stable.v2 as nw

    frame = nw.from_native(native)
    tname, ename, gname = request.names
    schema = frame.collect_schema()
    chk.check_columns(schema.names(), request.wanted)
    tdtype = schema[tname]
    if not tdtype.is_numeric():
        raise DataError(
            f"column {tname!r} has type {tdtype}; times must be numeric "
            "(days, months or years since the start of follow-up)",
            column=tname,
        )
    declared = None
    if gname is not None and isinstance(schema[gname], nw.Enum):
        declared = list(schema[gname].categories)
    keys = _unique([tname, ename] + ([gname] if gname else []))
    agg = frame.group_by(keys, drop_null_keys=False).agg(nw.len().alias(_N))
    if isinstance(agg, nw.LazyFrame):
        agg = agg.collect()
    col = {k: agg.get_column(k).to_numpy() for k in keys}
    impl = str(frame.implementation).rsplit(".", 1)[-1].lower()
    return count_aggregate(col[tname], col[ename], col[gname] if gname else None, agg.get_column(_N).to_numpy(),
                           request.noting(engine=f"narwhals[{impl}]"), declared_levels=declared)


# -- DuckDB over files -------------------------------------------------------------------
def count_file(path: str | Path, request: chk.Request) -> EventCounts:
    """Aggregate a CSV or Parquet file (or glob) with DuckDB; the rows stay in DuckDB."""
    import duckdb

    text = str(path)
    lower = text.lower()
    if lower.endswith(_PARQUET):
        reader = "read_parquet"
    elif lower.endswith(_CSV):
        reader = "read_csv"
    else:
        raise DataError(
            f"cannot tell the format of {text!r}: expected a file ending in "
            f"{', '.join(_PARQUET + _CSV)}",
            column=None,
        )
    if not any(ch in text for ch in "*?[") and not Path(text).is_file():
        raise DataError(f"file not found: {text!r}", column=None)
    if reader == "read_parquet" and not any(ch in text for ch in "*?["):
        small = _read_small_parquet(text, request)
        if small is not None:
            return small
    source = f"{reader}({quote_literal(text)})"
    con = duckdb.connect(config={"preserve_insertion_order": False})
    con.execute("SET enable_progress_bar = false")
    try:
        try:
            described = con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()
        except duckdb.Error as exc:
            raise DataError(f"cannot read {text!r}: {exc}", column=None) from None
        types = {row[0]: str(row[1]) for row in described}
        chk.check_columns(list(types), request.wanted)
        tname, ename, gname = request.names
        ttype = types[tname].split("(")[0].upper()
        if ttype not in _DUCKDB_NUMERIC:
            hint = (
                " (if missing values are written as text such as 'NA', they are missing "
                "times: fix them in the file)"
                if ttype == "VARCHAR" and reader == "read_csv"
                else ""
            )
            raise DataError(
                f"column {tname!r} in {text!r} has type {types[tname]}; times must be numeric{hint}",
                column=tname,
            )
        keys = [tname, ename] + ([gname] if gname else [])
        if _mostly_distinct(con, source, tname):
            # continuous times: a GROUP BY would return about one row per input row
            # (and hold all of them in a hash table); stream the three columns out
            # instead and count them in numpy, on the event grid
            select = ", ".join(quote_identifier(k) for k in _unique(keys))
            try:
                rows = con.sql(f"SELECT {select} FROM {source}").to_arrow_table()
            except duckdb.Error as exc:
                raise DataError(f"cannot read {text!r}: {exc}", column=None) from None
            cols = {k: arrow_column(rows.column(k)) for k in _unique(keys)}
            del rows
            return _count_columns(cols, request.noting(source=text, file_counting="rows"))
        select = ", ".join(f"{quote_identifier(k)} AS k{i}" for i, k in enumerate(keys))
        order = ", ".join(f"k{i}" for i in ([2, 0] if gname else [0]))
        query = f"SELECT {select}, count(*) AS n FROM {source} GROUP BY ALL ORDER BY {order}"
        try:
            table = con.sql(query).to_arrow_table()
        except duckdb.Error as exc:
            raise DataError(f"cannot aggregate {text!r}: {exc}", column=None) from None
    finally:
        con.close()
    arrays = [table.column(i).to_numpy() for i in range(table.num_columns)]
    del table  # the Arrow buffers are no longer needed once in numpy
    return count_aggregate(arrays[0], arrays[1], arrays[2] if gname else None, arrays[-1],
                           request.noting(engine="duckdb", source=text, file_counting="group by"), presorted=True)


#: Parquet files with at most this many rows are read with pyarrow and counted in numpy:
#: the columns are a few tens of MB, and DuckDB's fixed cost (~25 ms) would dominate
SMALL_PARQUET_ROWS = 1 << 20


def _read_small_parquet(text: str, request: chk.Request) -> EventCounts | None:
    """Count a small Parquet file in numpy (pyarrow reads the three columns); None when it is not small."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(text)
        n_rows = pf.metadata.num_rows
    except Exception:  # noqa: BLE001 - not a readable Parquet file: DuckDB reports it
        return None
    if n_rows > SMALL_PARQUET_ROWS:
        return None
    chk.check_columns(list(pf.schema_arrow.names), request.wanted)
    keys = _unique([k for k in request.names if k is not None])
    try:
        table = pf.read(columns=keys)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a corrupt file
        raise DataError(f"cannot read {text!r}: {exc}", column=None) from None
    cols = {k: arrow_column(table.column(k)) for k in keys}
    del table
    return _count_columns(cols, request.noting(source=text, file_counting="pyarrow"))


def _count_columns(cols: dict[str, Any], request: chk.Request) -> EventCounts:
    """Count the columns read from a file (by name) in numpy."""
    from leiosurv.stats._engine_numpy import count_arrays

    tname, ename, gname = request.names
    return count_arrays(cols[tname], cols[ename], cols[gname] if gname else None, request)


#: rows of a file probed for ties; more than half distinct times there means continuous times
_PROBE_ROWS = 1 << 16


def _mostly_distinct(con: Any, source: str, tname: str) -> bool:
    """Whether the first rows of a file have mostly distinct times (continuous times).

    Then DuckDB's ``GROUP BY group, time, event`` would return as many rows as
    it reads; counting the streamed columns in numpy is faster and bounded by
    the size of the columns.  With ties (whole days, months) the aggregate is
    small and stays in DuckDB.
    """
    d, n = con.sql(
        f"SELECT count(DISTINCT t), count(*) FROM (SELECT {quote_identifier(tname)} AS t FROM {source} "
        f"LIMIT {_PROBE_ROWS})"
    ).fetchall()[0]
    return bool(n >= 1024 and d > 0.5 * n)


def arrow_column(col: Any) -> Any:
    """A pyarrow (chunked) array as numpy, or as a pandas Categorical when dictionary-encoded."""
    import pyarrow as pa

    if pa.types.is_dictionary(col.type):
        return col.to_pandas()  # a pandas Categorical keeps the declared levels
    return col.to_numpy()


def _unique(keys: list[str]) -> list[str]:
    return list(dict.fromkeys(keys))



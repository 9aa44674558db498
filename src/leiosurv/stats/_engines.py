"""Push the counting down to the engine that holds the data.

``count_events`` is the single entry point every estimator uses to turn user
data into :class:`~leiosurv.stats._counts.EventCounts`.  The aggregation
``(group, time, event) -> count`` runs where the data live and only the
aggregate reaches numpy:

==========================================  ==========================  ====================
input                                       engine                      ``meta["engine"]``
==========================================  ==========================  ====================
pandas DataFrame, pyarrow Table,            numpy (bincount or sort)    ``"numpy"``
mapping of arrays, numpy structured array
polars DataFrame / LazyFrame                polars, via Narwhals        ``"narwhals[polars]"``
DuckDB relation (``con.sql("...")``)        DuckDB, via Narwhals        ``"narwhals[duckdb]"``
PySpark DataFrame                           Spark, via Narwhals         ``"narwhals[pyspark]"``
path (str / Path) to CSV or Parquet         DuckDB SQL, streaming       ``"duckdb"``
:class:`EventCounts`                        passed through unchanged
==========================================  ==========================  ====================

Validation happens once, here, on the aggregate; see ``_engine_checks.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from typing import Any, Sequence

import numpy as np

from leiosurv.exceptions import DataError
from leiosurv.stats import _engine_checks as chk
from leiosurv.stats._counts import EventCounts
from leiosurv.stats._engine_frames import count_file, count_narwhals
from leiosurv.stats._engine_numpy import count_arrays

__all__ = ["count_events"]


def count_events(
    data: Any,
    time: str,
    event: str,
    group: str | None = None,
    *,
    causes: Sequence[int] | None = None,
    event_map: Mapping[Any, int] | None = None,
) -> EventCounts:
    """Count events and censorings per group and distinct time, on the data's own engine.

    Parameters
    ----------
    data : DataFrame, LazyFrame, Table, relation, mapping, path or EventCounts
        The rows, one per subject: a pandas, polars (eager or lazy) or PySpark
        DataFrame, a pyarrow Table, a DuckDB relation, a mapping of equal-length
        arrays (or a numpy structured array), or the path (``str`` or
        ``pathlib.Path``, globs allowed) of a CSV or Parquet file, which DuckDB
        aggregates without loading the rows into Python.  An
        :class:`EventCounts` is returned unchanged.
    time : str
        Column of follow-up times: numeric, finite, ``>= 0``, no missing values.
    event : str
        Column of event codes: 0 = censored, 1..K = cause.  Other codings go
        through ``event_map``.
    group : str, optional
        Column of group labels; ``None`` counts all rows as one group.
    causes : sequence of int, optional
        The cause codes, in the order of ``GroupCounts.events`` columns.  By
        default the positive codes present in the data (or all positive values
        of ``event_map``).  Codes outside ``{0} | causes`` are an error.
    event_map : mapping, optional
        Maps the values found in ``event`` (any hashable: codes, labels such
        as ``"alive"``, booleans) to 0..K.  Every value present must be mapped.

    Returns
    -------
    EventCounts
        Sufficient statistics per group; ``meta`` records ``engine``,
        ``source``, ``n_rows``, ``columns`` (and ``counting`` for numpy:
        ``"bincount"`` or ``"sort"``).

    Raises
    ------
    DataError
        A column is absent (the message lists the available ones); or rows
        have missing, negative or infinite times, missing or unknown event
        codes, missing group labels; or a declared group level has no rows; or
        no row has an event.  The message names the column and the number of
        rows; nothing is ever dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"days": [5, 8, 8, 12], "status": [1, 0, 2, 1]})
    >>> ec = count_events(df, "days", "status")
    >>> ec.causes, ec.groups[0].time.tolist(), ec.groups[0].n_risk.tolist()
    ((1, 2), [5.0, 8.0, 12.0], [4, 3, 1])
    >>> count_events(df, "days", "vital", event_map={"alive": 0})
    Traceback (most recent call last):
    ...
    leiosurv.exceptions.DataError: column 'vital' (the event column) not found; available columns: ['days', 'status']
    """
    if isinstance(data, EventCounts):
        return data
    names = (time, event, group)
    wanted = {"time": time, "event": event, "group": group}
    meta: dict = {"columns": dict(wanted)}
    if causes is not None:
        meta["causes_given"] = [int(c) for c in causes] if _is_seq(causes) else causes
    if event_map is not None:
        if not isinstance(event_map, Mapping):
            raise DataError(
                f"event_map must be a mapping {{value: 0..K}}, got {type(event_map).__name__}",
                column=None,
            )
        meta["event_map"] = {
            repr(k): int(v) if isinstance(v, (int, np.integer)) else repr(v) for k, v in event_map.items()
        }
    kw = dict(names=names, causes=causes, event_map=event_map)

    if isinstance(data, (str, PathLike)):
        return count_file(data, meta=meta, **kw)

    kind = _kind(data)
    if kind == "pandas":
        chk.check_columns([str(c) for c in data.columns], wanted)
        cols = [None if c is None else data[c] for c in names]
        return count_arrays(*_pandas_cols(cols), meta=dict(meta, source="pandas.DataFrame"), **kw)
    if kind == "pyarrow":
        chk.check_columns(data.column_names, wanted)
        cols = [None if c is None else _arrow_col(data.column(c)) for c in names]
        return count_arrays(*cols, meta=dict(meta, source="pyarrow.Table"), **kw)
    if kind == "structured":
        chk.check_columns(list(data.dtype.names), wanted)
        cols = [None if c is None else data[c] for c in names]
        return count_arrays(*cols, meta=dict(meta, source="numpy structured array"), **kw)
    if kind == "mapping":
        chk.check_columns([str(k) for k in data.keys()], wanted)
        cols = [None if c is None else _array(data[c]) for c in names]
        return count_arrays(*cols, meta=dict(meta, source="mapping of arrays"), **kw)

    source = f"{type(data).__module__}.{type(data).__name__}"
    try:
        return count_narwhals(data, meta=dict(meta, source=source), **kw)
    except TypeError as exc:
        if "from_native" not in str(exc) and "Unsupported" not in str(exc) and "Expected" not in str(exc):
            raise
        raise DataError(
            f"cannot count events in a {source}: pass a pandas, polars or PySpark DataFrame, "
            "a pyarrow Table, a DuckDB relation, a mapping of arrays, or the path of a "
            "CSV or Parquet file",
            column=None,
        ) from None


def _kind(data: Any) -> str:
    mod = type(data).__module__.split(".")[0]
    if mod == "pandas" and hasattr(data, "columns") and hasattr(data, "iloc"):
        return "pandas"
    if mod == "pyarrow" and hasattr(data, "column_names"):
        return "pyarrow"
    if isinstance(data, np.ndarray) and data.dtype.names:
        return "structured"
    if isinstance(data, Mapping):
        return "mapping"
    return "other"


def _pandas_cols(cols: list[Any]) -> list[Any]:
    """Numpy views of plain numeric columns; Series kept for nullable/categorical."""
    out = []
    for s in cols:
        if s is None:
            out.append(None)
        elif isinstance(s.dtype, np.dtype) and s.dtype.kind in "iuf":
            out.append(s.to_numpy())
        else:
            out.append(s)
    return out


def _arrow_col(col: Any) -> Any:
    import pyarrow as pa

    if pa.types.is_dictionary(col.type):
        return col.to_pandas()  # a pandas Categorical keeps the declared levels
    return col.to_numpy()


def _array(values: Any) -> Any:
    if hasattr(values, "dtype") and type(values).__module__.split(".")[0] == "pandas":
        return values
    return np.asarray(values)


def _is_seq(x: Any) -> bool:
    try:
        [int(c) for c in x]
    except (TypeError, ValueError):
        return False
    return True

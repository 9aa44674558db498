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

Each kind of input has a :class:`Reader` in :data:`READERS`, chosen by the
input's type (no conversion is attempted to find out).  Validation happens
once, on the aggregate; see ``_engine_checks.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np

from leiosurv.exceptions import DataError
from leiosurv.stats import _engine_checks as chk
from leiosurv.stats._counts import EventCounts
from leiosurv.stats._engine_checks import Request
from leiosurv.stats._engine_frames import arrow_column, count_file, count_narwhals
from leiosurv.stats._engine_numpy import count_arrays

__all__ = ["count_events", "READERS", "Reader", "Request", "row_columns"]


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
        of ``event_map``), which must then be 1 and/or 2 (the event and the
        competing event): an undeclared code such as 3 is refused, not taken
        as a third cause; declare it with ``causes=(1, 2, 3)``.  Codes outside
        ``{0} | causes`` are an error.
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
    meta: dict[str, Any] = {"columns": {"time": time, "event": event, "group": group}}
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
    request = Request(names, causes, event_map, meta)
    for reader in READERS:
        native = reader.accepts(data)
        if native is not None:
            return reader.read(native, request)
    source = f"{type(data).__module__}.{type(data).__name__}"
    raise DataError(
        f"cannot count events in a {source}: pass a pandas, polars or PySpark DataFrame, "
        "a pyarrow Table, a DuckDB relation, a mapping of arrays, or the path of a "
        "CSV or Parquet file",
        column=None,
    )


# -- the registry: one reader per kind of input, chosen by the input's type ------------
@dataclass(frozen=True)
class Reader:
    """One kind of input.

    ``accepts(data)`` looks only at the type (and, for frames Narwhals knows,
    asks Narwhals without converting anything) and returns the object to read
    (possibly wrapped) or None; ``read(native, request)`` counts it.
    """

    name: str
    accepts: Callable[[Any], Any]
    read: Callable[[Any, Request], EventCounts]


def _module(data: Any) -> str:
    return type(data).__module__.split(".")[0]


def _accept_path(data: Any) -> Any:
    return data if isinstance(data, (str, PathLike)) else None


def _accept_pandas(data: Any) -> Any:
    return data if _module(data) == "pandas" and hasattr(data, "columns") and hasattr(data, "iloc") else None


def _accept_arrow(data: Any) -> Any:
    return data if _module(data) == "pyarrow" and hasattr(data, "column_names") else None


def _accept_structured(data: Any) -> Any:
    return data if isinstance(data, np.ndarray) and data.dtype.names else None


def _accept_mapping(data: Any) -> Any:
    return data if isinstance(data, Mapping) else None


def _accept_narwhals(data: Any) -> Any:
    """Anything Narwhals wraps (polars, DuckDB relations, PySpark, ...), asked by type only."""
    if isinstance(data, (list, tuple, set, np.ndarray)) or data is None:
        return None
    import narwhals.stable.v2 as nw

    wrapped = nw.from_native(data, pass_through=True)
    return data if wrapped is not data else None


def _read_path(data: Any, r: Request) -> EventCounts:
    return count_file(data, r)


def _read_pandas(data: Any, r: Request) -> EventCounts:
    return _count_named([str(c) for c in data.columns], lambda c: _pandas_col(data[c]), r, "pandas.DataFrame")


def _read_arrow(data: Any, r: Request) -> EventCounts:
    return _count_named(data.column_names, lambda c: arrow_column(data.column(c)), r, "pyarrow.Table")


def _read_structured(data: Any, r: Request) -> EventCounts:
    return _count_named(list(data.dtype.names), lambda c: data[c], r, "numpy structured array")


def _read_mapping(data: Any, r: Request) -> EventCounts:
    return _count_named([str(k) for k in data.keys()], lambda c: _array(data[c]), r, "mapping of arrays")


def _count_named(available: Sequence[str], column: Callable[[str], Any], r: Request, source: str) -> EventCounts:
    """Check that the requested columns are among ``available``, take each with ``column(name)``
    and count them in numpy."""
    chk.check_columns(available, r.wanted)
    t, e, g = (None if c is None else column(c) for c in r.names)
    return count_arrays(t, e, g, r.noting(source=source))


def _read_narwhals(data: Any, r: Request) -> EventCounts:
    return count_narwhals(data, r.noting(source=f"{type(data).__module__}.{type(data).__name__}"))


def row_columns(data: Any) -> tuple[list[str], Callable[[str], Any]] | None:
    """The column names and a column getter of in-memory rows (the inputs the numpy engine
    counts: pandas DataFrame, pyarrow Table, numpy structured array, mapping of arrays);
    None for any other input (files, polars, DuckDB, Spark, EventCounts)."""
    if _accept_pandas(data) is not None:
        return [str(c) for c in data.columns], lambda c: _pandas_col(data[c])
    if _accept_arrow(data) is not None:
        return list(data.column_names), lambda c: arrow_column(data.column(c))
    if _accept_structured(data) is not None:
        return list(data.dtype.names), lambda c: data[c]
    if _accept_mapping(data) is not None:
        return [str(k) for k in data.keys()], lambda c: _array(data[c])
    return None


#: tried in order; the first reader that accepts the input counts it
READERS: tuple[Reader, ...] = (
    Reader("path", _accept_path, _read_path),
    Reader("pandas", _accept_pandas, _read_pandas),
    Reader("pyarrow", _accept_arrow, _read_arrow),
    Reader("structured", _accept_structured, _read_structured),
    Reader("mapping", _accept_mapping, _read_mapping),
    Reader("narwhals", _accept_narwhals, _read_narwhals),
)


def _pandas_col(s: Any) -> Any:
    """A numpy view of a plain numeric column; the Series kept for nullable/categorical."""
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iuf":
        return s.to_numpy()
    return s


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

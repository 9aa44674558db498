"""Lossless JSON-safe dictionaries of counts, tables and option values.

``to_dict()`` / ``from_dict()`` of every result go through these helpers: NaN
and infinities are written as ``None``, numpy scalars and arrays as plain
Python, and a table is rebuilt with the dtypes it had.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from leiosurv.stats._counts import EventCounts, GroupCounts

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["jsonable", "counts_to_dict", "counts_from_dict", "table_to_dict", "table_from_dict"]


def jsonable(x: Any) -> Any:
    """Plain Python, JSON-safe (NaN/inf -> None; numpy -> Python).

    Examples
    --------
    >>> jsonable({"a": np.float64("nan"), "b": np.arange(2)})
    {'a': None, 'b': [0, 1]}
    """
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [jsonable(v) for v in x.tolist()]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    return str(x)


def counts_to_dict(counts: EventCounts) -> dict[str, Any]:
    """The counts on their full grid, JSON-safe."""
    return {
        "causes": list(counts.causes),
        "group_name": counts.group_name,
        "meta": jsonable(dict(counts.meta)),
        "groups": [
            {
                "label": jsonable(g.label),
                "time": g.time.tolist(),
                "events": g.events.tolist(),
                "censored": g.censored.tolist(),
            }
            for g in counts.groups
        ],
    }


def counts_from_dict(d: dict[str, Any]) -> EventCounts:
    """Inverse of :func:`counts_to_dict`."""
    k = len(d["causes"])
    groups = tuple(
        GroupCounts(
            g["label"],
            np.asarray(g["time"], dtype=np.float64),
            np.asarray(g["events"], dtype=np.int64).reshape(-1, k),
            np.asarray(g["censored"], dtype=np.int64),
        )
        for g in d["groups"]
    )
    return EventCounts(tuple(d["causes"]), groups, d.get("group_name"), dict(d.get("meta") or {}))


def table_to_dict(table: pd.DataFrame) -> dict[str, Any]:
    """Columns and values of a table, JSON-safe."""
    return {
        "columns": list(table.columns),
        "data": {c: jsonable(table[c].to_numpy()) for c in table.columns},
    }


def table_from_dict(d: dict[str, Any], float_columns: set[str], object_columns: tuple[str, ...] = ("group",),
                    bool_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Inverse of :func:`table_to_dict`; columns not named are int64."""
    import pandas as pd

    data: dict[str, Any] = {}
    for c in d["columns"]:
        vals = d["data"][c]
        if c in float_columns:
            data[c] = np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
        elif c in object_columns:
            data[c] = pd.Series(vals, dtype=object)
        elif c in bool_columns:
            data[c] = np.asarray(vals, dtype=bool)
        else:
            data[c] = np.asarray(vals, dtype=np.int64)
    return pd.DataFrame(data, columns=d["columns"])

"""Helpers shared by the step-function results: horizons, offsets, JSON.

A result's ``.table`` holds the groups one after another, each on its own grid
of distinct times (events or censorings); these helpers find a group's rows,
read a right-continuous step function at horizons, and serialise counts and
tables to JSON-safe dictionaries without loss (NaN is written as ``None``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from leiosurv.exceptions import DataError
from leiosurv.stats._counts import EventCounts, GroupCounts

__all__ = [
    "offsets",
    "as_horizons",
    "step_index",
    "n_risk_at",
    "counts_to_dict",
    "counts_from_dict",
    "table_to_dict",
    "table_from_dict",
    "jsonable",
    "beyond_error",
]


def offsets(counts: EventCounts) -> np.ndarray:
    """Row offsets of each group in a result table (length ``len(groups) + 1``)."""
    return np.concatenate(([0], np.cumsum([g.time.size for g in counts.groups]))).astype(np.int64)


def as_horizons(horizons: Any) -> np.ndarray:
    """Validate horizons: finite numbers >= 0; a scalar or a 1-d sequence."""
    try:
        h = np.atleast_1d(np.asarray(horizons, dtype=np.float64))
    except (TypeError, ValueError):
        raise DataError(f"horizons must be numbers >= 0, but were {horizons!r}", column="horizon") from None
    if h.ndim != 1 or h.size == 0:
        raise DataError(f"horizons must be a number or a non-empty 1-d sequence, but were {horizons!r}", column="horizon")
    bad = ~np.isfinite(h) | (h < 0)
    if bad.any():
        raise DataError(
            f"horizons must be finite numbers >= 0, but got {float(h[bad][0])!r} at position {int(np.flatnonzero(bad)[0])}",
            column="horizon",
            n_rows=int(bad.sum()),
        )
    return h


def step_index(time: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Index of the last time ``<= h`` (right-continuous step); -1 before the first."""
    return np.searchsorted(time, h, side="right") - 1


def n_risk_at(g: GroupCounts, h: np.ndarray) -> np.ndarray:
    """Number at risk at ``h``: rows whose time is ``>= h``."""
    return g.n_risk_at(h)


def beyond_error(label: Any, h: float, last: float) -> DataError:
    who = "the data" if label is None else f"group {label!r}"
    return DataError(
        f"horizon {h:g} is beyond the last follow-up time {last:g} of {who}; "
        "pass beyond='nan' to get a NaN row flagged beyond_follow_up instead",
        column="horizon",
    )


# -- JSON ------------------------------------------------------------------------
def jsonable(x: Any) -> Any:
    """Plain Python, JSON-safe (NaN/inf -> None; numpy -> Python)."""
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


def counts_to_dict(counts: EventCounts) -> dict:
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


def counts_from_dict(d: dict) -> EventCounts:
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


def table_to_dict(table: pd.DataFrame) -> dict:
    return {
        "columns": list(table.columns),
        "data": {c: jsonable(table[c].to_numpy()) for c in table.columns},
    }


def table_from_dict(d: dict, float_columns: set[str], object_columns: tuple[str, ...] = ("group",),
                    bool_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Inverse of :func:`table_to_dict`; columns not named are int64."""
    data = {}
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


class TableResult:
    """Behaviour of the results that are one table (risk differences, Gray's test)."""

    table: pd.DataFrame

    @property
    def summary(self) -> pd.DataFrame:
        """The table itself."""
        return self.table

    def __repr__(self) -> str:
        return f"<{type(self).__name__} rows={len(self.table)}>"

    def print_summary(self) -> None:
        """Print the table."""
        print(str(self))

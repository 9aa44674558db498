"""The JSON forms of the statistics results (see :mod:`leiosurv.serial`).

A result keeps its numbers as numpy arrays; its JSON form is one of the
dataclasses below, made of lists and plain values, whose pydantic schema is the
result's ``json_schema()``.  NaN and infinities are written as ``None``, numpy
scalars and arrays as plain Python, and a table is rebuilt with the dtypes it had.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from leiosurv.exceptions import InputError
from leiosurv.stats._counts import EventCounts, GroupCounts

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "jsonable", "Label", "Cell", "GroupCountsForm", "CountsForm", "TableForm", "StepResultForm",
    "RiskDifferenceForm", "GrayTestForm", "ConditionalIncidenceForm", "counts_form", "counts_from_form",
    "table_form", "table_from_form",
]

Label = str | int | float | bool | None
"""A group label as JSON holds it."""
Cell = float | int | str | bool | None
"""One value of a result table (``None`` for NaN)."""


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
        return _column(x)
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    return str(x)


def _column(a: np.ndarray) -> list[Any]:
    """An array as a list of plain values, NaN and infinities as None (vectorised for numbers)."""
    if a.dtype.kind == "f":
        finite = np.isfinite(a)
        if finite.all():
            return a.tolist()  # type: ignore[no-any-return]
        out = a.astype(object)
        out[~finite] = None
        return out.tolist()  # type: ignore[no-any-return]
    if a.dtype.kind in "iub":
        return a.tolist()  # type: ignore[no-any-return]
    return [jsonable(v) for v in a.tolist()]


@dataclass(frozen=True)
class GroupCountsForm:
    """One group's counts on its distinct times (``events``: one row per time, one column per cause);
    ``entry``: the rows' sorted entry times under delayed entry, else None."""

    label: Label
    time: list[float]
    events: list[list[int]]
    censored: list[int]
    entry: list[float] | None = None


@dataclass(frozen=True)
class CountsForm:
    """The sufficient statistics (:class:`~leiosurv.stats.EventCounts`) on their full grid."""

    causes: list[int]
    group_name: str | None
    meta: dict[str, Any]
    groups: list[GroupCountsForm]


@dataclass(frozen=True)
class TableForm:
    """A result table: its column names in order and each column's values."""

    columns: list[str]
    data: dict[str, list[Cell]]


@dataclass(frozen=True, kw_only=True)
class _TableResultForm:
    """What the forms of the results with a table share: the table and the provenance."""

    table: TableForm
    provenance: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class StepResultForm(_TableResultForm):
    """JSON form of :class:`~leiosurv.stats.CumulativeIncidence` and :class:`~leiosurv.stats.KaplanMeier`."""

    kind: Literal["CumulativeIncidence", "KaplanMeier"]
    options: dict[str, Any]
    counts: CountsForm


@dataclass(frozen=True, kw_only=True)
class RiskDifferenceForm(_TableResultForm):
    """JSON form of :class:`~leiosurv.stats.RiskDifference` (its reference group, z and level)."""

    kind: Literal["RiskDifference"]
    reference: Label
    z: float
    level: float


@dataclass(frozen=True, kw_only=True)
class GrayTestForm(_TableResultForm):
    """JSON form of :class:`~leiosurv.stats.GrayTest` (the groups compared and rho)."""

    kind: Literal["GrayTest"]
    groups: list[Label]
    rho: float


@dataclass(frozen=True)
class ConditionalIncidenceForm:
    """JSON form of :class:`~leiosurv.stats.ConditionalIncidence` (``n_at_landmark``: ``[label, n]`` pairs)."""

    kind: Literal["ConditionalIncidence"]
    landmark: float
    n_at_landmark: list[tuple[Label, int]]
    causes: list[int]
    incidence: StepResultForm | None
    provenance: dict[str, Any]


def counts_form(counts: EventCounts) -> CountsForm:
    """The counts on their full grid, as their JSON form."""
    return CountsForm(
        list(counts.causes), counts.group_name, jsonable(dict(counts.meta)),
        [GroupCountsForm(jsonable(g.label), g.time.tolist(), g.events.tolist(), g.censored.tolist(),
                         None if g.entry is None else g.entry.tolist())
         for g in counts.groups],
    )


def counts_from_form(f: CountsForm) -> EventCounts:
    """Inverse of :func:`counts_form`."""
    k = len(f.causes)
    groups = tuple(
        _with_entry(GroupCounts(
            g.label,
            np.asarray(g.time, dtype=np.float64),
            np.asarray(g.events, dtype=np.int64).reshape(-1, k),
            np.asarray(g.censored, dtype=np.int64),
        ), g.entry)
        for g in f.groups
    )
    return EventCounts(tuple(f.causes), groups, f.group_name, dict(f.meta))


def _with_entry(g: GroupCounts, entry: list[float] | None) -> GroupCounts:
    return g if entry is None else g.with_entry(np.asarray(entry, dtype=np.float64))


def table_form(table: pd.DataFrame) -> TableForm:
    """Columns and values of a table, as its JSON form."""
    return TableForm([str(c) for c in table.columns], {str(c): _column(table[c].to_numpy()) for c in table.columns})


def table_from_form(f: TableForm, float_columns: set[str], object_columns: tuple[str, ...] = ("group",),
                    bool_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Inverse of :func:`table_form`; columns not named are int64."""
    import pandas as pd

    if set(f.columns) != set(f.data) or len({len(v) for v in f.data.values()}) > 1:
        raise InputError(f"table: the columns {f.columns[:20]!r} and the data's columns and lengths "
                         f"{ {c: len(v) for c, v in list(f.data.items())[:20]}!r} do not match")
    data: dict[str, Any] = {}
    for c in f.columns:
        vals = f.data[c]
        if c in float_columns:
            data[c] = np.array(vals, dtype=np.float64)  # None -> NaN
        elif c in object_columns:
            data[c] = pd.Series(vals, dtype=object)
        elif c in bool_columns:
            data[c] = np.asarray(vals, dtype=bool)
        else:
            data[c] = np.asarray(vals, dtype=np.int64)
    return pd.DataFrame(data, columns=f.columns)

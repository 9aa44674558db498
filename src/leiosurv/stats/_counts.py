"""Sufficient statistics of right-censored competing-risks data.

Every estimator in :mod:`leiosurv.stats` (Aalen–Johansen, Kaplan–Meier, Gray's
test) depends on the data only through, for each group and each distinct time,
the number of censorings and the number of events of each cause.  This module
holds that table (:class:`EventCounts`) and builds it from in-memory arrays or
from an already aggregated long table ``(group, time, event, n)`` — the shape in
which a database engine (DuckDB, Spark, ...) returns ``GROUP BY group, time,
event``.  Nothing here knows about data frames or files; see ``_engines.py``.

Conventions
-----------
* Event code 0 is a censoring; codes 1..K are causes.
* Times are float64.  At a time with both events and censorings the events
  come first: those censored at ``t`` are still at risk at ``t`` (as in R's
  survival, cmprsk and prodlim).
* ``n_risk[j]`` is the number at risk just before ``time[j]``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["GroupCounts", "EventCounts", "from_codes", "from_sorted", "from_dense", "sorted_runs"]


class GroupCounts:
    """Counts for one group on its grid of distinct times.

    Two equivalent representations, chosen by the counting engine:

    * the full grid (``GroupCounts(label, time, events, censored)``): every
      distinct time with its events per cause and its censorings;
    * the event grid (:meth:`from_event_grid`): the distinct *event* times with
      their events per cause, plus the sorted censoring times.  With continuous
      times most distinct times are censorings, and no estimator needs them
      one by one: the number at risk at an event time is ``n`` minus the rows
      that ended before it.  The full grid is built from it on first access of
      ``time``, ``events`` or ``censored``.

    Either may carry delayed entries (:meth:`with_entry`): the sorted entry
    times of the group's rows, a row being at risk at ``t`` when
    ``entry < t <= time`` (left truncation, as ``survival::Surv(entry, time,
    status)``); every number at risk then leaves out the rows not yet entered.

    Instances are immutable.

    Attributes
    ----------
    label : object
        The group's label (``None`` when the data are not grouped).
    time : ndarray of float64, shape (m,)
        Strictly increasing distinct times at which at least one row ends
        (an event of any cause or a censoring).
    events : ndarray of int64, shape (m, K)
        ``events[j, k]`` is the number of events of cause ``causes[k]`` at ``time[j]``.
    censored : ndarray of int64, shape (m,)
        Number of censorings at ``time[j]``.
    """

    __slots__ = ("label", "_full", "_split", "_n", "_grid", "_entry")

    label: Any
    _full: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    _split: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    _n: int
    _grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    _entry: np.ndarray | None

    def __init__(self, label: Any, time: np.ndarray, events: np.ndarray, censored: np.ndarray) -> None:
        self._init(label, (time, events, censored), None)

    def _init(self, label: Any, full: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
              split: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> None:
        put = object.__setattr__
        put(self, "label", label)
        put(self, "_full", full)
        put(self, "_split", split)
        put(self, "_grid", None)
        put(self, "_entry", None)
        if full is not None:
            n = int(full[1].sum() + full[2].sum())
        else:
            assert split is not None
            n = int(split[1].sum()) + int(split[2].size)
        put(self, "_n", n)

    @classmethod
    def from_event_grid(cls, label: Any, event_time: np.ndarray, event_counts: np.ndarray,
                        censored_time: np.ndarray) -> GroupCounts:
        """Counts from the distinct event times and the sorted censoring times.

        Parameters
        ----------
        label : object
        event_time : ndarray of float64, shape (m_e,)
            Strictly increasing times with at least one event.
        event_counts : ndarray of int64, shape (m_e, K)
            Events per cause at each of them (every row sums to at least 1).
        censored_time : ndarray of float64, shape (n_c,)
            The censoring times in increasing order, one per censored row
            (repeats allowed).
        """
        self = cls.__new__(cls)
        self._init(label, None, (event_time, event_counts, censored_time))
        return self

    def with_entry(self, entry: np.ndarray) -> GroupCounts:
        """The same counts with delayed entries: ``entry`` holds the entry time of each of the
        group's rows, in increasing order (a row is at risk at ``t`` when ``entry < t <= time``).

        The caller has checked every entry against its row's time (``entry < time``).
        """
        if entry.shape != (self._n,):
            raise ValueError(f"entry must hold one time per row ({self._n}), got shape {entry.shape}")
        new = type(self).__new__(type(self))
        new._init(self.label, self._full, self._split)
        object.__setattr__(new, "_entry", np.asarray(entry, dtype=np.float64))
        return new

    @property
    def entry(self) -> np.ndarray | None:
        """The rows' entry times in increasing order, or None when every row is at risk from time 0."""
        return self._entry

    def not_entered(self, t: np.ndarray) -> np.ndarray | int:
        """Rows not yet at risk at each ``t`` (entry ``>= t``); 0 without delayed entry."""
        if self._entry is None:
            return 0
        return self._entry.size - np.searchsorted(self._entry, t, side="left")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"GroupCounts is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"GroupCounts is immutable; cannot delete {name!r}")

    def __repr__(self) -> str:
        return f"GroupCounts(label={self.label!r}, n={self.n}, times={self.time.size})"

    # -- the full grid ----------------------------------------------------------
    def _full_grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        full = self._full
        if full is None:
            assert self._split is not None
            full = _expand(*self._split)
            object.__setattr__(self, "_full", full)
        return full

    def _parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(time, events, censored)`` of the full grid if built, else the event-grid triple."""
        parts = self._full if self._full is not None else self._split
        assert parts is not None
        return parts

    @property
    def time(self) -> np.ndarray:
        """Distinct times (events or censorings), shape (m,)."""
        return self._full_grid()[0]

    @property
    def events(self) -> np.ndarray:
        """Events per cause at each distinct time, shape (m, K)."""
        return self._full_grid()[1]

    @property
    def censored(self) -> np.ndarray:
        """Censorings at each distinct time, shape (m,)."""
        return self._full_grid()[2]

    @property
    def n(self) -> int:
        """Number of rows in the group."""
        return self._n

    @property
    def n_events(self) -> np.ndarray:
        """Events of any cause at each time, shape (m,)."""
        return np.asarray(self.events.sum(axis=1))

    @property
    def n_risk(self) -> np.ndarray:
        """Number at risk just before each time, shape (m,) (entered before it, not yet left)."""
        leaving = self.n_events + self.censored
        before: np.ndarray = np.concatenate(([0], np.cumsum(leaving)[:-1])).astype(np.int64)
        return self.n - before - self.not_entered(self.time)

    def event_totals(self) -> np.ndarray:
        """Events of each cause over all times, shape (K,)."""
        ec = self._parts()[1]
        return np.asarray(ec.sum(axis=0), dtype=np.int64)

    @property
    def n_censored(self) -> int:
        """Censored rows in the group."""
        return self._n - int(self.event_totals().sum())

    @property
    def last_time(self) -> float:
        """The group's last follow-up time (event or censoring)."""
        if self._full is not None:
            return float(self._full[0][-1])
        et, _, ct = self._parts()
        return float(max(et[-1] if et.size else -np.inf, ct[-1] if ct.size else -np.inf))

    @property
    def ended_by_event(self) -> bool:
        """Whether follow-up ended with events only: nobody is censored at the last time.

        The risk set is then emptied by events, so every curve is known after
        the last time (it stays at its last value; see ``CumulativeIncidence.at``).
        """
        if self._full is not None:
            return bool(self._full[2][-1] == 0)
        et, _, ct = self._parts()
        return bool(et.size and (ct.size == 0 or et[-1] > ct[-1]))

    # -- the event grid ---------------------------------------------------------
    def event_grid(self, *, keep: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(time, n_risk, events)`` on the distinct event times only.

        ``n_risk[j]`` is the number at risk just before ``time[j]`` (those
        censored at ``time[j]`` are at risk); ``events`` is (m_e, K).  What
        every Aalen–Johansen quantity needs: a CIF, the all-cause survival and
        both variances change only at event times.  ``keep=False``: do not
        keep a newly computed ``n_risk`` with the counts (a caller that reads
        it once, e.g. to estimate, then frees it).
        """
        grid = self._grid
        if grid is None:
            grid = self._make_event_grid()
            if keep:
                object.__setattr__(self, "_grid", grid)
        return grid

    def _make_event_grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._split is None:
            time, events, censored = self._parts()
            d = events @ np.ones(events.shape[1], dtype=np.int64)
            left = np.cumsum(d + censored)
            n_risk = self._n - np.concatenate(([0], left[:-1]))
            n_risk = n_risk - self.not_entered(time)
            ev = np.flatnonzero(d)
            if ev.size < d.size:
                return time[ev], n_risk[ev], events[ev]
            return time, n_risk, events
        et, ec, ct = self._split  # not _parts(): the full grid may have been built meanwhile
        d = ec @ np.ones(ec.shape[1], dtype=np.int64)
        events_before = np.empty(d.size, dtype=np.int64)
        if d.size:
            events_before[0] = 0
            np.cumsum(d[:-1], out=events_before[1:])
        n_risk = self._n - events_before
        n_risk -= np.searchsorted(ct, et, side="left")
        n_risk -= self.not_entered(et)
        return et, n_risk, ec

    def n_risk_at(self, h: np.ndarray) -> np.ndarray:
        """Number at risk at each ``h``: rows whose time is ``>= h`` (and entry ``< h``)."""
        h = np.asarray(h, dtype=np.float64)
        if self._split is None:
            leaving = self.n_events + self.censored
            before = np.concatenate(([0], np.cumsum(leaving)))
            return (self._n - before[np.searchsorted(self.time, h, side="left")] - self.not_entered(h)).astype(np.int64)
        et, ec, ct = self._split  # the event grid and the censoring times, even once the full grid is built
        cum = np.concatenate(([0], np.cumsum(ec.sum(axis=1))))
        before = cum[np.searchsorted(et, h, side="left")] + np.searchsorted(ct, h, side="left")
        return (self._n - before - self.not_entered(h)).astype(np.int64)


def _expand(et: np.ndarray, ec: np.ndarray, ct: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The full grid of distinct times from the event grid and the sorted censoring times."""
    cu, cc = sorted_runs(ct)
    both = np.concatenate((et, cu))
    both.sort(kind="stable")  # two sorted runs: a linear merge
    if both.size:
        keep = np.empty(both.size, dtype=bool)
        keep[0] = True
        np.not_equal(both[1:], both[:-1], out=keep[1:])
        grid = both[keep] if not keep.all() else both
    else:
        grid = both
    events = np.zeros((grid.size, ec.shape[1]), dtype=np.int64)
    events[np.searchsorted(grid, et)] = ec
    censored = np.zeros(grid.size, dtype=np.int64)
    censored[np.searchsorted(grid, cu)] = cc
    return grid, events, censored


def sorted_runs(sorted_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and their multiplicities."""
    if sorted_t.size == 0:
        return sorted_t, np.zeros(0, dtype=np.int64)
    new = np.empty(sorted_t.size, dtype=bool)
    new[0] = True
    np.not_equal(sorted_t[1:], sorted_t[:-1], out=new[1:])
    if new.all():
        return sorted_t, np.ones(sorted_t.size, dtype=np.int64)
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, sorted_t.size))
    return sorted_t[starts], counts


@dataclass(frozen=True, eq=False)
class EventCounts:
    """Sufficient statistics for every group: the estimators' only input.

    Attributes
    ----------
    causes : tuple of int
        The cause codes, in the order of the columns of ``GroupCounts.events``.
    groups : tuple of GroupCounts
        One entry per group, ordered by label; a single entry labelled ``None``
        when ungrouped.
    group_name : str or None
        Name of the grouping column, if any.
    """

    causes: tuple[int, ...]
    groups: tuple[GroupCounts, ...]
    group_name: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    # -- access ---------------------------------------------------------------
    @property
    def labels(self) -> list[Any]:
        return [g.label for g in self.groups]

    @property
    def n(self) -> int:
        return sum(g.n for g in self.groups)

    def __iter__(self) -> Iterator[GroupCounts]:
        return iter(self.groups)

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, label: Any) -> GroupCounts:
        for g in self.groups:
            if g.label == label:
                return g
        raise KeyError(f"no group {label!r}; groups are {self.labels!r}")

    def pooled(self) -> EventCounts:
        """The same counts with all groups merged into one (label ``None``)."""
        if len(self.groups) == 1 and self.groups[0].label is None:
            return self
        time = np.concatenate([g.time for g in self.groups])
        k = len(self.causes)
        mat = np.concatenate(
            [np.column_stack([g.censored, g.events]) for g in self.groups], axis=0
        ).reshape(-1, k + 1)
        merged = _merge(None, time, mat)
        if any(g.entry is not None for g in self.groups):
            entry = np.sort(np.concatenate([
                g.entry if g.entry is not None else np.full(g.n, -np.inf) for g in self.groups]))
            merged = merged.with_entry(entry)
        return EventCounts(self.causes, (merged,), None, dict(self.meta))

    # -- construction ---------------------------------------------------------
    @classmethod
    def from_long(
        cls,
        time: Sequence[float] | np.ndarray,
        event: Sequence[int] | np.ndarray,
        n: Sequence[int] | np.ndarray | None = None,
        group: Sequence[Any] | np.ndarray | None = None,
        *,
        causes: Sequence[int] | None = None,
        group_name: str | None = None,
    ) -> EventCounts:
        """Build from a long table of ``(group, time, event, n)`` rows.

        Rows may repeat a key; their ``n`` are added.  With ``n=None`` every row
        counts once, so this also builds the counts from raw per-subject arrays.
        Inputs must already be valid (no missing values, times >= 0, event codes
        in ``{0} | causes``); the engines layer validates and names the culprit.

        Examples
        --------
        >>> ec = EventCounts.from_long([2.0, 1.0, 2.0, 3.0], [1, 0, 2, 0])
        >>> ec.groups[0].time.tolist(), ec.groups[0].n_risk.tolist()
        ([1.0, 2.0, 3.0], [4, 3, 1])
        """
        time = np.asarray(time, dtype=np.float64)
        event = np.asarray(event, dtype=np.int64)
        weights = None if n is None else np.asarray(n, dtype=np.int64)
        if causes is None:
            present = np.unique(event)
            causes = tuple(int(c) for c in present[present > 0])
        causes = tuple(int(c) for c in causes)
        # column of each row in the (censored, cause_1..cause_K) matrix
        code_to_col = {0: 0, **{c: i + 1 for i, c in enumerate(causes)}}
        lut_size = max(code_to_col) + 1
        lut = np.full(lut_size, -1, dtype=np.int64)
        for code, col in code_to_col.items():
            lut[code] = col
        if event.size and (event.min() < 0 or event.max() >= lut_size):
            raise ValueError("event codes outside {0} and causes; validate before counting")
        cols = lut[event]
        if (cols < 0).any():
            raise ValueError("event codes outside {0} and causes; validate before counting")

        if group is None:
            return from_codes(None, None, time, cols, weights, causes, group_name)
        labels, inverse = np.unique(np.asarray(group), return_inverse=True)
        return from_codes(
            inverse.reshape(-1), [_py(x) for x in labels], time, cols, weights, causes, group_name
        )

    def __repr__(self) -> str:
        by = f" by {self.group_name!r}" if self.group_name is not None else ""
        groups = ", ".join(
            f"{g.label!r}: n={g.n}, times={g.time.size}, events={g.events.sum(axis=0).tolist()}"
            for g in self.groups
        )
        engine = self.meta.get("engine")
        via = f", engine={engine!r}" if engine else ""
        return f"EventCounts(causes={self.causes}{by}{via}; {groups})"


def from_codes(
    codes: np.ndarray | None,
    labels: Sequence[Any] | None,
    time: np.ndarray,
    cols: np.ndarray,
    weights: np.ndarray | None,
    causes: tuple[int, ...],
    group_name: str | None,
    meta: dict[str, Any] | None = None,
) -> EventCounts:
    """Counts from per-row (or per-aggregate-row) group codes, times and matrix columns.

    ``codes[i]`` indexes ``labels``; ``cols[i]`` is 0 for a censoring and ``k + 1``
    for cause ``causes[k]``; ``weights`` (default 1) are the row multiplicities.
    A label with no rows gets an empty ``GroupCounts`` (the engines layer rejects
    empty groups before this point).
    """
    k = len(causes)
    if codes is None or labels is None:
        out = [_count_group(None, time, cols, weights, k)]
    else:
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
        out = []
        for i, label in enumerate(labels):
            idx = order[bounds[i] : bounds[i + 1]]
            w = None if weights is None else weights[idx]
            out.append(_count_group(label, time[idx], cols[idx], w, k))
    return EventCounts(causes, tuple(out), group_name, dict(meta or {}))


def from_sorted(
    codes: np.ndarray | None,
    labels: Sequence[Any] | None,
    time: np.ndarray,
    cols: np.ndarray,
    weights: np.ndarray,
    causes: tuple[int, ...],
    group_name: str | None,
    meta: dict[str, Any] | None = None,
) -> EventCounts | None:
    """Like :func:`from_codes` for an aggregate whose rows are contiguous per group
    and sorted by time within each group (as an engine's ``ORDER BY g, t`` returns
    them): O(rows), no sort.  Returns None when the rows are not in that order."""
    k1 = len(causes) + 1
    n = time.size
    if codes is None:
        starts, seg_codes = np.array([0]), np.array([0])
        labels = [None]
    else:
        change = np.flatnonzero(codes[1:] != codes[:-1]) + 1
        starts = np.concatenate(([0], change))
        seg_codes = codes[starts]
        if np.unique(seg_codes).size != seg_codes.size:
            return None  # a group's rows are not contiguous
    bounds = np.append(starts, n)
    same_seg = np.ones(n, dtype=bool)
    same_seg[starts] = False
    step = np.empty(n, dtype=bool)
    step[0] = True
    np.greater(time[1:], time[:-1], out=step[1:])
    if not np.all(step | ~same_seg | np.append(False, time[1:] == time[:-1])):
        return None  # times decrease within a group
    new_time = step | ~same_seg
    run = np.cumsum(new_time) - 1
    grid = time[new_time]
    mat = np.bincount(run * k1 + cols, weights=weights, minlength=grid.size * k1)
    mat = np.rint(mat).astype(np.int64).reshape(grid.size, k1)
    run_bounds = np.searchsorted(np.flatnonzero(new_time), bounds)
    assert labels is not None
    by_code = {}
    for i, code in enumerate(seg_codes):
        a, b = run_bounds[i], run_bounds[i + 1]
        by_code[int(code)] = _drop_empty(labels[int(code)], grid[a:b], mat[a:b])
    k = len(causes)
    empty = np.zeros((0, k + 1), dtype=np.int64)
    out = tuple(
        by_code.get(i) or _drop_empty(lab, np.zeros(0), empty) for i, lab in enumerate(labels)
    )
    return EventCounts(causes, out, group_name, dict(meta or {}))


def from_dense(
    labels: Sequence[Any] | None,
    t0: float,
    dense: np.ndarray,
    causes: tuple[int, ...],
    group_name: str | None,
    meta: dict[str, Any] | None = None,
) -> EventCounts:
    """Counts from a dense ``(groups, 1 + K, R)`` array over the integer times ``t0 + r``."""
    grid = t0 + np.arange(dense.shape[2], dtype=np.float64)
    names = [None] if labels is None else list(labels)
    out = tuple(_drop_empty(lab, grid, dense[i].T) for i, lab in enumerate(names))
    return EventCounts(causes, out, group_name, dict(meta or {}))


def _py(x: Any) -> Any:
    """numpy scalar -> Python scalar, so labels compare and serialise plainly."""
    return x.item() if isinstance(x, np.generic) else x


def _count_group(label: Any, time: np.ndarray, cols: np.ndarray, weights: np.ndarray | None, k: int) -> GroupCounts:
    if time.size == 0:
        empty = np.zeros((0, k + 1), dtype=np.int64)
        return _drop_empty(label, np.zeros(0), empty)
    uniq, inverse = np.unique(time, return_inverse=True)
    flat = inverse * (k + 1) + cols
    mat = np.bincount(flat, weights=weights, minlength=uniq.size * (k + 1))
    mat = np.rint(mat).astype(np.int64).reshape(uniq.size, k + 1)
    return _drop_empty(label, uniq, mat)


def _merge(label: Any, time: np.ndarray, mat: np.ndarray) -> GroupCounts:
    uniq, inverse = np.unique(time, return_inverse=True)
    out = np.zeros((uniq.size, mat.shape[1]), dtype=np.int64)
    np.add.at(out, inverse, mat)
    return _drop_empty(label, uniq, out)


def _drop_empty(label: Any, time: np.ndarray, mat: np.ndarray) -> GroupCounts:
    mat = np.asarray(mat, dtype=np.int64)
    keep = mat.any(axis=1)
    if not keep.all():
        time, mat = time[keep], mat[keep]
    return GroupCounts(label, time, np.ascontiguousarray(mat[:, 1:]), np.ascontiguousarray(mat[:, 0]))

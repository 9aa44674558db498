"""In-memory counting with numpy: the fast path for pandas, numpy and pyarrow data.

Two kernels, chosen from the data:

* **bincount** — when every time is an integer (integer days, months) and the
  range of times is moderate, one ``np.bincount`` over
  ``((group * (1 + K) + column) * R + (time - min))`` counts every
  ``(group, event column, time)`` cell in a single O(n) pass; no sort at all.
* **sort** — otherwise, per group one ``np.sort`` of the times gives the grid of
  distinct times and the total leaving at each, and one sort per cause of that
  cause's (usually few) event times gives the event counts; censorings are the
  difference.  Cheaper than one ``argsort`` of the whole column.

Validation needs only ``min``/``max`` of the times and the distinct event and
group values with their counts; a full pass over the rows happens only to
describe an error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from leiosurv.exceptions import DataError
from leiosurv.stats import _engine_checks as chk
from leiosurv.stats._counts import EventCounts, GroupCounts, from_dense, sorted_runs

__all__: list[str] = []

#: the dense (group, column, time) table may have at most this many cells per row of data
_DENSE_CELLS_PER_ROW = 4
#: ... and at least this many are always allowed (small data sets)
_DENSE_MIN_CELLS = 1 << 22


def count_arrays(time: Any, event: Any, group: Any | None, request: chk.Request) -> EventCounts:
    """Validate and count per-row arrays (numpy arrays or pandas Series)."""
    tname, ename, gname = request.names
    n = len(time)
    chk.check_no_rows(n, tname)
    for name, col in ((ename, event), (gname, group)):
        if col is not None and len(col) != n:
            raise DataError(
                f"column {name!r} has {len(col)} rows but column {tname!r} has {n}; "
                "columns must have equal length",
                column=name,
            )
    fast = _count_whole_times(time, event, group, request)
    if fast is not None:
        return fast
    causes, event_map = request.causes, request.event_map
    t = _times(tname, time)

    ev = chk.factorize(event)
    lut, causes_t = chk.resolve_events(ename, ev, causes, event_map)
    if group is not None:
        gr = chk.factorize(group)
        glut, labels = chk.resolve_groups(str(gname), gr)
    chk.check_any_event(ename, ev, lut)

    k1 = len(causes_t) + 1
    small = np.int8 if k1 < 127 else np.int64
    cols = lut.astype(small)[ev.codes]
    del ev
    if group is None:
        gcodes, labels_or_none, n_groups = None, None, 1
    else:
        gdtype = np.int16 if len(labels) < (1 << 15) else np.int64
        gcodes = glut.astype(gdtype)[gr.codes]
        del gr
        labels_or_none, n_groups = labels, len(labels)

    meta = dict(request.meta, engine="numpy", n_rows=int(n))
    dense = _dense_plan(t, n_groups, k1)
    if dense is not None:
        tmin, span = dense
        meta["counting"] = "bincount"
        table = _bincount(t, tmin, span, cols, gcodes, n_groups, k1)
        return from_dense(labels_or_none, float(tmin), table, causes_t, gname, meta)
    meta["counting"] = "sort"
    tf = np.asarray(t, dtype=np.float64)
    cells = n_groups * k1
    if gcodes is None:
        key = cols
    else:
        key = np.multiply(gcodes, k1, dtype=_key_dtype(cells))
        key += cols
    del cols, gcodes
    groups = _sort_counts(tf, key, labels_or_none, k1)
    return EventCounts(causes_t, groups, gname, meta)


def _key_dtype(cells: int) -> type[np.signedinteger[Any]]:
    """The narrowest integer type for the (group, column) cell numbers ``0..cells - 1``."""
    if cells <= np.iinfo(np.int8).max:
        return np.int8
    return np.int16 if cells <= np.iinfo(np.int16).max else np.int64



#: rows per block of the fused whole-time counting loop (temporaries stay in cache)
_BLOCK = 1 << 16
#: at most this many distinct event or group codes on the fused path
_FAST_CODES = 256


def plain_column(values: Any) -> np.ndarray | None:
    """A numpy array of a plain numeric column (pandas Series unwrapped), else None."""
    if values is None:
        return None
    if type(values).__module__.split(".")[0] == "pandas":
        if not isinstance(values.dtype, np.dtype):
            return None
        values = values.to_numpy()
    return values if isinstance(values, np.ndarray) and values.ndim == 1 else None


def _count_whole_times(time: Any, event: Any, group: Any | None, request: chk.Request) -> EventCounts | None:
    """The common case in one fused pass: whole-number times, integer codes, no problems.

    One ``np.bincount`` over ``((group - g0) * E + event - e0) * R + time``
    counts every (group value, event value, time) cell of the raw columns,
    block by block; validation then reads the table's margins (which event
    and group values occur, and how often), the raw values are mapped to
    causes and labels on the small table, and times are checked to be
    finite, whole and ``>= 0`` by min/max and the blocks' round trip.  Returns
    None when any of that does not hold: the general path then counts, or
    names the problem.
    """
    t, e = plain_column(time), plain_column(event)
    g = plain_column(group) if group is not None else None
    if t is None or e is None or (group is not None and g is None):
        return None
    if t.dtype.kind not in "iuf" or e.dtype.kind not in "iub" or (g is not None and g.dtype.kind not in "iub"):
        return None
    n = t.size
    whole = t.dtype.kind != "f" or _whole_probe(t)
    lo, hi = t.min(), t.max()
    if not (lo >= 0 and hi < 2.0**53):  # NaN fails too
        return None
    codes = code_ranges(e, g)
    if codes is None:
        return None
    elo, glo, n_e, n_g = codes
    if not whole:
        return _count_plain_sorted(t, e, g, codes, request)
    t0 = int(lo) if lo > hi / 2 else 0  # small offsets cost empty cells, not a pass
    span = int(hi) - t0 + 1
    cells = n_g * n_e * span
    if cells > max(_DENSE_CELLS_PER_ROW * n, _DENSE_MIN_CELLS):
        return None
    base = t0 + span * (elo + n_e * glo)
    table = np.zeros(cells if n > _BLOCK else 0, dtype=np.int64)
    floats = t.dtype.kind == "f"
    for s in range(0, n, _BLOCK):
        tb = t[s : s + _BLOCK]
        key = tb.astype(np.int64)
        if floats and not np.array_equal(key, tb):
            return None  # a time with a fraction
        key += np.multiply(e[s : s + _BLOCK], span, dtype=np.int64)
        if g is not None:
            key += np.multiply(g[s : s + _BLOCK], span * n_e, dtype=np.int64)
        if base:
            key -= base
        if n > _BLOCK:
            table += np.bincount(key, minlength=cells)
        else:  # one block: the count is the table
            table = np.bincount(key, minlength=cells)
    _, ename, gname = request.names
    request = request.noting(engine="numpy", n_rows=int(n), counting="bincount")
    if cells > _SPARSE_CELLS_PER_ROW * n:
        return _from_sparse_table(table, span, n_e, n_g, (elo, glo, t0), e.dtype.kind == "b",
                                  None if g is None else g.dtype.kind == "b", request)
    cube = table.reshape(n_g, n_e, span)
    ev = _key_summary(elo, cube.sum(axis=(0, 2)), e.dtype.kind == "b")
    lut, causes_t = chk.resolve_events(ename, ev, request.causes, request.event_map)
    labels: list[Any] | None = None
    if g is not None:
        g_counts = cube.sum(axis=(1, 2))
        _, labels = chk.resolve_groups(str(gname), _key_summary(glo, g_counts, g.dtype.kind == "b"))
        cube = cube[g_counts > 0]
    chk.check_any_event(ename, ev, lut)
    k1 = len(causes_t) + 1
    dense = np.zeros((cube.shape[0], k1, span), dtype=np.int64)
    for i, col in enumerate(lut):
        if col >= 0:
            dense[:, col] += cube[:, i]
    return from_dense(labels, float(t0), dense, causes_t, gname, request.meta)


def code_ranges(e: np.ndarray, g: np.ndarray | None) -> tuple[int, int, int, int] | None:
    """``(lowest event value, lowest group value, event range, group range)`` of plain integer event and
    group columns, or None when they are not both such columns with at most ``_FAST_CODES`` values from 0 on
    (the general path then validates)."""
    if e.dtype.kind not in "iub" or (g is not None and g.dtype.kind not in "iub") or not e.size:
        return None
    elo, ehi = int(e.min()), int(e.max())
    glo, ghi = (int(g.min()), int(g.max())) if g is not None else (0, 0)
    n_e, n_g = ehi - elo + 1, ghi - glo + 1
    if elo < 0 or n_e > _FAST_CODES or n_g > _FAST_CODES:
        return None
    return elo, glo, n_e, n_g


def _count_plain_sorted(
    t: np.ndarray,
    e: np.ndarray,
    g: np.ndarray | None,
    codes: tuple[int, int, int, int],
    request: chk.Request,
) -> EventCounts:
    """Float times that are not all whole (valid: ``>= 0``, finite), integer codes: the sort kernel."""
    causes_t, labels, k1, key = plain_cells(e, g, codes, request)
    _, _, gname = request.names
    meta = dict(request.meta, engine="numpy", n_rows=int(t.size), counting="sort")
    return EventCounts(causes_t, _sort_counts(np.asarray(t, dtype=np.float64), key, labels, k1), gname, meta)


def plain_cells(
    e: np.ndarray, g: np.ndarray | None, codes: tuple[int, int, int, int], request: chk.Request
) -> tuple[tuple[int, ...], list[Any] | None, int, np.ndarray]:
    """Validate plain integer event and group columns (``codes``: from :func:`code_ranges`); return the
    causes, the group labels (None without groups), ``k1`` (1 + the number of causes) and each row's
    (group, column) cell number ``group * k1 + column`` in the narrowest integer type.

    The codes are validated on the (group value, event value) table of the
    rows, counted block by block with one small bincount, and each row's
    (group, column) cell number is looked up from that table's mapping; no
    per-row code array wider than the cell number is made.
    """
    elo, glo, n_e, n_g = codes
    _, ename, gname = request.names
    n = e.size
    pairs = n_g * n_e

    def pair_index(s: int) -> np.ndarray:
        idx: np.ndarray = np.subtract(e[s : s + _BLOCK], elo, dtype=np.int32)
        if g is not None:
            idx += np.multiply(np.subtract(g[s : s + _BLOCK], glo, dtype=np.int32), n_e, dtype=np.int32)
        return idx

    joint = np.zeros(pairs, dtype=np.int64)
    for s in range(0, n, _BLOCK):
        joint += np.bincount(pair_index(s), minlength=pairs)
    table = joint.reshape(n_g, n_e)
    ev = _key_summary(elo, table.sum(axis=0), e.dtype.kind == "b")
    lut, causes_t = chk.resolve_events(ename, ev, request.causes, request.event_map)
    k1 = len(causes_t) + 1
    labels: list[Any] | None = None
    glut = np.zeros(1, dtype=np.int64)
    if g is not None:
        g_counts = table.sum(axis=1)
        glut, labels = chk.resolve_groups(str(gname), _key_summary(glo, g_counts, g.dtype.kind == "b"))
    chk.check_any_event(ename, ev, lut)
    n_groups = 1 if labels is None else len(labels)
    kdt = _key_dtype(n_groups * k1)
    cell = (glut[:, None] * k1 + lut[None, :]).astype(kdt).reshape(-1)  # unused pairs: never looked up
    key = np.empty(n, dtype=kdt)
    for s in range(0, n, _BLOCK):
        np.take(cell, pair_index(s), out=key[s : s + _BLOCK])
    return causes_t, labels, k1, key


#: a bincount table with more cells than this per row is read through its occupied cells
_SPARSE_CELLS_PER_ROW = 16


def _key_summary(lo: int, counts: np.ndarray, boolean: bool) -> chk.KeySummary:
    """The summary of a key column whose values ``lo, lo + 1, ...`` occur ``counts`` times."""
    values: list[Any] = list(range(lo, lo + counts.size))
    if boolean:
        values = [bool(v) for v in values]
    return chk.KeySummary(np.zeros(0, dtype=np.int64), values, counts, 0)


def _from_sparse_table(
    table: np.ndarray,
    span: int,
    n_e: int,
    n_g: int,
    offsets: tuple[int, int, int],
    e_bool: bool,
    g_bool: bool | None,
    request: chk.Request,
) -> EventCounts:
    """Validate and count from the occupied cells of a mostly empty (group, event, time) table.

    Few rows over a long range of whole times (1,000 rows over 15 years of
    days): the occupied cells, at most one per row, are decoded into group,
    event and time; ordered by (group, column, time) and repeated by their
    counts they are the sorted parts the sort kernel makes, and are counted
    as it counts them (on the event grid, censorings as sorted times),
    instead of reading every cell of the table per group and column.
    """
    elo, glo, t0 = offsets
    _, ename, gname = request.names
    nz = np.flatnonzero(table > 0)
    weight = table[nz]
    rest, ti = np.divmod(nz, span)
    gi, ei = np.divmod(rest, n_e)
    ev = _key_summary(elo, np.bincount(ei, weights=weight, minlength=n_e).astype(np.int64), e_bool)
    lut, causes_t = chk.resolve_events(ename, ev, request.causes, request.event_map)
    labels: list[Any] | None = None
    k1 = len(causes_t) + 1
    part = lut[ei]
    if g_bool is not None:
        gr = _key_summary(glo, np.bincount(gi, weights=weight, minlength=n_g).astype(np.int64), g_bool)
        glut, labels = chk.resolve_groups(str(gname), gr)
        part += glut[gi] * k1
    chk.check_any_event(ename, ev, lut)
    order = np.lexsort((ti, part))  # by (group, column), then time
    ts = np.repeat(np.add(ti[order], t0, dtype=np.float64), weight[order])
    sizes = np.bincount(part, weights=weight, minlength=k1 * (1 if labels is None else len(labels)))
    bounds = np.concatenate(([0], np.cumsum(sizes.astype(np.int64))))
    return EventCounts(causes_t, _groups_from_parts(ts, bounds, labels, k1), gname, request.meta)


def _times(name: str, values: Any) -> np.ndarray:
    """Validated times: the caller's integer array as is, else float64."""
    arr = np.asarray(values) if not hasattr(values, "dtype") else values
    if getattr(arr, "dtype", None) is not None and arr.dtype.kind in "iu" and isinstance(arr, np.ndarray):
        if arr.dtype.kind == "i" and arr.size and arr.min() < 0:
            chk.check_time_values(name, arr.astype(np.float64))
        return arr
    t = chk.as_float_times(name, values)
    lo, hi = t.min(), t.max()  # NaN propagates: one cheap pass each
    if not (lo >= 0 and hi < np.inf):
        chk.check_time_values(name, t)
    return t


def _whole_probe(t: np.ndarray) -> bool:
    """Whether the first few times are whole numbers (a cheap first test before a full pass)."""
    head = t[:64]
    return bool(np.array_equal(head, np.trunc(head)))


def _dense_plan(t: np.ndarray, n_groups: int, k1: int) -> tuple[int, int] | None:
    """``(tmin, span)`` if the bincount kernel applies, else None."""
    if t.dtype.kind == "f" and not _whole_probe(t):
        return None
    lo, hi = t.min(), t.max()
    if t.dtype.kind == "f":
        if hi >= 2.0**53:
            return None
        span = int(hi) - int(lo) + 1
    else:
        span = int(hi) - int(lo) + 1
    cells = n_groups * k1 * span
    if cells > max(_DENSE_CELLS_PER_ROW * t.size, _DENSE_MIN_CELLS):
        return None
    if t.dtype.kind == "f":
        # integral floats only: compare with the truncated value, in blocks to bound memory
        step = 1 << 20
        for s in range(0, t.size, step):
            blk = t[s : s + step]
            if not np.array_equal(np.trunc(blk), blk):
                return None
    return int(lo), span


def _bincount(
    t: np.ndarray,
    tmin: int,
    span: int,
    cols: np.ndarray,
    gcodes: np.ndarray | None,
    n_groups: int,
    k1: int,
) -> np.ndarray:
    flat = t.astype(np.int64)  # a copy, also for int64 input
    if tmin:
        flat -= tmin
    if k1 > 1 or gcodes is not None:
        cell = cols.astype(np.int64)
        if gcodes is not None:
            cell += gcodes.astype(np.int64) * k1
        cell *= span
        flat += cell
        del cell
    table = np.bincount(flat, minlength=n_groups * k1 * span)
    return table.reshape(n_groups, k1, span)


def _sort_counts(
    t: np.ndarray,
    key: np.ndarray,
    labels: list[Any] | None,
    k1: int,
) -> tuple[GroupCounts, ...]:
    """Counts on each group's event grid, with one pass of sorting over the rows.

    The rows are partitioned by ``(group, column)`` with one stable argsort of
    a small integer key (numpy's radix sort for 16-bit keys: O(n)); then each
    part's times are sorted in place as values (cheaper than an argsort, and
    the parts together are the n rows once).  The censoring part of a group is
    kept as its sorted times; the K cause parts are merged into the distinct
    event times (a stable sort of K sorted runs is a linear merge).

    ``key`` is each row's ``group * k1 + column`` (column 0 censored, k + 1
    cause k; group 0 when ``labels`` is None).
    """
    n_groups = 1 if labels is None else len(labels)
    cells = n_groups * k1
    sizes = np.bincount(key, minlength=cells)
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    if cells == 1:
        ts = np.sort(t)
    else:
        order = np.argsort(key, kind="stable")
        ts = t[order]
        del order
        for c in range(cells):
            if sizes[c] > 1:
                ts[bounds[c] : bounds[c + 1]].sort()
    return _groups_from_parts(ts, bounds, labels, k1)


def _groups_from_parts(ts: np.ndarray, bounds: np.ndarray, labels: list[Any] | None,
                       k1: int) -> tuple[GroupCounts, ...]:
    """Each group's counts from the rows' times sorted within parts by (group, column).

    Part ``gi * k1 + c`` is ``ts[bounds[gi * k1 + c] : bounds[gi * k1 + c + 1]]``: the
    sorted times of group ``gi``'s censorings (``c = 0``) or events of the
    column's cause.
    """
    out = []
    names = [None] if labels is None else list(labels)
    for gi, label in enumerate(names):
        base = gi * k1
        # a copy, so that the sorted rows (ts) are freed once the events are merged
        cens = ts[bounds[base] : bounds[base + 1]].copy()
        parts = [ts[bounds[base + k] : bounds[base + k + 1]] for k in range(1, k1)]
        etime, ecounts = _merge_events(parts)
        out.append(GroupCounts.from_event_grid(label, etime, ecounts, cens))
    return tuple(out)


def _merge_events(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct event times and events per cause from each cause's sorted times."""
    k = len(parts)
    nonempty = [i for i, p in enumerate(parts) if p.size]
    if len(nonempty) <= 1:
        i = nonempty[0] if nonempty else 0
        u, c = sorted_runs(parts[i]) if nonempty else (np.zeros(0), np.zeros(0, dtype=np.int64))
        events = np.zeros((u.size, k), dtype=np.int64)
        events[:, i] = c
        return u, events
    sizes = np.array([p.size for p in parts])
    allt = np.concatenate(parts)
    order = np.argsort(allt, kind="stable")  # K sorted runs: a linear merge
    tt = allt[order]
    if k == 2:
        lab = (order >= sizes[0]).astype(np.intp)
    else:
        lab = np.searchsorted(np.cumsum(sizes), order, side="right")
    del order, allt
    new = np.empty(tt.size, dtype=bool)
    new[0] = True
    np.not_equal(tt[1:], tt[:-1], out=new[1:])
    if new.all():
        events = np.zeros((tt.size, k), dtype=np.int64)
        events[np.arange(tt.size), lab] = 1
        return tt, events
    run = np.cumsum(new)
    run -= 1
    m = int(run[-1]) + 1
    events = np.bincount(run * k + lab, minlength=m * k).astype(np.int64).reshape(m, k)
    return tt[new], events

"""Delayed entry (left truncation) and case weights, as ``survival::survfit`` treats them.

A row ``i`` has an entry time ``e_i`` (default: at risk from the start), an
exit time ``x_i > e_i``, a status (0 censored, 1..K cause) and a case weight
``w_i > 0`` (default 1); it is at risk at ``t`` when ``e_i < t <= x_i``, as in
``Surv(entry, time, status)``.  On the distinct event times ``t_l``:

* ``Y_l = sum_i w_i [e_i < t_l <= x_i]`` (weighted number at risk),
  ``dN_kl`` the weighted events of cause k, ``dA_kl = dN_kl / Y_l``,
  ``dA_l = sum_k dA_kl``;
* ``S_l = prod_{j<=l} (1 - dA_j)`` (Kaplan–Meier), ``F_k(t) = sum_{t_l<=t} S_{l-1} dA_kl``
  (Aalen–Johansen).

The infinitesimal-jackknife (IJ) variance of survfit is ``sum_i (w_i U_i(t))^2``
with ``U_i(t) = dF_k(t)/dw_i``; differentiating the product-limit form gives

    U_i(t) = A_i(t) - F_k(t) B_i(t),
    dA_il = p_l dN_ikl + q_l dN_il - Y_il (p_l dA_kl + q_l dA_l),
    dB_il = h_l dN_il - Y_il h_l dA_l,

with ``p_l = S_{l-1}/Y_l``, ``h_l = S_{l-1}/(Y_l S_l)`` (0 where ``S_l = 0``: then
nothing is left to change), ``q_l = h_l F_k(t_l)``.  For Kaplan–Meier,
``dS(t)/dw_i = -S(t) B_i(t)``.  A row's ``A_i`` and ``B_i`` are 0 before its
entry, drift by ``-r_l`` at each event time it is at risk (cumulated as
``R(t) = sum_{t_l<=t} r_l``) and jump at its own event; so at an event time
``t`` the rows split into those already gone (``x_i <= t``: fixed values
``A_i^inf, B_i^inf``) and those at risk after ``t`` (``e_i < t < x_i``:
``A_i = -(R^A(t) - u_i)``, ``B_i = -(R^B(t) - v_i)`` with ``u_i = R^A(e_i)``,
``v_i = R^B(e_i)``).  Each part of ``sum_i w_i^2 U_i(t)^2`` is then a sum over
the rows gone by ``t`` or entered before it: a ``bincount`` of the rows'
indices among the event times and a cumulative sum.  The rows are sorted by
exit once per group (:func:`read_rows`); ``u_i``, ``v_i`` are 0 for rows
entering before the first event time, so only the others are located among
the event times and carry the entry terms.  The ``B`` side is shared by every
cause and computed once.  O(n log n) for the sort, O(n + m) after.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from leiosurv.exceptions import DataError, InputError
from leiosurv.stats import _engine_checks as chk
from leiosurv.stats._counts import EventCounts, GroupCounts
from leiosurv.stats._engines import count_events, row_columns

__all__ = ["GroupRows", "read_rows", "rows_in_order", "weighted_aj", "weighted_km", "ij_variance"]


@dataclass(frozen=True)
class GroupRows:
    """One group's rows sorted by exit time (stable): entry (``-inf`` when none given), exit time,
    column (0 censored, ``k`` the k-th cause), weight (ones when none given)."""

    entry: np.ndarray
    exit: np.ndarray
    col: np.ndarray
    weight: np.ndarray


def read_rows(data: Any, time: str, event: str, group: str | None, entry: str | None, weights: str | None,
              *, causes: Sequence[int] | None, event_map: Mapping[Any, int] | None, rows: bool = True
              ) -> tuple[EventCounts, tuple[GroupRows, ...]]:
    """Validate the rows with their entry times and weights; return the (unweighted) counts, with
    the entries, and each group's rows (none with ``rows=False``: the counts are all the caller needs).

    Raises
    ------
    DataError
        The input is not in memory (files and other engines are not read for ``entry``/``weights``),
        a column is absent, an entry is missing, negative, infinite or not before its row's time,
        a weight is missing, infinite or not positive (and every problem
        :func:`~leiosurv.stats.count_events` names).
    """
    column = _in_memory(data, {"time": time, "event": event, "group": group, "entry": entry, "weights": weights})
    if not rows:  # the counts are all the caller needs: count on the usual path
        counts = count_events(data, time, event, group, causes=causes, event_map=event_map)
        t = chk.as_float_times(time, column(time))
        n = t.size
        members = _members(column, group, n, counts.labels)
        e = _entries(entry, column(entry), t, time) if entry is not None else np.full(n, -np.inf)
        if weights is not None:
            _weights(weights, column(weights))
        labels = counts.labels
        out: tuple[GroupRows, ...] = ()
    else:  # the rows, each group sorted by exit once; the counts are read off them
        t, cols, causes_t, group_labels = _validated(column, (time, event, group), causes, event_map)
        n = t.size
        e = np.full(n, -np.inf) if entry is None else _entries(entry, column(entry), t, time)
        w = np.ones(n) if weights is None else _weights(weights, column(weights))
        members = _members(column, group, n, None)
        labels = [None] if group is None else group_labels
        out = tuple(_sorted_rows(e[i], t[i], cols[i], w[i]) for i in members)
        counts = EventCounts(causes_t, tuple(_group_counts(lab, r, len(causes_t)) for lab, r in zip(labels, out)),
                             group, {"columns": {"time": time, "event": event, "group": group}, "engine": "numpy",
                                     "n_rows": int(n), "counting": "rows"})
    if entry is not None:
        groups = tuple(g.with_entry(_sorted(e[i])) for g, i in zip(counts.groups, members))
        counts = EventCounts(counts.causes, groups, counts.group_name, dict(counts.meta, entry=entry))
    if weights is not None:
        counts = EventCounts(counts.causes, counts.groups, counts.group_name, dict(counts.meta, weights=weights))
    return counts, out


def rows_in_order(data: Any, time: str, event: str, *, causes: Sequence[int] | None,
                  event_map: Mapping[Any, int] | None) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Validated times and event columns (0 censored, k the k-th cause) in the data's row order, and
    the causes; in-memory rows only (as :func:`read_rows`)."""
    column = _in_memory(data, {"time": time, "event": event})
    t, cols, causes_t, _ = _validated(column, (time, event, None), causes, event_map)
    return t, cols, causes_t


def _in_memory(data: Any, wanted: dict[str, str | None]) -> Any:
    """The column getter of in-memory rows, after checking the wanted columns are there."""
    if isinstance(data, EventCounts):
        raise InputError("this needs the rows, but data is EventCounts (counts only); "
                         "pass the data frame or mapping of columns")
    found = row_columns(data)
    if found is None:
        kind = f"{type(data).__module__}.{type(data).__name__}"
        raise DataError(
            f"entry=, weights=, variance='ij' and score read in-memory rows (a pandas DataFrame, pyarrow "
            f"Table, numpy structured array or mapping of arrays); a {kind} is not: convert it first "
            "(e.g. .to_pandas())",
            column=None,
        )
    available, column = found
    chk.check_columns(available, wanted)
    return column


def _validated(column: Any, names: tuple[str, str, str | None], causes: Sequence[int] | None,
               event_map: Mapping[Any, int] | None) -> tuple[np.ndarray, np.ndarray, tuple[int, ...], list[Any]]:
    """Times, event columns (0 censored, k the k-th cause), causes and group labels, validated with
    the checks (and messages) of :func:`~leiosurv.stats.count_events`."""
    tname, ename, gname = names
    t = chk.as_float_times(tname, column(tname))
    n = t.size
    chk.check_no_rows(n, tname)
    ecol = column(ename)
    gcol = None if gname is None else column(gname)
    for name, col in ((ename, ecol), (gname, gcol)):
        if col is not None and len(col) != n:
            raise DataError(f"column {name!r} has {len(col)} rows but column {tname!r} has {n}; "
                            "columns must have equal length", column=name)
    if not (t.min() >= 0 and t.max() < np.inf):  # NaN fails too
        chk.check_time_values(tname, t)
    ev = chk.factorize(ecol)
    lut, causes_t = chk.resolve_events(ename, ev, causes, event_map)
    chk.check_any_event(ename, ev, lut)
    labels: list[Any] = []
    if gname is not None:
        _, labels = chk.resolve_groups(gname, chk.factorize(gcol))
    return t, lut[ev.codes], causes_t, labels


def _members(column: Any, group: str | None, n: int, labels: list[Any] | None) -> list[Any]:
    """Each group's rows: a mask per group (a few groups) or index arrays."""
    if group is None:
        return [slice(None)]
    gr = chk.factorize(column(group))
    glut, found = chk.resolve_groups(group, gr)
    if labels is not None and list(found) != list(labels):  # pragma: no cover - the same factorize
        raise AssertionError("group labels differ between counting and reading the rows")
    codes = glut[gr.codes]
    if len(found) <= 8:  # a mask per group: O(n) each, cheaper than a sort for a few groups
        return [codes == gi for gi in range(len(found))]
    order = np.argsort(codes, kind="stable")
    return list(np.split(order, np.cumsum(np.bincount(codes, minlength=len(found)))[:-1]))


def _sorted_rows(e: np.ndarray, t: np.ndarray, col: np.ndarray, w: np.ndarray) -> GroupRows:
    order = np.argsort(t, kind="stable")
    return GroupRows(e[order], t[order], col[order], w[order])


def _group_counts(label: Any, r: GroupRows, k: int) -> GroupCounts:
    """The (unweighted) counts of rows sorted by exit: the distinct event times with their events per
    cause, and the censoring times (the event-grid form of :class:`GroupCounts`)."""
    ev = r.col > 0
    ex = r.exit[ev]
    first = np.empty(ex.size, dtype=bool)
    first[:1] = True
    np.not_equal(ex[1:], ex[:-1], out=first[1:])
    idx = np.cumsum(first) - 1
    m = int(first.sum())
    counts = np.bincount(idx * k + (r.col[ev] - 1), minlength=m * k).reshape(m, k).astype(np.int64)
    return GroupCounts.from_event_grid(label, ex[first], counts, r.exit[~ev])


def _sorted(e: np.ndarray) -> np.ndarray:
    """Entry times in increasing order; only the positive ones need a sort (most rows enter at 0)."""
    late = e[e > 0]
    late.sort()
    return np.concatenate((np.zeros(e.size - late.size), late))


def _entries(name: str, values: Any, t: np.ndarray, time: str) -> np.ndarray:
    e = chk.as_float_times(name, values)
    problems = (
        (~np.isfinite(e), "a missing or infinite entry time", "give every row one (0 = at risk from the start)"),
        (e < 0, "a negative entry time", "entry times are >= 0, on the time column's scale"),
        (e >= t, f"an entry at or after their {time!r}", "a row must enter before it leaves"),
    )
    for bad, what, fix in problems:
        with np.errstate(invalid="ignore"):
            bad = np.asarray(bad)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"column {name!r} (entry): {int(bad.sum())} row(s) have {what} "
                f"(first at position {i}: entry {e[i]:g}, {time} {t[i]:g}); {fix}",
                column=name, n_rows=int(bad.sum()),
            )
    return e


def _weights(name: str, values: Any) -> np.ndarray:
    if chk.is_series(values) and not isinstance(values.dtype, np.dtype):
        values = values.to_numpy(dtype=np.float64, na_value=np.nan)
    arr = np.asarray(values)
    if arr.dtype.kind not in "iuf":
        raise DataError(f"column {name!r} (weights) must be numeric, but has type {arr.dtype}", column=name)
    w = arr.astype(np.float64)
    bad = ~np.isfinite(w)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"column {name!r} (weights): {int(bad.sum())} row(s) have a missing or infinite weight "
            f"(first at position {i}: {float(w[i])!r}); give every row a finite weight > 0",
            column=name, n_rows=int(bad.sum()))
    bad = w <= 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"column {name!r} (weights): {int(bad.sum())} row(s) have a weight <= 0 "
            f"(first at position {i}: {w[i]:g}); weights must be > 0 (remove rows explicitly instead)",
            column=name, n_rows=int(bad.sum()))
    return w


@dataclass(frozen=True)
class _Grid:
    """A group's event times with the weighted counts and the Kaplan–Meier pieces, and its rows
    sorted by exit time, each located among the event times by index (so that every sum over
    rows "gone by t_l", "entered before t_l" is a ``bincount`` and a cumulative sum)."""

    time: np.ndarray  # (m,) distinct event times t_0 < ... < t_{m-1}
    y: np.ndarray  # (m,) weighted number at risk
    dn: np.ndarray  # (m, K) weighted events per cause
    surv: np.ndarray  # (m,) S_l
    lag: np.ndarray  # (m,) S_{l-1}
    h: np.ndarray  # (m,) S_{l-1} / (Y_l S_l), 0 where S_l = 0
    col: np.ndarray  # (n,) rows by exit: 0 censored, k cause
    w: np.ndarray  # (n,) their weights
    gone: np.ndarray  # (n,) event times before the exit: x_i <= t_l iff gone_i <= l (an event row's own index)
    upto: np.ndarray  # (n,) event times at or before the exit (the row is at risk at t_l for l < upto_i)
    entered: np.ndarray | None  # (n,) event times at or before the entry: e_i < t_l iff entered_i <= l
    late: np.ndarray | None  # rows entering at or after the first event time (entered_i > 0), by index


def _grid(r: GroupRows, k: int) -> _Grid:
    xs, col, w = r.exit, r.col, r.weight  # sorted by exit
    ev = col > 0
    ex = xs[ev]  # sorted
    first = np.empty(ex.size, dtype=bool)
    first[:1] = True
    np.not_equal(ex[1:], ex[:-1], out=first[1:])
    time = ex[first]
    m = time.size
    gone = np.searchsorted(time, xs, side="left")  # sorted needles: a merge, not n binary searches
    upto = gone + (time[np.minimum(gone, m - 1)] == xs) if m else gone  # one more if x_i is an event time
    dn = np.bincount(gone[ev] * k + (col[ev] - 1), weights=w[ev], minlength=m * k).reshape(m, k)
    left = np.cumsum(np.bincount(upto, weights=w, minlength=m + 1))[:m]  # weight gone before t_l
    if np.isneginf(r.entry).all():
        entered = None
        late = None
        y = w.sum() - left
    else:
        entered = np.zeros(xs.size, dtype=np.int64)
        late = np.zeros(0, dtype=np.int64)
        if m:  # only rows entering at or after the first event time miss a risk set: locate those
            late = np.flatnonzero(r.entry >= time[0])
            el = r.entry[late]
            eorder = np.argsort(el, kind="stable")
            entered[late[eorder]] = np.searchsorted(time, el[eorder], side="right")
        y = np.cumsum(np.bincount(entered, weights=w, minlength=m + 1))[:m] - left
    d = dn.sum(axis=1)
    surv = np.cumprod(1.0 - d / y)
    lag = np.concatenate(([1.0], surv[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(surv > 0, lag / (y * surv), 0.0)
    return _Grid(time, y, dn, surv, lag, h, col, w, gone, upto, entered, late)


@dataclass(frozen=True)
class _BSide:
    """What the variance needs of the ``B`` process, which every cause shares (``rb = h dA``)."""

    crb: np.ndarray  # (m + 1,) R^B after 0, 1, ..., m event times
    w2: np.ndarray  # (n,) squared weights
    b_inf: np.ndarray  # (n,) B once gone (with the entry)
    v: np.ndarray | None  # (late rows,) R^B(e_i) (None without entry)
    gone_bb: np.ndarray  # (m,) sum over gone rows of w^2 B^2
    risk_w2: np.ndarray  # (m,) sum over rows at risk after t_l of w^2
    risk_w2v: np.ndarray | None  # ... of w^2 v (late rows: v is 0 for the others)
    risk_w2vv: np.ndarray | None  # ... of w^2 v^2


def _gone(g: _Grid, q: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Sum of ``q`` over the rows gone by each event time (``x_i <= t_l``); ``q`` of ``rows`` only if given."""
    m = g.time.size
    idx = g.gone if rows is None else g.gone[rows]
    out: np.ndarray = np.cumsum(np.bincount(idx, weights=q, minlength=m))[:m]
    return out


def _at_risk(g: _Grid, q: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Sum of ``q`` over the rows at risk after each event time (``e_i < t_l < x_i``); ``q`` of ``rows``
    only if given."""
    m = g.time.size
    if g.entered is None:
        out: np.ndarray = q.sum() - _gone(g, q, rows)
    else:
        idx = g.entered if rows is None else g.entered[rows]
        out = np.cumsum(np.bincount(idx, weights=q, minlength=m + 1))[:m] - _gone(g, q, rows)
    return out


def _b_side(g: _Grid, jump_b: np.ndarray, rb: np.ndarray) -> _BSide:
    crb = np.concatenate(([0.0], np.cumsum(rb)))
    w2 = g.w * g.w
    b_inf = jump_b - crb[g.upto]
    if g.late is None or g.entered is None:
        return _BSide(crb, w2, b_inf, None, _gone(g, w2 * b_inf * b_inf), _at_risk(g, w2), None, None)
    v = crb[g.entered[g.late]]  # R^B(e_i) of the late rows (0 for the others)
    b_inf[g.late] += v
    w2v = w2[g.late] * v
    return _BSide(crb, w2, b_inf, v, _gone(g, w2 * b_inf * b_inf), _at_risk(g, w2), _at_risk(g, w2v, g.late),
                  _at_risk(g, w2v * v, g.late))


def ij_variance(g: _Grid, bs: _BSide, jump_a: np.ndarray, ra: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``sum_i w_i^2 (A_i(t_l) - f_l B_i(t_l))^2`` at every event time ``t_l`` (see the module docstring).

    ``jump_a`` (n, rows by exit): each row's jump at its own exit (0 if censored); ``ra`` (m,): the
    drifts ``r_l`` of ``A``; ``f`` (m,): the factor of ``B``; ``bs``: the ``B`` side, shared by the causes.
    """
    cra = np.concatenate(([0.0], np.cumsum(ra)))  # R^A after 0, 1, ..., m event times
    a_inf = jump_a - cra[g.upto]
    u = None
    if bs.v is not None and g.late is not None and g.entered is not None:
        u = cra[g.entered[g.late]]  # R^A(e_i) of the late rows
        a_inf[g.late] += u
    wa = bs.w2 * a_inf
    out = _gone(g, wa * a_inf) - 2.0 * f * _gone(g, wa * bs.b_inf) + f * f * bs.gone_bb
    kk = cra[1:] - f * bs.crb[1:]
    out += kk * kk * bs.risk_w2
    if u is not None:
        assert bs.v is not None and bs.risk_w2v is not None and bs.risk_w2vv is not None and g.late is not None
        w2u = bs.w2[g.late] * u
        lin = _at_risk(g, w2u, g.late) - f * bs.risk_w2v
        quad = _at_risk(g, w2u * u, g.late) - 2.0 * f * _at_risk(g, w2u * bs.v, g.late) + f * f * bs.risk_w2vv
        out += quad - 2.0 * kk * lin
    result: np.ndarray = np.maximum(out, 0.0)
    return result


def weighted_aj(r: GroupRows, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Event times, Aalen–Johansen CIF (m, K) and its IJ variance (m, K) of one group's rows."""
    g = _grid(r, k)
    dak = g.dn / g.y[:, None]
    da = dak.sum(axis=1)
    cif = np.cumsum(g.lag[:, None] * dak, axis=0)
    var = np.empty_like(cif)
    p = g.lag / g.y
    is_event = g.col > 0
    own = np.where(is_event, g.gone, 0)  # an event row's own event time
    bs = _b_side(g, np.where(is_event, g.h[own], 0.0), g.h * da)
    for c in range(k):
        fk = cif[:, c]
        q = g.h * fk
        ra = p * dak[:, c] + q * da
        jump_a = np.where(is_event, q[own], 0.0) + np.where(g.col == c + 1, p[own], 0.0)
        var[:, c] = ij_variance(g, bs, jump_a, ra, fk)
    return g.time, cif, var


def weighted_km(r: GroupRows, integer_weights: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Event times, weighted numbers at risk and events, Kaplan–Meier ``S`` and its variance (m,) of one
    group's rows: the weighted Greenwood sum when every weight is a whole number, else the IJ variance
    (``survival::survfitKM``'s default: ``robust`` when some weight is not a whole number)."""
    rr = GroupRows(r.entry, r.exit, (r.col > 0).astype(np.int64), r.weight)  # any cause is the event
    g = _grid(rr, 1)
    d = g.dn[:, 0]
    if integer_weights:
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(d > 0, d / (g.y * (g.y - d)), 0.0)
            var = g.surv * g.surv * np.cumsum(a)  # NaN where S = 0, as the unweighted estimator
    else:
        m = g.time.size
        bs = _b_side(g, np.where(g.col > 0, g.h[np.minimum(g.gone, m - 1)], 0.0), g.h * d / g.y)
        var = g.surv * g.surv * ij_variance(g, bs, np.zeros(g.col.size), np.zeros(m), np.ones(m))
    return g.time, g.y, g.surv, var

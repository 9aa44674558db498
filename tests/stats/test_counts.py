"""EventCounts: risk sets, ties, time zero, grouping, pooling, and the counting kernels.

The kernels (numpy bincount over integer times, per-cause sort, the aggregate
path used by DuckDB/polars/Spark, and ``EventCounts.from_long``) must agree
exactly with each other and with a plain Python tally; hypothesis searches for
a counter-example.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from leiosurv.stats import EventCounts, GroupCounts, _engine_numpy, count_events


def tally(time, event, group=None, causes=(1, 2)):
    """Reference: a dictionary count, one row at a time."""
    group = [None] * len(time) if group is None else list(group)
    out = {}
    for g in sorted(set(group), key=lambda x: (x is None, x)):
        rows = [(t, e) for t, e, gg in zip(time, event, group) if gg == g]
        c = Counter(rows)
        times = sorted({t for t, _ in rows})
        events = [[c[(t, k)] for k in causes] for t in times]
        cens = [c[(t, 0)] for t in times]
        n = len(rows)
        risk, left = [], 0
        for t, ev, ce in zip(times, events, cens):
            risk.append(n - left)
            left += sum(ev) + ce
        out[g] = (times, events, cens, risk)
    return out


def assert_tally(ec: EventCounts, expected: dict) -> None:
    assert ec.labels == list(expected)
    for g in ec.groups:
        times, events, cens, risk = expected[g.label]
        assert g.time.tolist() == [float(t) for t in times]
        assert g.events.reshape(len(times), -1).tolist() == events
        assert g.censored.tolist() == cens
        assert g.n_risk.tolist() == risk
        assert g.n_events.tolist() == [sum(e) for e in events]


def test_n_risk_counts_those_censored_at_a_tied_time():
    """At t = 2 one event and two censorings: all three at risk at 2, the censored leave after."""
    ec = count_events({"t": [1, 2, 2, 2, 3, 4], "e": [1, 1, 0, 0, 2, 0]}, "t", "e")
    g = ec.groups[0]
    assert g.time.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert g.n_risk.tolist() == [6, 5, 2, 1]
    assert g.events.tolist() == [[1, 0], [1, 0], [0, 1], [0, 0]]
    assert g.censored.tolist() == [0, 2, 0, 1]
    assert g.n_events.tolist() == [1, 1, 1, 0]
    assert g.n == 6 and ec.n == 6


def test_events_at_time_zero_are_counted_at_zero():
    ec = count_events({"t": [0.0, 0.0, 0.0, 5.0], "e": [1, 0, 2, 1]}, "t", "e")
    g = ec.groups[0]
    assert g.time.tolist() == [0.0, 5.0]
    assert g.n_risk.tolist() == [4, 1]
    assert g.events.tolist() == [[1, 1], [1, 0]]
    assert g.censored.tolist() == [1, 0]


def test_grouping_orders_labels_and_pooled_equals_ungrouped():
    data = {
        "t": np.array([5, 3, 3, 8, 1, 3, 9]),
        "e": np.array([1, 0, 2, 1, 0, 1, 0]),
        "g": np.array(["b", "a", "b", "a", "b", "a", "c"]),
    }
    ec = count_events(data, "t", "e", "g")
    assert ec.labels == ["a", "b", "c"] and len(ec) == 3 and ec.group_name == "g"
    assert ec["a"].time.tolist() == [3.0, 8.0]
    assert ec["a"].events.tolist() == [[1, 0], [1, 0]] and ec["a"].censored.tolist() == [1, 0]
    assert ec["c"].events.tolist() == [[0, 0]]
    pooled = ec.pooled()
    flat = count_events(data, "t", "e")
    assert pooled.labels == [None] and pooled.group_name is None
    assert_array_equal(pooled.groups[0].time, flat.groups[0].time)
    assert_array_equal(pooled.groups[0].events, flat.groups[0].events)
    assert_array_equal(pooled.groups[0].censored, flat.groups[0].censored)
    assert flat.pooled() is flat
    with pytest.raises(KeyError, match=r"no group 'z'; groups are \['a', 'b', 'c'\]"):
        ec["z"]


def test_from_long_adds_repeated_keys_and_weights():
    ec = EventCounts.from_long([2.0, 1.0, 2.0, 2.0], [1, 0, 1, 0], n=[3, 2, 4, 1], group=[0, 0, 0, 1])
    assert ec.labels == [0, 1]
    assert ec[0].time.tolist() == [1.0, 2.0] and ec[0].events.tolist() == [[0], [7]]
    assert ec[0].censored.tolist() == [2, 0] and ec[0].n_risk.tolist() == [9, 7]
    assert ec[1].n == 1 and ec[1].events.shape == (1, 1)


def test_repr_summarises_groups():
    ec = count_events({"t": [1, 2, 3], "e": [1, 0, 2], "g": [0, 1, 1]}, "t", "e", "g")
    text = repr(ec)
    assert "causes=(1, 2) by 'g'" in text and "engine='numpy'" in text
    assert "0: n=1, times=1, events=[1, 0]" in text and "1: n=2, times=2, events=[0, 1]" in text


def test_group_counts_is_frozen():
    g = count_events({"t": [1, 2], "e": [1, 0]}, "t", "e").groups[0]
    assert isinstance(g, GroupCounts)
    with pytest.raises(AttributeError, match="GroupCounts is immutable; cannot set 'label'"):
        g.label = "x"
    with pytest.raises(AttributeError, match="GroupCounts is immutable; cannot set 'time'"):
        g.time = g.time


rows = st.lists(
    st.tuples(st.integers(0, 40), st.sampled_from([0, 0, 1, 2]), st.sampled_from(["x", "y", "z"])),
    min_size=1,
    max_size=120,
).filter(lambda r: any(e > 0 for _, e, _ in r))


@settings(max_examples=150, deadline=None)
@given(rows, st.integers(0, 10**6))
def test_integer_fast_path_equals_generic_paths(data, offset):
    """bincount kernel == sort kernel == aggregate path == from_long == a plain tally."""
    t = np.array([r[0] for r in data], dtype=np.int64) + offset
    e = np.array([r[1] for r in data], dtype=np.int64)
    g = np.array([r[2] for r in data])
    causes = (1, 2)
    expected = tally(t.tolist(), e.tolist(), g.tolist(), causes)

    fast = count_events({"t": t, "e": e, "g": g}, "t", "e", "g", causes=causes)
    assert fast.meta["counting"] == "bincount"
    assert_tally(fast, expected)

    # the sort kernel on the very same rows (float times force it past the integral check)
    labels = sorted(set(g.tolist()))
    gcodes = np.searchsorted(labels, g).astype(np.int16)
    key = gcodes * 3 + e.astype(np.int16)  # each row's (group, column) cell
    sorted_groups = _engine_numpy._sort_counts(t.astype(np.float64), key, labels, 3)
    # the event-grid representation answers what the estimators ask without its full grid ...
    horizons = np.array([float(t.min()) - 1, float(t.min()), float(np.median(t)) + 0.5, float(t.max()),
                         float(t.max()) + 1])
    for grp in sorted_groups:
        grid, n_risk_at = grp.event_grid(), grp.n_risk_at(horizons)
        full = GroupCounts(grp.label, grp.time, grp.events, grp.censored)
        for a, b in zip(grid, full.event_grid()):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(n_risk_at, full.n_risk_at(horizons))
        assert grp.n_censored == int(full.censored.sum()) and grp.last_time == float(full.time[-1])
    # ... and expands to the same full grid as every other path
    assert_tally(EventCounts(causes, sorted_groups, "g"), expected)

    generic = EventCounts.from_long(t, e, None, g, causes=causes, group_name="g")
    assert_tally(generic, expected)

    # the aggregate path (what DuckDB, polars and Spark return): one row per key with its count
    keys = Counter(zip(g.tolist(), t.tolist(), e.tolist()))
    from leiosurv.stats._engine_checks import Request
    from leiosurv.stats._engine_frames import count_aggregate

    def aggregate(items, presorted):
        return count_aggregate(
            np.array([k[1] for k, _ in items]),
            np.array([k[2] for k, _ in items]),
            np.array([k[0] for k, _ in items], dtype=object),
            np.array([c for _, c in items]),
            Request(("t", "e", "g"), causes, None, {}),
            presorted=presorted,
        )

    items = list(keys.items())
    assert_tally(aggregate(items, presorted=False), expected)
    # ORDER BY g, t as DuckDB returns it: the O(rows) build; in any other order it must fall back
    assert_tally(aggregate(sorted(items, key=lambda kv: (kv[0][0], kv[0][1])), presorted=True), expected)
    assert_tally(aggregate(items[::-1], presorted=True), expected)
    assert_tally(aggregate(sorted(items, key=lambda kv: (kv[0][1], kv[0][0])), presorted=True), expected)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 1e6, allow_nan=False, allow_subnormal=False), st.sampled_from([0, 1, 2])),
        min_size=1,
        max_size=80,
    ).filter(lambda r: any(e > 0 for _, e in r))
)
def test_continuous_times_sort_path_equals_tally(data):
    t = [r[0] for r in data]
    e = [r[1] for r in data]
    ec = count_events({"t": np.array(t), "e": np.array(e)}, "t", "e", causes=(1, 2))
    assert_tally(ec, tally(t, e))
    g = ec.groups[0]
    # invariants: every row leaves exactly once; the risk set only shrinks
    assert g.n == len(t)
    assert g.n_risk[0] == len(t)
    assert np.all(np.diff(g.n_risk) == -(g.n_events + g.censored)[:-1])
    assert np.all(np.diff(g.time) > 0)


@pytest.mark.parametrize("offset", [0, 10**9])
def test_large_time_range_uses_the_sort_kernel(offset):
    """Integer times spread over a huge range would make the dense table too big."""
    t = np.array([0, 5, 10**12, 10**12, 3]) + offset
    ec = count_events({"t": t, "e": np.array([1, 0, 2, 0, 1])}, "t", "e")
    assert ec.meta["counting"] == "sort"
    assert ec.groups[0].time.tolist() == sorted({float(x) for x in t})
    assert ec.groups[0].censored.tolist() == [0, 0, 1, 1]


def test_many_categorical_groups_do_not_overflow_small_codes():
    """pandas stores up to 127 categories as int8 codes; 128+ levels must still count right."""
    import pandas as pd

    cats = [f"c{i:03d}" for i in range(130)]
    df = pd.DataFrame(
        {"t": np.arange(260.0), "e": np.tile([1, 0], 130), "g": pd.Categorical(cats * 2, categories=cats)}
    )
    ec = count_events(df, "t", "e", "g")
    assert ec.labels == cats
    assert all(g.n == 2 for g in ec.groups)
    assert ec["c129"].time.tolist() == [129.0, 259.0]


def test_reading_the_full_grid_first_changes_nothing():
    """Once the full grid has been built (e.g. by ``.table``), the event-grid counts still answer
    from the event grid: numbers at risk at horizons, and a new estimate from the same counts."""
    from leiosurv.stats import cumulative_incidence

    rng = np.random.default_rng(0)
    data = {"time": rng.exponential(10, 200), "event": rng.integers(0, 3, 200)}
    counts = count_events(data, "time", "event")
    fresh = cumulative_incidence(counts).at([1.0, 5.0, 20.0])
    _ = cumulative_incidence(counts).table  # builds the counts' full grid
    again = cumulative_incidence(counts)
    assert again.at([1.0, 5.0, 20.0]).equals(fresh)
    assert fresh["n_risk_at_horizon"].tolist()[:2] == [int((data["time"] >= h).sum()) for h in (1.0, 5.0)]

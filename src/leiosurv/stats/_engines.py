"""Push the counting down to the engine that holds the data.

``count_events`` is the single entry point every estimator uses to turn user
data into :class:`~leiosurv.stats._counts.EventCounts`.

Signature (stable)::

    count_events(data, time, event, group=None, *, causes=None, event_map=None) -> EventCounts

This first version handles in-memory columns only (a mapping of arrays or a
pandas DataFrame); the multi-engine version replaces it.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from leiosurv.stats._counts import EventCounts

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
    if isinstance(data, EventCounts):
        return data
    t = np.asarray(data[time], dtype=np.float64)
    e = np.asarray(data[event])
    if event_map is not None:
        e = np.array([event_map[v] for v in e])
    g = None if group is None else np.asarray(data[group])
    return EventCounts.from_long(t, e.astype(np.int64), None, g, causes=causes, group_name=group)

"""Reading right-continuous step functions at horizons.

A result's ``.table`` holds the groups one after another, each on its own grid
of distinct times; these helpers validate horizons, find the step at or
before each one, count those at risk there and word the error for a horizon
past the end of follow-up.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from leiosurv.exceptions import DataError
from leiosurv.stats._counts import EventCounts, GroupCounts

__all__ = ["offsets", "as_horizons", "step_index", "n_risk_at", "beyond_error"]


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
        raise DataError(f"horizons must be a number or a non-empty 1-d sequence, but were {horizons!r}",
                        column="horizon")
    bad = ~np.isfinite(h) | (h < 0)
    if bad.any():
        raise DataError(
            f"horizons must be finite numbers >= 0, but got {float(h[bad][0])!r} "
            f"at position {int(np.flatnonzero(bad)[0])}",
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
    """The error for a horizon past a group's last follow-up time."""
    who = "the data" if label is None else f"group {label!r}"
    return DataError(
        f"horizon {h:g} is beyond the last follow-up time {last:g} of {who}; "
        "pass beyond='nan' to get a NaN row flagged beyond_follow_up instead",
        column="horizon",
    )

"""Step-curve plots with a number-at-risk table (matplotlib, no ``pyplot.show``).

matplotlib is imported only when a plot is drawn; the figure is built with the
object API (``matplotlib.figure.Figure``) so it works under any backend,
including Agg on a server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from leiosurv.stats._ci import exact_band
from leiosurv.stats._horizons import n_risk_at, offsets

__all__ = ["plot_steps", "step_band", "band_known"]


def plot_steps(result: Any, ax: Any, curves: Sequence[tuple[Any, str, str, str]], risk_table: bool,
               labels: dict[str, Any], ci_band: bool, ylabel: str, start: float) -> Any:
    """Draw ``curves`` (key, estimate, lower, upper columns) of every group of ``result``."""
    from matplotlib.figure import Figure

    labels = _check_labels(labels)
    if ax is None:
        fig = Figure(figsize=(7.5, 5.0 if risk_table else 4.0))
        ax = fig.add_subplot(1, 1, 1)
        if risk_table:
            fig.subplots_adjust(bottom=0.3, left=0.2)
    else:
        fig = ax.figure
    for gi, g in enumerate(result.counts.groups):
        for key, est_col, lo_col, hi_col in curves:
            t, y, lo, hi = step_band(result, gi, (est_col, lo_col, hi_col), start)
            name = _name(result.counts.group_name, g.label, key, labels)
            (line,) = ax.step(t, y, where="post", label=name)
            if ci_band:
                ax.fill_between(t, lo, hi, step="post", alpha=0.2, color=line.get_color(), linewidth=0)
    time_name = labels["time"] or result.provenance.get("arguments", {}).get("time") or "time"
    ax.set_xlabel(str(time_name))
    ax.set_ylabel(ylabel)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlim(left=0.0)
    if len(result.counts.groups) > 1 or len(curves) > 1:
        ax.legend(loc="best", fontsize="small")
    if risk_table:
        _risk_table(ax, result, labels)
    return fig


def step_band(result: Any, gi: int, cols: tuple[str, str, str], start: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The steps drawn for group ``gi``: times (0, then the group's times), the curve and its band.

    ``cols`` names the estimate, lower and upper columns of ``result.table``;
    ``start`` is the curve before the first time (0 for a CIF, 1 for survival).
    The band is the result's interval, and where the curve is 0 or 1 the exact
    bound (:func:`~leiosurv.stats.exact_band`) on the patients whose status is
    known on that step (:func:`band_known`); with case weights (the counts
    are rows, not the weighted population) it is the result's interval throughout.
    """
    g = result.counts.groups[gi]
    off = offsets(result.counts)
    rows = slice(off[gi], off[gi + 1])
    table = result.table
    est, lower, upper = (np.concatenate(([start], table[c].to_numpy(dtype=np.float64)[rows])) for c in cols)
    if result.counts.meta.get("weights") is None:
        lower, upper = exact_band(est, lower, upper, band_known(g), result.level)
    return np.concatenate(([0.0], g.time)), est, lower, upper


def band_known(g: Any) -> np.ndarray:
    """Patients whose status is known on each drawn step of group ``g``: before its first time, then
    on ``[time[j], time[j+1])`` (``n`` minus those censored at or before ``time[j]``, as
    :func:`~leiosurv.stats.n_known_at` gives at every horizon inside the step).

    With delayed entry only the rows at risk from time 0 can be known from the start; the count
    is then the conservative ``max(0, rows entered at 0 - censored so far)`` (a late entrant's
    status before its entry is not observed, and the censored may all be among the others).
    """
    censored = np.concatenate(([0], np.cumsum(np.asarray(g.censored, dtype=np.int64))))
    start = int(g.n) if g.entry is None else int(np.count_nonzero(g.entry <= 0.0))
    known: np.ndarray = np.maximum(start - censored, 0)
    return known


def _check_labels(labels: Any) -> dict[str, Any]:
    """``labels`` is ``{"groups": {label: name}, "causes": {code: name}, "time": "axis name"}`` (all optional)."""
    from leiosurv.exceptions import InputError

    if labels is None:
        return {"groups": {}, "causes": {}, "time": None}
    if not isinstance(labels, dict) or not set(labels) <= {"groups", "causes", "time"}:
        raise InputError(
            "labels must be a dict with keys 'groups' and/or 'causes', each mapping a group label or "
            "cause code to a display name, and/or 'time', the time axis' name with its unit, "
            f"but was {labels!r}"
        )
    time = labels.get("time")
    if time is not None and not isinstance(time, str):
        raise InputError(f"labels['time'] must be text (the axis name with its unit), but was {time!r}")
    return {"groups": dict(labels.get("groups") or {}), "causes": dict(labels.get("causes") or {}), "time": time}


def _group_name(group_name: Any, label: Any, labels: dict[str, Any]) -> str:
    if label is None:
        return "all"
    if label in labels["groups"]:
        return str(labels["groups"][label])
    return f"{group_name}={label}" if group_name else str(label)


def _name(group_name: Any, label: Any, key: Any, labels: dict[str, Any]) -> str:
    parts = []
    if label is not None:
        parts.append(_group_name(group_name, label, labels))
    if key is not None:
        parts.append(str(labels["causes"].get(key, f"cause {key}")))
    return ", ".join(parts) or "all"


def _risk_table(ax: Any, result: Any, labels: dict[str, Any]) -> None:
    """Number at risk at the x ticks, one text row per group, under the axes."""
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    ngroups = len(result.counts.groups)
    tab = ax.inset_axes([0.0, -0.2 - 0.07 * ngroups, 1.0, 0.06 * ngroups])
    tab.set_xlim(ax.get_xlim())
    tab.set_ylim(-0.5, ngroups - 0.5)
    tab.set_axis_off()
    tab.set_title("Number at risk", fontsize="small", loc="left")
    h = np.asarray(ticks, dtype=np.float64)
    for gi, g in enumerate(result.counts.groups):
        at = n_risk_at(g, h)
        y = ngroups - 1 - gi
        for x, n in zip(h, at):
            tab.text(x, y, str(int(n)), ha="center", va="center", fontsize="small")
        name = _group_name(result.counts.group_name, g.label, labels)
        tab.annotate(name, xy=(0.0, y), xycoords=("axes fraction", "data"), xytext=(-18, 0),
                     textcoords="offset points", ha="right", va="center", fontsize="small")

"""Conditional (landmark) cumulative incidence: the risk that is left after s event-free years.

Given that a patient is alive, event-free and still under observation just
after a landmark time ``s``, what is the risk of each cause by a horizon ``h``?
The landmark estimator answers with the Aalen–Johansen estimator on the rows
whose follow-up time exceeds ``s``, with time measured from ``s`` (van
Houwelingen 2007):

    F_k(h | T > s) = AJ_k(h - s)  on  {i : t_i > s},  t_i -> t_i - s.

It is the R call ``prodlim(Hist(time - s, status) ~ 1, data = subset(d, time >
s))`` and reproduces its ``cuminc`` and ``se.cuminc`` (tested to 1e-9 against
``/work/shared/reference/melanoma_landmark.json``).  Nothing is re-estimated
here: the rows are reduced to their counts once (:func:`count_events`), the
counts after ``s`` are shifted, and :func:`cumulative_incidence` does the rest,
so the variance and interval options are exactly those of the unconditional
estimator.

Rows whose follow-up ends *at* ``s`` (an event or a censoring at exactly ``s``)
are not "event-free just after s" and are excluded, as ``subset(time > s)``
excludes them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Unpack

import numpy as np

from leiosurv.exceptions import DataError, InputError
from leiosurv.serial import Serialisable
from leiosurv.stats._aalen_johansen import IntervalOptions, cumulative_incidence
from leiosurv.stats._counts import EventCounts, GroupCounts
from leiosurv.stats._engines import count_events
from leiosurv.stats._provenance import data_kind, provenance
from leiosurv.stats._results import CumulativeIncidence
from leiosurv.stats._serialize import ConditionalIncidenceForm, jsonable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["conditional_incidence", "ConditionalIncidence"]

_AT_COLUMNS = ["group", "cause", "landmark", "horizon", "estimate", "se", "lower", "upper", "n_at_landmark",
               "n_risk_at_horizon", "beyond_follow_up"]


@dataclass(frozen=True, eq=False, repr=False)
class ConditionalIncidence(Serialisable):
    """Cumulative incidence given event-free follow-up beyond a landmark.

    Built by :func:`conditional_incidence`.

    Attributes
    ----------
    landmark : float
        The landmark ``s``, in the data's time unit, from time 0.
    incidence : CumulativeIncidence or None
        The Aalen–Johansen result on the rows with time > s, on the time scale
        *since the landmark* (its ``table["time"]`` is ``t - s``); groups with
        nobody beyond ``s`` are left out of it.  ``None`` when nobody at all is
        followed beyond ``s``.
    n_at_landmark : dict
        Group label -> number of rows with follow-up time > s (0 included),
        in the order of the data's groups.
    causes : tuple of int
    provenance : dict
    """

    landmark: float
    incidence: CumulativeIncidence | None
    n_at_landmark: dict[Any, int]
    causes: tuple[int, ...]
    provenance: dict[str, Any]

    @property
    def groups(self) -> list[Any]:
        """Group labels of the data, including those with nobody beyond the landmark."""
        return list(self.n_at_landmark)

    def at(self, horizons: Any, *, beyond: str = "raise") -> pd.DataFrame:
        """Risk by each horizon given event-free just after the landmark.

        Parameters
        ----------
        horizons : float or sequence of float
            Horizons ``h`` on the data's time scale, **from time 0** (not from
            the landmark), each ``>= landmark``: ``at(5 * 365.25)`` with
            ``landmark = 2 * 365.25`` is the risk by year 5 for a patient
            event-free at year 2, i.e. the landmark curve at ``h - s`` = 3 years.
            ``h == landmark`` gives 0.
        beyond : {"raise", "nan"}, default "raise"
            A horizon past a group's last follow-up time (or a group with
            nobody beyond the landmark): raise :class:`DataError`, or give a NaN
            row flagged ``beyond_follow_up=True``.

        Returns
        -------
        pandas.DataFrame
            Columns ``group, cause, landmark, horizon, estimate, se, lower,
            upper, n_at_landmark, n_risk_at_horizon, beyond_follow_up``.

        Examples
        --------
        >>> data = {"time": [1, 2, 3, 4, 5, 6], "event": [1, 0, 1, 2, 0, 1]}
        >>> res = conditional_incidence(data, landmark=2)
        >>> res.at([4, 6])[["cause", "horizon", "estimate"]].to_numpy().tolist()
        [[1.0, 4.0, 0.25], [1.0, 6.0, 0.75], [2.0, 4.0, 0.25], [2.0, 6.0, 0.25]]
        """
        h = np.atleast_1d(np.asarray(horizons, dtype=np.float64))
        if h.ndim != 1 or not np.all(np.isfinite(h)):
            raise InputError(f"horizons must be finite numbers, but was {horizons!r}")
        if np.any(h < self.landmark):
            raise InputError(f"horizons must be >= the landmark {self.landmark:g} (they are measured from time 0, "
                             f"not from the landmark), but was {float(h[h < self.landmark][0]):g}")
        if beyond not in ("raise", "nan"):
            raise InputError(f"beyond must be one of 'raise', 'nan', but was {beyond!r}")
        empty = [g for g, n in self.n_at_landmark.items() if n == 0]
        if empty and beyond == "raise":
            raise DataError(f"group {empty[0]!r}: nobody is followed beyond the landmark {self.landmark:g}; "
                            "pass beyond='nan' for NaN rows")
        parts = []
        if self.incidence is not None:
            tab = self.incidence.at(h - self.landmark, beyond=beyond)
            tab["horizon"] = np.tile(h, len(tab) // h.size)
            parts.append(tab)
        for g in empty:
            for k in self.causes:
                parts.append(_pd().DataFrame({
                    "group": [g] * h.size, "cause": k, "horizon": h, "estimate": np.nan, "se": np.nan,
                    "lower": np.nan, "upper": np.nan, "n_risk_at_horizon": 0, "beyond_follow_up": True,
                }))
        out = _pd().concat(parts, ignore_index=True)
        out["group"] = out["group"].astype(object)
        out["landmark"] = self.landmark
        out["n_at_landmark"] = [self.n_at_landmark[g] for g in out["group"]]
        order = {g: i for i, g in enumerate(self.n_at_landmark)}
        out["_o"] = [order[g] for g in out["group"]]
        out = out.sort_values(["_o", "cause", "horizon"], kind="stable").drop(columns="_o")
        return out[_AT_COLUMNS].reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """Per group: rows at the landmark and, per cause, the last time since the landmark and the CIF there."""
        rows = []
        inc = self.incidence.summary() if self.incidence is not None else None
        for g, n in self.n_at_landmark.items():
            for k in self.causes:
                row = {"group": g, "cause": k, "landmark": self.landmark, "n_at_landmark": n}
                if inc is not None and n:
                    hit = inc[(inc["cause"] == k).to_numpy() & np.array([x == g for x in inc["group"]])].iloc[0]
                    row.update(n_event=int(hit["n_event"]), last_time_since_landmark=float(hit["last_time"]),
                               cif_at_last=float(hit["cif_at_last"]))
                else:
                    row.update(n_event=0, last_time_since_landmark=math.nan, cif_at_last=math.nan)
                rows.append(row)
        return _pd().DataFrame(rows)

    def __str__(self) -> str:
        return (f"ConditionalIncidence: given event-free beyond landmark {self.landmark:g} "
                f"(time since the landmark in .incidence)\n{self.summary().to_string(index=False)}")

    def __repr__(self) -> str:
        return f"<ConditionalIncidence landmark={self.landmark:g}, n_at_landmark={self.n_at_landmark!r}>"

    def print_summary(self) -> None:
        """Print :meth:`summary`."""
        print(str(self))

    def _repr_html_(self) -> str:
        """The summary as HTML, for notebooks."""
        return (f"<p><strong>ConditionalIncidence: given event-free beyond landmark {self.landmark:g}</strong></p>"
                + str(self.summary().to_html(index=False, float_format=lambda x: f"{x:.6g}")))

    def plot(self, ax: Any = None, *, causes: Any = None, risk_table: bool = True,
             labels: dict[str, Any] | None = None, ci_band: bool = False) -> Any:
        """The landmark curves (time since the landmark) with numbers at risk; as :meth:`CumulativeIncidence.plot`.

        The time axis is named "time since the landmark <s>" unless ``labels={"time": ...}`` names it.

        Raises
        ------
        DataError
            When nobody is followed beyond the landmark (there is no curve).
        """
        if self.incidence is None:
            raise DataError(f"nobody is followed beyond the landmark {self.landmark:g}: there is no curve to plot",
                            column="landmark")
        names = dict(labels or {})
        names.setdefault("time", f"time since the landmark {self.landmark:g}")
        return self.incidence.plot(ax, causes=causes, risk_table=risk_table, labels=names, ci_band=ci_band)

    # -- serialisation (leiosurv.serial)
    JSON_FORM = ConditionalIncidenceForm

    def to_json_form(self) -> ConditionalIncidenceForm:
        return ConditionalIncidenceForm(
            "ConditionalIncidence", self.landmark,
            [(jsonable(g), int(n)) for g, n in self.n_at_landmark.items()], list(self.causes),
            None if self.incidence is None else self.incidence.to_json_form(), self.provenance)

    @classmethod
    def from_json_form(cls, form: ConditionalIncidenceForm) -> ConditionalIncidence:
        inc = None if form.incidence is None else CumulativeIncidence.from_json_form(form.incidence)
        return cls(form.landmark, inc, dict(form.n_at_landmark), tuple(form.causes), form.provenance)


def _pd() -> Any:
    import pandas  # imported where used: ``import leiosurv.stats`` loads numpy only

    return pandas


def after_landmark(counts: EventCounts, landmark: float) -> tuple[EventCounts | None, dict[Any, int]]:
    """The counts of the rows with time > ``landmark``, times shifted by ``-landmark``.

    Returns the shifted counts (groups with nobody left are dropped; ``None``
    if no group is left) and the number left per group label.

    Examples
    --------
    >>> ec = EventCounts.from_long([1.0, 2.0, 2.0, 3.5], [1, 0, 1, 2])
    >>> shifted, n = after_landmark(ec, 2.0)
    >>> shifted.groups[0].time.tolist(), n
    ([1.5], {None: 1})
    """
    kept: list[GroupCounts] = []
    n_left: dict[Any, int] = {}
    for g in counts.groups:
        keep = g.time > landmark
        sub = GroupCounts(g.label, g.time[keep] - landmark, np.ascontiguousarray(g.events[keep]),
                          np.ascontiguousarray(g.censored[keep]))
        n_left[g.label] = sub.n
        if sub.n:
            kept.append(sub)
    if not kept:
        return None, n_left
    meta = {**counts.meta, "landmark": landmark}
    return EventCounts(counts.causes, tuple(kept), counts.group_name, meta), n_left


def conditional_incidence(
    data: Any,
    time: str = "time",
    event: str = "event",
    group: str | None = None,
    *,
    landmark: float,
    causes: Sequence[int] | None = None,
    event_map: Mapping[Any, int] | None = None,
    **options: Unpack[IntervalOptions],
) -> ConditionalIncidence:
    """Cumulative incidence among those event-free and under observation just after ``landmark``.

    The Aalen–Johansen estimator (:func:`cumulative_incidence`) on the rows
    with follow-up time ``> landmark``, with time measured from the landmark.
    Reproduces R's ``prodlim::prodlim(Hist(time - s, status) ~ 1, data =
    subset(d, time > s))`` (``cuminc``, ``se.cuminc``; per group, fit on each
    group's subset) with ``variance="delta"``, and ``cmprsk::cuminc`` on the
    same subset with ``variance="aalen"``.

    Parameters
    ----------
    data, time, event, group, causes, event_map
        As in :func:`cumulative_incidence` (any input of :func:`count_events`,
        or :class:`EventCounts`).
    landmark : float
        The landmark ``s >= 0`` in the data's time unit.  ``landmark=0`` gives
        the unconditional estimate (every time is > 0 unless events happen at 0).
    **options : variance, ci, level, z
        Passed to :func:`cumulative_incidence` as they are, with its defaults
        (:class:`IntervalOptions`).

    Returns
    -------
    ConditionalIncidence
        ``.at(h)`` reads the risk by horizon ``h`` (from time 0, ``h >= s``)
        given event-free at ``s``; ``.incidence`` is the landmark curve on the
        time scale since ``s``; ``.n_at_landmark`` the numbers left per group.

    References
    ----------
    van Houwelingen HC (2007), Dynamic prediction by landmarking in event
    history analysis, Scand J Stat 34:70-85.  Aalen & Johansen (1978).

    Examples
    --------
    >>> data = {"time": [1, 2, 3, 4, 5, 6], "event": [1, 0, 1, 2, 0, 1]}
    >>> res = conditional_incidence(data, landmark=2)
    >>> res.n_at_landmark
    {None: 4}
    >>> float(res.at(6)["estimate"].iat[0])   # risk of cause 1 by time 6 given event-free at 2
    0.75
    """
    try:
        s = float(landmark)
    except (TypeError, ValueError):
        raise InputError(f"landmark must be a number >= 0, but was {landmark!r}") from None
    if not (math.isfinite(s) and s >= 0):
        raise InputError(f"landmark must be a finite number >= 0, but was {landmark!r}")
    if isinstance(data, EventCounts) and causes is not None and tuple(causes) != data.causes:
        raise InputError(f"causes must match the counts' causes {list(data.causes)!r} when data is EventCounts, "
                         f"but was {list(causes)!r}")
    unknown = sorted(set(options) - set(IntervalOptions.__annotations__))
    if unknown:
        raise TypeError(f"conditional_incidence() got an unexpected keyword argument {unknown[0]!r}")
    counts = count_events(data, time, event, group, causes=causes, event_map=event_map)
    shifted, n_left = after_landmark(counts, s)
    # with nobody left the options are still validated (on one censored row), so a bad one never passes silently
    fit = cumulative_incidence(shifted if shifted is not None else
                               EventCounts.from_long([1.0], [0], causes=counts.causes), **options)
    inc = fit if shifted is not None else None
    arguments = fit.provenance["arguments"]
    prov = provenance("conditional_incidence", {
        "time": time, "event": event, "group": group, "landmark": s,
        **{k: arguments[k] for k in IntervalOptions.__annotations__}, "data": data_kind(data),
    }, counts)
    prov["r_equivalent"] = "prodlim::prodlim(Hist(time - s, status) ~ 1, data = subset(d, time > s))"
    return ConditionalIncidence(s, inc, n_left, counts.causes, prov)

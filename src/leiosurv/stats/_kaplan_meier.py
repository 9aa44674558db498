"""Kaplan–Meier all-cause survival with Greenwood standard errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from leiosurv.stats._ci import check_choice, ci_bounds, resolve_z
from leiosurv.stats._engines import count_events
from leiosurv.stats._entry_weights import read_rows, weighted_km
from leiosurv.stats._kernels import greenwood, km_parts, risk_and_events
from leiosurv.stats._provenance import data_kind, provenance
from leiosurv.stats._results import KaplanMeier

__all__ = ["kaplan_meier"]

_COLUMNS = ("time", "n_risk", "n_event", "n_censored", "surv", "se", "lower", "upper")


def kaplan_meier(
    data: Any,
    time: str = "time",
    event: str = "event",
    group: str | None = None,
    *,
    event_map: Mapping[Any, int] | None = None,
    ci: str = "log",
    level: float = 0.95,
    z: float | None = None,
    entry: str | None = None,
    weights: str | None = None,
) -> KaplanMeier:
    """Kaplan–Meier estimate of all-cause survival (any event code > 0 is an event).

    Reproduces ``summary(survival::survfit(Surv(time, status > 0) ~ group))``:
    ``surv``, ``std.err`` (Greenwood: ``S * sqrt(sum d/(n(n-d)))``) and the
    confidence bounds.  Where ``S = 0`` the standard error is NaN (as survfit's
    ``0 * Inf``), and so are the ``"log"`` and ``"log-log"`` bounds.

    Parameters
    ----------
    data, time, event, group, event_map
        As in :func:`cumulative_incidence`.
    ci : {"log", "log-log", "plain"}, default "log"
        Why ``"log"`` by default: it is ``survival::survfit``'s default
        (``conf.type = "log"``), the R function this reproduces, so
        ``summary(survfit(...))`` is matched without options.
        (:func:`cumulative_incidence` defaults to ``"plain"``, prodlim's native
        interval and seed 001's.)  ``"log"``: survfit's default ``exp(log S -/+ z*se/S)``, upper bound at
        most 1.  ``"log-log"``: ``S ** exp(+/- z*se/(S*|log S|))``.  ``"plain"``:
        ``S -/+ z*se`` truncated to [0, 1].
    level : float, default 0.95
    z : float, optional
        Overrides the quantile derived from ``level``.
    entry : str, optional
        Column of entry times (delayed entry): at risk when ``entry < t <=
        time``; ``survfit(Surv(entry, time, status > 0) ~ group)``, Greenwood
        SE on those risk sets.
    weights : str, optional
        Column of case weights (finite, ``> 0``): ``survfit(..., weights = w)``,
        weighted numbers at risk and of events.  The SE follows survfit's rule
        (``survfitKM``): the weighted Greenwood SE when every weight is a whole
        number, else the infinitesimal-jackknife SE ``S(t) sqrt(sum_i (w_i
        B_i(t))^2)`` (``robust = TRUE``).  The table's counts stay unweighted.

    Returns
    -------
    KaplanMeier
        ``.table`` with columns ``group, time, n_risk, n_event, n_censored,
        surv, se, lower, upper``; ``.at``, ``.plot``, ``.to_dict``.

    Examples
    --------
    >>> km = kaplan_meier({"time": [1, 2, 3, 4], "event": [1, 0, 2, 1]})
    >>> km.table["surv"].tolist()
    [0.75, 0.75, 0.375, 0.0]
    """
    check_choice("ci", ci, ("log", "log-log", "plain"))
    level, zz = resolve_z(level, z)
    if weights is not None:
        counts, rows = read_rows(data, time, event, group, entry, weights, causes=None, event_map=event_map,
                                 squares=None, pooled=True, full_grid=True)
        whole = all(r.whole_weights for r in rows)
    elif entry is not None:
        counts, _ = read_rows(data, time, event, group, entry, None, causes=None, event_map=event_map, rows=False)
    else:
        counts = count_events(data, time, event, group, event_map=event_map)
    blocks = []
    for gi, g in enumerate(counts.groups):
        n, d = risk_and_events(g)
        if weights is None:
            surv, _ = km_parts(n, d)
            with np.errstate(invalid="ignore"):
                se = surv * np.sqrt(greenwood(n, d))
        else:
            from leiosurv.stats._ij_kernels import at_all_times  # (compiled on first use)

            _, _, s_ev, var = weighted_km(rows[gi], whole)
            surv, se = np.empty(d.size), np.empty(d.size)
            at_all_times(d, s_ev, var, surv, se)  # (compiled: no index array of the table's length)
        lower, upper = ci_bounds(surv, se, ci, zz)
        blocks.append(dict(zip(_COLUMNS, (g.time, n, d, g.censored, surv, se, lower, upper))))
    extra = {k: v for k, v in (("entry", entry), ("weights", weights)) if v is not None}
    prov = provenance(
        "kaplan_meier",
        {
            "time": time, "event": event, "group": group,
            "event_map": None if event_map is None else [[k, v] for k, v in event_map.items()],
            "ci": ci, "level": level, "z": z, "data": data_kind(data), **extra,
        },
        counts,
    )
    return KaplanMeier(counts, tuple(blocks), ci, level, zz, prov)

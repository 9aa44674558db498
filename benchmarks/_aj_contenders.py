"""The contenders of the Aalen–Johansen speed benchmark.

Each contender is a ``Contender(name, run, extract, note)``: ``run(time, event,
group)`` does the timed work on the arrays exactly as given — both causes'
cumulative incidence functions (CIFs), per group (two groups), with a variance
or confidence interval where the library has one — and returns whatever the
library returns; ``extract(raw, horizons)`` (untimed) reads the CIF at the
horizons into an array of shape (2 groups, 2 causes, H), or is ``None`` for the
numpy floor, which computes no estimate.

Peers receive one group at a time (they have no grouping argument); splitting
the arrays by group is part of their timed work, as it would be for a user.
Warnings raised inside peers (lifelines' tie jitter notice, log(0) in CIs) are
silenced: they are not ours.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

CAUSES = (1, 2)
GROUPS = (0, 1)

__all__ = ["Contender", "CONTENDERS", "by_name", "step_at"]


@dataclass(frozen=True)
class Contender:
    name: str
    run: Callable[[np.ndarray, np.ndarray, np.ndarray], Any]
    extract: Callable[[Any, np.ndarray], np.ndarray] | None
    note: str
    # same estimator as R's cmprsk/prodlim CIF (lifelines only on tie-free data)
    exact_on_ties: bool = True
    # Parquet mode: run on a file path (only leiosurv can)
    run_path: Callable[[str], Any] | None = None


def step_at(times: np.ndarray, values: np.ndarray, horizons: np.ndarray) -> np.ndarray:
    """Right-continuous step function (0 before the first time) at ``horizons``."""
    idx = np.searchsorted(np.asarray(times, dtype=float), horizons, side="right") - 1
    vals = np.asarray(values, dtype=float)
    return np.where(idx >= 0, vals[np.clip(idx, 0, None)], 0.0)


def _split(time: np.ndarray, event: np.ndarray, group: np.ndarray):
    for g in GROUPS:
        m = group == g
        yield g, time[m], event[m]


# -- leiosurv --------------------------------------------------------------------
def _leiosurv_run(time, event, group):
    from leiosurv.stats import cumulative_incidence

    return cumulative_incidence(
        {"time": time, "event": event, "group": group}, time="time", event="event", group="group"
    )


def _leiosurv_table_run(time, event, group):
    res = _leiosurv_run(time, event, group)
    res.table  # the pandas table is built on first access
    return res


def _leiosurv_extract(res, horizons):
    out = np.empty((len(GROUPS), len(CAUSES), len(horizons)))
    for i, g in enumerate(GROUPS):
        for j, c in enumerate(CAUSES):
            out[i, j] = _leiosurv_curve_at(res, g, c, horizons)
    return out


def _leiosurv_curve_at(res, g, c, horizons):
    tab = res.table
    rows = tab[tab["group"] == g]
    return step_at(rows["time"].to_numpy(), rows[f"cif_{c}"].to_numpy(), horizons)


def _leiosurv_run_path(path):
    from leiosurv.stats import cumulative_incidence

    return cumulative_incidence(path, time="time", event="event", group="group")


# -- lifelines -------------------------------------------------------------------
def _lifelines_run(time, event, group, calculate_variance=True):
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifelines import AalenJohansenFitter
        for g, t, e in _split(time, event, group):
            for c in CAUSES:
                f = AalenJohansenFitter(calculate_variance=calculate_variance, seed=0)
                out[g, c] = f.fit(t, e, event_of_interest=c)
    return out


def _lifelines_extract(raw, horizons):
    out = np.empty((len(GROUPS), len(CAUSES), len(horizons)))
    for i, g in enumerate(GROUPS):
        for j, c in enumerate(CAUSES):
            cd = raw[g, c].cumulative_density_
            out[i, j] = step_at(cd.index.to_numpy(), cd.iloc[:, 0].to_numpy(), horizons)
    return out


# -- scikit-survival -------------------------------------------------------------
def _sksurv_run(time, event, group, conf_type=None):
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sksurv.nonparametric import cumulative_incidence_competing_risks
        for g, t, e in _split(time, event, group):
            # sksurv overflows on int8 event codes (n_risks = event.max() keeps the
            # dtype), so it gets an int64 copy: part of its timed work.
            out[g] = cumulative_incidence_competing_risks(e.astype(np.int64), t, conf_type=conf_type)
    return out


def _sksurv_extract(raw, horizons):
    out = np.empty((len(GROUPS), len(CAUSES), len(horizons)))
    for i, g in enumerate(GROUPS):
        t, cif = raw[g][0], raw[g][1]
        for j, c in enumerate(CAUSES):
            out[i, j] = step_at(t, cif[c], horizons)
    return out


# -- statsmodels -----------------------------------------------------------------
def _statsmodels_run(time, event, group):
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from statsmodels.duration.survfunc import CumIncidenceRight
        for g, t, e in _split(time, event, group):
            out[g] = CumIncidenceRight(t, e)
    return out


def _statsmodels_extract(raw, horizons):
    out = np.empty((len(GROUPS), len(CAUSES), len(horizons)))
    for i, g in enumerate(GROUPS):
        r = raw[g]
        for j, c in enumerate(CAUSES):
            out[i, j] = step_at(r.times, r.cinc[c - 1], horizons)
    return out


# -- numpy floor -----------------------------------------------------------------
def _numpy_floor_run(time, event, group):
    """argsort of the time column, then cumulative sums of the three indicators."""
    order = np.argsort(time)
    e = event[order]
    g = group[order]
    return (
        np.cumsum(e == 1),
        np.cumsum(e == 2),
        np.cumsum(g == 1),
    )


CONTENDERS: tuple[Contender, ...] = (
    Contender(
        "leiosurv",
        _leiosurv_run,
        _leiosurv_extract,
        "leiosurv.stats.cumulative_incidence, default variance, both causes, grouped",
        run_path=_leiosurv_run_path,
    ),
    Contender(
        "leiosurv+table",
        _leiosurv_table_run,
        _leiosurv_extract,
        "the same call plus the first access of .table (the pandas result table is built lazily); "
        "information only, not used for the goals",
    ),
    Contender(
        "numpy floor",
        _numpy_floor_run,
        None,
        "np.argsort(time) + gather + 3 cumsums; computes no estimate (lower bound)",
    ),
    Contender(
        "statsmodels",
        _statsmodels_run,
        _statsmodels_extract,
        "CumIncidenceRight per group: both CIFs + SE (always computed)",
    ),
    Contender(
        "sksurv",
        _sksurv_run,
        _sksurv_extract,
        "cumulative_incidence_competing_risks per group, conf_type=None: CIFs, no variance",
    ),
    Contender(
        "sksurv+CI",
        lambda t, e, g: _sksurv_run(t, e, g, conf_type="log-log"),
        _sksurv_extract,
        "same with conf_type='log-log' (Aalen variance); memory O(distinct times^2)",
    ),
    Contender(
        "lifelines",
        _lifelines_run,
        _lifelines_extract,
        "AalenJohansenFitter per group and cause, calculate_variance=True; jitters tied times",
        exact_on_ties=False,
    ),
    Contender(
        "lifelines-novar",
        lambda t, e, g: _lifelines_run(t, e, g, calculate_variance=False),
        _lifelines_extract,
        "same with calculate_variance=False (point estimate only)",
        exact_on_ties=False,
    ),
)


def by_name(name: str) -> Contender:
    for c in CONTENDERS:
        if c.name == name:
            return c
    raise KeyError(f"no contender {name!r}; known: {[c.name for c in CONTENDERS]}")

"""Aalen–Johansen cumulative incidence with competing risks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import numpy as np

from leiosurv.exceptions import InputError
from leiosurv.stats._ci import EstimateBlock, check_choice, resolve_z
from leiosurv.stats._counts import EventCounts
from leiosurv.stats._engines import count_events
from leiosurv.stats._entry_weights import RowGrid, read_rows, weighted_aj
from leiosurv.stats._kernels import aj_cif, km_parts, var_aalen, var_delta
from leiosurv.stats._provenance import data_kind, provenance
from leiosurv.stats._results import CumulativeIncidence

__all__ = ["cumulative_incidence", "IntervalOptions", "VARIANCES"]

VARIANCES = ("delta", "aalen", "ij")


class IntervalOptions(TypedDict, total=False):
    """The variance and interval options of :func:`cumulative_incidence`, for functions that pass them on.

    Their defaults and meaning are those of :func:`cumulative_incidence`'s parameters of the same names.
    """

    variance: str
    ci: str
    level: float
    z: float | None


def cumulative_incidence(
    data: Any,
    time: str = "time",
    event: str = "event",
    group: str | None = None,
    *,
    causes: Sequence[int] | None = None,
    event_map: Mapping[Any, int] | None = None,
    variance: str = "delta",
    ci: str = "plain",
    level: float = 0.95,
    z: float | None = None,
    entry: str | None = None,
    weights: str | None = None,
) -> CumulativeIncidence:
    """Aalen–Johansen cumulative incidence of each cause, per group.

    Event code 0 is a censoring, codes 1..K are competing causes.  At tied
    times events come before censorings (those censored at ``t`` are at risk
    at ``t``), as in R's survival, cmprsk and prodlim.  Events at time 0 are
    ordinary events at the first time.

    Parameters
    ----------
    data : DataFrame, mapping of columns, EventCounts, or any input of ``count_events``
        The rows; or their counts (then ``time``/``event``/``group`` are ignored).
    time, event : str, default "time", "event"
        Column names.
    group : str, optional
        Grouping column; one curve set per distinct value.
    causes : sequence of int, optional
        Cause codes to report (default: those present).
    event_map : mapping, optional
        Recoding of the event column to 0 (censored) and 1..K,
        e.g. ``{"alive": 0, "met": 1, "dead": 2}``.
    variance : {"delta", "aalen", "ij"}, default "delta"
        ``"delta"``: the delta-method variance of ``prodlim::prodlim(Hist(time,
        status) ~ group)`` (``se.cuminc``; Marubini & Valsecchi 1995, p. 341),
        which here equals the infinitesimal-jackknife ``std.err`` of
        ``survival::survfit(Surv(time, factor(status)) ~ group)``; where
        everyone at risk has an event at the last time prodlim gives ``NA`` and
        this gives survfit's finite value.  ``"aalen"``: the Aalen-type variance
        of ``cmprsk::cuminc(time, status, group)`` (Gray 1988) with the ties
        factor ``1 - (d - 1)/(n - 1)``; like cmprsk it changes only at times
        where the cause's CIF jumps.  ``"ij"``: the infinitesimal-jackknife
        ``std.err`` of ``survival::survfit(Surv(entry, time, factor(status)) ~
        group, weights = w)`` (multi-state), ``sqrt(sum_i (w_i dF/dw_i)^2)``:
        the variance for ``entry`` and ``weights`` (on plain data it equals
        ``"delta"``); it reads the rows (any input but :class:`EventCounts`).  With
        ``entry`` and no weights, ``"delta"`` is prodlim's
        ``prodlim(Hist(time, status, entry = entry) ~ group)`` ``se.cuminc``;
        ``weights`` need ``"ij"`` (prodlim's ``caseweights`` give another CIF)
        and ``"aalen"`` takes neither (cmprsk has no entry or weights).
    ci : {"plain", "log-log", "log"}, default "plain"
        Why ``"plain"`` by default: it is the native interval of
        ``prodlim::prodlim``, whose delta-method SE is the default ``variance``,
        and the interval seed 001 printed ("25.0 (0-67)"), so the defaults
        reproduce both.  (:func:`kaplan_meier` defaults to ``"log"`` because
        that is ``survival::survfit``'s default, the R function it reproduces.)
        Near 0 or 1 a plain interval is poor (zero width at 0); prefer
        ``"log-log"`` there.
        ``"plain"``: ``est -/+ z*se`` truncated to [0, 1] (prodlim's native
        interval).  ``"log-log"``: ``est ** exp(+/- z*se/(est*|log est|))``, NaN
        where ``est`` is 0 or 1.  ``"log"``: survfit's native
        ``exp(log est -/+ z*se/est)``, upper bound at most 1, NaN where est = 0.
    level : float, default 0.95
        Confidence level in (0, 1).
    z : float, optional
        Normal quantile; defaults to the normal quantile at ``(1 + level)/2`` (as R's ``qnorm``).  An explicit
        value (e.g. 1.96) overrides it.
    entry : str, optional
        Column of entry times (left truncation, delayed entry): a row is at
        risk at ``t`` when ``entry < t <= time``, as ``Surv(entry, time,
        status)``; each entry finite, ``>= 0`` and ``< time``.  ``n_risk`` in the
        table counts the rows entered and not yet gone.
    weights : str, optional
        Column of case weights (finite, ``> 0``), as survfit's ``weights=``:
        weighted numbers at risk and of events; the table's counts stay
        unweighted (as survfit's ``n.risk``).  Needs ``variance="ij"``.

    Returns
    -------
    CumulativeIncidence
        ``.table`` (group, time, n_risk, n_event_<k>, n_censored, cif_<k>,
        se_<k>, lower_<k>, upper_<k>), ``.at(horizons)``, ``.plot()``,
        ``.to_dict()``, ``.provenance``.

    References
    ----------
    Aalen & Johansen (1978), Scand J Stat 5:141-150.  Gray (1988), Ann Stat
    16:1141-1154.  Marubini & Valsecchi (1995), Wiley, ch. 10.

    Examples
    --------
    >>> res = cumulative_incidence({"time": [1, 2, 3, 4], "event": [1, 0, 2, 1]})
    >>> res.table[["time", "n_risk", "cif_1", "cif_2"]].to_numpy().tolist()
    [[1.0, 4.0, 0.25, 0.0], [2.0, 3.0, 0.25, 0.0], [3.0, 2.0, 0.25, 0.375], [4.0, 1.0, 0.625, 0.375]]
    """
    check_choice("variance", variance, VARIANCES)
    check_choice("ci", ci, ("plain", "log-log", "log"))
    level, zz = resolve_z(level, z)
    if isinstance(data, EventCounts) and causes is not None and tuple(causes) != data.causes:
        raise InputError(
            f"causes must match the counts' causes {list(data.causes)!r} when data is EventCounts, "
            f"but was {list(causes)!r}; select causes in the result instead"
        )
    if entry is not None or weights is not None or variance == "ij":
        _check_entry_variance(variance, entry, weights)
        counts, rows = read_rows(data, time, event, group, entry, weights, causes=causes, event_map=event_map,
                                 rows=variance == "ij")
        blocks = ij_blocks(counts, rows, ci, zz) if variance == "ij" else aj_blocks(counts, variance, ci, zz)
    else:
        counts = count_events(data, time, event, group, causes=causes, event_map=event_map)
        blocks = aj_blocks(counts, variance, ci, zz)
    extra = {k: v for k, v in (("entry", entry), ("weights", weights)) if v is not None}
    prov = provenance(
        "cumulative_incidence",
        {
            "time": time, "event": event, "group": group,
            "causes": None if causes is None else list(causes),
            "event_map": None if event_map is None else [[k, v] for k, v in event_map.items()],
            "variance": variance, "ci": ci, "level": level, "z": z, "data": data_kind(data), **extra,
        },
        counts,
    )
    return CumulativeIncidence(counts, blocks, ci, level, zz, prov, variance=variance)


def _check_entry_variance(variance: str, entry: str | None, weights: str | None) -> None:
    """Which variance goes with delayed entry and case weights (see :func:`cumulative_incidence`)."""
    if variance == "aalen" and (entry is not None or weights is not None):
        raise InputError(
            "variance='aalen' (cmprsk::cuminc) has no delayed entry or case weights; "
            "use variance='ij' (survival::survfit) or 'delta' (prodlim, entry only)"
        )
    if variance == "delta" and weights is not None:
        raise InputError(
            "weights need variance='ij' (survival::survfit's infinitesimal jackknife); "
            "prodlim's delta method has no case-weighted form"
        )


def ij_blocks(counts: EventCounts, rows: tuple[RowGrid, ...], ci: str, z: float
              ) -> tuple[dict[str, np.ndarray], ...]:
    """Per group, the weighted Aalen–Johansen estimates with survfit's IJ standard errors on the
    event times (each array with a leading value for "before the first event")."""
    k = len(counts.causes)
    blocks = []
    for r in rows:
        etime = r.time
        est, se = _result_arrays(etime.size, k)
        weighted_aj(r, (est[1:], se[1:]))  # straight into the result arrays
        np.sqrt(se, out=se)
        block = EstimateBlock({"time": etime}, ci, z)
        for ki, cause in enumerate(counts.causes):
            block[f"cif_{cause}"] = est[:, ki]
            block[f"se_{cause}"] = se[:, ki]
        blocks.append(block)
    return tuple(blocks)


#: data of at most this many rows have their groups computed together (see ``_kernels``)
_STACK_ROWS = 1 << 13


def aj_blocks(counts: EventCounts, variance: str, ci: str, z: float) -> tuple[dict[str, np.ndarray], ...]:
    """Per group, the estimates on the event times (see :class:`CumulativeIncidence`).

    A CIF, the Kaplan–Meier factor ``S_{j-1}`` and both variances change only
    at times with an event (a censoring-only time adds exact zeros to every
    sum), so the kernels run on the event times alone; with continuous times
    that is a fraction of the distinct times.  Each array gets a leading value
    for "before the first event".  Small data go through the kernels with
    their groups stacked (the same numbers with fewer numpy calls); larger
    ones group by group, each group's kernels writing straight into its
    result arrays and its numbers at risk freed before the next group.
    """
    k = len(counts.causes)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (time, est, se) per group
    if len(counts.groups) > 1 and counts.n <= _STACK_ROWS:
        grids = [g.event_grid(keep=False) for g in counts.groups]
        bounds = np.concatenate(([0], np.cumsum([grid[0].size for grid in grids]))).tolist()
        cif, var = _estimates(np.concatenate([grid[1] for grid in grids]),
                              np.concatenate([grid[2] for grid in grids]), variance, bounds)
        for (etime, _, _), a, b in zip(grids, bounds[:-1], bounds[1:]):
            est, se = _result_arrays(b - a, k)
            est[1:] = cif[a:b]
            se[1:] = var[a:b]
            parts.append((etime, est, se))
    else:
        for g in counts.groups:
            etime, n_int, events = g.event_grid(keep=False)  # n_int is freed after this group
            est, se = _result_arrays(etime.size, k)
            _estimates(n_int, events, variance, None, (est[1:], se[1:]))
            del n_int, events
            parts.append((etime, est, se))
    blocks = []
    for etime, est, se in parts:
        np.sqrt(se, out=se)
        block = EstimateBlock({"time": etime}, ci, z)  # bounds computed when first read
        for ki, cause in enumerate(counts.causes):
            block[f"cif_{cause}"] = est[:, ki]
            block[f"se_{cause}"] = se[:, ki]
        blocks.append(block)
    return tuple(blocks)


def _result_arrays(m: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """CIF and variance (later SE) of all causes, (m + 1, K) column-major, with a leading
    row of zeros for "before the first event"."""
    est = np.empty((m + 1, k), order="F")
    se = np.empty((m + 1, k), order="F")
    est[0] = 0.0
    se[0] = 0.0
    return est, se


def _estimates(n_int: np.ndarray, events: np.ndarray, variance: str, bounds: list[int] | None,
               out: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """CIF and variance, (m, K) each, of one group's event grid or of stacked groups' (``bounds``),
    into ``out`` if given."""
    cif_out, var_out = (None, None) if out is None else out
    n = n_int.astype(np.float64)  # once, for every kernel
    d = events @ np.ones(events.shape[1], dtype=np.int64)
    dk = events.astype(np.float64, order="F")  # each cause's column contiguous
    surv, lag = km_parts(n, d, bounds)
    cif = aj_cif(n, dk, lag, bounds, cif_out)
    if variance == "delta":
        del surv
        return cif, var_delta(n, dk, d, lag, cif, bounds, var_out)
    return cif, var_aalen(n, dk, d, surv, lag, cif, bounds, var_out)

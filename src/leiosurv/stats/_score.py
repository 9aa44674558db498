"""Prediction performance for competing risks at a horizon: IPCW AUC and Brier score.

:func:`score` reproduces ``riskRegression::Score(list(...), formula = Hist(time, status) ~ 1,
data, cause = 1, times = tau, metrics = c("auc", "brier"), cens.model = "km", se.fit = TRUE,
null.model = TRUE, contrasts = TRUE, split.method = "none")`` (riskRegression 2022.11.28).

Notation: ``N`` rows, follow-up ``T_i``, status 0 (censored), 1 (the cause of interest) or 2
(any other cause), predicted risk ``r_i`` of the cause by the horizon ``tau``.  The censoring
distribution is the Kaplan–Meier of the censoring times (``prodlim(Surv(time, status) ~ 1,
reverse = TRUE)``), ``G(t) = prod_{s <= t} (1 - C(s)/(Y(s) - D(s)))`` with ``Y(s)`` the rows with
``T >= s``, ``D(s)`` the events and ``C(s)`` the censorings at ``s`` (events leave first); each
row's IPCW weight is

* ``W_i = 1/G(T_i-)`` for an event (either cause) by ``tau``;
* ``W_i = 1/G(tau)`` for ``T_i > tau``;
* 0 for a censoring by ``tau``.

**Brier score**: residual ``R_i = W_i (1{case} - r_i)^2`` (case: cause 1 by ``tau``; an other-cause
event by ``tau`` and ``T_i > tau`` count as 0), ``Brier = sum R_i / N``.

**AUC** (cases against controls, the controls being ``T_i > tau`` and other-cause events by
``tau``): ``AUC = sum_{case i, control j} W_i W_j (1{r_i > r_j} + 1{r_i = r_j}/2) /
(sum_case W sum_control W)``, the trapezoidal area under the weighted ROC curve.

**Standard errors**: ``sd(IF)/sqrt(N)`` (sd with ``N - 1``) of the influence function, which
has two parts (riskRegression's ``getIC0AUC``/``getInfluenceFunctionAUCKMCensoringTerm`` and
``getInfluenceFunctionBrierKMCensoringTerm``, ``conservative = FALSE``): the one with the
weights held fixed (for Brier ``R_i - mean R``), and the one of the weights through the
Kaplan–Meier censoring model, ``d(1/G(s)) = (1/G(s)) IF_Lambda(s)`` with the censoring
cumulative hazard's influence ``IF_Lambda(s)_i = N dC_i/Y(T_i) 1{T_i <= s} -
sum_{u <= min(s, T_i)} N C(u)/Y(u)^2``, summed over the rows it weights.  As in riskRegression,
this influence uses ``Y(u)`` (events at ``u`` included) while the weights use prodlim's ``G``.  Contrasts
(model minus reference) use ``sd(IF_model - IF_reference)/sqrt(N)``, Wald intervals and
two-sided normal p-values.  Bounds of AUC and Brier are truncated to [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

from leiosurv.exceptions import DataError, InputError
from leiosurv.stats._aalen_johansen import cumulative_incidence
from leiosurv.stats._counts import EventCounts
from leiosurv.stats._entry_weights import rows_in_order

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["score", "Score"]

NULL_MODEL = "Null model"


@dataclass(frozen=True, eq=False)
class Score:
    """AUC and Brier score of each model at one horizon (see :func:`score`).

    Attributes
    ----------
    horizon : float
    cause : int
    auc : pandas.DataFrame
        ``model, auc, se, lower, upper`` (the null model has no AUC row).
    brier : pandas.DataFrame
        ``model, brier, se, lower, upper``, the null model first.
    auc_contrasts, brier_contrasts : pandas.DataFrame
        ``model, reference, delta, se, lower, upper, p``: every later model against every
        earlier one (Brier: against the null model first), in riskRegression's order.
    influence : dict
        ``{"auc": {model: IF}, "brier": {model: IF}}``, each an array over the rows in the
        data's order.
    residuals : dict
        Per model, the IPCW-weighted squared residuals ``R_i`` (data order); ``brier = mean``.
    null_risk : float
        The null model's risk: the marginal Aalen–Johansen CIF of the cause at the horizon.
    counts : dict
        Cases, competing events and censorings by the horizon, and rows event-free beyond it.
    """

    horizon: float
    cause: int
    auc: pd.DataFrame
    brier: pd.DataFrame
    auc_contrasts: pd.DataFrame
    brier_contrasts: pd.DataFrame
    influence: dict[str, dict[str, np.ndarray]] = field(repr=False)
    residuals: dict[str, np.ndarray] = field(repr=False)
    null_risk: float
    counts: dict[str, int]

    def __str__(self) -> str:
        return (f"Score at horizon {self.horizon:g}, cause {self.cause} ({self.counts})\n"
                f"AUC\n{self.auc.to_string(index=False)}\nBrier\n{self.brier.to_string(index=False)}")


def score(
    data: Any,
    predictions: Mapping[str, Any],
    horizon: float,
    time: str = "time",
    event: str = "event",
    *,
    cause: int = 1,
    event_map: Mapping[Any, int] | None = None,
    null_model: bool = True,
    level: float = 0.95,
) -> Score:
    """Time-dependent AUC and Brier score of predicted risks at a horizon, with competing risks.

    Exact to ``riskRegression::Score(list(...), formula = Hist(time, status) ~ 1, data, cause =
    cause, times = horizon, metrics = c("auc", "brier"), cens.model = "km", se.fit = TRUE,
    null.model = TRUE, contrasts = TRUE)``: inverse-probability-of-censoring weights from the
    Kaplan–Meier of the censoring times, standard errors from the influence function including
    the censoring model's part (``conservative = FALSE``); formulas in this module's docstring.

    Parameters
    ----------
    data : DataFrame, Table, relation, mapping of arrays, structured array or path
        One row per subject (any input kind but EventCounts: files and frames are read as
        :func:`cumulative_incidence` reads them with ``entry=``).
    predictions : mapping of str to array-like
        Per model name, the predicted risk of ``cause`` by ``horizon`` for every row, in the
        data's order (e.g. a risk rule's group risk, a model's predicted CIF); each in [0, 1].
    horizon : float
        The prediction horizon, in the time column's unit; within follow-up (at most the last
        follow-up time) and with at least one case and one control.
    time, event, event_map
        As in :func:`~leiosurv.stats.cumulative_incidence` (0 censored, 1..K causes).
    cause : int, default 1
        The cause predicted; every other cause is a competing event (a control).
    null_model : bool, default True
        Add riskRegression's null model (everybody's risk = the marginal Aalen–Johansen CIF of
        ``cause`` at the horizon) to the Brier table and its contrasts.
    level : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    Score

    Raises
    ------
    DataError
        A prediction is missing or outside [0, 1], a model's predictions do not have one value
        per row, the horizon is negative, not finite or beyond the last follow-up time, or there
        is no case or no control by the horizon (and every problem of the data's columns).
    InputError
        No model, a model named like the null model, an unknown cause, a level outside (0, 1).

    Examples
    --------
    >>> data = {"time": [1, 2, 3, 4, 5, 6, 7, 8], "event": [1, 0, 1, 2, 0, 1, 0, 0]}
    >>> s = score(data, {"rule": [0.9, 0.2, 0.6, 0.3, 0.1, 0.5, 0.2, 0.1]}, horizon=6)
    >>> round(float(s.auc["auc"].iat[0]), 4)
    0.9
    """
    import pandas as pd

    if not isinstance(predictions, Mapping) or not predictions:
        raise InputError("predictions must be a non-empty mapping {model name: predicted risks}")
    if null_model and NULL_MODEL in predictions:
        raise InputError(f"a model may not be called {NULL_MODEL!r} (the null model's name)")
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise InputError(f"level must be a number in (0, 1), but was {level!r}")
    t, col, causes = rows_in_order(data, time, event, causes=None, event_map=event_map)
    if cause not in causes:
        raise InputError(f"cause must be one of {list(causes)!r}, but was {cause!r}")
    n = t.size
    try:
        tau = float(horizon)
    except (TypeError, ValueError):
        raise DataError(f"horizon must be a number, but was {horizon!r}", column="horizon") from None
    if not (np.isfinite(tau) and tau >= 0):
        raise DataError(f"horizon must be a finite number >= 0, but was {horizon!r}", column="horizon")
    if tau > t.max():
        raise DataError(f"horizon {tau:g} is beyond the last follow-up time {t.max():g}", column="horizon")
    ci = causes.index(cause) + 1
    status = np.where(col == 0, 0, np.where(col == ci, 1, 2))
    risks = {name: _risks(name, p, n) for name, p in predictions.items()}
    if null_model:
        counts = EventCounts.from_long(t, np.asarray((0, *causes))[col], causes=causes)
        at = cumulative_incidence(counts).at(tau)
        null_risk = float(at.loc[at["cause"] == cause, "estimate"].iat[0])
        risks = {NULL_MODEL: np.full(n, null_risk), **risks}
    else:
        null_risk = float("nan")

    # rows sorted by time, events before censorings at a tie (riskRegression's order)
    order = np.lexsort((status == 0, t))
    ts, ss = t[order], status[order]
    ipcw = _Ipcw(ts, ss, tau)
    case = (ts <= tau) & (ss == 1)
    control = ((ts <= tau) & (ss == 2)) | (ts > tau)
    tallies = {"cases": int(case.sum()), "competing": int(((ts <= tau) & (ss == 2)).sum()),
               "censored": int(((ts <= tau) & (ss == 0)).sum()), "event_free": int((ts > tau).sum())}
    if not case.any() or not control.any():
        raise DataError(
            f"horizon {tau:g}: {tallies['cases']} case(s) of cause {cause} and "
            f"{int(control.sum())} control(s); AUC and Brier need at least one of each", column="horizon")
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    auc_rows, brier_rows = [], []
    if_auc: dict[str, np.ndarray] = {}
    if_brier: dict[str, np.ndarray] = {}
    resid: dict[str, np.ndarray] = {}
    for name, risk in risks.items():
        rs = risk[order]
        res = ipcw.w * np.where(case, (1.0 - rs) ** 2, rs * rs)
        ifb = res - res.mean() + ipcw.brier_censoring_term(res)
        b = float(res.sum() / n)
        seb = _se(ifb)
        brier_rows.append((name, b, seb, max(0.0, b - z * seb), min(1.0, b + z * seb)))
        if_brier[name] = ifb[inverse]
        resid[name] = res[inverse]
        if name == NULL_MODEL:
            continue
        a, ifa = ipcw.auc(rs, case, control)
        sea = _se(ifa)
        auc_rows.append((name, a, sea, max(0.0, a - z * sea), min(1.0, a + z * sea)))
        if_auc[name] = ifa[inverse]
    auc = pd.DataFrame(auc_rows, columns=["model", "auc", "se", "lower", "upper"])
    brier = pd.DataFrame(brier_rows, columns=["model", "brier", "se", "lower", "upper"])
    return Score(tau, cause, auc, brier,
                 _contrasts(auc.set_index("model")["auc"], if_auc, z),
                 _contrasts(brier.set_index("model")["brier"], if_brier, z),
                 {"auc": if_auc, "brier": if_brier}, resid, null_risk, tallies)


def _risks(name: str, values: Any, n: int) -> np.ndarray:
    try:
        p = np.asarray(values, dtype=np.float64).reshape(-1) if not hasattr(values, "to_numpy") else \
            np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan)).reshape(-1)
    except (TypeError, ValueError):
        raise DataError(f"predictions of model {name!r} must be numbers in [0, 1]", column=name) from None
    if p.size != n:
        raise DataError(f"predictions of model {name!r} have {p.size} values but the data have {n} rows",
                        column=name)
    bad = ~((p >= 0) & (p <= 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"predictions of model {name!r}: {int(bad.sum())} value(s) missing or outside [0, 1] "
                        f"(first at position {i}: {float(p[i])!r})", column=name, n_rows=int(bad.sum()))
    return p


def _se(x: np.ndarray) -> float:
    return float(np.std(x, ddof=1) / np.sqrt(x.size))


def _contrasts(values: pd.Series, ifs: dict[str, np.ndarray], z: float) -> pd.DataFrame:
    """Every model against every earlier one (riskRegression's ``getComparisons``)."""
    import pandas as pd

    names = list(ifs)
    out = []
    for j, ref in enumerate(names):
        for model in names[j + 1:]:
            delta = float(values[model] - values[ref])
            se = _se(ifs[model] - ifs[ref])
            p = 2.0 * NormalDist().cdf(-abs(delta) / se) if se > 0 else float("nan")
            out.append((model, ref, delta, se, delta - z * se, delta + z * se, p))
    return pd.DataFrame(out, columns=["model", "reference", "delta", "se", "lower", "upper", "p"])


class _Ipcw:
    """The censoring Kaplan–Meier, the IPCW weights and the censoring part of the influence
    functions, on rows sorted by time (events first at ties)."""

    def __init__(self, ts: np.ndarray, ss: np.ndarray, tau: float) -> None:
        n = ts.size
        self.n = n
        utime, start, size = np.unique(ts, return_index=True, return_counts=True)
        block = np.repeat(np.arange(utime.size), size)  # each row's distinct time
        at_risk = (n - start).astype(np.float64)  # rows with T >= s
        cens = np.bincount(block, weights=(ss == 0).astype(np.float64), minlength=utime.size)
        # prodlim's reverse Kaplan-Meier: the events at s leave before the censorings at s
        left = at_risk - (size - cens)
        hazard = np.divide(cens, left, out=np.zeros_like(cens), where=left > 0)
        g = np.cumprod(1.0 - hazard)
        g_lag = np.concatenate(([1.0], g[:-1]))
        last = np.searchsorted(utime, tau, side="right") - 1  # last distinct time <= tau
        g_tau = g[last] if last >= 0 else 1.0
        self.last_row = int(np.searchsorted(ts, tau, side="right")) - 1  # riskRegression's firsthit
        # G is 0 only after the last row still at risk is censored: no row needs that weight
        with np.errstate(divide="ignore"):
            w = np.where(ts > tau, 1.0 / g_tau, np.where(ss > 0, 1.0 / g_lag[block], 0.0))
        self.w = w
        # the censoring cumulative hazard's influence: MC(s) = sum_{u <= s} N C(u)/Y(u)^2, and
        # f_i = IF_Lambda(min(T_i, T_last)) of row i (riskRegression's "fihattau")
        mc = np.cumsum(n * cens / (at_risk * at_risk))
        f = (ss == 0) * n / at_risk[block] - mc[block]
        if self.last_row >= 0:
            f[self.last_row + 1:] = -mc[block[self.last_row]]
        else:
            f[:] = 0.0
        self.f = f
        self.mc_before = np.concatenate(([0.0], mc[:-1]))[block]  # MC(T_i-)
        self.end_of = (start + size - 1)[block]

    def _later_and_before(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each row i: ``sum_{j in later tie blocks} c_j`` and ``-sum_{j: T_j <= T_i} c_j MC(T_j-)``."""
        cum = np.cumsum(c)
        later = cum[-1] - cum[self.end_of]
        before = -np.cumsum(c * self.mc_before)[self.end_of]
        return later, before

    def brier_censoring_term(self, res: np.ndarray) -> np.ndarray:
        """riskRegression's ``getInfluenceFunctionBrierKMCensoringTerm``."""
        n = self.n
        events = np.where(self.w > 0, res, 0.0)
        events[self.last_row + 1:] = 0.0  # events by tau only; later rows weigh through G(tau)
        later, before = self._later_and_before(events)
        beyond = res[self.last_row + 1:].sum() / n
        out: np.ndarray = (before + self.f * later) / n + beyond * self.f
        return out

    def auc(self, risk: np.ndarray, case: np.ndarray, control: np.ndarray) -> tuple[float, np.ndarray]:
        """AUC and its influence function (``getIC0AUC`` + ``getInfluenceFunctionAUCKMCensoringTerm``)."""
        n, w = self.n, self.w
        wc = np.where(case, w, 0.0)
        wk = np.where(control, w, 0.0)
        mu_case, mu_control = wc.sum(), wk.sum()
        levels, level = np.unique(risk, return_inverse=True)
        case_at = np.bincount(level, weights=wc, minlength=levels.size)
        control_at = np.bincount(level, weights=wk, minlength=levels.size)
        control_below = np.concatenate(([0.0], np.cumsum(control_at)[:-1]))
        case_above = case_at[::-1].cumsum()[::-1] - case_at
        ic_case = control_below[level] + 0.5 * (control_at[level] - wk)  # controls ranked lower (ties 1/2)
        ic_control = case_above[level] + 0.5 * (case_at[level] - wc)  # cases ranked higher (ties 1/2)
        auc = float((wc * ic_case).sum() / (mu_case * mu_control))
        mu = mu_case * mu_control / (n * n)
        nu = auc * mu
        num0 = (wc * ic_case + wk * ic_control) / n
        den0 = (wc * mu_control + wk * mu_case) / n
        ic0 = (num0 * mu - den0 * nu) / (mu * mu)
        # the weights' part: cases and competing controls by tau weigh 1/G(T_j-), the rest 1/G(tau)
        early = np.zeros(n, dtype=bool)
        early[: self.last_row + 1] = True
        c2 = control & early
        later2n, before2n = self._later_and_before(wc * ic_case)
        later2d, before2d = self._later_and_before(wc)
        later3n, before3n = self._later_and_before(np.where(c2, wk * ic_control, 0.0))
        later3d, before3d = self._later_and_before(np.where(c2, wk, 0.0))
        beyond_num = (wk * ic_control)[~early].sum()
        beyond_den = w[~early].sum()
        f = self.f
        num = (before2n + f * later2n) + (before3n + f * later3n + f * beyond_num)
        den = (before2d + f * later2d) * mu_control + (before3d + f * later3d + f * beyond_den) * mu_case
        icpart = (num * mu - den * nu) / (n * n) / (mu * mu)
        return auc, ic0 + icpart

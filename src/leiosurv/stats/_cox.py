"""Cause-specific Cox regression, exact to ``survival::coxph``.

For cause k, the rows with another cause are censored at their event time and
the hazard ``λ_k(t | x) = λ_k0(t) exp(x'β_k)`` is fitted by the partial
likelihood.  At a time with ``d`` events (rows ``D``) and risk set ``R``
(rows with time ≥ t):

* Breslow: ``Σ_{i∈D} x_i'β − d log S0``, ``S0 = Σ_{j∈R} exp(x_j'β)``;
* Efron: ``Σ_{i∈D} x_i'β − Σ_{r=0}^{d−1} log(S0 − (r/d) Σ_{i∈D} exp(x_i'β))``.

Sums over risk sets are backward cumulative sums over the rows sorted by
time (O(n) per iteration); the information is ``X' diag(c) X`` minus the
outer products of the weighted means, ``c_j`` again a cumulative sum.  The
Newton–Raphson loop is coxph's (``coxfit6.c``): start at 0, step halving when
the log-likelihood decreases, stop when ``|1 − ℓ_old/ℓ_new| ≤ 1e-9``; the
variance is the inverse information at the estimate.  The baseline hazard
jumps are Breslow's ``d/S0`` or, with Efron ties, ``Σ_r 1/(S0 − (r/d)D0)``
(``survival::basehaz``), for the uncentred covariates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from leiosurv.exceptions import DataError
from leiosurv.stats._fine_gray import _check_information
from leiosurv.stats._provenance import data_kind, provenance
from leiosurv.stats._regression_data import check_design, read_regression_data

__all__ = ["cause_specific_cox", "CoxData", "cox_fit"]


@dataclass(frozen=True)
class CoxData:
    """Sorted rows of one cause's model; ``start`` is the first row of each distinct event time.

    With case weights ``w`` every risk-set sum is weighted (``S0 = sum w exp(x'b)``) and each of the
    ``d`` terms of a tied event time carries the mean weight of its events (coxph's ``wtave``); with
    delayed entry a row is in the risk sets of the event times in ``(entry, time]``: the rows that
    enter at or after ``t_k`` are subtracted from the backward sums (sorted by entry once).
    """

    x: np.ndarray  # centred
    center: np.ndarray
    event: np.ndarray
    tk: np.ndarray
    start: np.ndarray
    d: np.ndarray
    k_of_death: np.ndarray  # per event row (in time order): its event time's index
    frac: np.ndarray  # per event row: r/d for Efron (its rank among the d tied events), 0 for Breslow
    idx: np.ndarray  # per row: number of event times <= its time
    w: np.ndarray  # per row: case weight (ones without weights)
    wtave: np.ndarray  # per event row: the mean weight of the events at its time
    entry_order: np.ndarray | None  # rows by entry time (None without entry)
    entry_pos: np.ndarray | None  # per event time: first row (by entry) with entry >= t_k
    entry_idx: np.ndarray | None  # per row: number of event times <= its entry

    @classmethod
    def build(cls, t: np.ndarray, event: np.ndarray, x: np.ndarray, ties: str, w: np.ndarray | None = None,
              entry: np.ndarray | None = None) -> CoxData:
        ut, first, inverse = np.unique(t, return_index=True, return_inverse=True)
        d_all = np.bincount(inverse, weights=event, minlength=ut.size).astype(np.int64)
        fk = np.flatnonzero(d_all)
        d = d_all[fk]
        k_of = np.repeat(np.arange(fk.size), d)
        if ties == "efron":
            offsets = np.concatenate(([0], np.cumsum(d)[:-1]))
            frac = (np.arange(k_of.size) - offsets[k_of]) / d[k_of]
        else:
            frac = np.zeros(k_of.size)
        center = x.mean(axis=0)
        tk = ut[fk]
        ww = np.ones(t.size) if w is None else np.asarray(w, dtype=np.float64)
        wd = np.bincount(inverse, weights=event * ww, minlength=ut.size)[fk]
        wtave = (wd / d)[k_of]
        eorder = epos = eidx = None
        if entry is not None:
            eorder = np.argsort(entry, kind="stable")
            epos = np.searchsorted(entry[eorder], tk, side="left")
            eidx = np.searchsorted(tk, entry, side="right")
        return cls(x - center, center, event, tk, first[fk], d.astype(np.float64), k_of, frac,
                   np.searchsorted(tk, t, side="right"), ww, wtave, eorder, epos, eidx)

    def _risk_sums(self, e: np.ndarray, ex: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``S0``, ``S1`` over each event time's risk set (rows with entry < t_k <= time)."""
        r0 = np.cumsum(e[::-1])[::-1][self.start]
        r1 = np.cumsum(ex[::-1], axis=0)[::-1][self.start]
        if self.entry_order is not None and self.entry_pos is not None:
            eo = self.entry_order
            late0 = np.concatenate((np.cumsum(e[eo][::-1])[::-1], [0.0]))
            late1 = np.concatenate((np.cumsum(ex[eo][::-1], axis=0)[::-1], np.zeros((1, ex.shape[1]))))
            r0 = r0 - late0[self.entry_pos]
            r1 = r1 - late1[self.entry_pos]
        return r0, r1

    def derivatives(self, b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Log partial likelihood, score and information at ``b`` (NaN/inf far out: the caller halves)."""
        with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
            return self._derivatives(b)

    def _event_terms(self, b: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray,
                                                    np.ndarray]:
        """At ``b``: ``eta = x'b``, its maximum (``shift``), ``e = w exp(eta - shift)``, the event rows, and
        per event term ``r`` (one per event, ``r = 0..d-1`` at each time) ``S0_r = R0 - f_r D0`` and
        ``xbar_r = (R1 - f_r D1) / S0_r`` (risk sums ``R``, sums over the time's events ``D``)."""
        eta = self.x @ b
        shift = float(eta.max())
        e = self.w * np.exp(eta - shift)
        ex = e[:, None] * self.x
        r0, r1 = self._risk_sums(e, ex)
        rows = np.flatnonzero(self.event)
        k, f = self.k_of_death, self.frac
        d0 = np.bincount(k, weights=e[rows], minlength=self.tk.size)
        d1 = np.zeros_like(r1)
        np.add.at(d1, k, ex[rows])
        s0r = r0[k] - f * d0[k]
        xbar = (r1[k] - f[:, None] * d1[k]) / s0r[:, None]
        return eta, shift, e, rows, s0r, xbar

    def _derivatives(self, b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        eta, shift, e, rows, s0r, xbar = self._event_terms(b)
        k, f, a = self.k_of_death, self.frac, self.wtave
        wr = self.w[rows]
        loglik = float(wr @ eta[rows] - a @ (np.log(s0r) + shift))
        score = wr @ self.x[rows] - a @ xbar
        inv = np.concatenate(([0.0], np.cumsum(np.bincount(k, weights=a / s0r, minlength=self.tk.size))))
        c = e * (inv[self.idx] if self.entry_idx is None else inv[self.idx] - inv[self.entry_idx])
        info = self.x.T @ (c[:, None] * self.x) - xbar.T @ (a[:, None] * xbar)
        if np.any(f):
            g = np.bincount(k, weights=a * f / s0r, minlength=self.tk.size)
            cd = e[rows] * g[k]
            xd = self.x[rows]
            info -= xd.T @ (cd[:, None] * xd)
        return loglik, score, (info + info.T) / 2

    def score_residuals(self, b: np.ndarray) -> np.ndarray:
        """Each row's score residual at ``b`` (n, p), as survival's ``coxscore2.c``.

        For the ``d`` terms ``r`` of an event time (Efron: ``f_r = r/d``; Breslow: 0) with hazard
        ``h_r = wbar/(S0 - f_r D0)`` and mean ``xbar_r``: a row at risk loses ``e (x - xbar_r) h_r``
        for each term (an event row of that time ``(1 - f_r)`` of it), and an event row gains
        ``(x - xbar_r)/d`` for each.  ``e = exp(x'b)`` is unweighted (the weight enters the
        variance).  The sums over the event times a row is at risk for are cumulative sums.
        """
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            eta, shift, _, rows, s0r, xbar = self._event_terms(b)
            k, f, a = self.k_of_death, self.frac, self.wtave
            m, p = self.tk.size, self.x.shape[1]
            h = a / s0r * np.exp(-shift)  # hazard per term, for the unshifted exp(x'b)
            risk = np.exp(eta)
            hk = np.concatenate(([0.0], np.cumsum(np.bincount(k, weights=h, minlength=m))))
            gk = np.zeros((m + 1, p))
            np.add.at(gk[1:], k, h[:, None] * xbar)
            gk = np.cumsum(gk, axis=0)
            lo = 0 if self.entry_idx is None else self.entry_idx
            hh = hk[self.idx] - (hk[lo] if self.entry_idx is not None else 0.0)
            gg = gk[self.idx] - (gk[lo] if self.entry_idx is not None else 0.0)
            resid: np.ndarray = -risk[:, None] * (self.x * hh[:, None] - gg)
            # the event rows: their own terms, and (1 - f_r) instead of 1 of each term's hazard
            mean_xbar = np.zeros((m, p))
            np.add.at(mean_xbar, k, xbar)
            mean_xbar /= self.d[:, None]
            fh = np.bincount(k, weights=f * h, minlength=m)
            fhx = np.zeros((m, p))
            np.add.at(fhx, k, (f * h)[:, None] * xbar)
            xd = self.x[rows]
            resid[rows] += xd - mean_xbar[k] + risk[rows][:, None] * (xd * fh[k][:, None] - fhx[k])
        return resid

    def baseline(self, b: np.ndarray) -> np.ndarray:
        """Jumps of the baseline cumulative hazard at ``tk`` (uncentred covariates)."""
        eta = self.x @ b
        shift = float(eta.max())
        e = self.w * np.exp(eta - shift)
        r0, _ = self._risk_sums(e, np.zeros((e.size, 1)))
        rows = np.flatnonzero(self.event)
        d0 = np.bincount(self.k_of_death, weights=e[rows], minlength=self.tk.size)
        s0r = r0[self.k_of_death] - self.frac * d0[self.k_of_death]
        jumps = np.bincount(self.k_of_death, weights=self.wtave / s0r, minlength=self.tk.size)
        return jumps * np.exp(-(shift + float(self.center @ b)))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class CoxFit:
    coef: np.ndarray
    var: np.ndarray
    loglik: float
    loglik_null: float
    score_test: float
    iterations: int
    converged: bool
    jumps: np.ndarray
    score: np.ndarray


def cox_fit(cd: CoxData, *, eps: float = 1e-9, maxiter: int = 20) -> CoxFit:
    """coxph's Newton–Raphson (``coxfit6.c``) on prepared data."""
    p = cd.x.shape[1]
    beta = np.zeros(p)
    loglik, u, imat = cd.derivatives(beta)
    loglik_null = loglik
    a = np.linalg.solve(imat, u)
    score_test = float(u @ a)
    newbeta = beta + a
    halving = False
    converged = False
    it = 0
    for it in range(1, maxiter + 1):
        newlk, u, imat = cd.derivatives(newbeta)
        if np.isfinite(newlk) and abs(1 - loglik / newlk) <= eps and not halving:
            loglik, beta, converged = newlk, newbeta, True
            break
        if it == maxiter:
            break
        if not np.isfinite(newlk) or newlk < loglik:
            halving = True
            newbeta = (newbeta + beta) / 2
        else:
            halving = False
            loglik = newlk
            beta = newbeta
            newbeta = newbeta + np.linalg.solve(imat, u)
    finite = np.isfinite(loglik) and np.all(np.isfinite(imat)) and np.all(np.isfinite(newbeta))
    try:
        var = np.linalg.inv(imat) if finite else np.full((p, p), np.nan)
    except np.linalg.LinAlgError:
        var, finite = np.full((p, p), np.nan), False
    converged = converged and bool(finite)
    return CoxFit(newbeta if converged else beta, var, loglik, loglik_null, score_test, it, converged,
                  cd.baseline(beta) if converged else np.full(cd.tk.size, np.nan), u)


def cause_specific_cox(
    data: Any,
    time: str = "time",
    event: str = "event",
    covariates: Sequence[str] = (),
    causes: Sequence[int] | None = None,
    *,
    ties: Literal["breslow", "efron"] = "efron",
    event_map: Mapping[Any, int] | None = None,
    level: float = 0.95,
    maxiter: int = 20,
    entry: str | None = None,
    weights: str | None = None,
    robust: bool | None = None,
) -> Any:
    """Cause-specific Cox models, one per cause, as ``survival::coxph``; absolute risk by ``predict``.

    Parameters
    ----------
    data, time, event : as :func:`~leiosurv.stats.fine_gray`
    covariates : sequence of str
        Numeric covariate columns (at least one).
    causes : sequence of int, optional
        The causes to model (default: every cause present).  ``predict``
        combines all modelled causes, so for absolute risks model them all.
    ties : {"efron", "breslow"}, default "efron"
        coxph's ``ties`` (its default is Efron).
    level : float, default 0.95
        Level of the Wald intervals.
    maxiter : int, default 20
        coxph's ``iter.max``.
    entry : str, optional
        Column of delayed-entry times (left truncation): a row is in the risk
        sets of the event times in ``(entry, time]``, as coxph's counting-process
        ``Surv(entry, time, status == k)``.  Each entry finite, ``>= 0`` and
        ``< time``.
    weights : str, optional
        Column of case weights (finite, ``> 0``), as coxph's ``weights =``:
        weighted risk sets and events; Efron's ``d`` terms of a tied time each
        carry the mean weight of its events.
    robust : bool, optional
        The robust (sandwich) variance, coxph's ``robust = TRUE``:
        ``V (sum_i w_i^2 L_i L_i') V`` with ``L_i`` the score residuals
        (``coxscore2.c``) and ``V`` the inverse information, which is
        ``crossprod(residuals(fit, "dfbeta", weighted = TRUE))``.  By default
        it is coxph's own choice: robust when some weight is not a whole number
        (its ``has.rwt``), else the model-based inverse information.  coxph then
        keeps the model-based one as ``naive.var``.

    Returns
    -------
    CauseSpecificCox
        Coefficient tables (coxph's model-based SE), baseline hazards, and
        ``predict(newdata, times, cause)``: absolute risks as
        ``riskRegression::predictRisk`` of a ``CSC`` fit.

    Raises
    ------
    DataError
        As :func:`~leiosurv.stats.fine_gray`: bad data, no events of a cause,
        constant or collinear covariates, a covariate constant within every
        risk set, an infinite coefficient, no convergence.

    Notes
    -----
    R equivalent: ``survival::coxph(Surv(time, status == k) ~ x1 + ..., ties = ties)``
    for each cause k (``Surv(entry, time, status == k)`` and ``weights = w`` with
    ``entry``/``weights``); ``riskRegression::CSC(Hist(time, status) ~ ..., ties = ties)``
    and ``predictRisk`` for absolute risks.  Coefficients and SEs agree with
    coxph to 1e-6 (tests/stats/test_cox.py).

    Examples
    --------
    >>> from leiosurv.stats import cause_specific_cox
    >>> data = {"time": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "event": [1, 2, 1, 0, 1, 1, 2, 2, 1, 0],
    ...         "x": [1, 0, 1, 0, 1, 0, 1, 0, 0, 1]}
    >>> fit = cause_specific_cox(data, covariates=["x"])
    >>> sorted(fit.models), round(float(fit.models[1].coef["x"]), 6)  # coxph(Surv(time, event == 1) ~ x)
    ([1, 2], 0.488702)
    """
    from leiosurv.stats._regression_results import CauseSpecificCox, CoxModel, coefficient_table

    if ties not in ("efron", "breslow"):
        raise DataError(f"ties must be 'efron' or 'breslow', but was {ties!r}", column=None)
    if not 0 < level < 1:
        raise DataError(f"level must be in (0, 1), but was {level!r}", column=None)
    if int(maxiter) < 1:
        raise DataError(f"maxiter must be >= 1, but was {maxiter!r}", column=None)
    rd = read_regression_data(data, time, event, covariates, event_map=event_map, entry=entry, weights=weights)
    if not rd.covariates:
        raise DataError("covariates: give at least one covariate column", column=None)
    check_design(rd.x, rd.covariates)
    if robust is not None and not isinstance(robust, bool):
        raise DataError(f"robust must be True, False or None, but was {robust!r}", column=None)
    use_robust = robust if robust is not None else bool(
        rd.weights is not None and not np.array_equal(rd.weights, np.trunc(rd.weights)))
    if causes is None:
        wanted = rd.causes
    else:
        wanted = tuple(c for c in ([causes] if isinstance(causes, int) else causes))
        if not wanted or not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) and c > 0
                                 for c in wanted):
            raise DataError(f"causes must be positive event codes (ints), got {causes!r}", column=event)
        wanted = tuple(int(c) for c in wanted)
    models: dict[int, Any] = {}
    for k in wanted:
        ev = rd.status == k
        n_ev = int(np.count_nonzero(ev))
        if n_ev == 0:
            raise DataError(f"column {event!r}: no row has an event of cause {k} (causes present: "
                            f"{list(rd.causes)}); there is nothing to model", column=event)
        cd = CoxData.build(rd.time, ev, rd.x, ties, rd.weights, rd.entry)
        _, _, info0 = cd.derivatives(np.zeros(len(rd.covariates)))
        _check_information(info0, rd.covariates, f"the cause-{k} event times", n_ev * rd.x.var(axis=0))
        fit = cox_fit(cd, maxiter=maxiter)
        if not fit.converged:
            raise DataError(f"the Cox model for cause {k} did not converge in {maxiter} iterations (coxph's "
                            "iter.max); a covariate may separate the events: drop or regroup it", column=None)
        # coxph's check for an infinite coefficient (coxph.fit: Loglik converged before variable ...)
        infs = np.abs(fit.score @ fit.var)
        bad = [c for c, v, b in zip(rd.covariates, infs, fit.coef) if v > 1e-9 and v > np.sqrt(1e-9) * abs(b)]
        if bad:
            raise DataError(f"the Cox model for cause {k}: the coefficient of {bad[0]!r} may be infinite (the "
                            "likelihood keeps rising: the covariate separates the events); drop or regroup it",
                            column=bad[0])
        var = fit.var
        if use_robust:
            scores = cd.score_residuals(fit.coef) * cd.w[:, None]
            dfbeta = scores @ fit.var
            var = dfbeta.T @ dfbeta
        table = coefficient_table(rd.covariates, fit.coef, np.sqrt(np.diag(var)), level)
        models[k] = CoxModel(k, table, var, cd.tk, fit.jumps, fit.loglik, fit.loglik_null, fit.score_test,
                             fit.iterations, int(rd.time.size), n_ev)
    args = {"data": data_kind(data), "time": time, "event": event, "covariates": list(rd.covariates),
            "causes": list(wanted), "ties": ties, "level": level, "maxiter": int(maxiter),
            **{k: v for k, v in (("entry", entry), ("weights", weights)) if v is not None}, "robust": use_robust}
    prov = provenance("cause_specific_cox", args)
    prov["n"] = int(rd.time.size)
    surv = "Surv(time, status == k)" if entry is None else f"Surv({entry}, time, status == k)"
    wts = ("" if weights is None else f", weights = {weights}") + (", robust = TRUE" if use_robust else "")
    prov["r_equivalent"] = f"survival::coxph({surv} ~ covariates, ties = ties{wts})"
    return CauseSpecificCox(models, rd.covariates, ties, level, prov)

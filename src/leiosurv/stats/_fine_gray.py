"""Fine–Gray subdistribution hazard regression, exact to ``cmprsk::crr``.

The model (Fine & Gray 1999, JASA 94:496–509): the subdistribution hazard of
cause 1 is ``λ₁(t | x) = λ₁₀(t) exp(x'β)``.  ``β`` maximises the log
pseudo-likelihood

    ℓ(β) = Σ_k [ Σ_{i fails of cause 1 at t_k} x_i'β − d_k log S0(t_k) ],
    S0(t) = Σ_j w_j(t) exp(x_j'β),

over the distinct cause-1 failure times ``t_k`` (``d_k`` failures at each:
Breslow-type ties, as crr), with the censoring-weighted risk set

    w_j(t) = 1                       if T_j ≥ t (still event-free, or censored/failing at t),
    w_j(t) = G(t−) / G(T_j−)         if T_j < t and j failed of another cause,
    w_j(t) = 0                       otherwise (censored before t),

``G`` the Kaplan–Meier estimate of the censoring distribution read just
before each time (crr's ``uuu``).

Everything below is O(n) per Newton iteration: the rows are sorted once, and
``S0``, ``S1`` at every failure time are a backward cumulative sum (the rows
still at risk) plus ``G(t−)`` times a forward cumulative sum of
``exp(x'β) / G(T_j−)`` over the competing failures before ``t`` (the
forward–backward scan of Kawaguchi et al. 2020, fastcmprsk).  The information
matrix ``Σ_k d_k (S2/S0 − x̄x̄')`` is one weighted cross-product ``X' diag(c) X``
with ``c_j`` the sum of ``d_k w_j(t_k) e_j / S0(t_k)`` over the failure times,
again two cumulative sums.  crr's sandwich variance (Fortran ``crrvv``, O(n²)
and more there) is rebuilt term by term with cumulative sums; see
:func:`_sandwich`.

The Newton–Raphson loop is crr's own: start at 0, stop when
``max |score| · max(|β|, 1) < max(|ℓ|, 1) · gtol``, Armijo backtracking by
halves (at most 20), ``maxiter`` iterations; so coefficients agree with crr to
rounding.  Covariates are centred internally (the likelihood, its derivatives
and the variance do not change; ``exp`` cannot overflow); the baseline is
reported for the uncentred covariates, as crr's ``bfitj``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from leiosurv.exceptions import DataError, InputError
from leiosurv.stats._provenance import data_kind, provenance
from leiosurv.stats._regression_data import RegressionData, check_design, read_regression_data

__all__ = ["fine_gray", "FineGrayData", "crr_fit"]


@dataclass(frozen=True)
class FineGrayData:
    """What crr's Fortran receives, prepared once: sorted rows and the censoring KM.

    ``xt`` holds the centred covariates as rows (shape ``(p, n)``, each
    covariate contiguous); ``gm`` is G(T_j−) per row; ``start`` the first row
    of each distinct cause-1 failure time, ``d`` the failures there, ``g``
    G(t_k−); ``idx`` per row the number of failure times ≤ its time.
    """

    t: np.ndarray
    xt: np.ndarray
    center: np.ndarray
    fail: np.ndarray
    comp: np.ndarray
    cens: np.ndarray
    gm: np.ndarray
    tk: np.ndarray
    start: np.ndarray
    d: np.ndarray
    g: np.ndarray
    idx: np.ndarray
    inverse: np.ndarray  # per row: its distinct time
    first: np.ndarray  # first row of each distinct time
    n_cens: np.ndarray  # censorings at each distinct time

    @classmethod
    def build(cls, t: np.ndarray, status: np.ndarray, x: np.ndarray, cause: int) -> FineGrayData:
        n = t.size
        fail = status == cause
        cens = status == 0
        comp = ~fail & ~cens
        ut, first, inverse = np.unique(t, return_index=True, return_inverse=True)
        n_cens = np.bincount(inverse, weights=cens, minlength=ut.size)
        at_risk = n - first
        g_after = np.cumprod(1.0 - n_cens / at_risk)
        g_minus = np.concatenate(([1.0], g_after[:-1]))
        gm = g_minus[inverse]
        if ut[0] == 0.0:
            # crr reads G at time * (1 - 100 eps) with approx(method = "constant"); at time 0 that is
            # G(0) itself (censorings at 0 included), not G(0-)
            gm = np.where(t == 0.0, g_after[0], gm)
        d_all = np.bincount(inverse, weights=fail, minlength=ut.size)
        fk = np.flatnonzero(d_all)
        tk = ut[fk]
        center = x.mean(axis=0) if x.shape[0] else np.zeros(x.shape[1])
        xt = np.ascontiguousarray((x - center).T)
        return cls(t, xt, center, fail, comp, cens, gm, tk, first[fk], d_all[fk], g_minus[fk],
                   np.searchsorted(tk, t, side="right"), inverse, first, n_cens)

    @property
    def p(self) -> int:
        return int(self.xt.shape[0])

    # -- sums over the weighted risk sets ------------------------------------------
    def _exp(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """exp(x'β − shift) per row, the same over G(T−) for competing rows (else 0), and the shift."""
        eta = b @ self.xt
        shift = float(eta.max()) if eta.size else 0.0
        e = np.exp(eta - shift)
        return e, np.where(self.comp, e / self.gm, 0.0), shift

    def _risk_sums(self, e: np.ndarray, ew: np.ndarray, moments: bool) -> tuple[np.ndarray, np.ndarray]:
        """S0 (K,) and, with ``moments``, S1 (p, K) at the failure times; else S1 is empty.

        One pass over the rows: ``np.add.reduceat`` sums each block of rows
        between consecutive failure times (the block before the first too);
        a backward cumulative sum over the blocks gives the rows still at risk
        (time ≥ t_k), a forward one the competing failures before t_k.
        """
        p = self.p if moments else 0
        m = np.empty((2 * p + 2, e.size + 1))
        m[:, 0] = 0.0  # a leading zero column: the block before the first failure time is never empty
        m[0, 1:] = e
        m[1 + p, 1:] = ew
        if moments:
            np.multiply(self.xt, e, out=m[1:1 + p, 1:])
            np.multiply(self.xt, ew, out=m[2 + p:, 1:])
        bounds = np.concatenate(([0], self.start + 1))
        blocks = np.add.reduceat(m, bounds, axis=1)  # column 0: rows before start[0]; k + 1: block k
        back = np.cumsum(blocks[:1 + p, :0:-1], axis=1)[:, ::-1]  # sum of blocks k..K-1
        fwd = np.cumsum(blocks[1 + p:, :-1], axis=1)  # rows before start[k]
        sums = back + self.g * fwd
        return sums[0], sums[1:]

    def neg_loglik(self, b: np.ndarray) -> float:
        """crr's objective (``crrf``): minus the log pseudo-likelihood (NaN far out)."""
        with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
            e, ew, shift = self._exp(b)
            s0, _ = self._risk_sums(e, ew, moments=False)
            if not np.all(s0 > 0):
                return float("nan")
            return float(-(b @ self.xt[:, self.fail]).sum() + np.dot(self.d, np.log(s0) + shift))

    def derivatives(self, b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """crr's ``crrfsv``: minus the log pseudo-likelihood, its gradient and Hessian (NaN far out)."""
        with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
            return self._derivatives(b)

    def _derivatives(self, b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        e, ew, shift = self._exp(b)
        s0, s1 = self._risk_sums(e, ew, moments=True)
        xbar = s1 / s0  # (p, K)
        xf = self.xt[:, self.fail]
        lik = float(-(b @ xf).sum() + np.dot(self.d, np.log(s0) + shift))
        score = -xf.sum(axis=1) + xbar @ self.d
        c = e * self._a0(s0)[self.idx] + ew * self._b0(s0)[self.idx]
        info = (self.xt * c) @ self.xt.T - (xbar * self.d) @ xbar.T
        return lik, score, (info + info.T) / 2

    def _a0(self, s0: np.ndarray) -> np.ndarray:
        """Σ_{t_k ≤ t} d_k / S0_k, indexed by the number of failure times ≤ t."""
        return np.concatenate(([0.0], np.cumsum(self.d / s0)))

    def _b0(self, s0: np.ndarray) -> np.ndarray:
        """Σ_{t_k > t} d_k G_k / S0_k, indexed by the number of failure times ≤ t."""
        return np.concatenate((np.cumsum((self.d * self.g / s0)[::-1])[::-1], [0.0]))

    def baseline(self, b: np.ndarray) -> np.ndarray:
        """crr's ``bfitj``: jumps d_k / S0(t_k) of the baseline (uncentred covariates)."""
        e, ew, shift = self._exp(b)
        s0, _ = self._risk_sums(e, ew, moments=False)
        return self.d / s0 * np.exp(-(shift + float(self.center @ b)))  # type: ignore[no-any-return]

    def sandwich(self, b: np.ndarray) -> np.ndarray:
        """crr's ``crrvv`` middle term: Σ_i (η_i + ψ_i)(η_i + ψ_i)'.

        η_i (score process)::

            η_i = I(i fails) (x_i − x̄(T_i))
                  − e_i Σ_{t_k ≤ T_i} d_k (x_i − x̄_k) / S0_k
                  − I(i competing) e_i / G(T_i−) Σ_{t_k > T_i} d_k G_k (x_i − x̄_k) / S0_k

        ψ_i (estimation of G): at each time u with censorings,
        q(u) = Σ_{t_k ≥ u} d_k G_k / S0_k Σ_{competing j, T_j < u} e_j / G(T_j−) (x_j − x̄_k)
        and Y(u) the number at risk; ψ_i = −Σ_{u ≤ T_i} c(u) q(u) / Y(u)² + I(i censored) q(T_i) / Y(T_i).
        Each sum is a cumulative sum over failure times or rows.
        """
        e, ew, _ = self._exp(b)
        s0, s1 = self._risk_sums(e, ew, moments=True)
        xbar = s1 / s0  # (p, K)
        p = self.p
        zero = np.zeros((p, 1))
        a0 = self._a0(s0)
        a1 = np.hstack((zero, np.cumsum(xbar * (self.d / s0), axis=1)))
        dgs = self.d * self.g / s0
        b0 = self._b0(s0)
        b1 = np.hstack((np.cumsum((xbar * dgs)[:, ::-1], axis=1)[:, ::-1], zero))
        idx = self.idx
        u = -(e * (self.xt * a0[idx] - a1[:, idx]))
        u -= ew * (self.xt * b0[idx] - b1[:, idx])
        rows = np.flatnonzero(self.fail)
        u[:, rows] += self.xt[:, rows] - xbar[:, idx[rows] - 1]
        m = np.flatnonzero(self.n_cens)  # the distinct times with censorings
        if m.size:  # with no censoring, psi is 0
            u_first = self.first[m]
            w = np.empty((p + 1, e.size + 1))
            w[:, 0] = 0.0
            w[0, 1:] = ew
            np.multiply(self.xt, ew, out=w[1:, 1:])
            before = np.cumsum(np.add.reduceat(w, np.concatenate(([0], u_first + 1)), axis=1)[:, :-1], axis=1)
            c0, c1 = before[0], before[1:]  # competing rows before each censoring time
            j = np.searchsorted(self.tk, self.t[u_first], side="left")  # failure times >= u
            q = c1 * b0[j] - c0 * b1[:, j]
            y = (self.t.size - u_first).astype(np.float64)
            ss2 = -np.cumsum(q * (self.n_cens[m] / (y * y)), axis=1)
            pos = np.searchsorted(m, self.inverse, side="right") - 1  # last censoring time <= T_i
            has = pos >= 0
            u[:, has] += ss2[:, pos[has]]
            cr = np.flatnonzero(self.cens)
            u[:, cr] += q[:, pos[cr]] / y[pos[cr]]
        return u @ u.T  # type: ignore[no-any-return]


@dataclass(frozen=True)
class CrrFit:
    """The numbers of a crr fit (before they become a :class:`~leiosurv.stats.FineGray`)."""

    coef: np.ndarray
    loglik: float
    loglik_null: float
    score: np.ndarray
    information: np.ndarray
    var: np.ndarray | None
    jumps: np.ndarray
    converged: bool
    iterations: int


def crr_fit(fg: FineGrayData, *, gtol: float = 1e-6, maxiter: int = 10, init: np.ndarray | None = None,
            variance: bool = True) -> CrrFit:
    """crr's Newton–Raphson loop and variance on prepared data (see the module docstring)."""
    p = fg.p
    b = np.zeros(p) if init is None else np.asarray(init, dtype=np.float64).copy()
    converged = False
    iterations = 0
    lik, score, info = fg.derivatives(b)
    for ll in range(maxiter + 1):
        if ll > 0:
            lik, score, info = fg.derivatives(b)
        if np.max(np.abs(score) * np.maximum(np.abs(b), 1.0), initial=0.0) < max(abs(lik), 1.0) * gtol:
            converged = True
            break
        if ll == maxiter:
            break
        try:
            sc = -np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            break
        bn = b + sc
        fbn = fg.neg_loglik(bn)
        i = 0
        slope = float(sc @ score)
        while not np.isfinite(fbn) or fbn > lik + 1e-4 * slope:
            i += 1
            sc = sc * 0.5
            bn = b + sc
            fbn = fg.neg_loglik(bn)
            if i > 20:
                break
        if i > 20:
            break
        b = bn
        iterations = ll + 1
    var = None
    finite = bool(np.isfinite(lik) and np.all(np.isfinite(info)) and np.all(np.isfinite(score)))
    converged = converged and finite
    if variance and p and converged:
        try:
            h_inv = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            converged = False
        else:
            var = h_inv @ fg.sandwich(b) @ h_inv.T
    with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):  # NaN if not converged
        jumps = fg.baseline(b)
    return CrrFit(b, -lik, -fg.neg_loglik(np.zeros(p)), -score, info, var, jumps, converged, iterations)


def fine_gray(
    data: Any,
    time: str = "time",
    event: str = "event",
    covariates: Sequence[str] = (),
    cause: int = 1,
    *,
    causes: Sequence[int] | None = None,
    event_map: Mapping[Any, int] | None = None,
    level: float = 0.95,
    gtol: float = 1e-6,
    maxiter: int = 10,
    variance: bool = True,
    entry: str | None = None,
    weights: str | None = None,
) -> Any:
    """Fine–Gray subdistribution hazard regression, as ``cmprsk::crr``.

    Parameters
    ----------
    data : DataFrame, Table, relation, mapping or path
        One row per subject, any input :func:`~leiosurv.stats.count_events`
        takes except :class:`~leiosurv.stats.EventCounts` (a regression needs
        the rows).
    time, event : str
        Follow-up time and event code (0 = censored, 1..K = cause; other
        codings through ``event_map``, as ``count_events``).
    covariates : sequence of str
        Numeric covariate columns (code categories as 0/1 columns).  Empty:
        the null model (the baseline alone).
    cause : int, default 1
        The cause of interest (crr's ``failcode``); every other cause is a
        competing event, 0 is censoring (crr's ``cencode = 0``).
    level : float, default 0.95
        Level of the Wald intervals.
    gtol, maxiter : float, int
        crr's convergence tolerance and iteration limit (same defaults).
    variance : bool, default True
        Compute the sandwich variance (crr's ``variance``); without it the
        SEs, z, p-values and intervals are NaN.
    entry, weights : None
        Refused with one line: ``cmprsk::crr`` has neither delayed entry nor
        case weights, and this reproduces crr.

    Returns
    -------
    FineGray
        Coefficients with crr's sandwich SEs, Wald intervals and p-values, the
        baseline cumulative subdistribution hazard, and ``predict``.

    Raises
    ------
    DataError
        Bad data (as ``count_events``; missing or non-numeric covariates), no
        event of ``cause``, a constant or collinear covariate, a covariate
        constant within every risk set, or no convergence in ``maxiter``
        iterations.  One line naming the column or the problem.

    Notes
    -----
    R equivalent: ``cmprsk::crr(time, status, cov1 = X, failcode = cause,
    cencode = 0)`` and ``predict.crr``; coefficients, SEs and predictions agree
    to 1e-6 (tests/stats/test_fine_gray.py).  Ties: Breslow-type, the censoring
    KM read at t−, events before censorings at tied times (as crr).

    Examples
    --------
    >>> from leiosurv.stats import fine_gray
    >>> data = {"time": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "event": [1, 2, 1, 0, 1, 1, 0, 2, 1, 0],
    ...         "x": [1, 0, 1, 0, 1, 0, 1, 0, 0, 1]}
    >>> fit = fine_gray(data, covariates=["x"])
    >>> fit.table[["coef", "se"]].round(6).to_numpy().tolist()  # crr(time, event, x): 0.836745, 0.792459
    [[0.836745, 0.792459]]
    """
    from leiosurv.stats._regression_results import FineGray

    if entry is not None or weights is not None:
        option = "entry" if entry is not None else "weights"
        raise InputError(
            f"fine_gray takes no {option}=: cmprsk::crr, which it reproduces, has no delayed entry or case "
            "weights; cause_specific_cox takes both (as survival::coxph)"
        )
    if not isinstance(cause, (int, np.integer)) or isinstance(cause, bool) or cause <= 0:
        raise DataError(f"cause must be a positive event code (int), got {cause!r}", column=event)
    if not 0 < level < 1:
        raise DataError(f"level must be in (0, 1), but was {level!r}", column=None)
    if int(maxiter) < 0:
        raise DataError(f"maxiter must be >= 0, but was {maxiter!r}", column=None)
    rd = read_regression_data(data, time, event, covariates, causes=causes, event_map=event_map)
    fg = _prepare(rd, int(cause))
    fit = crr_fit(fg, gtol=gtol, maxiter=int(maxiter), variance=bool(variance))
    if not fit.converged and rd.covariates:
        big = ", ".join(f"{c}={v:.3g}" for c, v in zip(rd.covariates, fit.coef))
        raise DataError(
            f"the Fine-Gray model did not converge in {maxiter} Newton iterations (cmprsk::crr's limit; "
            f"coefficients reached {big}): a covariate may separate the cause-{cause} events "
            "(an infinite coefficient); drop or regroup it, or raise maxiter=",
            column=None,
        )
    args = {"data": data_kind(data), "time": time, "event": event, "covariates": list(rd.covariates),
            "cause": int(cause), "level": level, "gtol": gtol, "maxiter": int(maxiter), "variance": bool(variance)}
    prov = provenance("fine_gray", args)
    prov["n"] = int(rd.time.size)
    prov["r_equivalent"] = "cmprsk::crr(ftime, fstatus, cov1, failcode = cause, cencode = 0)"
    return FineGray.from_fit(fit, rd, fg, int(cause), level, prov)


def _prepare(rd: RegressionData, cause: int) -> FineGrayData:
    """Check the design and the events of ``cause``; build crr's sorted data."""
    n_fail = int(np.count_nonzero(rd.status == cause))
    if n_fail == 0:
        present = sorted({int(s) for s in np.unique(rd.status)} - {0})
        raise DataError(
            f"column {rd.names['event']!r}: no row has an event of cause {cause} (causes present: {present}); "
            "there is nothing to model",
            column=rd.names["event"],
        )
    check_design(rd.x, rd.covariates)
    fg = FineGrayData.build(rd.time, rd.status, rd.x, cause)
    if rd.covariates:
        _, _, info = fg.derivatives(np.zeros(len(rd.covariates)))
        _check_information(info, rd.covariates, f"the cause-{cause} event times", n_fail * rd.x.var(axis=0))
    return fg


def _check_information(info: np.ndarray, covariates: tuple[str, ...], where: str, scale: np.ndarray) -> None:
    """A covariate with no information at β = 0 (constant within every risk set) is an error.

    ``scale``: per covariate, the number of events times its variance over all
    rows; the information at 0 is of that order when the covariate varies
    within the risk sets (so the check does not depend on its unit).
    """
    diag = np.diag(info)
    flat = [c for c, v, s in zip(covariates, diag, scale) if not v > 1e-10 * s]
    if flat:
        raise DataError(
            f"covariate {flat[0]!r} does not vary within the risk sets at {where} (its information is 0), "
            "so its effect cannot be estimated; drop it",
            column=flat[0],
        )
    eig = np.linalg.eigvalsh(info / np.sqrt(np.outer(diag, diag)))
    if eig[0] < 1e-12:
        raise DataError(
            f"covariates {list(covariates)} are collinear within the risk sets at {where} "
            "(the information matrix is singular); drop one of the covariates that move together",
            column=None,
        )

"""Result classes of the regression models: :class:`FineGray` and :class:`CauseSpecificCox`.

Each is frozen, prints its coefficient table, serialises through
:mod:`leiosurv.serial` (the JSON forms are the dataclasses at the end), and
predicts cumulative incidence for new covariate rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from leiosurv.exceptions import DataError, InputError
from leiosurv.serial import Serialisable
from leiosurv.stats._printing import fit_table
from leiosurv.stats._regression_data import as_covariate_matrix
from leiosurv.stats._serialize import TableForm, jsonable, table_form, table_from_form

if TYPE_CHECKING:
    import pandas as pd

    from leiosurv.stats._fine_gray import CrrFit, FineGrayData
    from leiosurv.stats._regression_data import RegressionData

__all__ = ["FineGray", "CauseSpecificCox", "CoxModel", "coefficient_table", "covariate_rows"]

_COEF_COLUMNS = ["covariate", "coef", "se", "z", "p_value", "hr", "hr_lower", "hr_upper"]
_KEYS = ("covariate", "coef", "se", "p_value", "hr", "hr_lower", "hr_upper")


def coefficient_table(names: tuple[str, ...], coef: np.ndarray, se: np.ndarray, level: float) -> pd.DataFrame:
    """Coefficients, SEs, Wald z and two-sided p, hazard ratios with Wald intervals exp(β ± z·se)."""
    import pandas as pd

    z = NormalDist().inv_cdf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        wald = coef / se
    p = np.array([math.erfc(abs(v) / math.sqrt(2)) if np.isfinite(v) else np.nan for v in wald])
    return pd.DataFrame({
        "covariate": list(names), "coef": coef, "se": se, "z": wald, "p_value": p, "hr": np.exp(coef),
        "hr_lower": np.exp(coef - z * se), "hr_upper": np.exp(coef + z * se),
    }, columns=_COEF_COLUMNS)


def covariate_rows(newdata: Any, covariates: tuple[str, ...]) -> tuple[np.ndarray, list[Any]]:
    """New covariate rows as a matrix ``(m, p)`` and their labels.

    ``newdata``: a pandas DataFrame or a mapping with the covariate columns
    (extra columns are ignored), or an array of shape ``(m, p)`` / ``(p,)``.
    """
    p = len(covariates)
    if hasattr(newdata, "columns") and hasattr(newdata, "index"):
        missing = [c for c in covariates if c not in newdata.columns]
        if missing:
            raise DataError(f"newdata lacks the covariate column {missing[0]!r}; the model uses {list(covariates)}",
                            column=missing[0])
        return as_covariate_matrix({c: newdata[c] for c in covariates}, len(newdata)), list(newdata.index)
    if isinstance(newdata, dict):
        missing = [c for c in covariates if c not in newdata]
        if missing:
            raise DataError(f"newdata lacks the covariate column {missing[0]!r}; the model uses {list(covariates)}",
                            column=missing[0])
        cols = {c: np.atleast_1d(np.asarray(newdata[c])) for c in covariates}
        m = len(next(iter(cols.values()))) if cols else 1
        return as_covariate_matrix(cols, m), list(range(m))
    arr = np.asarray(newdata, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != p:
        raise DataError(f"newdata must have {p} covariate columns {list(covariates)}, got shape {arr.shape}",
                        column=None)
    if not np.all(np.isfinite(arr)):
        raise DataError("newdata has missing or infinite covariate values", column=None)
    return arr, list(range(arr.shape[0]))


def _frame(times: np.ndarray, values: np.ndarray, labels: list[Any]) -> pd.DataFrame:
    import pandas as pd

    out = pd.DataFrame(values, columns=labels)
    out.index = pd.Index(times, name="time")
    return out


def _step(grid: np.ndarray, values: np.ndarray, times: Any) -> tuple[np.ndarray, np.ndarray]:
    """A right-continuous step function (0 before ``grid[0]``) read at ``times``."""
    t = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise DataError("times must be finite and >= 0", column=None)
    i = np.searchsorted(grid, t, side="right")
    padded = np.vstack((np.zeros((1, values.shape[1])), values))
    return t, padded[i]


# -- JSON forms ------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class FineGrayForm:
    """JSON form of :class:`FineGray`."""

    kind: Literal["FineGray"]
    table: TableForm
    var: list[list[float | None]]
    information: list[list[float]]
    times: list[float]
    jumps: list[float]
    loglik: float
    loglik_null: float
    covariates: list[str]
    cause: int
    level: float
    converged: bool
    iterations: int
    n: int
    provenance: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class CoxModelForm:
    """JSON form of one cause's :class:`CoxModel`."""

    cause: int
    table: TableForm
    var: list[list[float | None]]
    times: list[float]
    jumps: list[float]
    loglik: float
    loglik_null: float
    score_test: float
    iterations: int
    n: int
    n_events: int


@dataclass(frozen=True, kw_only=True)
class CauseSpecificCoxForm:
    """JSON form of :class:`CauseSpecificCox`."""

    kind: Literal["CauseSpecificCox"]
    covariates: list[str]
    ties: Literal["breslow", "efron"]
    level: float
    provenance: dict[str, Any]
    models: list[CoxModelForm]



# -- Fine–Gray ---------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class FineGray(Serialisable):
    """Result of :func:`leiosurv.stats.fine_gray` (``cmprsk::crr``).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per covariate: ``covariate, coef, se, z, p_value, hr,
        hr_lower, hr_upper`` (crr's sandwich SE; Wald z, two-sided p; hazard
        ratio with the Wald interval exp(β ± z·se)).
    var : ndarray, shape (p, p)
        crr's ``var`` (sandwich); NaN when fitted with ``variance=False``.
    information : ndarray, shape (p, p)
        crr's ``inf`` (observed information of the pseudo-likelihood).
    times, jumps : ndarray
        crr's ``uftime`` and ``bfitj``: the distinct times of the cause and the
        baseline subdistribution hazard's jumps there.
    loglik, loglik_null : float
        Log pseudo-likelihood at the estimate and at 0.
    cause, level, converged, iterations, n : as named
    covariates : tuple of str
    provenance : dict
    """

    table: pd.DataFrame
    var: np.ndarray
    information: np.ndarray
    times: np.ndarray
    jumps: np.ndarray
    loglik: float
    loglik_null: float
    covariates: tuple[str, ...]
    cause: int
    level: float
    converged: bool
    iterations: int
    n: int
    provenance: dict[str, Any]

    @classmethod
    def from_fit(cls, fit: CrrFit, rd: RegressionData, fg: FineGrayData, cause: int, level: float,
                 prov: dict[str, Any]) -> FineGray:
        p = len(rd.covariates)
        var = fit.var if fit.var is not None else np.full((p, p), np.nan)
        table = coefficient_table(rd.covariates, fit.coef, np.sqrt(np.diag(var)), level)
        return cls(table, var, fit.information, fg.tk, fit.jumps, fit.loglik, fit.loglik_null, rd.covariates,
                   cause, level, fit.converged, fit.iterations, int(rd.time.size), prov)

    @property
    def coef(self) -> pd.Series:
        """Coefficients (log subdistribution hazard ratios) by covariate."""
        return self.table.set_index("covariate")["coef"]

    @property
    def se(self) -> pd.Series:
        """crr's sandwich standard errors by covariate."""
        return self.table.set_index("covariate")["se"]

    def baseline(self) -> pd.DataFrame:
        """The baseline cumulative subdistribution hazard: ``time, jump, cumhaz`` (covariates 0)."""
        import pandas as pd

        return pd.DataFrame({"time": self.times, "jump": self.jumps, "cumhaz": np.cumsum(self.jumps)})

    def predict(self, newdata: Any, times: Any = None) -> pd.DataFrame:
        """Cumulative incidence of the cause for new covariate rows, as ``cmprsk::predict.crr``.

        CIF(t | x) = 1 − exp(−exp(x'β) Σ_{t_k ≤ t} jump_k), a right-continuous
        step function, 0 before the first event time of the cause.

        Parameters
        ----------
        newdata : DataFrame, mapping or array
            Rows of covariate values (the model's covariate columns).
        times : array-like, optional
            Where to read the curves; default the event times of the cause
            (``predict.crr``'s rows).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``time``; one column per row of ``newdata`` (its index
            labels, or 0..m-1).
        """
        x, labels = covariate_rows(newdata, self.covariates)
        lp = x @ self.table["coef"].to_numpy()
        cif = 1.0 - np.exp(-np.outer(np.cumsum(self.jumps), np.exp(lp)))
        if times is None:
            return _frame(self.times, cif, labels)
        t, vals = _step(self.times, cif, times)
        return _frame(t, vals, labels)

    def summary(self) -> pd.DataFrame:
        """The coefficient table."""
        return self.table

    def __str__(self) -> str:
        head = (f"Fine-Gray subdistribution hazards for cause {self.cause} (cmprsk::crr): n={self.n}, "
                f"{self.jumps.size} distinct event times, log pseudo-likelihood {self.loglik:.4f} "
                f"(null {self.loglik_null:.4f}); sandwich SE, {self.level:.0%} Wald intervals")
        return f"{head}\n{fit_table(self.table, _KEYS)}"

    def __repr__(self) -> str:
        return f"<FineGray cause={self.cause} covariates={list(self.covariates)} n={self.n}>"

    def print_summary(self) -> None:
        """Print the coefficient table."""
        print(str(self))

    JSON_FORM = FineGrayForm

    def to_json_form(self) -> FineGrayForm:
        return FineGrayForm(
            kind="FineGray", table=table_form(self.table), var=jsonable(self.var),
            information=self.information.tolist(), times=self.times.tolist(), jumps=self.jumps.tolist(),
            loglik=self.loglik, loglik_null=self.loglik_null, covariates=list(self.covariates), cause=self.cause,
            level=self.level, converged=self.converged, iterations=self.iterations, n=self.n,
            provenance=self.provenance)

    @classmethod
    def from_json_form(cls, form: FineGrayForm) -> FineGray:
        p = len(form.covariates)
        var, info = np.array(form.var, dtype=np.float64), np.array(form.information, dtype=np.float64)
        if var.shape != (p, p) or info.shape != (p, p) or len(form.times) != len(form.jumps):
            raise InputError("FineGray: var/information must be p x p and times/jumps of equal length")
        table = table_from_form(form.table, set(_COEF_COLUMNS) - {"covariate"}, object_columns=("covariate",))
        return cls(table, var, info, np.array(form.times, dtype=np.float64),
                   np.array(form.jumps, dtype=np.float64), form.loglik, form.loglik_null, tuple(form.covariates),
                   form.cause, form.level, form.converged, form.iterations, form.n, form.provenance)


# -- cause-specific Cox ----------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class CoxModel(Serialisable):
    """One cause's Cox model (``survival::coxph(Surv(time, status == k) ~ ...)``).

    Attributes
    ----------
    table : pandas.DataFrame
        As :class:`FineGray`'s, with coxph's SE sqrt(diag(var)).
    var : ndarray (p, p)
        coxph's ``var``: the inverse information at the estimate, or the robust sandwich
        (``robust=True``; coxph's default with non-integer case weights).
    times, jumps : ndarray
        The distinct event times of the cause and the baseline hazard's jumps
        there (covariates 0; Breslow's d/S0, or Efron's with ``ties="efron"``).
    loglik, loglik_null, score_test : float
    iterations, n, n_events : int
    """

    cause: int
    table: pd.DataFrame
    var: np.ndarray
    times: np.ndarray
    jumps: np.ndarray
    loglik: float
    loglik_null: float
    score_test: float
    iterations: int
    n: int
    n_events: int

    @property
    def coef(self) -> pd.Series:
        """Coefficients (log cause-specific hazard ratios) by covariate."""
        return self.table.set_index("covariate")["coef"]

    @property
    def se(self) -> pd.Series:
        """Model-based standard errors by covariate."""
        return self.table.set_index("covariate")["se"]


@dataclass(frozen=True, eq=False, repr=False)
class CauseSpecificCox(Serialisable):
    """Result of :func:`leiosurv.stats.cause_specific_cox`: one Cox model per cause.

    Attributes
    ----------
    models : dict[int, CoxModel]
        By cause code.
    covariates : tuple of str
    ties : {"breslow", "efron"}
    level : float
    provenance : dict
    """

    models: dict[int, CoxModel]
    covariates: tuple[str, ...]
    ties: Literal["breslow", "efron"]
    level: float
    provenance: dict[str, Any]

    @property
    def table(self) -> pd.DataFrame:
        """All coefficient tables, with a ``cause`` column first."""
        import pandas as pd

        parts = [m.table.assign(cause=k) for k, m in self.models.items()]
        out = pd.concat(parts, ignore_index=True)
        return out[["cause", *_COEF_COLUMNS]]

    def summary(self) -> pd.DataFrame:
        """The coefficient tables of every cause."""
        return self.table

    def predict(self, newdata: Any, times: Any = None, cause: int = 1) -> pd.DataFrame:
        """Absolute risk (cumulative incidence) of ``cause``, combining every cause's model.

        F_k(t | x) = Σ_{s ≤ t} S(s− | x) dΛ_k(s | x), with dΛ_j(s | x) =
        exp(x'β_j) dΛ_j0(s) and the event-free survival as a product limit,
        S(s− | x) = Π_{u < s} (1 − Σ_j dΛ_j(u | x)): ``riskRegression::predictRisk``
        of a ``CSC`` fit (``surv.type = "hazard"``, ``product.limit = TRUE``, its
        default; riskRegression 2022.11.28).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``time`` (default: every distinct event time of any
            cause), one column per row of ``newdata``.
        """
        if cause not in self.models:
            raise DataError(f"cause {cause!r} is not modelled; causes: {sorted(self.models)}", column=None)
        x, labels = covariate_rows(newdata, self.covariates)
        grid = np.unique(np.concatenate([m.times for m in self.models.values()]))
        total = np.zeros((grid.size, x.shape[0]))
        own = None
        for k, m in self.models.items():
            dl = np.zeros(grid.size)
            dl[np.searchsorted(grid, m.times)] = m.jumps
            dlx = np.outer(dl, np.exp(x @ m.table["coef"].to_numpy()))
            total += dlx
            if k == cause:
                own = dlx
        assert own is not None
        if np.any(total > 1.0):
            import warnings

            from leiosurv.exceptions import StatisticalWarning

            warnings.warn(
                "at some event time the summed hazard jumps exceed 1 for these covariate values (few at risk, "
                "large effects), so the product-limit survival turns negative and the absolute risks are not "
                "probabilities there; riskRegression gives the same numbers",
                StatisticalWarning, stacklevel=2)
        survival = np.cumprod(1.0 - total, axis=0)
        before = np.vstack((np.ones((1, x.shape[0])), survival[:-1]))
        cif = np.cumsum(before * own, axis=0)
        if times is None:
            return _frame(grid, cif, labels)
        t, vals = _step(grid, cif, times)
        return _frame(t, vals, labels)

    def __str__(self) -> str:
        lines = []
        for k, m in self.models.items():
            lines.append(f"Cause-specific Cox for cause {k} (survival::coxph, ties={self.ties!r}): n={m.n}, "
                         f"{m.n_events} events, log partial likelihood {m.loglik:.4f} (null {m.loglik_null:.4f})")
            lines.append(fit_table(m.table, _KEYS))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<CauseSpecificCox causes={sorted(self.models)} covariates={list(self.covariates)} ties={self.ties}>"

    def print_summary(self) -> None:
        """Print every cause's coefficient table."""
        print(str(self))

    JSON_FORM = CauseSpecificCoxForm

    def to_json_form(self) -> CauseSpecificCoxForm:
        return CauseSpecificCoxForm(
            kind="CauseSpecificCox", covariates=list(self.covariates), ties=self.ties, level=self.level,
            provenance=self.provenance,
            models=[CoxModelForm(cause=m.cause, table=table_form(m.table), var=jsonable(m.var),
                                 times=m.times.tolist(), jumps=m.jumps.tolist(), loglik=m.loglik,
                                 loglik_null=m.loglik_null, score_test=m.score_test, iterations=m.iterations,
                                 n=m.n, n_events=m.n_events) for m in self.models.values()])

    @classmethod
    def from_json_form(cls, form: CauseSpecificCoxForm) -> CauseSpecificCox:
        models = {}
        for f in form.models:
            table = table_from_form(f.table, set(_COEF_COLUMNS) - {"covariate"}, object_columns=("covariate",))
            models[f.cause] = CoxModel(f.cause, table, np.array(f.var, dtype=np.float64).reshape(
                len(form.covariates), len(form.covariates)), np.array(f.times, dtype=np.float64),
                np.array(f.jumps, dtype=np.float64), f.loglik, f.loglik_null, f.score_test, f.iterations, f.n,
                f.n_events)
        return cls(models, tuple(form.covariates), form.ties, form.level, form.provenance)

"""Every result class of :mod:`leiosurv.stats`: tables, horizons, JSON, printing.

:class:`CumulativeIncidence` (Aalen–Johansen) and :class:`KaplanMeier` carry
their inputs (the :class:`~leiosurv.stats._counts.EventCounts`), their options
and a provenance record, so that a stored result can be re-read and checked;
:class:`RiskDifference` and :class:`GrayTest` are one table each
(:class:`TableResult`).  pandas is imported when a table is first built.

Table conventions
-----------------
* one row per group and distinct time (event or censoring), groups in the
  order of ``counts.groups``;
* the ``group`` column is always present; it holds ``None`` when the data are
  not grouped;
* ``n_risk`` is the number at risk just before ``time``; events come before
  censorings at tied times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from leiosurv.exceptions import InputError
from leiosurv.serial import Serialisable
from leiosurv.stats._ci import check_choice, ci_bounds
from leiosurv.stats._counts import EventCounts
from leiosurv.stats._horizons import as_horizons, beyond_error, n_risk_at, offsets, step_index
from leiosurv.stats._printing import fit_table, keyed_frame
from leiosurv.stats._serialize import (
    GrayTestForm,
    RiskDifferenceForm,
    StepResultForm,
    counts_form,
    counts_from_form,
    jsonable,
    table_form,
    table_from_form,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CumulativeIncidence", "KaplanMeier", "RiskDifference", "GrayTest", "TableResult"]

#: columns always printed (never hidden in a narrow terminal)
_KEYS_AT = ("group", "cause", "horizon", "estimate", "lower", "upper")

_AT_COLUMNS_CIF = [
    "group", "cause", "horizon", "estimate", "se", "lower", "upper", "n_risk_at_horizon", "beyond_follow_up",
]
_AT_COLUMNS_KM = ["group", "horizon", "estimate", "se", "lower", "upper", "n_risk_at_horizon", "beyond_follow_up"]


@dataclass(frozen=True, eq=False, repr=False)
class _StepResult(Serialisable):
    """Behaviour shared by the step-function results (not public).

    A result keeps its numbers as plain arrays, one block per group
    (``blocks[i]`` maps every table column but ``group`` to an array over the
    group's distinct times; counts are views of ``counts``, not copies).  The
    pandas :attr:`table` is built from them on first access only, so
    estimating and reading horizons never pay for a DataFrame nobody asked for.
    """

    counts: EventCounts
    blocks: tuple[dict[str, np.ndarray], ...]
    ci: str
    level: float
    z: float
    provenance: dict[str, Any]

    @property
    def groups(self) -> list[Any]:
        """Group labels, in table order (``[None]`` when ungrouped)."""
        return self.counts.labels

    @cached_property
    def table(self) -> pd.DataFrame:
        """The result as a tidy DataFrame (see the class docstring for the columns)."""
        import pandas as pd

        labels = np.empty(len(self.counts.groups), dtype=object)
        labels[:] = self.counts.labels
        sizes = [g.time.size for g in self.counts.groups]
        cols = {"group": np.repeat(labels, sizes)}
        for name in self.blocks[0]:
            cols[name] = np.concatenate([b[name] for b in self.blocks])
        return pd.DataFrame(cols, copy=False)

    def _lookup(self, horizons: Any, beyond: str, curves: Sequence[tuple[Any, str, str]],
                before: float) -> pd.DataFrame:
        """Rows for each group x curve x horizon.

        ``curves`` lists ``(key, estimate column, se column)``; ``before`` is the
        value before the first time (0 for a CIF, 1 for a survival curve).
        """
        import pandas as pd

        check_choice("beyond", beyond, ("raise", "nan"))
        h = as_horizons(horizons)
        out: list[pd.DataFrame] = []
        for g, block in zip(self.counts.groups, self.blocks):
            last = g.last_time
            # a group whose risk set was emptied by events (nobody censored at its last time) keeps
            # its last value for ever after; prodlim gives NA there, survfit's summary(extend=TRUE)
            # the last value, as here
            past = h > last if not g.ended_by_event else np.zeros(h.size, dtype=bool)
            if beyond == "raise" and past.any():
                raise beyond_error(g.label, float(h[past][0]), last)
            nrisk = n_risk_at(g, h)
            for key, est_col, se_col in curves:
                est, se = self._step_values(g, block, (est_col, se_col), h, (before, 0.0))
                lower, upper = ci_bounds(est, se, self.ci, self.z)
                est, se, lower, upper = (np.where(past, np.nan, a) for a in (est, se, lower, upper))
                part: dict[str, Any] = {"group": [g.label] * h.size}
                if key is not None:
                    part["cause"] = np.full(h.size, key, dtype=np.int64)
                part.update(
                    horizon=h, estimate=est, se=se, lower=lower, upper=upper,
                    n_risk_at_horizon=nrisk, beyond_follow_up=past,
                )
                out.append(pd.DataFrame(part))
        df = pd.concat(out, ignore_index=True)
        df["group"] = df["group"].astype(object)
        return df

    def _step_values(self, g: Any, block: dict[str, Any], cols: Sequence[str], h: np.ndarray,
                     before: Sequence[float]) -> list[np.ndarray]:
        """Values of ``block[col]`` at horizons ``h`` (right-continuous); ``before`` the first time."""
        idx = step_index(g.time, h)
        safe = np.maximum(idx, 0)
        return [np.where(idx >= 0, block[c][safe], b) for c, b in zip(cols, before)]

    def _options(self) -> dict[str, Any]:
        return {"ci": self.ci, "level": self.level, "z": self.z}

    _summary_keys: ClassVar[tuple[str, ...]] = ()

    def summary(self) -> pd.DataFrame:  # pragma: no cover - each result defines it
        raise NotImplementedError

    def __str__(self) -> str:
        head = f"{type(self).__name__}: " + ", ".join(f"{k}={v!r}" for k, v in self._options().items())
        n = self.counts.n
        grp = f", groups by {self.counts.group_name!r}" if self.counts.group_name else ""
        return f"{head}\n{n} rows{grp}\n{fit_table(self.summary(), self._summary_keys)}"

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self._options().items())
        return f"<{type(self).__name__} {opts}, groups={self.groups!r}, n={self.counts.n}>"

    def print_summary(self) -> None:
        """Print the options and :meth:`summary`, fitted to the terminal's width."""
        print(str(self))

    def _repr_html_(self) -> str:
        """The options and :meth:`summary` as HTML, for notebooks (Jupyter calls it to show the result)."""
        from html import escape

        head = escape(f"{type(self).__name__}: " + ", ".join(f"{k}={v!r}" for k, v in self._options().items()))
        grp = f", groups by {escape(repr(self.counts.group_name))}" if self.counts.group_name else ""
        return (f"<p><strong>{head}</strong><br>{self.counts.n} rows{grp}</p>"
                + str(self.summary().to_html(index=False, float_format=lambda x: f"{x:.6g}")))

    # -- serialisation (leiosurv.serial)
    JSON_FORM = StepResultForm

    def to_json_form(self) -> StepResultForm:
        kind: Any = type(self).__name__
        return StepResultForm(kind=kind, options=jsonable(self._options()), counts=counts_form(self.counts),
                              table=table_form(self.table), provenance=self.provenance)

    @staticmethod
    def _check_kind(form: StepResultForm, kind: str) -> None:
        if form.kind != kind:
            raise InputError(f"kind: expected {kind!r}, got {form.kind!r}")


@dataclass(frozen=True, eq=False, repr=False)
class CumulativeIncidence(_StepResult):
    """Aalen–Johansen cumulative incidence per cause and group.

    Built by :func:`leiosurv.stats.cumulative_incidence`; see it for the
    estimator and the R calls each ``variance`` reproduces.

    Attributes
    ----------
    counts : EventCounts
        The data's sufficient statistics (the estimator's only input).
    blocks : tuple of dict of str to ndarray
        Per group: ``time``, the group's event times, and ``cif_<k>``,
        ``se_<k>``, ``lower_<k>``, ``upper_<k>`` there, each with a leading
        value for before the first event (the estimates change only at events).
        The bounds are computed from ``cif_<k>`` and ``se_<k>`` when first read.
    table : pandas.DataFrame
        Columns ``group, time, n_risk, n_event_<k>..., n_censored`` and for each
        cause ``cif_<k>, se_<k>, lower_<k>, upper_<k>``; one row per group and
        distinct time (event or censoring); ``group`` is ``None`` when the data
        are not grouped.
    variance : {"delta", "aalen"}
    ci : {"plain", "log", "log-log"}
    level : float
    z : float
        Normal quantile used for the bounds.
    provenance : dict[str, Any]
        Function, arguments, sizes, engine information, leiosurv version.
    """

    variance: str  # after the fields of every step result (counts, blocks, ci, level, z, provenance)

    @property
    def causes(self) -> tuple[int, ...]:
        """Cause codes, in column order."""
        return self.counts.causes

    # Blocks hold the estimates on the group's *event* times only, each array
    # with a leading row for "before the first event" (CIF 0, SE 0): a CIF and
    # both variances change only where an event happens, and with continuous
    # times most distinct times are censorings.  The documented table (every
    # distinct time) is expanded from them on first access.
    @cached_property
    def table(self) -> pd.DataFrame:
        """The result as a tidy DataFrame (see the class docstring for the columns)."""
        import pandas as pd

        est_cols = [f"{s}_{k}" for k in self.causes for s in ("cif", "se", "lower", "upper")]
        parts: dict[str, list[np.ndarray]] = {}
        for g, block in zip(self.counts.groups, self.blocks):
            n_risk = g.n_risk
            pos = np.cumsum(g.n_events > 0)  # row of the last event at or before each time (0: none)
            cols = {"time": g.time, "n_risk": n_risk}
            for ki, k in enumerate(self.causes):
                cols[f"n_event_{k}"] = g.events[:, ki]
            cols["n_censored"] = g.censored
            for c in est_cols:
                cols[c] = block[c][pos]
            for c, v in cols.items():
                parts.setdefault(c, []).append(v)
        labels = np.empty(len(self.counts.groups), dtype=object)
        labels[:] = self.counts.labels
        table = {"group": np.repeat(labels, [g.time.size for g in self.counts.groups])}
        table.update({c: np.concatenate(v) for c, v in parts.items()})
        return pd.DataFrame(table, copy=False)

    def _step_values(self, g: Any, block: dict[str, Any], cols: Sequence[str], h: np.ndarray,
                     before: Sequence[float]) -> list[np.ndarray]:
        idx = np.searchsorted(block["time"], h, side="right")  # 0: before the first event
        return [block[c][idx] for c in cols]

    def _options(self) -> dict[str, Any]:
        return {"variance": self.variance, **super()._options()}

    def at(self, horizons: Any, *, beyond: str = "raise") -> pd.DataFrame:
        """Estimates at horizons, read from the right-continuous step function.

        Parameters
        ----------
        horizons : float or sequence of float
            Times (same unit as the data), each ``>= 0``.
        beyond : {"raise", "nan"}, default "raise"
            What to do with a horizon later than a group's last follow-up time
            (its largest event or censoring time): raise :class:`DataError`
            naming group, horizon and last time, or return a row of NaN flagged
            ``beyond_follow_up=True``.  A horizon equal to the last time is
            within follow-up.  When follow-up *ended with events* (nobody
            censored at the last time, so the risk set was emptied by events)
            every later horizon is within follow-up too: the curves keep their
            last value (as ``summary(survfit(...), extend = TRUE)``; prodlim
            reports ``NA`` there) and ``n_risk_at_horizon`` is 0.

        Returns
        -------
        pandas.DataFrame
            Columns ``group, cause, horizon, estimate, se, lower, upper,
            n_risk_at_horizon, beyond_follow_up``; before the first time the
            estimate is 0 with se 0.

        Examples
        --------
        >>> from leiosurv.stats import cumulative_incidence
        >>> res = cumulative_incidence({"time": [1, 2, 3, 4], "event": [1, 0, 2, 1]})
        >>> res.at([0.5, 1, 3])[["cause", "horizon", "estimate"]].to_numpy().tolist()
        [[1.0, 0.5, 0.0], [1.0, 1.0, 0.25], [1.0, 3.0, 0.25], [2.0, 0.5, 0.0], [2.0, 1.0, 0.0], [2.0, 3.0, 0.375]]
        """
        curves = [(k, f"cif_{k}", f"se_{k}") for k in self.causes]
        return keyed_frame(self._lookup(horizons, beyond, curves, 0.0)[_AT_COLUMNS_CIF], _KEYS_AT)

    _summary_keys = ("group", "cause", "cif_at_last", "lower", "upper")

    def summary(self) -> pd.DataFrame:
        """Per group and cause: the CIF at the last follow-up time with its interval, SE and counts.

        Columns ``group, cause, cif_at_last, lower, upper, se, n, n_event,
        n_censored, last_time``; printing (``print(res)``,
        :meth:`print_summary`) never hides the estimate and its interval.
        """
        import pandas as pd

        rows = []
        for g, block in zip(self.counts.groups, self.blocks):
            for ki, k in enumerate(self.causes):
                rows.append(
                    {
                        "group": g.label,
                        "cause": k,
                        "cif_at_last": float(block[f"cif_{k}"][-1]),
                        "lower": float(block[f"lower_{k}"][-1]),
                        "upper": float(block[f"upper_{k}"][-1]),
                        "se": float(block[f"se_{k}"][-1]),
                        "n": g.n,
                        "n_event": int(g.event_totals()[ki]),
                        "n_censored": g.n_censored,
                        "last_time": g.last_time,
                    }
                )
        return pd.DataFrame(rows)

    def plot(self, ax: Any = None, *, causes: Sequence[int] | None = None, risk_table: bool = True,
             labels: dict[str, Any] | None = None, ci_band: bool = False) -> Any:
        """Step curves of the CIFs with an optional number-at-risk table.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new figure when omitted.
        causes : sequence of int, optional
            Causes to draw (default all).
        risk_table : bool, default True
            Draw the number at risk per group under the axes.
        labels : dict[str, Any], optional
            Display names: ``{"groups": {label: name}, "causes": {code: name},
            "time": "axis name (unit)"}``, e.g. ``{"causes": {1: "metastasis",
            2: "death"}, "time": "Days since diagnosis"}``; by default
            ``<group column>=<label>``, ``cause <k>`` and the time column's name.
        ci_band : bool, default False
            Shade the pointwise interval: the result's ``ci`` interval, and on
            every step where a curve is 0 (before its first event, or no event
            of that cause) or 1 (everybody had it), where that interval has
            zero width or is undefined, the exact Clopper–Pearson bound on the
            patients whose status is known on that step
            (:func:`~leiosurv.stats.exact_band`; with ``entry`` only the rows
            at risk from time 0 are counted; with ``weights`` the result's
            interval is drawn throughout).  The band is never zero-width where
            someone's status is known.  :meth:`at` and :attr:`table` keep R's
            intervals.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from leiosurv.stats._plot import plot_steps

        causes = self.causes if causes is None else tuple(causes)
        for k in causes:
            if k not in self.causes:
                raise InputError(f"cause must be one of {list(self.causes)!r}, but was {k!r}")
        curves = [(k, f"cif_{k}", f"lower_{k}", f"upper_{k}") for k in causes]
        return plot_steps(self, ax, curves, risk_table, labels or {}, ci_band, "Cumulative incidence", 0.0)

    @classmethod
    def from_json_form(cls, form: StepResultForm) -> CumulativeIncidence:
        cls._check_kind(form, "CumulativeIncidence")
        counts = counts_from_form(form.counts)
        floats = {c for c in form.table.columns if c.split("_")[0] in ("time", "cif", "se", "lower", "upper")}
        o = form.options
        table = table_from_form(form.table, floats)
        return cls(counts, _event_blocks(counts, table, o["ci"], float(o["z"])), o["ci"], float(o["level"]),
                   float(o["z"]), form.provenance, variance=o["variance"])


@dataclass(frozen=True, eq=False, repr=False)
class KaplanMeier(_StepResult):
    """Kaplan–Meier all-cause survival per group.

    Built by :func:`leiosurv.stats.kaplan_meier`.

    Attributes
    ----------
    counts : EventCounts
    blocks : tuple of dict of str to ndarray
        Per group, the table's columns but ``group``, as arrays.
    table : pandas.DataFrame
        Columns ``group, time, n_risk, n_event, n_censored, surv, se, lower, upper``.
    ci : {"log", "log-log", "plain"}
    level, z : float
    provenance : dict[str, Any]
    """

    def at(self, horizons: Any, *, beyond: str = "raise") -> pd.DataFrame:
        """Survival at horizons (right-continuous); 1 before the first time.

        Same ``beyond`` rule as :meth:`CumulativeIncidence.at`.

        Returns
        -------
        pandas.DataFrame
            Columns ``group, horizon, estimate, se, lower, upper,
            n_risk_at_horizon, beyond_follow_up``.

        Examples
        --------
        >>> from leiosurv.stats import kaplan_meier
        >>> km = kaplan_meier({"time": [1, 2, 3, 4], "event": [1, 0, 2, 1]})
        >>> km.at([0.5, 3])["estimate"].tolist()
        [1.0, 0.375]
        """
        return keyed_frame(self._lookup(horizons, beyond, [(None, "surv", "se")], 1.0)[_AT_COLUMNS_KM], _KEYS_AT)

    _summary_keys = ("group", "surv_at_last", "lower", "upper")

    def summary(self) -> pd.DataFrame:
        """Per group: survival at the last follow-up time with its interval, SE and counts.

        Columns ``group, surv_at_last, lower, upper, se, n, n_event,
        n_censored, last_time``.
        """
        import pandas as pd

        rows = []
        for g, block in zip(self.counts.groups, self.blocks):
            rows.append(
                {
                    "group": g.label,
                    "surv_at_last": float(block["surv"][-1]),
                    "lower": float(block["lower"][-1]),
                    "upper": float(block["upper"][-1]),
                    "se": float(block["se"][-1]),
                    "n": g.n,
                    "n_event": int(g.event_totals().sum()),
                    "n_censored": g.n_censored,
                    "last_time": g.last_time,
                }
            )
        return pd.DataFrame(rows)

    def plot(self, ax: Any = None, *, risk_table: bool = True, labels: dict[str, Any] | None = None,
             ci_band: bool = False) -> Any:
        """Survival step curves with an optional number-at-risk table; returns the Figure.

        Options as :meth:`CumulativeIncidence.plot`; with ``ci_band=True`` the
        band is the exact bound where the survival is 1 (before the first
        death) or 0, as there.
        """
        from leiosurv.stats._plot import plot_steps

        return plot_steps(self, ax, [(None, "surv", "lower", "upper")], risk_table, labels or {}, ci_band,
                          "Survival probability", 1.0)

    @classmethod
    def from_json_form(cls, form: StepResultForm) -> KaplanMeier:
        cls._check_kind(form, "KaplanMeier")
        counts = counts_from_form(form.counts)
        floats = {"time", "surv", "se", "lower", "upper"}
        o = form.options
        return cls(counts, _blocks(counts, table_from_form(form.table, floats)), o["ci"], float(o["level"]),
                   float(o["z"]), form.provenance)


def _blocks(counts: EventCounts, table: pd.DataFrame) -> tuple[dict[str, np.ndarray], ...]:
    """Split a result table's columns (all but ``group``) into per-group blocks."""
    off = offsets(counts)
    cols = {c: table[c].to_numpy() for c in table.columns if c != "group"}
    return tuple({c: v[off[i] : off[i + 1]] for c, v in cols.items()} for i in range(len(counts.groups)))


def _event_blocks(counts: EventCounts, table: pd.DataFrame, ci: str, z: float) -> tuple[dict[str, np.ndarray], ...]:
    """Event-grid blocks of a cumulative-incidence result from its full table."""
    full = _blocks(counts, table)
    start = before_first_event(ci, z)
    out = []
    for g, b in zip(counts.groups, full):
        ev = np.flatnonzero(g.n_events > 0)
        block = {"time": g.time[ev]}
        for k in counts.causes:
            for stat in ("cif", "se", "lower", "upper"):
                block[f"{stat}_{k}"] = np.concatenate(([start[stat]], b[f"{stat}_{k}"][ev]))
        out.append(block)
    return tuple(out)


def before_first_event(ci: str, z: float) -> dict[str, float]:
    """Estimate, SE and bounds of a cumulative incidence before its first event (CIF 0, SE 0)."""
    lower, upper = ci_bounds(np.zeros(1), np.zeros(1), ci, z)
    return {"cif": 0.0, "se": 0.0, "lower": float(lower[0]), "upper": float(upper[0])}


# -- one-table results -------------------------------------------------------------
class TableResult(Serialisable):
    """Behaviour of the results that are one table (risk differences, Gray's test)."""

    table: pd.DataFrame
    _keys: tuple[str, ...] = ()

    def summary(self) -> pd.DataFrame:
        """The table itself."""
        return self.table

    def _title(self) -> str:
        return type(self).__name__

    def __str__(self) -> str:
        return f"{self._title()}\n{fit_table(self.table, self._keys)}"

    def __repr__(self) -> str:
        # the table itself, as print() shows it (a REPL shows the repr): never "<GrayTest rows=2>"
        return str(self)

    def print_summary(self) -> None:
        """Print the table, fitted to the terminal's width (key columns always shown)."""
        print(str(self))

    def _repr_html_(self) -> str:
        """The title and the table as HTML, for notebooks."""
        from html import escape

        return (f"<p><strong>{escape(self._title())}</strong></p>"
                + str(self.table.to_html(index=False, float_format=lambda x: f"{x:.6g}")))


@dataclass(frozen=True, eq=False, repr=False)
class RiskDifference(TableResult):
    """Group-versus-reference risk differences at horizons.

    Built by :func:`leiosurv.stats.risk_difference`.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``cause, horizon, group, reference, risk, risk_reference, rd,
        se, lower, upper`` and, with ``ratio=True``, ``ratio, log_ratio_se,
        ratio_lower, ratio_upper``.
    reference : object
        The reference group's label.
    z, level : float
        From the cumulative-incidence result.
    provenance : dict[str, Any]
    """

    table: pd.DataFrame
    reference: Any
    z: float
    level: float
    provenance: dict[str, Any]

    _keys = ("cause", "horizon", "group", "rd", "lower", "upper")

    def __post_init__(self) -> None:
        # printed in full: every column, wrapped to the terminal's width, never cut with "..."
        object.__setattr__(self, "table", keyed_frame(self.table, tuple(self.table.columns)))

    JSON_FORM = RiskDifferenceForm

    def to_json_form(self) -> RiskDifferenceForm:
        return RiskDifferenceForm(kind="RiskDifference", reference=jsonable(self.reference), z=self.z,
                                  level=self.level, table=table_form(self.table), provenance=self.provenance)

    @classmethod
    def from_json_form(cls, form: RiskDifferenceForm) -> RiskDifference:
        floats = {c for c in form.table.columns if c not in ("cause", "group", "reference")}
        table = table_from_form(form.table, floats, object_columns=("group", "reference"))
        return cls(table, form.reference, form.z, form.level, form.provenance)

    def _title(self) -> str:
        return f"RiskDifference vs reference group {self.reference!r} (level {self.level:g}, z {self.z:.6g}, Wald)"


@dataclass(frozen=True, eq=False, repr=False)
class GrayTest(TableResult):
    """Result of :func:`leiosurv.stats.gray_test`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per cause: ``cause, stat, pv, df``.
    groups : list
        Group labels compared.
    rho : float
    provenance : dict[str, Any]
    """

    table: pd.DataFrame
    groups: list[Any]
    rho: float
    provenance: dict[str, Any]

    _keys = ("cause", "stat", "pv", "df")

    JSON_FORM = GrayTestForm

    def to_json_form(self) -> GrayTestForm:
        return GrayTestForm(kind="GrayTest", groups=jsonable(self.groups), rho=self.rho, table=table_form(self.table),
                            provenance=self.provenance)

    @classmethod
    def from_json_form(cls, form: GrayTestForm) -> GrayTest:
        return cls(table_from_form(form.table, {"stat", "pv"}), list(form.groups), form.rho, form.provenance)

    def _title(self) -> str:
        return f"Gray's test (rho={self.rho:g}) across groups {self.groups!r}"

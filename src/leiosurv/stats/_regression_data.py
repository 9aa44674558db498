"""Row-level data for the regression models: times, event codes and a covariate matrix.

The regression models need every row (the estimators of the rest of the
package need only the counts), so this module takes the same input kinds as
:func:`leiosurv.stats.count_events` — a pandas, polars or PySpark frame, a
pyarrow Table, a DuckDB relation, a mapping of arrays, a numpy structured
array, or the path of a CSV or Parquet file — and returns the requested
columns as numpy arrays, sorted by time.  Only the requested columns are read.

Validation is the package's (the time and event checks of
``_engine_checks``, so the messages are the same as ``count_events``'s) plus
the covariate checks: numeric, no missing values.  No row is ever dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np

from leiosurv.exceptions import DataError
from leiosurv.stats import _engine_checks as chk
from leiosurv.stats._sql import quote_identifier, quote_literal

__all__ = ["RegressionData", "read_regression_data", "as_covariate_matrix", "read_columns"]

_PARQUET = (".parquet", ".pq", ".parq")


@dataclass(frozen=True)
class RegressionData:
    """The rows of a regression, sorted by time (stable, as R's ``order``).

    Attributes
    ----------
    time : ndarray, shape (n,)
    status : ndarray of int64, shape (n,)
        0 = censored, otherwise the cause code.
    x : ndarray, shape (n, p)
        The covariates, in the order of ``covariates``.
    covariates : tuple of str
    causes : tuple of int
        The cause codes (positive event codes) present or declared.
    names : dict
        The column names used: ``time``, ``event``.
    """

    time: np.ndarray
    status: np.ndarray
    x: np.ndarray
    covariates: tuple[str, ...]
    causes: tuple[int, ...]
    names: dict[str, str]
    entry: np.ndarray | None = None  # delayed entry times (sorted with the rows), if asked for
    weights: np.ndarray | None = None  # case weights (sorted with the rows), if asked for


def read_regression_data(
    data: Any,
    time: str,
    event: str,
    covariates: Sequence[str],
    *,
    causes: Sequence[int] | None = None,
    event_map: Mapping[Any, int] | None = None,
    entry: str | None = None,
    weights: str | None = None,
) -> RegressionData:
    """Read, validate and sort the rows of a regression (see the module docstring).

    Raises
    ------
    DataError
        A column is absent; times are missing, negative, infinite or not
        numbers; event codes are missing or unknown; a covariate is not
        numeric or has missing values; an entry is missing, negative or not
        before its row's time; a weight is missing, infinite or not positive.
        The message names the column.
    """
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = tuple(covariates)
    for c in covariates:
        if not isinstance(c, str):
            raise DataError(f"covariates must be column names (str), got {c!r}", column=None)
    dupes = sorted({c for c in covariates if covariates.count(c) > 1})
    if dupes:
        raise DataError(f"covariates name a column more than once: {dupes}", column=dupes[0])
    extra = {role: name for role, name in (("entry", entry), ("weights", weights)) if name is not None}
    for role, name in (("time", time), ("event", event), *extra.items()):
        if name in covariates:
            raise DataError(f"column {name!r} is the {role} column; it cannot also be a covariate", column=name)
    wanted = [time, event, *covariates, *[c for c in extra.values() if c not in (time, event)]]
    cols = _columns(data, wanted, {"time": time, "event": event, **extra})
    t_raw, e_raw = cols[time], cols[event]
    n = len(t_raw)
    chk.check_no_rows(n, time)
    for name in wanted:
        if len(cols[name]) != n:
            raise DataError(f"column {name!r} has {len(cols[name])} rows but column {time!r} has {n}; "
                            "columns must have equal length", column=name)
    t = chk.as_float_times(time, t_raw)
    chk.check_time_values(time, t)
    ev = chk.factorize(e_raw)
    lut, causes_t = chk.resolve_events(event, ev, causes, event_map)
    chk.check_any_event(event, ev, lut)
    column = lut[ev.codes]
    status = np.zeros(n, dtype=np.int64)
    if causes_t:
        codes = np.asarray((0, *causes_t), dtype=np.int64)
        status = codes[column]
    x = as_covariate_matrix({c: cols[c] for c in covariates}, n)
    from leiosurv.stats._entry_weights import check_entries, check_weights  # (it reads files through here)

    e = None if entry is None else check_entries(entry, cols[entry], t, time)
    w = None if weights is None else check_weights(weights, cols[weights])
    order = np.argsort(t, kind="stable")
    return RegressionData(t[order], status[order], x[order], covariates, tuple(causes_t),
                          {"time": time, "event": event, **extra},
                          None if e is None else e[order], None if w is None else w[order])


def as_covariate_matrix(columns: Mapping[str, Any], n: int) -> np.ndarray:
    """The covariate columns as one float64 matrix ``(n, p)``; text or missing values are errors."""
    x = np.empty((n, len(columns)), dtype=np.float64)
    for j, (name, values) in enumerate(columns.items()):
        x[:, j] = _numeric(name, values)
    return x


def _numeric(name: str, values: Any) -> np.ndarray:
    if chk.is_series(values):
        import pandas as pd

        if isinstance(values.dtype, pd.CategoricalDtype) or not (
            pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)
        ):
            raise DataError(
                f"covariate {name!r} has type {values.dtype}; covariates must be numbers "
                "(code a category as 0/1 indicator columns)",
                column=name,
            )
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        raw = np.asarray(values)
        converted: np.ndarray | None = raw if raw.dtype.kind in "iufb" else None
        if raw.dtype.kind == "O":
            try:
                converted = np.array([np.nan if v is None else v for v in raw.tolist()], dtype=np.float64)
            except (TypeError, ValueError):
                converted = None
        if converted is None:
            raise DataError(
                f"covariate {name!r} is not numeric; covariates must be numbers "
                "(code a category as 0/1 indicator columns)",
                column=name,
            )
        arr = converted.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        k = int(bad.sum())
        what = "missing (null or NaN)" if np.isnan(arr[bad]).all() else "missing or infinite"
        raise DataError(
            f"covariate {name!r}: {k} row{'s' if k != 1 else ''} {'have' if k != 1 else 'has'} {what} values; "
            "no row is dropped silently: fill them in, or remove those rows explicitly before fitting",
            column=name,
            n_rows=k,
        )
    return np.asarray(arr)


# -- the input kinds ----------------------------------------------------------------
def read_columns(data: Any, wanted: list[str], roles: dict[str, str]) -> dict[str, Any]:
    """The ``wanted`` columns of any input kind as arrays or pandas Series (a file through DuckDB, a
    Narwhals frame collected); ``roles`` maps a role (``"time"``, ``"entry"``) to its column, for the
    message naming a missing one."""
    return _columns(data, wanted, roles)


def _columns(data: Any, wanted: list[str], roles: dict[str, str]) -> dict[str, Any]:
    """The ``wanted`` columns of ``data`` as arrays (pandas Series kept for their dtypes)."""
    module = type(data).__module__.split(".")[0]
    if isinstance(data, (str, PathLike)):
        return _columns(_read_path(data, wanted, roles), wanted, roles)
    if module == "pandas" and hasattr(data, "columns"):
        _check(list(map(str, data.columns)), wanted, roles)
        return {c: data[c] for c in wanted}
    if module == "pyarrow" and hasattr(data, "column_names"):
        _check(data.column_names, wanted, roles)
        return {c: data.column(c).to_pandas() for c in wanted}
    if isinstance(data, np.ndarray) and data.dtype.names:
        _check(list(data.dtype.names), wanted, roles)
        return {c: data[c] for c in wanted}
    if isinstance(data, Mapping):
        _check([str(k) for k in data.keys()], wanted, roles)
        return {c: data[c] if chk.is_series(data[c]) else np.asarray(data[c]) for c in wanted}
    if data is not None and not isinstance(data, (list, tuple, set, np.ndarray)):
        import narwhals.stable.v2 as nw

        frame = nw.from_native(data, pass_through=True)
        if frame is not data:
            _check(list(frame.columns), wanted, roles)
            picked = frame.select(wanted)
            if isinstance(picked, nw.LazyFrame):
                picked = picked.collect()
            table = picked.to_arrow()
            return {c: table.column(c).to_pandas() for c in wanted}
    raise DataError(
        f"cannot read rows from a {type(data).__module__}.{type(data).__name__}: pass a pandas, polars "
        "or PySpark DataFrame, a pyarrow Table, a DuckDB relation, a mapping of arrays, or the path "
        "of a CSV or Parquet file",
        column=None,
    )


def _check(available: list[str], wanted: list[str], roles: dict[str, str]) -> None:
    names = {v: k for k, v in roles.items()}
    for c in wanted:
        if c not in available:
            role = names.get(c, "covariate")
            raise DataError(f"column {c!r} (the {role} column) not found; available columns: {available}",
                            column=c)


def _read_path(path: Any, wanted: list[str], roles: dict[str, str]) -> Any:
    """The ``wanted`` columns of a CSV or Parquet file, read by DuckDB, as a pyarrow Table."""
    import duckdb

    text = str(path)
    reader = "read_parquet" if text.lower().endswith(_PARQUET) else "read_csv"
    con = duckdb.connect()
    try:
        available = [r[0] for r in con.sql(f"DESCRIBE SELECT * FROM {reader}({quote_literal(text)})").fetchall()]
        _check(available, wanted, roles)
        select = ", ".join(quote_identifier(c) for c in wanted)
        return con.sql(f"SELECT {select} FROM {reader}({quote_literal(text)})").to_arrow_table()
    except duckdb.Error as exc:
        raise DataError(f"cannot read {text!r}: {str(exc).splitlines()[0]}", column=None) from None
    finally:
        con.close()


def check_design(x: np.ndarray, covariates: Sequence[str]) -> None:
    """Raise if a covariate is constant or a linear combination of the others (named)."""
    covariates = list(covariates)
    for j, name in enumerate(covariates):
        col = x[:, j]
        if col.size and np.all(col == col[0]):
            raise DataError(
                f"covariate {name!r} is constant (every row {col[0]:g}); it has no effect to estimate: drop it",
                column=name,
            )
    if len(covariates) < 2:
        return
    xc = x - x.mean(axis=0)
    gram = xc.T @ xc
    norm = np.sqrt(np.diag(gram))
    gram = gram / np.outer(norm, norm)  # correlations
    for j in range(1, len(covariates)):
        coef = np.linalg.lstsq(gram[:j, :j], gram[:j, j], rcond=None)[0]
        resid = float(gram[j, j] - gram[:j, j] @ coef)  # 1 - R² of column j on the previous ones
        if resid < 1e-10:
            others = [covariates[i] for i in range(j) if abs(coef[i]) > 1e-8]
            raise DataError(
                f"covariate {covariates[j]!r} is a linear combination of {others} (collinear covariates); "
                "drop one of them",
                column=covariates[j],
            )

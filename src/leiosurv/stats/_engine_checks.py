"""Validation of survival data, once, on key summaries rather than on rows.

Every engine (numpy, Narwhals frames, DuckDB files, Spark) reduces its input to
the distinct values of each key column with their row counts — for a database
engine that is the ``GROUP BY group, time, event`` result, in which nulls,
negative times and unknown codes show up as keys.  The functions here look only
at those summaries, so validating a 100-million-row file costs nothing extra.

Each problem raises :class:`~leiosurv.exceptions.DataError` naming the column,
the problem, how many rows show it, and how to fix it.  Nothing is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from leiosurv.exceptions import DataError

__all__: list[str] = []

_SHOW = 10  # how many offending values a message lists


@dataclass(frozen=True)
class Request:
    """What every counting engine gets besides the data: the column names, the
    causes and event_map asked for, and the ``meta`` record so far."""

    names: tuple[str, str, str | None]
    causes: Sequence[int] | None
    event_map: Mapping[Any, int] | None
    meta: dict[str, Any]

    @property
    def wanted(self) -> dict[str, str | None]:
        """The column names by role, as :func:`check_columns` takes them."""
        return {"time": self.names[0], "event": self.names[1], "group": self.names[2]}

    def noting(self, **meta: Any) -> Request:
        """The same request with ``meta`` entries added (e.g. ``source``)."""
        return replace(self, meta=dict(self.meta, **meta))


@dataclass(frozen=True)
class KeySummary:
    """Distinct values of one key column and how many rows hold each.

    ``codes`` maps every row (or aggregate row) to an index into ``values``;
    -1 marks a missing value (null / NaN).  ``counts[i]`` is the number of
    rows holding ``values[i]``; a zero count is an unused *declared* level
    (categorical) when ``declared`` is true, and a mere placeholder otherwise.
    """

    codes: np.ndarray
    values: list[Any]
    counts: np.ndarray
    n_missing: int
    declared: bool = False


def is_series(x: Any) -> bool:
    """A pandas Series (without importing pandas)."""
    return type(x).__module__.split(".")[0] == "pandas" and hasattr(x, "to_numpy") and getattr(x, "ndim", 0) == 1


def _py(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _rows_have(n: int) -> str:
    return f"{n} row has" if n == 1 else f"{n} rows have"


def _listing(values: Sequence[Any]) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:_SHOW])
    more = f", ... ({len(values) - _SHOW} more)" if len(values) > _SHOW else ""
    return f"[{shown}{more}]"


def check_columns(available: Sequence[str], wanted: Mapping[str, str | None]) -> None:
    """Raise if a requested column is absent, listing the available ones."""
    names = list(available)
    for role, name in wanted.items():
        if name is None:
            continue
        if not isinstance(name, str):
            raise DataError(
                f"{role} column must be given by name (a str), got {name!r}", column=None
            )
        if name not in names:
            raise DataError(
                f"column {name!r} (the {role} column) not found; available columns: {names}",
                column=name,
            )


def check_no_rows(n_rows: int, time: str) -> None:
    if n_rows == 0:
        raise DataError(
            f"column {time!r}: the data have 0 rows; nothing to count", column=time, n_rows=0
        )


def check_times(
    name: str,
    *,
    n_missing: int,
    n_negative: int,
    smallest: float,
    n_infinite: int,
) -> None:
    """Raise on missing, negative or infinite times (in that order)."""
    if n_missing:
        raise DataError(
            f"column {name!r}: {_rows_have(n_missing)} missing times (null or NaN); every row "
            "needs a follow-up time: fill them in, or remove those rows explicitly before counting",
            column=name,
            n_rows=n_missing,
        )
    if n_negative:
        raise DataError(
            f"column {name!r}: {_rows_have(n_negative)} negative times (smallest {smallest!r}); "
            "times must be >= 0 (time since the start of follow-up)",
            column=name,
            n_rows=n_negative,
        )
    if n_infinite:
        raise DataError(
            f"column {name!r}: {_rows_have(n_infinite)} infinite times; times must be finite "
            "(code still-followed subjects as censored at their last contact)",
            column=name,
            n_rows=n_infinite,
        )


def time_problems(t: np.ndarray, weights: np.ndarray | None = None) -> dict[str, Any]:
    """Count missing, negative and infinite values in float times (weighted)."""
    w = np.ones(t.shape, dtype=np.int64) if weights is None else weights
    miss = np.isnan(t)
    with np.errstate(invalid="ignore"):
        neg = t < 0
    inf = np.isposinf(t)
    smallest = float(np.min(t[neg])) if neg.any() else 0.0
    return dict(
        n_missing=int(w[miss].sum()),
        n_negative=int(w[neg].sum()),
        smallest=smallest,
        n_infinite=int(w[inf].sum()),
    )


def check_time_values(name: str, values: np.ndarray, weights: np.ndarray | None = None) -> None:
    """Validate float times (per row, or per aggregate row with ``weights``)."""
    check_times(name, **time_problems(values, weights))


def as_float_times(name: str, values: Any) -> np.ndarray:
    """Float64 times from any numeric column; nulls become NaN; text is an error."""
    if is_series(values) and not isinstance(values.dtype, np.dtype):
        import pandas as pd

        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
            return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan))
        values = values.astype(object)
    arr = np.asarray(values) if not is_series(values) else values
    kind = getattr(arr, "dtype", np.dtype(object)).kind
    if kind in "mM":
        raise DataError(
            f"column {name!r} holds dates or durations ({arr.dtype}); convert it to a number "
            "of days, months or years since the start of follow-up",
            column=name,
        )
    if kind == "b":
        raise DataError(f"column {name!r} is boolean; times must be numbers", column=name)
    if kind in "iuf":
        return np.asarray(arr, dtype=np.float64)
    import pandas as pd

    inferred = pd.api.types.infer_dtype(arr, skipna=True)
    if inferred not in ("integer", "floating", "mixed-integer-float", "decimal", "empty"):
        raise DataError(
            f"column {name!r} has type {inferred}; times must be numeric "
            "(days, months or years since the start of follow-up)",
            column=name,
        )
    try:
        num = pd.to_numeric(pd.Series(arr, copy=False), errors="raise")
    except (ValueError, TypeError) as exc:
        raise DataError(
            f"column {name!r} must be numeric; it holds non-numeric values ({exc})", column=name
        ) from None
    return np.asarray(num.to_numpy(dtype=np.float64, na_value=np.nan))


def factorize(values: Any, weights: np.ndarray | None = None) -> KeySummary:
    """Summarise a key column: codes per row, sorted distinct values, counts."""
    if is_series(values) and not isinstance(values.dtype, np.dtype):
        import pandas as pd

        if isinstance(values.dtype, pd.CategoricalDtype):
            codes = values.cat.codes.to_numpy().astype(np.int64)
            cats = [_py(c) for c in values.cat.categories]
            return _summary(codes, cats, weights, declared=True)
        codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
        return _summary(codes, [_py(u) for u in uniques], weights, declared=False)
    arr = values.to_numpy() if is_series(values) else values
    arr = np.asarray(arr) if not isinstance(arr, np.ndarray) else arr
    if arr.dtype.kind == "b":
        return _summary(arr.astype(np.int64), [False, True], weights, declared=False, complete=True)
    if arr.dtype.kind in "iu" and arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo <= max(1 << 16, arr.size // 4):
            codes = np.subtract(arr, lo, dtype=np.int64)
            return _summary(codes, list(range(lo, hi + 1)), weights, declared=False, complete=True)
    import pandas as pd

    try:
        codes, uniques = pd.factorize(arr, sort=True, use_na_sentinel=True)
    except TypeError:  # mixed, unorderable labels: keep first-seen order
        codes, uniques = pd.factorize(arr, sort=False, use_na_sentinel=True)
    return _summary(codes, [_py(u) for u in uniques], weights, declared=False)


def _summary(
    codes: np.ndarray, values: list[Any], weights: np.ndarray | None, declared: bool, complete: bool = False
) -> KeySummary:
    """``complete``: the codes are known to have no -1 (missing), so skip the shift."""
    n_val = len(values)
    if complete:
        counts = np.bincount(codes, weights=weights, minlength=n_val)
        n_missing = 0
    else:
        counts = np.bincount(codes + 1, weights=weights, minlength=n_val + 1)
        n_missing = counts[0]
        counts = counts[1:]
    counts = np.rint(counts).astype(np.int64) if weights is not None else counts.astype(np.int64)
    return KeySummary(codes, values, counts, int(n_missing), declared)


def resolve_events(
    name: str,
    ev: KeySummary,
    causes: Sequence[int] | None,
    event_map: Mapping[Any, int] | None,
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Map each distinct event value to its column (0 censored, k+1 cause k).

    Returns the lookup (aligned with ``ev.values``; -1 for unused placeholders)
    and the cause codes.
    """
    if ev.n_missing:
        raise DataError(
            f"column {name!r}: {_rows_have(ev.n_missing)} a missing event code (null or NaN); "
            "code every row: 0 = censored, 1..K = cause (a missing status is not a censoring)",
            column=name,
            n_rows=ev.n_missing,
        )
    present = [(v, int(c)) for v, c in zip(ev.values, ev.counts) if c > 0]
    if event_map is not None:
        mapping = _check_event_map(event_map)
        codes = {}
        unmapped = []
        for v, c in present:
            code = _lookup(mapping, v)
            if code is None:
                unmapped.append((v, c))
            else:
                codes[_key(v)] = code
        if unmapped:
            n_bad = sum(c for _, c in unmapped)
            raise DataError(
                f"column {name!r}: {_rows_have(n_bad)} values missing from event_map: "
                f"{_listing([v for v, _ in unmapped])}; add them to event_map "
                f"(0 = censored, 1..K = causes); event_map covers {_listing(list(mapping))}",
                column=name,
                n_rows=n_bad,
            )
        declared = sorted({c for c in mapping.values() if c > 0})
    else:
        codes = {}
        for v, _ in present:
            code = _as_code(v)
            if code is not None:
                codes[_key(v)] = code
        declared = sorted({c for c in codes.values() if c > 0})
    if causes is None:
        causes_t = tuple(declared)
        stray = [(v, c) for v, c in present if event_map is None and (codes.get(_key(v)) or 0) > 2]
        if stray:
            # undeclared, a code above 2 is more likely a data error than a third cause: refuse it
            n_bad = sum(c for _, c in stray)
            raise DataError(
                f"column {name!r}: {_rows_have(n_bad)} event code {_listing([v for v, _ in stray])}, "
                "beyond the default coding 0 = censored, 1 = the event, 2 = the competing event; "
                f"declare further causes with causes={tuple(declared)!r} or recode with event_map",
                column=name,
                n_rows=n_bad,
            )
    else:
        causes_t = _check_causes(causes)
    allowed = {0, *causes_t}
    bad = [(v, c) for v, c in present if codes.get(_key(v)) not in allowed]
    if bad:
        n_bad = sum(c for _, c in bad)
        how = (
            "declare the causes with causes=(...) or recode with event_map={value: 0..K}"
            if event_map is None
            else "map them to 0 or one of the causes in event_map"
        )
        raise DataError(
            f"column {name!r}: {_rows_have(n_bad)} event codes that are neither 0 (censored) "
            f"nor a cause in {causes_t}: {_listing([v for v, _ in bad])}; {how}",
            column=name,
            n_rows=n_bad,
        )
    col = {0: 0, **{c: i + 1 for i, c in enumerate(causes_t)}}
    lut = np.full(len(ev.values), -1, dtype=np.int64)
    for i, (v, c) in enumerate(zip(ev.values, ev.counts)):
        if c > 0:
            lut[i] = col[codes[_key(v)]]
    return lut, causes_t


def check_any_event(name: str, ev: KeySummary, lut: np.ndarray) -> None:
    """Raise if no row has an event of any cause."""
    n_events = int(ev.counts[lut > 0].sum())
    if n_events == 0:
        n = int(ev.counts.sum())
        raise DataError(
            f"column {name!r}: all {_rows(n)} are censored (code 0); there is no event of any "
            "cause to estimate — check the event coding (event_map) or the data extract",
            column=name,
            n_rows=n,
        )


def resolve_groups(name: str, gr: KeySummary) -> tuple[np.ndarray, list[Any]]:
    """Compact group codes: lookup from ``gr.values`` positions to labels."""
    if gr.n_missing:
        raise DataError(
            f"column {name!r}: {_rows_have(gr.n_missing)} a missing group label (null or NaN); "
            "give them a label (e.g. 'unknown') or remove them explicitly before counting",
            column=name,
            n_rows=gr.n_missing,
        )
    if gr.declared:
        empty = [v for v, c in zip(gr.values, gr.counts) if c == 0]
        if empty:
            raise DataError(
                f"column {name!r}: {len(empty)} declared group level(s) have 0 rows: "
                f"{_listing(empty)}; drop unused categories (pandas: "
                "series.cat.remove_unused_categories()) or add data for them",
                column=name,
                n_rows=0,
            )
    used = gr.counts > 0
    lut = np.cumsum(used) - 1
    labels = [v for v, u in zip(gr.values, used) if u]
    return lut.astype(np.int64), labels


def check_declared_levels(name: str, declared: Sequence[Any] | None, labels: Sequence[Any]) -> None:
    """Raise if a declared level (an Enum / categorical dtype) has no rows."""
    if not declared:
        return
    seen = {_key(v) for v in labels}
    empty = [v for v in declared if _key(v) not in seen]
    if empty:
        raise DataError(
            f"column {name!r}: {len(empty)} declared group level(s) have 0 rows: "
            f"{_listing(empty)}; drop the unused levels from the column's categories "
            "or add data for them",
            column=name,
            n_rows=0,
        )


# -- event codes ----------------------------------------------------------------
def _key(v: Any) -> Any:
    """Hashable key under which 1, 1.0 and np.int64(1) coincide."""
    v = _py(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _as_code(v: Any) -> int | None:
    v = _py(v)
    if isinstance(v, (bool, int)):
        return int(v) if v >= 0 else None
    if isinstance(v, float) and math.isfinite(v) and v.is_integer() and v >= 0:
        return int(v)
    return None


def _lookup(mapping: Mapping[Any, int], v: Any) -> int | None:
    key = _key(v)
    if key in mapping:
        return mapping[key]
    return None


def _check_event_map(event_map: Mapping[Any, int]) -> dict[str, Any]:
    out = {}
    for k, code in event_map.items():
        c = _as_code(code)
        if c is None:
            raise DataError(
                f"event_map[{k!r}] = {code!r}: event_map values must be integers >= 0 "
                "(0 = censored, 1..K = causes)",
                column=None,
            )
        out[_key(k)] = c
    if not out:
        raise DataError("event_map is empty; map every event value to 0..K", column=None)
    return out


def _check_causes(causes: Sequence[int]) -> tuple[int, ...]:
    try:
        out = tuple(_as_code(c) for c in causes)
    except TypeError:
        out = (None,)
    if not out or any(c is None or c == 0 for c in out) or len(set(out)) != len(out):
        raise DataError(
            f"causes must be distinct positive integers (0 is the censoring code), got {causes!r}",
            column=None,
        )
    return tuple(int(c) for c in out if c is not None)

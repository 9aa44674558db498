"""Read a cohort from CSV, Parquet, Excel, a DuckDB or SQLite table; validate every row.

The source is loaded once into an Arrow table (:mod:`leiosurv.study._sources`),
every row is checked with DuckDB SQL (:mod:`leiosurv.study._validate`), all problems are collected into
one :class:`~leiosurv.exceptions.CohortError`, and only a fully valid cohort
becomes a :class:`Cohort` (an in-memory pandas DataFrame with compact dtypes:
10^7 rows take about 0.45 GiB).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from leiosurv.exceptions import CohortError, FieldIssue, InputError
from leiosurv.files import short
from leiosurv.study._schema import (
    BINARY_FACTORS,
    COHORT_SCHEMA,
    REQUIRED_COLUMNS,
    factor_columns,
)
from leiosurv.study._schema import quote_identifier as _q
from leiosurv.study._sources import SYNTHETIC_METADATA_KEY, arrow_table, load_source
from leiosurv.study._validate import Sql, validate_table

__all__ = ["Cohort", "Selection", "read_cohort"]


@dataclass(frozen=True)
class Selection:
    """How the analysed tumours were selected from a larger source, with the flow of counts.

    Attributes
    ----------
    description : str
        Which tumours were taken, as a sentence for the Methods (no final full stop).
    registered : int
        Tumours in the source.
    excluded : tuple of (str, int)
        Tumours left out, in the order the criteria were applied: ``(reason, count)``.
    analysed : int
        Tumours analysed: ``registered`` minus every exclusion.

    Examples
    --------
    >>> Selection("Tumours on the dermal-LMS pathway", 10, (("not dermal", 3),), 7).text()
    'Tumours on the dermal-LMS pathway. Of 10 tumours registered, 3 were excluded (3 not dermal); 7 were analysed.'
    """

    description: str
    registered: int
    excluded: tuple[tuple[str, int], ...]
    analysed: int

    def __post_init__(self) -> None:
        if self.registered - sum(n for _, n in self.excluded) != self.analysed:
            raise InputError(f"selection: {self.registered} registered minus the exclusions is not "
                             f"{self.analysed} analysed")

    def text(self) -> str:
        """The selection and its flow as one or two sentences for the Methods."""
        out = sum(n for _, n in self.excluded)
        flow = f"Of {self.registered} tumours registered, "
        if out:
            flow += f"{out} were excluded ({'; '.join(f'{n} {why}' for why, n in self.excluded)}); "
        else:
            flow += "none was excluded; "
        return f"{self.description}. {flow}{self.analysed} were analysed."


@dataclass(frozen=True, repr=False, eq=False)
class Cohort:
    """A validated cohort: one row per tumour in the format of ``docs/cohort.md``.

    Attributes
    ----------
    data : pandas.DataFrame
        The schema's columns (plus the extra factors), typed: ``age``,
        ``met_time``, ``lr_time`` float64; statuses int8; ``necrosis``,
        ``mitotic_grade``, ``invasion`` and extras nullable Int8; ``sex`` and
        ``margins`` categorical; ``diagnosis_year`` int32; ``synthetic`` bool.
    source : str
        Where the rows came from (path, ``path::table``, or ``<DataFrame>``).
    synthetic : bool
        True if the file's metadata or any row's ``synthetic`` column says so.
    extras : tuple of str
        Extra candidate factor columns named by the user.
    metadata : dict
        The source's ``leiosurv.*`` key-value metadata (Parquet), else empty.
    selection : Selection or None
        How the rows were selected from a larger source (e.g. a registry), which
        the report's Methods state; None when the source's rows are the cohort.
    """

    data: pd.DataFrame
    source: str
    synthetic: bool
    extras: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    selection: Selection | None = None

    @property
    def n(self) -> int:
        """Number of tumours (rows)."""
        return len(self.data)

    @property
    def factors(self) -> tuple[str, ...]:
        """The binary factor keys available: the four of seed 001 plus the extras."""
        return tuple(BINARY_FACTORS) + self.extras

    def factor_frame(self, factors: Sequence[str] | None = None) -> pd.DataFrame:
        """The analysis frame: binary factors, outcomes, age, sex, diagnosis year.

        Parameters
        ----------
        factors : sequence of str, optional
            Factor keys (``necrosis``, ``mitotic_grade_3``, ``invasion``,
            ``positive_margins`` or an extra); default all of :attr:`factors`.

        Returns
        -------
        pandas.DataFrame
            One Int8 column per factor (1/0/``<NA>``) then ``met_time``,
            ``met_status``, ``lr_time``, ``lr_status``, ``age``, ``sex``,
            ``diagnosis_year``.

        Examples
        --------
        >>> from leiosurv.study import read_cohort, synthesize_cohort
        >>> cohort = read_cohort(synthesize_cohort(50, seed=1))
        >>> list(cohort.factor_frame(["necrosis"]).columns)[:2]
        ['necrosis', 'met_time']
        """
        wanted = tuple(self.factors if factors is None else factors)
        unknown = [f for f in wanted if f not in self.factors]
        if unknown:
            raise InputError(
                f"factors: unknown factor(s) {unknown}; available: {list(self.factors)} "
                "(name extra columns with factors=... when reading the cohort)"
            )
        view = factor_columns(self.data, tuple(f for f in self.extras if f in wanted))
        out = view[[f for f in wanted]].copy()
        for col in ("met_time", "met_status", "lr_time", "lr_status", "age", "sex", "diagnosis_year"):
            out[col] = self.data[col]
        return out

    def missing_counts(self) -> dict[str, int]:
        """Missing values per factor column (``necrosis``, ``mitotic_grade``, ...)."""
        cols = ["necrosis", "mitotic_grade", "invasion", "margins", *self.extras]
        return {c: int(self.data[c].isna().sum()) for c in cols}

    def __repr__(self) -> str:
        label = ", SYNTHETIC" if self.synthetic else ""
        return f"Cohort(n={self.n}, source={self.source!r}{label})"

    def __str__(self) -> str:
        d = self.data
        lines = [
            f"Cohort{' (SYNTHETIC)' if self.synthetic else ''}: {self.n} tumours from {self.source}",
            f"  median age {d['age'].median():.1f} y, {100 * (d['sex'] == 'male').mean():.1f}% male, "
            f"diagnosed {d['diagnosis_year'].min()}-{d['diagnosis_year'].max()}",
            f"  metastases {int((d['met_status'] == 1).sum())}, local recurrences "
            f"{int((d['lr_status'] == 1).sum())}",
            "  missing: " + ", ".join(f"{k} {v}" for k, v in self.missing_counts().items()),
        ]
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# the reader
# ---------------------------------------------------------------------------
def read_cohort(
    source: Any,
    *,
    table: str | None = None,
    sheet: str | int | None = None,
    factors: Sequence[str] = (),
) -> Cohort:
    """Read and validate a cohort (one row per tumour, see ``docs/cohort.md``).

    Parameters
    ----------
    source : str, Path, pandas.DataFrame or pyarrow.Table
        A ``.csv`` (``.csv.gz``), ``.parquet``, ``.xlsx`` file, a DuckDB
        database file (``.duckdb``/``.ddb`` or ``duckdb:///path``) or a SQLite
        database (``.sqlite``/``.sqlite3``/``.db`` or ``sqlite:///path``), or
        an in-memory frame.
    table : str, optional
        Table name, required for databases.
    sheet : str or int, optional
        Excel sheet (default the first).
    factors : sequence of str, default ()
        Extra 0/1 factor columns to carry and validate.

    Returns
    -------
    Cohort
        The validated cohort.

    Raises
    ------
    CohortError
        Listing every problem: missing columns (with the columns found), or
        ``row N.column`` issues (N is the 1-based data row; the CSV header is
        not a row), capped per check with "... and K more rows".
    InputError
        The source cannot be found or read.

    Examples
    --------
    >>> from leiosurv.study import read_cohort, synthesize_cohort
    >>> cohort = read_cohort(synthesize_cohort(100, seed=1))
    >>> cohort.n, cohort.synthetic
    (100, True)
    """
    extras = tuple(factors)
    tbl, where, meta = load_source(source, table, sheet)
    found = list(tbl.column_names)
    missing = [c for c in (*REQUIRED_COLUMNS, *extras) if c not in found]
    if missing:
        raise CohortError(
            [FieldIssue("(columns)", f"missing required column(s) {short(missing)}; columns found: {short(found)}")],
            source=where,
        )
    if tbl.num_rows == 0:
        raise CohortError([FieldIssue("(rows)", "the cohort has no rows")], source=where)
    tbl = tbl.append_column("__row", pa.array(np.arange(1, tbl.num_rows + 1, dtype=np.int64)))
    con = duckdb.connect(config={"preserve_insertion_order": True})
    try:
        con.register("src", tbl)
        issues = validate_table(con, extras)
        if issues:
            raise CohortError([_shortened(e) for e in issues], source=where)
        data = _normalise(con, found, extras)
    finally:
        con.close()
    synthetic = meta.get(SYNTHETIC_METADATA_KEY, "").lower() == "true" or bool(
        "synthetic" in data and data["synthetic"].fillna(False).astype(bool).any()
    )
    return Cohort(data=data, source=where, synthetic=synthetic, extras=extras, metadata=meta)


def _shortened(issue: FieldIssue) -> FieldIssue:
    """The issue with a long value (a 10,000-character cell) cut to what a message may echo."""
    if len(repr(issue.value)) > 200:
        issue = replace(issue, value=short(issue.value))
    return replace(issue, path=short(issue.path, 120)) if len(issue.path) > 120 else issue


def _normalise(con: duckdb.DuckDBPyConnection, found: list[str], extras: tuple[str, ...]) -> pd.DataFrame:
    sql = Sql(dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE src)").fetchall()))
    parts = []
    for spec in COHORT_SCHEMA:
        if spec.name not in found:
            continue
        c = spec.name
        if spec.kind == "id":
            parts.append(f"{_q(c)} AS {_q(c)}")
        elif spec.kind == "category":
            parts.append(f"NULLIF({sql.category(c)}, '') AS {_q(c)}")
        elif spec.kind == "bool":
            parts.append(f"CAST({sql.numeric('bool', c)} AS BOOLEAN) AS {_q(c)}")
        else:
            parts.append(f"CAST(NULLIF({sql.numeric(spec.kind, c)}, 'NaN'::DOUBLE) AS DOUBLE) AS {_q(c)}")
    for c in extras:
        parts.append(f"CAST(NULLIF({sql.numeric('binary', c)}, 'NaN'::DOUBLE) AS DOUBLE) AS {_q(c)}")
    # row order is kept: preserve_insertion_order is set on the connection (no sort of 10^7 rows)
    df = arrow_table(con.sql("SELECT " + ", ".join(parts) + " FROM src")).to_pandas()
    for c in ("necrosis", "mitotic_grade", "invasion", *extras):
        df[c] = pd.array(df[c].to_numpy(dtype=float, na_value=np.nan), dtype="Float64").astype("Int8")
    for c in ("met_status", "lr_status"):
        df[c] = df[c].astype(np.int8)
    df["diagnosis_year"] = df["diagnosis_year"].astype(np.int32)
    df["sex"] = pd.Categorical(df["sex"], categories=["male", "female"])
    df["margins"] = pd.Categorical(df["margins"], categories=["negative", "positive"])
    if "synthetic" in df:
        df["synthetic"] = df["synthetic"].fillna(False).astype(bool)
    return df

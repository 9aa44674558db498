"""Row-level validation of a cohort, as DuckDB SQL over an Arrow table.

Every check is one ``count(*) FILTER (WHERE ...)`` in a single aggregate scan,
then the first offending rows of the failing checks are fetched; memory stays
at the size of the table itself, so 10^7-row files validate in seconds.

Rows are numbered 1, 2, ... in the order the source returns them (the first
data row of a CSV file is row 1, the header is not counted); the row number
is in the column ``__row`` of the scanned table.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from leiosurv.exceptions import FieldIssue
from leiosurv.study._schema import COHORT_SCHEMA, ColumnSpec
from leiosurv.study._schema import quote_identifier as _q

__all__ = ["validate_table", "MAX_EXAMPLES_PER_CHECK", "MAX_ISSUES"]

MAX_EXAMPLES_PER_CHECK = 5
"""Offending rows listed per check; the rest are counted ("... and 120 more")."""
MAX_ISSUES = 60
"""Issues listed in one :class:`~leiosurv.exceptions.CohortError` at most."""


_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL", "BOOLEAN")
_FLOAT_TYPES = ("FLOAT", "DOUBLE")


_CATEGORIES = {s.name: s.allowed for s in COHORT_SCHEMA if s.kind == "category"}


class Sql:
    """SQL expressions for the columns of ``src``, chosen by each column's DuckDB type.

    Text columns (CSV is read as text) are parsed with ``TRY_CAST``; numeric and
    boolean columns are cast directly, which is several times faster on large files.
    """

    def __init__(self, types: dict[str, str]) -> None:
        self.types = {k: v.upper() for k, v in types.items()}

    def _is(self, col: str, kinds: tuple[str, ...]) -> bool:
        return self.types.get(col, "VARCHAR").split("(")[0] in kinds

    def numeric_type(self, col: str) -> bool:
        """Whether the column is stored as a number or boolean (never "not a number")."""
        return self._is(col, _NUMERIC_TYPES)

    def text(self, col: str) -> str:
        if self._is(col, ("VARCHAR",)):
            return f"lower(trim({_q(col)}))"
        return f"lower(trim(CAST({_q(col)} AS VARCHAR)))"

    def num(self, col: str) -> str:
        if self.numeric_type(col):
            return f"CAST({_q(col)} AS DOUBLE)"
        return f"TRY_CAST({_q(col)} AS DOUBLE)"

    def binary_num(self, col: str) -> str:
        if self.numeric_type(col):
            return self.num(col)
        t = self.text(col)
        return (
            f"(CASE WHEN {t} IN ('true', 't') THEN 1.0 WHEN {t} IN ('false', 'f') THEN 0.0 "
            f"ELSE TRY_CAST({_q(col)} AS DOUBLE) END)"
        )

    def canonical(self, col: str) -> str:
        """True where a category already holds an allowed value exactly (the fast path)."""
        allowed = _CATEGORIES.get(col)
        if not allowed or not self._is(col, ("VARCHAR",)):
            return "FALSE"
        return f"{_q(col)} IN ({', '.join(repr(a) for a in allowed)})"

    def missing(self, col: str, kind: str) -> str:
        c = _q(col)
        if kind in ("category", "id"):
            if self.numeric_type(col):
                return f"({c} IS NULL)"
            return f"({c} IS NULL OR (NOT {self.canonical(col)} AND {self.text(col)} = ''))"
        if self.numeric_type(col) and not self._is(col, _FLOAT_TYPES):
            return f"({c} IS NULL)"
        return f"({c} IS NULL OR isnan({self.num(col)}))"

    def category(self, col: str) -> str:
        """A category column normalised (lower case; ``m``/``f`` for sex); exact values pass as they are."""
        t = self.text(col)
        norm = f"(CASE {t} WHEN 'm' THEN 'male' WHEN 'f' THEN 'female' ELSE {t} END)" if col == "sex" else t
        if self.canonical(col) == "FALSE":
            return norm
        return f"(CASE WHEN {self.canonical(col)} THEN {_q(col)} ELSE {norm} END)"

    def numeric(self, spec_kind: str, col: str) -> str:
        """A numeric-like column as DOUBLE (booleans and true/false accepted for binary)."""
        return self.binary_num(col) if spec_kind in ("binary", "bool") else self.num(col)


@dataclass(frozen=True)
class _Check:
    column: str
    message: str
    condition: str
    value: str


def _checks_for(spec: ColumnSpec, sql: Sql) -> list[_Check]:
    col, kind = spec.name, spec.kind
    c = _q(col)
    missing = sql.missing(col, kind)
    out: list[_Check] = []
    if not spec.nullable:
        out.append(_Check(col, "is missing (required)", missing, "NULL"))
    present = f"NOT {missing}"
    if kind == "id":
        out.append(_Check(
            col, "duplicate id",
            f"{present} AND CAST({c} AS VARCHAR) IN (SELECT CAST({c} AS VARCHAR) FROM src "
            f"GROUP BY 1 HAVING count(*) > 1)",
            f"CAST({c} AS VARCHAR)",
        ))
        return out
    if kind == "category":
        norm = sql.category(col)
        allowed = ", ".join(f"'{a}'" for a in spec.allowed or ())
        accepted = " or ".join(spec.allowed or ()) + (" (m/f accepted)" if col == "sex" else "")
        out.append(_Check(col, f"must be {accepted}",
                          f"{present} AND NOT {sql.canonical(col)} AND {norm} NOT IN ({allowed})",
                          f"CAST({c} AS VARCHAR)"))
        return out
    num = sql.numeric(kind, col)
    raw = f"CAST({c} AS VARCHAR)"
    if not sql.numeric_type(col):
        out.append(_Check(col, "is not a number", f"{c} IS NOT NULL AND {num} IS NULL", raw))
    ok = f"{num} IS NOT NULL AND NOT isnan({num})"
    if kind == "bool":
        out.append(_Check(col, "must be true or false", f"{ok} AND {num} NOT IN (0, 1)", raw))
        return out
    out.append(_Check(col, "must be finite", f"{ok} AND isinf({num})", raw))
    fin = f"{ok} AND NOT isinf({num})"
    if kind in ("integer", "status", "binary"):
        out.append(_Check(col, "must be a whole number", f"{fin} AND {num} <> floor({num})", raw))
    if spec.allowed is not None:
        allowed = ", ".join(str(a) for a in spec.allowed)
        out.append(_Check(col, f"must be one of {allowed}", f"{fin} AND {num} = floor({num}) AND {num} NOT IN "
                          f"({allowed})", raw))
    if spec.minimum is not None:
        out.append(_Check(col, f"must be >= {spec.minimum:g}", f"{fin} AND {num} < {spec.minimum}", raw))
    if spec.maximum is not None:
        out.append(_Check(col, f"must be <= {spec.maximum:g}", f"{fin} AND {num} > {spec.maximum}", raw))
    return out


def _consistency_checks(sql: Sql) -> list[_Check]:
    """Death ends all follow-up: checks between the two outcomes of one row.

    A death (status 2) in one outcome at time t means the patient was alive
    without that outcome until t and died at t.  The other outcome's record
    therefore cannot continue past t (censored or event later than t), and if it
    also records death, it records it at the same t.  Both rules reduce to "the
    other outcome's time does not exceed t".  Censoring one outcome *earlier*
    than a death seen in the other is allowed (follow-up for that outcome may
    have stopped), and an outcome event (status 1) in one does not constrain
    the other.
    """
    out = []
    for dead, other, dead_name in (("met", "lr", "metastasis"), ("lr", "met", "local recurrence")):
        dt, ds, ot = f"{dead}_time", f"{dead}_status", f"{other}_time"
        valid = " AND ".join(
            f"{sql.num(x)} IS NOT NULL AND isfinite({sql.num(x)})"
            for x in (f"{dead}_time", f"{dead}_status", f"{other}_time", f"{other}_status")
        )
        out.append(_Check(
            ot,
            f"follow-up continues after the death recorded in the {dead_name} outcome "
            f"({ds} = 2 at {dt})",
            f"{valid} AND {sql.num(ds)} = 2 AND {sql.num(ot)} > {sql.num(dt)}",
            f"printf('%s > %s', CAST({_q(ot)} AS VARCHAR), CAST({_q(dt)} AS VARCHAR))",
        ))
    return out


def _row_order(issue: FieldIssue) -> tuple[int, int]:
    """Sort key: issues naming ``row N.column`` by N, then the summary lines (stable for equal keys)."""
    path = issue.path
    if path.startswith("row ") and "." in path:
        head = path[4:].split(".", 1)[0]
        if head.isdigit():
            return 0, int(head)
    return 1, 0


def validate_table(con: duckdb.DuckDBPyConnection, extras: tuple[str, ...] = ()) -> list[FieldIssue]:
    """Run every check on the table ``src`` (with a 1-based ``__row`` column).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection where ``src`` is registered; every schema column present.
    extras : tuple of str
        Extra binary factor columns to check as 0/1-or-missing.

    Returns
    -------
    list of FieldIssue
        Empty when the table is valid; otherwise paths ``row N.column`` in row order, at most
        :data:`MAX_EXAMPLES_PER_CHECK` rows per check followed by a count of the
        rest, and at most :data:`MAX_ISSUES` issues in all.
    """
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE src)").fetchall())
    present = set(types)
    sql = Sql(types)
    specs = [s for s in COHORT_SCHEMA if s.name in present]
    specs += [ColumnSpec(x, "binary", False, True, "extra factor", allowed=(0, 1)) for x in extras]
    checks = [ch for s in specs for ch in _checks_for(s, sql)] + _consistency_checks(sql)
    counts = con.execute(
        "SELECT " + ", ".join(f"count(*) FILTER (WHERE {ch.condition})" for ch in checks) + " FROM src"
    ).fetchall()[0]
    issues: list[FieldIssue] = []
    for ch, count in zip(checks, counts):
        if not count:
            continue
        rows = con.execute(
            f"SELECT __row, {ch.value} FROM src WHERE {ch.condition} ORDER BY __row LIMIT {MAX_EXAMPLES_PER_CHECK}"
        ).fetchall()
        for row, value in rows:
            issues.append(FieldIssue(f"row {row}.{ch.column}", ch.message, value)
                          if value is not None else FieldIssue(f"row {row}.{ch.column}", ch.message))
        if count > len(rows):
            issues.append(FieldIssue(ch.column, f"... and {count - len(rows)} more rows: {ch.message}"))
    # listed in row order (the checks ran column by column); the "... and N more" lines after the rows
    issues.sort(key=_row_order)
    if len(issues) > MAX_ISSUES:
        rest = len(issues) - MAX_ISSUES
        issues = issues[:MAX_ISSUES] + [FieldIssue("(cohort)", f"... and {rest} more problems not listed")]
    return issues

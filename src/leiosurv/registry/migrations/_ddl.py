"""What the migrations share: a table given as data, created and dropped with the registry's constraint names.

A revision is a frozen snapshot of the schema at that revision, so it never imports the live
``leiosurv.registry._tables``; it states its tables as :class:`Table` data and these helpers write the
``sa.Column``, ``op.f`` names and index loops once.  Revisions already applied depend on what a helper
emits: never change it (a new need gets a new helper or argument with a default that emits what it did).

The names follow the registry's naming convention: ``pk_<table>``, ``ck_<table>_<name>``,
``uq_<table>_<columns>`` and ``fk_<table>_<columns>_<referred table>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from alembic import op


@dataclass(frozen=True)
class Col:
    """A column's type, whether it may be NULL, and its server default (SQL, or a text value)."""

    type_: sa.types.TypeEngine
    nullable: bool = False
    default: object = None


def null(col: Col) -> Col:
    """*col*, NULL allowed."""
    return replace(col, nullable=True)


def string(length: int, default: str | None = None) -> Col:
    """A ``VARCHAR(length)`` column (NOT NULL), with an optional server default."""
    return Col(sa.String(length=length), default=default)


INT, SMALLINT, TEXT, DATE = Col(sa.Integer()), Col(sa.SmallInteger()), Col(sa.Text()), Col(sa.Date())
BOOL, JSON, TIMESTAMP = Col(sa.Boolean()), Col(sa.JSON()), Col(sa.DateTime(timezone=True))


def one_of(col: str, values: tuple[str | int, ...], *, nullable: bool = False) -> str:
    """The check that *col* holds one of *values* (or, *nullable*, is NULL)."""
    vals = ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in values)
    return f"{col} IS NULL OR {col} IN ({vals})" if nullable else f"{col} IN ({vals})"


@dataclass(frozen=True)
class Table:
    """A table of a revision: columns in order, then its constraints and indexes.

    *refs* are foreign keys (``ON DELETE CASCADE``): ``("tumour_id", "patient_id")`` refers to
    ``tumour (id, patient_id)``: the first column names the referred table and its ``id``, the others keep
    their names (the composite keys that tie a record to a tumour of its own patient).  *unique_where*
    makes an index of *indexes* unique over the rows its SQL condition holds for (a partial index).
    The constraints are created in the order checks, foreign keys, primary key, unique constraints.
    """

    name: str
    columns: Mapping[str, Col]
    checks: Mapping[str, str] = field(default_factory=dict)
    refs: tuple[tuple[str, ...], ...] = ()
    key: tuple[str, ...] = ("id",)
    unique: tuple[tuple[str, ...], ...] = ()
    indexes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unique_where: Mapping[str, str] = field(default_factory=dict)

    def create(self) -> None:
        t = self.name
        op.create_table(
            t,
            *(sa.Column(n, c.type_, server_default=c.default, nullable=c.nullable) for n, c in self.columns.items()),
            *(sa.CheckConstraint(sql, name=op.f(f"ck_{t}_{n}")) for n, sql in self.checks.items()),
            *(_foreign_key(t, cols) for cols in self.refs),
            sa.PrimaryKeyConstraint(*self.key, name=op.f(f"pk_{t}")),
            *(sa.UniqueConstraint(*cols, name=op.f(f"uq_{t}_{'_'.join(cols)}")) for cols in self.unique),
        )
        if self.indexes:
            with op.batch_alter_table(t, schema=None) as batch_op:
                for n, cols in self.indexes.items():
                    batch_op.create_index(n, list(cols), unique=n in self.unique_where, **self._where(n))

    def drop(self) -> None:
        if self.indexes:
            with op.batch_alter_table(self.name, schema=None) as batch_op:
                for n in reversed(self.indexes):
                    batch_op.drop_index(n, **self._where(n))
        op.drop_table(self.name)

    def _where(self, index: str) -> dict:
        cond = self.unique_where.get(index)
        return {} if cond is None else {"sqlite_where": sa.text(cond), "postgresql_where": sa.text(cond)}


def _foreign_key(table: str, cols: tuple[str, ...]) -> sa.ForeignKeyConstraint:
    to = cols[0].removesuffix("_id")
    return sa.ForeignKeyConstraint(list(cols), [f"{to}.id", *(f"{to}.{c}" for c in cols[1:])],
                                   name=op.f(f"fk_{table}_{'_'.join(cols)}_{to}"), ondelete="CASCADE")

"""The history keeps assessments, and the database keeps the history: append-only, as the audit trail.

* ``record_history.table_name`` may now be ``assessment``: voiding a tumour moves
  every assessment of it, with the clinical core's result, to the history before
  the rows leave the record (before this revision the earlier assessments went
  with the tumour through ``ON DELETE CASCADE``, kept nowhere).
* ``record_history`` and ``identity_history`` refuse UPDATE and DELETE (and, on
  PostgreSQL, TRUNCATE) with ``leiosurv: the history of the records is
  append-only``: triggers, as ``audit_event``'s of 0003.

SQLite cannot change a CHECK constraint in place: ``record_history`` is copied
into a new table with the new constraint (no other table refers to it, so
nothing else is rebuilt), then its triggers are made; PostgreSQL drops and
re-adds the constraint.  The downgrade refuses while an assessment entry exists
(it would have to drop it).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 18:30:00
"""

import sqlalchemy as sa
from alembic import op

from leiosurv.registry.migrations._ddl import one_of

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_BEFORE = ("patient", "tumour", "treatment", "event", "observation", "encounter")
_AFTER = ("patient", "tumour", "assessment", "treatment", "event", "observation", "encounter")
_NAME = "ck_record_history_table_name"


def _set(tables: tuple[str, ...]) -> None:
    check = one_of("table_name", tables)
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("record_history", recreate="always") as b:
            b.drop_constraint(op.f(_NAME), type_="check")
            b.create_check_constraint(op.f(_NAME), check)
    else:
        op.drop_constraint(op.f(_NAME), "record_history", type_="check")
        op.create_check_constraint(op.f(_NAME), "record_history", check)


_MSG = "leiosurv: the history of the records is append-only (no update or delete)"
_HISTORIES = ("record_history", "identity_history")


def _append_only(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for when in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER trg_{table}_no_{when.lower()} BEFORE {when} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{_MSG}'); END")
    else:
        op.execute(f"CREATE TRIGGER trg_{table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION trg_history_append_only()")
        op.execute(f"CREATE TRIGGER trg_{table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION trg_history_append_only()")


def _drop_append_only(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for when in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_no_{when}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_append_only ON {table}")


def upgrade() -> None:
    _set(_AFTER)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION trg_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   f"RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE = '{_MSG}'; END $$")
    for table in _HISTORIES:
        _append_only(table)


def downgrade() -> None:
    n = op.get_bind().execute(sa.text("SELECT count(*) FROM record_history WHERE table_name = 'assessment'"))
    if n.scalar_one():
        raise RuntimeError("leiosurv: the history holds voided assessments; downgrading below 0012 would drop them")
    for table in _HISTORIES:
        _drop_append_only(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS trg_history_append_only()")
    _set(_BEFORE)

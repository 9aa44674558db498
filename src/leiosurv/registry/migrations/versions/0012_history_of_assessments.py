"""The history keeps assessments: a voided tumour's assessments (current and earlier) go to it whole.

``record_history.table_name`` may now be ``assessment``: voiding a tumour moves
every assessment of it, with the clinical core's result, to the append-only
history before the rows leave the record (before this revision the earlier
assessments went with the tumour through ``ON DELETE CASCADE``, kept nowhere).

SQLite cannot change a CHECK constraint in place: ``record_history`` is copied
into a new table with the new constraint (no trigger or other table refers to
it, so nothing else is rebuilt); PostgreSQL drops and re-adds the constraint.
The downgrade refuses while an assessment entry exists (it would have to drop it).

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


def upgrade() -> None:
    _set(_AFTER)


def downgrade() -> None:
    n = op.get_bind().execute(sa.text("SELECT count(*) FROM record_history WHERE table_name = 'assessment'"))
    if n.scalar_one():
        raise RuntimeError("leiosurv: the history holds voided assessments; downgrading below 0012 would drop them")
    _set(_BEFORE)

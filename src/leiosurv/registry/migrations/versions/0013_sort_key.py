"""The patient list's natural order, stored and indexed.

* ``patient.sort_key``: the pseudonym in lower case with each run of digits
  zero-padded to 10 (``SYN-1-2`` -> ``syn-0000000001-0000000002``), written by the
  registry with the pseudonym (``registry._db.natural_key``: when a patient is
  added and when its pseudonym is corrected); existing rows are filled here.
* ``ix_patient_sort`` on (synthetic, sort_key, pseudonym): the list's order, so
  a page is read from the index instead of computing and sorting the key of
  every patient per request (at 10^5 patients 376 ms before, see
  benchmarks/RESULTS.md).

The column is NOT NULL on both databases.  SQLite adds a NOT NULL column only
with a default (``''``); a trigger refuses an insert that leaves it empty, so a
patient written past the registry is refused on SQLite as on PostgreSQL.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 18:50:00
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_DIGITS = 10
_BATCH = 5000
_MSG = "leiosurv: patient.sort_key: the registry writes it with the pseudonym"


def _key(pseudonym: str) -> str:
    """Frozen copy of ``leiosurv.registry._db.natural_key`` as of this revision."""
    return re.sub(r"\d+", lambda m: m.group().zfill(_DIGITS), pseudonym.lower())


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:  # plain ALTER TABLE: a batch copy of the table would lose its triggers
        op.execute("ALTER TABLE patient ADD COLUMN sort_key VARCHAR(400) NOT NULL DEFAULT ''")
    else:
        op.add_column("patient", sa.Column("sort_key", sa.String(400), nullable=True))
    rows = bind.execute(sa.text("SELECT id, pseudonym FROM patient ORDER BY id")).all()
    for k in range(0, len(rows), _BATCH):
        bind.execute(sa.text("UPDATE patient SET sort_key = :k WHERE id = :i"),
                     [{"k": _key(r.pseudonym), "i": r.id} for r in rows[k:k + _BATCH]])
    if sqlite:
        op.execute(f"CREATE TRIGGER trg_patient_sort_key BEFORE INSERT ON patient WHEN NEW.sort_key = '' "
                   f"BEGIN SELECT RAISE(ABORT, '{_MSG}'); END")
    else:
        op.alter_column("patient", "sort_key", nullable=False)
    op.create_index("ix_patient_sort", "patient", ["synthetic", "sort_key", "pseudonym"])


def downgrade() -> None:
    op.drop_index("ix_patient_sort", table_name="patient")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER trg_patient_sort_key")
    op.execute("ALTER TABLE patient DROP COLUMN sort_key")

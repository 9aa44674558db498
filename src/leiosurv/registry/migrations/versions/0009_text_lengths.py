"""Every text field's documented maximum length, enforced by both databases.

The registry's methods and its import check each text against
``leiosurv.registry._values.MAX_CHARS`` first; the database refuses the same
over-long values written any other way:

* **PostgreSQL**: a CHECK ``char_length(col) <= N`` per column
  (``ck_<table>_<column>_length``), added ``NOT VALID``: every row written from
  now on is checked, a row stored before keeps its value (as on SQLite, whose
  triggers see only new writes), and the tables are not scanned or rewritten;
* **SQLite**: SQLite cannot add a CHECK to an existing table without rebuilding
  it (and dropping the rule triggers of 0001 with it), so each table gets one
  ``BEFORE INSERT`` and one ``BEFORE UPDATE OF`` trigger (``len_<table>_insert``
  / ``len_<table>_update``) that aborts with ``leiosurv: <table>.<column>: at
  most N characters``.  ``length()`` counts characters in SQLite as
  ``char_length`` does in PostgreSQL.

The maxima are written out here (a migration does not change when the code
does); ``tests/registry/test_registry_values.py`` checks that both databases
accept exactly ``MAX_CHARS`` characters and refuse one more.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-04
"""

from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None

MAX_CHARS = {
    "patient": {"pseudonym": 64, "note": 2000},
    "patient_identity": {"name": 200},
    "tumour": {"label": 64, "site": 200, "confirmed_diagnosis": 64},
    "treatment": {"agent": 100, "note": 2000},
    "event": {"cause": 200, "note": 2000},
    "observation": {"label": 64, "description": 1000, "site": 200},
    "encounter": {"plan_item": 32, "kind": 100, "modality": 200, "provider": 200, "findings": 4000},
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, cols in MAX_CHARS.items():
            for col, n in cols.items():
                op.execute(f"ALTER TABLE {table} ADD CONSTRAINT ck_{table}_{col}_length "
                           f"CHECK (char_length({col}) <= {n}) NOT VALID")
        return
    for table, cols in MAX_CHARS.items():
        when = " OR ".join(f"length(NEW.{c}) > {n}" for c, n in cols.items())
        raise_ = " ".join(f"WHEN length(NEW.{c}) > {n} THEN RAISE(ABORT, 'leiosurv: {table}.{c}: at most {n} "
                          f"characters')" for c, n in cols.items())
        for op_name, on in (("insert", "INSERT"), ("update", f"UPDATE OF {', '.join(cols)}")):
            op.execute(f"CREATE TRIGGER len_{table}_{op_name} BEFORE {on} ON {table} FOR EACH ROW WHEN {when} "
                       f"BEGIN SELECT CASE {raise_} END; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, cols in MAX_CHARS.items():
            for col in cols:
                op.execute(f"ALTER TABLE {table} DROP CONSTRAINT ck_{table}_{col}_length")
        return
    for table in MAX_CHARS:
        for op_name in ("insert", "update"):
            op.execute(f"DROP TRIGGER len_{table}_{op_name}")

"""Every text field's documented maximum length, enforced by both databases.

The registry's methods and its import check each text against
``leiosurv.registry._values.MAX_CHARS`` first; the database refuses the same
over-long values written any other way:

* both databases get, per table, a trigger before each insert and each update
  of those columns that aborts with ``leiosurv: <table>.<column>: at most N
  characters`` (PostgreSQL: ``len_<table>`` and its plpgsql function,
  ``char_length``; SQLite: ``len_<table>_insert`` / ``len_<table>_update``,
  ``length``, which counts characters too).  Rows stored before keep their
  values on both; every write from now on is checked.

Not CHECK constraints: SQLite cannot add one without rebuilding the table (and
dropping the rule triggers of 0001 with it); on PostgreSQL a valid CHECK would
make the upgrade of a registry that holds an over-long text from before fail,
and a ``NOT VALID`` one is reflected with options that SQLAlchemy cannot read
(the schema comparison of ``tests/registry/test_registry_schema.py`` fails on
its warning).  The triggers give the same rule, the same message and the same
treatment of old rows on both databases.

The maxima are written out here (a migration does not change when the code
does); ``tests/registry/test_registry_values.py`` checks that both databases
accept exactly ``MAX_CHARS`` characters and refuse one more.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-04
"""

from alembic import op

revision = "0009"
down_revision = "0007"
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


def _message(table: str, col: str, n: int) -> str:
    return f"leiosurv: {table}.{col}: at most {n} characters"


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for table, cols in MAX_CHARS.items():
        if pg:
            checks = " ".join(f"IF char_length(NEW.{c}) > {n} THEN RAISE EXCEPTION USING ERRCODE = "
                              f"'check_violation', MESSAGE = '{_message(table, c, n)}'; END IF;"
                              for c, n in cols.items())
            op.execute(f"CREATE FUNCTION len_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {checks} "
                       f"RETURN NEW; END $$")
            op.execute(f"CREATE TRIGGER len_{table} BEFORE INSERT OR UPDATE OF {', '.join(cols)} ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION len_{table}()")
            continue
        when = " OR ".join(f"length(NEW.{c}) > {n}" for c, n in cols.items())
        raise_ = " ".join(f"WHEN length(NEW.{c}) > {n} THEN RAISE(ABORT, '{_message(table, c, n)}')"
                          for c, n in cols.items())
        for op_name, on in (("insert", "INSERT"), ("update", f"UPDATE OF {', '.join(cols)}")):
            op.execute(f"CREATE TRIGGER len_{table}_{op_name} BEFORE {on} ON {table} FOR EACH ROW WHEN {when} "
                       f"BEGIN SELECT CASE {raise_} END; END")


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for table in MAX_CHARS:
        if pg:
            op.execute(f"DROP TRIGGER len_{table} ON {table}")
            op.execute(f"DROP FUNCTION len_{table}()")
            continue
        for op_name in ("insert", "update"):
            op.execute(f"DROP TRIGGER len_{table}_{op_name}")

"""An assessment's result JSON is stored once per distinct date-independent body.

The ~20-40 KB result of every assessment was stored whole in ``assessment.result``.
Now every ISO date in it is replaced by its index in the row's own ``dates``
(``leiosurv.registry._results.split_result``), the remaining body is stored once in
``assessment_content`` under its SHA-256, and ``assessment`` keeps ``content``
(that SHA-256) and ``dates``.  Readers get exactly the same JSON back
(``join_result``).  Existing rows are converted; the downgrade converts back.

SQLite cannot add a NOT NULL column with a foreign key, so both columns are
nullable and a trigger (both databases) refuses an assessment without them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 20:20:00
"""

import json

import sqlalchemy as sa
from alembic import op

from leiosurv.registry.migrations._ddl import TEXT, Table, string

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_CONTENT = Table("assessment_content", {"sha256": string(64), "body": TEXT},
                 checks={"sha256": "length(sha256) = 64"}, key=("sha256",))
_MSG = "leiosurv: an assessment needs its result (content and dates)"
_COND = "NEW.content IS NULL OR NEW.dates IS NULL"


def _json(v):
    return json.loads(v) if isinstance(v, str) else v


def upgrade() -> None:
    from leiosurv.registry.migrations import _result_bodies as _results  # the body format of 0004 to 0006

    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    _CONTENT.create()
    if sqlite:  # ADD COLUMN with REFERENCES (alembic would recreate the table, cascading to encounter)
        op.execute("ALTER TABLE assessment ADD COLUMN content VARCHAR(64) REFERENCES assessment_content (sha256)")
    else:
        op.add_column('assessment', sa.Column('content', sa.String(length=64), nullable=True))
        op.create_foreign_key(op.f('fk_assessment_content_assessment_content'), 'assessment',
                              'assessment_content', ['content'], ['sha256'])
    op.add_column('assessment', sa.Column('dates', sa.Text(), nullable=True)) if not sqlite else \
        op.execute("ALTER TABLE assessment ADD COLUMN dates TEXT")
    rows = bind.execute(sa.text("SELECT id, result FROM assessment ORDER BY id")).all()
    if rows:
        split = {r.id: _results.split_result(_json(r.result)) for r in rows}
        bind.execute(sa.text("INSERT INTO assessment_content (sha256, body) VALUES (:s, :b)"),
                     [{"s": s, "b": b} for s, b in {s: b for s, b, _d in split.values()}.items()])
        bind.execute(sa.text("UPDATE assessment SET content = :s, dates = :d WHERE id = :i"),
                     [{"s": s, "d": d, "i": i} for i, (s, _b, d) in split.items()])
    op.execute("ALTER TABLE assessment DROP COLUMN result")
    if sqlite:
        for when, on in (("INSERT", ""), ("UPDATE", " OF content, dates")):
            op.execute(f"CREATE TRIGGER trg_assessment_result_{when.lower()} BEFORE {when}{on} ON assessment "
                       f"FOR EACH ROW WHEN {_COND} BEGIN SELECT RAISE(ABORT, '{_MSG}'); END")
    else:
        op.execute("CREATE FUNCTION trg_assessment_result() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   f"IF {_COND} THEN RAISE EXCEPTION USING ERRCODE = 'not_null_violation', MESSAGE = '{_MSG}'; "
                   "END IF; RETURN NEW; END $$")
        op.execute("CREATE TRIGGER trg_assessment_result BEFORE INSERT OR UPDATE OF content, dates ON assessment "
                   "FOR EACH ROW EXECUTE FUNCTION trg_assessment_result()")


def downgrade() -> None:
    from leiosurv.registry.migrations import _result_bodies as _results

    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS trg_assessment_result_insert")
        op.execute("DROP TRIGGER IF EXISTS trg_assessment_result_update")
        op.execute("ALTER TABLE assessment ADD COLUMN result JSON NOT NULL DEFAULT '{}'")
    else:
        op.execute("DROP TRIGGER IF EXISTS trg_assessment_result ON assessment")
        op.execute("DROP FUNCTION IF EXISTS trg_assessment_result()")
        op.add_column('assessment', sa.Column('result', sa.JSON(), nullable=True))
    rows = bind.execute(sa.text("SELECT a.id, c.body, a.dates FROM assessment a "
                                "JOIN assessment_content c ON c.sha256 = a.content")).all()
    if rows:
        bind.execute(sa.text("UPDATE assessment SET result = :r WHERE id = :i"),
                     [{"r": json.dumps(_results.join_result(r.body, r.dates)), "i": r.id} for r in rows])
    if sqlite:  # a column in a foreign key cannot be dropped in place: recreate the table without the new
        # columns; dropping the old table cascades to the encounters (foreign keys are on), so keep them aside
        op.execute("CREATE TEMP TABLE _leiosurv_encounter AS SELECT * FROM encounter")
        with op.batch_alter_table('assessment', recreate="always") as b:
            b.drop_column('content')
            b.drop_column('dates')
        op.execute("INSERT INTO encounter SELECT * FROM _leiosurv_encounter WHERE id NOT IN (SELECT id FROM encounter)")
        op.execute("DROP TABLE _leiosurv_encounter")
    else:
        op.alter_column('assessment', 'result', nullable=False)
        op.drop_constraint(op.f('fk_assessment_content_assessment_content'), 'assessment', type_='foreignkey')
        op.drop_column('assessment', 'dates')
        op.drop_column('assessment', 'content')
    _CONTENT.drop()

"""Assessment results stored whole again; the append-only history of corrections.

* ``assessment.result``: the clinical core's JSON text as the core wrote it.  The
  content store of 0004 (``assessment_content``, ``assessment.content`` and
  ``dates``, and the trigger that required them) is removed; stored rows are
  converted (``_result_bodies.join_result``); the downgrade converts back.
* ``record_history``: every previous version of a corrected or voided record
  (patient, tumour, treatment, event, observation, encounter) as JSON, with the
  reason, who and when.  ``identity_history``: previous names and birth dates,
  kept apart as the identity is.  Both are only ever appended to.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import json

import sqlalchemy as sa
from alembic import op

from leiosurv.registry.migrations._ddl import DATE, INT, JSON, TEXT, TIMESTAMP, Table, null, one_of, string

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_HISTORY = (
    Table("record_history", {
        "id": INT, "patient_id": INT, "table_name": string(16), "record_id": INT, "action": string(10),
        "reason": TEXT, "by_user": string(64), "at": TIMESTAMP, "entered_on": DATE, "previous": JSON,
    }, checks={
        "table_name": one_of("table_name", ("patient", "tumour", "treatment", "event", "observation", "encounter")),
        "action": one_of("action", ("corrected", "voided")),
        "reason_by": "length(reason) > 0 AND length(by_user) > 0",
    }, refs=(("patient_id",),), indexes={"ix_record_history_patient": ("patient_id", "id")}),
    Table("identity_history", {
        "id": INT, "patient_id": INT, "name": null(TEXT), "birth_date": null(DATE), "reason": TEXT,
        "by_user": string(64), "at": TIMESTAMP,
    }, checks={"reason_by": "length(reason) > 0 AND length(by_user) > 0"}, refs=(("patient_id",),),
        indexes={"ix_identity_history_patient": ("patient_id", "id")}),
)
_CONTENT_MSG = "leiosurv: an assessment needs its result (content and dates)"
_CONTENT_COND = "NEW.content IS NULL OR NEW.dates IS NULL"


def _recreate_sqlite(change) -> None:
    """SQLite: recreate ``assessment`` (a column in a foreign key cannot be dropped in place); dropping the
    old table cascades to the encounters (foreign keys are on), so they are kept aside and put back."""
    op.execute("CREATE TEMP TABLE _leiosurv_encounter AS SELECT * FROM encounter")
    with op.batch_alter_table("assessment", recreate="always") as b:
        change(b)
    op.execute("INSERT INTO encounter SELECT * FROM _leiosurv_encounter WHERE id NOT IN (SELECT id FROM encounter)")
    op.execute("DROP TABLE _leiosurv_encounter")


def upgrade() -> None:
    from leiosurv.registry.migrations import _result_bodies

    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    for t in _HISTORY:
        t.create()
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS trg_assessment_result_insert")
        op.execute("DROP TRIGGER IF EXISTS trg_assessment_result_update")
        op.execute("ALTER TABLE assessment ADD COLUMN result TEXT")
    else:
        op.execute("DROP TRIGGER IF EXISTS trg_assessment_result ON assessment")
        op.execute("DROP FUNCTION IF EXISTS trg_assessment_result()")
        op.add_column("assessment", sa.Column("result", sa.Text(), nullable=True))
    rows = bind.execute(sa.text("SELECT a.id, c.body, a.dates FROM assessment a "
                                "JOIN assessment_content c ON c.sha256 = a.content")).all()
    if rows:
        bind.execute(sa.text("UPDATE assessment SET result = :r WHERE id = :i"),
                     [{"r": json.dumps(_result_bodies.join_result(r.body, r.dates), ensure_ascii=False,
                                       separators=(",", ":")), "i": r.id} for r in rows])
    if sqlite:
        def change(b) -> None:
            b.drop_column("content")
            b.drop_column("dates")
            b.alter_column("result", existing_type=sa.Text(), nullable=False)

        _recreate_sqlite(change)
    else:
        op.drop_constraint(op.f("fk_assessment_content_assessment_content"), "assessment", type_="foreignkey")
        op.drop_column("assessment", "dates")
        op.drop_column("assessment", "content")
        op.alter_column("assessment", "result", existing_type=sa.Text(), nullable=False)
    op.drop_table("assessment_content")


def downgrade() -> None:
    from leiosurv.registry.migrations import _result_bodies

    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.create_table("assessment_content", sa.Column("sha256", sa.String(length=64), nullable=False),
                    sa.Column("body", sa.Text(), nullable=False),
                    sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_assessment_content_sha256")),
                    sa.PrimaryKeyConstraint("sha256", name=op.f("pk_assessment_content")))
    if sqlite:
        op.execute("ALTER TABLE assessment ADD COLUMN content VARCHAR(64) REFERENCES assessment_content (sha256)")
        op.execute("ALTER TABLE assessment ADD COLUMN dates TEXT")
    else:
        op.add_column("assessment", sa.Column("content", sa.String(length=64), nullable=True))
        op.create_foreign_key(op.f("fk_assessment_content_assessment_content"), "assessment",
                              "assessment_content", ["content"], ["sha256"])
        op.add_column("assessment", sa.Column("dates", sa.Text(), nullable=True))
    rows = bind.execute(sa.text("SELECT id, result FROM assessment ORDER BY id")).all()
    if rows:
        split = {r.id: _result_bodies.split_result(json.loads(r.result)) for r in rows}
        bind.execute(sa.text("INSERT INTO assessment_content (sha256, body) VALUES (:s, :b)"),
                     [{"s": s, "b": b} for s, b in {s: b for s, b, _d in split.values()}.items()])
        bind.execute(sa.text("UPDATE assessment SET content = :s, dates = :d WHERE id = :i"),
                     [{"s": s, "d": d, "i": i} for i, (s, _b, d) in split.items()])
    if sqlite:
        _recreate_sqlite(lambda b: b.drop_column("result"))
        for when, on in (("INSERT", ""), ("UPDATE", " OF content, dates")):
            op.execute(f"CREATE TRIGGER trg_assessment_result_{when.lower()} BEFORE {when}{on} ON assessment "
                       f"FOR EACH ROW WHEN {_CONTENT_COND} BEGIN SELECT RAISE(ABORT, '{_CONTENT_MSG}'); END")
    else:
        op.drop_column("assessment", "result")
        op.execute("CREATE FUNCTION trg_assessment_result() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   f"IF {_CONTENT_COND} THEN RAISE EXCEPTION USING ERRCODE = 'not_null_violation', "
                   f"MESSAGE = '{_CONTENT_MSG}'; END IF; RETURN NEW; END $$")
        op.execute("CREATE TRIGGER trg_assessment_result BEFORE INSERT OR UPDATE OF content, dates ON assessment "
                   "FOR EACH ROW EXECUTE FUNCTION trg_assessment_result()")
    for t in reversed(_HISTORY):
        t.drop()

"""Initial schema: patients, identity, tumours, assessments, treatments, events, observations, encounters.

The tables mirror ``leiosurv.registry._tables`` (a test compares them), stated
as data (``leiosurv.registry.migrations._ddl.Table``, which writes the columns,
constraint names and indexes); the cross-table rules are triggers, written here for SQLite and for PostgreSQL:

* no event or treatment before the diagnosis of its tumour;
* nothing after death: no event, treatment, done encounter, observation or
  tumour dated after the patient's death, and no death dated before any of them;
* no encounter done in the future.

Every trigger message starts with ``leiosurv:`` so the registry can show it as
one line.

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 17:35:17.508504
"""

import sqlalchemy as sa
from alembic import op

from leiosurv.registry.migrations._ddl import BOOL, DATE, INT, JSON, SMALLINT, TEXT, Col, Table, null, one_of, string

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


_TABLES = (
    Table("patient", {
        "id": INT, "pseudonym": string(64), "sex": string(8, default="unknown"),
        "synthetic": Col(sa.Boolean(), default=sa.false()), "note": null(TEXT),
    }, checks={
        "sex": one_of("sex", ("female", "male", "other", "unknown")),
        "pseudonym_nonempty": "length(pseudonym) > 0",
    }, unique=(("pseudonym",),)),
    Table("patient_identity", {"patient_id": INT, "name": null(TEXT), "birth_date": null(DATE)},
          refs=(("patient_id",),), key=("patient_id",)),
    Table("tumour", {
        "id": INT, "patient_id": INT, "label": string(64), "diagnosis_date": DATE, "site": null(TEXT),
        "depth": string(32, default="unknown"), "age_at_diagnosis": null(INT), "findings": JSON,
        "confirmed_diagnosis": null(TEXT), "necrosis": null(SMALLINT), "mitotic_grade": null(SMALLINT),
        "invasion": null(SMALLINT), "margins": null(string(8)),
    }, checks={
        "depth": one_of("depth", ("dermal", "subcutaneous", "deep_soft_tissue", "retroperitoneal_visceral",
                                  "uterine", "bone", "unknown")),
        "margins": one_of("margins", ("positive", "negative"), nullable=True),
        "age": "age_at_diagnosis IS NULL OR (age_at_diagnosis >= 0 AND age_at_diagnosis <= 130)",
        "invasion": one_of("invasion", (0, 1), nullable=True),
        "mitotic_grade": one_of("mitotic_grade", (1, 2, 3), nullable=True),
        "necrosis": one_of("necrosis", (0, 1), nullable=True),
    }, refs=(("patient_id",),), unique=(("id", "patient_id"), ("patient_id", "label"))),
    Table("assessment", {
        "id": INT, "tumour_id": INT, "seq": INT, "assessed_on": DATE, "reason": string(32),
        "ruleset_version": string(64), "ruleset_hash": string(64), "risk_group": string(32),
        "top_diagnosis": null(TEXT), "plan_basis": TEXT, "plan_start": DATE, "imaging_interval_days": null(INT),
        "imaging_until": null(DATE), "current": BOOL, "result": JSON,
    }, checks={
        "reason": one_of("reason", ("registration", "findings_changed", "diagnosis_changed", "replan_re_excision",
                                    "replan_metastasis", "replan_death", "reassessment")),
        "imaging_interval": "imaging_interval_days IS NULL OR imaging_interval_days > 0",
    }, refs=(("tumour_id",),), unique=(("tumour_id", "seq"),),
        indexes={"ix_assessment_current_imaging": ("current", "imaging_until")}),
    Table("event", {
        "id": INT, "patient_id": INT, "tumour_id": null(INT), "kind": string(20), "date": DATE,
        "site": null(string(16)), "cause": null(TEXT), "note": null(TEXT),
    }, checks={
        "cause_only_death": "cause IS NULL OR kind = 'death'",
        "metastasis_needs_site": "kind <> 'metastasis' OR site IS NOT NULL",
        "tumour_needed": "kind IN ('death', 'new_primary') OR tumour_id IS NOT NULL",
        "kind": one_of("kind", ("local_recurrence", "metastasis", "new_primary", "death")),
        "site_only_metastasis": "site IS NULL OR kind = 'metastasis'",
        "site": one_of("site", ("lung", "liver", "skin", "bone_spine", "adrenal", "kidney", "other"), nullable=True),
    }, refs=(("patient_id",), ("tumour_id", "patient_id")), indexes={
        "ix_event_patient": ("patient_id", "kind", "date"), "ix_event_tumour": ("tumour_id", "kind", "date"),
        "uq_event_one_death": ("patient_id",),
    }, unique_where={"uq_event_one_death": "kind = 'death'"}),
    Table("observation", {
        "id": INT, "patient_id": INT, "tumour_id": null(INT), "label": string(64), "description": TEXT,
        "site": null(TEXT), "first_seen": DATE, "max_interval_days": INT, "status": string(12, default="active"),
        "closed_on": null(DATE),
    }, checks={
        "closed_iff_not_active": "(status = 'active') = (closed_on IS NULL)",
        "status": one_of("status", ("active", "resolved", "diagnosed")),
        "closed_after_seen": "closed_on IS NULL OR closed_on >= first_seen",
        "max_interval": "max_interval_days > 0",
    }, refs=(("patient_id",), ("tumour_id", "patient_id")), unique=(("id", "patient_id"), ("patient_id", "label"))),
    Table("treatment", {
        "id": INT, "patient_id": INT, "tumour_id": INT, "kind": string(16), "date": DATE, "end_date": null(DATE),
        "margin_status": null(string(8)), "agent": null(TEXT), "note": null(TEXT),
    }, checks={
        "agent_only_systemic": "agent IS NULL OR kind = 'systemic'",
        "systemic_needs_agent": "kind <> 'systemic' OR agent IS NOT NULL",
        "kind": one_of("kind", ("excision", "re_excision", "mohs", "radiotherapy", "systemic")),
        "margin_only_surgery": "margin_status IS NULL OR kind IN ('excision', 're_excision', 'mohs')",
        "margin_status": one_of("margin_status", ("negative", "positive", "unknown"), nullable=True),
        "end_after_start": "end_date IS NULL OR end_date >= date",
    }, refs=(("tumour_id", "patient_id"),), indexes={"ix_treatment_tumour": ("tumour_id", "date")}),
    Table("encounter", {
        "id": INT, "patient_id": INT, "tumour_id": null(INT), "observation_id": null(INT),
        "assessment_id": null(INT), "plan_item": null(string(32)), "origin": string(8), "status": string(10),
        "modality_class": string(10), "kind": TEXT, "modality": null(TEXT), "provider": null(TEXT),
        "due": null(DATE), "window_start": null(DATE), "window_end": null(DATE), "done_on": null(DATE),
        "findings": null(TEXT), "status_reason": null(TEXT),
    }, checks={
        "done_iff_date": "(status = 'done') = (done_on IS NOT NULL)",
        "modality_class": one_of("modality_class", ("clinical", "imaging", "biopsy", "other")),
        "planned_has_due": "origin = 'ad_hoc' OR (due IS NOT NULL AND window_start IS NOT NULL AND window_end IS NOT NULL AND assessment_id IS NOT NULL)",
        "ad_hoc_done": "origin = 'planned' OR status IN ('done', 'cancelled')",
        "origin": one_of("origin", ("planned", "ad_hoc")),
        "status": one_of("status", ("planned", "done", "missed", "cancelled")),
        "window": "window_start IS NULL OR (window_start <= due AND due <= window_end)",
    }, indexes={
        "ix_encounter_assessment": ("assessment_id",), "ix_encounter_due": ("status", "due"),
        "ix_encounter_observation": ("observation_id", "done_on"), "ix_encounter_open": ("status", "window_end"),
        "ix_encounter_patient": ("patient_id", "done_on"),
        "ix_encounter_tumour_imaging": ("tumour_id", "modality_class", "done_on"),
    }, refs=(("assessment_id",), ("observation_id", "patient_id"), ("patient_id",), ("tumour_id", "patient_id"))),
)


def upgrade() -> None:
    for table in _TABLES:
        table.create()
    _create_triggers()


def downgrade() -> None:
    _drop_triggers()
    for table in reversed(_TABLES):
        table.drop()


# --- cross-table rules as triggers (SQLite and PostgreSQL) -----------------------------------------

_DEATH = "(SELECT d.date FROM event d WHERE d.patient_id = NEW.patient_id AND d.kind = 'death')"

# (name, table, columns whose update re-checks, condition on NEW that is an error, message)
_RULES = [
    ("event_before_diagnosis", "event", ("date", "tumour_id"),
     "NEW.tumour_id IS NOT NULL AND NEW.date < (SELECT t.diagnosis_date FROM tumour t WHERE t.id = NEW.tumour_id)",
     "event dated before the diagnosis of its tumour"),
    ("event_after_death", "event", ("date", "kind", "patient_id"),
     f"NEW.kind <> 'death' AND NEW.date > {_DEATH}",
     "event dated after the patient's death"),
    ("treatment_after_death", "treatment", ("date", "patient_id"),
     f"NEW.date > {_DEATH}", "treatment dated after the patient's death"),
    ("treatment_before_diagnosis", "treatment", ("date", "tumour_id"),
     "NEW.date < (SELECT t.diagnosis_date FROM tumour t WHERE t.id = NEW.tumour_id)",
     "treatment dated before the diagnosis of its tumour"),
    ("encounter_after_death", "encounter", ("done_on", "patient_id"),
     f"NEW.done_on IS NOT NULL AND NEW.done_on > {_DEATH}", "encounter done after the patient's death"),
    ("encounter_in_future", "encounter", ("done_on",),
     "NEW.done_on IS NOT NULL AND NEW.done_on > {today}", "encounter marked done on a date in the future"),
    ("observation_after_death", "observation", ("first_seen", "patient_id"),
     f"NEW.first_seen > {_DEATH}", "observation first seen after the patient's death"),
    ("tumour_after_death", "tumour", ("diagnosis_date", "patient_id"),
     f"NEW.diagnosis_date > {_DEATH}", "tumour diagnosed after the patient's death"),
    ("death_before_records", "event", ("date", "kind", "patient_id"),
     "NEW.kind = 'death' AND ("
     "EXISTS (SELECT 1 FROM event e WHERE e.patient_id = NEW.patient_id AND e.kind <> 'death' AND e.date > NEW.date)"
     " OR EXISTS (SELECT 1 FROM treatment r WHERE r.patient_id = NEW.patient_id AND r.date > NEW.date)"
     " OR EXISTS (SELECT 1 FROM encounter c WHERE c.patient_id = NEW.patient_id AND c.done_on > NEW.date)"
     " OR EXISTS (SELECT 1 FROM observation o WHERE o.patient_id = NEW.patient_id AND o.first_seen > NEW.date)"
     " OR EXISTS (SELECT 1 FROM tumour t WHERE t.patient_id = NEW.patient_id AND t.diagnosis_date > NEW.date))",
     "death dated before other records of the patient (nothing may follow death)"),
]


def _create_triggers() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    for name, table, cols, cond, msg in _RULES:
        if dialect == "sqlite":
            c = cond.replace("{today}", "date('now')")
            for when, on in (("INSERT", ""), ("UPDATE", f" OF {', '.join(cols)}")):
                op.execute(
                    f"CREATE TRIGGER trg_{name}_{when.lower()} BEFORE {when}{on} ON {table} FOR EACH ROW "
                    f"WHEN {c} BEGIN SELECT RAISE(ABORT, 'leiosurv: {msg.replace(chr(39), chr(39) * 2)}'); END"
                )
        elif dialect == "postgresql":
            c = cond.replace("{today}", "CURRENT_DATE")
            op.execute(
                f"CREATE FUNCTION trg_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF {c} THEN RAISE EXCEPTION USING ERRCODE = 'check_violation', "
                f"MESSAGE = 'leiosurv: {msg.replace(chr(39), chr(39) * 2)}'; END IF; RETURN NEW; END $$"
            )
            op.execute(
                f"CREATE TRIGGER trg_{name} BEFORE INSERT OR UPDATE OF {', '.join(cols)} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION trg_{name}()"
            )
        else:  # pragma: no cover - the registry supports these two
            raise NotImplementedError(f"no triggers for database {dialect!r}; use SQLite or PostgreSQL")


def _drop_triggers() -> None:
    bind = op.get_bind()
    for name, table, _cols, _cond, _msg in _RULES:
        if bind.dialect.name == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS trg_{name}_insert")
            op.execute(f"DROP TRIGGER IF EXISTS trg_{name}_update")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS trg_{name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS trg_{name}()")

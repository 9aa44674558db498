"""The registry's tables (SQLAlchemy Core), the single description the migrations are checked against.

Integrity lives in the database, not only in Python:

* foreign keys everywhere, and composite keys ``(tumour_id, patient_id)`` so a
  treatment, event, observation or encounter can only name a tumour of its own patient;
* check constraints on every enumeration and on the obvious ranges;
* at most one death per patient (a partial unique index);
* cross-table rules (no event before the tumour's diagnosis, nothing after death,
  no encounter done in the future) are triggers written for SQLite and PostgreSQL
  in the first migration (``migrations/versions/0001_initial.py``).

Identifying data (name, birth date) live only in ``patient_identity``; every
other table knows the patient by the pseudonymous ``patient.pseudonym``.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "metadata", "patient", "patient_identity", "tumour", "assessment", "treatment", "event",
    "observation", "encounter", "SEXES", "DEPTHS", "TREATMENT_KINDS", "MARGIN_STATUSES", "EVENT_KINDS",
    "METASTASIS_SITES", "OBSERVATION_STATUSES", "ENCOUNTER_ORIGINS", "ENCOUNTER_STATUSES", "MODALITY_CLASSES",
    "app_user", "audit_event", "login_throttle", "anonymous_attempt", "record_history", "identity_history",
    "HISTORY_ACTIONS", "HISTORY_TABLES", "ROLES", "AUDIT_ACTIONS", "AUDIT_OUTCOMES", "study_run",
    "study_run_file",
]

SEXES = ("female", "male", "other", "unknown")
DEPTHS = ("dermal", "subcutaneous", "deep_soft_tissue", "retroperitoneal_visceral", "uterine", "bone", "unknown")
TREATMENT_KINDS = ("excision", "re_excision", "mohs", "radiotherapy", "systemic")
MARGIN_STATUSES = ("negative", "positive", "unknown")
EVENT_KINDS = ("local_recurrence", "metastasis", "new_primary", "death")
METASTASIS_SITES = ("lung", "liver", "skin", "bone_spine", "adrenal", "kidney", "other")
OBSERVATION_STATUSES = ("active", "resolved", "diagnosed")
ENCOUNTER_ORIGINS = ("planned", "ad_hoc")
ENCOUNTER_STATUSES = ("planned", "done", "missed", "cancelled")
MODALITY_CLASSES = ("clinical", "imaging", "biopsy", "other")
ROLES = ("clinician", "researcher", "admin")
AUDIT_ACTIONS = ("read", "write", "login", "logout", "export", "admin")
AUDIT_OUTCOMES = ("ok", "denied", "failed", "not_found", "invalid")
HISTORY_ACTIONS = ("corrected", "voided")
HISTORY_TABLES = ("patient", "tumour", "assessment", "treatment", "event", "observation", "encounter")
ASSESSMENT_REASONS = ("registration", "findings_changed", "diagnosis_changed", "replan_re_excision",
                      "replan_metastasis", "replan_death", "reassessment")

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


def _in(col: str, values: tuple[str | int, ...], *, nullable: bool = False) -> str:
    vals = ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in values)
    return f"{col} IS NULL OR {col} IN ({vals})" if nullable else f"{col} IN ({vals})"


def _of_patient() -> tuple[sa.Column | sa.ForeignKeyConstraint, ...]:
    """The first columns of a record of a patient that may be about one of its tumours (event, observation,
    encounter): its id, its patient, and its tumour, which the composite key keeps to the patient's own."""
    return (
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("patient_id", sa.Integer, sa.ForeignKey("patient.id", ondelete="CASCADE"), nullable=False),
        sa.Column("tumour_id", sa.Integer),
        sa.ForeignKeyConstraint(["tumour_id", "patient_id"], ["tumour.id", "tumour.patient_id"], ondelete="CASCADE"),
    )


patient = sa.Table(
    "patient", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("pseudonym", sa.String(64), nullable=False, unique=True),
    sa.Column("sex", sa.String(8), nullable=False, server_default="unknown"),
    sa.Column("synthetic", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("note", sa.Text),
    # the patient list's order: registry._db.natural_key(pseudonym), written with the pseudonym (migration 0013)
    sa.Column("sort_key", sa.String(400), nullable=False),
    sa.CheckConstraint(_in("sex", SEXES), name="sex"),
    sa.CheckConstraint("length(pseudonym) > 0", name="pseudonym_nonempty"),
    sa.Index("ix_patient_sort", "synthetic", "sort_key", "pseudonym"),
)

patient_identity = sa.Table(
    "patient_identity", metadata,
    sa.Column("patient_id", sa.Integer, sa.ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("birth_date", sa.Date),
)

tumour = sa.Table(
    "tumour", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.Integer, sa.ForeignKey("patient.id", ondelete="CASCADE"), nullable=False),
    sa.Column("label", sa.String(64), nullable=False),
    sa.Column("diagnosis_date", sa.Date, nullable=False),
    sa.Column("site", sa.Text),
    sa.Column("depth", sa.String(32), nullable=False, server_default="unknown"),
    sa.Column("age_at_diagnosis", sa.Integer),
    sa.Column("findings", sa.JSON, nullable=False),
    sa.Column("confirmed_diagnosis", sa.Text),
    # the candidate factors of the cohort study, derived from the findings at each assessment
    sa.Column("necrosis", sa.SmallInteger),
    sa.Column("mitotic_grade", sa.SmallInteger),
    sa.Column("invasion", sa.SmallInteger),
    sa.Column("margins", sa.String(8)),
    sa.UniqueConstraint("patient_id", "label"),
    sa.UniqueConstraint("id", "patient_id"),
    sa.CheckConstraint(_in("depth", DEPTHS), name="depth"),
    sa.CheckConstraint("age_at_diagnosis IS NULL OR (age_at_diagnosis >= 0 AND age_at_diagnosis <= 130)",
                       name="age"),
    sa.CheckConstraint(_in("necrosis", (0, 1), nullable=True), name="necrosis"),
    sa.CheckConstraint(_in("invasion", (0, 1), nullable=True), name="invasion"),
    sa.CheckConstraint(_in("mitotic_grade", (1, 2, 3), nullable=True), name="mitotic_grade"),
    sa.CheckConstraint(_in("margins", ("positive", "negative"), nullable=True), name="margins"),
)

assessment = sa.Table(
    "assessment", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tumour_id", sa.Integer, sa.ForeignKey("tumour.id", ondelete="CASCADE"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("assessed_on", sa.Date, nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("ruleset_version", sa.String(64), nullable=False),
    sa.Column("ruleset_hash", sa.String(64), nullable=False),
    sa.Column("risk_group", sa.String(32), nullable=False),
    sa.Column("top_diagnosis", sa.Text),
    sa.Column("plan_basis", sa.Text, nullable=False),
    sa.Column("plan_start", sa.Date, nullable=False),
    sa.Column("imaging_interval_days", sa.Integer),
    sa.Column("imaging_until", sa.Date),
    sa.Column("current", sa.Boolean, nullable=False),
    # the clinical core's result, its JSON text as the core wrote it (migration 0007)
    sa.Column("result", sa.Text, nullable=False),
    sa.UniqueConstraint("tumour_id", "seq"),
    sa.CheckConstraint(_in("reason", ASSESSMENT_REASONS), name="reason"),
    sa.CheckConstraint("imaging_interval_days IS NULL OR imaging_interval_days > 0", name="imaging_interval"),
    sa.Index("ix_assessment_current_imaging", "current", "imaging_until"),
)

treatment = sa.Table(
    "treatment", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.Integer, nullable=False),
    sa.Column("tumour_id", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date),
    sa.Column("margin_status", sa.String(8)),
    sa.Column("agent", sa.Text),
    sa.Column("note", sa.Text),
    sa.ForeignKeyConstraint(["tumour_id", "patient_id"], ["tumour.id", "tumour.patient_id"], ondelete="CASCADE"),
    sa.CheckConstraint(_in("kind", TREATMENT_KINDS), name="kind"),
    sa.CheckConstraint(_in("margin_status", MARGIN_STATUSES, nullable=True), name="margin_status"),
    sa.CheckConstraint("margin_status IS NULL OR kind IN ('excision', 're_excision', 'mohs')",
                       name="margin_only_surgery"),
    sa.CheckConstraint("agent IS NULL OR kind = 'systemic'", name="agent_only_systemic"),
    sa.CheckConstraint("kind <> 'systemic' OR agent IS NOT NULL", name="systemic_needs_agent"),
    sa.CheckConstraint("end_date IS NULL OR end_date >= date", name="end_after_start"),
    sa.Index("ix_treatment_tumour", "tumour_id", "date"),
)

event = sa.Table(
    "event", metadata,
    *_of_patient(),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("site", sa.String(16)),
    sa.Column("cause", sa.Text),
    sa.Column("note", sa.Text),
    sa.CheckConstraint(_in("kind", EVENT_KINDS), name="kind"),
    sa.CheckConstraint(_in("site", METASTASIS_SITES, nullable=True), name="site"),
    sa.CheckConstraint("kind <> 'metastasis' OR site IS NOT NULL", name="metastasis_needs_site"),
    sa.CheckConstraint("site IS NULL OR kind = 'metastasis'", name="site_only_metastasis"),
    sa.CheckConstraint("cause IS NULL OR kind = 'death'", name="cause_only_death"),
    sa.CheckConstraint("kind IN ('death', 'new_primary') OR tumour_id IS NOT NULL", name="tumour_needed"),
    sa.Index("ix_event_patient", "patient_id", "kind", "date"),
    sa.Index("ix_event_tumour", "tumour_id", "kind", "date"),
    sa.Index("uq_event_one_death", "patient_id", unique=True,
             sqlite_where=sa.text("kind = 'death'"), postgresql_where=sa.text("kind = 'death'")),
)

observation = sa.Table(
    "observation", metadata,
    *_of_patient(),
    sa.Column("label", sa.String(64), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("site", sa.Text),
    sa.Column("first_seen", sa.Date, nullable=False),
    sa.Column("max_interval_days", sa.Integer, nullable=False),
    sa.Column("status", sa.String(12), nullable=False, server_default="active"),
    sa.Column("closed_on", sa.Date),
    sa.UniqueConstraint("patient_id", "label"),
    sa.UniqueConstraint("id", "patient_id"),
    sa.CheckConstraint(_in("status", OBSERVATION_STATUSES), name="status"),
    sa.CheckConstraint("max_interval_days > 0", name="max_interval"),
    sa.CheckConstraint("(status = 'active') = (closed_on IS NULL)", name="closed_iff_not_active"),
    sa.CheckConstraint("closed_on IS NULL OR closed_on >= first_seen", name="closed_after_seen"),
)

_PLANNED = sa.text("status = 'planned'")
_OF_OBSERVATION = sa.text("observation_id IS NOT NULL")

encounter = sa.Table(
    "encounter", metadata,
    *_of_patient(),
    sa.Column("observation_id", sa.Integer),
    sa.Column("assessment_id", sa.Integer, sa.ForeignKey("assessment.id", ondelete="CASCADE")),
    sa.Column("plan_item", sa.String(32)),
    sa.Column("origin", sa.String(8), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("modality_class", sa.String(10), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("modality", sa.Text),
    sa.Column("provider", sa.Text),
    sa.Column("due", sa.Date),
    sa.Column("window_start", sa.Date),
    sa.Column("window_end", sa.Date),
    sa.Column("done_on", sa.Date),
    sa.Column("findings", sa.Text),
    sa.Column("status_reason", sa.Text),
    sa.ForeignKeyConstraint(["observation_id", "patient_id"], ["observation.id", "observation.patient_id"],
                            ondelete="CASCADE"),
    sa.CheckConstraint(_in("origin", ENCOUNTER_ORIGINS), name="origin"),
    sa.CheckConstraint(_in("status", ENCOUNTER_STATUSES), name="status"),
    sa.CheckConstraint(_in("modality_class", MODALITY_CLASSES), name="modality_class"),
    sa.CheckConstraint("(status = 'done') = (done_on IS NOT NULL)", name="done_iff_date"),
    sa.CheckConstraint("origin = 'ad_hoc' OR (due IS NOT NULL AND window_start IS NOT NULL "
                       "AND window_end IS NOT NULL AND assessment_id IS NOT NULL)", name="planned_has_due"),
    sa.CheckConstraint("origin = 'planned' OR status IN ('done', 'cancelled')", name="ad_hoc_done"),
    sa.CheckConstraint("window_start IS NULL OR (window_start <= due AND due <= window_end)", name="window"),
    # partial (0005): the alerts read only planned encounters (a few per cent of them) and only encounters of an
    # observation; a query uses the first two only when its text says status = 'planned' (as the alerts' do)
    sa.Index("ix_encounter_open", "window_end", sqlite_where=_PLANNED, postgresql_where=_PLANNED),
    sa.Index("ix_encounter_due", "due", "window_end", sqlite_where=_PLANNED, postgresql_where=_PLANNED),
    sa.Index("ix_encounter_patient", "patient_id", "done_on"),
    sa.Index("ix_encounter_tumour_imaging", "tumour_id", "modality_class", "done_on"),
    sa.Index("ix_encounter_observation", "observation_id", "done_on", sqlite_where=_OF_OBSERVATION,
             postgresql_where=_OF_OBSERVATION),
    sa.Index("ix_encounter_assessment", "assessment_id"),
)


# --- the web app's users and the append-only audit trail (migrations 0003 and 0010) -------------------

app_user = sa.Table(
    "app_user", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sessions_after", sa.DateTime(timezone=True)),  # no longer read: session_epoch ends sessions (0010)
    sa.Column("session_epoch", sa.Integer, nullable=False, server_default="0"),  # bumped: older sessions end
    sa.CheckConstraint(_in("role", ROLES), name="role"),
    sa.CheckConstraint("length(username) > 0", name="username_nonempty"),
    sa.CheckConstraint("password_hash LIKE '$argon2%'", name="argon2"),
)

audit_event = sa.Table(
    "audit_event", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("username", sa.String(64)),
    sa.Column("role", sa.String(16)),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("resource", sa.Text, nullable=False),
    sa.Column("patient", sa.String(64)),
    sa.Column("remote_addr", sa.String(64)),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("patients", sa.Text),  # the pseudonyms a list, search or dashboard showed (comma-separated)
    sa.Column("prev_hash", sa.String(64)),  # the hash chain: see _access.audit_row_hash
    sa.Column("row_hash", sa.String(64)),
    sa.CheckConstraint(_in("action", AUDIT_ACTIONS), name="action"),
    sa.CheckConstraint(_in("outcome", AUDIT_OUTCOMES), name="outcome"),
    sa.Index("ix_audit_event_at", "at"),
    sa.Index("ix_audit_event_patient", "patient", "at"),
    sa.Index("ix_audit_event_action", "action", "id"),
)

login_throttle = sa.Table(  # failed sign-ins per key ("user|address" or "address"), shared by every server process
    "login_throttle", metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("failures >= 0", name="failures"),
)

# requests without a session on patient URLs, counted per address, window and action (migration 0014): the
# first of a window is audited at once, the rest as one audit row with their number when the window is closed
anonymous_attempt = sa.Table(
    "anonymous_attempt", metadata,
    sa.Column("address", sa.String(64), primary_key=True),
    sa.Column("window_start", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("action", sa.String(16), primary_key=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.CheckConstraint("attempts >= 1", name="attempts"),
)


# --- corrections: the append-only history of every record's previous versions (migrations 0007, 0012) ------

record_history = sa.Table(
    "record_history", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.Integer, sa.ForeignKey("patient.id", ondelete="CASCADE"), nullable=False),
    sa.Column("table_name", sa.String(16), nullable=False),
    sa.Column("record_id", sa.Integer, nullable=False),
    sa.Column("action", sa.String(10), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("by_user", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("entered_on", sa.Date, nullable=False),
    sa.Column("previous", sa.JSON, nullable=False),
    sa.CheckConstraint(_in("table_name", HISTORY_TABLES), name="table_name"),
    sa.CheckConstraint(_in("action", HISTORY_ACTIONS), name="action"),
    sa.CheckConstraint("length(reason) > 0 AND length(by_user) > 0", name="reason_by"),
    sa.Index("ix_record_history_patient", "patient_id", "id"),
)

# a patient's previous names and birth dates, kept apart from the clinical history as the identity is
identity_history = sa.Table(
    "identity_history", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.Integer, sa.ForeignKey("patient.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("birth_date", sa.Date),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("by_user", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("length(reason) > 0 AND length(by_user) > 0", name="reason_by"),
    sa.Index("ix_identity_history_patient", "patient_id", "id"),
)

# --- runs of the cohort study from the web app, kept with their files (migration 0011) ---------------

study_run = sa.Table(
    "study_run", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("username", sa.String(64)),
    sa.Column("horizon", sa.String(16), nullable=False),
    sa.Column("parameters", sa.JSON, nullable=False),
    sa.Column("ruleset_version", sa.String(32), nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("synthetic", sa.Boolean, nullable=False),
    sa.Column("result", sa.Text, nullable=False),
    sa.CheckConstraint("n >= 0", name="n"),
    sa.Index("ix_study_run_at", "at"),
)

study_run_file = sa.Table(
    "study_run_file", metadata,
    sa.Column("study_run_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.ForeignKeyConstraint(["study_run_id"], ["study_run.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("study_run_id", "name"),
)

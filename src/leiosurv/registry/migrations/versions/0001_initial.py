"""Initial schema: patients, identity, tumours, assessments, treatments, events, observations, encounters.

The tables mirror ``leiosurv.registry._tables`` (a test compares them); the
cross-table rules are triggers, written here for SQLite and for PostgreSQL:

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

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('patient',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pseudonym', sa.String(length=64), nullable=False),
    sa.Column('sex', sa.String(length=8), server_default='unknown', nullable=False),
    sa.Column('synthetic', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("sex IN ('female', 'male', 'other', 'unknown')", name=op.f('ck_patient_sex')),
    sa.CheckConstraint('length(pseudonym) > 0', name=op.f('ck_patient_pseudonym_nonempty')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient')),
    sa.UniqueConstraint('pseudonym', name=op.f('uq_patient_pseudonym'))
    )
    op.create_table('patient_identity',
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_patient_identity_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_patient_identity'))
    )
    op.create_table('tumour',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('diagnosis_date', sa.Date(), nullable=False),
    sa.Column('site', sa.Text(), nullable=True),
    sa.Column('depth', sa.String(length=32), server_default='unknown', nullable=False),
    sa.Column('age_at_diagnosis', sa.Integer(), nullable=True),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('confirmed_diagnosis', sa.Text(), nullable=True),
    sa.Column('necrosis', sa.SmallInteger(), nullable=True),
    sa.Column('mitotic_grade', sa.SmallInteger(), nullable=True),
    sa.Column('invasion', sa.SmallInteger(), nullable=True),
    sa.Column('margins', sa.String(length=8), nullable=True),
    sa.CheckConstraint("depth IN ('dermal', 'subcutaneous', 'deep_soft_tissue', 'retroperitoneal_visceral', 'uterine', 'bone', 'unknown')", name=op.f('ck_tumour_depth')),
    sa.CheckConstraint("margins IS NULL OR margins IN ('positive', 'negative')", name=op.f('ck_tumour_margins')),
    sa.CheckConstraint('age_at_diagnosis IS NULL OR (age_at_diagnosis >= 0 AND age_at_diagnosis <= 130)', name=op.f('ck_tumour_age')),
    sa.CheckConstraint('invasion IS NULL OR invasion IN (0, 1)', name=op.f('ck_tumour_invasion')),
    sa.CheckConstraint('mitotic_grade IS NULL OR mitotic_grade IN (1, 2, 3)', name=op.f('ck_tumour_mitotic_grade')),
    sa.CheckConstraint('necrosis IS NULL OR necrosis IN (0, 1)', name=op.f('ck_tumour_necrosis')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_tumour_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tumour')),
    sa.UniqueConstraint('id', 'patient_id', name=op.f('uq_tumour_id_patient_id')),
    sa.UniqueConstraint('patient_id', 'label', name=op.f('uq_tumour_patient_id_label'))
    )
    op.create_table('assessment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tumour_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('ruleset_version', sa.String(length=64), nullable=False),
    sa.Column('ruleset_hash', sa.String(length=64), nullable=False),
    sa.Column('risk_group', sa.String(length=32), nullable=False),
    sa.Column('top_diagnosis', sa.Text(), nullable=True),
    sa.Column('plan_basis', sa.Text(), nullable=False),
    sa.Column('plan_start', sa.Date(), nullable=False),
    sa.Column('imaging_interval_days', sa.Integer(), nullable=True),
    sa.Column('imaging_until', sa.Date(), nullable=True),
    sa.Column('current', sa.Boolean(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.CheckConstraint("reason IN ('registration', 'findings_changed', 'diagnosis_changed', 'replan_re_excision', 'replan_metastasis', 'replan_death', 'reassessment')", name=op.f('ck_assessment_reason')),
    sa.CheckConstraint('imaging_interval_days IS NULL OR imaging_interval_days > 0', name=op.f('ck_assessment_imaging_interval')),
    sa.ForeignKeyConstraint(['tumour_id'], ['tumour.id'], name=op.f('fk_assessment_tumour_id_tumour'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment')),
    sa.UniqueConstraint('tumour_id', 'seq', name=op.f('uq_assessment_tumour_id_seq'))
    )
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.create_index('ix_assessment_current_imaging', ['current', 'imaging_until'], unique=False)

    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('tumour_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('site', sa.String(length=16), nullable=True),
    sa.Column('cause', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("cause IS NULL OR kind = 'death'", name=op.f('ck_event_cause_only_death')),
    sa.CheckConstraint("kind <> 'metastasis' OR site IS NOT NULL", name=op.f('ck_event_metastasis_needs_site')),
    sa.CheckConstraint("kind IN ('death', 'new_primary') OR tumour_id IS NOT NULL", name=op.f('ck_event_tumour_needed')),
    sa.CheckConstraint("kind IN ('local_recurrence', 'metastasis', 'new_primary', 'death')", name=op.f('ck_event_kind')),
    sa.CheckConstraint("site IS NULL OR kind = 'metastasis'", name=op.f('ck_event_site_only_metastasis')),
    sa.CheckConstraint("site IS NULL OR site IN ('lung', 'liver', 'skin', 'bone_spine', 'adrenal', 'kidney', 'other')", name=op.f('ck_event_site')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_event_patient_id_patient'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tumour_id', 'patient_id'], ['tumour.id', 'tumour.patient_id'], name=op.f('fk_event_tumour_id_patient_id_tumour'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_patient', ['patient_id', 'kind', 'date'], unique=False)
        batch_op.create_index('ix_event_tumour', ['tumour_id', 'kind', 'date'], unique=False)
        batch_op.create_index('uq_event_one_death', ['patient_id'], unique=True, sqlite_where=sa.text("kind = 'death'"), postgresql_where=sa.text("kind = 'death'"))

    op.create_table('observation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('tumour_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('site', sa.Text(), nullable=True),
    sa.Column('first_seen', sa.Date(), nullable=False),
    sa.Column('max_interval_days', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='active', nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.CheckConstraint("(status = 'active') = (closed_on IS NULL)", name=op.f('ck_observation_closed_iff_not_active')),
    sa.CheckConstraint("status IN ('active', 'resolved', 'diagnosed')", name=op.f('ck_observation_status')),
    sa.CheckConstraint('closed_on IS NULL OR closed_on >= first_seen', name=op.f('ck_observation_closed_after_seen')),
    sa.CheckConstraint('max_interval_days > 0', name=op.f('ck_observation_max_interval')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_observation_patient_id_patient'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tumour_id', 'patient_id'], ['tumour.id', 'tumour.patient_id'], name=op.f('fk_observation_tumour_id_patient_id_tumour'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_observation')),
    sa.UniqueConstraint('id', 'patient_id', name=op.f('uq_observation_id_patient_id')),
    sa.UniqueConstraint('patient_id', 'label', name=op.f('uq_observation_patient_id_label'))
    )
    op.create_table('treatment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('tumour_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('margin_status', sa.String(length=8), nullable=True),
    sa.Column('agent', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("agent IS NULL OR kind = 'systemic'", name=op.f('ck_treatment_agent_only_systemic')),
    sa.CheckConstraint("kind <> 'systemic' OR agent IS NOT NULL", name=op.f('ck_treatment_systemic_needs_agent')),
    sa.CheckConstraint("kind IN ('excision', 're_excision', 'mohs', 'radiotherapy', 'systemic')", name=op.f('ck_treatment_kind')),
    sa.CheckConstraint("margin_status IS NULL OR kind IN ('excision', 're_excision', 'mohs')", name=op.f('ck_treatment_margin_only_surgery')),
    sa.CheckConstraint("margin_status IS NULL OR margin_status IN ('negative', 'positive', 'unknown')", name=op.f('ck_treatment_margin_status')),
    sa.CheckConstraint('end_date IS NULL OR end_date >= date', name=op.f('ck_treatment_end_after_start')),
    sa.ForeignKeyConstraint(['tumour_id', 'patient_id'], ['tumour.id', 'tumour.patient_id'], name=op.f('fk_treatment_tumour_id_patient_id_tumour'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_treatment'))
    )
    with op.batch_alter_table('treatment', schema=None) as batch_op:
        batch_op.create_index('ix_treatment_tumour', ['tumour_id', 'date'], unique=False)

    op.create_table('encounter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('tumour_id', sa.Integer(), nullable=True),
    sa.Column('observation_id', sa.Integer(), nullable=True),
    sa.Column('assessment_id', sa.Integer(), nullable=True),
    sa.Column('plan_item', sa.String(length=32), nullable=True),
    sa.Column('origin', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('modality_class', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('modality', sa.Text(), nullable=True),
    sa.Column('provider', sa.Text(), nullable=True),
    sa.Column('due', sa.Date(), nullable=True),
    sa.Column('window_start', sa.Date(), nullable=True),
    sa.Column('window_end', sa.Date(), nullable=True),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('findings', sa.Text(), nullable=True),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("(status = 'done') = (done_on IS NOT NULL)", name=op.f('ck_encounter_done_iff_date')),
    sa.CheckConstraint("modality_class IN ('clinical', 'imaging', 'biopsy', 'other')", name=op.f('ck_encounter_modality_class')),
    sa.CheckConstraint("origin = 'ad_hoc' OR (due IS NOT NULL AND window_start IS NOT NULL AND window_end IS NOT NULL AND assessment_id IS NOT NULL)", name=op.f('ck_encounter_planned_has_due')),
    sa.CheckConstraint("origin = 'planned' OR status IN ('done', 'cancelled')", name=op.f('ck_encounter_ad_hoc_done')),
    sa.CheckConstraint("origin IN ('planned', 'ad_hoc')", name=op.f('ck_encounter_origin')),
    sa.CheckConstraint("status IN ('planned', 'done', 'missed', 'cancelled')", name=op.f('ck_encounter_status')),
    sa.CheckConstraint('window_start IS NULL OR (window_start <= due AND due <= window_end)', name=op.f('ck_encounter_window')),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_encounter_assessment_id_assessment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['observation_id', 'patient_id'], ['observation.id', 'observation.patient_id'], name=op.f('fk_encounter_observation_id_patient_id_observation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_encounter_patient_id_patient'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tumour_id', 'patient_id'], ['tumour.id', 'tumour.patient_id'], name=op.f('fk_encounter_tumour_id_patient_id_tumour'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_encounter'))
    )
    with op.batch_alter_table('encounter', schema=None) as batch_op:
        batch_op.create_index('ix_encounter_assessment', ['assessment_id'], unique=False)
        batch_op.create_index('ix_encounter_due', ['status', 'due'], unique=False)
        batch_op.create_index('ix_encounter_observation', ['observation_id', 'done_on'], unique=False)
        batch_op.create_index('ix_encounter_open', ['status', 'window_end'], unique=False)
        batch_op.create_index('ix_encounter_patient', ['patient_id', 'done_on'], unique=False)
        batch_op.create_index('ix_encounter_tumour_imaging', ['tumour_id', 'modality_class', 'done_on'], unique=False)


    _create_triggers()


def downgrade() -> None:
    _drop_triggers()
    with op.batch_alter_table('encounter', schema=None) as batch_op:
        batch_op.drop_index('ix_encounter_tumour_imaging')
        batch_op.drop_index('ix_encounter_patient')
        batch_op.drop_index('ix_encounter_open')
        batch_op.drop_index('ix_encounter_observation')
        batch_op.drop_index('ix_encounter_due')
        batch_op.drop_index('ix_encounter_assessment')

    op.drop_table('encounter')
    with op.batch_alter_table('treatment', schema=None) as batch_op:
        batch_op.drop_index('ix_treatment_tumour')

    op.drop_table('treatment')
    op.drop_table('observation')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('uq_event_one_death', sqlite_where=sa.text("kind = 'death'"), postgresql_where=sa.text("kind = 'death'"))
        batch_op.drop_index('ix_event_tumour')
        batch_op.drop_index('ix_event_patient')

    op.drop_table('event')
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_index('ix_assessment_current_imaging')

    op.drop_table('assessment')
    op.drop_table('tumour')
    op.drop_table('patient_identity')
    op.drop_table('patient')


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

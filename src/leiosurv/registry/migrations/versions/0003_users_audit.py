"""Users of the web app and the append-only audit trail.

* ``app_user``: username, argon2 hash (never a password), role (clinician,
  researcher, admin), active flag, creation time, and the time before which
  its sessions are no longer valid (set at sign-out);
* ``audit_event``: who (username, role), what (action, resource, patient
  pseudonym), when, from where (remote address), outcome.  Rows can be added,
  never changed or removed: triggers refuse UPDATE and DELETE on SQLite and on
  PostgreSQL (so the application itself cannot rewrite the trail).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 18:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_MSG = "leiosurv: the audit trail is append-only (no update or delete)"


def upgrade() -> None:
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sessions_after', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('clinician', 'researcher', 'admin')", name=op.f('ck_app_user_role')),
    sa.CheckConstraint("length(username) > 0", name=op.f('ck_app_user_username_nonempty')),
    sa.CheckConstraint("password_hash LIKE '$argon2%'", name=op.f('ck_app_user_argon2')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('username', name=op.f('uq_app_user_username'))
    )
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('resource', sa.Text(), nullable=False),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.CheckConstraint("action IN ('read', 'write', 'login', 'logout', 'export', 'admin')", name=op.f('ck_audit_event_action')),
    sa.CheckConstraint("outcome IN ('ok', 'denied', 'failed', 'not_found', 'invalid')", name=op.f('ck_audit_event_outcome')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_event_patient', ['patient', 'at'], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for when in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER trg_audit_event_no_{when.lower()} BEFORE {when} ON audit_event "
                       f"BEGIN SELECT RAISE(ABORT, '{_MSG}'); END")
    elif bind.dialect.name == "postgresql":
        op.execute("CREATE FUNCTION trg_audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   f"RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE = '{_MSG}'; END $$")
        op.execute("CREATE TRIGGER trg_audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
                   "FOR EACH ROW EXECUTE FUNCTION trg_audit_event_append_only()")
        # TRUNCATE bypasses row triggers: refuse it too
        op.execute("CREATE TRIGGER trg_audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
                   "FOR EACH STATEMENT EXECUTE FUNCTION trg_audit_event_append_only()")
    else:  # pragma: no cover - the registry supports these two
        raise NotImplementedError(f"no triggers for database {bind.dialect.name!r}; use SQLite or PostgreSQL")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS trg_audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS trg_audit_event_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS trg_audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS trg_audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS trg_audit_event_append_only()")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_patient')
        batch_op.drop_index('ix_audit_event_at')
    op.drop_table('audit_event')
    op.drop_table('app_user')

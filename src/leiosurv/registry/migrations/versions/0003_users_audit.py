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

from leiosurv.registry.migrations._ddl import INT, TEXT, TIMESTAMP, Col, Table, null, one_of, string

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_MSG = "leiosurv: the audit trail is append-only (no update or delete)"


_TABLES = (
    Table("app_user", {
        "id": INT, "username": string(64), "password_hash": TEXT, "role": string(16),
        "active": Col(sa.Boolean(), default=sa.true()), "created": TIMESTAMP, "sessions_after": null(TIMESTAMP),
    }, checks={
        "role": one_of("role", ("clinician", "researcher", "admin")),
        "username_nonempty": "length(username) > 0",
        "argon2": "password_hash LIKE '$argon2%'",
    }, unique=(("username",),)),
    Table("audit_event", {
        "id": INT, "at": TIMESTAMP, "username": null(string(64)), "role": null(string(16)), "action": string(16),
        "resource": TEXT, "patient": null(string(64)), "remote_addr": null(string(64)), "outcome": string(16),
    }, checks={
        "action": one_of("action", ("read", "write", "login", "logout", "export", "admin")),
        "outcome": one_of("outcome", ("ok", "denied", "failed", "not_found", "invalid")),
    }, indexes={"ix_audit_event_at": ("at",), "ix_audit_event_patient": ("patient", "at")}),
)


def upgrade() -> None:
    for table in _TABLES:
        table.create()
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
    for table in reversed(_TABLES):
        table.drop()

"""The web app's security state: a hash-chained audit trail, session epochs, sign-in throttling.

* ``audit_event`` gets ``patients`` (the pseudonyms a list, search or dashboard
  showed), ``prev_hash`` and ``row_hash``: each row stores the SHA-256 of the row
  before it and of its own canonical content, so a row rewritten, removed,
  reordered or back-dated by someone who bypasses the triggers breaks the chain
  (``leiosurv users verify-audit``).  Existing rows are sealed into the chain here,
  in id order.  A trigger on both databases refuses an INSERT that does not take
  the next id, the last row's hash and the current time (within
  :data:`SKEW_MINUTES`, never before the last row): so ``REPLACE INTO`` on SQLite
  (which deletes the row it replaces without firing delete triggers) and a
  back-dated INSERT are refused.
* ``app_user.session_epoch`` takes over from ``sessions_after`` (no longer read; the
  column stays so the downgrade gives back revision 0006's tables exactly): a session
  cookie names the epoch it was issued in; sign-out, deactivation, a role change and a
  password change or reset bump it, so older cookies never work again, in any process.
* ``login_throttle``: failed sign-ins per user-and-address and per address, in the
  database so every server process applies the same limits.
* ``ix_audit_event_action``: the newest write (the dashboard's cache key, shared
  by every process).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from alembic import op

from leiosurv.registry.migrations._ddl import INT, TIMESTAMP, Table, string

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
SKEW_MINUTES = 5
_MSG = ("leiosurv: the audit trail is append-only: a new row takes the next id, the hash of the last row "
        "and the current time")
_THROTTLE = Table("login_throttle", {"key": string(200), "failures": INT, "first_at": TIMESTAMP,
                                     "last_at": TIMESTAMP},
                  checks={"failures": "failures >= 0"}, key=("key",))


def _at(value) -> str:
    if isinstance(value, str):  # SQLite without type processing
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _row_hash(prev: str, r) -> str:
    """Frozen copy of ``leiosurv.registry._access.audit_row_hash`` as of this revision."""
    content = json.dumps([r.id, _at(r.at), r.username, r.role, r.action, r.resource, r.patient, r.patients,
                          r.remote_addr, r.outcome], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev + "\n" + content).encode()).hexdigest()


def _seal(bind) -> None:
    rows = bind.execute(sa.text("SELECT id, at, username, role, action, resource, patient, patients, remote_addr, "
                                "outcome FROM audit_event ORDER BY id")).all()
    prev = GENESIS
    for r in rows:
        h = _row_hash(prev, r)
        bind.execute(sa.text("UPDATE audit_event SET prev_hash = :p, row_hash = :h WHERE id = :id"),
                     {"p": prev, "h": h, "id": r.id})
        prev = h


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    for name, type_ in (("patients", sa.Text()), ("prev_hash", sa.String(64)), ("row_hash", sa.String(64))):
        op.add_column("audit_event", sa.Column(name, type_, nullable=True))
    op.create_index("ix_audit_event_action", "audit_event", ["action", "id"])
    # seal the existing rows (the update trigger is lifted for this one transaction)
    if sqlite:
        op.execute("DROP TRIGGER trg_audit_event_no_update")
        _seal(bind)
        op.execute("CREATE TRIGGER trg_audit_event_no_update BEFORE UPDATE ON audit_event "
                   "BEGIN SELECT RAISE(ABORT, 'leiosurv: the audit trail is append-only (no update or delete)'); END")
        op.execute(f"""CREATE TRIGGER trg_audit_event_chain BEFORE INSERT ON audit_event BEGIN
            SELECT RAISE(ABORT, '{_MSG}') WHERE
                NEW.id IS NOT (SELECT coalesce(max(id), 0) + 1 FROM audit_event)
                OR NEW.prev_hash IS NOT coalesce((SELECT row_hash FROM audit_event ORDER BY id DESC LIMIT 1),
                                                 '{GENESIS}')
                OR NEW.row_hash IS NULL OR length(NEW.row_hash) <> 64
                OR NEW.at < (SELECT max(at) FROM audit_event)
                OR NEW.at < strftime('%Y-%m-%d %H:%M:%f', 'now', '-{SKEW_MINUTES} minutes')
                OR NEW.at > strftime('%Y-%m-%d %H:%M:%f', 'now', '+{SKEW_MINUTES} minutes');
            END""")
    else:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER trg_audit_event_append_only")
        _seal(bind)
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER trg_audit_event_append_only")
        op.execute(f"""CREATE FUNCTION trg_audit_event_chain() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE last_id integer; last_hash text; last_at timestamptz;
            BEGIN
                PERFORM pg_advisory_xact_lock(hashtext('leiosurv.audit_event'));
                SELECT id, row_hash, at INTO last_id, last_hash, last_at FROM audit_event ORDER BY id DESC LIMIT 1;
                IF NEW.id IS DISTINCT FROM coalesce(last_id, 0) + 1
                   OR NEW.prev_hash IS DISTINCT FROM coalesce(last_hash, '{GENESIS}')
                   OR NEW.row_hash IS NULL OR length(NEW.row_hash) <> 64
                   OR NEW.at < last_at
                   OR NEW.at < clock_timestamp() - interval '{SKEW_MINUTES} minutes'
                   OR NEW.at > clock_timestamp() + interval '{SKEW_MINUTES} minutes' THEN
                    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE = '{_MSG}';
                END IF;
                RETURN NEW;
            END $$""")
        op.execute("CREATE TRIGGER trg_audit_event_chain BEFORE INSERT ON audit_event "
                   "FOR EACH ROW EXECUTE FUNCTION trg_audit_event_chain()")
    op.add_column("app_user", sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))
    _THROTTLE.create()


def downgrade() -> None:
    bind = op.get_bind()
    _THROTTLE.drop()
    op.execute("ALTER TABLE app_user DROP COLUMN session_epoch")
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER trg_audit_event_chain")
    else:
        op.execute("DROP TRIGGER trg_audit_event_chain ON audit_event")
        op.execute("DROP FUNCTION trg_audit_event_chain()")
    op.drop_index("ix_audit_event_action", table_name="audit_event")
    for name in ("row_hash", "prev_hash", "patients"):  # plain ALTER TABLE: a batch copy would lose the triggers
        op.execute(f"ALTER TABLE audit_event DROP COLUMN {name}")


"""Requests without a session on patient URLs, counted instead of audited one by one.

``anonymous_attempt``: per client address, window (a minute) and attempted action
(read, write), the number of requests on a patient URL made without a session.
The first of each is audited at once, as before; the others only raise the count
(no audit row, no audit lock), and when the window is over its count goes to the
audit trail as one row saying how many.  So anonymous requests cost at most two
audit rows per address, action and minute, and none is lost from the trail.
The counts are in the database, shared by every server process, as the sign-in
limits (``login_throttle``, migration 0010) are.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 19:00:00
"""

from leiosurv.registry.migrations._ddl import INT, TIMESTAMP, Table, string

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_TABLE = Table("anonymous_attempt", {"address": string(64), "window_start": TIMESTAMP, "action": string(16),
                                     "attempts": INT},
               checks={"attempts": "attempts >= 1"}, key=("address", "window_start", "action"))


def upgrade() -> None:
    _TABLE.create()


def downgrade() -> None:
    _TABLE.drop()

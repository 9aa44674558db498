"""Runs of the cohort study made from the web app, kept with their files.

* ``study_run``: when, by whom, the horizon and parameters, the rule-set version,
  the cohort size, whether the cohort was synthetic, and the study's result JSON
  (``StudyResult.to_json``);
* ``study_run_file``: the report's files of a run (HTML report, figures, CSV
  tables, result.json), so a run survives a restart and every server process
  serves the same list.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 15:40:00
"""

import sqlalchemy as sa

from leiosurv.registry.migrations._ddl import BOOL, INT, JSON, TEXT, TIMESTAMP, Col, Table, null, string

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_TABLES = (
    Table("study_run", {
        "id": INT, "at": TIMESTAMP, "username": null(string(64)), "horizon": string(16), "parameters": JSON,
        "ruleset_version": string(32), "n": INT, "synthetic": BOOL, "result": TEXT,
    }, checks={"n": "n >= 0"}, indexes={"ix_study_run_at": ("at",)}),
    Table("study_run_file", {
        "study_run_id": INT, "name": string(80), "content": Col(sa.LargeBinary()),
    }, refs=(("study_run_id",),), key=("study_run_id", "name")),
)


def upgrade() -> None:
    for table in _TABLES:
        table.create()


def downgrade() -> None:
    for table in reversed(_TABLES):
        table.drop()

"""Runs of the cohort study kept in the registry (tables ``study_run`` and ``study_run_file``, migration 0011).

The web app stores each run it makes (when, by whom, horizon and parameters,
rule-set version, cohort size, synthetic or not, the result JSON and the
report's files) so that runs survive a restart and every server process lists
the same runs.  Only aggregates: the study's result and report hold no
patient-level data.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leiosurv.exceptions import NotFoundError
from leiosurv.registry import _tables as T

__all__ = ["StudyRunInfo", "add_run", "list_runs", "get_run", "get_file"]


@dataclass(frozen=True)
class StudyRunInfo:
    """One stored run: its metadata, its files' names, and (from :func:`get_run`) the result JSON."""

    id: int
    at: _dt.datetime
    username: str | None
    horizon: str
    parameters: dict
    ruleset_version: str
    n: int
    synthetic: bool
    files: tuple[str, ...] = ()
    result: str | None = None


def _utc(t: _dt.datetime) -> _dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=_dt.UTC)


def add_run(conn: Connection, *, at: _dt.datetime, username: str | None, horizon: str, parameters: dict,
            ruleset_version: str, n: int, synthetic: bool, result: str, files: dict[str, bytes]) -> int:
    """Store a run and its files; returns its id."""
    rid = conn.execute(sa.insert(T.study_run).values(
        at=at, username=username, horizon=horizon, parameters=parameters, ruleset_version=ruleset_version, n=n,
        synthetic=synthetic, result=result).returning(T.study_run.c.id)).scalar_one()
    if files:
        conn.execute(sa.insert(T.study_run_file),
                     [{"study_run_id": rid, "name": k, "content": v} for k, v in sorted(files.items())])
    return int(rid)


def _names(conn: Connection, ids: list[int]) -> dict[int, tuple[str, ...]]:
    f = T.study_run_file
    out: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for r in conn.execute(sa.select(f.c.study_run_id, f.c.name).where(f.c.study_run_id.in_(ids))
                              .order_by(f.c.study_run_id, f.c.name)):
            out[r.study_run_id].append(r.name)
    return {k: tuple(v) for k, v in out.items()}


def _info(r, files: tuple[str, ...], result: str | None = None) -> StudyRunInfo:
    return StudyRunInfo(r.id, _utc(r.at), r.username, r.horizon, dict(r.parameters), r.ruleset_version, r.n,
                        bool(r.synthetic), files, result)


def list_runs(conn: Connection, *, limit: int = 50) -> list[StudyRunInfo]:
    """The latest runs first (without their result JSON)."""
    s = T.study_run
    rows = conn.execute(sa.select(*(c for c in s.c if c.name != "result"))
                        .order_by(s.c.at.desc(), s.c.id.desc()).limit(limit)).all()
    names = _names(conn, [r.id for r in rows])
    return [_info(r, names[r.id]) for r in rows]


def get_run(conn: Connection, run_id: int | None = None) -> StudyRunInfo | None:
    """Run *run_id* with its result JSON (the latest when None; None when there is none)."""
    s = T.study_run
    q = sa.select(s)
    q = q.where(s.c.id == run_id) if run_id is not None else q.order_by(s.c.at.desc(), s.c.id.desc()).limit(1)
    r = conn.execute(q).first()
    if r is None:
        if run_id is not None:
            raise NotFoundError(f"study run {run_id}: not stored")
        return None
    return _info(r, _names(conn, [r.id])[r.id], r.result)


def get_file(conn: Connection, run_id: int, name: str) -> bytes:
    """One file of a stored run."""
    f = T.study_run_file
    v = conn.execute(sa.select(f.c.content).where(f.c.study_run_id == run_id, f.c.name == name)).scalar()
    if v is None:
        raise NotFoundError(f"study run {run_id}: no file {name!r}")
    return bytes(v)

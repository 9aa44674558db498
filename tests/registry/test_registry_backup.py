"""Backup and restore round trip, comparing every row of every table."""

import datetime as dt
import shutil

import pytest
import sqlalchemy as sa

from leiosurv.exceptions import RegistryError
from leiosurv.registry import Registry, backup, load_synthetic, restore
from leiosurv.registry import _tables as T


def _dump(reg) -> dict:
    out = {}
    with reg.engine.connect() as c:
        for t in T.metadata.sorted_tables:
            out[t.name] = c.execute(sa.select(t).order_by(*t.primary_key.columns)).all()
    return out


def test_round_trip_every_row(demo, tmp_path):
    if demo.dialect == "postgresql" and not shutil.which("pg_dump"):
        pytest.fail("pg_dump is not on PATH: install the PostgreSQL client programs")
    load_synthetic(demo, 30, seed=4)
    demo.add_patient("ID-1", sex="female", name="Named Person", birth_date="1961-02-03")
    demo.add_user("alice", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "clinician")
    demo.audit(username="alice", role="clinician", action="read", resource="patient record", patient="ID-1")
    demo.add_study_run(at=dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC), username="alice", horizon="5y",
                       parameters={"horizon_days": 1826.25}, ruleset_version="test", n=30, synthetic=True,
                       result="{}", files={"result.json": b"{}", "forest_plot.png": b"\x89PNG\r\n"})
    before = _dump(demo)
    assert sum(len(v) for v in before.values()) > 150 and all(before.values())
    out = backup(demo.engine, tmp_path / "registry.backup")
    assert out.stat().st_size > 10_000
    # damage the registry, then restore
    with demo.engine.begin() as c:
        c.execute(sa.delete(T.patient).where(T.patient.c.pseudonym.like("SYN-%")))
    assert _dump(demo) != before
    with pytest.raises(RegistryError, match="--replace"):
        restore(demo.engine, out)
    restore(demo.engine, out, replace=True)
    again = Registry(demo.url)
    assert _dump(again) == before
    # the restored registry still enforces its rules
    with pytest.raises(RegistryError, match="after the patient's death"):
        again.record_event("SEED-000", "local_recurrence", "2025-01-01", tumour="forearm-1997")


def test_restore_refuses_what_is_not_a_backup(reg, tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup at all" * 100)
    with pytest.raises(RegistryError, match="not a"):
        restore(reg.engine, junk)
    with pytest.raises(RegistryError, match="no such file"):
        restore(reg.engine, tmp_path / "missing")


def test_backup_never_overwrites_the_registry(tmp_path):
    from leiosurv.exceptions import OutputError

    r = Registry(tmp_path / "r.sqlite", create=True)
    with pytest.raises(OutputError):
        backup(r.engine, tmp_path / "r.sqlite")

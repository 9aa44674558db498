"""Backup and restore round trip, comparing every row of every table."""

import datetime as dt
import shutil

import pytest
import sqlalchemy as sa

from leiosurv.exceptions import RegistryError
from leiosurv.registry import Registry, backup, head_revision, load_synthetic, restore
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
    demo.correct("ID-1", "identity", name="Named Other", birth_date="1961-02-03", reason="typo", by="alice")
    demo.correct("ID-1", "patient", note="corrected", reason="typo", by="alice")
    demo.login_failure(["10.0.0.9"], now=dt.datetime.now(dt.UTC), window=dt.timedelta(minutes=15),
                       forget=dt.timedelta(days=1))
    for _ in range(2):  # a count of requests without a session, its minute not over
        demo.anonymous_attempt(address="10.0.0.9", action="read", resource="GET /patients/{pseudonym}",
                               patient="ID-1")
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


def _overwrite_pages(path, pages=(3, 5, 8), page_size=4096) -> None:
    """Overwrite whole pages of a SQLite file with junk, keeping its size."""
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        for p in pages:
            assert (p + 1) * page_size <= size
            fh.seek(p * page_size)
            fh.write(bytes((i * 37 + 11) % 256 for i in range(page_size)))
    assert path.stat().st_size == size


def test_a_damaged_sqlite_backup_of_the_same_size_is_refused_and_the_registry_untouched(tmp_path):
    reg = Registry(tmp_path / "r.sqlite", create=True)
    load_synthetic(reg, 30, seed=4)
    out = backup(reg.engine, tmp_path / "registry.backup")
    _overwrite_pages(out)
    before = _dump(reg)
    with pytest.raises(RegistryError, match=r"backup .*registry.backup: .*(damaged|not a sound).*nothing was restored"):
        restore(reg.engine, out, replace=True)
    assert _dump(Registry(tmp_path / "r.sqlite")) == before


def test_a_sqlite_backup_without_the_registrys_tables_is_refused(tmp_path):
    import sqlite3

    reg = Registry(tmp_path / "r.sqlite", create=True)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as c:  # a sound SQLite file with the right revision but not the registry's schema
        c.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        c.execute("INSERT INTO alembic_version VALUES (?)", (head_revision(),))
        c.execute("CREATE TABLE patient (id INTEGER PRIMARY KEY)")
    with pytest.raises(RegistryError, match="table .* missing or has other columns"):
        restore(reg.engine, other)
    plain = tmp_path / "plain.sqlite"
    with sqlite3.connect(plain) as c:
        c.execute("CREATE TABLE t (x)")
    with pytest.raises(RegistryError, match="no alembic_version table"):
        restore(reg.engine, plain)


def test_a_dump_of_an_unrelated_postgresql_database_is_refused(pg_url, tmp_path):
    """A pg_dump of an empty database that is not a registry 'restored' as success before the check."""
    import subprocess

    from leiosurv.registry import resolve_url

    if not shutil.which("pg_dump"):
        pytest.fail("pg_dump is not on PATH: install the PostgreSQL client programs")
    empty = sa.engine.make_url(resolve_url(pg_url)).set(drivername="postgresql").render_as_string(
        hide_password=False)
    dump = tmp_path / "empty.dump"
    subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), "--dbname", empty], check=True)
    reg = Registry(pg_url, create=True)
    reg.add_patient("P1", sex="female")
    before = _dump(reg)
    with pytest.raises(RegistryError, match="not a leiosurv registry dump .*nothing was restored"):
        restore(reg.engine, dump, replace=True)
    assert _dump(Registry(pg_url)) == before


def test_a_dump_of_another_schema_revision_is_refused(pg_url, tmp_path):
    reg = Registry(pg_url, create=True)
    with reg.engine.begin() as c:
        c.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    out = backup(reg.engine, tmp_path / "old.dump")
    with reg.engine.begin() as c:
        c.execute(sa.text("UPDATE alembic_version SET version_num = :v"),
                  {"v": head_revision()})
    with pytest.raises(RegistryError, match="schema 0001 is not"):
        restore(reg.engine, out, replace=True)


def test_cli_restore_of_a_damaged_backup_is_one_line_exit_2(tmp_path, capsys):
    """Before the check, ``restore --replace`` of this file printed "Restored" and exited 0."""
    from leiosurv.interfaces.cli import main

    db = str(tmp_path / "r.sqlite")
    load_synthetic(Registry(db, create=True), 30, seed=4)
    assert main(["registry", "--db", db, "backup", str(tmp_path / "b.sqlite")]) == 0
    _overwrite_pages(tmp_path / "b.sqlite")
    capsys.readouterr()
    before = Registry(db).counts()
    code = main(["registry", "--db", db, "restore", "--replace", str(tmp_path / "b.sqlite")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Restored" not in err
    assert "nothing was restored" in err
    assert Registry(db).counts() == before

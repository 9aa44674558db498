"""Every failure of ``leiosurv registry ...`` is one line, exit status 2, nothing written, no traceback.

Each case printed a traceback before (a writer blocked by another connection:
66 lines with the SQL and its parameters; ``--db`` naming a file that is not a
database; a garbage ``.xlsx``; a tumour label over 64 characters on PostgreSQL,
with the findings JSON in the message).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from leiosurv.interfaces.cli import main
from leiosurv.registry import Registry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(capsys, db, *args) -> tuple[int, str, str]:
    code = main(["registry", "--db", db, *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line(code: int, err: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


@pytest.fixture
def holder(tmp_path):
    """Another process holding the SQLite registry's write lock (BEGIN IMMEDIATE), until the test ends."""
    db = tmp_path / "r.sqlite"
    Registry(db, create=True).add_patient("P0")
    code = ("import sqlite3, sys, time\n"
            f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "c.execute(\"INSERT INTO patient (pseudonym, sort_key, sex, synthetic) \"\n"
            "          \"VALUES ('HELD', 'held', 'unknown', 0)\")\n"
            "print('ready', flush=True)\n"
            "sys.stdin.read()\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        yield db, p.pid
    finally:
        p.stdin.close()
        p.wait(timeout=30)


def test_a_writer_blocked_by_another_process_is_told_the_registry_is_busy(holder, capsys, monkeypatch):
    from leiosurv.registry import _db

    db, pid = holder
    monkeypatch.setattr(_db, "BUSY_TIMEOUT_MS", 300)
    code, _, err = run(capsys, str(db), "add-patient", "P1", "--name", "Ann Smith")
    line = one_line(code, err)
    assert "busy" in line and "retry" in line and f"held by process {pid} (python" in line, line
    assert "INSERT" not in line and "Ann Smith" not in line and "P1" not in line
    assert Registry(db).patients() == ["P0"]


def test_a_postgresql_writer_blocked_by_another_connection_is_told_the_registry_is_busy(pg_url, capsys,
                                                                                          monkeypatch):
    import sqlalchemy as sa

    from leiosurv.registry import _db

    monkeypatch.setattr(_db, "BUSY_TIMEOUT_MS", 300)
    reg = Registry(pg_url, create=True)
    other = sa.create_engine(_db.resolve_url(pg_url))
    with other.connect() as c:
        c.exec_driver_sql("SET application_name = 'nightly-import'")
        pid = c.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        c.exec_driver_sql("LOCK TABLE patient IN EXCLUSIVE MODE")
        code, _, err = run(capsys, pg_url, "add-patient", "P1")
        line = one_line(code, err)
        c.rollback()
    other.dispose()
    assert "busy" in line and "retry" in line and "INSERT" not in line, line
    assert f"held by server process {pid} (nightly-import)" in line, line
    assert reg.patients() == []


def test_db_naming_a_file_that_is_not_a_database(tmp_path, capsys):
    junk = tmp_path / "notes.txt"
    junk.write_text("these are my notes, not a registry\n" * 200)
    before = junk.read_bytes()
    for args in (["add-patient", "P1"], ["alerts"], ["init"]):
        line = one_line(*run(capsys, str(junk), *args)[::2])
        assert "not a SQLite database" in line and str(junk) in line, line
    assert junk.read_bytes() == before


@pytest.mark.parametrize("content", [b"\x00\x01garbage" * 300, b"PK\x03\x04garbage that is no zip archive"])
def test_a_garbage_xlsx_is_one_line(db_url, tmp_path, capsys, content):
    Registry(db_url, create=True)
    bad = tmp_path / "patients.xlsx"
    bad.write_bytes(content)
    line = one_line(*run(capsys, db_url, "import", str(bad))[::2])
    assert "patients.xlsx" in line and "cannot be read" in line, line
    assert Registry(db_url).patients() == []


def test_a_tumour_label_over_64_characters_is_one_line_naming_the_field(db_url, capsys):
    Registry(db_url, create=True).add_patient("P1")
    code, _, err = run(capsys, db_url, "add-tumour", "P1", "L" * 65, str(EXAMPLES / "teaching_dermal_lms_low.yaml"))
    line = one_line(code, err)
    assert "label" in line and "64" in line and "{" not in line and "L" * 65 not in line, line
    assert Registry(db_url).counts()["tumour"] == 0
    assert run(capsys, db_url, "add-tumour", "P1", "L" * 64, str(EXAMPLES / "teaching_dermal_lms_low.yaml"))[0] == 0

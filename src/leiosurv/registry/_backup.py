"""Backup and restore.

* **SQLite**: the online backup API (``sqlite3.Connection.backup``) copies a
  consistent snapshot while the registry stays in use; the copy is written to a
  temporary file beside the target and renamed into place only when complete
  (:func:`leiosurv.files.atomic_file`).  Restore copies a backup file back with
  the same API, after checking that it is a leiosurv registry of a known schema.
* **PostgreSQL**: ``pg_dump --format=custom`` to the file and ``pg_restore
  --clean --if-exists --no-owner --single-transaction`` back; both programs come
  with the PostgreSQL client packages and must be on ``PATH`` (or named by
  ``$LEIOSURV_PG_BIN``).  The dump is pg_dump-compatible and can be restored by
  hand with the same ``pg_restore`` command.

A restore replaces the whole registry; ``replace=True`` is required when the
registry already holds patients.  Before anything is replaced the backup is
checked (:func:`check_backup`), and refused with one line otherwise:

* **SQLite**: ``PRAGMA integrity_check`` answers ``ok`` (a damaged file, even
  one of the right size whose pages were overwritten, is refused), the file's
  Alembic revision is this version's newest, and every table of the registry
  is there with exactly its columns;
* **PostgreSQL**: the file is a ``pg_dump`` custom-format archive whose table of
  contents (``pg_restore --list``) holds the ``alembic_version`` table with its
  data and every table of the registry, and whose ``alembic_version`` row is
  this version's newest revision.  A dump of another database is refused.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa

from leiosurv.exceptions import RegistryError
from leiosurv.files import atomic_file, check_outputs
from leiosurv.registry import _db
from leiosurv.registry import _tables as T

__all__ = ["backup", "restore", "check_backup"]


def _sqlite_path(engine: sa.engine.Engine) -> str:
    return engine.url.database


def _pg_tool(name: str) -> str:
    d = os.environ.get("LEIOSURV_PG_BIN")
    exe = str(Path(d) / name) if d else shutil.which(name)
    if not exe or not Path(exe).exists():
        raise RegistryError(f"{name} not found: install the PostgreSQL client programs or set LEIOSURV_PG_BIN")
    return exe


def _libpq_url(engine: sa.engine.Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def backup(engine: sa.engine.Engine, out: str | os.PathLike) -> Path:
    """Write a consistent backup of the registry to *out* (nothing is written on failure)."""
    out = Path(out)
    if engine.dialect.name == "sqlite":
        src = _sqlite_path(engine)
        check_outputs([out], [src])
        with atomic_file(out) as tmp:
            tmp.unlink()
            s = sqlite3.connect(src)
            d = sqlite3.connect(tmp)
            try:
                with d:
                    s.backup(d)
                d.execute("PRAGMA journal_mode=DELETE")
            finally:
                d.close()
                s.close()
        return out
    with atomic_file(out) as tmp:
        proc = subprocess.run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(tmp),
                               "--dbname", _libpq_url(engine)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RegistryError(f"pg_dump failed: {proc.stderr.strip().splitlines()[-1][:200] if proc.stderr else ''}")
    return out


def _has_patients(engine: sa.engine.Engine) -> bool:
    try:
        with engine.connect() as c:
            return c.execute(sa.select(sa.func.count()).select_from(T.patient)).scalar_one() > 0
    except sa.exc.DBAPIError:
        return False


def _refuse(source: Path, why: str) -> RegistryError:
    return RegistryError(f"backup {source}: {why}; nothing was restored")


def _check_sqlite(source: Path) -> None:
    try:
        s = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    except sqlite3.Error:
        raise _refuse(source, "cannot be opened as a SQLite file") from None
    try:
        try:
            verdict = [r[0] for r in s.execute("PRAGMA integrity_check(5)").fetchall()]
        except sqlite3.DatabaseError as exc:
            raise _refuse(source, f"not a sound SQLite registry backup ({str(exc)[:80]})") from None
        if verdict != ["ok"]:
            raise _refuse(source, f"damaged: SQLite's integrity check failed ({verdict[0][:80]})")
        try:
            rev = s.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            raise _refuse(source, "not a leiosurv SQLite registry backup (no alembic_version table)") from None
        if rev is None or rev[0] != _db.head_revision():
            raise _refuse(source, f"schema {rev and rev[0]} is not {_db.head_revision()}")
        for t in T.metadata.sorted_tables:
            cols = {r[1] for r in s.execute(f'PRAGMA table_info("{t.name}")')}
            if cols != set(t.columns.keys()):
                raise _refuse(source, f"table {t.name} is missing or has other columns than the registry's")
    finally:
        s.close()


_TOC_TABLE = re.compile(r"^\d+; \d+ \d+ (TABLE DATA|TABLE) (\S+) (\S+)(?: |$)", re.M)


def _check_pg(source: Path) -> None:
    with open(source, "rb") as fh:
        if fh.read(5) != b"PGDMP":
            raise _refuse(source, "not a pg_dump custom-format file")
    tool = _pg_tool("pg_restore")
    toc = subprocess.run([tool, "--list", str(source)], capture_output=True, text=True)
    if toc.returncode != 0:
        raise _refuse(source, "pg_restore cannot read it (" + (toc.stderr.strip().splitlines() or [""])[-1][:120] + ")")
    tables = {(kind, name) for kind, _schema, name in _TOC_TABLE.findall(toc.stdout)}
    wanted = {("TABLE", t.name) for t in T.metadata.sorted_tables} | {("TABLE", "alembic_version"),
                                                                      ("TABLE DATA", "alembic_version")}
    missing = sorted(name for kind, name in wanted - tables)
    if missing:
        raise _refuse(source, "not a leiosurv registry dump (no table " + ", ".join(missing[:4]) + ")")
    data = subprocess.run([tool, "--data-only", "--table=alembic_version", "--file=-", str(source)],
                          capture_output=True, text=True)
    m = re.search(r"^COPY \S*alembic_version \(version_num\) FROM stdin;\n(.*)\n\\\.$", data.stdout, re.M)
    rev = m[1] if m else None
    if rev != _db.head_revision():
        raise _refuse(source, f"schema {rev} is not {_db.head_revision()}")


def check_backup(dialect: str, source: str | os.PathLike) -> None:
    """Check that *source* is a sound backup of a leiosurv registry of this version's schema.

    Parameters
    ----------
    dialect : {"sqlite", "postgresql"}
        The kind of registry the backup is for (a SQLite file or a ``pg_dump`` archive).
    source : path
        The backup file.

    Raises
    ------
    RegistryError
        One line saying why the file is refused (missing, damaged, not a registry, another schema).
    """
    source = Path(source)
    if not source.is_file():
        raise RegistryError(f"backup {source}: no such file")
    (_check_sqlite if dialect == "sqlite" else _check_pg)(source)


def restore(engine: sa.engine.Engine, source: str | os.PathLike, *, replace: bool = False) -> None:
    """Replace the registry's content with the backup *source*, after :func:`check_backup`.

    Raises
    ------
    RegistryError
        *source* is missing, damaged or not a registry backup of this schema, or
        the registry holds patients and ``replace`` is false; the registry is unchanged.
    """
    source = Path(source)
    check_backup(engine.dialect.name, source)
    if _has_patients(engine) and not replace:
        raise RegistryError("the registry already holds patients; pass --replace to overwrite it with the backup")
    if engine.dialect.name == "sqlite":
        engine.dispose()
        dst_path = _sqlite_path(engine)
        Path(dst_path).parent.mkdir(parents=True, exist_ok=True)
        s = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        d = sqlite3.connect(dst_path)
        try:
            s.backup(d)  # one transaction on the destination: all or nothing
        finally:
            d.close()
            s.close()
        return
    engine.dispose()
    # --clean drops each object of the dump before re-creating it, all in one transaction
    proc = subprocess.run([_pg_tool("pg_restore"), "--no-owner", "--clean", "--if-exists", "--single-transaction",
                           "--exit-on-error",
                           "--dbname", _libpq_url(engine), str(source)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RegistryError(f"pg_restore failed: {proc.stderr.strip().splitlines()[-1][:200] if proc.stderr else ''}")

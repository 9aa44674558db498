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
registry already holds patients.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa

from leiosurv.exceptions import RegistryError
from leiosurv.files import atomic_file, check_outputs
from leiosurv.registry import _db
from leiosurv.registry import _tables as T

__all__ = ["backup", "restore"]


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


def restore(engine: sa.engine.Engine, source: str | os.PathLike, *, replace: bool = False) -> None:
    """Replace the registry's content with the backup *source*.

    Raises
    ------
    RegistryError
        *source* is missing or not a registry backup, or the registry holds
        patients and ``replace`` is false; the registry is unchanged.
    """
    source = Path(source)
    if not source.is_file():
        raise RegistryError(f"backup {source}: no such file")
    if _has_patients(engine) and not replace:
        raise RegistryError("the registry already holds patients; pass --replace to overwrite it with the backup")
    if engine.dialect.name == "sqlite":
        try:
            s = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            rev = s.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            raise RegistryError(f"backup {source}: not a leiosurv SQLite registry backup") from None
        if rev is None or rev[0] != _db.head_revision():
            s.close()
            raise RegistryError(f"backup {source}: schema {rev and rev[0]} is not {_db.head_revision()}")
        engine.dispose()
        dst_path = _sqlite_path(engine)
        Path(dst_path).parent.mkdir(parents=True, exist_ok=True)
        d = sqlite3.connect(dst_path)
        try:
            s.backup(d)  # one transaction on the destination: all or nothing
        finally:
            d.close()
            s.close()
        return
    with open(source, "rb") as fh:
        if fh.read(5) != b"PGDMP":
            raise RegistryError(f"backup {source}: not a pg_dump custom-format file")
    engine.dispose()
    # --clean drops each object of the dump before re-creating it, all in one transaction
    proc = subprocess.run([_pg_tool("pg_restore"), "--no-owner", "--clean", "--if-exists", "--single-transaction",
                           "--exit-on-error",
                           "--dbname", _libpq_url(engine), str(source)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RegistryError(f"pg_restore failed: {proc.stderr.strip().splitlines()[-1][:200] if proc.stderr else ''}")

"""Opening the registry database: URL resolution, SQLite pragmas, migrations.

* No URL: ``$LEIOSURV_REGISTRY_URL`` if set, else ``registry.sqlite`` in the
  per-user data directory (``platformdirs.user_data_dir("leiosurv")``).
* A plain path is a SQLite file; ``sqlite:///...`` and ``postgresql://...`` URLs
  are used as given (``postgresql://`` is run through psycopg 3).
* SQLite connections get ``foreign_keys=ON``, ``journal_mode=WAL`` and
  ``synchronous=NORMAL`` (durable at every commit in WAL mode up to the last
  transaction before a power loss; never corrupt).
* :func:`upgrade` brings the schema to the newest Alembic revision; the
  migrations ship inside the package (``leiosurv/registry/migrations``).
* A writer waits up to :data:`BUSY_TIMEOUT_MS` for another connection's write
  lock (SQLite ``busy_timeout``, PostgreSQL ``lock_timeout``), then gets one
  line: the registry is busy, which process holds it where that can be known
  (SQLite on Linux: the processes that have the file open), retry.  Every
  engine turns the database's own failures that are not refusals of a record
  (busy, not a database, a damaged file, a value the column cannot hold) into
  one-line :class:`~leiosurv.exceptions.RegistryError` messages that never show
  the statement or its parameters (:func:`_one_line`).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from leiosurv.exceptions import RegistryError

__all__ = ["default_url", "resolve_url", "make_engine", "upgrade", "current_revision", "head_revision",
           "redact", "import_transaction"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ENV_URL = "LEIOSURV_REGISTRY_URL"
#: how long a writer waits for another connection's lock before it is told the registry is busy
BUSY_TIMEOUT_MS = 10_000


def default_url() -> str:
    """The registry used when none is named: ``$LEIOSURV_REGISTRY_URL`` or the per-user SQLite file."""
    env = os.environ.get(ENV_URL)
    if env:
        return resolve_url(env)
    import platformdirs

    return resolve_url(Path(platformdirs.user_data_dir("leiosurv")) / "registry.sqlite")


def resolve_url(target: str | os.PathLike | None) -> str:
    """A SQLAlchemy URL from a URL or a SQLite file path (``None``: :func:`default_url`).

    Examples
    --------
    >>> resolve_url("postgresql://u@h/db")
    'postgresql+psycopg://u@h/db'
    >>> resolve_url("/tmp/r.sqlite")
    'sqlite:////tmp/r.sqlite'
    """
    if target is None:
        return default_url()
    s = str(target)
    if "://" not in s:
        return f"sqlite:///{Path(s).expanduser().resolve()}"
    if s.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + s.split("://", 1)[1]
    if s.startswith(("sqlite://", "postgresql+psycopg://")):
        return s
    raise RegistryError(f"database URL {redact(s)}: use a SQLite path, sqlite:///PATH or postgresql://...")


def redact(url: str) -> str:
    """*url* with any password replaced by ``***`` (URLs are shown in messages, passwords never).

    >>> redact("postgresql://me:secret@host/db")
    'postgresql://me:***@host/db'
    """
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparseable URL is shown as its scheme only
        return url.split("://", 1)[0] + "://..."


NATURAL_DIGITS = 10
"""Width to which :func:`natural_text` pads each run of digits (longer runs are kept as they are)."""


def natural_text(text: str | None) -> str | None:
    """*text* with each run of digits zero-padded to :data:`NATURAL_DIGITS`, so that text order is natural order
    (``SYN-1-2`` -> ``SYN-0000000001-0000000002``, before ``SYN-0000000001-0000000010``).
    """
    return None if text is None else re.sub(r"\d+", lambda m: m.group().zfill(NATURAL_DIGITS), text)


#: room for the :func:`natural_key` of any pseudonym of 64 characters: at most 32 runs of digits, each padded to
#: 10, between 32 other characters, each of which lower case may make two (``İ``): 320 + 64 = 384
SORT_KEY_CHARS = 400


def natural_key(pseudonym: str) -> str:
    """The patient list's sort key of *pseudonym*: its lower case with each run of digits zero-padded
    (:func:`natural_text`), so ``SYN-1-2`` sorts before ``SYN-1-10`` and ``syn-3`` between them.

    Stored in ``patient.sort_key`` (migration 0013) by the registry's one write path when a patient is added
    or its pseudonym corrected, and indexed with the synthetic flag, so a page of the list is read in index
    order on both databases instead of sorting every patient.
    """
    return natural_text(pseudonym.lower()) or ""


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - SQLAlchemy event signature
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")
    cur.close()


def _pg_session(dbapi_conn, _record) -> None:  # noqa: ANN001 - SQLAlchemy event signature
    cur = dbapi_conn.cursor()
    cur.execute(f"SET lock_timeout = {int(BUSY_TIMEOUT_MS)}")
    cur.close()
    dbapi_conn.commit()


def _holders(path: str) -> list[str]:
    """The other processes that have the SQLite file *path* (or its WAL) open, as ``"pid (name)"`` (Linux only)."""
    wanted = {os.path.realpath(p) for p in (path, f"{path}-wal", f"{path}-shm")}
    found: list[str] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for d in proc.iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            if any(os.path.realpath(f) in wanted for f in (d / "fd").iterdir()):
                found.append(f"{d.name} ({(d / 'comm').read_text().strip()})")
        except OSError:  # a process that ended, or one of another user: not knowable
            continue
    return sorted(found)[:5]


_PG_HOLDERS = (
    "SELECT DISTINCT a.pid, coalesce(nullif(a.application_name, ''), a.usename) FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid JOIN pg_class c ON c.oid = l.relation "
    "WHERE l.granted AND a.datname = current_database() AND a.pid <> pg_backend_pid() "
    "AND c.relnamespace = current_schema()::regnamespace "
    "AND l.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock') "
    "ORDER BY 1 LIMIT 5")


def _pg_holders(engine: Engine) -> list[str]:
    """The other server processes holding write locks on the registry's tables, as ``"pid (application)"``."""
    try:
        raw = engine.raw_connection()
    except Exception:  # noqa: BLE001 - who holds the lock is told when it can be known; the busy line stands
        return []
    try:
        cur = raw.cursor()
        cur.execute(_PG_HOLDERS)
        return [f"{pid} ({who})" for pid, who in cur.fetchall()]
    except Exception:  # noqa: BLE001 - as above
        return []
    finally:
        raw.rollback()
        raw.close()


def _busy(url: sa.engine.URL, engine: Engine | None = None) -> RegistryError:
    where = f"registry {redact(url.render_as_string(hide_password=True))}"
    held: list[str] = []
    if url.get_backend_name() == "sqlite" and url.database:
        held = _holders(url.database)
    elif engine is not None:
        held = _pg_holders(engine)
    holder = f" (held by {'process' if url.get_backend_name() == 'sqlite' else 'server process'} " \
             f"{', '.join(held)})" if held else ""
    return RegistryError(f"{where}: busy: another connection is writing to it{holder}; nothing was written, "
                         f"retry when it has finished")


def _one_line(ctx) -> None:  # noqa: ANN001 - SQLAlchemy's ExceptionContext
    """Raise a one-line :class:`RegistryError` for a database failure that is not a refusal of a record.

    Constraint and trigger refusals pass through to ``_repo.translate_errors``, which names the rule.
    """
    orig = ctx.original_exception
    text = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    url = ctx.engine.url if ctx.engine is not None else None
    where = f"registry {redact(url.render_as_string(hide_password=True))}" if url is not None else "registry"
    low = text.lower()
    if "database is locked" in low or "database is busy" in low or "lock timeout" in low:
        raise (_busy(url, ctx.engine) if url is not None else RegistryError("registry busy; retry")) from None
    if "file is not a database" in low:
        raise RegistryError(f"{where}: not a SQLite database (the file holds something else)") from None
    if "database disk image is malformed" in low:
        raise RegistryError(f"{where}: the database file is damaged; restore it from a backup") from None
    if "value too long" in low or "out of range" in low:
        raise RegistryError(f"{where}: the database refused a value: {text[:120]}") from None


def _create_private(path: Path) -> None:
    """Create the SQLite file *path*, if new, readable by its owner only (0600): it holds patient data.
    SQLite gives its ``-wal`` and ``-shm`` files the permissions of the database file."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def make_engine(target: str | os.PathLike | None = None, *, create_dir: bool = True) -> Engine:
    """An engine for the registry at *target* (URL or SQLite path; ``None``: the default registry).

    Raises
    ------
    RegistryError
        The URL is not a SQLite or PostgreSQL URL.
    """
    url = resolve_url(target)
    u = sa.engine.make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:" and create_dir:
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            _create_private(Path(u.database))
        engine = sa.create_engine(url)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
        sa.event.listen(engine, "connect", _pg_session)
    sa.event.listen(engine, "handle_error", _one_line)
    return engine


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that writes: all or nothing.

    SQLite: the transaction takes the write lock when it begins (``BEGIN IMMEDIATE``; a concurrent writer waits
    up to ``busy_timeout``), so the rows it reads before writing cannot be changed under it, and the savepoints
    inside it (the import's batches) stay inside it: the sqlite3 module would otherwise open its transaction
    only at the first write, and a savepoint opened before that would commit when released.
    PostgreSQL: an ordinary transaction (the writers lock the patient rows they change, ``_save.load``).
    """
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


#: the import's page cache on SQLite (KiB; SQLite's default is 2 MiB): the cache spills to the file when full
IMPORT_CACHE_KIB = 256 * 1024


@contextlib.contextmanager
def import_transaction(engine: Engine) -> Iterator[Connection]:
    """The import's transaction: all or nothing, as :func:`write_transaction`.

    PostgreSQL: :func:`write_transaction`.  SQLite: the transaction runs in SQLite's rollback-journal mode
    (``journal_mode=DELETE``, ``synchronous=FULL``: the database's original pages go to a journal, the new
    ones straight to the file; a process killed mid-way leaves a journal that the next connection rolls back),
    with a page cache of :data:`IMPORT_CACHE_KIB`; afterwards, committed or not, WAL mode again.  In WAL mode
    every page of the transaction would be written twice (to the WAL, then to the file at the checkpoint) and
    the WAL would grow to the size of everything imported: SQLite's documentation says WAL "does not work well
    for very large transactions ... in excess of a gigabyte, WAL mode may fail with an I/O or disk-full error"
    (https://www.sqlite.org/wal.html, Disadvantages); an import of 10^6 patients writes about 40 GB.
    Leaving WAL mode needs the registry to itself: while any other connection has it open (a web app, another
    command), the import is refused with one line naming the processes that hold it, nothing written.
    """
    if engine.dialect.name != "sqlite":
        with write_transaction(engine) as conn:
            yield conn
        return
    engine.dispose()  # this process's idle pooled connections would hold the file open
    with engine.connect() as conn:
        try:
            conn.exec_driver_sql("PRAGMA busy_timeout=0")
            mode = conn.exec_driver_sql("PRAGMA journal_mode=DELETE").scalar()
        except RegistryError:
            mode = None
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")
        if mode not in ("delete", "memory"):
            url = engine.url
            held = _holders(url.database) if url.database else []
            holder = f" (held by process {', '.join(held)})" if held else ""
            raise RegistryError(f"registry {redact(url.render_as_string(hide_password=True))}: an import needs the "
                                f"SQLite registry to itself, but another connection has it open{holder}; nothing "
                                "was written, retry when it is closed")
        try:
            conn.exec_driver_sql("PRAGMA synchronous=FULL")
            conn.exec_driver_sql(f"PRAGMA cache_size=-{int(IMPORT_CACHE_KIB)}")
            conn.rollback()  # ends SQLAlchemy's own transaction around the PRAGMAs (nothing to roll back)
            with conn.begin():
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn
        finally:
            conn.rollback()  # nothing left open (a no-op after the commit)
            conn.exec_driver_sql("PRAGMA cache_size=-2000")
            conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
            with contextlib.suppress(RegistryError):  # a connection opened meanwhile: it or the next one sets WAL
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")


def _alembic_config(connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration shipped with this version of leiosurv."""
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)
    return ScriptDirectory.from_config(cfg).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The schema revision of the database (``None``: not initialised)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or migrate the schema to *revision* (default the newest), in one transaction."""
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)

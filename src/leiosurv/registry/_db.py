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
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leiosurv.exceptions import RegistryError

__all__ = ["default_url", "resolve_url", "make_engine", "upgrade", "current_revision", "head_revision",
           "redact"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ENV_URL = "LEIOSURV_REGISTRY_URL"


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

    SQLite calls it as the SQL function ``leiosurv_natural``; PostgreSQL computes the same text with two
    ``regexp_replace`` (``registry._access.natural_order``; tests/web/test_pages.py checks both databases).
    """
    return None if text is None else re.sub(r"\d+", lambda m: m.group().zfill(NATURAL_DIGITS), text)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - SQLAlchemy event signature
    dbapi_conn.create_function("leiosurv_natural", 1, natural_text, deterministic=True)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


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
        engine = sa.create_engine(url)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


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

"""Registry fixtures: every registry test runs on SQLite and on a real PostgreSQL server.

PostgreSQL comes from ``$LEIOSURV_TEST_PG_URL`` (a URL of a role that may create
databases, e.g. ``postgresql://postgres@127.0.0.1:5432/postgres``); each test
gets a fresh database that is dropped afterwards.  Without the variable the
PostgreSQL variants are skipped, saying so, outside CI; with ``CI`` set they
fail: CI must run them.
"""

from __future__ import annotations

import os
import uuid

import pytest

pytest.importorskip("sqlalchemy")

PG_ENV = "LEIOSURV_TEST_PG_URL"


def _pg_admin_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {PG_ENV} is not: the registry tests must run on PostgreSQL in CI")
    pytest.skip(f"{PG_ENV} not set: PostgreSQL variant skipped outside CI (set it to run on a real server)")
    return None


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    import sqlalchemy as sa

    from leiosurv.registry import resolve_url

    admin = sa.create_engine(resolve_url(_pg_admin_url()), isolation_level="AUTOCOMMIT")
    name = f"leiosurv_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as c:
            c.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.OperationalError as exc:
        pytest.fail(f"{PG_ENV} is set but the server cannot be used: {str(exc.orig).splitlines()[0]}")
    url = sa.engine.make_url(resolve_url(os.environ[PG_ENV])).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as c:
        c.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' "
                          "AND pid <> pg_backend_pid()")
        c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """The registry URL of an empty database, once per database kind."""
    if request.param == "sqlite":
        return str(tmp_path / "registry.sqlite")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def reg(db_url):
    """An initialised, empty registry."""
    from leiosurv.registry import Registry

    r = Registry(db_url, create=True)
    yield r
    r.close()


@pytest.fixture
def demo(reg):
    """A registry with the two published cases (seeds 000 and 004)."""
    from leiosurv.registry import load_published_cases

    load_published_cases(reg)
    return reg

"""``leiosurv serve`` (the clinic web app) and ``leiosurv users ...`` (its accounts; the first admin)."""

from __future__ import annotations

import getpass
import os
from typing import Any

import click

from leiosurv.exceptions import InputError


@click.command()
@click.option("--demo", is_flag=True, help="Serve a fresh demo registry (published cases + synthetic data) with "
                                           "demo users; prints the address and a demo login.")
@click.option("--db", default=None, help="Registry: SQLite path or postgresql:// URL (default: the per-user "
                                         "registry; with --demo a separate demo.sqlite).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes. More than one needs the same session key in each (set "
                   "$LEIOSURV_SECRET_KEY, or let the first write the key file) and is meant for PostgreSQL.")
@click.option("--forwarded-allow-ips", default=None,
              help="Trusted reverse proxies (comma-separated IPs or networks): requests from them take the "
                   "client address from X-Forwarded-For, so the audit trail and sign-in limits see each user.")
def serve(demo: bool, db: str | None, host: str, port: int, workers: int, forwarded_allow_ips: str | None) -> None:
    """Start the clinic web app (pages and REST API) on HOST:PORT."""
    try:
        import uvicorn

        from leiosurv.interfaces.web import Settings, create_app
    except ImportError as exc:  # pragma: no cover - the web extra is missing
        raise InputError(f"serve: needs the web extra (pip install 'leiosurv[web]'): {exc}") from None
    from leiosurv.registry import Registry

    if demo:
        from pathlib import Path

        import platformdirs

        from leiosurv.interfaces.web import DEMO_PASSWORD, load_demo

        if db is None:
            path = Path(platformdirs.user_data_dir("leiosurv")) / "demo.sqlite"
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            db = str(path)
        click.echo("Loading the demo registry (published cases, synthetic cohort of 381, 3 synthetic clinic "
                   "patients)...")
        reg = Registry(db, create=True)
        if reg.patients():
            raise InputError("--db: the demo loads into an empty registry; this one holds patients")
        users = load_demo(reg)
        reg.close()
    settings = Settings(db=db, forwarded_allow_ips=forwarded_allow_ips)
    app = create_app(settings)
    where = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    click.echo(f"leiosurv web app: {where}  (registry {app.state.registry!r})")
    if demo:
        click.echo(f"Demo logins (password '{DEMO_PASSWORD}'): " + ", ".join(f"{u} ({r})" for r, u in users.items()))
        click.echo("The demo registry holds the two published cases and SYNTHETIC patients only.")
    elif not app.state.registry.users():
        click.echo("No users yet: create the first admin with 'leiosurv users create-admin USERNAME'.")
    # the app applies the trusted proxies itself (ProxyHeadersMiddleware), so uvicorn's own stays off
    common: dict[str, Any] = dict(host=host, port=port, access_log=False, log_level="warning", server_header=False,
                  proxy_headers=False)
    if workers == 1:
        uvicorn.run(app, **common)
        return
    from leiosurv.interfaces.web import ENV_DB, ENV_FORWARDED

    app.state.registry.close()
    os.environ[ENV_DB] = db or ""
    os.environ[ENV_FORWARDED] = forwarded_allow_ips or ""
    os.environ.setdefault("LEIOSURV_SECRET_KEY", settings.secret_key)  # one key for every worker
    click.echo(f"{workers} worker processes.")
    uvicorn.run("leiosurv.interfaces.web:app_from_environment", factory=True, workers=workers, **common)


@click.group()
@click.option("--db", default=None, help="Registry: SQLite path or postgresql:// URL.")
@click.pass_context
def users(ctx: click.Context, db: str | None) -> None:
    """Accounts of the web app."""
    ctx.obj = {"db": db}


def _password(prompt: bool) -> str:
    env = os.environ.get("LEIOSURV_NEW_PASSWORD")
    if env:
        return env
    if not prompt:
        raise InputError("password: set LEIOSURV_NEW_PASSWORD or run interactively")
    pw = getpass.getpass("Password (at least 8 characters): ")
    if pw != getpass.getpass("Repeat the password: "):
        raise InputError("password: the two entries differ")
    return pw


@users.command("create-admin")
@click.argument("username")
@click.pass_context
def create_admin(ctx: click.Context, username: str) -> None:
    """Create an admin (the first one is made here; admins then add users in the app).

    The password is asked for, or taken from $LEIOSURV_NEW_PASSWORD.
    """
    _add(ctx, username, "admin")


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["clinician", "researcher", "admin"]), required=True)
@click.pass_context
def add(ctx: click.Context, username: str, role: str) -> None:
    """Create a user with ROLE (password asked for, or $LEIOSURV_NEW_PASSWORD)."""
    _add(ctx, username, role)


def _add(ctx: click.Context, username: str, role: str) -> None:
    from leiosurv.interfaces.web import hash_password
    from leiosurv.registry import Registry

    reg = Registry(ctx.obj["db"], create=True)
    h = hash_password(_password(prompt=os.isatty(0)))
    reg.add_user(username, h, role)
    reg.audit(username=None, role=None, action="admin", resource=f"user {username} created ({role}) from the CLI")
    click.echo(f"User {username} ({role}) created.")


@users.command("reset-password")
@click.argument("username")
@click.pass_context
def reset_password(ctx: click.Context, username: str) -> None:
    """Give USERNAME a new password (asked for, or $LEIOSURV_NEW_PASSWORD); their sessions end."""
    from leiosurv.interfaces.web import hash_password
    from leiosurv.registry import Registry

    reg = Registry(ctx.obj["db"])
    h = hash_password(_password(prompt=os.isatty(0)))
    reg.set_user(username, password_hash=h)
    reg.audit(username=None, role=None, action="admin", resource=f"user {username} password reset from the CLI")
    click.echo(f"Password of {username} reset; their sessions have ended.")


@users.command("verify-audit")
@click.pass_context
def verify_audit(ctx: click.Context) -> None:
    """Check the audit trail's hash chain: every row unchanged, none removed, reordered or back-dated.

    Prints the number of rows and the hash of the newest: keep them elsewhere (a
    notebook, a ticket) to detect later that rows were removed from the end.  Exit
    status 1 and one line per problem when the chain is broken.
    """
    from leiosurv.exceptions import LeiosurvError
    from leiosurv.registry import Registry

    check = Registry(ctx.obj["db"]).verify_audit()
    if not check.intact:
        for p in check.problems[:50]:
            click.echo(p, err=True)
        more = len(check.problems) - 50
        raise LeiosurvError(f"audit trail: {len(check.problems)} problem(s) in {check.rows} rows"
                            + (f" ({more} not shown)" if more > 0 else ""))
    click.echo(f"Audit trail intact: {check.rows} rows, newest hash {check.head}")


def register(group: click.Group) -> None:
    """Add ``serve`` and ``users`` to *group*."""
    group.add_command(serve)
    group.add_command(users)

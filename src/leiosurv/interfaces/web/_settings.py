"""Settings of the web app: which registry, the session secret, cookie security, the date of 'today'."""

from __future__ import annotations

import datetime as _dt
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from leiosurv.interfaces.web._security import MAX_BODY_BYTES

__all__ = ["Settings"]


def _secret_from_env_or_file() -> str:
    env = os.environ.get("LEIOSURV_SECRET_KEY")
    if env:
        return env
    import platformdirs

    path = Path(platformdirs.user_data_dir("leiosurv")) / "web-secret.key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key


@dataclass(frozen=True)
class Settings:
    """How the app runs.

    Parameters
    ----------
    db : str, optional
        Registry URL or SQLite path (default: the per-user registry, see :func:`leiosurv.registry.default_url`).
    secret_key : str, optional
        Signs session cookies; default ``$LEIOSURV_SECRET_KEY`` or a key kept (mode 600) in the user data directory.
    secure_cookies : bool, default True
        Mark the session cookie ``Secure`` (browsers accept it on ``http://localhost`` / ``127.0.0.1``).
    today : date, optional
        Fix "today" (tests, demonstrations); default the real date.
    session_max_age : int
        Seconds a session stays valid.
    forwarded_allow_ips : str, optional
        Addresses of trusted reverse proxies (comma-separated IPs or networks, ``*`` for any):
        requests from them take the client address and scheme from ``X-Forwarded-For`` and
        ``X-Forwarded-Proto``, so the audit trail and the sign-in limits see each user's own
        address.  Default: none (the connecting address is the client).
    max_body_bytes : int
        The largest request body accepted (413 before authentication above it).
    """

    db: str | None = None
    secret_key: str = field(default_factory=_secret_from_env_or_file, repr=False)
    secure_cookies: bool = True
    today: _dt.date | None = None
    session_max_age: int = 8 * 3600
    forwarded_allow_ips: str | None = None
    max_body_bytes: int = MAX_BODY_BYTES

    def as_of(self) -> _dt.date:
        return self.today or _dt.date.today()

"""Passwords, sessions, CSRF, sign-in throttling, request size and security headers.

* passwords: argon2id hashes (``argon2-cffi``), never stored or logged in clear;
* the session is a signed, timestamped cookie (``itsdangerous``) holding the
  username, role, the user's session epoch and the CSRF token; HTTP-only,
  ``SameSite=Strict``, ``Secure`` (browsers accept secure cookies from
  ``http://localhost``/``127.0.0.1``).  The epoch is checked against the database on
  every request: sign-out, deactivation, a role change and a password change or
  reset bump it, so an older cookie never works again, in any server process;
* CSRF: a per-session token, required as the form field ``csrf_token`` on every
  form and as the header ``X-CSRF-Token`` on every unsafe API call;
* sign-in throttling (:func:`sign_in_wait`), counted in the database so every server
  process applies it: per user *and* address, the first :data:`FREE_FAILURES`
  failures cost nothing, then each further attempt waits :data:`BACKOFF_FIRST_S`
  seconds, doubling with every failure, at most :data:`BACKOFF_MAX_S`; per address,
  :data:`ADDRESS_MAX_FAILURES` failures in :data:`ADDRESS_WINDOW` block it until the
  window ends.  The right password from another address is never slowed by the
  failures of this one, so an attacker cannot lock a user out;
* request bodies larger than :data:`MAX_BODY_BYTES` are refused (413) before
  anything else, authentication included, and are never read whole;
* headers: a CSP without inline script or style, frame denial, no sniffing, no referrer.
"""

from __future__ import annotations

import datetime as _dt
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, URLSafeTimedSerializer

__all__ = ["hash_password", "verify_password", "SessionCodec", "SECURITY_HEADERS", "new_token", "COOKIE",
           "FREE_FAILURES", "BACKOFF_FIRST_S", "BACKOFF_MAX_S", "ADDRESS_MAX_FAILURES", "ADDRESS_WINDOW",
           "USER_WINDOW", "FORGET", "MAX_BODY_BYTES", "throttle_keys", "backoff_s", "sign_in_wait", "utcnow"]

COOKIE = "leiosurv_session"
FREE_FAILURES = 5  # failed sign-ins per user-and-address before any wait (typing mistakes)
BACKOFF_FIRST_S = 1.0  # the wait after the FREE_FAILURES-th failure; doubles with each further one
BACKOFF_MAX_S = 15 * 60.0
ADDRESS_MAX_FAILURES = 50  # failed sign-ins from one address (any usernames) in ADDRESS_WINDOW
ADDRESS_WINDOW = _dt.timedelta(minutes=15)
USER_WINDOW = _dt.timedelta(days=1)  # a user-and-address count older than this starts again
FORGET = _dt.timedelta(days=1)  # counts idle this long are removed
MAX_BODY_BYTES = 1 << 20  # the largest request body accepted (the biggest form is a few KB)
_HASHER = PasswordHasher()
# a hash to verify against when the user does not exist, so timing does not tell which usernames exist
_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def hash_password(password: str) -> str:
    """An argon2id hash of *password* (at least 8 characters)."""
    from leiosurv.exceptions import InputError

    if not isinstance(password, str) or len(password) < 8:
        raise InputError("password: at least 8 characters")
    if len(password) > 256:
        raise InputError("password: at most 256 characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether *password* matches *password_hash* (constant work when there is no hash)."""
    try:
        return _HASHER.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A fresh CSRF token."""
    return secrets.token_urlsafe(24)


class SessionCodec:
    """Sign and check session cookies (``max_age`` seconds of validity)."""

    def __init__(self, secret: str, max_age: int = 8 * 3600) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="leiosurv-session")
        self.max_age = max_age

    def dumps(self, data: dict) -> str:
        return self._s.dumps(data)

    def loads(self, value: str | None) -> dict | None:
        if not value:
            return None
        try:
            data = self._s.loads(value, max_age=self.max_age)
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None


def utcnow() -> _dt.datetime:
    """The current time in UTC (one place, so tests can move the clock)."""
    return _dt.datetime.now(_dt.UTC)


def throttle_keys(username: str, addr: str | None) -> tuple[str, str]:
    """The throttling keys of a sign-in: user-and-address, and address."""
    a = addr or "-"
    return f"user|{username.strip().lower()[:64]}|{a}", f"addr|{a}"


def backoff_s(failures: int) -> float:
    """Seconds to wait after *failures* consecutive failed sign-ins of one user from one address."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(BACKOFF_FIRST_S * 2.0 ** (failures - FREE_FAILURES), BACKOFF_MAX_S)


def sign_in_wait(counts: dict, keys: tuple[str, str], now: _dt.datetime) -> float:
    """Seconds before a sign-in with *keys* may be tried (0: now); *counts* as ``Registry.login_failures``."""
    user_key, addr_key = keys
    wait = 0.0
    if user_key in counts:
        n, _first, last = counts[user_key]
        wait = max(wait, (last + _dt.timedelta(seconds=backoff_s(n)) - now).total_seconds())
    if addr_key in counts:
        n, first, _last = counts[addr_key]
        if n >= ADDRESS_MAX_FAILURES:
            wait = max(wait, (first + ADDRESS_WINDOW - now).total_seconds())
    return max(wait, 0.0)

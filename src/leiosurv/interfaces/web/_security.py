"""Passwords, sessions, CSRF, login rate limiting and security headers.

* passwords: argon2id hashes (``argon2-cffi``), never stored or logged in clear;
* the session is a signed, timestamped cookie (``itsdangerous``) holding the
  username, role and the CSRF token; HTTP-only, ``SameSite=Strict``, ``Secure``
  (browsers accept secure cookies from ``http://localhost``/``127.0.0.1``);
* CSRF: a per-session token, required as the form field ``csrf_token`` on every
  form and as the header ``X-CSRF-Token`` on every unsafe API call;
* login: at most :data:`MAX_FAILURES` failures per address and per username in
  :data:`WINDOW_S` seconds, then 429 until the window has passed;
* headers: a CSP without inline script or style, frame denial, no sniffing, no referrer.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict, deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, URLSafeTimedSerializer

__all__ = ["hash_password", "verify_password", "SessionCodec", "RateLimiter", "SECURITY_HEADERS", "new_token",
           "MAX_FAILURES", "WINDOW_S", "COOKIE"]

COOKIE = "leiosurv_session"
MAX_FAILURES = 5
WINDOW_S = 15 * 60
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


class RateLimiter:
    """Failed logins per key (address, username) in a sliding window."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S) -> None:
        self.max_failures, self.window_s = max_failures, window_s
        self._fails: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float]:
        q = self._fails[key]
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> float:
        """Seconds until the keys may try again (0: allowed)."""
        now = time.monotonic()
        with self._lock:
            wait = 0.0
            for k in keys:
                q = self._prune(k, now)
                if len(q) >= self.max_failures:
                    wait = max(wait, self.window_s - (now - q[0]))
            return wait

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._prune(k, now).append(now)

    def reset(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._fails.pop(k, None)

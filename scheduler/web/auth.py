"""Who may act: the server's token, the login cookie and the CSRF token of the forms.

Without ``SCHEDULER_WEB_TOKEN`` the server is read-only. With it, the API takes
``Authorization: Bearer <token>`` and the pages a login (``/login``) that sets an
HttpOnly, SameSite=Strict cookie signed with a key derived from the token; every form
carries a CSRF token derived from that cookie. Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass

COOKIE = "scheduler_session"
#: A login lasts a working day; then the operator logs in again.
SESSION_S = 12 * 3600
_LOGIN = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


@dataclass(frozen=True)
class Auth:
    """The server's token (None: read-only) and what is derived from it."""

    token: str | None

    @property
    def read_only(self) -> bool:
        return not self.token

    def _key(self, purpose: str) -> bytes:
        assert self.token
        return hashlib.sha256(f"scheduler-web:{purpose}:{self.token}".encode()).digest()

    def _sign(self, purpose: str, text: str) -> str:
        return hmac.new(self._key(purpose), text.encode(), hashlib.sha256).hexdigest()

    def token_ok(self, given: str | None) -> bool:
        """Whether ``given`` is the server's token (False when read-only)."""
        if self.read_only or not given:
            return False
        assert self.token is not None
        return hmac.compare_digest(given.encode(), self.token.encode())

    def bearer_ok(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header carries the token as a Bearer credential."""
        scheme, _, value = (header or "").partition(" ")
        return scheme.lower() == "bearer" and self.token_ok(value.strip())

    def session(self, login: str, now: float | None = None) -> str:
        """A cookie value for ``login`` (a name or ``operator``), valid :data:`SESSION_S`."""
        issued = int(time.time() if now is None else now)
        body = f"{login}.{issued}"
        return f"{body}.{self._sign('session', body)}"

    def login_of(self, cookie: str | None, now: float | None = None) -> str | None:
        """The login a valid, unexpired cookie names; None for none or a forged one."""
        if self.read_only or not cookie:
            return None
        body, _, mac = cookie.rpartition(".")
        login, _, issued = body.rpartition(".")
        if not login or not issued.isdigit():
            return None
        if not hmac.compare_digest(mac, self._sign("session", body)):
            return None
        if (time.time() if now is None else now) - int(issued) > SESSION_S:
            return None
        return login

    def csrf(self, cookie: str) -> str:
        """The CSRF token the forms of this session carry."""
        return self._sign("csrf", cookie)

    def csrf_ok(self, cookie: str | None, given: str | None) -> bool:
        if self.read_only or not cookie or not given:
            return False
        return hmac.compare_digest(given, self.csrf(cookie))


def clean_login(text: str | None) -> str | None:
    """A login name as typed (letters, digits, ``._@-``), ``operator`` when blank; None if bad."""
    text = (text or "").strip() or "operator"
    return text if _LOGIN.match(text) else None

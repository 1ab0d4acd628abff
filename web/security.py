"""Signed cookies and CSRF tokens (itsdangerous), with keys derived from the server secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class Signer:
    """Signs small values for cookies and forms. Each use has its own salt, so a token made for one purpose
    (a citizen cookie, a dashboard session, a CSRF token) is refused for another."""

    def __init__(self, secret: bytes) -> None:
        key = hmac.new(secret, b"khaosat web signing key", hashlib.sha256).hexdigest()
        self._serializer = URLSafeTimedSerializer(key)

    def sign(self, value: Any, purpose: str) -> str:
        return self._serializer.dumps(value, salt=purpose)

    def unsign(self, token: str | None, purpose: str, max_age: int | None = None) -> Any | None:
        """The signed value, or None for a missing, tampered, expired or other-purpose token (and for one that
        is not even UTF-8: aiohttp gives a cookie's stray bytes as surrogates, which cannot be encoded)."""
        if not token:
            return None
        try:
            return self._serializer.loads(token, salt=purpose, max_age=max_age)
        except (BadSignature, SignatureExpired, UnicodeError):
            return None

    def csrf_token(self, session_id: str) -> str:
        """A token bound to one session (the citizen's cookie id or the dashboard session)."""
        return self.sign({"s": session_id, "n": secrets.token_hex(4)}, "csrf")

    def check_csrf(self, token: str | None, session_id: str, max_age: int = 12 * 3600) -> bool:
        value = self.unsign(token, "csrf", max_age=max_age)
        return isinstance(value, dict) and hmac.compare_digest(str(value.get("s", "")), session_id)


def new_id() -> str:
    return secrets.token_urlsafe(18)

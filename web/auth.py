"""Dashboard authentication: argon2 password hashes, sessions in signed cookies, CSRF tokens, login throttling.

Passwords
    argon2id via argon2-cffi's `PasswordHasher` (its defaults: 64 MiB, 3 passes, 4 lanes; verifying takes
    tens of milliseconds and runs in a thread). Only the hash is stored. A login with an unknown name still
    verifies a dummy hash, so the answer time does not tell which names exist. A hash made with older
    parameters is replaced at the next successful login.

Sessions
    A cookie `khaosat_session` (Path=/dashboard, HttpOnly, SameSite=Lax, Secure when PUBLIC_URL is https)
    holding {user id, session id, password fingerprint}, signed with a key derived from the server secret
    (`web.security.Signer`, purpose "dashboard-session") and refused after SESSION_SECONDS (8 hours, from the
    login: no sliding renewal). Every request reads the user again from the database, so removing or
    disabling a user, or changing a role or scope, takes effect at once; changing a password changes the
    fingerprint (an HMAC of the hash), which ends every session of that user. Logging out ends the session
    for every process and across restarts: its id is kept in the database (`web_session_ended`) until the
    cookie would have expired anyway.

CSRF
    Every POST carries a `csrf` form field: a signed token bound to the session id (purpose "csrf"), refused
    after 12 hours or with another session's id. The login form, before there is a session, is bound the same
    way to a random id in a short-lived signed cookie `khaosat_login`. A missing or wrong token is a 403.

Login throttling (in the database, for every process)
    Failures are counted per (name, client address) over 15 minutes. The first FREE_ATTEMPTS (5) failures
    cost nothing; each one after that locks that pair out for 60 s, then 120 s, 240 s ... up to 15 minutes.
    The failure that starts a lock-out, and every attempt while locked, get 429 with Retry-After; while locked
    the password is not even checked (a right password does not unlock), and each refusal writes a "denied"
    audit row. An attempt is counted, and the lock-out it would start is set, before its password is checked,
    so a burst of simultaneous attempts gets no more checks than the same attempts one after another (if
    the process dies during the check, a right password's lock-out stays until it runs out). The count
    starts afresh after 15 minutes without attempts and without a lock-out.
    A success clears the count. The client address is the TCP peer: behind a reverse proxy every client has
    the proxy's address, so the limit then works per name (and anyone can keep a name locked out:
    `khaosat users unlock NAME` ends its lock-outs). Counts live in the database (`login_failure`,
    `storage.repo.logins`): the processes of WEB_WORKERS count together, and a restart forgets nothing.
    The rules are `LoginThrottle`'s; the times are wall-clock (UTC).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from web.security import Signer, new_id

if TYPE_CHECKING:
    from storage.repo.logins import Failures

SESSION_COOKIE = "khaosat_session"
LOGIN_COOKIE = "khaosat_login"
FLASH_COOKIE = "khaosat_flash"
COOKIE_PATH = "/dashboard"
SESSION_SECONDS = 8 * 3600
LOGIN_FORM_SECONDS = 3600
FLASH_SECONDS = 120
SESSION_PURPOSE = "dashboard-session"
LOGIN_PURPOSE = "dashboard-login"
FLASH_PURPOSE = "dashboard-flash"
MIN_PASSWORD = 10
MAX_PASSWORD = 1024

_hasher = PasswordHasher()


# --- passwords -----------------------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_PASSWORD:
        return f"the password needs at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"the password may have at most {MAX_PASSWORD} characters"
    if not password.strip():
        return "the password cannot be only spaces"
    return None


PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"  # no 0/O, 1/l/I


def new_password() -> str:
    """A random password: 18 letters and digits (about 104 bits), none that are easily misread."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(18))


_dummy: list[str] = []


def _dummy_hash() -> str:
    if not _dummy:
        _dummy.append(hash_password(secrets.token_urlsafe(16)))
    return _dummy[0]


async def check_password(password_hash: str | None, password: str) -> bool:
    """Verify in a thread (argon2 takes tens of milliseconds); a missing hash verifies a dummy one, so the
    time taken does not reveal whether the name exists."""
    if len(password) > MAX_PASSWORD:
        return False
    if password_hash is None:
        await asyncio.to_thread(verify_password, _dummy_hash(), password)
        return False
    return await asyncio.to_thread(verify_password, password_hash, password)


# --- throttling ----------------------------------------------------------------------------------------------


@dataclass
class LoginThrottle:
    """The lock-out rules for failed logins (see the module's docstring); the counts are in the database."""

    clock: Callable[[], float] = time.time
    free_attempts: int = 5
    base_delay: float = 60.0
    max_delay: float = 900.0
    window: timedelta = timedelta(seconds=900)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def lock_for(self, failures: int) -> float:
        """Seconds of lock-out that the `failures`-th failure in a row starts (0: none yet)."""
        over = failures - self.free_attempts
        if over <= 0:
            return 0.0
        return float(min(self.max_delay, self.base_delay * 2 ** min(over - 1, 32)))

    @staticmethod
    def retry_after(counted: Failures | None, now: datetime) -> float:
        """Seconds until a pair with these failures may try again (0: now)."""
        if counted is None or counted.locked_until is None:
            return 0.0
        return max(0.0, (counted.locked_until - now).total_seconds())


# --- sessions, CSRF and flash messages -----------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    user_id: int
    sid: str
    fingerprint: str


class Auth:
    """The dashboard's cookies and tokens, for one application."""

    def __init__(self, secret: bytes, *, secure: bool, clock: Callable[[], float] = time.time) -> None:
        self.signer = Signer(secret)
        self._fingerprint_key = hmac.new(secret, b"khaosat password fingerprint", hashlib.sha256).digest()
        self.secure = secure
        self.throttle = LoginThrottle(clock=clock)
        self._verifying = asyncio.Semaphore(4)  # argon2 takes 64 MiB per verification: bound the memory

    async def check_password(self, password_hash: str | None, password: str) -> bool:
        async with self._verifying:
            return await check_password(password_hash, password)

    def fingerprint(self, password_hash: str) -> str:
        return hmac.new(self._fingerprint_key, password_hash.encode(), hashlib.sha256).hexdigest()[:24]

    def _cookie(self, response: web.StreamResponse, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path=COOKIE_PATH, httponly=True, samesite="Lax", secure=self.secure
        )

    # sessions

    def start_session(self, response: web.StreamResponse, user_id: int, password_hash: str) -> Session:
        session = Session(user_id, new_id(), self.fingerprint(password_hash))
        token = self.signer.sign({"u": session.user_id, "s": session.sid, "f": session.fingerprint}, SESSION_PURPOSE)
        self._cookie(response, SESSION_COOKIE, token, SESSION_SECONDS)
        response.del_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
        return session

    def session(self, request: web.Request) -> Session | None:
        """The request's session: None when the cookie is missing, tampered or expired (whether it was ended
        by logging out is in the database: `storage.repo.logins.session_ended`)."""
        value = self.signer.unsign(request.cookies.get(SESSION_COOKIE), SESSION_PURPOSE, max_age=SESSION_SECONDS)
        if not isinstance(value, dict):
            return None
        user_id, sid, fingerprint = value.get("u"), value.get("s"), value.get("f")
        if not (isinstance(user_id, int) and isinstance(sid, str) and isinstance(fingerprint, str)):
            return None
        return Session(user_id, sid, fingerprint)

    def end_session(self, response: web.StreamResponse) -> None:
        """Drop the session cookie (the caller records the session as ended: `storage.repo.logins`)."""
        response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)

    # the login form (before a session exists)

    def login_form_id(self, request: web.Request) -> tuple[str, bool]:
        """(the login form's id, whether the cookie must be set because it is new)."""
        value = self.signer.unsign(request.cookies.get(LOGIN_COOKIE), LOGIN_PURPOSE, max_age=LOGIN_FORM_SECONDS)
        if isinstance(value, str) and value:
            return value, False
        return new_id(), True

    def set_login_form_id(self, response: web.StreamResponse, form_id: str) -> None:
        self._cookie(response, LOGIN_COOKIE, self.signer.sign(form_id, LOGIN_PURPOSE), LOGIN_FORM_SECONDS)

    def login_form_ok(self, request: web.Request, token: str | None) -> bool:
        value = self.signer.unsign(request.cookies.get(LOGIN_COOKIE), LOGIN_PURPOSE, max_age=LOGIN_FORM_SECONDS)
        return isinstance(value, str) and bool(value) and self.signer.check_csrf(token, "login:" + value)

    def login_csrf(self, form_id: str) -> str:
        return self.signer.csrf_token("login:" + form_id)

    # CSRF for a session

    def csrf(self, session: Session) -> str:
        return self.signer.csrf_token(session.sid)

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return self.signer.check_csrf(token, session.sid)

    # flash messages (one message shown by the next page)

    def flash(self, response: web.StreamResponse, kind: str, text: str) -> None:
        self._cookie(
            response, FLASH_COOKIE, self.signer.sign({"k": kind, "t": text[:1500]}, FLASH_PURPOSE), FLASH_SECONDS
        )

    def read_flash(self, request: web.Request) -> tuple[str, str] | None:
        value = self.signer.unsign(request.cookies.get(FLASH_COOKIE), FLASH_PURPOSE, max_age=FLASH_SECONDS)
        if isinstance(value, dict) and isinstance(value.get("k"), str) and isinstance(value.get("t"), str):
            return value["k"], value["t"]
        return None

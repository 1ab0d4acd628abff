"""Shared by the dashboard tests: accounts, hand-made responses, and an HTTP client that keeps cookies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import aiohttp

from storage.db import Database
from storage.repo import campaigns, surveys, users
from tests.operators.helpers import add_response
from tests.web.conftest import base_url

PASSWORD = "correct horse 42"
XSS = "<script>alert('x')</script> rác & <b>ngập</b>"


@lru_cache(maxsize=1)
def password_hash() -> str:
    from web.auth import hash_password

    return hash_password(PASSWORD)


async def add_user(db: Database, name: str, role: str, scope: list[int] | None = None) -> users.WebUserRecord:
    async with db.write() as conn:
        return await users.add(conn, name, password_hash(), role, scope, datetime.now(UTC))


async def add_accounts(db: Database) -> None:
    """An operator "op", and officials "hoankiem" (ward 70) and "dongda" (ward 235)."""
    await add_user(db, "op", "operator")
    await add_user(db, "hoankiem", "official", [70])
    await add_user(db, "dongda", "official", [235])


def answers(ward: int, overall: int, i: int) -> dict[str, Any]:
    """Answers of the i-th response of a ward; ward 70's first comment tries to inject markup."""
    comment = f"Góp ý số {i} của phường {ward}" if i < 3 else ""
    if ward == 70 and i == 0:
        comment = XSS
    return {
        "ward": ward,
        "overall_satisfaction": overall,
        "transparency": 4 if i % 3 else 2,
        "environment": "dk" if i % 5 == 0 else 3,
        "top_issues": ["waste", "flooding"] if i % 2 else ["traffic"],
        "comment": comment,
    }


async def add_responses(db: Database, code: str = "hn-2026") -> None:
    """Completed responses of campaign `code`: ward 70 has 35 (percentages, unstable), ward 235 has 12
    (counts only), ward 4 has 3 (hidden); plus one in progress in ward 70."""
    now = datetime.now(UTC)
    async with db.write() as conn:
        c = await campaigns.get(conn, code)
        for ward, n, satisfied in ((70, 35, 28), (235, 12, 9), (4, 3, 3)):
            for i in range(n):
                values = answers(ward, 5 if i < satisfied else 2, i)
                started = now - timedelta(hours=2 + i)
                await add_response(conn, c.id, ward, values, started_at=started)
        await add_response(conn, c.id, 70, {"ward": 70}, status="in_progress", started_at=now - timedelta(minutes=5))


async def add_draft(db: Database, code: str = "hn-draft", wards: list[int] | None = None) -> None:
    """A draft campaign over wards that the live campaign does not cover (launching it must not overlap)."""
    from flows.loader import bundled_survey_path, load_survey

    now = datetime.now(UTC)
    async with db.write() as conn:
        record, _ = await surveys.publish(conn, load_survey(bundled_survey_path()), now)
        await campaigns.create(
            conn,
            code=code,
            survey_id=record.id,
            title="Đợt thử nháp",
            wards=wards or [25, 283],
            starts_at=now,
            ends_at=now + timedelta(days=10),
            now=now,
        )


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@dataclass
class Reply:
    status: int
    text: str
    headers: Any
    body: bytes

    @property
    def location(self) -> str:
        return str(self.headers.get("Location", ""))


class Client:
    """An HTTP client with its own cookie jar (accepting cookies from 127.0.0.1); redirects are not followed."""

    def __init__(self, app: Any) -> None:
        self.base = base_url(app)
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.session.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _reply(self, response: aiohttp.ClientResponse) -> Reply:
        body = await response.read()
        text = body.decode("utf-8", errors="replace")
        return Reply(response.status, text, response.headers, body)

    async def get(self, path: str, **kwargs: Any) -> Reply:
        async with self.session.get(self.base + path, allow_redirects=False, **kwargs) as response:
            return await self._reply(response)

    async def post(self, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> Reply:
        async with self.session.post(self.base + path, data=data or {}, allow_redirects=False, **kwargs) as response:
            return await self._reply(response)

    async def login(self, name: str, password: str = PASSWORD, next_path: str = "") -> Reply:
        page = await self.get("/dashboard/login")
        assert page.status == 200, page.text
        form = {"csrf": csrf_of(page.text), "name": name, "password": password, "next": next_path}
        return await self.post("/dashboard/login", form)

    async def csrf(self, path: str = "/dashboard/campaigns") -> str:
        page = await self.get(path)
        assert page.status == 200, (page.status, page.text[:500])
        return csrf_of(page.text)

    def cookie(self, name: str) -> str | None:
        for cookie in self.session.cookie_jar:
            if cookie.key == name:
                return cookie.value
        return None

    def set_cookie(self, name: str, value: str) -> None:
        from yarl import URL

        self.session.cookie_jar.update_cookies({name: value}, URL(self.base + "/dashboard/"))

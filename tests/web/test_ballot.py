"""Ballot stuffing: new web respondents per client address and hour, X-Forwarded-For only from trusted
proxies, one-time invitation codes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.app import Application
from storage.repo import campaigns, webpolicy
from storage.repo.sql import invitation_code, web_admission
from tests.conftest import create_live_campaign
from tests.web.conftest import web_settings
from tests.web.survey_helpers import Citizen, Page
from web.client import client_address


async def _app(db: Any, db_url: str, tmp_path: Path, limit: int = 30, **extra: Any) -> Application:
    await create_live_campaign(db, datetime.now(UTC))
    async with db.write() as conn:
        await campaigns.update(conn, "hn-2026", datetime.now(UTC), web_limit=limit)
    app = Application(web_settings(db_url, tmp_path, **extra))
    await app.start()
    return app


@pytest.fixture
async def limited(db: Any, db_url: str, tmp_path: Path) -> AsyncIterator[Application]:
    app = await _app(db, db_url, tmp_path, limit=3)
    try:
        yield app
    finally:
        await app.stop()


@pytest.fixture
async def behind_proxy(db: Any, db_url: str, tmp_path: Path) -> AsyncIterator[Application]:
    app = await _app(db, db_url, tmp_path, limit=3, trusted_proxies="127.0.0.1")
    try:
        yield app
    finally:
        await app.stop()


async def _newcomer(app: Application, headers: dict[str, str] | None = None) -> tuple[Citizen, Page]:
    """A new, cookie-less browser that opens the ward link and agrees (the page after agreeing)."""
    citizen = Citizen(app)
    if headers:
        citizen.session.headers.update(headers)
    page = await citizen.get("/s/hn-2026/70")
    assert page.status == 200 and "agree" in page.actions(), page.text[:300]
    return citizen, await citizen.submit(page, "agree")


async def test_the_thirty_first_new_respondent_from_one_address_in_an_hour_gets_429(
    db: Any, db_url: str, tmp_path: Path
) -> None:
    app = await _app(db, db_url, tmp_path)  # the default: 30 an hour
    citizens: list[Citizen] = []
    try:
        for _ in range(30):
            citizen, page = await _newcomer(app)
            citizens.append(citizen)
            assert page.status == 200 and page.question is not None
        citizen, page = await _newcomer(app)
        citizens.append(citizen)
        assert page.status == 429
        assert page.headers["Retry-After"] == "3600"
        assert "Quá nhiều lượt tham gia mới" in page.text and "Too many new respondents" in page.text
        metrics = await citizen.session.get(citizen.base + "/metrics")
        assert 'khaosat_updates_handled_total{channel="web",result="refused"} 1.0' in await metrics.text()
        # the ones already in go on with their cookie
        page = await citizens[0].get("/s/hn-2026/70")
        assert page.status == 200 and page.question == "age_group"
        page = await citizens[0].submit(page, value=page.value_of("30–44 tuổi"))
        assert page.status == 200 and page.question == "gender"
        async with app.db.read() as conn:
            keys = set((await conn.execute(sa.select(web_admission.c.address_key))).scalars())
        assert len(keys) == 1 and "127.0.0.1" not in next(iter(keys))  # a keyed hash, never the address
    finally:
        for c in citizens:
            await c.close()
        await app.stop()


async def test_a_campaign_without_a_limit_lets_everyone_in(db: Any, db_url: str, tmp_path: Path) -> None:
    app = await _app(db, db_url, tmp_path, limit=0)
    try:
        for _ in range(4):
            citizen, page = await _newcomer(app)
            await citizen.close()
            assert page.status == 200 and page.question is not None
    finally:
        await app.stop()


async def test_forwarded_for_is_ignored_from_an_untrusted_peer(limited: Application) -> None:
    for i in range(3):
        citizen, page = await _newcomer(limited, {"X-Forwarded-For": f"203.0.113.{i}"})
        await citizen.close()
        assert page.status == 200
    citizen, page = await _newcomer(limited, {"X-Forwarded-For": "198.51.100.7"})
    await citizen.close()
    assert page.status == 429


async def test_forwarded_for_from_a_trusted_proxy_counts_each_client_apart(behind_proxy: Application) -> None:
    for _ in range(3):
        citizen, page = await _newcomer(behind_proxy, {"X-Forwarded-For": "203.0.113.5"})
        await citizen.close()
        assert page.status == 200
    citizen, page = await _newcomer(behind_proxy, {"X-Forwarded-For": "203.0.113.5"})
    await citizen.close()
    assert page.status == 429
    # a different address is not refused; a spoofed left part does not help the first address
    citizen, page = await _newcomer(behind_proxy, {"X-Forwarded-For": "198.51.100.7"})
    await citizen.close()
    assert page.status == 200
    citizen, page = await _newcomer(behind_proxy, {"X-Forwarded-For": "10.9.9.9, 203.0.113.5"})
    await citizen.close()
    assert page.status == 429


def test_client_address_takes_the_right_most_untrusted_hop() -> None:
    trusted = [ip_network("10.0.0.0/8"), ip_network("127.0.0.1/32")]
    assert client_address("203.0.113.1", ["1.2.3.4"], trusted) == "203.0.113.1"  # not from a proxy
    assert client_address("127.0.0.1", ["1.2.3.4"], []) == "127.0.0.1"  # no proxy trusted
    assert client_address("127.0.0.1", ["6.6.6.6, 1.2.3.4, 10.0.0.2"], trusted) == "1.2.3.4"
    assert client_address("127.0.0.1", ["6.6.6.6", "1.2.3.4"], trusted) == "1.2.3.4"  # two headers
    # a hop that is not an address (garbage, or bytes that are not text) is not believed: the proxy's word stands
    assert client_address("127.0.0.1", ["garbage"], trusted) == "127.0.0.1"
    assert client_address("127.0.0.1", ["1.2.3.4, \udcff"], trusted) == "127.0.0.1"
    assert client_address("127.0.0.1", ["1.2.3.4, x" * 700], trusted) == "127.0.0.1"
    assert client_address("127.0.0.1", ["1.2.3.4, 10.0.0.9, bad, 10.0.0.2"], trusted) == "10.0.0.2"
    assert client_address("127.0.0.1", [], trusted) == "127.0.0.1"


async def test_admissions_are_pruned_after_retention(db: Any) -> None:
    now = datetime.now(UTC)
    c = await create_live_campaign(db, now)
    async with db.write() as conn:
        assert await webpolicy.admit(conn, c.id, "k", 1, now - webpolicy.RETENTION * 2) is not None  # type: ignore[attr-defined]
        assert await webpolicy.admit(conn, c.id, "k", 1, now) is not None  # type: ignore[attr-defined]
        assert await webpolicy.admit(conn, c.id, "k", 1, now) is None  # type: ignore[attr-defined]
        assert await webpolicy.prune(conn, now) == 1


# --- invitation codes -----------------------------------------------------------------------------------


@pytest.fixture
async def with_codes(db: Any, db_url: str, tmp_path: Path) -> AsyncIterator[tuple[Application, list[str]]]:
    app = await _app(db, db_url, tmp_path)
    async with app.db.write() as conn:
        c = await campaigns.update(conn, "hn-2026", datetime.now(UTC), web_requires_code=True)
        codes = await webpolicy.issue_codes(conn, c.id, 2, datetime.now(UTC))
    try:
        yield app, codes
    finally:
        await app.stop()


async def test_a_code_is_required_used_once_and_a_reused_code_refused(
    with_codes: tuple[Application, list[str]],
) -> None:
    app, codes = with_codes
    async with Citizen(app) as first, Citizen(app) as second:
        page = await first.get("/s/hn-2026/70")
        assert "code" in page.typed and "Mã mời" in page.text
        refused = await first.submit(page, "agree")
        assert refused.status == 422 and "Vui lòng nhập mã mời." in refused.errors
        refused = await first.submit(refused, "agree", code="NOPE-NOPE")
        assert refused.status == 403 and "Mã mời này không đúng. Vui lòng kiểm tra lại." in refused.errors
        page = await first.submit(refused, "agree", code=codes[0].lower())  # typed in lower case
        assert page.status == 200 and page.question == "age_group"

        page = await second.get("/s/hn-2026/70")
        refused = await second.submit(page, "agree", code=codes[0])
        assert refused.status == 403 and any("đã được dùng" in e for e in refused.errors)
        # the first person, with their cookie, goes on without a code
        page = await first.get("/s/hn-2026/70")
        assert page.status == 200 and page.question == "age_group" and "code" not in page.typed
    async with app.db.read() as conn:
        used = (await conn.execute(sa.select(invitation_code.c.code, invitation_code.c.response_id))).all()
    bound = {code: rid for code, rid in used}
    assert bound[codes[0]] is not None and bound[codes[1]] is None


async def test_a_declined_consent_gives_the_code_back(with_codes: tuple[Application, list[str]]) -> None:
    app, codes = with_codes
    async with Citizen(app) as person, Citizen(app) as other:
        page = await person.get("/s/hn-2026/70")
        await person.submit(page, "decline", code=codes[1])
        page = await other.get("/s/hn-2026/70")
        page = await other.submit(page, "agree", code=codes[1])
        assert page.status == 200 and page.question == "age_group"


async def test_a_person_known_from_another_campaign_needs_a_code_too(with_codes: tuple[Application, list[str]]) -> None:
    from tests.web.survey_helpers import walk

    app, codes = with_codes
    await create_live_campaign(app.db, datetime.now(UTC), code="hk-2026", wards=[70], allow_overlap=True)
    async with app.db.write() as conn:
        await campaigns.update(conn, "hk-2026", datetime.now(UTC), web_requires_code=True)
        (other_code,) = await webpolicy.issue_codes(
            conn, (await campaigns.get(conn, "hk-2026")).id, 1, datetime.now(UTC)
        )
    async with Citizen(app) as person:
        page = await person.get("/s/hn-2026/70")
        page = await person.submit(page, "agree", code=codes[0])
        await walk(person, page)  # completed the first campaign: a known respondent
        page = await person.get("/s/hk-2026")
        assert "code" in page.typed, page.text[:300]
        refused = await person.submit(page, "agree")
        assert refused.status == 422
        refused = await person.submit(refused, "agree", code=codes[1])  # a code of the other campaign
        assert refused.status == 403
        page = await person.submit(refused, "agree", code=other_code)
        assert page.status == 200 and page.question is not None


def test_trusted_proxies_are_read_from_the_settings_and_checked() -> None:
    from bot.settings import SettingsError, load_settings

    cfg = load_settings(_env_file=None, trusted_proxies="127.0.0.1, 10.0.0.0/8")
    assert cfg.trusted_proxy_networks == (ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8"))
    assert load_settings(_env_file=None).trusted_proxy_networks == ()  # the default: trust none
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        load_settings(_env_file=None, trusted_proxies="proxy.example")


async def test_agree_sent_twice_with_a_code_is_one_respondent(with_codes: tuple[Application, list[str]]) -> None:
    app, codes = with_codes
    async with Citizen(app) as person:
        consent = await person.get("/s/hn-2026/70")
        page = await person.submit(consent, "agree", code=codes[0])
        assert page.status == 200 and page.question == "age_group"
        again = await person.submit(consent, "agree", code=codes[0])  # the same form again (the back button)
        assert again.status == 200 and again.question == "age_group"
    async with app.db.read() as conn:
        admissions = (await conn.execute(sa.select(sa.func.count()).select_from(web_admission))).scalar_one()
    assert admissions == 1


async def test_a_questionnaire_without_consent_asks_for_the_code_alone_and_counts_the_limit(
    with_codes: tuple[Application, list[str]],
) -> None:
    from datetime import timedelta

    from flows.loader import bundled_survey_path, load_survey
    from storage.repo import surveys
    from storage.repo.sql import response

    app, _ = with_codes
    now = datetime.now(UTC)
    bare = load_survey(bundled_survey_path()).model_copy(
        update={"id": "no-consent", "consent": None, "consent_web": None}
    )
    async with app.db.write() as conn:
        record, _ = await surveys.publish(conn, bare, now)
        c = await campaigns.create(
            conn,
            code="nc-2026",
            survey_id=record.id,
            title="Không hỏi đồng ý",
            wards=[70],
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=3),
            now=now,
            web_limit=1,
            web_requires_code=True,
        )
        await campaigns.launch(conn, "nc-2026", now, allow_overlap=True)
        (code,) = await webpolicy.issue_codes(conn, c.id, 1, now)

    async def responses() -> int:
        async with app.db.read() as conn:
            q = sa.select(sa.func.count()).select_from(response).where(response.c.campaign_id == c.id)
            return int((await conn.execute(q)).scalar_one())

    async with Citizen(app) as person, Citizen(app) as other:
        page = await person.get("/s/nc-2026/70")
        assert page.status == 200 and "code" in page.typed and page.question is None
        assert await responses() == 0  # nothing begun before the code
        refused = await person.submit(page, "agree", code="WRONG")
        assert refused.status == 403 and "code" in refused.typed and await responses() == 0
        page = await person.submit(refused, "agree", code=code)
        assert page.status == 200 and page.question is not None and await responses() == 1

        async with app.db.write() as conn:
            await campaigns.update(conn, "nc-2026", now, web_requires_code=False)
        page = await other.get("/s/nc-2026/70")  # the limit of 1 from this address is used up
        assert page.status == 429 and await responses() == 1

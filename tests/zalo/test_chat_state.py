"""What a Zalo chat remembers between messages (the consent screen shown, the ward list on screen, a
confirmation asked, the last message whose reply was shown) is in the database: a restart, or another process
on the same database, continues where the last message left the person. Real HTTP against the fake Zalo API,
on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.app import Application
from storage.db import Database
from storage.repo.sql import answer, chat_state
from tests.conftest import create_live_campaign
from tests.zalo.conftest import now
from tests.zalo.fake_api import FakeZaloAPI
from tests.zalo.harness import WEBHOOK_SECRET, Person, running, zalo_settings


async def answers_of(db: Database) -> dict[str, Any]:
    async with db.read() as conn:
        rows = (await conn.execute(sa.select(answer.c.question_id, answer.c.value))).all()
    return {r.question_id: r.value for r in rows}


async def chat_rows(db: Database) -> int:
    async with db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(chat_state))).scalar_one())


class At:
    """A person typing, each message delivered to the webhook of the application named (several processes
    behind one webhook address, or several machines behind a load balancer)."""

    def __init__(self, fake: FakeZaloAPI, user_id: str = "u-lan") -> None:
        self.fake = fake
        self.user_id = user_id

    async def send(self, app: Application, update: dict[str, Any]) -> int:
        url = app.settings.zalo_webhook_url
        assert url is not None
        status, _ = await self.fake.post_webhook(url, update, secret=WEBHOOK_SECRET)
        return status

    async def say(self, app: Application, text: str, message_id: str | None = None) -> str:
        before = len(self.fake.messages(self.user_id))
        status = await self.send(app, self.fake.update(self.user_id, text, message_id=message_id))
        assert status == 200, status
        return "\n".join(s.text for s in self.fake.messages(self.user_id)[before:])


async def every_hanoi_ward(db: Database) -> list[int]:
    from storage.repo import wards as ward_repo

    async with db.read() as conn:
        return [w.code for w in await ward_repo.search(conn, province_code=1)]


async def test_a_restart_between_a_codes_consent_screen_and_agreeing_keeps_the_codes_ward(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    await create_live_campaign(db, now())
    settings = zalo_settings(fake, db.url, tmp_path)
    async with running(settings) as app:
        consent = await Person(fake, app).say("hn-2026_235")
        assert "Đống Đa" in consent
    async with running(settings) as again:  # a new process: the consent screen shown is remembered
        lan = Person(fake, again)
        first = await lan.say("đồng ý")
        assert "Câu" in first and "nhóm tuổi" in first and "phường, xã" not in first
    async with running(settings) as third:
        minh = Person(fake, third, "u-minh")
        assert "Hoàn Kiếm" in await minh.say("/start hn-2026_70")
    async with running(settings) as fourth:
        assert "nhóm tuổi" in await Person(fake, fourth, "u-minh").say("1")  # "1", as the screen says
    assert sorted(v for k, v in (await answers_of_all(db)) if k == "ward") == [70, 235]


async def answers_of_all(db: Database) -> list[tuple[str, Any]]:
    async with db.read() as conn:
        rows = (await conn.execute(sa.select(answer.c.question_id, answer.c.value))).all()
    return [(r.question_id, r.value) for r in rows]


async def test_two_processes_on_one_database_take_turns_as_one(db: Database, fake: FakeZaloAPI, tmp_path: Path) -> None:
    from flows.questions.ward import search_wards

    await create_live_campaign(db, now(), wards=await every_hanoi_ward(db))
    one = zalo_settings(fake, db.url, tmp_path / "one", "webhook")
    two = zalo_settings(fake, db.url, tmp_path / "two", "webhook")
    async with running(one) as a, running(two) as b:
        lan = At(fake)
        assert "đồng ý" in await lan.say(a, "xin chào")
        assert "Gõ tên phường, xã" in await lan.say(b, "đồng ý")
        listed = await lan.say(a, "hoa")  # the numbered list shown by one process ...
        matches = search_wards(a.service.campaigns.by_code["hn-2026"].context("vi").wards, "hoa")
        assert len(matches) > 9 and "1. " in listed and "9. " not in listed
        assert f"2. {matches[1].name}" in listed
        more = await lan.say(b, "xem thêm")  # ... its next page shown by the other ...
        assert f"9. {matches[8].name}" in more
        picked = await lan.say(a, "9")  # ... and a number picked from it by the first again
        assert f"✔ Đã ghi: {matches[8].name}" in picked and "Câu 2" in picked
        await lan.say(b, "2")
        assert (await answers_of(db))["ward"] == matches[8].code


async def test_two_processes_share_a_confirmation_asked_and_the_list_shown(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    from flows.questions.ward import search_wards

    await create_live_campaign(db, now(), wards=await every_hanoi_ward(db))
    one = zalo_settings(fake, db.url, tmp_path / "one", "webhook")
    two = zalo_settings(fake, db.url, tmp_path / "two", "webhook")
    async with running(one) as a, running(two) as b:
        lan = At(fake)
        await lan.say(a, "xin chào")
        await lan.say(b, "đồng ý")
        matches = search_wards(b.service.campaigns.by_code["hn-2026"].context("vi").wards, "hoa")
        await lan.say(b, "hoa")
        await lan.say(a, "9")
        await lan.say(b, "2")

        asked = await lan.say(a, "làm lại")  # a confirmation asked by one process ...
        assert "“xác nhận làm lại”" in asked
        again = await lan.say(b, "xác nhận làm lại")  # ... confirmed at the other
        assert "Câu 1" in again and await answers_of(db) == {}

        await lan.say(a, "hoa")
        assert "✔ Đã ghi" in await lan.say(b, "2")  # the list shown by the first, picked at the other
        assert (await answers_of(db))["ward"] == matches[1].code
        await lan.say(a, "làm lại")
        await lan.say(b, "1")  # answering as usual puts the confirmation away (at any process)
        stale = await lan.say(a, "xác nhận làm lại")
        assert "“xác nhận làm lại”" in stale  # asked again, nothing cleared
        assert (await answers_of(db))["age_group"] == "18_29"

        assert "“xác nhận xoá”" in await lan.say(b, "xoá dữ liệu")
        assert "Đã xoá dữ liệu" in await lan.say(a, "xác nhận xoá")
        assert await answers_of(db) == {} and await chat_rows(db) == 0  # erasure leaves no chat state


async def test_a_redelivery_after_a_restart_changes_nothing_and_is_shown_once(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    await create_live_campaign(db, now())
    settings = zalo_settings(fake, db.url, tmp_path, "webhook")
    code = fake.update("u-lan", "hn-2026_70", message_id="m-code")
    age = fake.update("u-lan", "2", message_id="m-age")
    helped = fake.update("u-lan", "trợ giúp", message_id="m-help")
    async with running(settings) as app:
        lan = At(fake)
        assert await lan.send(app, code) == 200
        assert "Hoàn Kiếm" in fake.texts("u-lan")[-1]
    async with running(settings) as app:
        lan = At(fake)
        sent = len(fake.texts("u-lan"))
        assert await lan.send(app, code) == 200  # its consent screen was shown: not again
        assert len(fake.texts("u-lan")) == sent
        assert "nhóm tuổi" in await lan.say(app, "1")
        assert await lan.send(app, age) == 200
        fake.fail_next.append(("sendMessage", 502, "Bad Gateway"))  # recorded, its reply lost
        assert await lan.send(app, helped) == 503
    stored = await answers_of(db)
    assert stored["ward"] == 70 and stored["age_group"] == "30_44"
    async with running(settings) as app:
        lan = At(fake)
        sent = len(fake.texts("u-lan"))
        for _ in range(2):
            assert await lan.send(app, age) == 200
        assert len(fake.texts("u-lan")) == sent and await answers_of(db) == stored
        assert await lan.send(app, helped) == 200  # the lost reply, shown at the redelivery ...
        assert len(fake.texts("u-lan")) == sent + 1 and "“<” hoặc “quay lại”" in fake.texts("u-lan")[-1]
        assert await lan.send(app, helped) == 200  # ... once
        assert len(fake.texts("u-lan")) == sent + 1
        assert "Câu 3" in await lan.say(app, "1")

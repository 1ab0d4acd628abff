"""Officials' Zalo groups end to end, real HTTP both ways (SQLite and PostgreSQL): the application runs against
the fake Zalo Bot API; a group subscribes with a code, asks for the digest, gets the scheduled digest through
the outbox as plain text in parts of at most 2,000 characters with its chart sent by a URL this server
serves (404 once expired), and unsubscribes; without PUBLIC_URL the digest goes as text only."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.app import Application, scheduler_config
from bot.zalo.groups import chart_publisher
from bot.zalo.sender import ZaloTransport
from reports import digests
from scheduler.app import sender_for
from scheduler.outbox import OutboxSender
from storage.db import Database
from storage.repo import chats, outbox
from tests.conftest import Clock, create_live_campaign
from tests.scheduler.test_digests import seed
from tests.zalo.fake_api import FakeZaloAPI, Sent
from tests.zalo.harness import Person, running, zalo_settings

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
GROUP = "g-ubnd-hoankiem"
ADMIN = "u-chu-tich"
FIRE = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # Friday 27/11 08:00 in Hà Nội


class Group:
    """Officials typing in their Zalo group."""

    def __init__(self, fake: FakeZaloAPI, app: Application, chat_id: str = GROUP) -> None:
        self.fake, self.chat_id = fake, chat_id
        self.person = Person(fake, app, ADMIN)

    async def say(self, text: str, message_id: str | None = None) -> str:
        before = len(self.fake.messages(self.chat_id))
        update = self.fake.update(ADMIN, text, chat_id=self.chat_id, chat_type="GROUP", message_id=message_id)
        assert await self.person.send(update) == 200
        return "\n".join(s.text for s in self.fake.messages(self.chat_id)[before:])


@asynccontextmanager
async def zalo_app(
    db: Database, fake: FakeZaloAPI, tmp_path: Path, clock: Clock, *, public: bool = True, **extra: Any
) -> AsyncIterator[Application]:
    settings = zalo_settings(fake, str(db.url), tmp_path, **extra)
    if public:
        settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{settings.web_port}"})
    async with running(settings, clock=clock) as app:
        yield app


async def drain(app: Application, fake: FakeZaloAPI) -> None:
    """Send what the Zalo outbox holds, with the sender the application wires (the transport and its chart
    publisher)."""
    cfg = app.settings
    charts = chart_publisher(app.db, app.ctx.clock, cfg.public_url, timedelta(days=cfg.published_image_days))
    transport = ZaloTransport(fake.client(), charts, owns_client=True)
    sender: OutboxSender = sender_for(app.db, app.ctx.clock, transport, "zalo", scheduler_config(cfg))
    try:
        await sender.drain()
    finally:
        await transport.close()


async def new_code(db: Database, clock: Clock, **kwargs: Any) -> str:
    async with db.write() as conn:
        code = await chats.issue_code(
            conn, scope=[70, 235], schedule="daily 08:00", language="vi", now=clock(), **kwargs
        )
    return code.display


async def fetch(url: str) -> tuple[int, bytes, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.read(), resp.headers.get("Content-Type", "")


def texts_and_photos(sent: list[Sent]) -> tuple[list[str], list[Sent]]:
    return [s.text for s in sent if s.method == "sendMessage"], [s for s in sent if s.method == "sendPhoto"]


async def test_a_group_subscribes_gets_digests_with_the_chart_by_url_and_unsubscribes(
    db: Database, fake: FakeZaloAPI, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    c: Any = await create_live_campaign(db, clock(), wards=[70, 235, 4])
    await seed(db, c.id, clock() + timedelta(hours=2))  # 40 answers in wards 70 and 235: a chart is drawn
    async with zalo_app(db, fake, tmp_path, clock) as app:
        group = Group(fake, app)
        assert await group.say("digest") == "\n".join(
            [
                "Nhóm này chưa đăng ký nhận báo cáo. Gửi /subscribe MÃ để đăng ký.",
                "This group is not subscribed to digests. Send /subscribe CODE to subscribe.",
            ]
        )
        assert "Mã không đúng" in await group.say("/subscribe ZZZZ-ZZZZ")
        assert await group.say("subscribe to the newsletter?") == ""  # talk, not a command
        code = await new_code(db, clock)
        reply = await group.say(f"subscribe {code.lower()}", message_id="m-sub")  # no slash, lower case
        assert reply.startswith(
            "✅ Nhóm đã đăng ký nhận báo cáo khảo sát.\nPhạm vi: Phường Hoàn Kiếm, Phường Đống Đa\n"
        )
        assert "Lịch gửi: hằng ngày lúc 08:00 (Asia/Ho_Chi_Minh)" in reply and "This group now receives" in reply
        assert await group.say(f"subscribe {code.lower()}", message_id="m-sub") == reply  # delivered again
        async with db.read() as conn:
            (chat,) = await chats.list_chats(conn)
            (spent,) = await chats.list_codes(conn)
        assert (chat.channel, chat.address, chat.scope, chat.subscribed_by) == ("zalo", GROUP, (70, 235), ADMIN)
        assert spent.used_by == f"zalo:{GROUP}"
        assert await Group(fake, app, "g-other").say(f"/subscribe {code}") == "\n".join(
            [
                "Mã này đã được dùng. Mỗi mã chỉ dùng được một lần; hãy xin mã mới.",
                "This code has already been used. Each code works only once; ask for a new one.",
            ]
        )
        assert "Khảo sát diễn ra trong trò chuyện riêng" in await group.say("hn-2026_70")  # a citizen's code

        # /digest: queued at once, delivered by the paced sender as plain text, the chart by URL
        clock.advance(hours=3)  # the seeded responses are in
        assert await group.say("/digest", message_id="m-digest-1") == "⏳ Đang gửi báo cáo…\n⏳ Sending the digest…"
        assert await group.say("/digest", message_id="m-digest-1") == ""  # the same message again: nothing
        assert "vừa được gửi cách đây ít phút" in await group.say("báo cáo")  # the cool-down
        sent_before = len(fake.messages(GROUP))
        await drain(app, fake)
        texts, photos = texts_and_photos(fake.messages(GROUP)[sent_before:])
        assert texts[0].startswith(
            "📊 Báo cáo khảo sát: Khảo sát Hà Nội 2026\nPhạm vi: Phường Hoàn Kiếm, Phường Đống Đa"
        )
        joined = "\n".join(texts)
        assert "«Cần <b>thêm</b> đèn đường»" in joined  # a citizen's comment, as typed (never markup)
        ours = joined.replace("«Cần <b>thêm</b> đèn đường»", "")
        assert "<b>" not in ours and "<i>" not in ours and "&lt;" not in ours and "Từ đầu kỳ đến nay" in ours
        assert all(0 < len(t) <= 2000 for t in texts)
        (photo,) = photos
        assert photo.text.startswith("📈") and "<" not in photo.text
        url = photo.photo or ""
        assert re.fullmatch(rf"http://127\.0\.0\.1:{app.settings.web_port}/i/[A-Za-z0-9_-]{{32}}\.png", url)
        status, body, kind = await fetch(url)
        assert status == 200 and kind == "image/png" and body.startswith(b"\x89PNG\r\n\x1a\n")
        assert (await fetch(url.replace("/i/", "/i/x")))[0] == 404  # an unknown address

        # the scheduled digest of the day, through the outbox; a smaller limit than Zalo's 2,000 shows that a
        # long digest goes in parts (this one is about 1,400 characters; tests/zalo/test_groups_digest_text.py
        # splits a long one at 2,000)
        monkeypatch.setitem(digests.TEXT_LIMITS, "zalo", 600)
        clock.now = FIRE
        assert await digests.queue_due_digests(db, clock(), TZ, 0.2) == 1
        async with db.read() as conn:
            rows = await outbox.list_by_prefix(conn, f"digest:zalo:{GROUP}:")
        assert [r.dedupe_key.rsplit(":", 1)[1] for r in rows] == [*map(str, range(1, len(rows))), "chart"]
        assert all(r.channel == "zalo" and r.recipient == GROUP and r.recipient_kind == "group" for r in rows)
        sent_before = len(fake.messages(GROUP))
        await drain(app, fake)
        texts, photos = texts_and_photos(fake.messages(GROUP)[sent_before:])
        assert len(texts) == len(rows) - 1 >= 3 and all(0 < len(t) <= 600 for t in texts)
        assert texts[1].startswith("(tiếp theo)")
        joined = "\n".join(texts)
        assert "Kỳ báo cáo: 26/11/2026 08:00 – 27/11/2026 08:00" in joined and "Người trả lời tự nguyện" in joined
        assert "⭐ Hài lòng chung: 60% (45–74%) ⚠ ít phản hồi (n=40)" in joined
        (photo,) = photos
        assert (await fetch(photo.photo or ""))[0] == 200
        assert await digests.queue_due_digests(db, clock(), TZ, 0.2) == 0  # queued once

        # charts expire (PUBLISHED_IMAGE_DAYS, 3 by default)
        clock.now = FIRE + timedelta(days=2, hours=23)
        assert (await fetch(photo.photo or ""))[0] == 200  # published at FIRE: until three days from then
        assert (await fetch(url))[0] == 404  # published 19 hours before it
        clock.now = FIRE + timedelta(days=3, minutes=1)
        assert (await fetch(photo.photo or ""))[0] == 404

        stopped = await group.say("hủy đăng ký", message_id="m-unsub")
        assert stopped == "\n".join(
            [
                "Đã ngừng gửi báo cáo cho nhóm này. Muốn nhận lại, hãy xin mã mới.",
                "Digests to this group have stopped. To receive them again, ask for a new code.",
            ]
        )
        assert await group.say("hủy đăng ký", message_id="m-unsub") == stopped  # delivered again: the same
        assert "chưa đăng ký" in await group.say("hủy đăng ký")  # a new message: nothing to stop
        async with db.read() as conn:
            assert not (await chats.get(conn, GROUP, "zalo")).active  # type: ignore[union-attr]
        assert "chưa đăng ký" in await group.say("/digest")


async def test_without_public_url_the_digest_goes_as_text_only_and_the_start_says_so(
    db: Database, fake: FakeZaloAPI, tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    c: Any = await create_live_campaign(db, clock(), wards=[70, 235, 4])
    await seed(db, c.id, clock() + timedelta(hours=2))
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        async with zalo_app(db, fake, tmp_path, clock, public=False) as app:
            assert any("PUBLIC_URL is not set" in r.getMessage() and "chart" in r.getMessage() for r in caplog.records)
            group = Group(fake, app)
            assert "✅" in await group.say(f"/subscribe {await new_code(db, clock)}")
            await group.say("/digest")
            sent_before = len(fake.messages(GROUP))
            await drain(app, fake)
            texts, photos = texts_and_photos(fake.messages(GROUP)[sent_before:])
            assert photos == [] and texts and texts[0].startswith("📊 Báo cáo khảo sát")
            assert not any(t.startswith("📈") for t in texts)  # no caption without its chart
            async with db.read() as conn:
                rows = await outbox.list_by_prefix(conn, f"digest-now:zalo:{GROUP}:")
            assert {r.status for r in rows} == {"sent"}  # nothing left to retry


async def test_the_application_wires_the_chart_publisher_when_public_url_is_set(
    db: Database, fake: FakeZaloAPI, tmp_path: Path, clock: Clock
) -> None:
    for public in (True, False):
        async with zalo_app(db, fake, tmp_path, clock, public=public, scheduler_enabled=True) as app:
            assert app.scheduler is not None
            transport = app.scheduler.transports["zalo"]
            assert isinstance(transport, ZaloTransport) and (transport.photo_url is not None) is public


async def test_a_group_that_refuses_the_bot_is_paused_and_its_queue_cancelled(
    db: Database, fake: FakeZaloAPI, tmp_path: Path, clock: Clock
) -> None:
    c: Any = await create_live_campaign(db, clock(), wards=[70, 235, 4])
    await seed(db, c.id, clock() - timedelta(minutes=30))
    async with db.write() as conn:
        code = await chats.issue_code(conn, scope=None, schedule="daily 08:00", language="vi", now=clock())
        await chats.redeem(conn, code=code.code, chat_id=GROUP, title="", user_id=ADMIN, now=clock(), channel="zalo")
    assert await digests.queue_digest_now(db, GROUP, clock(), TZ, 0.2, request_id="m1", channel="zalo") >= 2
    fake.blocked.add(GROUP)  # the bot was removed from the group
    cfg = zalo_settings(fake, str(db.url), tmp_path)
    transport = ZaloTransport(fake.client(), None, owns_client=True)
    try:
        await sender_for(db, clock, transport, "zalo", scheduler_config(cfg)).drain()
    finally:
        await transport.close()
    async with db.read() as conn:
        chat = await chats.get(conn, GROUP, "zalo")
        rows = await outbox.list_by_prefix(conn, f"digest-now:zalo:{GROUP}:")
    assert chat is not None and not chat.active
    assert {r.status for r in rows} <= {"unreachable", "cancelled"} and fake.messages(GROUP) == []

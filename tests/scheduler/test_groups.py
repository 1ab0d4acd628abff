"""/subscribe, /unsubscribe and /digest in officials' groups, through aiogram and the fake Bot API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from aiogram import Bot, Dispatcher

from bot.context import AppContext
from bot.telegram import groups
from bot.telegram.texts import group_texts
from storage.db import Database
from storage.repo import chats
from storage.repo.sql import official_chat, subscription_code
from tests.conftest import Clock, create_live_campaign
from tests.fakebot import FakeBotAPI, parse_html
from tests.scheduler.conftest import add_completed, make_sender, outbox_rows

GROUP = -100200
ADMIN, MEMBER = 501, 502


@pytest.fixture
def dispatcher() -> Dispatcher:
    dp = Dispatcher()
    dp.include_router(groups.setup())
    return dp


class Group:
    def __init__(self, fake: FakeBotAPI, bot: Bot, dp: Dispatcher, app: AppContext, chat_id: int = GROUP) -> None:
        self.fake, self.bot, self.dp, self.app, self.chat_id = fake, bot, dp, app, chat_id
        fake.add_chat(chat_id, "supergroup", title="UBND phường Hoàn Kiếm")
        fake.set_member_status(chat_id, ADMIN, "administrator")
        fake.set_member_status(chat_id, MEMBER, "member")
        self.offset = 0

    async def say(self, user: int, text: str, **extra: Any) -> str:
        """Send a message in the group and return the bot's reply."""
        before = len(self.fake.messages(self.chat_id))
        self.fake.push_message(
            user, text, chat_id=self.chat_id, chat_type="supergroup", chat_title="UBND", extra=extra or None
        )
        await self.deliver()
        after = self.fake.messages(self.chat_id)
        assert len(after) == before + 1, [m.plain_text for m in after]
        return after[-1].plain_text or ""

    async def deliver(self) -> None:
        for update in await self.bot.get_updates(offset=self.offset, timeout=0):
            self.offset = update.update_id + 1
            await self.dp.feed_update(self.bot, update, app=self.app)


async def new_code(db: Database, clock: Clock, scope: list[int] | None = None, **kw: Any) -> str:
    async with db.write() as conn:
        code = await chats.issue_code(
            conn,
            scope=scope,
            schedule="daily 08:00",
            language="vi",
            now=clock(),
            valid_for=kw.get("valid_for", timedelta(days=7)),
        )
    return code.display


async def test_subscribe_needs_an_admin_and_a_good_code(
    app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI, bot: Bot, dispatcher: Dispatcher
) -> None:
    group = Group(fake, bot, dispatcher, app)
    code = await new_code(db, clock, scope=[70, 235])

    fake.push_message(ADMIN, f"/subscribe {code}")  # a private chat
    await group.deliver()
    assert fake.last_message(ADMIN).plain_text == group_texts.both("not_group")

    assert await group.say(MEMBER, f"/subscribe {code}") == group_texts.both("admins_only")
    assert await group.say(ADMIN, "/subscribe") == group_texts.both("usage")
    assert await group.say(ADMIN, "/subscribe ABCD-EFGH") == group_texts.both("unknown")
    async with db.read() as conn:
        assert (await conn.execute(sa.select(subscription_code.c.used_at))).scalar_one() is None  # not spent

    reply = await group.say(ADMIN, f"/subscribe@khaosat_test_bot {code.lower()}")
    assert reply.startswith("✅ Nhóm đã đăng ký nhận báo cáo khảo sát.\nPhạm vi: Phường Hoàn Kiếm, Phường Đống Đa\n")
    assert "Lịch gửi: hằng ngày lúc 08:00 (Asia/Ho_Chi_Minh)" in reply
    assert "Schedule: daily at 08:00 (Asia/Ho_Chi_Minh)" in reply
    async with db.read() as conn:
        chat = await chats.get(conn, GROUP)
    assert chat is not None and chat.scope == (70, 235) and chat.active and chat.subscribed_by == str(ADMIN)

    other = Group(fake, bot, dispatcher, app, chat_id=-100300)
    other.offset = group.offset
    assert await other.say(ADMIN, f"/subscribe {code}") == group_texts.both("used")
    group.offset = other.offset

    expired = await new_code(db, clock, valid_for=timedelta(minutes=5))
    clock.advance(minutes=5)
    reply = await group.say(ADMIN, f"/subscribe {expired}")
    expires = (clock() + timedelta(hours=7)).strftime("%d/%m/%Y")
    assert reply == group_texts.both("expired", date=expires)


async def test_anonymous_admin_counts_as_admin(
    app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI, bot: Bot, dispatcher: Dispatcher
) -> None:
    group = Group(fake, bot, dispatcher, app)
    code = await new_code(db, clock)
    sender_chat = {"id": GROUP, "type": "supergroup", "title": "UBND"}
    reply = await group.say(groups.ANONYMOUS_ADMIN_BOT, f"/subscribe {code}", sender_chat=sender_chat)
    assert reply.startswith("✅ Nhóm đã đăng ký") and "Phạm vi: tất cả phường, xã" in reply


async def test_digest_on_demand_and_unsubscribe(
    app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI, bot: Bot, dispatcher: Dispatcher
) -> None:
    group = Group(fake, bot, dispatcher, app)
    assert await group.say(ADMIN, "/digest") == group_texts.both("not_subscribed")
    await group.say(ADMIN, f"/subscribe {await new_code(db, clock, scope=[70])}")
    assert await group.say(ADMIN, "/digest") == group_texts.both("no_campaign")

    c: Any = await create_live_campaign(db, clock())
    answered = clock() - timedelta(minutes=1)
    await add_completed(db, c.id, ward=70, completed_at=answered, count=12, answers={"overall_satisfaction": 5})
    assert await group.say(MEMBER, "/digest") == group_texts.both("admins_only")
    assert await group.say(ADMIN, "/digest") == group_texts.both("digest_queued")
    rows = await outbox_rows(db, "digest")
    assert rows and all(r.dedupe_key.startswith(f"digest-now:{GROUP}:") for r in rows)
    assert await group.say(ADMIN, "/digest") == group_texts.both("too_soon")

    await make_sender(app, bot).drain()
    digest = fake.messages(GROUP)[-1]
    parse_html(digest.text or "")
    assert "Từ đầu kỳ đến nay: 26/11/2026 08:00 – 26/11/2026 10:00" in (digest.plain_text or "")
    assert "Hài lòng chung: 12/12 hài lòng" in (digest.plain_text or "")  # 10-29 answers: counts only

    assert await group.say(ADMIN, "/unsubscribe") == group_texts.both("unsubscribed")
    async with db.read() as conn:
        assert (await conn.execute(sa.select(official_chat.c.active))).scalar_one() is False
    assert await group.say(ADMIN, "/unsubscribe") == group_texts.both("not_subscribed")
    assert await group.say(MEMBER, "/unsubscribe") == group_texts.both("admins_only")
    clock.advance(minutes=10)
    assert await group.say(ADMIN, "/digest") == group_texts.both("not_subscribed")


async def test_a_department_groups_subscription_names_its_dimensions(
    app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI, bot: Bot, dispatcher: Dispatcher
) -> None:
    group = Group(fake, bot, dispatcher, app)
    async with db.write() as conn:
        code = await chats.issue_code(
            conn, scope=None, schedule="daily 08:00", language="vi", now=clock(), dimensions=[5, 6]
        )
    reply = await group.say(ADMIN, f"/subscribe {code.display}")
    assert "Phạm vi: tất cả phường, xã; Lĩnh vực: 5. Thủ tục hành chính công, 6. Cung ứng dịch vụ công\n" in reply
    assert "Scope: all wards and communes; Dimensions: 5. Public administrative procedures, 6. Public service" in reply
    async with db.read() as conn:
        chat = await chats.get(conn, GROUP)
    assert chat is not None and chat.dimensions == (5, 6) and chat.scope is None

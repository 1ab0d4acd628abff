"""Operator commands in Telegram, through the real aiogram Bot against the fake Bot API, on SQLite and
PostgreSQL: who may use them, what they answer, the /close confirmation, the audit rows and the menus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from aiogram import Bot, Dispatcher
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeDefault

from bot.context import AppContext
from bot.settings import load_settings
from bot.telegram import operators as tg
from storage.conversation import ConversationService
from storage.db import Database
from storage.repo import audit, campaigns
from storage.repo import operators as operator_repo
from storage.repo.sql import channel_address, response
from tests.conftest import Clock, create_live_campaign
from tests.fakebot import FakeBotAPI
from tests.operators.helpers import add_response

OPERATOR = 111
CITIZEN = 222
GROUP = -1001234


@dataclass
class Harness:
    fake: FakeBotAPI
    bot: Bot
    dp: Dispatcher
    db: Database
    clock: Clock

    async def send(self, user: int, text: str, **kwargs: Any) -> list[Any]:
        """A user sends `text`; returns the bot's messages in the chat afterwards."""
        self.fake.push_message(user, text, **kwargs)
        await self.dp.feed_raw_update(self.bot, self.fake.updates[-1])
        return self.fake.messages(kwargs.get("chat_id", user))

    async def press(self, user: int, message: Any, label: str) -> int:
        update_id = self.fake.push_button(user, message, label)
        await self.dp.feed_raw_update(self.bot, self.fake.updates[-1])
        return update_id

    async def audit(self) -> list[tuple[str, str, str, dict[str, Any]]]:
        async with self.db.read() as conn:
            return [(e.actor, e.action, e.outcome, e.arguments) for e in await audit.list_since(conn)]


@pytest.fixture
async def h(db: Database, clock: Clock) -> AsyncIterator[Harness]:
    async with FakeBotAPI() as fake:
        bot = fake.make_bot()
        settings = load_settings(database_url=db.url)
        app = AppContext(
            settings, db, ConversationService(db, b"secret", clock), clock, bot_username="khaosat_test_bot"
        )
        dp = Dispatcher(app=app)
        dp.include_router(tg.setup())
        async with db.write() as conn:
            await operator_repo.seed(conn, [OPERATOR], clock())
        try:
            yield Harness(fake, bot, dp, db, clock)
        finally:
            await bot.session.close()


@pytest.mark.parametrize(
    "text", ["/campaigns", "/stats hn-2026", "/launch hn-2026", "/close hn-2026", "/links hn-2026"]
)
async def test_citizens_are_not_allowed(h: Harness, text: str) -> None:
    await create_live_campaign(h.db, h.clock())
    (reply,) = await h.send(CITIZEN, text)
    assert reply.text == "Bạn không có quyền dùng lệnh này. / You are not allowed to use this command."
    assert reply.reply_markup is None
    ((who, action, outcome, arguments),) = await h.audit()
    assert (who, outcome, arguments) == (f"telegram:{CITIZEN}", "denied", {"text": text})
    assert action == tg.ACTIONS[text.split()[0][1:]]
    async with h.db.read() as conn:
        assert (await campaigns.get(conn, "hn-2026")).status == "active"  # nothing was done


async def test_group_chats_are_left_alone(h: Harness) -> None:
    await h.send(OPERATOR, "/campaigns", chat_id=GROUP, chat_type="supergroup")
    await h.send(CITIZEN, "/stats hn-2026", chat_id=GROUP, chat_type="supergroup")
    assert h.fake.messages(GROUP) == [] and await h.audit() == []


async def test_campaigns_and_stats(h: Harness) -> None:
    (empty,) = await h.send(OPERATOR, "/campaigns")
    assert empty.text == "Chưa có đợt khảo sát nào. / No campaigns yet."
    c: Any = await create_live_campaign(h.db, h.clock(), wards=[70, 235])
    async with h.db.write() as conn:
        for value in [5] * 20 + [4] * 10 + [2] * 5:  # ward 70: 30 of 35 satisfied
            await add_response(conn, c.id, 70, {"overall_satisfaction": value}, started_at=h.clock())
        for value in [4, 4, 1]:
            await add_response(conn, c.id, 235, {"overall_satisfaction": value}, started_at=h.clock())
        await add_response(conn, c.id, 235, {}, status="in_progress", started_at=h.clock())
    messages = await h.send(OPERATOR, "/campaigns")
    assert messages[-1].plain_text == (
        "Đợt khảo sát / Campaigns (1)\n\n"
        "hn-2026 · đang chạy / active\n"
        "Khảo sát Hà Nội 2026\n"
        "26/11/2026 – 26/12/2026 · 2 phường, xã / wards · 38/39 hoàn thành / completed"
    )
    messages = await h.send(OPERATOR, "/stats hn-2026")
    lines = messages[-1].plain_text.splitlines()
    assert lines[:7] == [
        "Khảo sát Hà Nội 2026 (hn-2026) · đang chạy / active",
        "Phản hồi / Responses: 39 · hoàn thành / completed: 38 · tỷ lệ hoàn thành / completion rate: 97%",
        "Hài lòng chung / Overall satisfaction: 84% (70–93%) ⚠ ít phản hồi / few responses (n=38)",
        "",
        "Theo phường, xã (hoàn thành · hài lòng) / By ward (completed · satisfied)",
        "• Phường Hoàn Kiếm: 35 · 86% (71–94%) ⚠ ít phản hồi / few responses (n=35)",
        "• Phường Đống Đa: 3 · 2/3",  # exact for an operator: counts only under 30
    ]
    assert "Người trả lời tự nguyện tham gia" in lines[8] and "Respondents opted in" in lines[9]
    (usage,) = [m for m in await h.send(OPERATOR, "/stats") if m.text.startswith("Cách dùng")]
    assert usage.text == "Cách dùng: /stats MÃ_ĐỢT (ví dụ /stats hn-2026) / Usage: /stats CODE (e.g. /stats hn-2026)"
    unknown = (await h.send(OPERATOR, "/stats khong-co"))[-1]
    assert (
        unknown.plain_text
        == "Không có đợt khảo sát “khong-co”. Xem /campaigns. / No campaign “khong-co”. See /campaigns."
    )
    rows = [(who, action, outcome) for who, action, outcome, _ in await h.audit()]
    assert rows == [
        (f"telegram:{OPERATOR}", "campaign.list", "ok"),
        (f"telegram:{OPERATOR}", "campaign.list", "ok"),
        (f"telegram:{OPERATOR}", "stats", "ok"),
        (f"telegram:{OPERATOR}", "stats", "error"),
        (f"telegram:{OPERATOR}", "stats", "error"),
    ]


async def test_stats_message_is_split_under_telegram_limit(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    import functools

    from bot.telegram import operators
    from storage.repo import wards

    # 126 wards fit one message of 4,096 characters now: split at a smaller limit to see the parts
    monkeypatch.setattr(operators, "chunks", functools.partial(operators.chunks, limit=1500))
    async with h.db.read() as conn:
        every = [u.code for u in await wards.search(conn, None, 1)]
    await create_live_campaign(h.db, h.clock(), wards=every)
    messages = await h.send(OPERATOR, "/stats hn-2026")
    assert len(messages) >= 2 and all(len(m.text) <= 1500 for m in messages)
    text = "\n".join(m.plain_text for m in messages)
    assert text.count("• ") == 126 and "• Xã Sóc Sơn: 0 · –" in text  # no answer yet (exact, for an operator)


async def test_launch(h: Harness) -> None:
    now = h.clock()
    await create_live_campaign(h.db, now, wards=[70, 235])
    async with h.db.write() as conn:
        survey_id = (await campaigns.get(conn, "hn-2026")).survey_id
        for code, wards in (("hn-moi", [235, 4]), ("hn-xa", [9556])):
            await campaigns.create(
                conn, code=code, survey_id=survey_id, title="Đợt mới", wards=wards,
                starts_at=now, ends_at=now + timedelta(days=10), now=now,
            )  # fmt: skip
    refused = (await h.send(OPERATOR, "/launch hn-moi"))[-1]
    assert refused.plain_text == (
        "Không thực hiện được. / Could not launch: campaign 'hn-moi' overlaps active campaign 'hn-2026' "
        "(2026-11-26 09:00 to 2026-12-26 10:00) in 1 ward: Phường Đống Đa (235); close 'hn-2026' first, or create "
        "the campaign again with other wards or dates"
    )
    launched = (await h.send(OPERATOR, "/launch hn-xa"))[-1]
    assert launched.plain_text == (
        "Đã bắt đầu đợt khảo sát hn-xa tại 1 phường, xã; nhận trả lời đến 06/12/2026 10:00. / Campaign hn-xa "
        "launched in 1 wards, taking answers until 06/12/2026 10:00. Liên kết / Links: /links hn-xa"
    )
    async with h.db.read() as conn:
        assert (await campaigns.get(conn, "hn-moi")).status == "draft"
        assert (await campaigns.get(conn, "hn-xa")).status == "active"
    again = (await h.send(OPERATOR, "/launch hn-xa"))[-1]
    assert again.plain_text == "Không thực hiện được. / Could not launch: campaign 'hn-xa' is already active"
    rows = [(action, outcome, args.get("code")) for _, action, outcome, args in await h.audit()]
    assert rows == [
        ("campaign.launch", "error", "hn-moi"),
        ("campaign.launch", "ok", "hn-xa"),
        ("campaign.launch", "error", "hn-xa"),
    ]


async def test_close_asks_for_confirmation(h: Harness) -> None:
    c: Any = await create_live_campaign(h.db, h.clock())
    async with h.db.write() as conn:
        busy = await add_response(conn, c.id, 70, {"age_group": "30_44"}, status="in_progress", started_at=h.clock())
        rid = (await conn.execute(sa.select(response.c.respondent_id).where(response.c.id == busy))).scalar()
        await conn.execute(
            channel_address.insert().values(respondent_id=rid, channel="telegram", address="999", updated_at=h.clock())
        )
    (question,) = await h.send(OPERATOR, "/close hn-2026")
    assert question.plain_text.startswith("Kết thúc đợt khảo sát hn-2026 (Khảo sát Hà Nội 2026)? 1 phản hồi đang dở")
    assert h.fake.buttons(question) == [
        ("Kết thúc / Close", "y:close:1:hn-2026"),
        ("Hủy / Cancel", "y:close:0:hn-2026"),
    ]
    assert await h.audit() == []  # asking is not an action yet

    cancel = await h.press(OPERATOR, question, "Hủy / Cancel")
    assert h.fake.callback_answer(cancel).text == "Đã hủy. / Cancelled."  # type: ignore[union-attr]
    assert h.fake.messages(OPERATOR)[0].text == "Không kết thúc đợt hn-2026. / Campaign hn-2026 was not closed."
    async with h.db.read() as conn:
        assert (await campaigns.get(conn, "hn-2026")).status == "active"

    question = (await h.send(OPERATOR, "/close hn-2026"))[-1]
    stranger = await h.press(CITIZEN, question, "Kết thúc / Close")  # e.g. a forwarded keyboard
    assert h.fake.callback_answer(stranger).text == tg.NOT_ALLOWED  # type: ignore[union-attr]
    confirm = await h.press(OPERATOR, question, "Kết thúc / Close")
    assert h.fake.callback_answer(confirm).text == "Đã kết thúc. / Closed."  # type: ignore[union-attr]
    assert h.fake.messages(OPERATOR)[-1].text == (
        "Đã kết thúc đợt khảo sát hn-2026: 1 phản hồi dở dang đã hủy, 1 địa chỉ trò chuyện đã xóa. / "
        "Campaign hn-2026 closed: 1 in-progress responses abandoned, 1 chat addresses deleted."
    )
    async with h.db.read() as conn:
        assert (await campaigns.get(conn, "hn-2026")).status == "closed"
        assert (await conn.execute(sa.select(response.c.status))).scalars().all() == ["abandoned"]
        assert (await conn.execute(sa.select(sa.func.count()).select_from(channel_address))).scalar() == 0
    twice = await h.press(OPERATOR, question, "Kết thúc / Close")
    assert h.fake.callback_answer(twice).text == (  # type: ignore[union-attr]
        "Không thực hiện được. / Could not close: campaign 'hn-2026' is already closed"
    )
    closed = (await h.send(OPERATOR, "/close hn-2026"))[-1]
    assert closed.text == "Đợt khảo sát hn-2026 đã kết thúc. / Campaign hn-2026 is already closed."
    rows = [(who, action, outcome, args.get("abandoned")) for who, action, outcome, args in await h.audit()]
    assert rows == [
        (f"telegram:{CITIZEN}", "campaign.close", "denied", None),
        (f"telegram:{OPERATOR}", "campaign.close", "ok", 1),
        (f"telegram:{OPERATOR}", "campaign.close", "error", None),
    ]


async def test_links(h: Harness) -> None:
    await create_live_campaign(h.db, h.clock(), wards=[70, 235])
    (reply,) = await h.send(OPERATOR, "/links hn-2026")
    assert reply.plain_text == (
        "Khảo sát Hà Nội 2026 (hn-2026): 2 phường, xã / wards\n"
        "70 · Phường Hoàn Kiếm\nhttps://t.me/khaosat_test_bot?start=hn-2026_70\n"
        "235 · Phường Đống Đa\nhttps://t.me/khaosat_test_bot?start=hn-2026_235\n"
        "Áp phích QR / QR posters: khaosat campaign links hn-2026 --qr THƯ_MỤC / DIR"
    )
    assert [(a, o) for _, a, o, _ in await h.audit()] == [("campaign.links", "ok")]


async def test_set_operator_commands(h: Harness) -> None:
    citizens_vi = [
        BotCommand(command="start", description="Bắt đầu"),
        BotCommand(command="help", description="Hướng dẫn"),
    ]
    citizens_en = [BotCommand(command="start", description="Start"), BotCommand(command="help", description="Help")]
    await h.bot.set_my_commands(citizens_vi, scope=BotCommandScopeDefault())
    await h.bot.set_my_commands(citizens_vi, scope=BotCommandScopeAllPrivateChats())
    await h.bot.set_my_commands(citizens_en, scope=BotCommandScopeAllPrivateChats(), language_code="en")
    h.fake.fail_next("setMyCommands", 400, description="Bad Request: chat not found")
    failed = await tg.set_operator_commands(h.bot, [333, OPERATOR])
    assert failed == [333]
    assert h.fake.visible_commands(OPERATOR) == ["start", "help", "campaigns", "stats", "launch", "close", "links"]
    assert h.fake.commands("chat", chat_id=OPERATOR, language_code="en")[2] == ("campaigns", "List campaigns")
    assert h.fake.commands("chat", chat_id=OPERATOR)[3] == ("stats", "Thống kê một đợt: /stats MÃ")
    assert h.fake.visible_commands(OPERATOR, language_code="en")[:2] == ["start", "help"]
    assert h.fake.visible_commands(CITIZEN) == ["start", "help"]  # citizens never see the operator commands
    assert h.fake.visible_commands(CITIZEN, language_code="en") == ["start", "help"]


async def test_stats_of_the_demo_say_its_data_is_simulated(h: Harness) -> None:
    from storage.repo.sql import campaign

    await create_live_campaign(h.db, h.clock(), wards=[70], code="demo")
    async with h.db.write() as conn:
        await conn.execute(campaign.update().values(simulated=True))
    messages = await h.send(OPERATOR, "/stats demo")
    assert messages[-1].plain_text.startswith("⚠ DỮ LIỆU MÔ PHỎNG") and "SIMULATED DATA" in messages[-1].plain_text

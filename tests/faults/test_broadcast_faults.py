"""Bot API faults during a broadcast through the outbox: 429 with retry_after, 500s, timeouts and 403s. Every
message ends sent or marked (the blocked people unreachable), none is lost, and the fake Bot API, which
enforces Telegram's limits, never sees them exceeded. (bench/outbox.py --faults does the same with 10,000.)"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from bot.telegram.sender import TelegramTransport
from scheduler.outbox import OutboxSender, RetryPolicy
from scheduler.pacing import Limits
from storage.db import Database
from storage.outbox import Outgoing
from storage.repo import outbox
from storage.repo.outbox import NewMessage
from storage.repo.sql import outbox_message
from tests.fakebot import FakeBotAPI

pytestmark = pytest.mark.slow  # subprocesses, a browser or many requests: see README, Development

COUNT = 300
FIRST_CHAT = 5_000_000
BLOCKED = {FIRST_CHAT + i for i in range(0, COUNT, 15)}  # 20 people blocked the bot
LIMITS = Limits(global_per_sec=100, private_per_sec=1, group_per_min=20)


async def inject_faults(fake: FakeBotAPI) -> None:
    """While the broadcast runs: 500s, a burst of 429s, and a stretch where Telegram is too slow to answer."""
    await fake.wait_for(lambda: len(fake.sent) >= 30, timeout=30)
    fake.fail_next("sendMessage", 500, count=15, description="Internal Server Error")
    await fake.wait_for(lambda: len(fake.sent) >= 90, timeout=30)
    fake.fail_next("sendMessage", 429, count=3, retry_after=1)
    await fake.wait_for(lambda: len(fake.sent) >= 150, timeout=30)
    fake.delay("sendMessage", 2.5)  # longer than the sender's request timeout
    await asyncio.sleep(1.5)
    fake.delay("sendMessage", 0)
    await fake.wait_for(lambda: len(fake.sent) >= 200, timeout=30)
    fake.fail_next("sendMessage", 502, count=10, description="Bad Gateway")


async def test_broadcast_survives_bot_api_faults(db: Database) -> None:
    now = datetime.now(UTC)
    payload = Outgoing(text="Mời bạn tham gia khảo sát <b>Hà Nội 2026</b>.").to_payload()
    messages = [NewMessage(str(FIRST_CHAT + i), "invitation", payload, f"broadcast:{i}") for i in range(COUNT)]
    async with db.write() as conn:
        await outbox.enqueue_many(conn, messages, now)
    async with FakeBotAPI(enforce_limits=True, global_per_sec=100, per_chat_per_sec=1, per_group_per_min=20) as fake:
        for chat in BLOCKED:
            fake.block(chat)
        bot = fake.make_bot()
        try:
            sender = OutboxSender(
                db,
                TelegramTransport(bot, request_timeout=1),
                clock=lambda: datetime.now(UTC),
                limits=LIMITS,
                retry=RetryPolicy(max_attempts=8, base_seconds=0.2, max_seconds=1.0),
            )
            faults = asyncio.create_task(inject_faults(fake))
            stats: Any = await asyncio.wait_for(sender.drain(), 120)
            await faults
        finally:
            await bot.session.close()
        violations = fake.rate_violations(100, 1, 20)
        delivered = {record.chat_id for record in fake.send_log}
    async with db.read() as conn:
        statuses = dict(
            (
                await conn.execute(
                    sa.select(outbox_message.c.status, sa.func.count()).group_by(outbox_message.c.status)
                )
            ).all()
        )
    assert violations == []
    assert statuses == {"sent": COUNT - len(BLOCKED), "unreachable": len(BLOCKED)}, statuses
    wanted = {FIRST_CHAT + i for i in range(COUNT)} - BLOCKED
    assert wanted <= delivered, f"lost: {sorted(wanted - delivered)[:10]}"  # a timed-out send may arrive twice
    assert stats.sent >= COUNT - len(BLOCKED)

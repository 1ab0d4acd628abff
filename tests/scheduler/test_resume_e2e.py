"""The reminder's "▶ Tiếp tục" button, end to end: the real bot and the scheduler against the fake Bot API."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.telegram.sender import TelegramTransport
from storage.db import Database
from tests.conftest import Clock, create_live_campaign
from tests.fakebot import FakeBotAPI
from tests.scheduler.conftest import make_scheduler, make_sender
from tests.telegram.harness import User, bot_settings, running

# Real time: the bot's own replies are timed by Telegram's clock, the reminder by the application's clock.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def test_continue_resumes_at_the_current_question(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path
) -> None:
    clock = Clock(datetime.now(UTC).replace(hour=3, minute=0))  # 10:00 in Hà Nội: not quiet hours
    await create_live_campaign(db, clock())
    settings = bot_settings(fake, db_url, tmp_path, scheduler_enabled=False)
    async with running(settings, clock=clock) as app:
        alice = User(fake, 601)
        await alice.say("/start hn-2026_70")
        await alice.press("✅ Tôi đồng ý")
        await alice.press("30–44 tuổi")
        await alice.press("Bỏ qua ⏭")
        assert alice.last().visible_text.startswith("Câu 3 · đã xong 11%")

        clock.advance(hours=24, minutes=1)
        sender_bot = fake.make_bot()
        try:
            scheduler = make_scheduler(app.ctx, TelegramTransport(sender_bot))
            assert (await scheduler.tick()).reminders == 1
            assert (await make_sender(app.ctx, sender_bot).drain()).sent == 1
        finally:
            await sender_bot.session.close()
        reminder = alice.last()
        # as far as question 3 showed it
        assert "đã xong 11%" in reminder.visible_text and "làm tiếp từ câu 3" in reminder.visible_text
        assert alice.labels(reminder) == ["▶ Tiếp tục"]

        await alice.press("▶ Tiếp tục", reminder)
        assert alice.last().visible_text.startswith("Câu 3 · đã xong 11%\nTrong 12 tháng qua, bạn có làm thủ tục")
        await alice.press("Không")
        assert alice.last().visible_text.startswith("Câu 4 · đã xong 30%")
        clock.advance(hours=1)
        assert (await scheduler.tick()).reminders == 0  # active again: the next reminder waits 72 h

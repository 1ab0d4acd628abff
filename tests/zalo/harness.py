"""Runs the real application (real HTTP both ways) against the fake Zalo Bot API, and types as people do."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.app import Application
from bot.settings import Settings
from tests.zalo.fake_api import FakeZaloAPI, Sent

WEBHOOK_SECRET = "zalo-webhook-s3cret"
SECRET_KEY = "respondent-key-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def zalo_settings(fake: FakeZaloAPI, db_url: str, tmp_path: Path, mode: str = "polling", **extra: Any) -> Settings:
    port = free_port()
    values: dict[str, Any] = {
        "database_url": db_url,
        "secret_key": SECRET_KEY,
        "secret_file": tmp_path / "secret",
        "zalo_bot_token": fake.token,
        "zalo_api_base": fake.base_url,
        "zalo_mode": mode,
        "zalo_poll_timeout": 1,
        "web_host": "127.0.0.1",
        "web_port": port,
        "zalo_webhook_url": f"http://127.0.0.1:{port}/zalo/webhook",
        "zalo_webhook_secret": WEBHOOK_SECRET,
        "scheduler_enabled": False,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def running(settings: Settings, **kwargs: Any) -> AsyncIterator[Application]:
    app = Application(settings, **kwargs)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


class Person:
    """A citizen typing to the bot in a private Zalo chat (polling or webhook, as the app runs)."""

    def __init__(self, fake: FakeZaloAPI, app: Application, user_id: str = "u-lan") -> None:
        self.fake = fake
        self.app = app
        self.user_id = user_id

    @property
    def webhook(self) -> bool:
        return self.app.settings.zalo_mode == "webhook"

    async def send(self, update: dict[str, Any]) -> int:
        """Deliver an update as the platform would; the webhook's HTTP status (200 when polled and done)."""
        processor = self.app.zalo_processor
        assert processor is not None
        if self.webhook:
            status, _ = await self.fake.post_webhook(self.fake.webhook_url, update)
            return status
        before = processor.handled + processor.failed + processor.retried
        self.fake.push(update)
        await self.fake.wait_idle(10)
        for _ in range(1000):
            if processor.handled + processor.failed + processor.retried > before and processor.in_flight == 0:
                return 200
            await asyncio.sleep(0.01)
        raise AssertionError("the update was not processed")

    async def say(self, text: str, message_id: str | None = None) -> str:
        """Type a message; the text of the bot's replies to it (joined)."""
        before = len(self.fake.messages(self.user_id))
        status = await self.send(self.fake.update(self.user_id, text, message_id=message_id))
        assert status == 200, status
        return "\n".join(s.text for s in self.fake.messages(self.user_id)[before:])

    def replies(self) -> list[Sent]:
        return self.fake.messages(self.user_id)

"""Runs the real application (real aiogram, real HTTP) against the fake Bot API, and talks to it as users."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.app import Application
from bot.settings import Settings
from tests.fakebot import FakeBotAPI
from tests.fakebot.server import StoredMessage

WEBHOOK_SECRET = "webhook-s3cret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bot_settings(fake: FakeBotAPI, db_url: str, tmp_path: Path, mode: str = "polling", **extra: Any) -> Settings:
    port = free_port()
    values: dict[str, Any] = {
        "database_url": db_url,
        "secret_key": "respondent-key-secret",
        "secret_file": tmp_path / "secret",
        "telegram_bot_token": "123456:TEST",
        "telegram_api_base": fake.base_url,
        "telegram_mode": mode,
        "web_host": "127.0.0.1",
        "web_port": port,
        "webhook_url": f"http://127.0.0.1:{port}/telegram/webhook",
        "webhook_secret": WEBHOOK_SECRET,
        "scheduler_enabled": False,  # tests of the scheduler start it themselves
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


class User:
    """A citizen talking to the bot in a private chat."""

    def __init__(self, fake: FakeBotAPI, user_id: int, language_code: str = "vi") -> None:
        self.fake = fake
        self.id = user_id
        self.language_code = language_code

    async def say(self, text: str) -> None:
        self.fake.push_message(self.id, text, language_code=self.language_code)
        await self.fake.wait_idle(10)

    async def press(self, label: str, message: StoredMessage | None = None) -> int:
        message = message or self.last_with_buttons()
        update = self.fake.push_button(self.id, message, label)
        await self.fake.wait_idle(10)
        return update

    async def press_data(self, data: str, message_id: int) -> int:
        update = self.fake.push_callback(self.id, data, message_id, language_code=self.language_code)
        await self.fake.wait_idle(10)
        return update

    def messages(self) -> list[StoredMessage]:
        return self.fake.messages(self.id)

    def last(self) -> StoredMessage:
        return self.fake.last_message(self.id)

    def last_with_buttons(self) -> StoredMessage:
        for message in reversed(self.messages()):
            if self.fake.buttons(message):
                return message
        raise AssertionError(f"no message with buttons: {[m.plain_text for m in self.messages()]}")

    def labels(self, message: StoredMessage | None = None) -> list[str]:
        return [label for label, _ in self.fake.buttons(message or self.last_with_buttons())]

    def texts(self) -> list[str]:
        return [m.visible_text for m in self.messages()]

"""A fast, minimal fake Telegram for load tests: the Bot API the bot calls (getMe, sendMessage, edits,
answerCallbackQuery, webhooks...) and the citizens who press its buttons.

Unlike tests/fakebot (a faithful double that validates HTML and keeps every message), this one keeps only the
last message of each chat and does as little as possible per request, so that the load generator, not the
fake, is measured. It delivers updates to the bot's webhook like Telegram: an update is re-sent until it gets
a 2xx.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

BOT = {"id": 123456, "is_bot": True, "first_name": "Khảo sát", "username": "khaosat_bench_bot"}


@dataclass
class Chat:
    next_id: int = 1
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    version: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: dict[int, float] = field(default_factory=dict)
    """When each message the bot sent arrived here (time.perf_counter())."""

    def bump(self) -> None:
        self.version += 1
        self.changed.set()
        self.changed = asyncio.Event()


class FastTelegram:
    def __init__(self) -> None:
        self.chats: dict[int, Chat] = {}
        self.update_ids = itertools.count(1_000_000)
        self.callback_ids = itertools.count(1)
        self.webhook: tuple[str, str] | None = None
        self.calls = 0
        self.sends = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # --- the Bot API ---------------------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def chat(self, chat_id: int) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = Chat()
        return chat

    async def _api(self, request: web.Request) -> web.Response:
        self.calls += 1
        method = request.match_info["method"].lower()
        params: dict[str, Any] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                params = await request.json()
            else:
                params = dict(await request.post())
        result: Any = True
        if method == "getme":
            result = BOT
        elif method == "setwebhook":
            self.webhook = (str(params["url"]), str(params.get("secret_token", "")))
        elif method == "deletewebhook":
            self.webhook = None
        elif method in ("getmycommands", "getchatadministrators"):
            result = []
        elif method == "getupdates":
            await asyncio.sleep(float(params.get("timeout", 0) or 0))
            result = []
        elif method == "sendmessage":
            self.sends += 1
            chat = self.chat(int(params["chat_id"]))
            message = self._message(chat.next_id, int(params["chat_id"]), params)
            chat.next_id += 1
            chat.messages[message["message_id"]] = message
            chat.arrived[message["message_id"]] = time.perf_counter()
            chat.bump()
            result = message
        elif method in ("editmessagetext", "editmessagereplymarkup"):
            chat = self.chat(int(params["chat_id"]))
            message_id = int(params["message_id"])
            old = chat.messages.get(message_id)
            if old is None:
                return web.json_response(
                    {"ok": False, "error_code": 400, "description": "Bad Request: message to edit not found"},
                    status=400,
                )
            new = self._message(message_id, int(params["chat_id"]), params, old)
            chat.messages[message_id] = new
            chat.bump()
            result = new
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _message(message_id: int, chat_id: int, params: dict[str, Any], old: dict[str, Any] | None = None) -> dict:
        text = params.get("text", old.get("text", "") if old else "")
        markup = params.get("reply_markup")
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT,
            "text": text,
        }
        if isinstance(markup, str):  # a form field: JSON
            markup = json.loads(markup)
        if markup:
            message["reply_markup"] = markup
        return message

    # --- citizens ------------------------------------------------------------------------------------

    def message_update(self, user_id: int, text: str) -> dict[str, Any]:
        chat = self.chat(user_id)
        message_id = chat.next_id
        chat.next_id += 1
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Dân", "language_code": "vi"},
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": next(self.update_ids), "message": message}

    def callback_update(self, user_id: int, message: dict[str, Any], data: str) -> dict[str, Any]:
        return {
            "update_id": next(self.update_ids),
            "callback_query": {
                "id": str(next(self.callback_ids)),
                "from": {"id": user_id, "is_bot": False, "first_name": "Dân", "language_code": "vi"},
                "chat_instance": str(user_id),
                "message": message,
                "data": data,
            },
        }

    def last_with_buttons(self, user_id: int) -> dict[str, Any] | None:
        for message in reversed(self.chat(user_id).messages.values()):
            if message.get("reply_markup", {}).get("inline_keyboard"):
                return message
        return None

    def last(self, user_id: int) -> dict[str, Any] | None:
        messages = self.chat(user_id).messages
        return messages[max(messages)] if messages else None


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


async def deliver(
    http: aiohttp.ClientSession,
    url: str,
    secret: str,
    update: dict[str, Any],
    *,
    retry_delay: float = 0.05,
    deadline: float = 120.0,
) -> tuple[float, int]:
    """POST an update until it gets a 2xx, like Telegram. Returns (latency of the successful POST, attempts)."""
    attempts = 0
    started = time.monotonic()
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    while True:
        attempts += 1
        t0 = time.perf_counter()
        try:
            async with http.post(url, json=update, headers=headers) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return time.perf_counter() - t0, attempts
        except (TimeoutError, aiohttp.ClientError):
            pass
        if time.monotonic() - started > deadline:
            raise TimeoutError(f"update {update['update_id']} not acknowledged after {attempts} attempts")
        await asyncio.sleep(retry_delay)

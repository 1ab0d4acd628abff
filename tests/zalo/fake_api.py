"""A fake Zalo Bot API for tests: real HTTP on 127.0.0.1 (aiohttp), `/bot<TOKEN>/<method>`, POST with JSON.

    async with FakeZaloAPI() as fake:
        client = fake.client()
        fake.push_text("u1", "/start")               # a person types; getUpdates hands it over
        ...
        await fake.wait_messages("u1", 1)
        assert "Xin chào" in fake.texts("u1")[-1]

What it models: the `{"ok": true, "result": ...}` / `{"ok": false, "error_code", "description"}` envelope;
getMe, getUpdates (one update per call; 408 after `timeout` seconds with nothing; refused while a webhook is
set), setWebhook (secret 8-256 characters), deleteWebhook, getWebhookInfo, sendMessage (1-2,000 characters,
else 400), sendPhoto (a URL), sendChatAction. It records every call, message and photo; chats can be made to
refuse messages (403, as a person who blocked the bot). `post_webhook` posts an update (or any body) to a
webhook address with the secret header, as the platform does, and returns the HTTP status and body.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from bot.zalo.client import ZaloClient

TOKEN = "1234567890:fake-zalo-token"
MAX_TEXT = 2000


@dataclass(frozen=True)
class Sent:
    """A message or photo the bot sent."""

    method: str
    chat_id: str
    text: str
    """The text, or the photo's caption."""
    photo: str | None
    message_id: str
    at: float


@dataclass
class Call:
    method: str
    payload: dict[str, Any]
    status: int


@dataclass
class FakeZaloAPI:
    token: str = TOKEN
    bot_id: str = "1234567890"
    account_name: str = "khaosat_test_bot"
    can_join_groups: bool = True
    calls: list[Call] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    """Chats whose sends are refused with 403."""
    webhook_url: str = ""
    webhook_secret: str = ""

    def __post_init__(self) -> None:
        self._updates: deque[dict[str, Any]] = deque()
        self._arrived = asyncio.Event()
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.fail_next: list[tuple[str, int, str]] = []
        """(method, error_code, description): the next call of that method fails so."""

    # ---- life cycle ------------------------------------------------------------------------------------
    async def __aenter__(self) -> FakeZaloAPI:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def client(self, **kwargs: Any) -> ZaloClient:
        return ZaloClient(self.token, self.base_url, **kwargs)

    # ---- people typing ----------------------------------------------------------------------------------
    def update(
        self,
        user_id: str,
        text: str | None,
        *,
        chat_id: str | None = None,
        chat_type: str = "PRIVATE",
        message_id: str | None = None,
        event_name: str | None = None,
        display_name: str = "Người dùng",
    ) -> dict[str, Any]:
        """An update as the platform sends it (bare shape); a new message id unless given."""
        message: dict[str, Any] = {
            "message_id": message_id or f"m{next(self._ids)}",
            "date": int(time.time() * 1000),
            "from": {"id": user_id, "display_name": display_name, "is_bot": False},
            "chat": {"id": chat_id or user_id, "chat_type": chat_type},
        }
        if text is not None:
            message["text"] = text
        return {
            "event_name": event_name or ("message.text.received" if text is not None else "message.sticker.received"),
            "message": message,
        }

    def push(self, update: Mapping[str, Any]) -> None:
        """Queue an update for getUpdates."""
        self._updates.append(dict(update))
        self._arrived.set()

    def push_text(self, user_id: str, text: str, **kwargs: Any) -> dict[str, Any]:
        update = self.update(user_id, text, **kwargs)
        self.push(update)
        return update

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    async def post_webhook(
        self,
        url: str,
        body: Any,
        *,
        secret: str | None = None,
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, str]:
        """POST a body (JSON, or `raw` bytes) to a webhook address with the secret header (the registered one
        unless `secret` is given; "" sends none); the status and the answer's text."""
        sent_headers = {"Content-Type": "application/json"}
        token = self.webhook_secret if secret is None else secret
        if token:
            sent_headers["X-Bot-Api-Secret-Token"] = token
        sent_headers.update(headers or {})
        async with aiohttp.ClientSession() as session:
            kwargs: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
            async with session.post(url, headers=sent_headers, **kwargs) as resp:
                return resp.status, await resp.text()

    # ---- what the bot sent --------------------------------------------------------------------------------
    def messages(self, chat_id: str) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    def texts(self, chat_id: str) -> list[str]:
        return [s.text for s in self.messages(chat_id)]

    async def wait_messages(self, chat_id: str, count: int, timeout: float = 10.0) -> list[Sent]:
        """Wait until the chat has received at least `count` messages in all; they."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(self.messages(chat_id)) >= count), timeout)
            except TimeoutError:
                raise AssertionError(
                    f"chat {chat_id}: {len(self.messages(chat_id))} messages after {timeout} s, expected {count}:"
                    f" {self.texts(chat_id)!r}"
                ) from None
        return self.messages(chat_id)

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until every queued update has been taken by getUpdates."""
        deadline = time.monotonic() + timeout
        while self._updates:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self._updates)} updates not taken after {timeout} s")
            await asyncio.sleep(0.01)

    # ---- the API ------------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._answer(method, {}, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        try:
            payload = await request.json() if request.can_read_body else {}
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return self._answer(method, {}, 400, {"ok": False, "error_code": 400, "description": "Bad Request"})
        for i, (name, code, description) in enumerate(self.fail_next):
            if name == method:
                del self.fail_next[i]
                return self._answer(
                    method, payload, code, {"ok": False, "error_code": code, "description": description}
                )
        if method == "getUpdates":
            status, body = await self._get_updates(payload, request)
            return self._answer(method, payload, status, body)
        handler = getattr(self, "_m_" + method, None)
        if handler is None:
            return self._answer(method, payload, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
        status, body = await handler(payload)
        return self._answer(method, payload, status, body)

    def _answer(self, method: str, payload: dict[str, Any], status: int, body: dict[str, Any]) -> web.Response:
        self.calls.append(Call(method, payload, status))
        return web.json_response(body, status=status)

    @staticmethod
    def _ok(result: Any) -> tuple[int, dict[str, Any]]:
        return 200, {"ok": True, "result": result}

    @staticmethod
    def _error(code: int, description: str) -> tuple[int, dict[str, Any]]:
        return code, {"ok": False, "error_code": code, "description": description}

    async def _m_getMe(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self._ok(
            {
                "id": self.bot_id,
                "account_name": self.account_name,
                "account_type": "BASIC",
                "can_join_groups": self.can_join_groups,
            }
        )

    async def _get_updates(self, payload: dict[str, Any], request: web.Request) -> tuple[int, dict[str, Any]]:
        """One update, or 408 after `timeout` seconds. (A poller that went away before an update arrived
        does not take it: the next poll gets it. The real platform may lose it then.)"""
        if self.webhook_url:
            return self._error(409, "Conflict: getUpdates is not available while a webhook is set")
        deadline = time.monotonic() + max(float(payload.get("timeout") or 0), 0.01)
        while True:
            if self._updates and request.transport is not None and not request.transport.is_closing():
                return self._ok(self._updates.popleft())
            left = deadline - time.monotonic()
            if left <= 0 or request.transport is None:
                return self._error(408, "Request timeout")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout=min(left, 0.05))

    async def _m_setWebhook(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        url, secret = payload.get("url"), payload.get("secret_token")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            return self._error(400, "Bad Request: url is invalid")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            return self._error(400, "Bad Request: secret_token must be 8-256 characters")
        self.webhook_url, self.webhook_secret = url, secret
        return self._ok({"url": url, "updated_at": int(time.time() * 1000)})

    async def _m_deleteWebhook(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.webhook_url, self.webhook_secret = "", ""
        return self._ok({"url": "", "updated_at": int(time.time() * 1000)})

    async def _m_getWebhookInfo(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self._ok({"url": self.webhook_url, "updated_at": int(time.time() * 1000)})

    async def _record(self, method: str, chat_id: str, text: str, photo: str | None) -> tuple[int, dict[str, Any]]:
        message_id = f"b{next(self._ids)}"
        sent = Sent(method, chat_id, text, photo, message_id, time.monotonic())
        async with self._changed:
            self.sent.append(sent)
            self._changed.notify_all()
        return self._ok({"message_id": message_id, "date": int(time.time() * 1000)})

    async def _m_sendMessage(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id, text = payload.get("chat_id"), payload.get("text")
        if not isinstance(chat_id, str) or not chat_id:
            return self._error(400, "Bad Request: chat_id is required")
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
            return self._error(400, f"Bad Request: text must be 1-{MAX_TEXT} characters")
        if chat_id in self.blocked:
            return self._error(403, "Forbidden: the user has blocked the bot")
        return await self._record("sendMessage", chat_id, text, None)

    async def _m_sendPhoto(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id, photo, caption = payload.get("chat_id"), payload.get("photo"), payload.get("caption") or ""
        if not isinstance(chat_id, str) or not chat_id:
            return self._error(400, "Bad Request: chat_id is required")
        if not isinstance(photo, str) or not photo.startswith(("http://", "https://")):
            return self._error(400, "Bad Request: photo must be a URL")
        if not isinstance(caption, str) or len(caption) > MAX_TEXT:
            return self._error(400, "Bad Request: caption is too long")
        if chat_id in self.blocked:
            return self._error(403, "Forbidden: the user has blocked the bot")
        return await self._record("sendPhoto", chat_id, caption, photo)

    async def _m_sendChatAction(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not isinstance(payload.get("chat_id"), str):
            return self._error(400, "Bad Request: chat_id is required")
        return self._ok(True)

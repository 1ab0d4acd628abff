"""A small async client of the Zalo Bot API (`<base>/bot<TOKEN>/<method>`, POST with a JSON body).

Answers are `{"ok": true, "result": ...}` or `{"ok": false, "error_code": N, "description": "..."}`. Failures
become a `ZaloError` that says whether trying again can help (`transient`: 5xx, 429, network errors) or not
(`permanent`), and whether the recipient refused us (`unreachable`: 403, a blocked or unknown chat), as
Telegram's 403 does. `get_updates` returns None when a long poll ends with nothing (Zalo answers 408 then).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from bot.zalo.updates import UpdateError, ZaloUpdate, parse_update

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://bot-api.zaloplatforms.com"

ZaloErrorKind = Literal["transient", "permanent", "unreachable", "rate_limited"]

_UNREACHABLE_WORDS = ("blocked", "not found", "forbidden", "not allowed", "permission", "unfollow")


class ZaloError(Exception):
    """A call that failed: `kind` says what the caller can do (`transient`: try again later; `rate_limited`:
    wait `retry_after` seconds; `unreachable`: the recipient refused us or is gone; `permanent`: this request
    will never succeed). `reached_server` is False when the request surely never arrived."""

    def __init__(
        self,
        kind: ZaloErrorKind,
        method: str,
        description: str,
        *,
        error_code: int | None = None,
        retry_after: float | None = None,
        reached_server: bool = True,
    ) -> None:
        super().__init__(f"{method}: {description}" + (f" ({error_code})" if error_code is not None else ""))
        self.kind = kind
        self.method = method
        self.description = description
        self.error_code = error_code
        self.retry_after = retry_after
        self.reached_server = reached_server


def classify(error_code: int | None, description: str) -> ZaloErrorKind:
    """What an `ok: false` answer means for the caller."""
    if error_code == 429:
        return "rate_limited"
    if error_code is None or error_code >= 500 or error_code == 408:
        return "transient"
    if error_code == 403:
        return "unreachable"
    if error_code == 400 and any(w in description.lower() for w in _UNREACHABLE_WORDS):
        return "unreachable"
    if error_code == 401:  # a revoked token: an operator must look; the outbox tries again later
        return "transient"
    return "permanent"


@dataclass(frozen=True)
class BotInfo:
    id: str
    account_name: str
    account_type: str | None
    can_join_groups: bool


@dataclass(frozen=True)
class SentMessage:
    message_id: str
    date: int | None


class ZaloClient:
    """The Zalo Bot API over one aiohttp session (opened on first use; `close()` closes it)."""

    def __init__(
        self,
        token: str,
        api_base: str = DEFAULT_API_BASE,
        *,
        request_timeout: float = 30.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not token:
            raise ValueError("a Zalo bot token is needed (ZALO_BOT_TOKEN)")
        self.token = token
        self.api_base = api_base.rstrip("/")
        self.request_timeout = request_timeout
        self._session = session
        self._owns_session = session is None

    def url(self, method: str) -> str:
        return f"{self.api_base}/bot{self.token}/{method}"

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()

    async def call(self, method: str, payload: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        """One call; its `result`, or a classified `ZaloError`."""
        session = await self._get_session()
        wait = aiohttp.ClientTimeout(total=timeout if timeout is not None else self.request_timeout)
        try:
            async with session.post(self.url(method), json=payload or {}, timeout=wait) as resp:
                status = resp.status
                try:
                    body = await resp.json(content_type=None)
                except (ValueError, aiohttp.ContentTypeError):
                    body = None
        except aiohttp.ClientConnectorError as e:
            raise ZaloError("transient", method, f"cannot connect: {e}", reached_server=False) from None
        except (TimeoutError, aiohttp.ClientError) as e:
            raise ZaloError("transient", method, f"{type(e).__name__}: {e}") from None
        if not isinstance(body, dict):
            kind: ZaloErrorKind = "transient" if status >= 500 or status == 429 else "permanent"
            raise ZaloError(kind, method, f"HTTP {status} without a JSON answer", error_code=status)
        if body.get("ok") is True:
            return body.get("result")
        code = body.get("error_code")
        error_code = int(code) if isinstance(code, int) else (status if status >= 400 else None)
        description = str(body.get("description") or f"HTTP {status}")
        retry_after = None
        parameters = body.get("parameters")
        if isinstance(parameters, dict) and isinstance(parameters.get("retry_after"), int | float):
            retry_after = float(parameters["retry_after"])
        raise ZaloError(
            classify(error_code, description), method, description, error_code=error_code, retry_after=retry_after
        )

    async def get_me(self) -> BotInfo:
        result = await self.call("getMe")
        if not isinstance(result, dict):
            raise ZaloError("permanent", "getMe", "the answer has no bot")
        return BotInfo(
            id=str(result.get("id", "")),
            account_name=str(result.get("account_name") or ""),
            account_type=result.get("account_type"),
            can_join_groups=bool(result.get("can_join_groups")),
        )

    async def get_updates(self, timeout: int = 30) -> ZaloUpdate | None:
        """One long poll: the next update, or None when the poll ended with nothing (408).

        There is no offset to confirm: an update returned here is gone from the platform."""
        try:
            result = await self.call("getUpdates", {"timeout": timeout}, timeout=timeout + 10)
        except ZaloError as e:
            if e.error_code == 408:
                return None
            raise
        if result is None or result == [] or result == {}:
            return None
        if isinstance(result, list):  # seen in some clients' docs: take the first
            result = result[0]
        try:
            return parse_update(result)
        except UpdateError as e:
            log.warning("getUpdates returned an update we cannot read (%s); it is dropped", e)
            return None

    async def set_webhook(self, url: str, secret_token: str) -> None:
        await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> None:
        await self.call("deleteWebhook")

    async def get_webhook_info(self) -> dict[str, Any]:
        result = await self.call("getWebhookInfo")
        return result if isinstance(result, dict) else {}

    async def send_message(self, chat_id: str, text: str) -> SentMessage:
        """A plain text of 1-2,000 characters (split longer ones with `bot.zalo.text.split_text`)."""
        result = await self.call("sendMessage", {"chat_id": chat_id, "text": text})
        return _sent(result)

    async def send_photo(self, chat_id: str, photo_url: str, caption: str = "") -> SentMessage:
        """A photo the platform fetches from `photo_url`, with a caption."""
        payload: dict[str, Any] = {"chat_id": chat_id, "photo": photo_url}
        if caption:
            payload["caption"] = caption
        result = await self.call("sendPhoto", payload)
        return _sent(result)

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action})


def _sent(result: Any) -> SentMessage:
    if isinstance(result, dict):
        return SentMessage(message_id=str(result.get("message_id", "")), date=result.get("date"))
    return SentMessage(message_id="", date=None)

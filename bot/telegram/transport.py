"""Getting updates in and acknowledging them only after their effects are committed.

- `UpdateProcessor` feeds one update to the dispatcher: one person's updates in order, different people
  in parallel. It decides whether the update may be acknowledged: yes when handled (or when a bug made it
  fail: logged once, with the update id, and not retried forever); no when the database or Telegram is
  unreachable for a moment, so that Telegram delivers it again.
- `poll()` is a getUpdates loop that confirms an offset only after every update before it was processed
  (aiogram's own polling confirms offsets while handlers still run).
- `webhook_handler()` answers 2xx only after processing (aiogram's default webhook handler answers first),
  401 without the right secret header, 400 for a body that is not an update, 503 on a transient failure.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any, TypeVar

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError
from pydantic import ValidationError

from bot.context import KeyedLocks, transient_errors
from bot.telegram.fastlane import FastLane, FastUpdate
from bot.telegram.fastlane import parse as parse_fast
from bot.telegram.texts import t

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

T = TypeVar("T")
SenderKey = tuple[str, int]
"""Whose update it is: ("user", id), ("chat", id) or ("update", id)."""


def _transient_errors() -> tuple[type[BaseException], ...]:
    return (*transient_errors(), TelegramNetworkError, TelegramServerError, TelegramRetryAfter)


def is_transient(error: BaseException) -> bool:
    """A failure that will likely go away: the update must be processed again later."""
    if isinstance(error, _transient_errors()):
        return True
    cause = error.__cause__ or error.__context__
    return cause is not None and cause is not error and isinstance(cause, _transient_errors())


def private_chat_of(update: Update) -> tuple[int, str] | None:
    """The private chat an update came from, and its person's language ("en" if their app is): where to say
    that something went wrong. None for groups, channels and updates without a chat."""
    event = update.event if update.event_type != "unknown" else None
    message = getattr(event, "message", event)  # a callback query's message, or the message itself
    chat = getattr(message, "chat", None)
    user = getattr(event, "from_user", None)
    if chat is None or getattr(chat, "type", None) != "private" or user is None:
        return None
    language = "en" if (getattr(user, "language_code", None) or "").lower().startswith("en") else "vi"
    return int(chat.id), language


def sender_of(update: Update) -> SenderKey:
    """Whose update this is (for ordering): the user, else the chat, else the update itself."""
    event = update.event if update.event_type != "unknown" else None
    user = getattr(event, "from_user", None)
    if user is not None:
        return ("user", user.id)
    chat = getattr(event, "chat", None)
    if chat is not None:
        return ("chat", chat.id)
    return ("update", update.update_id)


class UpdateProcessor:
    channel = "telegram"

    def __init__(self, dispatcher: Dispatcher, bot: Bot, lane: FastLane | None = None) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.lane = lane
        """The lean answer path (webhook only); None: every update goes through aiogram."""
        self.locks = KeyedLocks()
        self.in_flight = 0
        self.handled = 0
        self.failed = 0
        self.retried = 0
        self.durations: deque[float] = deque(maxlen=10_000)
        """Seconds taken by the last updates handled (for /metrics and diagnosis)."""
        self._told: deque[int] = deque(maxlen=1000)
        """Updates whose person was told of a failure (a redelivery is not told again)."""

    async def handle(self, update: Update) -> tuple[bool, TelegramMethod[Any] | None]:
        """Handle one update. Returns (may it be acknowledged, a Bot API method the handler left for the
        reply: the webhook sends it back in its response body, saving a request; polling calls it)."""
        work = self.dispatcher.feed_update(self.bot, update)
        ack, result = await self._run(sender_of(update), update.update_id, work, private_chat_of(update))
        return ack, result if isinstance(result, TelegramMethod) else None

    async def handle_fast(self, update: FastUpdate) -> tuple[bool, dict[str, Any] | None]:
        """`handle` for an answer button on the lean path (bot.telegram.fastlane): the same ordering per
        person, error policy and accounting; the reply comes back as a webhook response body."""
        assert self.lane is not None
        person = (update.chat_id, update.who.language or "vi")
        return await self._run(("user", update.user_id), update.update_id, self.lane.handle(update), person)

    async def _run(
        self, sender: SenderKey, update_id: int, work: Awaitable[T], person: tuple[int, str] | None = None
    ) -> tuple[bool, T | None]:
        self.in_flight += 1
        started = time.perf_counter()
        try:
            async with self.locks(sender):
                try:
                    result = await work
                except Exception as e:
                    if is_transient(e):
                        self.retried += 1
                        log.warning("update %s not processed, Telegram will deliver it again: %r", update_id, e)
                        await self._tell_failure(update_id, person)
                        return False, None
                    self.failed += 1
                    log.exception("update %s failed", update_id)
                    await self._tell_failure(update_id, person)
                    return True, None
                self.handled += 1
                return True, result
        finally:
            self.in_flight -= 1
            self.durations.append(time.perf_counter() - started)

    async def _tell_failure(self, update_id: int, person: tuple[int, str] | None) -> None:
        """Tell the person something went wrong for a moment (once per update, not at every redelivery),
        rather than leave them with silence; quietly, since Telegram itself may be what failed."""
        if person is None or update_id in self._told:
            return
        self._told.append(update_id)
        chat_id, language = person
        try:
            await asyncio.wait_for(self.bot.send_message(chat_id, t("temporary_error", language)), 5)
        except Exception as e:  # Telegram unreachable too: nothing more to do
            log.debug("could not tell chat %s about the failure: %r", chat_id, e)

    async def process(self, update: Update) -> bool:
        """Handle one update and make the call it left, if any; True when it may be acknowledged."""
        ack, method = await self.handle(update)
        if method is not None:
            await call_quietly(self.bot, method)
        return ack


async def call_quietly(bot: Bot, method: TelegramMethod[Any]) -> None:
    """A reply call whose failure must not fail the update (a callback answer to an expired query)."""
    try:
        await bot(method)
    except TelegramAPIError as e:
        log.debug("%s failed: %s", method.__api_method__, e)


def webhook_reply(method: TelegramMethod[Any]) -> dict[str, Any]:
    """A method as a webhook response body: Telegram executes it (one request fewer per update)."""
    body: dict[str, Any] = {"method": method.__api_method__}
    for key, value in method.model_dump(exclude_none=True, mode="json").items():
        body[key] = value
    return body


async def poll(
    bot: Bot,
    processor: UpdateProcessor,
    stop: asyncio.Event,
    *,
    timeout: int = 25,
    allowed_updates: list[str] | None = None,
    backoff: tuple[float, float] = (0.5, 30.0),
) -> None:
    """Long polling that confirms an update only once it and every update before it were processed."""
    offset: int | None = None
    delay = backoff[0]
    while not stop.is_set():
        fetch = asyncio.ensure_future(
            bot.get_updates(
                offset=offset, timeout=timeout, allowed_updates=allowed_updates, request_timeout=timeout + 10
            )
        )
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({fetch, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if fetch not in done:
            fetch.cancel()
            break
        try:
            updates = fetch.result()
        except Exception as e:
            log.warning("getUpdates failed, retrying in %.1f s: %r", delay, e)
            await _sleep_or_stop(stop, delay)
            delay = min(delay * 2, backoff[1])
            continue
        if not updates:
            delay = backoff[0]
            continue
        first_failed = await process_batch(processor, updates)
        if first_failed is None:
            offset = max(u.update_id for u in updates) + 1
            delay = backoff[0]
        else:
            offset = first_failed  # it and the ones after it come again (those done are deduplicated)
            log.warning("update %s will be fetched again in %.1f s", first_failed, delay)
            await _sleep_or_stop(stop, delay)
            delay = min(delay * 2, backoff[1])
    if offset is not None:
        # confirm what was processed before stopping, so a restart does not receive it again
        try:
            await bot.get_updates(offset=offset, timeout=0, limit=1, request_timeout=10)
        except Exception as e:
            log.info("could not confirm processed updates before stopping: %r", e)


async def process_batch(processor: UpdateProcessor, updates: list[Update]) -> int | None:
    """Process a batch (people in parallel, each person's updates in order). Returns the id of the first
    update that must be delivered again, or None."""
    by_sender: dict[SenderKey, list[Update]] = defaultdict(list)
    for update in sorted(updates, key=lambda u: u.update_id):
        by_sender[sender_of(update)].append(update)
    failed: list[int] = []

    async def run(chain: list[Update]) -> None:
        for update in chain:
            if not await processor.process(update):
                failed.append(update.update_id)
                return  # keep this person's later updates for the retry, in order

    await asyncio.gather(*(run(chain) for chain in by_sender.values()))
    return min(failed) if failed else None


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def webhook_handler(
    processor: UpdateProcessor, secret: str | None
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    expected = (secret or "").encode()

    async def handle(request: web.Request) -> web.StreamResponse:
        if expected:
            given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(given, expected):
                log.warning("webhook call without the right secret from %s", request.remote)
                return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            body = await request.read()
            if len(body) > 1_000_000:
                return web.json_response({"ok": False, "error": "body too large"}, status=413)
            data = json.loads(body)
            fast = parse_fast(data) if processor.lane is not None else None
            if fast is None:
                update = Update.model_validate(data, context={"bot": processor.bot})
        except (ValueError, ValidationError, RecursionError):  # RecursionError: JSON nested too deep to read
            return web.json_response({"ok": False, "error": "not a Telegram update"}, status=400)
        except (RequestPayloadError, ConnectionError) as e:  # a content encoding that does not decode; a client gone
            log.info("webhook body unreadable: %s", e)
            return web.json_response({"ok": False, "error": "unreadable body"}, status=400)
        reply: dict[str, Any] | None
        if fast is not None:
            ack, reply = await processor.handle_fast(fast)
        else:
            ack, method = await processor.handle(update)
            reply = webhook_reply(method) if method is not None else None
        if not ack:
            return web.json_response({"ok": False, "error": "temporarily unavailable"}, status=503)
        return web.json_response(reply if reply is not None else {"ok": True})

    return handle

"""The answer path, lean: a button that answers a question, without aiogram's dispatcher and Bot models.

aiogram spends most of the bot's CPU on the answer path: validating the update into pydantic models, running
the dispatcher, building a pydantic model for each Bot API call, encoding it as a multipart form and
validating the reply into a `Message` (README, Performance). This module takes only the hottest updates of
a private chat, a button the conversation service applies or a multi-choice selection (what
`bot.telegram.routes` calls `Press` and `Toggle`: the same routing table as the aiogram router's), /start
(with a deep link or not), and a typed text that is not a command, and runs them through the same
conversation service, the same `Presenter` and the same handler code as the aiogram handlers, with:

- the update read as the dict it already is (`parse`: anything unexpected goes to aiogram instead);
- Bot API calls made as JSON with the shared aiohttp session (`LeanBot`): the reply is read for what is
  needed (a message id) and not validated into models. A refusal raises aiogram's own exception (built by
  aiogram from the reply), so the `Presenter`'s handling of 403 (unreachable) and "message not modified"
  is the same as everywhere; 429 waits as asked, and then, like 5xx and network errors, the call is made
  by aiogram with its retry policy.

Everything else (other commands, pages, settings, confirmations, operators, groups, media) goes through
aiogram.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    SendMessage,
    TelegramMethod,
)
from aiogram.types import InlineKeyboardMarkup

from bot.context import AppContext
from bot.telegram.citizens import person, press, start_action, start_command, toggle, typed_answer
from bot.telegram.presenter import Presenter, Pressed
from bot.telegram.routes import Press, Toggle, route
from flows.conversation import Start, Who

log = logging.getLogger(__name__)

_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class SentMessage:
    """What the `Presenter` reads of a sent message."""

    message_id: int


@dataclass(frozen=True)
class FastUpdate:
    update_id: int
    user_id: int
    chat_id: int
    who: Who
    action: Press | Toggle | Start | str
    """A button the service applies, a multi-choice selection, /start, or a typed text."""
    callback_id: str | None = None
    """The button's callback query (None for a message)."""
    pressed: Pressed | None = None
    """The message whose button was pressed."""
    message_id: int = 0
    """The typed message (for a text)."""


def markup_dict(markup: InlineKeyboardMarkup) -> dict[str, Any]:
    rows = []
    for row in markup.inline_keyboard:
        buttons = []
        for b in row:
            if b.callback_data is not None and b.url is None and b.model_fields_set <= {"text", "callback_data"}:
                buttons.append({"text": b.text, "callback_data": b.callback_data})
            else:  # any other kind of button: pydantic knows its fields
                buttons.append(b.model_dump(mode="json", exclude_none=True))
        rows.append(buttons)
    return {"inline_keyboard": rows}


_NOT_DONE = object()


class LeanBot:
    """The three Bot API methods the `Presenter` uses on the answer path, as plain JSON calls.

    A refusal (400, 403 and the other 4xx) raises aiogram's own exception for it, built by aiogram from the
    reply, without repeating the request; 429 waits `retry_after`, then aiogram makes the call (with its
    retry policy), as do 5xx and network errors."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.fallbacks = 0

    async def _call(self, method: str, params: dict[str, Any], build: Callable[[], TelegramMethod[Any]]) -> Any:
        """The call's `result`, or `_NOT_DONE` when aiogram should make the call instead."""
        session = self.bot.session
        try:
            # create_session is AiohttpSession's, not BaseSession's; another session's AttributeError is caught below
            http: aiohttp.ClientSession = await session.create_session()  # type: ignore[attr-defined]
            url = session.api.api_url(token=self.bot.token, method=method)
            timeout = aiohttp.ClientTimeout(total=session.timeout)
            async with http.post(url, data=json.dumps(params), headers=_JSON, timeout=timeout) as response:
                body = await response.text()
            if response.status == 200:
                data = json.loads(body)
                if data.get("ok") is True:
                    return data.get("result")
            elif response.status == 429:
                retry_after = (json.loads(body).get("parameters") or {}).get("retry_after")
                wait = retry_after if isinstance(retry_after, int) and 0 < retry_after <= 60 else 1
                log.info("Telegram asks to wait %s s before %s", wait, method)
                await asyncio.sleep(wait)
            elif 400 <= response.status < 500:  # refused: aiogram's exception, as the Presenter expects
                session.check_response(self.bot, build(), response.status, body)
        except (aiohttp.ClientError, TimeoutError, ValueError, AttributeError) as e:
            log.debug("%s failed on the lean path (%r); aiogram will retry it", method, e)
        self.fallbacks += 1
        return _NOT_DONE

    async def send_message(
        self, chat_id: int | str, text: str, reply_markup: InlineKeyboardMarkup | None = None
    ) -> SentMessage | Any:
        params: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML"}
        if reply_markup is not None:
            params["reply_markup"] = markup_dict(reply_markup)

        def build() -> SendMessage:
            return SendMessage(chat_id=chat_id, text=text, reply_markup=reply_markup)

        result = await self._call("sendMessage", params, build)
        if isinstance(result, dict) and isinstance(result.get("message_id"), int):
            return SentMessage(result["message_id"])
        return await self.bot(build())

    async def edit_message_text(self, text: str, *, chat_id: int | str, message_id: int) -> Any:
        params = {"chat_id": chat_id, "message_id": message_id, "text": text, "parse_mode": "HTML"}

        def build() -> EditMessageText:
            return EditMessageText(text=text, chat_id=chat_id, message_id=message_id)

        if await self._call("editMessageText", params, build) is _NOT_DONE:
            return await self.bot(build())
        return True

    async def edit_message_reply_markup(
        self, *, chat_id: int | str, message_id: int, reply_markup: InlineKeyboardMarkup | None = None
    ) -> Any:
        params: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id}
        if reply_markup is not None:
            params["reply_markup"] = markup_dict(reply_markup)

        def build() -> EditMessageReplyMarkup:
            return EditMessageReplyMarkup(chat_id=chat_id, message_id=message_id, reply_markup=reply_markup)

        if await self._call("editMessageReplyMarkup", params, build) is _NOT_DONE:
            return await self.bot(build())
        return True

    async def answer_callback(self, callback_id: str, text: str | None = None) -> None:
        """Stop the button's spinner when the update failed (quietly: the query may have expired)."""
        params: dict[str, Any] = {"callback_query_id": callback_id}
        if text:
            params["text"] = text
        with suppress(TelegramAPIError):
            await self._call("answerCallbackQuery", params, lambda: AnswerCallbackQuery(**params))


def _who(user: dict[str, Any], chat_id: int) -> Who:
    code = user.get("language_code")
    return person(user["id"], code if isinstance(code, str) else None, chat_id)


def _typed(update_id: int, message: Any) -> FastUpdate | None:
    """A plain text (not a command) or /start from a person in a private chat: what citizens.text and
    citizens.start handle."""
    if not isinstance(message, dict):
        return None
    text, user, chat = message.get("text"), message.get("from"), message.get("chat")
    message_id = message.get("message_id")
    if not isinstance(text, str) or not text or type(message_id) is not int:
        return None
    action: str | Start = text
    if text.lstrip().startswith("/"):  # a command: /start is one of ours (as aiogram's CommandStart reads it)
        command, *args = text.split(maxsplit=1)
        if command != "/start":
            return None
        action = start_action(args[0] if args else None)
    if not isinstance(user, dict) or type(user.get("id")) is not int or user.get("is_bot") is not False:
        return None
    if not isinstance(chat, dict) or chat.get("type") != "private" or type(chat.get("id")) is not int:
        return None
    chat_id = chat["id"]
    return FastUpdate(update_id, user["id"], chat_id, _who(user, chat_id), action, message_id=message_id)


def parse(data: Any) -> FastUpdate | None:
    """The update, if it is an answer (a button or a typed text) or a multi-choice selection in a private
    chat; None for anything else."""
    if not isinstance(data, dict) or len(data) != 2:
        return None
    update_id, query = data.get("update_id"), data.get("callback_query")
    if type(update_id) is not int:
        return None
    if query is None:
        return _typed(update_id, data.get("message"))
    if not isinstance(query, dict):
        return None
    raw, user, message = query.get("data"), query.get("from"), query.get("message")
    if not isinstance(raw, str) or not isinstance(user, dict) or not isinstance(message, dict):
        return None
    chat, callback_id, message_id = message.get("chat"), query.get("id"), message.get("message_id")
    if not isinstance(chat, dict) or chat.get("type") != "private" or type(chat.get("id")) is not int:
        return None
    if type(user.get("id")) is not int or not isinstance(callback_id, str) or type(message_id) is not int:
        return None
    found = route(raw)
    if not isinstance(found, Press | Toggle):
        return None  # anything else (or data that is not ours): aiogram's handlers
    chat_id = chat["id"]
    pressed = Pressed(message_id, message.get("text"), message.get("entities"))
    return FastUpdate(update_id, user["id"], chat_id, _who(user, chat_id), found, callback_id, pressed)


class FastLane:
    def __init__(self, app: AppContext, bot: Bot) -> None:
        self.app = app
        self.bot = LeanBot(bot)
        self.handled = 0

    async def handle(self, update: FastUpdate) -> dict[str, Any] | None:
        """What the citizens' handlers do for these updates (they share their code); a button's callback
        answer comes back as a webhook response body."""
        self.handled += 1
        if update.callback_id is None and isinstance(update.action, Start):
            await start_command(self.bot, self.app, update.who, update.chat_id, update.action, update.update_id)
            return None
        if update.callback_id is None:
            assert isinstance(update.action, str)
            await typed_answer(
                self.bot, self.app, update.who, update.chat_id, update.message_id, update.action, update.update_id
            )
            return None
        assert update.pressed is not None
        toast: str | None = None
        try:
            if isinstance(update.action, Toggle):
                toast = await toggle(
                    self.bot, self.app, update.who, update.chat_id, update.pressed.message_id, update.action.data
                )
            else:
                assert isinstance(update.action, Press)
                presenter = Presenter(self.bot, self.app, update.chat_id, update.pressed)
                try:
                    toast = await press(presenter, self.app, update.who, update.action, update.update_id)
                except Exception:
                    toast = presenter.toast
                    raise
        except Exception:
            await self.bot.answer_callback(update.callback_id, toast)  # no endless spinner
            raise
        reply: dict[str, Any] = {"method": "answerCallbackQuery", "callback_query_id": update.callback_id}
        if toast:
            reply["text"] = toast
        return reply

"""A fake Telegram Bot API server for tests: real HTTP on 127.0.0.1, the real aiogram ``Bot`` talks to it.

    async with FakeBotAPI() as fake:
        bot = fake.make_bot()
        fake.push_message(111, "/start")
        ...
        await fake.wait_messages(111, 1)
        assert "Xin chào" in fake.last_message(111).plain_text
        await bot.session.close()

What it models (closely enough for aiogram to parse every answer into its types):

* the ``/bot{token}/{method}`` and ``/file/bot{token}/{path}`` endpoints, GET or POST, with multipart/form-data
  (nested objects arrive as JSON strings), urlencoded, JSON or query-string parameters, and the exact Bot API
  envelope ``{"ok": ..., "result" | "error_code", "description", "parameters"}``;
* a single bot (any token works except the revoked ones, which get 401); per-chat message ids shared by the
  bot's and the users' messages; Telegram's error texts for the mistakes a bot makes in practice;
* updates pushed by simulated users, delivered by getUpdates long polling or by webhook (retries until a 2xx,
  ``max_connections`` concurrent requests, one at a time per chat, the secret token header, and methods
  answered in the webhook response body are executed);
* recording (calls, messages, edits, callback answers, send times) and fault injection.

Simplifications: one bot state shared by every token; no inline mode, payments, media groups, stickers,
forums or MarkdownV2/Markdown validation (those texts are stored as sent, without entities); getChat and
friends invent plausible chats for ids they have not seen; webhooks may be plain http.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import itertools
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, NamedTuple

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

__all__ = [
    "Call",
    "CallbackAnswer",
    "Delivery",
    "EntityParseError",
    "FakeBotAPI",
    "SendRecord",
    "StoredMessage",
    "UploadedFile",
    "parse_html",
]

# --------------------------------------------------------------------------------------------------------------
# Telegram-flavoured HTML, mirroring tdlib's parse_html (what the Bot API runs for parse_mode=HTML).
# parse_html(text) returns the visible text and its entities (offsets in UTF-16 code units, as in the Bot API)
# or raises EntityParseError with the words Telegram puts after "can't parse entities: ".
# --------------------------------------------------------------------------------------------------------------

ALLOWED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "pre",
        "code",
        "blockquote",
    }
)
_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# tdlib's is_space(); "\0" doubles as the end-of-text marker there, as it does here.
_SPACES = frozenset(" \t\r\n\0\v")
_TRIM = " \t\r\n\v\f"


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; str(error) is Telegram's description of the problem."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(text: str, pos: int) -> tuple[str | None, int]:
    """Decode the character reference starting at text[pos] == '&' (the ';' is optional, like tdlib)."""
    n = len(text)
    end = pos + 1
    code = 0
    if end < n and text[end] == "#":
        end += 1
        if end < n and text[end] == "x":
            end += 1
            while end < n and text[end] in "0123456789abcdefABCDEF":
                code = code * 16 + int(text[end], 16)
                end += 1
                if code >= 0x10FFFF:
                    return None, pos
        else:
            while end < n and text[end].isascii() and text[end].isdigit():
                code = code * 10 + int(text[end])
                end += 1
                if code >= 0x10FFFF:
                    return None, pos
        if code == 0 or end - pos >= 10 or 0xD800 <= code <= 0xDFFF:
            return None, pos
        char = chr(code)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(text[pos + 1 : end])
        if named is None:
            return None, pos
        char = named
    if end < n and text[end] == ";":
        end += 1
    return char, end


def _decode_attribute(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            char, j = _decode_entity(value, i)
            if char is not None:
                out.append(char)
                i = j
                continue
        out.append(value[i])
        i += 1
    return "".join(out)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Return (visible text, entities) for ``text`` sent with parse_mode=HTML, or raise EntityParseError."""
    n = len(text)

    def at(i: int) -> str:
        return text[i] if i < n else "\0"

    def byte_offset(i: int) -> int:
        return len(text[:i].encode("utf-8"))

    out: list[str] = []
    offset = 0  # UTF-16 offset in the visible text
    stack: list[tuple[str, str, int, bool]] = []  # tag, argument, start offset, expandable
    entities: list[dict[str, Any]] = []
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            char, j = _decode_entity(text, i)
            if char is not None:
                out.append(char)
                offset += utf16_len(char)
                i = j
                continue
        if c != "<":
            out.append(c)
            offset += utf16_len(c)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != "/":
            while at(i) not in _SPACES and at(i) != ">":
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in ALLOWED_TAGS:
                raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}')
            argument = ""
            expandable = False
            while at(i) != ">":
                while i < n and at(i) in _SPACES:
                    i += 1
                if at(i) == ">":
                    break
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                name_begin = i
                while at(i) not in _SPACES and at(i) not in "=>":
                    i += 1
                name = text[name_begin:i].lower()
                if not name:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {byte_offset(begin)}'
                    )
                while i < n and at(i) in _SPACES:
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and name == "expandable":
                        expandable = True
                        continue
                    raise EntityParseError(
                        f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                        f"at byte offset {byte_offset(begin)}"
                    )
                i += 1
                while i < n and at(i) in _SPACES:
                    i += 1
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                if at(i) not in "'\"":
                    token_begin = i
                    while (at(i).isascii() and at(i).isalnum()) or at(i) in ".-":
                        i += 1
                    value = text[token_begin:i].lower()
                    if at(i) not in _SPACES and at(i) != ">":
                        raise EntityParseError(f"Unexpected end of name token at byte offset {byte_offset(i)}")
                else:
                    quote = at(i)
                    end = text.find(quote, i + 1)
                    if end == -1:
                        raise EntityParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                    value = _decode_attribute(text[i + 1 : end])
                    i = end + 1
                if tag == "a" and name == "href":
                    argument = value
                elif tag == "code" and name == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and name == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and name == "emoji-id":
                    argument = value
            if tag == "span" and argument != "spoiler":
                raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}')
            if tag == "tg-emoji" and not (argument.isdigit() and int(argument) > 0):
                raise EntityParseError("Invalid custom emoji identifier specified")
            stack.append((tag, argument, offset, expandable))
            i += 1  # the '>'
        else:
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
            i += 1
            name_begin = i
            while at(i) not in _SPACES and at(i) != ">":
                i += 1
            end_tag = text[name_begin:i].lower()
            while i < n and at(i) in _SPACES:
                i += 1
            if at(i) != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            tag, argument, start, expandable = stack[-1]
            if end_tag and end_tag != tag:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {byte_offset(begin)}, expected "</{tag}>", found "</{end_tag}>"'
                )
            stack.pop()
            i += 1
            length = offset - start
            if length > 0:
                entity = _make_entity(tag, argument, start, length, expandable, "".join(out))
                if entity is not None:
                    entities.append(entity)
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return _finish("".join(out), entities)


def _make_entity(
    tag: str, argument: str, offset: int, length: int, expandable: bool, visible: str
) -> dict[str, Any] | None:
    entity: dict[str, Any] = {"offset": offset, "length": length}
    if tag == "a":
        url = argument or _utf16_slice(visible, offset, length)
        if not url or not any(url.lower().startswith(p) for p in ("http://", "https://", "tg://", "mailto:")):
            return None
        entity.update(type="text_link", url=url)
    elif tag == "blockquote":
        entity["type"] = "expandable_blockquote" if expandable else "blockquote"
    elif tag == "tg-emoji":
        entity.update(type="custom_emoji", custom_emoji_id=argument)
    else:
        entity["type"] = _ENTITY_TYPES[tag]
        if tag == "code" and argument:
            entity["language"] = argument  # only kept when merged into an enclosing <pre>
    return entity


def _utf16_slice(text: str, offset: int, length: int) -> str:
    raw = text.encode("utf-16-le")
    return raw[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")


def _finish(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    # <pre><code class="language-x">...</code></pre> is one "pre" entity with a language.
    merged: list[dict[str, Any]] = []
    for entity in entities:
        if entity["type"] == "code":
            pre = next(
                (
                    e
                    for e in entities
                    if e["type"] == "pre" and e["offset"] == entity["offset"] and e["length"] == entity["length"]
                ),
                None,
            )
            if pre is not None:
                if "language" in entity:
                    pre["language"] = entity["language"]
                continue
            entity.pop("language", None)
        merged.append(entity)
    # Telegram trims leading and trailing white space from the text and moves the entities accordingly.
    stripped_left = text.lstrip(_TRIM)
    left = utf16_len(text) - utf16_len(stripped_left)
    stripped = stripped_left.rstrip(_TRIM)
    total = utf16_len(stripped)
    result: list[dict[str, Any]] = []
    for entity in merged:
        start = max(entity["offset"] - left, 0)
        end = min(entity["offset"] + entity["length"] - left, total)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    result.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, result


# --------------------------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------------------------

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
DEFAULT_BOT_ID = 123456
SEND_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument"})
# Values of these parameters are plain strings even when they look like JSON ("123", "true").
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "url",
        "secret_token",
        "callback_query_id",
        "data",
        "description",
        "short_description",
        "name",
        "language_code",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "ip_address",
        "file_id",
        "photo",
        "document",
        "action",
        "title",
        "custom_title",
        "emoji",
    }
)
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_MESSAGE_KEYS = ("message", "edited_message", "channel_post", "edited_channel_post", "business_message")


class Call(NamedTuple):
    """One request the bot made: method as it appeared in the URL, decoded parameters, time.monotonic()."""

    method: str
    params: dict[str, Any]
    time: float


class SendRecord(NamedTuple):
    """One successful sendMessage/sendPhoto/sendDocument, for rate accounting."""

    time: float
    chat_id: int
    is_group: bool
    method: str
    message_id: int


class Delivery(NamedTuple):
    """One webhook delivery attempt: HTTP status (None on a connection error or timeout) and error text."""

    update_id: int
    attempt: int
    status: int | None
    error: str | None
    time: float


@dataclass(frozen=True)
class UploadedFile:
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class CallbackAnswer:
    text: str | None
    show_alert: bool
    url: str | None = None
    cache_time: int | None = None


@dataclass(frozen=True)
class StoredMessage:
    """A message the bot sent, as it currently stands (edits replace the object; ``fake.sent`` keeps originals).

    ``text``/``caption`` are exactly what the bot sent (HTML tags and all); ``plain_text``/``plain_caption``
    are what the user sees after entity parsing, with ``entities``/``caption_entities``.
    """

    chat_id: int
    message_id: int
    date: int
    kind: str  # "text", "photo" or "document"
    text: str | None = None
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    plain_text: str | None = None
    entities: tuple[dict[str, Any], ...] = ()
    caption: str | None = None
    plain_caption: str | None = None
    caption_entities: tuple[dict[str, Any], ...] = ()
    photo: bytes | None = None
    document: bytes | None = None
    file_name: str | None = None
    mime_type: str | None = None
    file_id: str | None = None
    edit_date: int | None = None
    edit_count: int = 0

    @property
    def visible_text(self) -> str:
        """The text or caption as the user sees it ("" if none)."""
        return (self.plain_text if self.kind == "text" else self.plain_caption) or ""


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    path: str
    data: bytes | None
    file_name: str | None
    mime_type: str | None
    url: str | None = None


@dataclass
class _Fault:
    method: str
    status: int
    remaining: int
    description: str
    retry_after: int | None
    chat_id: int | None
    migrate_to_chat_id: int | None = None


class AttrDict(dict[str, Any]):
    """A dict whose keys can also be read as attributes (``fake.bot_user.id`` or ``fake.bot_user["id"]``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class ApiError(Exception):
    def __init__(
        self, status: int, description: str, *, retry_after: int | None = None, migrate_to_chat_id: int | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        parameters: dict[str, Any] = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        if parameters:
            body["parameters"] = parameters
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class _Signal:
    """Wakes every waiter at once; take ``current()`` before checking state to never miss a fire."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        return self._event

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()


async def _wait_event(event: asyncio.Event, timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), max(timeout, 0))


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value)
    return None


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return bool(value)


def _is_group(chat_id: int) -> bool:
    return chat_id < 0


def _update_type(update: Mapping[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


def _chat_key(update: Mapping[str, Any]) -> int | str:
    """The chat an update belongs to (private chat id == user id), for in-order webhook delivery."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, Mapping):
            continue
        chat = value.get("chat")
        if chat is None and isinstance(value.get("message"), Mapping):
            chat = value["message"].get("chat")
        if isinstance(chat, Mapping) and "id" in chat:
            return int(chat["id"])
        user = value.get("from") or value.get("user")
        if isinstance(user, Mapping) and "id" in user:
            return int(user["id"])
    return f"update:{update.get('update_id')}"


def _image_ok(data: bytes) -> bool:
    return (
        data.startswith(b"\x89PNG\r\n\x1a\n")
        or data.startswith(b"\xff\xd8\xff")
        or data[:6] in (b"GIF87a", b"GIF89a")
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
        or data.startswith(b"BM")
    )


def _inline_rows(markup: Mapping[str, Any] | None) -> list[list[Any]]:
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [row for row in rows if isinstance(row, list)]


def _normalized_inline(markup: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The inline keyboard as Telegram keeps it on a message (reply keyboards are not part of a message)."""
    if not markup or not markup.get("inline_keyboard"):
        return None
    rows = [row for row in markup["inline_keyboard"] if row]
    return {"inline_keyboard": rows} if rows else None


# --------------------------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------------------------


class FakeBotAPI:
    """A Telegram Bot API test double served over real HTTP on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        *,
        port: int = 0,
        bot_id: int = DEFAULT_BOT_ID,
        bot_username: str = "khaosat_test_bot",
        bot_first_name: str = "Khảo sát (test)",
        revoked_tokens: Iterable[str] = (),
        webhook_timeout: float = 10.0,
        webhook_retry_delay: float = 0.05,
        enforce_limits: bool = False,
        global_per_sec: int = 30,
        per_chat_per_sec: int = 1,
        per_group_per_min: int = 20,
        validate_images: bool = True,
    ) -> None:
        self._port = port
        self.bot_user: AttrDict = AttrDict(
            {
                "id": bot_id,
                "is_bot": True,
                "first_name": bot_first_name,
                "username": bot_username,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        )
        self.revoked_tokens: set[str] = set(revoked_tokens)
        self.webhook_timeout = webhook_timeout
        self.webhook_retry_delay = webhook_retry_delay
        self.enforce_limits = enforce_limits
        self.global_per_sec = global_per_sec
        self.per_chat_per_sec = per_chat_per_sec
        self.per_group_per_min = per_group_per_min
        self.validate_images = validate_images

        # recording
        self.calls: list[Call] = []
        self.errors: list[tuple[str, dict[str, Any], int, str]] = []  # method, params, status, description
        self.sent: list[StoredMessage] = []
        self.edits: list[StoredMessage] = []
        self.deleted: list[tuple[int, int]] = []
        self.send_log: list[SendRecord] = []
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.callback_ids: dict[int, str] = {}  # update id -> callback query id
        self.updates: list[dict[str, Any]] = []  # every pushed update, in order
        self.acknowledged: set[int] = set()
        self.confirmed: set[int] = set()
        self.dropped: set[int] = set()
        self.delivery_attempts: Counter[int] = Counter()
        self.deliveries: list[Delivery] = []
        self.left_chats: set[int] = set()
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.bot_settings: dict[str, dict[str, str]] = {}  # setMyName/Description/ShortDescription by language

        # state
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._members: dict[tuple[int, int], str] = {}
        self._message_seq: dict[int, int] = {}
        self._messages: dict[int, dict[int, StoredMessage]] = {}
        self._incoming: dict[int, dict[int, dict[str, Any]]] = {}
        self._commands: dict[tuple[str, int | None, int | None, str], list[dict[str, str]]] = {}
        self._files: dict[str, _StoredFile] = {}
        self._file_paths: dict[str, str] = {}
        self._file_seq = itertools.count(1)
        self._update_seq = itertools.count(1000)
        self._callback_seq = itertools.count(1)
        self._open_callbacks: dict[str, int] = {}
        self._pending: dict[int, dict[str, Any]] = {}
        self._allowed_updates: list[str] | None = None
        self._signal = _Signal()
        self._poll_generation = 0
        self._inflight = 0

        # webhook
        self._webhook: dict[str, Any] | None = None
        self._webhook_generation = 0
        self._webhook_loop: asyncio.Task[None] | None = None
        self._delivery_tasks: set[asyncio.Task[None]] = set()
        self._last_webhook_error: tuple[int, str] | None = None

        # faults
        self._faults: list[_Fault] = []
        self._blocked: dict[int, str] = {}
        self._delays: dict[str, float] = {}
        self._holds: dict[str, asyncio.Event] = {}

        # server
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._closing = False
        self.base_url = ""
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getme": self._get_me,
            "logout": self._ok,
            "close": self._ok,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "sendchataction": self._send_chat_action,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "setchatmenubutton": self._set_chat_menu_button,
            "getchatmenubutton": self._get_chat_menu_button,
            "setmyname": self._set_bot_setting("name"),
            "setmydescription": self._set_bot_setting("description"),
            "setmyshortdescription": self._set_bot_setting("short_description"),
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "getchatadministrators": self._get_chat_administrators,
            "leavechat": self._leave_chat,
            "getfile": self._get_file,
        }

    # ----------------------------------------------------------------------------------------------------------
    # lifecycle
    # ----------------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown_path)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._client = aiohttp.ClientSession()
        self._closing = False

    async def stop(self) -> None:
        self._closing = True
        self._signal.fire()
        await self._stop_webhook()
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def make_bot(self, token: str = f"{DEFAULT_BOT_ID}:TEST", **kwargs: Any) -> Bot:
        """A real aiogram Bot whose session talks to this fake (the caller closes ``bot.session``)."""
        session = _LocalSession(api=TelegramAPIServer.from_base(self.base_url))
        return Bot(token=token, session=session, **kwargs)

    # ----------------------------------------------------------------------------------------------------------
    # simulated users
    # ----------------------------------------------------------------------------------------------------------

    def add_chat(
        self, chat_id: int, chat_type: str | None = None, *, title: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """Register (or update) a chat; ids < 0 are groups, <= -10**12 supergroups, like Telegram."""
        if chat_type is None:
            chat_type = "private" if chat_id > 0 else ("supergroup" if chat_id <= -(10**12) else "group")
        if (chat_type == "private") != (chat_id > 0):
            raise ValueError(f"chat {chat_id}: private chats have positive ids and groups negative ones")
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            user = self._users.get(chat_id, {})
            chat["first_name"] = user.get("first_name", "Test")
            for key in ("last_name", "username"):
                if user.get(key):
                    chat[key] = user[key]
        else:
            chat["title"] = title or self._chats.get(chat_id, {}).get("title") or f"Test {chat_type} {-chat_id}"
        chat.update(extra)
        self._chats[chat_id] = chat
        return dict(chat)

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """getChatMember's answer for (chat, user): creator, administrator, member, restricted, left or kicked."""
        if status not in ("creator", "administrator", "member", "restricted", "left", "kicked"):
            raise ValueError(f"unknown chat member status {status!r}")
        self._members[(chat_id, user_id)] = status

    def _register_user(
        self,
        user_id: int,
        first_name: str | None,
        language_code: str | None,
        last_name: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        user = dict(self._users.get(user_id, {"id": user_id, "is_bot": False, "first_name": "Test"}))
        if first_name is not None:
            user["first_name"] = first_name
        for key, value in (("last_name", last_name), ("username", username), ("language_code", language_code)):
            if value is not None:
                user[key] = value
        self._users[user_id] = user
        return dict(user)

    def _next_message_id(self, chat_id: int) -> int:
        self._message_seq[chat_id] = self._message_seq.get(chat_id, 0) + 1
        return self._message_seq[chat_id]

    def push_message(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Test",
        language_code: str | None = "vi",
        last_name: str | None = None,
        username: str | None = None,
        chat_title: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> int:
        """A user sends ``text``; returns the update id. For groups pass chat_id (< 0) and chat_type."""
        if chat_id is None:
            if chat_type != "private":
                raise ValueError("pass chat_id for group messages")
            chat_id = user_id
        if chat_type == "private" and chat_id != user_id:
            raise ValueError("in a private chat, chat_id is the user's id")
        user = self._register_user(user_id, first_name, language_code, last_name, username)
        chat = self.add_chat(chat_id, chat_type, title=chat_title)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0] if text.strip() else text
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        if extra:
            message.update(copy.deepcopy(dict(extra)))
        self._incoming.setdefault(chat_id, {})[message["message_id"]] = message
        return self._enqueue({"message": message})

    def push_callback(
        self,
        user_id: int,
        data: str,
        message_id: int,
        *,
        chat_id: int | None = None,
        first_name: str = "Test",
        language_code: str | None = "vi",
        check_button: bool = False,
    ) -> int:
        """The user presses an inline button carrying ``data`` under the bot's message ``message_id``.

        The callback's ``message`` is the stored message as it currently is (an InaccessibleMessage if it was
        deleted). With ``check_button`` a ValueError is raised when that message has no button with this data
        (off by default: a stale keyboard, e.g. a double tap racing an edit, still sends the old data).
        """
        chat_id = user_id if chat_id is None else chat_id
        user = self._register_user(user_id, first_name, language_code)
        stored = self._messages.get(chat_id, {}).get(message_id)
        message: dict[str, Any]
        if stored is not None:
            message = self._message_json(stored)
            datas = [value for _, value in self.buttons(stored)]
            if check_button and data not in datas:
                raise ValueError(
                    f"message {message_id} in chat {chat_id} has no button with callback_data {data!r} "
                    f"(buttons: {self.buttons(stored)})"
                )
        else:
            message = {"chat": self._chat_obj(chat_id), "message_id": message_id, "date": 0}
        query_id = str(4_000_000_000_000_000_000 + next(self._callback_seq))
        callback = {
            "id": query_id,
            "from": user,
            "chat_instance": str(-(abs(chat_id) * 7919 + 17)),
            "message": message,
            "data": data,
        }
        update_id = self._enqueue({"callback_query": callback})
        self._open_callbacks[query_id] = update_id
        self.callback_ids[update_id] = query_id
        return update_id

    def push_button(self, user_id: int, message: StoredMessage, text: str) -> int:
        """Press the inline button labelled ``text`` on ``message`` (a stored bot message)."""
        for label, value in self.buttons(message):
            if label == text and value is not None:
                return self.push_callback(user_id, value, message.message_id, chat_id=message.chat_id)
        raise ValueError(f"no callback button {text!r} on message {message.message_id}: {self.buttons(message)}")

    def push_raw(self, update: Mapping[str, Any]) -> int:
        """Push any update (without update_id); message-like parts get a message_id and date if missing."""
        body = copy.deepcopy(dict(update))
        body.pop("update_id", None)
        for key in _MESSAGE_KEYS:
            message = body.get(key)
            if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
                continue
            chat_id = int(message["chat"]["id"])
            message.setdefault("date", int(time.time()))
            if "message_id" not in message:
                message["message_id"] = self._next_message_id(chat_id)
            else:
                self._message_seq[chat_id] = max(self._message_seq.get(chat_id, 0), int(message["message_id"]))
            if chat_id not in self._chats:
                self._chats[chat_id] = dict(message["chat"])
            if key == "message":
                self._incoming.setdefault(chat_id, {})[message["message_id"]] = message
        return self._enqueue(body)

    def push_blocked(self, user_id: int, blocked: bool = True) -> int:
        """The user blocks (or unblocks) the bot: sends then answer 403 (or work again), and the bot gets the
        my_chat_member update Telegram sends (member -> kicked, or back)."""
        if blocked:
            self.block(user_id)
        else:
            self.unblock(user_id)
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        bot = self._bot_sender()
        new_member: dict[str, Any] = {"status": new, "user": bot}
        old_member: dict[str, Any] = {"status": old, "user": bot}
        for member in (new_member, old_member):
            if member["status"] == "kicked":
                member["until_date"] = 0
        return self._enqueue(
            {
                "my_chat_member": {
                    "chat": self._chat_obj(user_id),
                    "from": self._user_obj(user_id),
                    "date": int(time.time()),
                    "old_chat_member": old_member,
                    "new_chat_member": new_member,
                }
            }
        )

    def _enqueue(self, body: dict[str, Any]) -> int:
        update_id = next(self._update_seq)
        update = {"update_id": update_id, **body}
        self.updates.append(update)
        self._pending[update_id] = update
        self._signal.fire()
        return update_id

    def callback_answer(self, update_id: int) -> CallbackAnswer | None:
        """The answerCallbackQuery given to the callback pushed as ``update_id``, if any."""
        return self.callback_answers.get(self.callback_ids.get(update_id, ""))

    # ----------------------------------------------------------------------------------------------------------
    # inspection
    # ----------------------------------------------------------------------------------------------------------

    def messages(self, chat_id: int) -> list[StoredMessage]:
        """The bot's messages currently in the chat (after edits and deletions), oldest first."""
        return sorted(self._messages.get(chat_id, {}).values(), key=lambda m: m.message_id)

    def incoming(self, chat_id: int) -> list[dict[str, Any]]:
        """The users' messages (pushed updates) still in the chat, oldest first."""
        return [self._incoming[chat_id][k] for k in sorted(self._incoming.get(chat_id, {}))]

    def last_message(self, chat_id: int) -> StoredMessage:
        messages = self.messages(chat_id)
        if not messages:
            raise AssertionError(f"the bot has no message in chat {chat_id}; {self._describe()}")
        return messages[-1]

    def message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        return self._messages.get(chat_id, {}).get(message_id)

    @staticmethod
    def buttons(message: StoredMessage | Mapping[str, Any] | None) -> list[tuple[str, str | None]]:
        """Flat list of (text, callback_data or url) of a message's keyboard (reply keyboards give (text, None))."""
        if message is None:
            return []
        markup = message.reply_markup if isinstance(message, StoredMessage) else message.get("reply_markup", message)
        result: list[tuple[str, str | None]] = []
        for row in _inline_rows(markup if isinstance(markup, Mapping) else None):
            for button in row:
                if isinstance(button, str):
                    result.append((button, None))
                elif isinstance(button, Mapping):
                    value = button.get("callback_data", button.get("url"))
                    result.append((str(button.get("text", "")), None if value is None else str(value)))
        return result

    def calls_of(self, method: str) -> list[Call]:
        name = method.lower()
        return [call for call in self.calls if call.method.lower() == name]

    def commands(
        self,
        scope_type: str = "default",
        *,
        chat_id: int | None = None,
        user_id: int | None = None,
        language_code: str = "",
    ) -> list[tuple[str, str]]:
        """The (command, description) list set for exactly this scope and language ([] if none)."""
        key = (scope_type, chat_id, user_id, language_code)
        return [(c["command"], c["description"]) for c in self._commands.get(key, [])]

    def visible_commands(self, chat_id: int, user_id: int | None = None, language_code: str = "") -> list[str]:
        """The commands a user sees in the menu of ``chat_id``, resolved through the scopes like Telegram does."""
        if chat_id > 0:
            scopes: list[tuple[str, int | None, int | None]] = [
                ("chat", chat_id, None),
                ("all_private_chats", None, None),
                ("default", None, None),
            ]
        else:
            is_admin = user_id is not None and self._members.get((chat_id, user_id)) in ("creator", "administrator")
            scopes = [("chat_member", chat_id, user_id)] if user_id is not None else []
            if is_admin:
                scopes.append(("chat_administrators", chat_id, None))
            scopes.append(("chat", chat_id, None))
            if is_admin:
                scopes.append(("all_chat_administrators", None, None))
            scopes += [("all_group_chats", None, None), ("default", None, None)]
        for scope_type, scope_chat, scope_user in scopes:
            for language in dict.fromkeys([language_code, ""]):
                commands = self._commands.get((scope_type, scope_chat, scope_user, language))
                if commands:
                    return [c["command"] for c in commands]
        return []

    def pending_updates(self) -> list[dict[str, Any]]:
        return list(self._pending.values())

    @property
    def webhook_url(self) -> str:
        return self._webhook["url"] if self._webhook else ""

    def send_times(self, chat_id: int | None = None) -> list[float]:
        """time.monotonic() of every successful send (optionally to one chat), in order."""
        return [r.time for r in self.send_log if chat_id is None or r.chat_id == chat_id]

    def send_rate(self, chat_id: int | None = None) -> float:
        """Successful sends per second between the first and the last one (0.0 with fewer than two)."""
        times = self.send_times(chat_id)
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    def peak_sends(self, window: float = 1.0, chat_id: int | None = None) -> int:
        """The most successful sends (optionally to one chat) in any window [t, t + window)."""
        times = sorted(self.send_times(chat_id))
        peak, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= window:
                start += 1
            peak = max(peak, end - start + 1)
        return peak

    def rate_violations(
        self, global_per_sec: int = 30, per_chat_per_sec: int = 1, per_group_per_min: int = 20
    ) -> list[str]:
        """Sliding-window check of the sends against Telegram's limits; [] when the sender behaved.

        A window [t, t + 1 s) may hold at most ``global_per_sec`` sends overall and ``per_chat_per_sec`` to one
        private chat; a window [t, t + 60 s) at most ``per_group_per_min`` to one group.
        """
        if not self.send_log:
            return []
        t0 = self.send_log[0].time
        violations = _window_violations([r.time for r in self.send_log], 1.0, global_per_sec, "all chats", t0)
        by_chat: dict[int, list[float]] = {}
        for record in self.send_log:
            by_chat.setdefault(record.chat_id, []).append(record.time)
        for chat_id, times in by_chat.items():
            if _is_group(chat_id):
                violations += _window_violations(times, 60.0, per_group_per_min, f"group {chat_id}", t0)
            else:
                violations += _window_violations(times, 1.0, per_chat_per_sec, f"private chat {chat_id}", t0)
        return violations

    def _describe(self) -> str:
        chats = {chat: len(messages) for chat, messages in self._messages.items()}
        recent = [f"{c.method}({_short(c.params)})" for c in self.calls[-8:]]
        errors = [f"{m}: {status} {desc}" for m, _, status, desc in self.errors[-5:]]
        return (
            f"bot messages per chat: {chats}; pending updates: {list(self._pending)}; "
            f"last calls: {recent}; last errors: {errors}"
        )

    # ----------------------------------------------------------------------------------------------------------
    # waiting
    # ----------------------------------------------------------------------------------------------------------

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 5, *, interval: float = 0.01, message: str = ""
    ) -> Any:
        """Poll ``predicate`` (sync or async) until it returns something truthy, which is returned."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            if time.monotonic() >= deadline:
                name = message or getattr(predicate, "__qualname__", repr(predicate))
                raise AssertionError(f"timed out after {timeout}s waiting for {name}; {self._describe()}")
            await asyncio.sleep(interval)

    async def wait_messages(self, chat_id: int, count: int, timeout: float = 5) -> list[StoredMessage]:
        """Wait until the bot has at least ``count`` messages in the chat; returns them."""
        await self.wait_for(
            lambda: len(self.messages(chat_id)) >= count,
            timeout,
            message=f"{count} bot message(s) in chat {chat_id} (have {len(self.messages(chat_id))})",
        )
        return self.messages(chat_id)

    async def wait_idle(self, timeout: float = 5, *, quiet: float = 0.1) -> None:
        """Wait until every pushed update is acknowledged (webhook) or confirmed (polling) and no request is in
        flight, continuously for ``quiet`` seconds (the bot may still be working on the last update when it
        confirms it; prefer waiting for the expected effect when there is one)."""
        deadline = time.monotonic() + timeout
        idle_since: float | None = None
        while True:
            now = time.monotonic()
            if not self._pending and self._inflight == 0:
                idle_since = idle_since if idle_since is not None else now
                if now - idle_since >= quiet:
                    return
            else:
                idle_since = None
            if now >= deadline:
                raise AssertionError(
                    f"not idle after {timeout}s: {self._inflight} request(s) in flight; {self._describe()}"
                )
            await asyncio.sleep(0.01)

    # ----------------------------------------------------------------------------------------------------------
    # fault injection
    # ----------------------------------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int,
        count: int = 1,
        *,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """The next ``count`` calls of ``method`` (to ``chat_id`` only, if given) fail with ``status``.

        ``migrate_to_chat_id`` answers as Telegram does for a group that became a supergroup (400 with
        ``parameters.migrate_to_chat_id``; pass status 400)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            elif migrate_to_chat_id is not None:
                description = "Bad Request: group chat was upgraded to a supergroup chat"
            else:
                description = _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
        self._faults.append(
            _Fault(method.lower(), status, count, description, retry_after, chat_id, migrate_to_chat_id)
        )

    def block(self, chat_id: int, description: str | None = None) -> None:
        """Every send (and edit) to the chat answers 403, as when the user blocked the bot."""
        if description is None:
            if chat_id > 0:
                description = "Forbidden: bot was blocked by the user"
            else:
                kind = "supergroup" if chat_id <= -(10**12) else "group"
                description = f"Forbidden: bot was kicked from the {kind} chat"
        self._blocked[chat_id] = description

    def unblock(self, chat_id: int) -> None:
        self._blocked.pop(chat_id, None)

    def delay(self, method: str, seconds: float) -> None:
        """Every call of ``method`` waits ``seconds`` before being handled (0 removes the delay)."""
        if seconds > 0:
            self._delays[method.lower()] = seconds
        else:
            self._delays.pop(method.lower(), None)

    def hold(self, method: str) -> None:
        """Calls of ``method`` are recorded, then wait until ``release(method)`` before being handled."""
        self._holds.setdefault(method.lower(), asyncio.Event())

    def release(self, method: str) -> None:
        """Let the held calls of ``method`` (and later ones) through."""
        event = self._holds.pop(method.lower(), None)
        if event is not None:
            event.set()

    def revoke(self, token: str) -> None:
        self.revoked_tokens.add(token)

    def reset_faults(self) -> None:
        self._faults.clear()
        self._blocked.clear()
        self._delays.clear()
        for method in list(self._holds):
            self.release(method)

    # ----------------------------------------------------------------------------------------------------------
    # HTTP
    # ----------------------------------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        counted = method.lower() != "getupdates"
        if counted:
            self._inflight += 1
        try:
            try:
                params = await _read_params(request)
            except ApiError as error:
                return web.json_response(error.payload(), status=error.status)
            status, payload = await self._process(token, method, params)
            return web.json_response(payload, status=status)
        finally:
            if counted:
                self._inflight -= 1

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] in self.revoked_tokens:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        stored = self._files.get(self._file_paths.get(request.match_info["path"], ""))
        if stored is None or stored.data is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")

    async def _handle_unknown_path(self, request: web.Request) -> web.Response:
        return web.json_response(ApiError(404, "Not Found").payload(), status=404)

    async def _process(self, token: str | None, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        name = method.lower()
        self.calls.append(Call(method, params, time.monotonic()))
        try:
            if token is not None and token in self.revoked_tokens:
                raise ApiError(401, "Unauthorized")
            handler = self._handlers.get(name)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            if name in self._delays:
                await asyncio.sleep(self._delays[name])
            if name in self._holds:
                await self._holds[name].wait()
            self._check_faults(name, params)
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
            payload = {"ok": True, "result": result}
            if isinstance(result, _Described):
                payload = {"ok": True, "result": result.value, "description": result.description}
            return 200, payload
        except ApiError as error:
            self.errors.append((method, params, error.status, error.description))
            return error.status, error.payload()

    def _check_faults(self, name: str, params: Mapping[str, Any]) -> None:
        chat_id = _as_int(params.get("chat_id"))
        for fault in self._faults:
            if fault.method == name and fault.remaining > 0 and fault.chat_id in (None, chat_id):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                raise ApiError(
                    fault.status,
                    fault.description,
                    retry_after=fault.retry_after,
                    migrate_to_chat_id=fault.migrate_to_chat_id,
                )
        if chat_id is not None and (name.startswith(("send", "edit")) or name in ("copymessage", "forwardmessage")):
            if chat_id in self._blocked:
                raise ApiError(403, self._blocked[chat_id])
            if chat_id in self.left_chats and name != "sendchataction":
                kind = "supergroup" if chat_id <= -(10**12) else "group"
                raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")

    # ----------------------------------------------------------------------------------------------------------
    # objects
    # ----------------------------------------------------------------------------------------------------------

    def _bot_sender(self) -> dict[str, Any]:
        return {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")}

    def _chat_obj(self, chat_id: int) -> dict[str, Any]:
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        return self.add_chat(chat_id)

    def _user_obj(self, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_user["id"]:
            return self._bot_sender()
        return dict(self._users.get(user_id, {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}))

    def _message_json(self, message: StoredMessage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self._bot_sender(),
            "chat": self._chat_obj(message.chat_id),
            "date": message.date,
        }
        if message.edit_date is not None:
            body["edit_date"] = message.edit_date
        if message.kind == "text":
            body["text"] = message.plain_text
            if message.entities:
                body["entities"] = [dict(e) for e in message.entities]
        else:
            stored = self._files[message.file_id or ""]
            size = len(stored.data) if stored.data is not None else 0
            if message.kind == "photo":
                body["photo"] = [
                    {
                        "file_id": stored.file_id,
                        "file_unique_id": stored.file_unique_id,
                        "width": 800,
                        "height": 800,
                        "file_size": size,
                    }
                ]
            else:
                document: dict[str, Any] = {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": size,
                }
                if stored.file_name:
                    document["file_name"] = stored.file_name
                if stored.mime_type:
                    document["mime_type"] = stored.mime_type
                body["document"] = document
            if message.plain_caption:
                body["caption"] = message.plain_caption
                if message.caption_entities:
                    body["caption_entities"] = [dict(e) for e in message.caption_entities]
        markup = _normalized_inline(message.reply_markup)
        if markup is not None:
            body["reply_markup"] = markup
        return body

    def _chat_id(self, params: Mapping[str, Any], name: str = "chat_id") -> int:
        value = params.get(name)
        if value is None or value == "":
            raise _bad(f"{name} is empty")
        chat_id = _as_int(value)
        if chat_id is None or chat_id == 0:
            raise _bad("chat not found")
        return chat_id

    def _message_id(self, params: Mapping[str, Any]) -> int:
        message_id = _as_int(params.get("message_id"))
        if message_id is None:
            raise _bad("message identifier is not specified")
        return message_id

    @staticmethod
    def _render(text: str, parse_mode: Any, entities: Any) -> tuple[str, tuple[dict[str, Any], ...]]:
        mode = str(parse_mode or "").lower()
        if mode == "html":
            try:
                plain, parsed = parse_html(text)
            except EntityParseError as error:
                raise _bad(f"can't parse entities: {error}") from None
            return plain, tuple(parsed)
        if mode in ("markdown", "markdownv2"):
            return text.strip(), ()
        if mode:
            raise _bad("unsupported parse_mode")
        if entities is not None and not isinstance(entities, list):
            raise _bad("can't parse entities JSON object")
        return text.strip(), tuple(entities or ())

    def _check_markup(self, value: Any) -> dict[str, Any] | None:
        if value is None or value == "":
            return None
        if not isinstance(value, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in value:
            rows = value["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or "text" not in button:
                        raise _bad("can't parse inline keyboard button: Text must be a String")
                    _check_button(button)
        elif "keyboard" in value:
            if not isinstance(value["keyboard"], list):
                raise _bad("can't parse reply keyboard markup JSON object")
        elif not ({"remove_keyboard", "force_reply"} & value.keys()):
            raise _bad("can't parse reply keyboard markup JSON object")
        return value

    def _check_rate(self, chat_id: int, now: float) -> None:
        if not self.enforce_limits:
            return
        limits: list[tuple[float, int, Callable[[SendRecord], bool]]] = [
            (1.0, self.global_per_sec, lambda r: True),
        ]
        if _is_group(chat_id):
            limits.append((60.0, self.per_group_per_min, lambda r: r.chat_id == chat_id))
        else:
            limits.append((1.0, self.per_chat_per_sec, lambda r: r.chat_id == chat_id))
        for window, limit, matches in limits:
            recent: list[float] = []
            for record in reversed(self.send_log):
                if now - record.time >= window:
                    break
                if matches(record):
                    recent.append(record.time)
            if len(recent) >= limit:
                recent.sort()
                # the send fits once enough of the sends in the window have left it
                oldest = recent[len(recent) - limit] if limit > 0 else now
                retry_after = max(1, math.ceil(oldest + window - now))
                raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)

    def _store_sent(self, message: StoredMessage, method: str, now: float) -> dict[str, Any]:
        self._messages.setdefault(message.chat_id, {})[message.message_id] = message
        self.sent.append(message)
        self.send_log.append(SendRecord(now, message.chat_id, _is_group(message.chat_id), method, message.message_id))
        return self._message_json(message)

    def _store_file(self, value: Any, kind: str) -> _StoredFile:
        if isinstance(value, UploadedFile):
            if not value.data:
                raise _bad("file must be non-empty")
            if kind == "photo" and self.validate_images and not _image_ok(value.data):
                raise _bad("IMAGE_PROCESS_FAILED")
            number = next(self._file_seq)
            file_name = value.filename if kind == "document" else None
            stored = _StoredFile(
                file_id=f"FAKE{kind.upper()}{number:06d}AAQ",
                file_unique_id=f"AQAD{number:06d}",
                path=f"{kind}s/file_{number}{_extension(value.filename, kind)}",
                data=value.data,
                file_name=file_name,
                mime_type=value.content_type if kind == "document" else "image/jpeg",
            )
            self._files[stored.file_id] = stored
            self._file_paths[stored.path] = stored.file_id
            return stored
        if isinstance(value, str) and value:
            if value in self._files:
                return self._files[value]
            if value.startswith(("http://", "https://")):
                number = next(self._file_seq)
                stored = _StoredFile(
                    f"FAKE{kind.upper()}{number:06d}URL",
                    f"AQADU{number:06d}",
                    f"{kind}s/url_{number}",
                    None,
                    None,
                    None,
                )
                stored.url = value
                self._files[stored.file_id] = stored
                return stored
            raise _bad("wrong file identifier/HTTP URL specified")
        raise _bad(f"there is no {kind} in the request")

    def _find_editable(self, params: Mapping[str, Any]) -> StoredMessage:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        chat_id = self._chat_id(params)
        message_id = self._message_id(params)
        stored = self._messages.get(chat_id, {}).get(message_id)
        if stored is None:
            if message_id in self._incoming.get(chat_id, {}):
                raise _bad("message can't be edited")
            raise _bad("message to edit not found")
        return stored

    def _replace_message(self, stored: StoredMessage, **changes: Any) -> dict[str, Any]:
        updated = replace(stored, edit_date=int(time.time()), edit_count=stored.edit_count + 1, **changes)
        self._messages[stored.chat_id][stored.message_id] = updated
        self.edits.append(updated)
        return self._message_json(updated)

    # ----------------------------------------------------------------------------------------------------------
    # methods
    # ----------------------------------------------------------------------------------------------------------

    def _ok(self, params: dict[str, Any]) -> bool:
        return True

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(self.bot_user)

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        text = params.get("text")
        if not isinstance(text, str) or not text:
            raise _bad("message text is empty")
        plain, entities = self._render(text, params.get("parse_mode"), params.get("entities"))
        if not plain:
            raise _bad("message text is empty")
        if len(plain) > MAX_TEXT:
            raise _bad("message is too long")
        markup = self._check_markup(params.get("reply_markup"))
        now = time.monotonic()
        self._check_rate(chat_id, now)
        message = StoredMessage(
            chat_id=chat_id,
            message_id=self._next_message_id(chat_id),
            date=int(time.time()),
            kind="text",
            text=text,
            parse_mode=params.get("parse_mode") or None,
            reply_markup=markup,
            plain_text=plain,
            entities=entities,
        )
        return self._store_sent(message, "sendMessage", now)

    def _send_media(self, params: dict[str, Any], kind: str) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        caption = params.get("caption")
        plain_caption: str | None = None
        caption_entities: tuple[dict[str, Any], ...] = ()
        if isinstance(caption, str) and caption:
            plain_caption, caption_entities = self._render(
                caption, params.get("parse_mode"), params.get("caption_entities")
            )
            if len(plain_caption) > MAX_CAPTION:
                raise _bad("message caption is too long")
        markup = self._check_markup(params.get("reply_markup"))
        stored = self._store_file(params.get(kind), kind)
        now = time.monotonic()
        self._check_rate(chat_id, now)
        message = StoredMessage(
            chat_id=chat_id,
            message_id=self._next_message_id(chat_id),
            date=int(time.time()),
            kind=kind,
            parse_mode=params.get("parse_mode") or None,
            reply_markup=markup,
            caption=caption if isinstance(caption, str) and caption else None,
            plain_caption=plain_caption or None,
            caption_entities=caption_entities,
            photo=stored.data if kind == "photo" else None,
            document=stored.data if kind == "document" else None,
            file_name=stored.file_name,
            mime_type=stored.mime_type,
            file_id=stored.file_id,
        )
        return self._store_sent(message, "sendPhoto" if kind == "photo" else "sendDocument", now)

    def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(params, "photo")

    def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(params, "document")

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        self._chat_id(params)
        if not params.get("action"):
            raise _bad("action is empty")
        return True

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        text = params.get("text")
        if not isinstance(text, str) or not text:
            raise _bad("message text is empty")
        plain, entities = self._render(text, params.get("parse_mode"), params.get("entities"))
        if not plain:
            raise _bad("message text is empty")
        if len(plain) > MAX_TEXT:
            raise _bad("message is too long")
        markup = self._check_markup(params.get("reply_markup"))
        stored = self._find_editable(params)
        if stored.kind != "text":
            raise _bad("there is no text in the message to edit")
        # Like Telegram, an edit without reply_markup removes the inline keyboard.
        same_markup = _normalized_inline(markup) == _normalized_inline(stored.reply_markup)
        if plain == stored.plain_text and list(entities) == list(stored.entities) and same_markup:
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        return self._replace_message(
            stored,
            text=text,
            parse_mode=params.get("parse_mode") or None,
            plain_text=plain,
            entities=entities,
            reply_markup=markup,
        )

    def _edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any]:
        caption = params.get("caption")
        caption = caption if isinstance(caption, str) and caption else None
        plain: str | None = None
        entities: tuple[dict[str, Any], ...] = ()
        if caption is not None:
            plain, entities = self._render(caption, params.get("parse_mode"), params.get("caption_entities"))
            if len(plain) > MAX_CAPTION:
                raise _bad("message caption is too long")
        markup = self._check_markup(params.get("reply_markup"))
        stored = self._find_editable(params)
        if stored.kind == "text":
            raise _bad("there is no caption in the message to edit")
        same_markup = _normalized_inline(markup) == _normalized_inline(stored.reply_markup)
        if (plain or None) == stored.plain_caption and list(entities) == list(stored.caption_entities) and same_markup:
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        return self._replace_message(
            stored,
            caption=caption,
            plain_caption=plain or None,
            caption_entities=entities,
            parse_mode=params.get("parse_mode") or None,
            reply_markup=markup,
        )

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        markup = self._check_markup(params.get("reply_markup"))
        stored = self._find_editable(params)
        if _normalized_inline(markup) == _normalized_inline(stored.reply_markup):
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        return self._replace_message(stored, reply_markup=markup)

    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params)
        message_id = self._message_id(params)
        removed = self._messages.get(chat_id, {}).pop(message_id, None) or self._incoming.get(chat_id, {}).pop(
            message_id, None
        )
        if removed is None:
            raise _bad("message to delete not found")
        self.deleted.append((chat_id, message_id))
        return True

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_callbacks:
            raise _bad(QUERY_INVALID.removeprefix("Bad Request: "))
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        del self._open_callbacks[query_id]
        self.callback_answers[query_id] = CallbackAnswer(
            text=text if isinstance(text, str) else None,
            show_alert=_as_bool(params.get("show_alert", False)),
            url=params.get("url"),
            cache_time=_as_int(params.get("cache_time")),
        )
        return True

    # updates -------------------------------------------------------------------------------------------------

    def _is_allowed(self, update: Mapping[str, Any]) -> bool:
        kind = _update_type(update)
        if not self._allowed_updates:
            return kind not in _NOT_BY_DEFAULT
        return kind in self._allowed_updates

    def _drop(self, update_id: int) -> None:
        if self._pending.pop(update_id, None) is not None:
            self.dropped.add(update_id)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            for update_id in [u for u in self._pending if u < offset]:
                del self._pending[update_id]
                self.confirmed.add(update_id)
        elif offset < 0:
            for update_id in list(self._pending)[:offset]:
                del self._pending[update_id]
                self.confirmed.add(update_id)

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
                "webhook first",
            )
        offset = _as_int(params.get("offset")) or 0
        limit = min(max(_as_int(params.get("limit")) or 100, 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = list(params["allowed_updates"])
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._signal.fire()  # terminates an older long poll, like Telegram
        deadline = time.monotonic() + timeout
        while True:
            event = self._signal.current()
            if self._webhook is not None:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
                    "the webhook first",
                )
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            batch: list[dict[str, Any]] = []
            for update_id, update in list(self._pending.items()):
                if offset > 0 and update_id < offset:
                    continue
                if not self._is_allowed(update):
                    self._drop(update_id)
                    continue
                batch.append(update)
                if len(batch) >= limit:
                    break
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self._closing:
                return copy.deepcopy(batch)
            await _wait_event(event, remaining)

    async def _set_webhook(self, params: dict[str, Any]) -> _Described:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params)
        if not url.startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and secret != "":
            secret = str(secret)
            if len(secret) > 256 or not all(c.isascii() and (c.isalnum() or c in "_-") for c in secret):
                raise _bad("secret token contains unallowed characters")
        else:
            secret = None
        max_connections = _as_int(params.get("max_connections")) or 40
        if not 1 <= max_connections <= 100:
            raise _bad("bad webhook: max_connections must be between 1 and 100")
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = list(params["allowed_updates"])
        if _as_bool(params.get("drop_pending_updates", False)):
            for update_id in list(self._pending):
                self._drop(update_id)
        config = {"url": url, "secret_token": secret, "max_connections": max_connections}
        if self._webhook == config and self._webhook_loop is not None and not self._webhook_loop.done():
            return _Described(True, "Webhook is already set")
        await self._stop_webhook()
        self._webhook = config
        self._last_webhook_error = None
        self._webhook_generation += 1
        self._signal.fire()
        self._webhook_loop = asyncio.create_task(self._delivery_loop(self._webhook_generation, config))
        return _Described(True, "Webhook was set")

    async def _delete_webhook(self, params: dict[str, Any]) -> _Described:
        was_set = self._webhook is not None
        await self._stop_webhook()
        self._webhook = None
        if _as_bool(params.get("drop_pending_updates", False)):
            for update_id in list(self._pending):
                self._drop(update_id)
        return _Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    async def _stop_webhook(self) -> None:
        self._webhook_generation += 1
        tasks = [t for t in (self._webhook_loop, *self._delivery_tasks) if t is not None]
        self._webhook_loop = None
        current = asyncio.current_task()
        for task in tasks:
            if task is not current:
                task.cancel()
        for task in tasks:
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._signal.fire()

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook is not None:
            info["max_connections"] = self._webhook["max_connections"]
            info["ip_address"] = "127.0.0.1"
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
            if self._last_webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._last_webhook_error
        return info

    async def _delivery_loop(self, generation: int, config: Mapping[str, Any]) -> None:
        semaphore = asyncio.Semaphore(int(config["max_connections"]))
        busy_chats: set[int | str] = set()
        started: set[int] = set()
        while generation == self._webhook_generation and not self._closing:
            event = self._signal.current()
            for update_id, update in list(self._pending.items()):
                if update_id in started:
                    continue
                if not self._is_allowed(update):
                    self._drop(update_id)
                    continue
                key = _chat_key(update)
                if key in busy_chats:
                    continue  # the chat's previous update is not acknowledged yet
                busy_chats.add(key)
                started.add(update_id)
                task = asyncio.create_task(
                    self._deliver(generation, config, update, key, semaphore, busy_chats, started)
                )
                self._delivery_tasks.add(task)
                task.add_done_callback(self._delivery_tasks.discard)
            await event.wait()

    async def _deliver(
        self,
        generation: int,
        config: Mapping[str, Any],
        update: dict[str, Any],
        key: int | str,
        semaphore: asyncio.Semaphore,
        busy_chats: set[int | str],
        started: set[int],
    ) -> None:
        update_id = int(update["update_id"])
        try:
            while generation == self._webhook_generation and update_id in self._pending:
                self.delivery_attempts[update_id] += 1
                attempt = self.delivery_attempts[update_id]
                async with semaphore:
                    self._inflight += 1
                    try:
                        status, error = await self._post_update(config, update)
                    finally:
                        self._inflight -= 1
                self.deliveries.append(Delivery(update_id, attempt, status, error, time.monotonic()))
                if status is not None and 200 <= status < 300:
                    if self._pending.pop(update_id, None) is not None:
                        self.acknowledged.add(update_id)
                    return
                self._last_webhook_error = (int(time.time()), error or f"Wrong response from the webhook: {status}")
                await asyncio.sleep(self.webhook_retry_delay)
        finally:
            busy_chats.discard(key)
            started.discard(update_id)
            self._signal.fire()

    async def _post_update(self, config: Mapping[str, Any], update: dict[str, Any]) -> tuple[int | None, str | None]:
        if self._client is None:
            return None, "Fake server is not running"
        headers = {"Content-Type": "application/json"}
        if config.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(config["secret_token"])
        try:
            async with self._client.post(
                str(config["url"]),
                data=json.dumps(update, ensure_ascii=False).encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                allow_redirects=False,
            ) as response:
                if not 200 <= response.status < 300:
                    return response.status, f"Wrong response from the webhook: {response.status} {response.reason}"
                reply = await _read_webhook_reply(response)
        except TimeoutError:
            return None, "Read timeout expired"
        except aiohttp.ClientConnectorError:
            return None, "Connection refused"
        except aiohttp.ClientError as error:
            return None, f"{type(error).__name__}: {error}"
        if reply is not None:
            method, params = reply
            await self._process(None, method, params)
        return response.status, None

    # commands and menu -----------------------------------------------------------------------------------------

    @staticmethod
    def _scope_key(params: Mapping[str, Any]) -> tuple[str, int | None, int | None, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict):
            raise _bad("can't parse BotCommandScope JSON object")
        scope_type = str(scope.get("type", ""))
        if scope_type in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            chat_id, user_id = None, None
        elif scope_type in ("chat", "chat_administrators", "chat_member"):
            chat_id = _as_int(scope.get("chat_id"))
            if chat_id is None:
                raise _bad("chat not found")
            user_id = _as_int(scope.get("user_id")) if scope_type == "chat_member" else None
            if scope_type == "chat_member" and user_id is None:
                raise _bad("user not found")
            if scope_type != "chat" and chat_id > 0:
                raise _bad("can't use this scope in private chats")
        else:
            raise _bad("unsupported scope")
        return scope_type, chat_id, user_id, str(params.get("language_code") or "")

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands")
        cleaned: list[dict[str, str]] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand JSON object")
            name = str(command.get("command", ""))
            description = str(command.get("description", ""))
            if not 1 <= len(name) <= 32 or not all(
                c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in name
            ):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad("command description must be non-empty")
            cleaned.append({"command": name, "description": description})
        key = self._scope_key(params)
        if cleaned:
            self._commands[key] = cleaned
        else:
            self._commands.pop(key, None)
        return True

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(self._scope_key(params), None)
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        return [dict(c) for c in self._commands.get(self._scope_key(params), [])]

    def _set_chat_menu_button(self, params: dict[str, Any]) -> bool:
        chat_id = _as_int(params.get("chat_id")) if params.get("chat_id") not in (None, "") else None
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
            raise _bad("can't parse menu button JSON object")
        self.menu_buttons[chat_id] = button
        return True

    def _get_chat_menu_button(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _as_int(params.get("chat_id")) if params.get("chat_id") not in (None, "") else None
        return dict(self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "default"})

    def _set_bot_setting(self, name: str) -> Callable[[dict[str, Any]], bool]:
        def handler(params: dict[str, Any]) -> bool:
            self.bot_settings.setdefault(name, {})[str(params.get("language_code") or "")] = str(params.get(name) or "")
            return True

        return handler

    # chats ---------------------------------------------------------------------------------------------------

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_obj(self._chat_id(params))
        chat.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return chat

    def _member_json(self, chat_id: int, user_id: int) -> dict[str, Any]:
        status = self._members.get((chat_id, user_id), "member")
        if chat_id in self.left_chats and user_id == self.bot_user["id"]:
            status = "left"
        body: dict[str, Any] = {"status": status, "user": self._user_obj(user_id)}
        if status == "creator":
            body["is_anonymous"] = False
        elif status == "administrator":
            body.update(
                dict.fromkeys(
                    (
                        "can_be_edited",
                        "is_anonymous",
                        "can_post_stories",
                        "can_edit_stories",
                        "can_delete_stories",
                        "can_promote_members",
                    ),
                    False,
                )
            )
            body.update(
                dict.fromkeys(
                    (
                        "can_manage_chat",
                        "can_delete_messages",
                        "can_manage_video_chats",
                        "can_restrict_members",
                        "can_change_info",
                        "can_invite_users",
                        "can_pin_messages",
                        "can_send_welcome_messages",
                    ),
                    True,
                )
            )
        elif status == "kicked":
            body["until_date"] = 0
        elif status == "restricted":
            body.update(is_member=True, until_date=0)
            body.update(
                dict.fromkeys(
                    (
                        "can_send_messages",
                        "can_send_audios",
                        "can_send_documents",
                        "can_send_photos",
                        "can_send_videos",
                        "can_send_video_notes",
                        "can_send_voice_notes",
                        "can_send_polls",
                        "can_send_other_messages",
                        "can_add_web_page_previews",
                        "can_react_to_messages",
                        "can_edit_tag",
                        "can_change_info",
                        "can_invite_users",
                        "can_pin_messages",
                        "can_manage_topics",
                    ),
                    False,
                )
            )
        return body

    def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        user_id = _as_int(params.get("user_id"))
        if user_id is None:
            raise _bad("user not found")
        if chat_id > 0 and user_id not in (chat_id, self.bot_user["id"]):
            raise _bad("user not found")
        return self._member_json(chat_id, user_id)

    def _get_chat_administrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat_id = self._chat_id(params)
        if chat_id > 0:
            raise _bad("there are no administrators in the private chat")
        return [
            self._member_json(chat_id, user_id)
            for (chat, user_id), status in self._members.items()
            if chat == chat_id and status in ("creator", "administrator")
        ]

    def _leave_chat(self, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params)
        if chat_id > 0:
            raise _bad("chat member status can't be changed in private chats")
        self.left_chats.add(chat_id)
        return True

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        body: dict[str, Any] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.data is not None:
            body.update(file_size=len(stored.data), file_path=stored.path)
        return body


# --------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------


class _LocalSession(AiohttpSession):
    """AiohttpSession whose close() skips the 250 ms pause aiogram leaves for TLS connections (plain http here)."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


@dataclass(frozen=True)
class _Described:
    """A successful result that carries Telegram's "description" too (setWebhook, deleteWebhook)."""

    value: Any
    description: str


def _check_button(button: Mapping[str, Any]) -> None:
    actions = {
        "callback_data",
        "url",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
    if not actions & button.keys():
        raise _bad("text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise _bad("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://", "tg://")):
            raise _bad("BUTTON_URL_INVALID")


def _extension(filename: str | None, kind: str) -> str:
    if kind == "photo":
        return ".jpg"
    if filename and "." in filename:
        return "." + filename.rsplit(".", 1)[1]
    return ""


def _short(params: Mapping[str, Any]) -> str:
    parts = []
    for key, value in params.items():
        text = repr(value)
        parts.append(f"{key}={text[:40]}{'…' if len(text) > 40 else ''}")
    return ", ".join(parts)


def _window_violations(times: Sequence[float], window: float, limit: int, label: str, t0: float) -> list[str]:
    ordered = sorted(times)
    violations: list[str] = []
    i, n = 0, len(ordered)
    while i < n:
        j = i
        while j < n and ordered[j] - ordered[i] < window:
            j += 1
        if j - i > limit:
            violations.append(
                f"{label}: {j - i} sends within {window:g}s (limit {limit}) "
                f"between t={ordered[i] - t0:.3f}s and t={ordered[j - 1] - t0:.3f}s"
            )
            i = j
        else:
            i += 1
    return violations


def _decode_value(key: str, value: Any) -> Any:
    if not isinstance(value, str) or key in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _decode_params(fields: Mapping[str, Any], files: dict[str, UploadedFile]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, str) and value.startswith("attach://") and value[len("attach://") :] in files:
            params[key] = files.pop(value[len("attach://") :])
        else:
            params[key] = _decode_value(key, value)
    params.update(files)
    return params


async def _read_params(request: web.Request) -> dict[str, Any]:
    fields: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.method == "POST" and request.can_read_body:
        content_type = request.content_type
        try:
            if content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _bad("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise _bad("JSON object expected")
                fields.update(body)
            elif content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        files[key] = UploadedFile(value.filename, value.content_type, value.file.read())
                    elif isinstance(value, bytes):
                        fields[key] = value.decode("utf-8", errors="replace")
                    else:
                        fields[key] = value
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(413, "Request Entity Too Large") from None
    return _decode_params(fields, files)


async def _read_webhook_reply(response: aiohttp.ClientResponse) -> tuple[str, dict[str, Any]] | None:
    """A method the webhook answered with in its response body (Telegram executes it), if any."""
    fields: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    if response.content_type == "multipart/form-data":
        reader = aiohttp.MultipartReader(response.headers, response.content)
        async for part in reader:
            if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                continue
            if part.filename:
                files[part.name] = UploadedFile(part.filename, part.headers.get("Content-Type"), await part.read())
            else:
                fields[part.name] = await part.text()
    elif response.content_type == "application/json":
        with contextlib.suppress(ValueError, aiohttp.ContentTypeError):
            body = await response.json()
            if isinstance(body, dict):
                fields = body
    method = fields.pop("method", None)
    if not isinstance(method, str) or not method:
        return None
    return method, _decode_params(fields, files)

"""Zalo updates: `{"event_name": ..., "message": {...}}`, bare or wrapped as `{"ok": true, "result": {...}}`
(webhook bodies are seen in both shapes). `parse_update` reads either or raises `UpdateError` saying why."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class UpdateError(ValueError):
    """A body that is not a Zalo update; the message says what is wrong."""


class ChatType(Enum):
    PRIVATE = "PRIVATE"
    GROUP = "GROUP"


TEXT_EVENT = "message.text.received"


@dataclass(frozen=True)
class ZaloMessage:
    message_id: str
    user_id: str
    """The sender's Zalo user id (`from.id`)."""
    chat_id: str
    chat_type: ChatType
    text: str | None
    """The text typed (None for images, stickers and what the platform does not support)."""
    date_ms: int | None = None
    display_name: str | None = None
    is_bot: bool = False


@dataclass(frozen=True)
class ZaloUpdate:
    event_name: str
    message: ZaloMessage

    @property
    def is_text(self) -> bool:
        return self.event_name == TEXT_EVENT and self.message.text is not None


def _ident(value: object, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
        raise UpdateError(f"{where} must be a non-empty string")
    return str(value)


def parse_update(body: object) -> ZaloUpdate:
    """A Zalo update from a decoded JSON body, bare or wrapped; `UpdateError` when it is not one."""
    if not isinstance(body, dict):
        raise UpdateError("the body is not a JSON object")
    if "event_name" not in body and "result" in body:
        if body.get("ok") is not True:
            raise UpdateError("a wrapped update must have ok: true")
        body = body["result"]
        if not isinstance(body, dict):
            raise UpdateError("result is not a JSON object")
    event = body.get("event_name")
    if not isinstance(event, str) or not event:
        raise UpdateError("event_name is missing")
    raw: Any = body.get("message")
    if not isinstance(raw, dict):
        raise UpdateError("message is missing or not an object")
    sender = raw.get("from")
    chat = raw.get("chat")
    if not isinstance(sender, dict):
        raise UpdateError("message.from is missing")
    if not isinstance(chat, dict):
        raise UpdateError("message.chat is missing")
    chat_type_raw = str(chat.get("chat_type") or "PRIVATE").upper()
    try:
        chat_type = ChatType(chat_type_raw)
    except ValueError:
        raise UpdateError(f"message.chat.chat_type {chat_type_raw!r} is neither PRIVATE nor GROUP") from None
    text = raw.get("text")
    if text is not None and not isinstance(text, str):
        raise UpdateError("message.text is not a string")
    date = raw.get("date")
    name = sender.get("display_name")
    return ZaloUpdate(
        event_name=event,
        message=ZaloMessage(
            message_id=_ident(raw.get("message_id"), "message.message_id"),
            user_id=_ident(sender.get("id"), "message.from.id"),
            chat_id=_ident(chat.get("id"), "message.chat.id"),
            chat_type=chat_type,
            text=text,
            date_ms=date if isinstance(date, int) and not isinstance(date, bool) else None,
            display_name=name if isinstance(name, str) else None,
            is_bot=sender.get("is_bot") is True,
        ),
    )

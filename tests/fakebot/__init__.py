"""A fake Telegram Bot API server for tests (real HTTP on 127.0.0.1, driven by the real aiogram Bot)."""

from .server import (
    ApiError,
    Call,
    CallbackAnswer,
    Delivery,
    EntityParseError,
    FakeBotAPI,
    SendRecord,
    StoredMessage,
    UploadedFile,
    parse_html,
)

__all__ = [
    "ApiError",
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

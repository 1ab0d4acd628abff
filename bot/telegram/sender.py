"""The Telegram side of the outbox: `send(chat, message)` over an aiogram Bot (`storage.outbox.Transport`).

A message's intents become inline buttons: "resume" a `ResumeCb` (the reminder's "▶ Tiếp tục"), "join" a
`CampaignCb` (an invitation's "▶ Tham gia"), "link" a URL button. Telegram's errors become `SendError`s
the paced sender understands (429 waits, 403 and "chat not found" mark the recipient unreachable, a group
that became a supergroup moves, 5xx and network errors are retried).

The Bot must not retry by itself (no retry middleware): the sender decides about 429s and 5xx, and a request
that sleeps inside a middleware would hide a 429 from the pacer. `without_retries(bot)` makes such a Bot from
the application's one (same token and API server, its own HTTP session; `close()` closes it).
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    RestartingTelegram,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions

from bot.telegram.callbacks import CampaignCb, ResumeCb
from storage.outbox import Action, ErrorKind, Outgoing, SendError

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def button_of(action: Action) -> InlineKeyboardButton:
    """The inline button that carries out an intent."""
    if action.kind == "resume":
        assert action.response_id is not None
        return InlineKeyboardButton(text=action.label, callback_data=ResumeCb(r=action.response_id).pack())
    if action.kind == "join":
        assert action.campaign_code is not None
        return InlineKeyboardButton(text=action.label, callback_data=CampaignCb(code=action.campaign_code).pack())
    return InlineKeyboardButton(text=action.label, url=action.url)


def markup_of(message: Outgoing) -> InlineKeyboardMarkup | None:
    """One button per row, in order; None without intents."""
    if not message.actions:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[button_of(a)] for a in message.actions])


class TelegramTransport:
    """Delivers outbox messages to Telegram chats (ids as text), as HTML."""

    channel = "telegram"

    def __init__(self, bot: Bot, request_timeout: int = 30, *, owns_session: bool = False) -> None:
        self.bot = bot
        self.request_timeout = request_timeout
        self.owns_session = owns_session

    @classmethod
    def without_retries(cls, bot: Bot, request_timeout: int = 30) -> TelegramTransport:
        session_class = type(bot.session) if isinstance(bot.session, AiohttpSession) else AiohttpSession
        raw = Bot(token=bot.token, session=session_class(api=bot.session.api))
        return cls(raw, request_timeout, owns_session=True)

    async def close(self) -> None:
        if self.owns_session:
            await self.bot.session.close()

    async def send(self, chat: str, message: Outgoing) -> int:
        markup = markup_of(message)
        chat_id = int(chat)
        try:
            if message.photo is not None:
                sent = await self.bot.send_photo(
                    chat_id,
                    BufferedInputFile(message.photo, filename="chart.png"),
                    caption=message.caption,
                    parse_mode="HTML",
                    reply_markup=markup,
                    request_timeout=self.request_timeout,
                )
            else:
                assert message.text is not None  # an Outgoing has either a text or a photo
                sent = await self.bot.send_message(
                    chat_id,
                    message.text,
                    parse_mode="HTML",
                    reply_markup=markup,
                    link_preview_options=_NO_PREVIEW,
                    request_timeout=self.request_timeout,
                )
        except TelegramRetryAfter as e:
            raise SendError("rate_limited", e.message, retry_after=float(e.retry_after)) from None
        except TelegramMigrateToChat as e:
            raise SendError("migrated", e.message, migrate_to=e.migrate_to_chat_id) from None
        except TelegramForbiddenError as e:
            raise SendError("unreachable", e.message) from None
        except TelegramEntityTooLarge as e:
            raise SendError("permanent", e.message) from None
        except TelegramBadRequest as e:
            kind: ErrorKind = "unreachable" if "chat not found" in e.message.lower() else "permanent"
            raise SendError(kind, e.message) from None
        except (TelegramServerError, RestartingTelegram) as e:
            raise SendError("transient", e.message) from None
        except TelegramNetworkError as e:
            # A refused connection never reached Telegram; a timeout may have.
            reached = "ClientConnectorError" not in e.message and "ConnectionRefused" not in e.message
            raise SendError("transient", e.message, reached_server=reached) from None
        except TelegramAPIError as e:  # 401 (token revoked), 404, 409: an operator must look; retry later
            raise SendError("transient", f"{type(e).__name__}: {e.message}") from None
        return int(sent.message_id)

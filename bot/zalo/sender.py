"""The Zalo side of the outbox: `send(chat, message)` over the Zalo Bot API (`storage.outbox.Transport`).

Zalo has plain text and no buttons: a message's HTML subset is taken out, and each intent becomes a line
saying what to type ("resume": "Gõ “tiếp tục” để làm tiếp", which resumes the survey; "join": the campaign's
code; "link": the address). Texts over 2,000 characters go in parts cut at line breaks (the first part's
message id is returned). A chart (a PNG) needs an address Zalo can fetch: `photo_url` (a hook the
application sets when this server can publish one: `bot.zalo.groups.chart_publisher`) turns it into one;
without it the picture is left out (a digest's text says everything the chart shows).

Errors become `SendError`s the paced sender understands: refusals (403, a blocked or unknown chat) mark the
recipient unreachable, 429 waits, 5xx and network errors are retried, other 4xx give up on the message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.zalo.client import ZaloClient, ZaloError
from bot.zalo.text import plain, split_text
from bot.zalo.texts import t
from flows.i18n import LANGUAGES, Section
from storage.outbox import Action, Outgoing, SendError

log = logging.getLogger(__name__)

PhotoUrl = Callable[[bytes], Awaitable[str | None]]
"""Publishes a PNG at an address Zalo can fetch (None: it cannot be published)."""


reminder_texts = Section("reminder")


def _language_of(action: Action) -> str:
    """The language an intent's label is in (the outbox keeps labels, not languages): the reminder's
    "Tiếp tục" / "Continue" and the invitation's "Tham gia" / "Take part" tell; anything else is Vietnamese."""
    key = {"resume": "continue", "join": "join"}.get(action.kind)
    if key is not None:
        for lang in LANGUAGES:
            if reminder_texts(key, lang) == action.label:
                return lang
    return "vi"


def line_of(action: Action) -> str:
    """What to type to carry out an intent, in the label's language."""
    lang = _language_of(action)
    if action.kind == "resume":
        return t("type_continue", lang)
    if action.kind == "join":
        assert action.campaign_code is not None
        return t("type_join", lang, code=action.campaign_code)
    return t("link", lang, label=action.label, url=action.url)


def text_of(message: Outgoing) -> str:
    """The message as plain text, with a line per intent."""
    body = plain(message.text if message.text is not None else message.caption or "")
    lines = [line_of(a) for a in message.actions]
    return "\n\n".join(p for p in (body.strip(), "\n".join(lines)) if p)


class ZaloTransport:
    """Delivers outbox messages to Zalo chats (user or group chat ids)."""

    channel = "zalo"

    def __init__(self, client: ZaloClient, photo_url: PhotoUrl | None = None, *, owns_client: bool = False) -> None:
        self.client = client
        self.photo_url = photo_url
        self.owns_client = owns_client

    async def close(self) -> None:
        if self.owns_client:
            await self.client.close()

    async def send(self, chat: str, message: Outgoing) -> int | str:
        try:
            first: str | None = None
            text = text_of(message)
            if message.photo is not None:
                url = await self.photo_url(message.photo) if self.photo_url is not None else None
                if url is None:  # no address Zalo could fetch it from (no PUBLIC_URL): the text alone goes
                    log.info("zalo chat %s: a picture left out (it cannot be published without PUBLIC_URL)", chat)
                    return ""
                caption, rest = (split_text(text) or [""])[0], split_text(text)[1:]
                sent = await self.client.send_photo(chat, url, caption)
                first = sent.message_id
                for part in rest:
                    await self.client.send_message(chat, part)
                return first
            parts = split_text(text)
            if not parts:
                raise SendError("permanent", "nothing to send: the message has no text")
            for part in parts:
                sent = await self.client.send_message(chat, part)
                first = first or sent.message_id
            return first or ""
        except ZaloError as e:
            if e.kind == "rate_limited":
                raise SendError("rate_limited", e.description, retry_after=e.retry_after or 1.0) from None
            if e.kind == "unreachable":
                raise SendError("unreachable", e.description) from None
            if e.kind == "permanent":
                raise SendError("permanent", e.description) from None
            raise SendError("transient", str(e), reached_server=e.reached_server) from None

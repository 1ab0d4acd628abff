"""Messages in Zalo group chats: the officials' groups, and citizens who type a command in a group.

An operator issues a one-time code (`khaosat chats code`, the same codes as for Telegram, `--dimensions` ones
included); someone adds the bot to the officials' Zalo group and sends `/subscribe CODE` there. `/digest`
queues the digest of the period so far, `/unsubscribe` stops the digests. Commands are typed with or without
the slash ("subscribe K7QP-M2XD", "digest"), in English or Vietnamese ("đăng ký MÃ", "báo cáo", "hủy đăng
ký"); without the slash the message must be the command alone, so that the group's own chatter is left alone.

Zalo tells a bot nothing about who administers a group (there is no getChatMember), so any member may use
these commands: the one-time code is what authorises a subscription, and /digest has the same cool-down as on
Telegram. Replies are in Vietnamese and English (the group's language is not known before it subscribes),
sent at once; the digests themselves go through the outbox (`bot.zalo.sender`), as plain text in parts of at
most 2,000 characters, the chart by URL (`chart_publisher`).

A citizen's command typed in a group (a "/" command that is not the officials', or a campaign code such as
"hn-2026_70") gets one line: the survey runs in a private chat with the bot.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from bot.zalo.client import ZaloError
from bot.zalo.context import ZaloApp
from bot.zalo.text import split_text
from bot.zalo.texts import t
from bot.zalo.updates import ZaloMessage
from flows.i18n import LANGUAGES, Section
from flows.text import fold
from reports import format as fmt
from reports.links import parse_start_payload
from storage.db import Database
from storage.repo.chats import CODE_LENGTH, normalise_code

log = logging.getLogger(__name__)

group_texts = Section("group")
"""The officials' group texts, shared with Telegram's groups."""
CHANNEL = "zalo"


class GroupCommand(Enum):
    SUBSCRIBE = "subscribe"
    DIGEST = "digest"
    UNSUBSCRIBE = "unsubscribe"
    CITIZEN = "citizen"
    """A citizen's command: answered with the line about the private chat."""


_WORDS = {
    GroupCommand.SUBSCRIBE: ("subscribe", "dang ky", "dangky"),
    GroupCommand.DIGEST: ("digest", "bao cao", "baocao", "ban tin"),
    GroupCommand.UNSUBSCRIBE: ("unsubscribe", "huy dang ky", "huydangky", "ngung nhan"),
}
_BOT_SUFFIX = re.compile(r"^/(\S+?)@\S+")


@dataclass(frozen=True)
class Command:
    kind: GroupCommand
    argument: str = ""


def parse_command(text: str) -> Command | None:
    """What a group message asks of the bot, or None for the group's own talk."""
    stripped = text.strip()
    slashed = stripped.startswith("/")
    body = _BOT_SUFFIX.sub(r"/\1", stripped)[1:] if slashed else stripped
    words = fold(body).replace("_", " ").split()
    for kind, names in _WORDS.items():
        for name in names:
            size = len(name.split())
            if words[:size] == name.split():
                rest = words[size:]
                if kind is GroupCommand.SUBSCRIBE:
                    argument = " ".join(body.split()[size:])
                    if slashed or len(normalise_code(argument)) == CODE_LENGTH:
                        return Command(kind, argument)
                    continue
                if not rest or slashed:
                    return Command(kind)
    if slashed or (parse_start_payload(stripped) is not None and "_" in stripped):
        return Command(GroupCommand.CITIZEN)
    return None


async def _say(app: ZaloApp, message: ZaloMessage, text: str) -> None:
    for part in split_text(text):
        await app.client.send_message(message.chat_id, part)


async def _say_both(app: ZaloApp, message: ZaloMessage, key: str, **params: object) -> None:
    await _say(app, message, "\n".join(group_texts(key, lang, **params) for lang in LANGUAGES))


async def handle_group_message(app: ZaloApp, message: ZaloMessage) -> None:
    """A message from a group chat (`message.chat_id` is the group). Raises when something fails, as a private
    message's handler does (a group that refuses our messages is only logged)."""
    command = parse_command(message.text or "")
    if command is None:
        return
    try:
        if command.kind is GroupCommand.SUBSCRIBE:
            await subscribe(app, message, command.argument)
        elif command.kind is GroupCommand.UNSUBSCRIBE:
            await unsubscribe(app, message)
        elif command.kind is GroupCommand.DIGEST:
            await digest_now(app, message)
        else:
            lines = [t("group_private", lang, bot=app.bot_name or t("the_bot", lang)) for lang in LANGUAGES]
            await _say(app, message, "\n".join(lines))
    except ZaloError as e:
        if e.kind != "unreachable":
            raise
        log.info("zalo group %s refuses messages: %s", message.chat_id, e.description)


def _tz(app: ZaloApp) -> ZoneInfo:
    return ZoneInfo(app.ctx.settings.tz)


async def subscribe(app: ZaloApp, message: ZaloMessage, code: str) -> None:
    from reports import digests
    from storage.repo import chats, updates

    if not code.strip():
        await _say_both(app, message, "usage")
        return
    repeated = False
    try:
        async with app.ctx.db.write() as conn:
            if not await updates.claim(conn, CHANNEL, message.message_id, app.ctx.clock()):
                # delivered again (its reply may have been lost): say where the group stands, change nothing
                repeated = True
                found = await chats.get(conn, message.chat_id, CHANNEL)
                if found is None or not found.active:
                    return
                chat = found
            else:
                chat = await chats.redeem(
                    conn,
                    code=code,
                    chat_id=message.chat_id,
                    title="",
                    user_id=message.user_id,
                    now=app.ctx.clock(),
                    channel=CHANNEL,
                )
    except chats.CodeRejected as e:
        log.info("zalo group %s: subscribe refused (%s)", message.chat_id, e.reason)
        if e.reason == "expired" and e.expires_at is not None:
            await _say_both(app, message, "expired", date=fmt.local(e.expires_at, _tz(app), "date"))
        else:
            await _say_both(app, message, e.reason)
        return
    if not repeated:
        log.info("zalo group %s subscribed to digests: scope %s", chat.address, chat.scope or "all")
    await _say(app, message, await digests.subscribed_message(app.ctx.db, chat, app.ctx.settings.tz))


async def unsubscribe(app: ZaloApp, message: ZaloMessage) -> None:
    from storage.repo import chats, updates

    async with app.ctx.db.write() as conn:
        current = await chats.get(conn, message.chat_id, CHANNEL)
        if not await updates.claim(conn, CHANNEL, message.message_id, app.ctx.clock()):  # delivered again
            stopped = current is not None and not current.active
        else:
            stopped = current is not None and current.active
            if stopped:
                await chats.set_active(conn, message.chat_id, False, CHANNEL)
    log.info("zalo group %s: unsubscribe (%s)", message.chat_id, "stopped" if stopped else "was not subscribed")
    await _say_both(app, message, "unsubscribed" if stopped else "not_subscribed")


async def digest_now(app: ZaloApp, message: ZaloMessage) -> None:
    from reports import digests

    settings = app.ctx.settings
    try:
        queued = await digests.queue_digest_now(
            app.ctx.db,
            message.chat_id,
            app.ctx.clock(),
            _tz(app),
            settings.digest_alert_threshold / 100,
            request_id=message.message_id,
            channel=CHANNEL,
        )
    except digests.DigestUnavailable as e:
        await _say_both(app, message, e.reason)
        return
    except ZaloError:
        raise
    except Exception:
        log.exception("zalo group %s: digest failed", message.chat_id)
        await _say_both(app, message, "failed")
        return
    if queued:
        app.ctx.wake_outbox()
        await _say_both(app, message, "digest_queued")


# --- charts by URL -----------------------------------------------------------------------------------------

PhotoUrl = Callable[[bytes], Awaitable[str | None]]


def chart_publisher(
    db: Database, clock: Callable[[], datetime], public_url: str | None, valid_for: timedelta
) -> PhotoUrl | None:
    """The outbox transport's hook for a digest's chart: keeps the PNG for `valid_for` at an unguessable
    address under PUBLIC_URL (`/i/<token>.png`, served by `web.images`) and gives that address to Zalo's
    sendPhoto. None without PUBLIC_URL: Zalo cannot fetch from a server it cannot reach, and the digest goes
    as text only."""
    if not public_url:
        return None
    base = public_url

    async def publish(png: bytes) -> str:
        from storage.repo import images

        async with db.write() as conn:
            token = await images.publish(conn, png, clock(), valid_for)
        return images.url_of(base, token)

    return publish


__all__ = ["chart_publisher", "handle_group_message", "parse_command"]

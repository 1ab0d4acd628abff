"""Officials' group chats: /subscribe CODE, /unsubscribe, /digest. Group administrators only.

An operator issues a one-time code (`khaosat chats code --scope ...`); an official adds the bot to the
group and sends `/subscribe CODE`. Who is an administrator is asked of Telegram (getChatMember) each time;
an anonymous administrator (a message sent on behalf of the group itself) counts as one. Replies are in
Vietnamese and English: the group's language is not known before it subscribes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.context import AppContext
from bot.telegram.filters import Magic
from bot.telegram.texts import CITIZEN_COMMANDS, group_texts
from reports import format as fmt

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

GROUP_TYPES = (ChatType.GROUP, ChatType.SUPERGROUP)


ANONYMOUS_ADMIN_BOT = 1087968824  # "GroupAnonymousBot", the sender of anonymous administrators' messages


async def is_admin(bot: Bot, message: Message) -> bool:
    """Whether the sender administers the group (asked of Telegram; anonymous administrators count)."""
    if message.sender_chat is not None and message.sender_chat.id == message.chat.id:
        return True
    user = message.from_user
    if user is None or user.id == ANONYMOUS_ADMIN_BOT:
        return False
    member = await bot.get_chat_member(message.chat.id, user.id)
    return member.status in ("creator", "administrator")


async def _reply(message: Message, key: str, **params: Any) -> None:
    await message.answer(group_texts.both(key, **params), parse_mode=None)


async def subscribe(message: Message, command: CommandObject, app: AppContext, bot: Bot) -> None:
    from reports import digests
    from storage.repo import chats

    if message.chat.type not in GROUP_TYPES:
        await _reply(message, "not_group")
        return
    if not await is_admin(bot, message):
        await _reply(message, "admins_only")
        return
    code = (command.args or "").strip()
    if not code:
        await _reply(message, "usage")
        return
    now = app.clock()
    user_id = message.from_user.id if message.from_user is not None else None
    try:
        async with app.db.write() as conn:
            chat = await chats.redeem(
                conn, code=code, chat_id=message.chat.id, title=message.chat.title or "", user_id=user_id, now=now
            )
    except chats.CodeRejected as e:
        log.info("group %s: /subscribe refused (%s)", message.chat.id, e.reason)
        if e.reason == "expired" and e.expires_at is not None:
            await _reply(message, "expired", date=fmt.local(e.expires_at, _tz(app), "date"))
        else:
            await _reply(message, e.reason)
        return
    log.info("group %s (%s) subscribed to digests: scope %s", chat.label, chat.title, chat.scope or "all")
    await message.answer(await digests.subscribed_message(app.db, chat, app.settings.tz), parse_mode=None)


async def unsubscribe(message: Message, app: AppContext, bot: Bot) -> None:
    from storage.repo import chats

    if message.chat.type not in GROUP_TYPES:
        await _reply(message, "not_group")
        return
    if not await is_admin(bot, message):
        await _reply(message, "admins_only")
        return
    async with app.db.write() as conn:
        current = await chats.get(conn, message.chat.id)
        if current is None or not current.active:
            stopped = False
        else:
            stopped = await chats.set_active(conn, message.chat.id, False)
    log.info("group %s: /unsubscribe (%s)", message.chat.id, "stopped" if stopped else "was not subscribed")
    await _reply(message, "unsubscribed" if stopped else "not_subscribed")


async def digest_now(message: Message, app: AppContext, bot: Bot) -> None:
    from reports import digests

    if message.chat.type not in GROUP_TYPES:
        await _reply(message, "not_group")
        return
    if not await is_admin(bot, message):
        await _reply(message, "admins_only")
        return
    try:
        queued = await digests.queue_digest_now(
            app.db,
            message.chat.id,
            app.clock(),
            _tz(app),
            app.settings.digest_alert_threshold / 100,
            request_id=str(message.message_id),
        )
    except digests.DigestUnavailable as e:
        await _reply(message, e.reason)
        return
    except Exception:
        log.exception("group %s: /digest failed", message.chat.id)
        await _reply(message, "failed")
        return
    if queued:
        app.wake_outbox()
        await _reply(message, "digest_queued")


def _tz(app: AppContext) -> ZoneInfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(app.settings.tz)


def setup() -> Router:
    router = Router(name="groups")
    router.message.register(subscribe, Command("subscribe"))
    router.message.register(unsubscribe, Command("unsubscribe"))
    router.message.register(digest_now, Command("digest"))
    # A subscribed group that turns into a supergroup: Telegram tells us the new id.
    router.message.register(_migrated, Magic(F.migrate_to_chat_id))
    # a citizen's command in a group: the survey is answered in a private chat with the bot
    router.message.register(
        _private_only, Command(*CITIZEN_COMMANDS), Magic(F.chat.type.in_({ChatType.GROUP, ChatType.SUPERGROUP}))
    )
    return router


async def _private_only(message: Message, app: AppContext) -> None:
    """One line: where the survey is answered (with the link to the bot, when its name is known)."""
    username = app.bot_username or app.settings.telegram_bot_username
    link = f"https://t.me/{username.lstrip('@')}" if username else ""
    await _reply(message, "private_only" if link else "private_only_nolink", link=link)


async def _migrated(message: Message, app: AppContext) -> None:
    from storage.repo import outbox

    new_id = message.migrate_to_chat_id
    if new_id is None:
        return
    async with app.db.write() as conn:
        await outbox.reroute_group(conn, str(message.chat.id), str(new_id))
    log.info("group %s became supergroup %s: digests follow", message.chat.id, new_id)


__all__ = ["is_admin", "setup"]

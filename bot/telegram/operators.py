"""Operator commands in a private chat with the bot: /campaigns, /stats CODE, /launch CODE, /close CODE (with a
confirmation button) and /links CODE.

Only users in the `operator` table may use them (seeded from OPERATOR_IDS at start-up; managed with
`khaosat operators`). Anyone else gets a plain "not allowed" and an audit row with outcome "denied". Every
operator action writes an audit row ("telegram:<user id>", the same action names as the CLI); a change and
its row are written in one transaction. Group chats are left to the other routers.

Include this router before the citizens' router, so that these commands are never taken for answers.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable, Sequence
from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)

from bot.telegram.callbacks import ConfirmCb
from bot.telegram.filters import Magic
from bot.telegram.texts import operator_texts

if TYPE_CHECKING:
    from bot.context import AppContext
    from reports.stats import Share
    from storage.records import CampaignRecord

log = logging.getLogger(__name__)

NOT_ALLOWED = operator_texts.both("not_allowed", " / ")
MESSAGE_LIMIT = 4000  # Telegram's limit is 4096 characters; leave room for HTML entities

OPERATOR_COMMANDS = ("campaigns", "stats", "launch", "close", "links")
ACTIONS = {
    "campaigns": "campaign.list",
    "stats": "stats",
    "launch": "campaign.launch",
    "close": "campaign.close",
    "links": "campaign.links",
}


def status_text(status: str) -> str:
    """A campaign's status, in Vietnamese and English ("đang chạy / active")."""
    return operator_texts.both(f"status_{status}", " / ") if f"status_{status}" in operator_texts else status


def setup() -> Router:
    router = Router(name="operators")
    router.message.filter(Magic(F.chat.type == "private"))
    router.message.register(campaigns_command, Command("campaigns"))
    router.message.register(stats_command, Command("stats"))
    router.message.register(launch_command, Command("launch"))
    router.message.register(close_command, Command("close"))
    router.message.register(links_command, Command("links"))
    router.callback_query.register(close_confirmed, ConfirmCb.filter(F.action == "close"))
    return router


# --- helpers -------------------------------------------------------------------------------------------------


def actor(user_id: int) -> str:
    return f"telegram:{user_id}"


async def _record(app: AppContext, user_id: int, action: str, arguments: dict[str, Any], outcome: str) -> None:
    from storage.repo import audit

    async with app.db.write() as conn:
        await audit.record(conn, actor(user_id), action, arguments, outcome, now=app.clock())


async def _allowed(message: Message, app: AppContext, command: str) -> bool:
    """True for an operator; anyone else gets "not allowed" and a "denied" audit row."""
    from storage.repo import operators

    user = message.from_user
    if user is not None:
        async with app.db.read() as conn:
            if await operators.is_operator(conn, user.id):
                return True
    await _record(app, user.id if user else 0, ACTIONS[command], {"text": (message.text or "")[:200]}, "denied")
    await message.answer(NOT_ALLOWED)
    return False


def chunks(lines: Iterable[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Lines joined into messages of at most `limit` characters (a longer line is cut)."""
    out: list[str] = []
    current = ""
    for line in lines:
        line = line[:limit]
        if current and len(current) + 1 + len(line) > limit:
            out.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        out.append(current)
    return out


async def _send(message: Message, lines: Sequence[str]) -> None:
    for text in chunks(lines):
        await message.answer(text, parse_mode="HTML", link_preview_options=LinkPreviewOptions(is_disabled=True))


async def _answer(query: CallbackQuery, text: str, alert: bool = False) -> None:
    """Answer a button press; a query that is too old (or not a real one) is no reason to fail."""
    with suppress(TelegramBadRequest):
        await query.answer(text[:200], show_alert=alert)


async def _edit(message: Message | None, text: str) -> None:
    """Replace the confirmation's text (and its buttons); a message gone or unchanged is no reason to fail."""
    if message is not None:
        with suppress(TelegramBadRequest):
            await message.edit_text(text)


def _both(key: str) -> str:
    """A short phrase of the catalog in Vietnamese and English ("Phản hồi / Responses"), as HTML."""
    return html.escape(operator_texts.both(key, " / "))


def _usage(command: str) -> str:
    return operator_texts.both("usage", " / ", command=command)


def _when(c: CampaignRecord, value: datetime, style: str = "datetime") -> str:
    from reports import format as fmt

    return fmt.local(value, c.timezone, style)


async def _campaign(message: Message, app: AppContext, command: CommandObject, name: str) -> CampaignRecord | None:
    """The campaign named in the command, or None after telling the operator (and the audit log) why not."""
    from storage.repo import campaigns

    user_id = message.from_user.id if message.from_user else 0
    code = (command.args or "").strip().split()[0] if (command.args or "").strip() else ""
    if not code:
        await _record(app, user_id, ACTIONS[name], {"error": "no campaign code"}, "error")
        await message.answer(_usage(name))
        return None
    try:
        async with app.db.read() as conn:
            return await campaigns.get(conn, code)
    except campaigns.CampaignNotFound:
        await _record(app, user_id, ACTIONS[name], {"code": code, "error": "unknown campaign"}, "error")
        await message.answer(operator_texts.both("unknown_campaign", " / ", code=code), parse_mode=None)
        return None


def _share(share: Share) -> str:
    """A share in both languages (the small-cell rules of `reports.format`), as HTML."""
    from reports import format as fmt
    from reports import stats as pure

    text = fmt.share(share, "vi")
    if share.kind is pure.CellKind.COUNTS_ONLY:
        text += " " + operator_texts.both("satisfied", " / ")
    elif share.kind is pure.CellKind.UNSTABLE:
        text = text.replace(operator_texts("few_responses", "vi"), operator_texts.both("few_responses", " / "))
    return html.escape(text)


# --- commands ------------------------------------------------------------------------------------------------


async def campaigns_command(message: Message, app: AppContext) -> None:
    from storage.repo import campaigns, stats

    if not await _allowed(message, app, "campaigns"):
        return
    async with app.db.read() as conn:
        found = await campaigns.list_all(conn)
        totals = {c.id: await stats.response_totals(conn, c.id) for c in found}
    await _record(app, message.from_user.id if message.from_user else 0, "campaign.list", {}, "ok")
    if not found:
        await message.answer(operator_texts.both("no_campaigns", " / "))
        return
    lines = [f"<b>{_both('campaigns')}</b> ({len(found)})"]
    for c in found:
        t = totals[c.id]
        lines += [
            "",
            f"<code>{html.escape(c.code)}</code> · {status_text(c.status)}",
            html.escape(c.title),
            f"{_when(c, c.starts_at, 'date')} – {_when(c, c.ends_at, 'date')}"
            f" · {len(c.ward_codes)} {_both('wards')}"
            f" · {t.completed}/{t.started} {_both('completed')}",
        ]
    await _send(message, lines)


async def stats_command(message: Message, command: CommandObject, app: AppContext) -> None:
    from reports import format as fmt
    from reports import stats as pure
    from storage.repo import stats, surveys

    if not await _allowed(message, app, "stats"):
        return
    c = await _campaign(message, app, command, "stats")
    if c is None:
        return
    async with app.db.read() as conn:
        survey = await surveys.definition(conn, c.survey_id)
        qid = survey.reporting.overall
        progress = await stats.ward_progress(conn, c.id)
        totals = await stats.response_totals(conn, c.id)
        by_ward = await stats.scale_counts(conn, c.id, [qid], by_ward=True) if qid else {}
        overall = (await stats.scale_counts(conn, c.id, [qid]))[(qid, None)] if qid else {}
    await _record(app, message.from_user.id if message.from_user else 0, "stats", {"code": c.code}, "ok")
    rate = f"{fmt.percent(totals.completion_rate)}" if totals.completion_rate is not None else "-"
    lines = [
        f"<b>{html.escape(c.title)}</b> (<code>{html.escape(c.code)}</code>) · {status_text(c.status)}",
        f"{_both('responses')}: {totals.started} · {_both('completed')}: {totals.completed} · "
        f"{_both('completion_rate')}: {rate}",
    ]
    if c.simulated:  # the first-start demo: made-up answers, said everywhere they show
        lines.insert(0, f"<b>⚠ {html.escape(operator_texts.both('simulated', ' / '))}</b>")
    if qid:
        with fmt.exact_figures():  # an operator's command: exact counts, as in their dashboard and CLI
            lines.append(f"{_both('overall')}: {_share(pure.index_from_counts(overall).satisfied)}")
            lines += ["", f"<b>{_both('by_ward')}</b>"]
            for p in progress:
                share = pure.index_from_counts(by_ward.get((qid, p.code), {})).satisfied
                lines.append(f"• {html.escape(p.name)}: {p.completed} · {_share(share)}")
        lines += ["", f"<i>{html.escape(operator_texts.both('note'))}</i>"]
    await _send(message, lines)


async def launch_command(message: Message, command: CommandObject, app: AppContext) -> None:
    from storage.repo import audit, campaigns

    if not await _allowed(message, app, "launch"):
        return
    c = await _campaign(message, app, command, "launch")
    if c is None:
        return
    user_id = message.from_user.id if message.from_user else 0
    now = app.clock()
    try:
        async with app.db.write() as conn:
            launched = await campaigns.launch(conn, c.code, now)
            await audit.record(conn, actor(user_id), "campaign.launch", {"code": c.code}, now=now)
    except campaigns.CampaignError as e:
        await _record(app, user_id, "campaign.launch", {"code": c.code, "error": str(e)}, "error")
        await message.answer(f"{operator_texts.both('not_launched', ' / ')} {e}", parse_mode=None)
        return
    until = _when(launched, launched.ends_at)
    done = operator_texts.both("launched", " / ", code=c.code, wards=len(launched.ward_codes), until=until)
    await message.answer(f"{done} {_both('links')}: /links {c.code}", parse_mode=None)


async def close_command(message: Message, command: CommandObject, app: AppContext) -> None:
    from storage.repo import stats

    if not await _allowed(message, app, "close"):
        return
    c = await _campaign(message, app, command, "close")
    if c is None:
        return
    if c.status == "closed":
        await message.answer(operator_texts.both("already_closed", " / ", code=c.code), parse_mode=None)
        return
    async with app.db.read() as conn:
        totals = await stats.response_totals(conn, c.id)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_both("close"), callback_data=ConfirmCb(action="close", yes=True, arg=c.code).pack()
                ),
                InlineKeyboardButton(
                    text=_both("cancel"), callback_data=ConfirmCb(action="close", yes=False, arg=c.code).pack()
                ),
            ]
        ]
    )
    question = operator_texts.both("confirm_close", code=c.code, title=c.title, in_progress=totals.in_progress)
    await message.answer(question, parse_mode=None, reply_markup=keyboard)


async def close_confirmed(query: CallbackQuery, callback_data: ConfirmCb, app: AppContext) -> None:
    from storage.repo import audit, campaigns, operators

    user_id = query.from_user.id
    async with app.db.read() as conn:
        allowed = await operators.is_operator(conn, user_id)
    if not allowed:
        await _record(app, user_id, "campaign.close", {"code": callback_data.arg}, "denied")
        await _answer(query, NOT_ALLOWED, alert=True)
        return
    code = callback_data.arg
    message = query.message if isinstance(query.message, Message) else None
    if not callback_data.yes:
        await _answer(query, _both("cancelled"))
        await _edit(message, html.escape(operator_texts.both("not_closed", " / ", code=code)))
        return
    now = app.clock()
    try:
        async with app.db.write() as conn:
            _, abandoned, addresses = await campaigns.close(conn, code, now)
            arguments = {"code": code, "abandoned": abandoned, "addresses_deleted": addresses}
            await audit.record(conn, actor(user_id), "campaign.close", arguments, now=now)
    except campaigns.CampaignError as e:
        await _record(app, user_id, "campaign.close", {"code": code, "error": str(e)}, "error")
        await _answer(query, f"{operator_texts.both('close_failed', ' / ')} {e}", alert=True)
        return
    await _answer(query, _both("closed"))
    summary = operator_texts.both("closed_summary", " / ", code=code, abandoned=abandoned, addresses=addresses)
    text = html.escape(summary)
    await _edit(message, text)


async def links_command(message: Message, command: CommandObject, app: AppContext) -> None:
    from reports.links import deep_link
    from storage.repo import wards

    if not await _allowed(message, app, "links"):
        return
    c = await _campaign(message, app, command, "links")
    if c is None:
        return
    user_id = message.from_user.id if message.from_user else 0
    if c.status == "closed":
        await _record(app, user_id, "campaign.links", {"code": c.code, "error": "closed"}, "error")
        await message.answer(operator_texts.both("links_closed", " / ", code=c.code), parse_mode=None)
        return
    username = app.bot_username or app.settings.telegram_bot_username
    if not username:
        await _record(app, user_id, "campaign.links", {"code": c.code, "error": "bot username unknown"}, "error")
        await message.answer(operator_texts.both("no_username", " / "), parse_mode=None)
        return
    async with app.db.read() as conn:
        units = await wards.get_many(conn, list(c.ward_codes))
    await _record(app, user_id, "campaign.links", {"code": c.code}, "ok")
    lines = [f"<b>{html.escape(c.title)}</b> (<code>{html.escape(c.code)}</code>): {len(units)} {_both('wards')}"]
    for u in units:
        lines.append(f"{u.code} · {html.escape(u.name)}\n{html.escape(deep_link(username, c.code, u.code))}")
    lines.append(f"<i>{_both('posters')}: khaosat campaign links {html.escape(c.code)} --qr {_both('folder')}</i>")
    await _send(message, lines)


# --- menus ---------------------------------------------------------------------------------------------------


async def set_operator_commands(
    bot: Bot, operator_ids: Iterable[int], citizen_commands: dict[str, Sequence[BotCommand]] | None = None
) -> list[int]:
    """Give each operator, in their private chat with the bot, the citizens' commands plus the operator ones
    (BotCommandScopeChat, Vietnamese and English). Citizens never see the operator commands.

    The citizens' commands are read from the bot (the all-private-chats scope, else the default one) unless
    given; call this after setting them. Returns the ids Telegram refused (e.g. a user who never started the
    bot: "chat not found"); those are logged and skipped.
    """
    if citizen_commands is None:
        citizen_commands = {}
        for language in ("vi", "en"):
            code = "" if language == "vi" else language
            found = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code=code or None)
            if not found:
                found = await bot.get_my_commands(scope=BotCommandScopeDefault(), language_code=code or None)
            citizen_commands[language] = list(found)
    failed: list[int] = []
    for user_id in dict.fromkeys(operator_ids):
        try:
            for language in ("vi", "en"):
                own = [
                    BotCommand(command=name, description=operator_texts(f"command_{name}", language))
                    for name in OPERATOR_COMMANDS
                ]
                names = {b.command for b in own}
                base = [
                    b
                    for b in citizen_commands.get(language) or citizen_commands.get("vi", [])
                    if b.command not in names
                ]
                await bot.set_my_commands(
                    [*base, *own],
                    scope=BotCommandScopeChat(chat_id=user_id),
                    language_code=None if language == "vi" else language,
                )
        except TelegramAPIError as e:
            log.warning("cannot set the operator commands for %s: %s", user_id, e)
            failed.append(user_id)
    return failed

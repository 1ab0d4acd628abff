"""`khaosat chats ...`: officials' group chats that receive digests, and the codes that subscribe them."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import click

from bot.commands.common import ensure_schema, run
from bot.commands.ops import audited

if TYPE_CHECKING:
    from bot.commands.ops import Audit
    from bot.settings import Settings
    from storage.db import Database


@click.group()
def chats() -> None:
    """Officials' group chats that receive digests: issue subscription codes, list, remove."""


def parse_scope(value: str) -> list[int] | None:
    """'all' -> None (every ward); '70,235' -> [70, 235]. Raises click.BadParameter otherwise."""
    text = value.strip()
    if text.lower() == "all":
        return None
    codes: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit():
            raise click.BadParameter(
                f"{part!r} is not a ward code: use 'all' or ward codes separated by commas, e.g. 70,235 "
                "(see 'khaosat wards list')",
                param_hint="'--scope'",
            )
        codes.append(int(part))
    return codes


@chats.command()
@click.option(
    "--scope",
    default=None,
    help="'all', or ward codes separated by commas (e.g. 70,235); with --dimensions the default is all.",
)
@click.option(
    "--dimensions",
    default=None,
    metavar="N,...",
    help="A lead department's group: a digest of these PAPI dimensions (1-8) across the scope's wards.",
)
@click.option(
    "--schedule",
    default="weekly mon 08:00",
    show_default=True,
    help='"daily HH:MM", "weekly DAY HH:MM" or a cron expression, in the TZ time zone.',
)
@click.option("--lang", "language", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
@click.option("--days", type=click.IntRange(1, 365), default=None, help="Days the code stays valid (default 7).")
def code(scope: str | None, dimensions: str | None, schedule: str, language: str, days: int | None) -> None:
    """Issue a one-time code that subscribes a group chat to digests.

    An official adds the bot to the group (Telegram or Zalo) and sends /subscribe CODE there (on Telegram, group
    administrators only; Zalo says nothing about administrators, so there the code is what counts). With
    --dimensions the group is a lead department's: its digest follows those dimensions in every ward of the
    scope (scores with their intervals, and the wards that need attention).

    \b
    Examples:
      khaosat chats code --scope all --schedule "daily 08:00"
      khaosat chats code --scope 70,235 --schedule "weekly mon 08:00" --lang en
      khaosat chats code --scope 70 --schedule "0 17 * * 5"
      khaosat chats code --dimensions 5,6 --schedule "weekly mon 08:00"
    """
    from bot.commands.departments import parse_dimensions
    from reports.schedule import ScheduleError, parse_schedule

    if scope is None and dimensions is None:
        raise click.BadParameter(
            "give the wards: 'all' or ward codes separated by commas, e.g. 70,235", param_hint="'--scope'"
        )
    wards = parse_scope(scope or "all")
    led = parse_dimensions(dimensions) if dimensions is not None else None
    try:
        parsed = parse_schedule(schedule)
    except ScheduleError as e:
        raise click.BadParameter(str(e), param_hint="'--schedule'") from None

    async def body(database: Database, cfg: Settings, log: Audit) -> None:
        from zoneinfo import ZoneInfo

        from storage.repo import chats as repo
        from storage.repo import wards as ward_repo

        tz = ZoneInfo(cfg.tz)
        valid_days = days if days is not None else cfg.subscription_code_days
        log.arguments["days"] = valid_days
        async with database.write() as conn:
            try:
                record = await repo.issue_code(
                    conn,
                    scope=wards,
                    schedule=parsed.text,
                    language=language,
                    now=log.now,
                    valid_for=timedelta(days=valid_days),
                    dimensions=led,
                )
            except repo.ChatError as e:
                raise click.BadParameter(str(e), param_hint="'--scope'") from None
            await log.record(conn)
            units = await ward_repo.get_many(conn, list(record.scope)) if record.scope is not None else []
        click.echo(f"code {record.display} (valid until {record.expires_at.astimezone(tz):%Y-%m-%d %H:%M} {cfg.tz})")
        if record.scope is None:
            click.echo("scope: all wards")
        else:
            click.echo("scope: " + ", ".join(f"{u.name} ({u.code})" for u in units))
        if record.dimensions is not None:
            from bot.commands.departments import dimension_names
            from storage.repo import departments

            async with database.read() as conn:
                leads = await departments.lead_departments(conn)
            click.echo("dimensions: " + dimension_names(record.dimensions))
            heads = sorted({leads[d].code for d in record.dimensions if d in leads})
            click.echo("lead department: " + (", ".join(heads) if heads else "none yet (khaosat departments assign)"))
        click.echo(f"schedule: {parsed.text} ({parsed.describe('en')}, {cfg.tz}); language: {language}")
        # In groups, bots in privacy mode see only commands addressed to them: /subscribe@<bot> is the sure way.
        command = f"/subscribe@{cfg.telegram_bot_username}" if cfg.telegram_bot_username else "/subscribe"
        click.echo(f"An administrator of the officials' group adds the bot and sends: {command} {record.display}")

    arguments = {"scope": "all" if wards is None else wards, "schedule": parsed.text, "language": language}
    if led is not None:
        arguments["dimensions"] = led
    audited("chats.code", arguments, body)


@chats.command(name="list")
@click.option("--codes", "show_codes", is_flag=True, help="List the subscription codes instead.")
def list_(show_codes: bool) -> None:
    """List subscribed group chats (tab-separated): chat id, channel (telegram, zalo), state, schedule, language,
    scope, title.

    \b
    Examples:
      khaosat chats list
      khaosat chats list --codes
    """

    async def main(database: Database, cfg: Settings) -> None:
        from zoneinfo import ZoneInfo

        from bot.context import utc_now
        from storage.repo import chats as repo

        await ensure_schema(database, cfg, auto=True)
        tz = ZoneInfo(cfg.tz)
        async with database.read() as conn:
            if show_codes:
                codes = await repo.list_codes(conn)
                if not codes:
                    click.echo("no subscription codes; issue one with 'khaosat chats code --scope ...'")
                    return
                now = utc_now()
                for c in codes:
                    if c.used_at is not None:
                        state = f"used by {c.used_by} {c.used_at.astimezone(tz):%Y-%m-%d %H:%M}"
                    elif c.expires_at <= now:
                        state = "expired"
                    else:
                        state = f"valid until {c.expires_at.astimezone(tz):%Y-%m-%d %H:%M}"
                    scope = "all" if c.scope is None else ",".join(map(str, c.scope))
                    if c.dimensions is not None:
                        scope += " dimensions " + ",".join(map(str, c.dimensions))
                    click.echo(f"{c.display}\t{state}\t{c.schedule}\t{c.language}\t{scope}")
                return
            found = await repo.list_chats(conn)
        if not found:
            click.echo("no group chats subscribed; issue a code with 'khaosat chats code --scope ...'")
            return
        for chat in found:
            scope = "all" if chat.scope is None else ",".join(map(str, chat.scope))
            if chat.dimensions is not None:
                scope += " dimensions " + ",".join(map(str, chat.dimensions))
            state = "active" if chat.active else "paused"
            click.echo(
                f"{chat.address}\t{chat.channel}\t{state}\t{chat.schedule}\t{chat.language}\t{scope}\t{chat.title}"
            )

    run(main)


@chats.command(context_settings={"ignore_unknown_options": True})
@click.argument("chat_id")
def remove(chat_id: str) -> None:
    """Stop digests to a group chat and forget it (what is still queued for it is cancelled). CHAT_ID as
    'khaosat chats list' shows it; "zalo:ID" (or "telegram:ID") when the same id is on both channels.

    \b
    Examples:
      khaosat chats remove -1001234567890
      khaosat chats remove zalo:5f1c2a9be0d34a7c
    """

    async def body(database: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import chats as repo

        async with database.write() as conn:
            found = await repo.find(conn, chat_id)
            if len(found) > 1:
                named = " or ".join(f"{c.channel}:{c.address}" for c in found)
                raise click.ClickException(f"{chat_id} is a chat on more than one channel: say which, {named}")
            try:
                if not found:
                    raise repo.ChatError(f"no official chat with id {chat_id}; see 'khaosat chats list'")
                chat = await repo.remove(conn, found[0].address, found[0].channel)
            except repo.ChatError as e:
                raise click.ClickException(str(e)) from None
            await log.record(conn)
        click.echo(f"removed group chat {chat.label} ({chat.title or 'untitled'}); it gets no more digests")

    audited("chats.remove", {"chat_id": chat_id}, body)

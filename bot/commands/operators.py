"""`khaosat operators ...`: who may run campaigns from Telegram (/campaigns, /stats, /launch, /close, /links)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bot.commands.ops import audited

if TYPE_CHECKING:
    from bot.commands.ops import Audit
    from bot.settings import Settings
    from storage.db import Database


# click 8.5 made ParamType generic (type-arg); a subscripted base would fail at run time on older click
class TelegramUserId(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    name = "telegram_user_id"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        text = str(value).strip()
        if not text.isdigit() or not 0 < int(text) < 2**63:
            self.fail(f"{text!r} is not a Telegram user id (a positive number, e.g. 123456789)", param, ctx)
        return int(text)


USER_ID = TelegramUserId()
ARGS = {"ignore_unknown_options": True}  # so that "-5" is reported as a bad id, not as an unknown option


@click.group()
def operators() -> None:
    """Operators: Telegram users allowed to run campaigns in a private chat with the bot.

    OPERATOR_IDS (comma-separated Telegram user ids) adds operators when the bot starts and before these
    commands run. A person finds their Telegram user id by sending /start to @userinfobot.
    """


@operators.command(context_settings=ARGS)
@click.argument("telegram_user_id", type=USER_ID)
@click.option("--name", default="", help="Who this is (for the list), e.g. 'Nguyễn Văn A, Sở Nội vụ'.")
def add(telegram_user_id: int, name: str) -> None:
    """Allow a Telegram user to use the operator commands. They see them in the bot's menu after the bot's
    next start.

    \b
    Examples:
      khaosat operators add 123456789 --name "Nguyễn Văn A"
    """

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from bot.commands.ops import actor
        from storage.repo import operators as repo

        async with db.write() as conn:
            created = await repo.add(conn, telegram_user_id, log.now, name=name.strip(), added_by=actor())
            log.arguments["created"] = created
            await log.record(conn)
        if created:
            click.echo(f"{telegram_user_id} is now an operator")
        else:
            click.echo(f"{telegram_user_id} is already an operator; nothing changed")

    audited("operators.add", {"telegram_user_id": telegram_user_id, "name": name}, body)


@operators.command(context_settings=ARGS)
@click.argument("telegram_user_id", type=USER_ID)
def remove(telegram_user_id: int) -> None:
    """Stop a Telegram user from using the operator commands.

    \b
    Examples:
      khaosat operators remove 123456789
    """

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import operators as repo

        if telegram_user_id in cfg.operator_id_list:
            raise click.ClickException(
                f"{telegram_user_id} is listed in OPERATOR_IDS, which adds it back at every start; "
                "remove it from OPERATOR_IDS (in .env) first"
            )
        async with db.write() as conn:
            try:
                await repo.remove(conn, telegram_user_id)
            except repo.OperatorError as e:
                raise click.ClickException(str(e)) from None
            await log.record(conn)
        click.echo(f"{telegram_user_id} is no longer an operator")

    audited("operators.remove", {"telegram_user_id": telegram_user_id}, body)


@operators.command(name="list")
def list_() -> None:
    """List the operators.

    \b
    Examples:
      khaosat operators list
    """

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from bot.commands.ops import local, print_table
        from storage.repo import operators as repo

        async with db.read() as conn:
            found = await repo.list_all(conn)
        if not found:
            click.echo("no operators yet; add one with 'khaosat operators add TELEGRAM_USER_ID' or OPERATOR_IDS")
            return
        print_table(
            ["Telegram user id", "Name", "Added", "Added by"],
            [(o.telegram_user_id, o.name, local(o.added_at, cfg.tz), o.added_by) for o in found],
            right=(0,),
        )

    audited("operators.list", {}, body)

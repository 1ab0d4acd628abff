"""`khaosat users ...`: logins for the web dashboard (operators and officials)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from bot.commands.ops import audited

if TYPE_CHECKING:
    from bot.commands.ops import Audit
    from bot.settings import Settings
    from storage.db import Database


@click.group()
def users() -> None:
    """Dashboard logins. Operators see every campaign and can launch and close campaigns, issue digest codes and
    download exports; officials see the campaigns of their wards (read only), and with --dimensions only those
    PAPI dimensions (a lead department's staff); monitors (the Fatherland Front) see how each campaign is run:
    its set-up, questionnaire versions, the audit log, responses per ward and day and the methods, never a
    result, an answer or an identity, and every page they open is in the audit log.

    The dashboard is at http://WEB_HOST:WEB_PORT/dashboard/ (or PUBLIC_URL/dashboard/) while 'khaosat run'
    runs. Passwords are stored as argon2 hashes only.
    """


def _scope(role: str, scope: str | None, dimensions: str | None = None) -> list[int] | None:
    from bot.commands.chats import parse_scope

    if role in ("operator", "monitor"):
        if scope is not None and scope.strip().lower() != "all":
            raise click.BadParameter(f"{role}s see every ward; give --scope only to officials", param_hint="'--scope'")
        if dimensions is not None:
            raise click.BadParameter(
                f"{role}s are not limited to dimensions; give --dimensions only to officials",
                param_hint="'--dimensions'",
            )
        return None
    if scope is None and dimensions is not None:
        return None  # a department's official: its dimensions in every ward
    if scope is None:
        raise click.BadParameter(
            "an official needs --scope: ward codes separated by commas (e.g. 70,235; see 'khaosat wards list'), "
            "or 'all' for every ward",
            param_hint="'--scope'",
        )
    return parse_scope(scope)


def read_password(from_stdin: bool, prompt: str = "Password") -> str:
    """The new password: one line of standard input, or typed twice at a prompt (not echoed). Refused with a
    message when too short."""
    from web.auth import password_problem

    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
    else:
        password = click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    problem = password_problem(password)
    if problem is not None:
        raise click.ClickException(problem)
    return password


STDIN_HELP = "Read the password from the first line of standard input (for scripts) instead of asking."


@users.command()
@click.argument("name")
@click.option(
    "--role", type=click.Choice(["operator", "official", "monitor"]), required=True, help="What the user may do."
)
@click.option("--scope", default=None, metavar="all|WARD,...", help="Officials: the ward codes they see, or 'all'.")
@click.option(
    "--dimensions",
    default=None,
    metavar="N,...",
    help="Officials: only these PAPI dimensions (1-8), e.g. a lead department's (every ward unless --scope).",
)
@click.option("--password-stdin", "password_stdin", is_flag=True, help=STDIN_HELP)
def add(name: str, role: str, scope: str | None, dimensions: str | None, password_stdin: bool) -> None:
    """Add a dashboard login; asks for its password (at least 10 characters) twice.

    \b
    Examples:
      khaosat users add lan.nguyen --role operator
      khaosat users add hoankiem --role official --scope 70
      khaosat users add dongda --role official --scope 235,256
      khaosat users add snv --role official --dimensions 5,6
      khaosat users add mttq --role monitor
      printf 'a long password\\n' | khaosat users add bot --role official --scope all --password-stdin
    """
    from bot.commands.departments import parse_dimensions
    from storage.repo import users as repo

    try:
        login = repo.check_name(name)
    except repo.UserError as e:
        raise click.BadParameter(str(e), param_hint="'NAME'") from None
    wards = _scope(role, scope, dimensions)
    led = parse_dimensions(dimensions) if dimensions is not None else None
    password = read_password(password_stdin)

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        import asyncio

        from web.auth import hash_password

        password_hash = await asyncio.to_thread(hash_password, password)
        async with db.write() as conn:
            try:
                user = await repo.add(conn, login, password_hash, role, wards, log.now, dimensions=led)
            except repo.UserError as e:
                raise click.ClickException(str(e)) from None
            await log.record(conn)
        where = "every ward" if user.scope is None else "wards " + ", ".join(map(str, user.scope))
        if user.dimensions is not None:
            where += "; dimensions " + ", ".join(map(str, user.dimensions))
        if user.is_monitor:
            where = "oversight: set-up, versions, audit log, response counts, methods; no results"
        click.echo(f"added {user.role} {user.name!r} ({where})")

    arguments: dict[str, object] = {"name": login, "role": role, "scope": wards or "all"}
    if led is not None:
        arguments["dimensions"] = led
    audited("users.add", arguments, body)


@users.command(name="list")
def list_() -> None:
    """List the dashboard logins.

    \b
    Examples:
      khaosat users list
    """

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from bot.commands.ops import first_lines, local, print_table
        from storage.repo import users as repo

        async with db.read() as conn:
            found = await repo.list_all(conn)
        if not found:
            click.echo("no dashboard users yet; add one with 'khaosat users add NAME --role operator'")
            return
        print_table(
            ["Name", "Role", "Scope", "Dimensions", "State", "Added"],
            [
                (
                    u.name,
                    u.role,
                    "all" if u.scope is None else first_lines([str(w) for w in u.scope], 8),
                    "all" if u.dimensions is None else ",".join(map(str, u.dimensions)),
                    "disabled" if u.disabled else "active",
                    local(u.created_at, cfg.tz),
                )
                for u in found
            ],
        )

    audited("users.list", {}, body)


@users.command()
@click.argument("name")
def remove(name: str) -> None:
    """Remove a dashboard login (its open sessions end at their next request).

    \b
    Examples:
      khaosat users remove hoankiem
    """

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import users as repo

        async with db.write() as conn:
            try:
                user = await repo.remove(conn, name)
            except repo.UserError as e:
                raise click.ClickException(str(e)) from None
            await log.record(conn)
        click.echo(f"removed {user.role} {user.name!r}")

    audited("users.remove", {"name": name}, body)


@users.command()
@click.argument("name")
@click.option("--password-stdin", "password_stdin", is_flag=True, help=STDIN_HELP)
def passwd(name: str, password_stdin: bool) -> None:
    """Set a new password for a dashboard login (its open sessions end).

    \b
    Examples:
      khaosat users passwd admin
    """
    password = read_password(password_stdin, "New password")

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        import asyncio

        from storage.repo import users as repo
        from web.auth import hash_password

        password_hash = await asyncio.to_thread(hash_password, password)
        async with db.write() as conn:
            try:
                user = await repo.set_password(conn, name, password_hash)
            except repo.UserError as e:
                raise click.ClickException(str(e)) from None
            await log.record(conn)
        click.echo(f"password of {user.name!r} changed")

    audited("users.passwd", {"name": name}, body)


@users.command()
@click.argument("name")
@click.option("--enable", is_flag=True, help="Allow the login again.")
def disable(name: str, enable: bool) -> None:
    """Stop a dashboard login from logging in (or allow it again with --enable) without removing it.

    \b
    Examples:
      khaosat users disable hoankiem
      khaosat users disable hoankiem --enable
    """

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import users as repo

        async with db.write() as conn:
            try:
                user = await repo.set_disabled(conn, name, not enable)
            except repo.UserError as e:
                raise click.ClickException(str(e)) from None
            await log.record(conn)
        click.echo(f"{user.name!r} is {'disabled' if user.disabled else 'enabled'}")

    audited("users.enable" if enable else "users.disable", {"name": name}, body)


@users.command()
@click.argument("name")
def unlock(name: str) -> None:
    """End the login lock-outs of a dashboard login (from every address) and forget its failed attempts.

    After 5 failed logins from one address, each further failure locks that name out from that address for
    1, 2, 4 ... up to 15 minutes. Behind a reverse proxy every client has the proxy's address, so anyone can
    keep a name locked out; this lets its owner in again at once.

    \b
    Examples:
      khaosat users unlock hoankiem
    """

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import logins
        from storage.repo import users as repo

        key = repo.normalise_name(name)
        async with db.write() as conn:
            if await repo.get(conn, key) is None:
                raise click.ClickException(f"no user named {key!r}; see 'khaosat users list'")
            cleared = await logins.clear_failures(conn, key)
            await log.record(conn)
        if cleared:
            click.echo(f"{key!r} unlocked: its failed logins from {cleared} address(es) are forgotten")
        else:
            click.echo(f"{key!r} had no failed logins")

    audited("users.unlock", {"name": name}, body)

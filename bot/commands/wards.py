"""`khaosat wards ...`: administrative units from the vietnam-provinces package."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bot.commands.common import ensure_schema, run
from bot.commands.ops import Audit, audited

if TYPE_CHECKING:
    from bot.settings import Settings
    from storage.db import Database


@click.group()
def wards() -> None:
    """Wards and communes: import a province, search."""


@wards.command(name="import")
@click.option("--province", required=True, type=int, help="Province code (Hà Nội is 1, TP Hồ Chí Minh 79).")
def import_(province: int) -> None:
    """Import (or refresh) a province's wards, communes and special zones.

    \b
    Examples:
      khaosat wards import --province 1
      khaosat wards import --province 79
    """

    from storage.admin_units import UnknownProvince, province_name

    try:
        name = province_name(province)
    except UnknownProvince:
        raise click.BadParameter(f"no province with code {province}", param_hint="--province") from None

    async def body(database: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import wards as repo

        async with database.write() as conn:
            n = await repo.import_province(conn, province)
            log.arguments["units"] = n
            await log.record(conn)
        click.echo(f"imported {n} units of {name} (province {province})")

    audited("wards.import", {"province": province}, body)


@wards.command(name="list")
@click.option("--search", default=None, help="Part of the name, with or without diacritics.")
@click.option("--province", default=None, type=int, help="Province code (default: the PROVINCE setting).")
def list_(search: str | None, province: int | None) -> None:
    """List wards: code, kind, name (tab-separated).

    \b
    Examples:
      khaosat wards list --search "hoan kiem"
      khaosat wards list --search "đống đa"
    """

    async def main(database: Database, cfg: Settings) -> None:
        from storage.repo import wards as repo

        await ensure_schema(database, cfg, auto=True)
        async with database.read() as conn:
            units = await repo.search(conn, search, province if province is not None else cfg.province)
        if not units:
            raise click.ClickException(f"no ward matches {search!r}" if search else "no wards imported")
        for u in units:
            click.echo(f"{u.code}\t{u.kind}\t{u.name}")

    run(main)

"""`khaosat departments ...`: the city departments that lead PAPI's dimensions (data, not code)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bot.commands.ops import audited

if TYPE_CHECKING:
    from bot.commands.ops import Audit
    from bot.settings import Settings
    from storage.db import Database


def parse_dimensions(value: str, param_hint: str = "'--dimensions'", *, allow_none: bool = False) -> list[int]:
    """'1,2' -> [1, 2] (PAPI's dimensions 1-8); 'none' -> [] when allowed. Raises click.BadParameter otherwise."""
    text = value.strip().lower()
    if allow_none and text == "none":
        return []
    found: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not (part.isdigit() and 1 <= int(part) <= 8):
            raise click.BadParameter(
                f"{part!r} is not one of PAPI's eight dimensions: give numbers 1-8 separated by commas, e.g. 5,6"
                + (" (or 'none')" if allow_none else ""),
                param_hint=param_hint,
            )
        found.append(int(part))
    return sorted(set(found))


def dimension_names(dimensions: tuple[int, ...] | list[int]) -> str:
    """ "5 Public administrative procedures, 6 Public service delivery" """
    from reports.plan import dimension_label

    return ", ".join(f"{d} {dimension_label(d, 'en')}" for d in dimensions)


@click.group()
def departments() -> None:
    """City departments that lead PAPI's eight dimensions: each dimension has one lead department, which follows
    it, urges the wards and reports on it. Departments are data: add, rename and remove them as the city
    reorganises (Hanoi's were merged and renamed in 2025).

    \b
    The eight dimensions:
      1 Participation at local levels        5 Public administrative procedures
      2 Transparency                         6 Public service delivery
      3 Vertical accountability              7 Environmental governance
      4 Control of corruption                8 E-governance
    """


@departments.command()
@click.argument("code")
@click.option("--name", required=True, help='Its Vietnamese name, e.g. "Sở Nội vụ".')
@click.option("--name-en", "name_en", default="", help='Its English name, e.g. "Department of Home Affairs".')
def add(code: str, name: str, name_en: str) -> None:
    """Add a department (then give it dimensions with 'khaosat departments assign').

    \b
    Examples:
      khaosat departments add SNV --name "Sở Nội vụ" --name-en "Department of Home Affairs"
      khaosat departments add SNNMT --name "Sở Nông nghiệp và Môi trường"
    """

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import departments as repo

        async with db.write() as conn:
            try:
                record = await repo.add(conn, code, name, name_en, log.now)
            except repo.DepartmentError as e:
                raise click.ClickException(str(e)) from None
            await log.record(conn)
        click.echo(f"added department {record.code} ({record.name}); give it dimensions with:")
        click.echo(f"  khaosat departments assign {record.code} --dimensions 1,2")

    audited("departments.add", {"code": code, "name": name, "name_en": name_en}, body)


@departments.command(name="list")
def list_() -> None:
    """List the departments and the dimensions each leads, then the dimensions without a lead department.

    \b
    Examples:
      khaosat departments list
    """

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from bot.commands.ops import print_table
        from storage.repo import departments as repo

        async with db.read() as conn:
            found = await repo.list_all(conn)
        if not found:
            click.echo("no departments yet; add one with 'khaosat departments add CODE --name \"Sở ...\"'")
        else:
            print_table(
                ["Code", "Name", "English name", "Leads dimensions"],
                [(d.code, d.name, d.name_en, dimension_names(d.dimensions) or "-") for d in found],
            )
        led = {dim for d in found for dim in d.dimensions}
        free = [dim for dim in range(1, 9) if dim not in led]
        if free:
            click.echo("without a lead department: " + dimension_names(free))

    audited("departments.list", {}, body)


@departments.command()
@click.argument("code")
@click.option("--name", default=None, help="The new Vietnamese name.")
@click.option("--name-en", "name_en", default=None, help="The new English name.")
@click.option("--code", "new_code", default=None, help="A new code.")
def rename(code: str, name: str | None, name_en: str | None, new_code: str | None) -> None:
    """Rename a department (after a merger, say); it keeps the dimensions it leads.

    \b
    Examples:
      khaosat departments rename SNV --name "Sở Nội vụ (hợp nhất)"
      khaosat departments rename STTTT --code SKHCN --name "Sở Khoa học và Công nghệ"
    """

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import departments as repo

        async with db.write() as conn:
            try:
                record = await repo.rename(conn, code, new_code=new_code, name=name, name_en=name_en)
            except repo.DepartmentError as e:
                raise click.ClickException(str(e)) from None
            await log.record(conn)
        english = f" / {record.name_en}" if record.name_en else ""
        click.echo(f"department {record.code}: {record.name}{english}")

    audited("departments.rename", {"code": code, "name": name, "name_en": name_en, "new_code": new_code}, body)


@departments.command()
@click.argument("code")
def remove(code: str) -> None:
    """Remove a department; the dimensions it led are left without a lead department.

    \b
    Examples:
      khaosat departments remove STTTT
    """

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import departments as repo

        async with db.write() as conn:
            try:
                record = await repo.remove(conn, code)
            except repo.DepartmentError as e:
                raise click.ClickException(str(e)) from None
            await log.record(conn)
        click.echo(f"removed department {record.code} ({record.name})")
        if record.dimensions:
            click.echo("now without a lead department: " + dimension_names(record.dimensions))

    audited("departments.remove", {"code": code}, body)


@departments.command()
@click.argument("code")
@click.option("--dimensions", required=True, metavar="N,...|none", help="The dimensions (1-8) it leads from now.")
def assign(code: str, dimensions: str) -> None:
    """Set the PAPI dimensions a department leads: exactly these from now on. A dimension another department
    led moves to this one (each dimension has one lead department); the department's other dimensions are left
    without one.

    \b
    Examples:
      khaosat departments assign SNV --dimensions 1,3,5
      khaosat departments assign SYT --dimensions 6
      khaosat departments assign STTTT --dimensions none
    """
    wanted = parse_dimensions(dimensions, allow_none=True)

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import departments as repo

        async with db.write() as conn:
            try:
                done = await repo.assign(conn, code, wanted, log.now)
            except repo.DepartmentError as e:
                raise click.ClickException(str(e)) from None
            log.arguments.update(moved=done.moved, released=list(done.released))
            await log.record(conn)
        record = done.department
        led = dimension_names(record.dimensions) if record.dimensions else "no dimension"
        click.echo(f"{record.code} ({record.name}) leads: {led}")
        for dimension, previous in sorted(done.moved.items()):
            click.echo(f"dimension {dimension} moved from {previous}")
        if done.released:
            click.echo("now without a lead department: " + dimension_names(done.released))

    audited("departments.assign", {"code": code, "dimensions": wanted}, body)

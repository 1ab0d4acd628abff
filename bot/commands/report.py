"""`khaosat report ...`: reports for the city's annual administrative-reform scoring."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.commands.ops import audited

if TYPE_CHECKING:
    from bot.commands.ops import Audit
    from bot.settings import Settings
    from storage.db import Database


@click.group()
def report() -> None:
    """Reports for the annual administrative-reform (CCHC) score and the emulation ranking."""


@report.command()
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="The calendar year (in TZ).")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="FILE.xlsx (a workbook) or FILE.html (a page to print).",
)
@click.option("--lang", "language", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def annual(year: int, out: Path, language: str, force: bool) -> None:
    """The year's ranking of wards by PAPI dimension: per ward, each dimension's score (or share) with its 95%
    interval, its change from the previous year and an honest rank, the total of the eight dimensions when the
    year measures them all, the completed responses and the method notes. The dashboard shows the same table
    (Xếp hạng năm / Annual ranking).

    A year counts the responses completed in it (1 January - 31 December, in TZ) in every launched campaign
    (not the demo) whose questionnaire measures PAPI dimensions. Rank = 1 + the number of wards whose interval
    lies entirely above the ward's own; equal ranks are ties, marked "=". Only wards with 30 respondents are
    ranked.

    \b
    Examples:
      khaosat report annual --year 2026 --out ranking-2026.xlsx
      khaosat report annual --year 2026 --out ranking-2026.html
      khaosat report annual --year 2026 --out ranking-2026-en.xlsx --lang en
    """
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".html", ".htm"):
        raise click.BadParameter(
            "end the file name in .xlsx (a workbook) or .html (a page to print)", param_hint="'--out'"
        )
    if out.exists() and not force:
        raise click.ClickException(f"{out} already exists; add --force to replace it")
    parent = out.parent
    if not parent.is_dir():
        problem = "is not a folder" if parent.exists() else "does not exist"
        raise click.ClickException(f"cannot write {out}: {parent} {problem}")

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from bot.commands.survey import write_file
        from reports import annual as content
        from storage.repo import departments

        async with db.read() as conn:
            leads = await departments.lead_departments(conn)
            try:
                table = await content.build(conn, year, cfg.tz, leads, "en" if language == "en" else "vi")
            except content.AnnualError as e:
                raise click.ClickException(str(e)) from None
        if suffix == ".xlsx":
            write_file(str(out), lambda name: content.write_xlsx(table, name), force=True)
        else:
            write_file(str(out), lambda name: content.write_html(table, name), force=True)
        ranked = sum(1 for row in table.rows if any(f.rank for f in row.figures.values()))
        log.arguments.update(wards=len(table.rows), campaigns=list(table.campaigns))
        dimensions = ",".join(str(c.number) for c in table.columns)
        click.echo(
            f"wrote {out}: {year}, {len(table.rows)} wards ({ranked} ranked in at least one dimension), "
            f"dimensions {dimensions}; campaigns: {', '.join(table.campaigns)}"
        )
        if not table.previous_campaigns:
            click.echo(f"no campaign measured these dimensions in {year - 1}: no changes are shown", err=True)
        if not table.has_total:
            click.echo("no total (8-80): it needs all eight dimensions scored 1-10", err=True)

    audited("report.annual", {"year": year, "out": str(out), "language": language}, body)

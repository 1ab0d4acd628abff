"""`khaosat export CODE`: a campaign's responses as CSV or XLSX."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.commands.ops import audited

if TYPE_CHECKING:
    from bot.commands.ops import Audit
    from bot.settings import Settings
    from storage.db import Database


@click.command()
@click.argument("code")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "xlsx"]), help="File format (default: from --out's extension)."
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The file to write.",
)
@click.option(
    "--status",
    type=click.Choice(["all", "completed"]),
    default="all",
    show_default=True,
    help="Which responses: all (with in-progress and abandoned ones) or only completed ones.",
)
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def export(code: str, fmt: str | None, out: Path, status: str, force: bool) -> None:
    """Export a campaign's responses: one row per response, one column per question (a multi-choice question
    has one column per option, 1 = chosen). XLSX adds a codebook sheet (questions and answer codes) and a
    per-ward summary sheet. Respondents appear only under a pseudonymous key.

    The file is written under a temporary name and renamed when complete: an export that fails leaves
    nothing behind.

    \b
    Examples:
      khaosat export hn-2026 --out hn-2026.xlsx
      khaosat export hn-2026 --format csv --out hn-2026.csv --status completed
    """
    suffix = out.suffix.lower().lstrip(".")
    if fmt is None:
        if suffix not in ("csv", "xlsx"):
            raise click.BadParameter(
                "give --format csv or xlsx (or end the file name in .csv or .xlsx)", param_hint="'--format'"
            )
        fmt = suffix
    elif suffix in ("csv", "xlsx") and suffix != fmt:
        raise click.BadParameter(f"the file name ends in .{suffix} but the format is {fmt}", param_hint="'--out'")
    if out.exists() and not force:
        raise click.ClickException(f"{out} already exists; add --force to replace it")

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        import sys

        from bot.commands.campaign import get_campaign
        from reports.export import export as write

        async with db.read() as conn:
            c = await get_campaign(conn, code)
        parent = out.parent
        if not parent.is_dir():
            problem = "is not a folder" if parent.exists() else "does not exist"
            raise click.ClickException(f"cannot write {out}: {parent} {problem}")
        try:
            result = await write(
                db,
                c,
                fmt,
                out,
                status=None if status == "all" else status,
                show_progress=sys.stderr.isatty(),
            )
        except OSError as e:
            raise click.ClickException(f"cannot write {out}: {e.strerror or e}") from None
        log.arguments.update(rows=result.rows)
        click.echo(f"exported {result.rows} responses of {c.code} to {out} ({result.format}, {result.bytes:,} bytes)")
        if c.simulated:
            click.echo(
                f"note: {c.code} is the demo: rows with simulated = 1 were made up by the software, they are no "
                "one's opinion",
                err=True,
            )

    audited("export", {"code": code, "format": fmt, "out": str(out), "status": status}, body)

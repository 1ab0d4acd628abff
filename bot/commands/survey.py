"""`khaosat survey ...`: check, try, publish, import and export questionnaires (YAML files or XLSForms)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from bot.commands.ops import Audit
    from bot.settings import Settings
    from flows.schema import Survey
    from storage.db import Database

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")
"""A questionnaire file with one of these suffixes is read as an XLSForm (flows.xlsform), any other as YAML."""


@click.group()
def survey() -> None:
    """Questionnaires: validate, preview, publish, list, import from and export to Excel (XLSForm)."""


def read_questionnaire(path: str) -> Survey:
    """A questionnaire from a YAML file or an XLSForm workbook (its warnings printed), or a bundled one by name
    ("hanoi", "papi"); raises SurveyError."""
    from flows.loader import resolve_survey_file

    path = resolve_survey_file(path)
    if Path(path).suffix.lower() in WORKBOOK_SUFFIXES:
        from flows.xlsform import read_xlsform

        imported = read_xlsform(path)
        for warning in imported.warnings:
            click.echo(str(warning), err=True)
        return imported.survey
    from flows.loader import load_survey

    return load_survey(path)


def load_or_exit(path: str) -> Survey:
    """`read_questionnaire`, or every problem printed and exit code 1."""
    from flows.loader import SurveyError

    try:
        return read_questionnaire(path)
    except SurveyError as e:
        for problem in e.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from None


def write_file(path: str, write: Callable[[str], object], force: bool) -> None:
    """`write(temporary name)`, then renamed to `path`: a failed write leaves nothing behind."""
    target = Path(path)
    if target.exists() and not force:
        raise click.ClickException(f"{path} already exists; add --force to replace it")
    parent = target.parent
    if not parent.is_dir():
        problem = "is not a folder" if parent.exists() else "does not exist"
        raise click.ClickException(f"cannot write {path}: {parent} {problem}")
    temporary = ""
    try:
        fd, temporary = tempfile.mkstemp(dir=parent, prefix=f".{target.name}.", suffix=target.suffix)
        os.close(fd)
        write(temporary)
        os.replace(temporary, target)
    except OSError as e:
        raise click.ClickException(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        if temporary and os.path.exists(temporary):
            os.unlink(temporary)


@survey.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=str))
def validate(paths: tuple[str, ...]) -> None:
    """Check questionnaire files (YAML, or XLSForm workbooks: .xlsx) and list every problem found. A bundled
    questionnaire can be named instead of a file: hanoi, papi.

    \b
    Examples:
      khaosat survey validate my-survey.yaml
      khaosat survey validate papi
      khaosat survey validate surveys/*.yaml
      khaosat survey validate FORM.xlsx
    """
    from flows.loader import SurveyError

    failed = False
    for path in paths:
        try:
            s = read_questionnaire(path)
        except SurveyError as e:
            failed = True
            for problem in e.problems:
                click.echo(str(problem), err=True)
            continue
        click.echo(f"OK {s.id} v{s.version}: {len(s.questions)} questions, {len(s.factors)} factors")
    if failed:
        raise SystemExit(1)


@survey.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--lang", default=None, help="Language to preview in (default: the survey's first, vi).")
@click.option("--province", default=1, show_default=True, type=int, help="Province whose wards are offered.")
def preview(path: str | None, lang: str | None, province: int) -> None:
    """Answer a questionnaire in the terminal, as a citizen would (default: the bundled Hanoi survey; 'papi'
    names the bundled PAPI-structured one).

    Type a choice's number or its text, "<" to go back, "-" to skip an optional question.
    Answers can be piped on stdin, one per line.

    \b
    Examples:
      khaosat survey preview
      khaosat survey preview my-survey.yaml --lang en
      khaosat survey preview papi --lang en
      khaosat survey preview FORM.xlsx
      printf '1\\nhoan kiem\\n2\\n...' | khaosat survey preview
    """
    from bot.preview import run_preview
    from flows.loader import bundled_survey_path
    from flows.questions import Context, WardOption
    from storage.admin_units import UnknownProvince, units_of_province

    s = load_or_exit(path or str(bundled_survey_path()))
    language = lang or s.default_language
    if language not in s.languages:
        raise click.BadParameter(
            f"'{language}' is not one of this survey's languages ({', '.join(s.languages)})", param_hint="--lang"
        )
    try:
        wards = tuple(WardOption(u.code, u.name) for u in units_of_province(province))
    except UnknownProvince as e:
        raise click.BadParameter(str(e), param_hint="--province") from None
    raise SystemExit(run_preview(s, Context(language, wards)))


@survey.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=str))
def publish(path: str | None) -> None:
    """Check a questionnaire file (YAML, or an XLSForm: .xlsx) and store it as a published version that
    campaigns can use (default: the bundled Hanoi survey). PATH may also name a bundled questionnaire: hanoi
    (hanoi-ward-satisfaction) or papi (papi-ward-governance, structured by PAPI's eight dimensions).

    A published version never changes: publishing the same content again does nothing, and a changed file
    under a version that is already published is refused (raise 'version:' in the file instead).

    \b
    Examples:
      khaosat survey publish
      khaosat survey publish papi
      khaosat survey publish my-survey.yaml
    """
    from flows.loader import bundled_survey_path, resolve_survey_file

    path = resolve_survey_file(path) if path else str(bundled_survey_path())
    publish_survey(load_or_exit(path), path)


def publish_survey(s: Survey, path: str) -> None:
    """Store a checked questionnaire as a published version, with its 'survey.publish' audit row."""
    from bot.commands.ops import audited

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import surveys

        async with db.write() as conn:
            try:
                record, created = await surveys.publish(conn, s, log.now)
            except surveys.SurveyConflict as e:
                raise click.ClickException(str(e)) from None
            log.arguments.update(created=created, content_hash=record.content_hash)
            await log.record(conn)
        if created:
            click.echo(
                f"published {record.key} v{record.version}: {record.question_count} questions; "
                f"use it with: khaosat campaign create --survey {record.key}@{record.version} ..."
            )
        else:
            click.echo(f"{record.key} v{record.version} is already published with this content; nothing changed")

    audited("survey.publish", {"path": path, "survey": s.id, "version": s.version}, body)


@survey.command(name="import")
@click.argument("form", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=str), metavar="FILE", help="Write the YAML questionnaire here."
)
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.option("--publish", "then_publish", is_flag=True, help="Publish it, as 'khaosat survey publish' does.")
def import_(form: str, out: str | None, force: bool, then_publish: bool) -> None:
    """Read an XLSForm (an Excel questionnaire from KoBoToolbox or ODK) into a khaosat questionnaire, checked
    like any questionnaire. Everything it cannot represent is listed (sheet, row, column) and nothing is
    written; what it leaves out is listed as warnings. Without --out (and without --publish) the YAML is
    printed. The conventions are in the README (Questionnaires from Excel).

    \b
    Examples:
      khaosat survey import FORM.xlsx
      khaosat survey import FORM.xlsx --out my-survey.yaml
      khaosat survey import FORM.xlsx --publish
    """
    from flows.loader import SurveyError
    from flows.xlsform import read_xlsform, to_yaml

    try:
        imported = read_xlsform(form)
    except SurveyError as e:
        for problem in e.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from None
    for warning in imported.warnings:
        click.echo(str(warning), err=True)
    s = imported.survey
    text = to_yaml(s, form)
    if out is not None:
        write_file(out, lambda name: Path(name).write_text(text, encoding="utf-8"), force)
        click.echo(f"wrote {out}: {s.id} v{s.version}, {len(s.questions)} questions, {len(s.factors)} factors")
    elif not then_publish:
        click.echo(text, nl=False)
    if then_publish:
        publish_survey(s, form)


@survey.command()
@click.argument("survey_ref", metavar="ID[@VERSION]")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["xlsform", "yaml"]),
    default="xlsform",
    show_default=True,
    help="An XLSForm workbook (.xlsx) or a YAML questionnaire.",
)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=str), metavar="FILE", help="The file to write."
)
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def export(survey_ref: str, fmt: str, out: str, force: bool) -> None:
    """Write a published questionnaire (the latest version unless @VERSION) as an XLSForm workbook, to edit
    in Excel or to use in KoBoToolbox or ODK; 'khaosat survey import' reads it back to the same
    questionnaire. Its ward question's list holds the wards of the PROVINCE setting.

    \b
    Examples:
      khaosat survey export hanoi-ward-satisfaction --format xlsform --out FORM.xlsx
      khaosat survey export hanoi-ward-satisfaction@1 --format yaml --out hanoi.yaml
    """
    from bot.commands.campaign import parse_survey_ref
    from bot.commands.ops import audited

    key, version = parse_survey_ref(survey_ref, "'ID[@VERSION]'")
    if fmt == "xlsform" and Path(out).suffix.lower() != ".xlsx":
        raise click.BadParameter("an XLSForm is an Excel workbook: end the file name in .xlsx", param_hint="'--out'")

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from storage.admin_units import units_of_province
        from storage.repo import surveys

        async with db.read() as conn:
            try:
                record = await surveys.find(conn, key, version)
            except surveys.SurveyNotFound as e:
                raise click.BadParameter(str(e), param_hint="'ID[@VERSION]'") from None
            s = await surveys.definition(conn, record.id, record.content_hash)
        log.arguments.update(version=record.version)
        if fmt == "yaml":
            from flows.xlsform import to_yaml

            text = to_yaml(s)
            write_file(out, lambda name: Path(name).write_text(text, encoding="utf-8"), force)
        else:
            from flows.xlsform import build_xlsform

            book = build_xlsform(s, [(u.code, u.name) for u in units_of_province(cfg.province)])
            write_file(out, book.save, force)
        click.echo(f"wrote {out}: {record.key} v{record.version} ({len(s.questions)} questions) as {fmt}")

    audited("survey.export", {"survey": survey_ref, "format": fmt, "out": out}, body)


@survey.command(name="list")
def list_() -> None:
    """List the published questionnaire versions.

    \b
    Examples:
      khaosat survey list
    """
    from bot.commands.ops import audited, local, print_table

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import surveys

        async with db.read() as conn:
            records = await surveys.list_all(conn)
        if not records:
            click.echo("no survey published yet; publish one with 'khaosat survey publish FILE'")
            return
        print_table(
            ["Survey", "Version", "Questions", "Published", "Title"],
            [(r.key, r.version, r.question_count, local(r.published_at, cfg.tz), r.title) for r in records],
            right=(1, 2),
        )

    audited("survey.list", {}, body)

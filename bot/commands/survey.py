"""`khaosat survey ...`: check and try questionnaires."""

from __future__ import annotations

import click


@click.group()
def survey() -> None:
    """Questionnaires: validate, preview, publish, list."""


@survey.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=str))
def validate(paths: tuple[str, ...]) -> None:
    """Check questionnaire files and list every problem found.

    \b
    Examples:
      khaosat survey validate my-survey.yaml
      khaosat survey validate surveys/*.yaml
    """
    from flows.loader import SurveyError, load_survey

    failed = False
    for path in paths:
        try:
            s = load_survey(path)
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
    """Answer a questionnaire in the terminal, as a citizen would (default: the bundled Hanoi survey).

    Type a choice's number or its text, "<" to go back, "-" to skip an optional question.
    Answers can be piped on stdin, one per line.

    \b
    Examples:
      khaosat survey preview
      khaosat survey preview my-survey.yaml --lang en
      printf '1\\nhoan kiem\\n2\\n...' | khaosat survey preview
    """
    from bot.preview import run_preview
    from flows.loader import SurveyError, bundled_survey_path, load_survey
    from flows.questions import Context, WardOption
    from storage.admin_units import UnknownProvince, units_of_province

    try:
        s = load_survey(path or bundled_survey_path())
    except SurveyError as e:
        for problem in e.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from None
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
    """Check a questionnaire file and store it as a published version that campaigns can use
    (default: the bundled Hanoi survey).

    A published version never changes: publishing the same content again does nothing, and a changed file
    under a version that is already published is refused (raise 'version:' in the file instead).

    \b
    Examples:
      khaosat survey publish
      khaosat survey publish my-survey.yaml
    """
    from flows.loader import SurveyError, bundled_survey_path, load_survey

    path = path or str(bundled_survey_path())
    try:
        s = load_survey(path)
    except SurveyError as e:
        for problem in e.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from None

    from bot.commands.ops import audited

    async def body(db, cfg, log):  # type: ignore[no-untyped-def]
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


@survey.command(name="list")
def list_() -> None:
    """List the published questionnaire versions.

    \b
    Examples:
      khaosat survey list
    """
    from bot.commands.ops import audited, local, print_table

    async def body(db, cfg, log):  # type: ignore[no-untyped-def]
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

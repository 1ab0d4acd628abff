"""`khaosat survey ...`: check and try questionnaires."""

from __future__ import annotations

import click


@click.group()
def survey() -> None:
    """Questionnaires: validate, preview."""


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

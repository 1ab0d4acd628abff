"""`khaosat stats CODE`: the satisfaction index per ward, following the small-cell rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bot.commands.ops import audited

if TYPE_CHECKING:
    from bot.commands.ops import Audit
    from bot.settings import Settings
    from storage.db import Database

NOTES = (
    "Index: share of answers 4-5 (satisfied, very satisfied) among valid answers of completed responses; "
    "'don't know' is excluded. In brackets: 95% Wilson interval.",
    "Respondents chose to take part (opt-in): the interval shows how much the figure could move with a few "
    "answers more or less, it is not a margin of sampling error.",
    "Counts are exact here, for operators (officials' digests and dashboard show fewer than 10 as <10). "
    "k/n = under 30 answers (counts only); ⚠ = 30-59 answers (unstable). Wards are ranked only from 30 answers.",
)

FLAGGED_OUT = "Responses with data-quality flags are left out ('campaign edit --include-flagged' counts them)."
FLAGGED_IN = "Responses with data-quality flags are included ('campaign edit --exclude-flagged' leaves them out)."

SIMULATED = (
    "SIMULATED DATA: this is the first-start demo; its responses were made up by the software to show how the "
    "figures look. They are no one's opinion: do not report them ('khaosat campaign close demo' deletes them)."
)


def shown(share: object) -> str:
    from reports import format as fmt
    from reports import stats as pure

    assert isinstance(share, pure.Share)
    return fmt.share(share, "en", "satisfied")


@click.command()
@click.argument("code")
@click.option(
    "--question",
    "question_id",
    default=None,
    metavar="QUESTION_ID",
    help="A 5-level question (default: the survey's overall satisfaction question).",
)
def stats(code: str, question_id: str | None) -> None:
    """Show, per ward: responses, completed responses, and the satisfaction index with its 95% interval.

    For operators: counts are exact (officials see fewer than 10 as "<10"); under 30 answers show counts
    only; 30-59 are marked unstable; wards are ranked only from 30 answers.

    \b
    Examples:
      khaosat stats hn-2026
      khaosat stats hn-2026 --question sat_staff
    """

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from bot.commands.campaign import get_campaign
        from bot.commands.ops import print_table
        from reports import format as fmt
        from reports import stats as pure
        from storage.repo import stats as repo
        from storage.repo import surveys

        async with db.read() as conn:
            c = await get_campaign(conn, code)
            survey = await surveys.definition(conn, c.survey_id)
            scales = [q.id for q in survey.questions if q.type == "likert5"]
            qid = question_id or survey.reporting.overall
            if qid is None:
                raise click.BadParameter(
                    f"this survey names no overall question; choose one of: {', '.join(scales)}",
                    param_hint="'--question'",
                )
            if qid not in scales:
                raise click.BadParameter(
                    f"{qid!r} is not a 5-level question of {c.survey_key} v{c.survey_version}; "
                    f"choose one of: {', '.join(scales)}",
                    param_hint="'--question'",
                )
            progress = await repo.ward_progress(conn, c.id)
            totals = await repo.response_totals(conn, c.id)
            by_ward = await repo.scale_counts(conn, c.id, [qid], by_ward=True)
            overall = (await repo.scale_counts(conn, c.id, [qid]))[(qid, None)]
        log.arguments["question"] = qid
        indices = {p.code: pure.index_from_counts(by_ward.get((qid, p.code), {})).satisfied for p in progress}
        total = pure.index_from_counts(overall).satisfied
        if c.simulated:
            click.echo(SIMULATED)
        with fmt.exact_figures():  # an operator's command: they can export the raw data anyway
            click.echo(f"{c.title} ({c.code}), {c.status}")
            click.echo(f"Question {qid}: {survey.text(survey.question(qid).label, 'vi')}")
            print_table(
                ["Code", "Ward", "Responses", "Completed", "Valid answers", "Satisfied (95% interval)"],
                [
                    (p.code, p.name, p.started, p.completed, fmt.count(indices[p.code].n, "en"), shown(indices[p.code]))
                    for p in progress
                ],
                right=(0, 2, 3, 4),
                footer=("", "All wards", totals.started, totals.completed, fmt.count(total.n, "en"), shown(total)),
            )
            ranked = pure.lowest([(p.name, indices[p.code]) for p in progress], k=3)
            if ranked:
                click.echo("Lowest (30+ answers): " + "; ".join(f"{name} {fmt.percent(s.p)}" for name, s in ranked))
            for note in NOTES:
                click.echo(note)
            if c.include_flagged:
                click.echo(FLAGGED_IN)
            else:
                click.echo(FLAGGED_OUT)
            if c.simulated:
                click.echo(SIMULATED)

    audited("stats", {"code": code, "question": question_id}, body)

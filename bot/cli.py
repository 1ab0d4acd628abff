"""The `khaosat` command line. Command modules import their heavy dependencies lazily so that
`khaosat --help` answers at once."""

from __future__ import annotations

from typing import Any

import click

from bot.commands import (
    audit,
    campaign,
    chats,
    db,
    demo,
    departments,
    export,
    operators,
    report,
    run,
    scheduler,
    stats,
    survey,
    users,
    wards,
)
from bot.commands.common import output_closed, quiet_exit_on_closed_output


class Khaosat(click.Group):
    """The top command: output cut by a closed pipe (`khaosat campaign show X | head -1`, and `--help` or
    `--version` read by `head`) ends the command quietly, as Unix tools do (exit status `PIPE_CLOSED`, 141),
    instead of click's exit 1."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:  # the top-level --help and --version print while their options are parsed
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:
            if not output_closed():
                raise
            quiet_exit_on_closed_output(click.Context(self, info_name=info_name))
            raise  # not reached: ctx.exit raises

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            if not output_closed():
                raise
            quiet_exit_on_closed_output(ctx)
            raise  # not reached: ctx.exit raises


@click.group(
    cls=Khaosat,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Run 'khaosat COMMAND --help' for examples of each command.",
)
@click.version_option(package_name="khaosat", prog_name="khaosat")
def main() -> None:
    """khaosat: citizen-satisfaction surveys for ward governments, over Telegram and the web."""


main.add_command(survey.survey)
main.add_command(db.db)
main.add_command(wards.wards)
main.add_command(run.run)
main.add_command(campaign.campaign)
main.add_command(export.export)
main.add_command(stats.stats)
main.add_command(operators.operators)
main.add_command(audit.audit)
main.add_command(chats.chats)
main.add_command(scheduler.scheduler)
main.add_command(users.users)
main.add_command(demo.demo)
main.add_command(departments.departments)
main.add_command(report.report)

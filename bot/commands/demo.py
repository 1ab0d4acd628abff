"""`khaosat demo`: what the first-start demo holds, and `--reset` to remove it with all its data."""

from __future__ import annotations

import click

from bot.commands.ops import audited


@click.command()
@click.option("--reset", is_flag=True, help="Remove the demo campaign with all its responses (simulated or not).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def demo(reset: bool, yes: bool) -> None:
    """The first-start demo: a campaign "demo" with simulated responses, so that the dashboard, 'khaosat stats'
    and the exports show figures on a new install. Its data is marked simulated everywhere.

    Without options: what the demo holds. With --reset: remove the demo campaign, its responses and answers
    (also those of anyone who tried the survey through it) and its unsent reminders; the survey and the
    dashboard user 'admin' stay. To keep the campaign but drop the simulated responses, close it instead:
    'khaosat campaign close demo'.

    \b
    Examples:
      khaosat demo
      khaosat demo --reset
      khaosat demo --reset --yes
    """

    async def body(db, cfg, log):  # type: ignore[no-untyped-def]
        from storage.repo import campaigns, stats
        from storage.repo import demo as repo

        async with db.read() as conn:
            found = [c for c in await campaigns.list_all(conn) if c.simulated]
            held = {c.id: (await repo.count(conn, c.id), await stats.response_totals(conn, c.id)) for c in found}
        if not found:
            click.echo("no demo campaign: it is made only on the first start of a new database")
            return
        if not reset:
            for c in found:
                simulated, totals = held[c.id]
                click.echo(
                    f"demo campaign {c.code} ({c.status}): {simulated} simulated response(s), "
                    f"{totals.started - simulated} other(s), in {len(c.ward_codes)} wards"
                )
            if all(c.status == "closed" for c in found):
                click.echo("it is closed and its simulated responses deleted; remove it with 'khaosat demo --reset'")
            else:
                click.echo(
                    "close it with 'khaosat campaign close demo' (deletes the simulated responses), or remove it "
                    "entirely with 'khaosat demo --reset'"
                )
            return
        codes = ", ".join(c.code for c in found)
        if not yes:
            click.confirm(
                f"Remove the demo campaign {codes} with all its responses and answers? This cannot be undone.",
                abort=True,
            )
        removed = []
        async with db.write() as conn:
            for c in found:
                removed.append(await repo.remove_campaign(conn, c.id, c.code, log.now))
            log.arguments["removed"] = [
                {"code": r.code, "responses": r.responses, "simulated": r.simulated} for r in removed
            ]
            await log.record(conn)
        for r in removed:
            click.echo(
                f"removed the demo campaign {r.code}: {r.responses} response(s) ({r.simulated} simulated) with "
                "their answers"
            )

    audited("demo.reset" if reset else "demo.show", {}, body)

"""`khaosat run`: the bot (and everything it needs) in one process."""

from __future__ import annotations

import click


@click.command()
def run() -> None:
    """Run khaosat: the web survey and the dashboard on http://WEB_HOST:WEB_PORT (127.0.0.1:8080 by
    default), and the Telegram bot when TELEGRAM_BOT_TOKEN is set (polling or webhook, from TELEGRAM_MODE),
    until stopped with Ctrl-C or SIGTERM. An embedded SQLite database (DATABASE_URL) is created and
    migrated as needed.

    On the first start with a new database it publishes the bundled questionnaire, launches a 30-day demo
    campaign "demo" over every ward of PROVINCE and adds the dashboard operator "admin", then prints the
    survey link and admin's password (once: only its hash is kept). A database that already has a survey, a
    campaign or a dashboard user is left as it is.

    \b
    Examples:
      khaosat run
      TELEGRAM_BOT_TOKEN=123:ABC khaosat run
      TELEGRAM_MODE=webhook WEBHOOK_URL=https://example.org/telegram/webhook WEBHOOK_SECRET=... khaosat run
    """
    import logging

    from bot.app import Application, StartupError
    from bot.commands.common import settings

    cfg = settings()
    from bot.logs import configure

    configure(cfg.log_level, cfg.tz)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)

    async def main() -> None:
        app = Application(cfg, first_run=True)
        try:
            await app.run()
        except StartupError as e:
            await app.stop()
            raise click.ClickException(str(e)) from None

    from bot.eventloop import EventLoopUnavailable
    from bot.eventloop import run as run_loop

    try:
        run_loop(main(), cfg.event_loop)
    except EventLoopUnavailable as e:
        raise click.ClickException(str(e)) from None

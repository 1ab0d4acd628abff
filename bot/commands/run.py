"""`khaosat run`: the bot (and everything it needs) in one process."""

from __future__ import annotations

import click


@click.command()
def run() -> None:
    """Run khaosat: migrate an embedded SQLite database if needed, then run the Telegram bot (polling or
    webhook, from TELEGRAM_MODE) until stopped with Ctrl-C or SIGTERM.

    \b
    Examples:
      TELEGRAM_BOT_TOKEN=123:ABC khaosat run
      TELEGRAM_MODE=webhook WEBHOOK_URL=https://example.org/telegram/webhook WEBHOOK_SECRET=... khaosat run
    """
    import asyncio
    import logging

    from bot.app import Application, StartupError
    from bot.commands.common import settings

    cfg = settings()
    logging.basicConfig(level=cfg.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)

    async def main() -> None:
        app = Application(cfg)
        try:
            await app.run()
        except StartupError as e:
            await app.stop()
            raise click.ClickException(str(e)) from None

    asyncio.run(main())

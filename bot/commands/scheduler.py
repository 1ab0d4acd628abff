"""`khaosat scheduler`: the scheduler alone (reminders, invitations, digests, the paced outbox sender)."""

from __future__ import annotations

import click


@click.command()
@click.option(
    "--once",
    is_flag=True,
    help="Run one round (close ended campaigns, queue what is due, send the outbox) and exit.",
)
def scheduler(once: bool) -> None:
    """Run the scheduler without the bot: for a separate process next to 'khaosat run' (with
    SCHEDULER_ENABLED=false there), or a standby. Only one scheduler is active at a time: others wait and
    take over when it stops (a PostgreSQL advisory lock, or a lock file next to the SQLite database).

    \b
    Examples:
      khaosat scheduler
      khaosat scheduler --once        # e.g. from cron, where a long-running process is not wanted
    """
    import asyncio
    import logging
    import signal

    from bot.commands.common import ensure_schema, settings

    cfg = settings()
    from bot.logs import configure

    configure(cfg.log_level, cfg.tz)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    token = cfg.telegram_bot_token.get_secret_value() if cfg.telegram_bot_token else ""
    if not token:
        raise click.ClickException(
            "TELEGRAM_BOT_TOKEN is not set: the scheduler sends through the Telegram bot; put the token from "
            "@BotFather in .env"
        )

    async def main() -> None:
        from aiogram import Bot
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer
        from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError

        from bot.app import scheduler_config
        from bot.context import utc_now
        from bot.telegram.sender import TelegramTransport
        from scheduler.app import SchedulerBusy, SchedulerService
        from storage.db import Database, UnsupportedDatabase

        try:
            db = Database(cfg.database_url)
        except UnsupportedDatabase as e:
            raise click.ClickException(f"DATABASE_URL: {e}") from None
        bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(cfg.telegram_api_base)))
        try:
            try:
                await ensure_schema(db, cfg, auto=True)
            except OSError as e:
                raise click.ClickException(f"cannot reach the database: {e}") from None
            try:
                await bot.get_me()
            except TelegramUnauthorizedError:
                raise click.ClickException("Telegram refused TELEGRAM_BOT_TOKEN (401 Unauthorized)") from None
            except (TelegramAPIError, OSError) as e:
                raise click.ClickException(f"cannot reach Telegram at {cfg.telegram_api_base}: {e}") from None
            transports = {"telegram": TelegramTransport.without_retries(bot)}
            service = SchedulerService(db, utc_now, scheduler_config(cfg), transports)
            try:
                if once:
                    try:
                        report = await service.run_once()
                    except SchedulerBusy as e:
                        raise click.ClickException(str(e)) from None
                    stats = service.senders["telegram"].stats
                    click.echo(
                        f"closed {len(report.closed)} campaign(s); queued {report.invitations} invitation(s), "
                        f"{report.reminders} reminder(s), {report.digests} digest(s); sent {stats.sent} message(s), "
                        f"{stats.retried} to retry, {stats.failed} failed, {stats.unreachable} unreachable"
                    )
                    if report.errors:
                        raise click.ClickException("; ".join(report.errors))
                    return
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(sig, stop.set)
                await service.start()
                await stop.wait()
                logging.getLogger(__name__).info("stopping the scheduler")
            finally:
                await service.stop()
        finally:
            await bot.session.close()
            await db.dispose()

    from bot.eventloop import EventLoopUnavailable
    from bot.eventloop import run as run_loop

    try:
        run_loop(main(), cfg.event_loop)
    except EventLoopUnavailable as e:
        raise click.ClickException(str(e)) from None

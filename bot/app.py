"""The running application: database, conversation service, Telegram bot and Zalo bot (each polling or by
webhook, each when its token is set), the web server, and (when enabled) the scheduler, started and stopped
together."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.context import AppContext, utc_now
from bot.settings import Settings
from scheduler.app import SchedulerConfig, SchedulerService
from scheduler.outbox import RetryPolicy
from scheduler.pacing import Limits
from storage import migrate
from storage.conversation import ConversationService
from storage.db import Database
from web.context import WebContext

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher

    from bot.telegram.transport import UpdateProcessor
    from bot.zalo.client import ZaloClient
    from bot.zalo.context import ZaloApp
    from bot.zalo.dispatch import ZaloProcessor

log = logging.getLogger(__name__)


CONTEXT_KEY: web.AppKey[AppContext] = web.AppKey("khaosat", AppContext)
WEB_CONTEXT_KEY: web.AppKey[WebContext] = web.AppKey("khaosat-web", WebContext)


def scheduler_config(cfg: Settings) -> SchedulerConfig:
    """The scheduler's part of the settings."""
    return SchedulerConfig(
        tz=cfg.tz,
        lock_file=cfg.scheduler_lock_file,
        standby_seconds=cfg.scheduler_standby_seconds,
        digest_alert_threshold=cfg.digest_alert_threshold / 100,
        update_retention=timedelta(days=cfg.processed_update_retention_days),
        limits={
            "telegram": Limits(cfg.send_rate_global, cfg.send_rate_private, cfg.send_rate_group_per_min),
            "zalo": Limits(cfg.zalo_send_rate_global, cfg.zalo_send_rate_private, cfg.send_rate_group_per_min),
        },
        windows={"zalo": timedelta(hours=cfg.zalo_reminder_window_hours)},
        retry=RetryPolicy(cfg.send_max_attempts, cfg.send_retry_base_seconds, cfg.send_retry_max_seconds),
    )


def web_context(cfg: Settings, db: Database, service: ConversationService, clock: Callable[[], datetime]) -> WebContext:
    """The web parts' view of the application."""
    return WebContext(
        db=db,
        service=service,
        secret=cfg.secret(),
        clock=clock,
        public_url=cfg.public_url,
        local_url=f"http://{cfg.web_host}:{cfg.web_port}",
        tz=cfg.tz,
        trusted_proxies=cfg.trusted_proxy_networks,
        subscription_code_days=cfg.subscription_code_days,
        digest_alert_threshold=cfg.digest_alert_threshold / 100,
        metrics_token=cfg.metrics_token.get_secret_value() if cfg.metrics_token else None,
    )


class StartupError(RuntimeError):
    """The application cannot start; the message says what to fix."""


class Application:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] | None = None,
        first_run: bool = False,
        role: str = "primary",
    ) -> None:
        self.settings = settings
        self.first_run = first_run
        self.role = role
        """"primary" does everything; a "worker" (WEB_WORKERS > 1) only serves the webhook and the web."""
        """Set up a new database at start (demo campaign, dashboard admin): see `bot.bootstrap`."""
        self.db = Database(settings.database_url, background_checkpoints=True)
        self.service = ConversationService(self.db, settings.secret(), clock or utc_now)
        self.ctx = AppContext(settings, self.db, self.service, clock or utc_now)
        self.web_ctx = web_context(settings, self.db, self.service, clock or utc_now)
        self.scheduler: SchedulerService | None = None
        self.bot: Bot | None = None
        self.dispatcher: Dispatcher | None = None
        self.processor: UpdateProcessor | None = None
        self.zalo: ZaloApp | None = None
        self.zalo_processor: ZaloProcessor | None = None
        self.web_app: web.Application | None = None
        self.stopped = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._runner: web.AppRunner | None = None
        self._on_stop: list[Callable[[], Any]] = []

    @property
    def web_port(self) -> int | None:
        """The port the web server listens on (useful when WEB_PORT=0 picks a free one)."""
        if self._runner is None:
            return None
        for site in self._runner.sites:
            server = getattr(site, "_server", None)
            if server is not None and server.sockets:
                return int(server.sockets[0].getsockname()[1])
        return None

    async def start(self) -> None:
        cfg = self.settings
        token = cfg.telegram_bot_token.get_secret_value() if cfg.telegram_bot_token else ""
        if cfg.telegram_mode == "webhook" and not token:
            raise StartupError("TELEGRAM_MODE=webhook needs TELEGRAM_BOT_TOKEN (from @BotFather)")
        if cfg.telegram_mode == "webhook" and not (cfg.webhook_url and cfg.webhook_secret):
            raise StartupError("TELEGRAM_MODE=webhook needs WEBHOOK_URL and WEBHOOK_SECRET")
        zalo_token = cfg.zalo_bot_token.get_secret_value() if cfg.zalo_bot_token else ""
        if zalo_token and cfg.zalo_mode == "webhook" and not (cfg.zalo_webhook_url and cfg.zalo_webhook_secret):
            raise StartupError("ZALO_MODE=webhook needs ZALO_WEBHOOK_URL and ZALO_WEBHOOK_SECRET (8-256 characters)")
        worker = self.role == "worker"
        try:
            if not worker:  # workers start after the primary has prepared the database
                await migrate.prepare(self.db, cfg.province, auto=True)
        except migrate.SchemaBehind as e:
            raise StartupError(str(e)) from None
        except OSError as e:
            raise StartupError(f"cannot reach the database: {e}") from None
        if cfg.operator_id_list and not worker:
            from storage.repo import operators

            async with self.db.write() as conn:
                await operators.seed(conn, cfg.operator_id_list, self.ctx.clock())

        from web.app import setup_web

        self.web_app = web.Application()
        self.web_app[CONTEXT_KEY] = self.ctx
        self.web_app[WEB_CONTEXT_KEY] = self.web_ctx
        setup_web(self.web_app, self.web_ctx)
        if token:
            await self._start_telegram(token, set_commands=not worker)
        else:
            log.warning(
                "TELEGRAM_BOT_TOKEN is not set: the Telegram bot is off (see README, 'Running the Telegram bot')"
            )
        secret = cfg.webhook_secret.get_secret_value() if cfg.webhook_secret else None
        if token and cfg.telegram_mode == "webhook":
            from bot.telegram.transport import webhook_handler

            assert self.processor is not None  # made by _start_telegram
            self.web_app.router.add_post(cfg.webhook_path, webhook_handler(self.processor, secret))
        if zalo_token:
            await self._start_zalo(zalo_token)
        self._runner = web.AppRunner(self.web_app, shutdown_timeout=30, access_log=None)
        await self._runner.setup()
        try:
            site = web.TCPSite(self._runner, cfg.web_host, cfg.web_port, reuse_port=cfg.web_workers > 1 or None)
            await site.start()
        except OSError as e:
            raise StartupError(f"cannot listen on {cfg.web_host}:{cfg.web_port}: {e.strerror}") from None
        self.web_ctx.local_url = f"http://{cfg.web_host}:{self.web_port}"
        log.info("web server on http://%s:%s (%s)", cfg.web_host, self.web_port, self.role)
        if worker:
            return
        if self.db.background_checkpoints:
            self._tasks.append(asyncio.create_task(self.db.checkpoint_loop(self._stop)))
        if self.first_run:
            from bot import bootstrap

            done = await bootstrap.first_run(self.ctx)
            if done is not None:
                bootstrap.announce(self.ctx, done, self.web_port)
        if not token and not zalo_token:
            return
        if cfg.scheduler_enabled:
            from bot.zalo.sender import ZaloTransport
            from storage.outbox import Transport

            transports: dict[str, Transport] = {}
            if self.bot is not None:
                from bot.telegram.sender import TelegramTransport

                transports["telegram"] = TelegramTransport.without_retries(self.bot)
            if self.zalo is not None:
                from bot.zalo.groups import chart_publisher

                charts = chart_publisher(
                    self.db, self.ctx.clock, cfg.public_url, timedelta(days=cfg.published_image_days)
                )
                transports["zalo"] = ZaloTransport(self._zalo_client(zalo_token), charts, owns_client=True)
            scheduler = SchedulerService(self.db, self.ctx.clock, scheduler_config(cfg), transports)
            self.scheduler = scheduler
            self.ctx.wake_outbox = scheduler.wake
            self.web_ctx.wake_outbox = scheduler.wake
            self.web_ctx.senders = lambda: {name: sender.stats for name, sender in scheduler.senders.items()}
            await scheduler.start()
            self._on_stop.append(scheduler.stop)
            log.info("scheduler started (reminders, digests, the outbox sender)")
        if self.zalo is not None:
            await self._run_zalo()
        if not token:
            return
        assert self.bot is not None and self.dispatcher is not None and self.processor is not None  # with a token
        allowed = self.dispatcher.resolve_used_update_types()
        if cfg.telegram_mode == "webhook":
            assert cfg.webhook_url is not None  # checked above
            await self.bot.set_webhook(
                cfg.webhook_url, secret_token=secret, allowed_updates=allowed, drop_pending_updates=False
            )
            log.info("webhook mode: Telegram posts to %s", cfg.webhook_url)
        else:
            from bot.telegram.transport import poll

            await self.bot.delete_webhook(drop_pending_updates=False)
            self._tasks.append(asyncio.create_task(poll(self.bot, self.processor, self._stop, allowed_updates=allowed)))
            log.info("polling mode")

    async def _start_telegram(self, token: str, set_commands: bool = True) -> None:
        from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError

        from bot.telegram.client import make_bot
        from bot.telegram.dispatcher import build_dispatcher, set_citizen_commands
        from bot.telegram.transport import UpdateProcessor

        self.bot = make_bot(token, self.settings.telegram_api_base)
        try:
            me = await self.bot.get_me()
        except TelegramUnauthorizedError:
            await self.bot.session.close()
            raise StartupError("Telegram refused TELEGRAM_BOT_TOKEN (401 Unauthorized): check the token") from None
        except (TelegramAPIError, OSError) as e:
            await self.bot.session.close()
            raise StartupError(f"cannot reach Telegram at {self.settings.telegram_api_base}: {e}") from None
        self.ctx.bot_username = me.username
        self.dispatcher = build_dispatcher(self.ctx)
        lane = None
        if self.settings.telegram_fast_lane and self.settings.telegram_mode == "webhook":
            from bot.telegram.fastlane import FastLane

            lane = FastLane(self.ctx, self.bot)
        self.processor = UpdateProcessor(self.dispatcher, self.bot, lane)
        self.web_ctx.channels.append(self.processor)  # for /metrics
        if not set_commands:
            return
        await set_citizen_commands(self.bot)
        from bot.telegram.operators import set_operator_commands
        from storage.repo import operators

        async with self.db.read() as conn:
            operator_ids = await operators.ids(conn)
        await set_operator_commands(self.bot, operator_ids)
        log.info("bot @%s ready", me.username)

    def _zalo_client(self, token: str) -> ZaloClient:
        from bot.zalo.client import ZaloClient

        return ZaloClient(token, self.settings.zalo_api_base)

    async def _start_zalo(self, token: str) -> None:
        """The Zalo channel: its client (getMe checks the token), processor and, in webhook mode, its route."""
        from bot.zalo.client import ZaloError
        from bot.zalo.context import ZaloApp
        from bot.zalo.dispatch import ZaloProcessor

        cfg = self.settings
        client = self._zalo_client(token)
        try:
            me = await client.get_me()
        except ZaloError as e:
            await client.close()
            if e.error_code == 401:
                raise StartupError("Zalo refused ZALO_BOT_TOKEN (401 Unauthorized): check the token") from None
            raise StartupError(f"cannot reach Zalo at {cfg.zalo_api_base}: {e}") from None
        self.zalo = ZaloApp(self.ctx, client, bot_name=me.account_name or None)
        self.zalo_processor = ZaloProcessor(self.zalo)
        self.web_ctx.channels.append(self.zalo_processor)  # for /metrics
        if cfg.zalo_mode == "webhook":
            from bot.zalo.transport import webhook_handler

            assert cfg.zalo_webhook_secret is not None  # checked in start()
            assert self.web_app is not None
            handler = webhook_handler(self.zalo_processor, cfg.zalo_webhook_secret.get_secret_value())
            self.web_app.router.add_post(cfg.zalo_webhook_path, handler)
        if not cfg.public_url:
            log.warning(
                "PUBLIC_URL is not set: digests go to Zalo groups without their chart (Zalo fetches a picture from "
                "an address it can reach: set PUBLIC_URL to this server's public https address to send charts)"
            )
        log.info("zalo bot %s ready (%s)", me.account_name, cfg.zalo_mode)

    async def _run_zalo(self) -> None:
        """Register the webhook, or start polling (the primary process only)."""
        cfg = self.settings
        assert self.zalo is not None and self.zalo_processor is not None
        client = self.zalo.client
        if cfg.zalo_mode == "webhook":
            assert cfg.zalo_webhook_url is not None and cfg.zalo_webhook_secret is not None  # checked in start()
            await client.set_webhook(cfg.zalo_webhook_url, cfg.zalo_webhook_secret.get_secret_value())
            log.info("zalo webhook mode: Zalo posts to %s", cfg.zalo_webhook_url)
            return
        from bot.zalo.client import ZaloError
        from bot.zalo.transport import poll

        try:
            await client.delete_webhook()  # getUpdates does not work while a webhook is set
        except ZaloError as e:
            log.info("zalo deleteWebhook failed (%s); polling anyway", e)
        stop = self._stop
        self._tasks.append(asyncio.create_task(poll(client, self.zalo_processor, stop, timeout=cfg.zalo_poll_timeout)))
        log.info("zalo polling mode (an update Zalo hands over cannot be fetched again: use the webhook in production)")

    async def stop(self) -> None:
        """Stop taking updates, finish those in flight, then close everything."""
        self._stop.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for callback in reversed(self._on_stop):
            result = callback()
            if asyncio.iscoroutine(result):
                await result
        if self.bot is not None:
            await self.bot.session.close()
            self.bot = None
        if self.zalo is not None:
            await self.zalo.client.close()
            self.zalo = None
        await self.service.flush_prompts()
        await self.db.dispose()
        self.stopped.set()

    async def run(self) -> None:
        """Start (with WEB_WORKERS - 1 worker processes), then run until SIGTERM or SIGINT; stop gracefully."""
        await self.start()
        # Everything loaded so far (modules, the questionnaire, aiogram's models) lives as long as the
        # process: keep it out of the collector's way, so that full collections stay short under load.
        gc.collect()
        gc.freeze()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        workers = None
        if self.role == "primary" and self.settings.web_workers > 1:
            from bot.workers import Workers

            workers = Workers(self.settings.web_workers - 1, worker_main)
            workers.start()
            self._tasks.append(asyncio.create_task(workers.supervise(self._stop)))
        try:
            await self._stop.wait()
        finally:
            log.info("stopping: finishing updates in flight")
            if workers is not None:
                await workers.stop()
            await self.stop()


def worker_main(index: int) -> None:
    """A worker process: the application in "worker" role, settings from the same environment."""
    import logging as logging_

    from bot.settings import load_settings

    cfg = load_settings()
    from bot.logs import configure

    configure(cfg.log_level, cfg.tz, f"%(asctime)s %(levelname)s worker{index} %(name)s: %(message)s")
    logging_.getLogger("aiogram.event").setLevel(logging_.WARNING)

    async def main() -> None:
        app = Application(cfg, role="worker")
        try:
            await app.run()
        except StartupError as e:
            log.error("worker %s could not start: %s", index, e)
            await app.stop()

    from bot.eventloop import EventLoopUnavailable
    from bot.eventloop import run as run_loop

    try:
        run_loop(main(), cfg.event_loop)
    except EventLoopUnavailable as e:
        log.error("worker %s could not start: %s", index, e)

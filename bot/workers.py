"""WEB_WORKERS: extra processes serving the webhook and the web on the same port (SO_REUSEPORT), so that
more than one CPU core handles updates. The primary process keeps everything else (migrations, the
Telegram menu and webhook registration, the scheduler, polling); workers only answer HTTP requests.

Correctness does not depend on which process gets an update: each answer is one transaction that locks
the respondent (PostgreSQL) or takes the single writer (SQLite), and a repeated update is recognised by
its id. What is per process: the order of one person's updates when Telegram delivers two at the very same
moment to different processes, and /metrics counters (dashboard logins and logouts are in the database).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from multiprocessing.process import BaseProcess

log = logging.getLogger(__name__)


def worker_main(index: int) -> None:
    """A worker process: the application in "worker" role, settings from the same environment."""
    import logging as logging_

    from bot.app import Application, StartupError
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


class Workers:
    def __init__(self, count: int) -> None:
        self.count = count
        self.context = multiprocessing.get_context("spawn")
        self.processes: dict[int, BaseProcess] = {}
        self.stopping = False

    def _spawn(self, index: int) -> None:
        process = self.context.Process(target=worker_main, args=(index,), name=f"khaosat-worker-{index}", daemon=True)
        process.start()
        self.processes[index] = process
        log.info("worker %s started (pid %s)", index, process.pid)

    def start(self) -> None:
        for index in range(1, self.count + 1):
            self._spawn(index)

    async def supervise(self, stop: asyncio.Event) -> None:
        """Restart a worker that died (after a short pause), until stopping."""
        while not stop.is_set():
            await asyncio.sleep(1)
            for index, process in list(self.processes.items()):
                if not process.is_alive() and not self.stopping and not stop.is_set():
                    log.error("worker %s exited with %s; restarting it", index, process.exitcode)
                    await asyncio.sleep(1)
                    self._spawn(index)

    async def stop(self, timeout: float = 30) -> None:
        """SIGTERM every worker (each finishes its requests in flight), then wait; kill what remains."""
        self.stopping = True
        for process in self.processes.values():
            if process.is_alive() and process.pid is not None:
                import os

                os.kill(process.pid, signal.SIGTERM)
        loop = asyncio.get_running_loop()
        for process in self.processes.values():
            await loop.run_in_executor(None, process.join, timeout)
            if process.is_alive():
                process.kill()

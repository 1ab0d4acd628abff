"""Getting Zalo updates in: long polling, or a webhook on the application's web server.

- Polling (`poll`): one `getUpdates` call returns one update, and the platform forgets it at once: there is no
  offset to confirm. An update that fails for a moment (the database restarting) is tried again here a few
  times, but a crash between receiving an update and committing it loses it. Fine for trying the bot out; use
  the webhook in production.
- Webhook (`webhook_handler`): Zalo POSTs each update with the secret in `X-Bot-Api-Secret-Token` (401
  without it, compared in constant time); the answer is 2xx only once the update's effects are committed,
  503 when it could not be processed for a moment (Zalo delivers it again; the message id makes the
  redelivery change nothing), 400 for a body that is not an update, 413 for one over 1 MB.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from bot.zalo.client import ZaloClient
from bot.zalo.dispatch import ZaloProcessor
from bot.zalo.updates import UpdateError, ZaloUpdate, parse_update

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_BODY = 1_000_000


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def poll(
    client: ZaloClient,
    processor: ZaloProcessor,
    stop: asyncio.Event,
    *,
    timeout: int = 30,
    attempts: int = 3,
    backoff: tuple[float, float] = (0.5, 30.0),
) -> None:
    """Long polling until `stop` is set: each update is processed in its own task (one person's in order);
    one that fails for a moment is tried again up to `attempts` times, then dropped with a warning."""
    delay = backoff[0]
    running: set[asyncio.Task[None]] = set()

    async def work(update: ZaloUpdate) -> None:
        for attempt in range(1, attempts + 1):
            if await processor.process(update):
                return
            if attempt < attempts:
                await _sleep_or_stop(stop, backoff[0] * 2**attempt)
        log.warning(
            "zalo message %s dropped after %d attempts (polling cannot ask Zalo to deliver it again)",
            update.message.message_id,
            attempts,
        )

    while not stop.is_set():
        fetch = asyncio.ensure_future(client.get_updates(timeout=timeout))
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({fetch, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if fetch not in done:
            fetch.cancel()  # nothing was received: an update is only gone once its answer arrived
            with suppress(asyncio.CancelledError, Exception):
                await fetch
            break
        try:
            update = fetch.result()
        except Exception as e:
            log.warning("zalo getUpdates failed, retrying in %.1f s: %r", delay, e)
            await _sleep_or_stop(stop, delay)
            delay = min(delay * 2, backoff[1])
            continue
        delay = backoff[0]
        if update is None:
            continue
        task = asyncio.create_task(work(update))
        running.add(task)
        task.add_done_callback(running.discard)
    if running:
        await asyncio.gather(*running, return_exceptions=True)


def webhook_handler(processor: ZaloProcessor, secret: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler of Zalo's webhook (see the module's docstring)."""
    expected = secret.encode()

    async def handle(request: web.Request) -> web.StreamResponse:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not expected or not hmac.compare_digest(given, expected):
            log.warning("zalo webhook call without the right secret from %s", request.remote)
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        body = bytearray()
        try:
            async for chunk in request.content.iter_chunked(65536):
                body += chunk
                if len(body) > MAX_BODY:
                    return web.json_response({"ok": False, "error": "body too large"}, status=413)
        except (RequestPayloadError, ConnectionError) as e:  # a content encoding that does not decode; a client gone
            log.info("zalo webhook body unreadable: %s", e)
            return web.json_response({"ok": False, "error": "unreadable body"}, status=400)
        try:
            update = parse_update(json.loads(body))
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            reason = str(e) if isinstance(e, UpdateError) else "not JSON"
            log.info("zalo webhook body refused: %s", reason)
            return web.json_response({"ok": False, "error": f"not a Zalo update: {reason}"}, status=400)
        if not await processor.process(update):
            return web.json_response({"ok": False, "error": "temporarily unavailable"}, status=503)
        return web.json_response({"ok": True})

    return handle

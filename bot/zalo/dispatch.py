"""One Zalo update in: a group chat's message to `bot.zalo.groups`, a private one to the citizen's
conversation (`bot.zalo.citizens`); one person's messages in order, different people in parallel.

`ZaloProcessor.process` says whether an update may be acknowledged (the webhook's 2xx): yes when handled (or
when a bug made it fail: logged once with the message id, and the person gets the catalog's temporary-error
reply), no when the database or Zalo is unreachable for a moment, so that a webhook delivers it again.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import replace

from bot.context import KeyedLocks, transient_errors
from bot.zalo import citizens, groups
from bot.zalo.client import ZaloError
from bot.zalo.context import ZaloApp
from bot.zalo.texts import t
from bot.zalo.updates import ChatType, ZaloUpdate

log = logging.getLogger(__name__)


def is_transient(error: BaseException) -> bool:
    """A failure that will likely go away (the network, the database, Zalo's 5xx): process the update later."""
    if isinstance(error, ZaloError):
        return error.kind in ("transient", "rate_limited")
    if isinstance(error, transient_errors()):
        return True
    cause = error.__cause__ or error.__context__
    return cause is not None and cause is not error and is_transient(cause)


async def dispatch(app: ZaloApp, update: ZaloUpdate) -> None:
    """Route one update to its handler; raises what the handler raises."""
    message = update.message
    if message.is_bot or not update.event_name.startswith("message."):
        return  # another kind of event (someone joined, ...): nothing to answer
    if not update.is_text:  # an image, a sticker, ...: whatever text it carries is not an answer
        message = replace(message, text=None)
    if message.chat_type is ChatType.GROUP:
        await groups.handle_group_message(app, message)
        return
    await citizens.handle_private(app, message)


class ZaloProcessor:
    """Processes updates with the error policy above, and counts them (for logs and /metrics)."""

    channel = "zalo"

    def __init__(self, app: ZaloApp) -> None:
        self.app = app
        self.locks = KeyedLocks()
        self.in_flight = 0
        self.handled = 0
        self.failed = 0
        self.retried = 0
        self.durations: deque[float] = deque(maxlen=10_000)
        self._told: deque[str] = deque(maxlen=1000)
        """Messages whose person was told of a failure (a redelivery is not told again)."""

    async def process(self, update: ZaloUpdate) -> bool:
        """Handle one update; True when it may be acknowledged."""
        message = update.message
        self.in_flight += 1
        started = time.perf_counter()
        try:
            async with self.locks(("user", message.user_id)):
                try:
                    await dispatch(self.app, update)
                except Exception as e:
                    if is_transient(e):
                        self.retried += 1
                        log.warning("zalo message %s not processed (will be tried again): %r", message.message_id, e)
                        await self._tell_failure(update)
                        return False
                    self.failed += 1
                    log.exception("zalo message %s failed", message.message_id)
                    await self._tell_failure(update)
                    return True
                self.handled += 1
                return True
        finally:
            self.in_flight -= 1
            self.durations.append(time.perf_counter() - started)

    async def _tell_failure(self, update: ZaloUpdate) -> None:
        """Tell the person something went wrong for a moment (once per message, not at every redelivery), in
        both languages (theirs may be what could not be read)."""
        message = update.message
        if message.message_id in self._told or message.chat_type is not ChatType.PRIVATE:
            return
        self._told.append(message.message_id)
        try:
            await self.app.client.send_message(message.chat_id, t.both("temporary_error"))
        except Exception as e:  # Zalo unreachable too: nothing more to do
            log.debug("could not tell zalo chat %s about the failure: %r", message.chat_id, e)

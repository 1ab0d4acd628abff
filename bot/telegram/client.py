"""The aiogram Bot: pointed at TELEGRAM_API_BASE, HTML by default, with retries for Telegram's limits."""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from typing import Any, ClassVar, cast

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType

log = logging.getLogger(__name__)


class RetryMiddleware(BaseRequestMiddleware):
    """429: wait `retry_after` and try again; network errors and 5xx: back off and try again; a bounded
    number of times, then the error goes to the caller (who leaves the update unacknowledged)."""

    def __init__(self, attempts: int = 5, base_delay: float = 0.5, max_wait: float = 60.0) -> None:
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if isinstance(method, GetUpdates):  # the polling loop has its own backoff
            # (the isinstance narrowed `method` to GetUpdates, losing its TelegramType: it is the same method)
            return await make_request(bot, cast(TelegramMethod[TelegramType], method))
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as e:
                if attempt == self.attempts or e.retry_after > self.max_wait:
                    raise
                log.info("Telegram asks to wait %s s before %s", e.retry_after, method.__api_method__)
                await asyncio.sleep(e.retry_after)
            except (TelegramNetworkError, TelegramServerError) as e:
                if attempt == self.attempts:
                    raise
                delay = self.base_delay * 2 ** (attempt - 1)
                log.info("%s failed (%s), retrying in %.1f s", method.__api_method__, e, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


class Session(AiohttpSession):
    """aiogram's session, except that `Response[T]` is built once per result type: aiogram builds the
    pydantic generic model on every call, which was ~10% of the CPU spent per answer under load."""

    _response_types: ClassVar[dict[Any, Any]] = {}

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        returning = method.__returning__
        response_type = self._response_types.get(returning)
        if response_type is None:
            # a generic alias made at run time from the method's result type, which mypy cannot follow
            response_type = self._response_types[returning] = Response[returning]  # type: ignore[valid-type]
        try:
            json_data = self.json_loads(content)
            response: Response[TelegramType] = response_type.model_validate(json_data, context={"bot": bot})
        except Exception:
            return super().check_response(bot, method, status_code, content)  # aiogram's own errors
        if HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED and response.ok:
            return response
        return super().check_response(bot, method, status_code, content)


def make_bot(token: str, api_base: str = "https://api.telegram.org", **session_kwargs: Any) -> Bot:
    session = Session(api=TelegramAPIServer.from_base(api_base), **session_kwargs)
    session.middleware(RetryMiddleware())
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))

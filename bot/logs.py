"""The log format of khaosat's processes: every line's time carries its zone ("2026-12-03 18:38:03.120+07:00"),
in the TZ setting, so that lines from a server in UTC and an operator in Hà Nội are never misread."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ZonedFormatter(logging.Formatter):
    """`%(asctime)s` as an ISO time with milliseconds and the UTC offset of `timezone`."""

    def __init__(self, fmt: str, timezone: str) -> None:
        super().__init__(fmt)
        self.zone = ZoneInfo(timezone)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, self.zone)
        return moment.isoformat(sep=" ", timespec="milliseconds")


def configure(level: str, timezone: str, fmt: str = FORMAT) -> None:
    """Log to stderr at `level`, times in `timezone` with their offset (like logging.basicConfig, once)."""
    handler = logging.StreamHandler()
    handler.setFormatter(ZonedFormatter(fmt, timezone))
    logging.basicConfig(level=level.upper(), handlers=[handler])

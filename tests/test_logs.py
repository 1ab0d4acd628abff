"""Log lines of khaosat's processes carry their time zone."""

from __future__ import annotations

import logging
import re

from bot.logs import FORMAT, ZonedFormatter


def test_a_log_line_shows_its_time_with_the_zone_offset() -> None:
    record = logging.LogRecord("bot.bootstrap", logging.WARNING, __file__, 1, "dashboard: %s", ("x",), None)
    record.created = 1796256000.25  # 2026-12-03 00:00:00.250 UTC
    line = ZonedFormatter(FORMAT, "Asia/Ho_Chi_Minh").format(record)
    assert line == "2026-12-03 07:00:00.250+07:00 WARNING bot.bootstrap: dashboard: x"
    utc = ZonedFormatter(FORMAT, "UTC").format(record)
    assert re.match(r"2026-12-03 00:00:00\.250\+00:00 ", utc)

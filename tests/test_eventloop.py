"""bot.eventloop: uvloop where installed (it is a dependency on Linux), asyncio's loop on request."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from bot import eventloop


async def loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def run_in_thread(choice: eventloop.Choice) -> str:
    """Run in a fresh thread: pytest-asyncio's loop may be set on this one."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(eventloop.run, loop_module(), choice).result()


@pytest.mark.skipif(importlib.util.find_spec("uvloop") is None, reason="uvloop is not installed here")
def test_auto_and_uvloop_run_on_uvloop() -> None:
    assert run_in_thread("auto").startswith("uvloop")
    assert run_in_thread("uvloop").startswith("uvloop")


def test_asyncio_runs_on_asyncios_own_loop() -> None:
    assert run_in_thread("asyncio").startswith("asyncio")


def test_uvloop_asked_for_but_missing_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_uvloop(name: str, *args: object, **kwargs: object) -> object:
        if name == "uvloop":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_uvloop)
    assert run_in_thread("auto").startswith("asyncio")
    with pytest.raises(eventloop.EventLoopUnavailable, match="EVENT_LOOP=uvloop but uvloop is not installed"):
        run_in_thread("uvloop")

"""A raw HTTP/1.1 client for abuse tests: sends exactly the bytes given (non-UTF-8 cookies, wrong charsets,
broken bodies), which aiohttp's client would refuse or repair."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass

import pytest

Headers = list[tuple[bytes, bytes]]


@dataclass
class RawReply:
    status: int
    """0 when the connection was closed without a reply."""
    headers: dict[str, str]
    """Lower-case names; a repeated header keeps its last value."""
    set_cookies: list[str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def _dechunk(body: bytes) -> bytes:
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


async def send(
    port: int,
    method: str,
    target: bytes,
    headers: Headers = (),
    body: bytes = b"",
    timeout: float = 30,  # type: ignore[assignment]
) -> RawReply:
    """One request on a fresh connection (Connection: close), the reply read to the end."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
        head.append(b"Content-Length: " + str(len(body)).encode())
        head += [name + b": " + value for name, value in headers]
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    if not data:  # the server closed the connection without answering
        return RawReply(0, {}, [], b"")
    raw_head, _, payload = data.partition(b"\r\n\r\n")
    lines = raw_head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    parsed: dict[str, str] = {}
    cookies: list[str] = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
        if name.strip().lower() == "set-cookie":
            cookies.append(value.strip())
    if parsed.get("transfer-encoding") == "chunked":
        payload = _dechunk(payload)
    return RawReply(status, parsed, cookies, payload)


def cookie_value(reply: RawReply, name: str) -> str | None:
    for header in reply.set_cookies:
        match = re.match(rf"{re.escape(name)}=([^;]*)", header)
        if match:
            return match.group(1).strip('"')
    return None


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """ERROR (and worse) records, and any record with a traceback, as one line each."""
    return [
        f"{r.levelname} {r.name}: {r.getMessage()[:200]}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info
    ]

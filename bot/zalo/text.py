"""Plain text for Zalo: split under the platform's 2,000 characters, and HTML taken out."""

from __future__ import annotations

import html
import re

MAX_TEXT = 2000


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """The text in parts of at most `limit` characters, cut at line breaks (a line longer than `limit` at a
    space, else anywhere); never an empty part. An empty or blank text gives no part."""
    if limit < 1:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        for piece in _cut_line(line, limit):
            candidate = piece if not current else current + "\n" + piece
            if len(candidate) <= limit:
                current = candidate
            else:
                if current.strip():
                    parts.append(current.rstrip("\n"))
                current = piece
    if current.strip():
        parts.append(current.rstrip("\n"))
    return [p for p in (p.strip("\n") for p in parts) if p.strip()]


def _cut_line(line: str, limit: int) -> list[str]:
    pieces: list[str] = []
    while len(line) > limit:
        cut = line.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        pieces.append(line[:cut].rstrip())
        line = line[cut:].lstrip()
    pieces.append(line)
    return pieces


_TAG = re.compile(r"<a\s+href=\"([^\"]*)\"\s*>(.*?)</a>|<[^>]+>", re.S)


def plain(html_text: str) -> str:
    """A text of the catalog's small HTML subset (<b>, <i>, <code>, <a href>) as plain text: tags out (a link
    keeps its address in parentheses when its words differ), entities decoded."""

    def repl(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            href, words = html.unescape(m.group(1)), m.group(2)
            return words if html.unescape(words) == href else f"{words} ({href})"
        return ""

    return html.unescape(_TAG.sub(repl, html_text))

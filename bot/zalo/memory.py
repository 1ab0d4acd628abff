"""What this process remembers between a person's messages, where the platform has no buttons to carry it.

Two things, both only conveniences with a fallback when forgotten (a restart, another worker process):
- the consent screen shown (its campaign and the ward of the code typed): "1" / "đồng ý" agrees to it;
  forgotten, "đồng ý" agrees to the campaign that is open (the ward is then asked);
- the numbered list of wards shown for the ward question (after a name search, or a short list of all):
  "2" picks its second ward, "xem thêm" shows the next page; forgotten, the number is read as the engine
  reads a typed ward (a ward code), and "xem thêm" says there is no list.

Nothing here is stored: before consent nothing about a person is kept, and the answers are the state.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

from flows.questions import Option

WARDS_PER_PAGE = 8
"""Wards a numbered list shows at a time."""


@dataclass(frozen=True)
class PendingConsent:
    campaign_code: str
    ward_code: int | None


@dataclass(frozen=True)
class WardList:
    """A numbered list of wards shown for a response's ward question, and the page on screen."""

    response_id: int
    question_id: str
    options: tuple[Option, ...]
    page: int = 0
    text: str = ""
    """What was searched ("" for the short list of all the campaign's wards)."""

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.options) // WARDS_PER_PAGE))

    def shown(self) -> tuple[Option, ...]:
        """Every ward listed up to the current page (numbers keep counting across pages)."""
        return self.options[: (self.page + 1) * WARDS_PER_PAGE]

    def page_items(self) -> list[tuple[int, Option]]:
        start = self.page * WARDS_PER_PAGE
        return [(start + i + 1, o) for i, o in enumerate(self.options[start : start + WARDS_PER_PAGE])]

    def pick(self, number: int) -> Option | None:
        shown = self.shown()
        return shown[number - 1] if 1 <= number <= len(shown) else None


@dataclass
class _Entry:
    at: float
    consent: PendingConsent | None = None
    wards: WardList | None = None


@dataclass
class Memory:
    """Per person (Zalo user id), for at most `ttl` seconds and `size` people (the oldest forgotten first)."""

    ttl: float = 24 * 3600
    size: int = 50_000
    _entries: OrderedDict[str, _Entry] = field(default_factory=OrderedDict)

    def _get(self, user_id: str) -> _Entry | None:
        entry = self._entries.get(user_id)
        if entry is not None and time.monotonic() - entry.at > self.ttl:
            del self._entries[user_id]
            return None
        return entry

    def _put(self, user_id: str) -> _Entry:
        entry = self._get(user_id) or _Entry(time.monotonic())
        entry.at = time.monotonic()
        self._entries[user_id] = entry
        self._entries.move_to_end(user_id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return entry

    def consent(self, user_id: str) -> PendingConsent | None:
        entry = self._get(user_id)
        return entry.consent if entry is not None else None

    def set_consent(self, user_id: str, pending: PendingConsent | None) -> None:
        if pending is None and self._get(user_id) is None:
            return
        self._put(user_id).consent = pending

    def wards(self, user_id: str, response_id: int | None, question_id: str | None) -> WardList | None:
        """The ward list shown for this question of this response, if any."""
        entry = self._get(user_id)
        found = entry.wards if entry is not None else None
        if found is None or found.response_id != response_id or found.question_id != question_id:
            return None
        return found

    def set_wards(self, user_id: str, wards: WardList | None) -> None:
        if wards is None and self._get(user_id) is None:
            return
        self._put(user_id).wards = wards

    def forget(self, user_id: str) -> None:
        self._entries.pop(user_id, None)

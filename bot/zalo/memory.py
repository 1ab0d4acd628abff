"""What the Zalo channel remembers between a person's messages, where the platform has no buttons to carry it.

Stored in the database (`chat_state`, per chat), so any process, after any restart, continues where the last
message left the person; read at each message, written before its reply is sent:
- the consent screen shown (its campaign and the ward of the code typed): "1" / "đồng ý" agrees to it;
- the numbered list of wards shown for the ward question (after a name search, or a short list of all), and the
  page on screen: "2" picks its second ward, "xem thêm" shows the next page;
- a confirmation asked ("làm lại" / "xoá dữ liệu"): only then does "xác nhận làm lại" / "xác nhận xoá" act;
  any other message puts it away;
- apart from these (`storage.repo.chat_state`), the last message whose reply was shown: a redelivered message
  is shown once.

Nothing of a person's answers is kept here; erasure deletes it, and the scheduler forgets what was untouched
longer than `PROCESSED_UPDATE_RETENTION_DAYS`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from flows.questions import Option

WARDS_PER_PAGE = 8
"""Wards a numbered list shows at a time."""

CONFIRMATIONS = ("restart", "delete")


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


@dataclass(frozen=True)
class Remembered:
    """One chat's state: what its last reply showed."""

    consent: PendingConsent | None = None
    wards: WardList | None = None
    confirm: str | None = None
    """The confirmation asked ("restart" or "delete"), if the last reply asked one."""

    def wards_of(self, response_id: int | None, question_id: str | None) -> WardList | None:
        """The ward list shown for this question of this response, if any."""
        found = self.wards
        if found is None or found.response_id != response_id or found.question_id != question_id:
            return None
        return found

    def with_consent(self, consent: PendingConsent | None) -> Remembered:
        return replace(self, consent=consent)

    def with_wards(self, wards: WardList | None) -> Remembered:
        return replace(self, wards=wards)

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.consent is not None:
            data["consent"] = {"campaign": self.consent.campaign_code, "ward": self.consent.ward_code}
        if self.wards is not None:
            w = self.wards
            data["wards"] = {
                "response": w.response_id,
                "question": w.question_id,
                "options": [[o.value, o.label] for o in w.options],
                "page": w.page,
                "text": w.text,
            }
        if self.confirm is not None:
            data["confirm"] = self.confirm
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Remembered:
        """Read back what `to_data` wrote; anything unreadable (an older shape) is forgotten, not an error."""
        consent = wards = confirm = None
        try:
            c = data.get("consent")
            if isinstance(c, dict) and isinstance(c.get("campaign"), str):
                ward = c.get("ward")
                consent = PendingConsent(c["campaign"], ward if isinstance(ward, int) else None)
        except (TypeError, ValueError):
            consent = None
        try:
            w = data.get("wards")
            if isinstance(w, dict):
                options = tuple(Option(value, str(label)) for value, label in w["options"])
                wards = WardList(int(w["response"]), str(w["question"]), options, int(w["page"]), str(w["text"]))
        except (KeyError, TypeError, ValueError):
            wards = None
        if data.get("confirm") in CONFIRMATIONS:
            confirm = data["confirm"]
        return cls(consent, wards, confirm)

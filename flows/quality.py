"""Data-quality flags of a completed response: the rules, decided once (pure). `flows.conversation.decide`
applies them to the answer that completes a response (both executors store the result with it);
`storage.repo.quality` applies them to a stored response (a web response's address count, the sweep).

* `too_fast`: completed in less than `SECONDS_PER_QUESTION` seconds per question the person was shown
  (answered or skipped; answers that came with the link, such as its ward, do not count): nobody reads a
  question, its options and answers it in under 3 seconds.
* `straightlining`: the same answer to every 5-level (likert) question answered on the scale, when there are at
  least `STRAIGHTLINE_MIN` of them ("don't know" and skipped ones are not on the scale).
* `many_from_address`: a web response completed when `MANY_FROM_ADDRESS` or more responses of the campaign that
  were begun from the same client address (its keyed hash) had completed in the hour up to it, itself included.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flows.schema import Survey

SECONDS_PER_QUESTION = 3.0
STRAIGHTLINE_MIN = 5
MANY_FROM_ADDRESS = 10


class Flag(enum.Enum):
    TOO_FAST = "too_fast"
    STRAIGHTLINING = "straightlining"
    MANY_FROM_ADDRESS = "many_from_address"


@dataclass(frozen=True)
class CompletedResponse:
    """What the rules look at in a completed response."""

    started_at: datetime
    completed_at: datetime
    answers: Mapping[str, Any]
    """Question id -> stored value (None: skipped), of the questions the person was shown."""
    same_address: int = 0
    """Completed responses from the same client address in the hour up to this one (itself included; 0: not a
    web response, or its address is no longer known)."""


def assess(survey: Survey, response: CompletedResponse) -> tuple[Flag, ...]:
    """The flags of a completed response, in the order of `Flag`."""
    flags: list[Flag] = []
    shown = len(response.answers)
    seconds = (response.completed_at - response.started_at).total_seconds()
    if shown and seconds < SECONDS_PER_QUESTION * shown:
        flags.append(Flag.TOO_FAST)
    likert = {q.id for q in survey.questions if q.type == "likert5"}
    scale = [
        value
        for qid, value in response.answers.items()
        if qid in likert and isinstance(value, int | float) and not isinstance(value, bool)
    ]
    if len(scale) >= STRAIGHTLINE_MIN and len(set(scale)) == 1:
        flags.append(Flag.STRAIGHTLINING)
    if response.same_address >= MANY_FROM_ADDRESS:
        flags.append(Flag.MANY_FROM_ADDRESS)
    return tuple(flags)


def stored(flags: tuple[Flag, ...]) -> str:
    """How flags are stored (comma-separated names; "" for none)."""
    return ",".join(f.value for f in flags)


def parse(text: str | None) -> tuple[str, ...]:
    """Stored flags as names (none for NULL or "")."""
    return tuple(part for part in (text or "").split(",") if part)

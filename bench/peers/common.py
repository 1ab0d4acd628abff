"""What the two baseline bots share: the bundled questionnaire's questions and labels (so that the load is
the same), and writing a finished questionnaire to the database in one transaction at the end."""

from __future__ import annotations

import json
import os
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, cast

from flows.i18n import likert_labels
from flows.loader import bundled_survey_path, load_survey
from flows.schema import MultiChoiceQuestion, Survey


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run a peer on the event loop khaosat runs on (EVENT_LOOP, uvloop where installed), so that the
    comparison is of the bots, not of their loops."""
    from bot.eventloop import Choice
    from bot.eventloop import run as run_loop

    run_loop(main, cast(Choice, os.environ.get("EVENT_LOOP", "auto")))


CONSENT_YES = "✅ Tôi đồng ý"
SERVICE_BLOCK = {
    "procedure_kind",
    "sat_access",
    "sat_procedures",
    "sat_staff",
    "sat_result",
    "visits",
    "informal_payment",
}


@dataclass(frozen=True)
class PeerQuestion:
    id: str
    text: str
    options: tuple[tuple[str, str], ...]  # (value, label); empty for typed questions
    multi: bool = False
    max_selections: int = 1


def questions() -> list[PeerQuestion]:
    """The bundled questionnaire without its ward question (the deep link gives the ward)."""
    survey: Survey = load_survey(bundled_survey_path())
    out = []
    for q in survey.questions:
        if q.type == "ward":
            continue
        label = survey.text(q.label, "vi")
        options: list[tuple[str, str]] = []
        if q.type in ("single_choice", "multi_choice"):
            options = [(c.value, survey.text(c.label, "vi")) for c in survey.choices(q)]  # type: ignore[arg-type]
        elif q.type == "likert5":
            labels = likert_labels(q.scale, "vi")  # type: ignore[union-attr]
            options = [(str(i + 1), text) for i, text in enumerate(labels)]
            if q.dont_know:  # type: ignore[union-attr]
                options.append(("dk", "Không rõ"))
        elif q.type == "yes_no":
            options = [("yes", "Có"), ("no", "Không")]
        elif q.type == "rating":
            options = [(str(i), str(i)) for i in range(11)]
        multi = isinstance(q, MultiChoiceQuestion)
        out.append(PeerQuestion(q.id, label, tuple(options), multi, q.max_selections or 3 if multi else 1))  # type: ignore[union-attr]
    return out


def next_index(qs: list[PeerQuestion], index: int, answers: dict[str, Any]) -> int:
    """The conventional way: skip rules written by hand."""
    i = index + 1
    while i < len(qs):
        qid = qs[i].id
        if qid in SERVICE_BLOCK and answers.get("used_service") == "no":
            i += 1
            continue
        if qid == "sat_feedback" and answers.get("gave_feedback") != "yes":
            i += 1
            continue
        return i
    return i


class AnswerStore:
    """One table, one transaction per finished questionnaire."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.ext.asyncio import create_async_engine

        self.engine = create_async_engine(url)

    async def setup(self) -> None:
        import sqlalchemy as sa

        async with self.engine.begin() as conn:
            await conn.execute(
                sa.text("CREATE TABLE IF NOT EXISTS peer_answer (user_id BIGINT, question TEXT, value TEXT)")
            )

    async def save(self, user_id: int, answers: dict[str, Any]) -> None:
        import sqlalchemy as sa

        rows = [{"u": user_id, "q": q, "v": json.dumps(v)} for q, v in answers.items()]
        async with self.engine.begin() as conn:
            await conn.execute(sa.text("INSERT INTO peer_answer (user_id, question, value) VALUES (:u, :q, :v)"), rows)

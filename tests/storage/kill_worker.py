"""A separate process that answers the bundled survey through the conversation service, printing
"ACK <question>" after each answer is committed, until it is killed."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from flows import engine
from flows.events import QuestionAsked
from storage.conversation import ConversationService, GiveConsent, Reply, Who
from storage.db import Database

ANSWERS: dict[str, Any] = {
    "age_group": "30_44",
    "gender": "female",
    "used_service": "in_person",
    "procedure_kind": "land",
    "sat_access": 4,
    "sat_procedures": 3,
    "sat_staff": 5,
    "sat_result": 2,
    "visits": 3,
    "informal_payment": "no",
    "gave_feedback": "no",
    "transparency": 4,
}


async def main(url: str, user: str, first_update: int) -> None:
    db = Database(url)
    service = ConversationService(db, b"kill-secret")
    who = Who("telegram", user, address=user)
    update = first_update
    out = await service.handle(who, GiveConsent(True, "hn-2026", 70), update)
    while True:
        event = out.events[-1]
        if not isinstance(event, QuestionAsked) or event.question_id not in ANSWERS:
            print("DONE", flush=True)
            await asyncio.sleep(3600)
        update += 1
        out = await service.handle(who, Reply(engine.Answer(ANSWERS[event.question_id], event.question_id)), update)
        print("ACK", event.question_id, flush=True)
        await asyncio.sleep(0.01)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))

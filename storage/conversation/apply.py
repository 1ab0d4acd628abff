"""The portable executor: carries out a decision's writes with SQLAlchemy, on SQLite and PostgreSQL, in the
transaction of the update (which already claimed the update's id and locked the respondent)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.conversation import (
    AddPerson,
    BeginResponse,
    ClearAnswers,
    Decision,
    DeleteResponses,
    DropAddresses,
    ForgetPerson,
    KeepAddress,
    PersonState,
    PutAnswer,
    RemoveAnswer,
    SetPaused,
    TouchResponse,
    Unchanged,
    UpdatePerson,
    Write,
)
from storage.repo import chat_state
from storage.repo.sql import answer, channel_address, insert, respondent, response
from storage.types import numeric


async def apply(
    conn: AsyncConnection, key: str, person: PersonState | None, decision: Decision, now: datetime
) -> int | None:
    """Store the decision's writes, in order. Returns the id of the response it began, if any."""
    person_id = None if person is None else person.id
    begun: int | None = None
    for write in decision.writes:
        person_id, created = await _write(conn, key, person_id, write, now)
        begun = created if created is not None else begun
    return begun


async def _write(
    conn: AsyncConnection, key: str, person_id: int | None, w: Write, now: datetime
) -> tuple[int | None, int | None]:
    """One write; (the respondent's id after it, the id of a response it began)."""
    if isinstance(w, AddPerson):
        values: dict[str, Any] = {
            "key": key,
            "language": w.language,
            "consent_at": now if w.consented else None,
            "opted_out": False,
            "invitations": w.invitations,
            "created_at": now,
        }
        if w.consented:
            new_id = (await conn.execute(respondent.insert().values(**values).returning(respondent.c.id))).scalar_one()
            return int(new_id), None
        # a language chosen before anything else: a concurrent first update may have added the row
        stmt = insert(conn, respondent).values(**values).on_conflict_do_nothing(index_elements=["key"])
        await conn.execute(stmt)
        found = (await conn.execute(sa.select(respondent.c.id).where(respondent.c.key == key))).scalar_one()
        return int(found), None
    assert person_id is not None, f"{type(w).__name__} needs a respondent"
    if isinstance(w, UpdatePerson):
        changes: dict[str, Any] = {}
        if w.consented:
            changes["consent_at"] = now
        if w.invitations is not None:
            changes["invitations"] = w.invitations
        if w.language is not None:
            changes["language"] = w.language
        if changes:
            await conn.execute(respondent.update().where(respondent.c.id == person_id).values(**changes))
    elif isinstance(w, KeepAddress):
        stmt = insert(conn, channel_address).values(
            respondent_id=person_id, channel=w.channel, address=w.address, unreachable=False, updated_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["respondent_id", "channel"],
            set_={"address": stmt.excluded.address, "unreachable": False, "updated_at": now},
        )
        await conn.execute(stmt)
    elif isinstance(w, BeginResponse):
        response_id = (
            await conn.execute(
                response.insert()
                .values(
                    campaign_id=w.campaign_id,
                    respondent_id=person_id,
                    ward_code=w.ward_code,
                    status="in_progress",
                    channel=w.channel,
                    fixed=list(w.fixed),
                    started_at=now,
                    last_activity_at=now,
                    reminders_sent=0,
                )
                .returning(response.c.id)
            )
        ).scalar_one()
        if w.answers:
            rows = [
                {"response_id": response_id, "question_id": q, "value": v, "value_num": numeric(v), "answered_at": now}
                for q, v in w.answers
            ]
            await conn.execute(answer.insert(), rows)
        return person_id, int(response_id)
    elif isinstance(w, PutAnswer):
        stmt = insert(conn, answer).values(
            response_id=w.response_id,
            question_id=w.question_id,
            value=w.value,
            value_num=numeric(w.value),
            answered_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["response_id", "question_id"],
            set_={"value": stmt.excluded.value, "value_num": stmt.excluded.value_num, "answered_at": now},
        )
        await conn.execute(stmt)
    elif isinstance(w, RemoveAnswer):
        await conn.execute(
            answer.delete().where(answer.c.response_id == w.response_id, answer.c.question_id == w.question_id)
        )
    elif isinstance(w, ClearAnswers):
        await conn.execute(
            answer.delete().where(answer.c.response_id == w.response_id, answer.c.question_id.not_in(list(w.keep)))
        )
    elif isinstance(w, TouchResponse):
        touched: dict[str, Any] = {"last_activity_at": now}
        if not isinstance(w.ward_code, Unchanged):
            touched["ward_code"] = w.ward_code
        if w.completed:
            touched["status"] = "completed"
            touched["completed_at"] = now
            touched["quality_flags"] = w.quality_flags
        await conn.execute(response.update().where(response.c.id == w.response_id).values(**touched))
    elif isinstance(w, DropAddresses):
        await chat_state.delete_of_respondent(conn, person_id)  # what its chats remember goes with them
        await conn.execute(channel_address.delete().where(channel_address.c.respondent_id == person_id))
    elif isinstance(w, SetPaused):
        paused_at = now if w.paused else None
        await conn.execute(response.update().where(response.c.id == w.response_id).values(paused_at=paused_at))
    elif isinstance(w, DeleteResponses):
        await conn.execute(response.delete().where(response.c.respondent_id == person_id))
    elif isinstance(w, ForgetPerson):
        await conn.execute(respondent.delete().where(respondent.c.id == person_id))
        return None, None
    return person_id, None

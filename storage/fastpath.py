"""The hot path: applying one answer (a `Reply`) with the drivers' own connections.

Same rules as the general path in `storage.conversation` (one transaction with the processed-update row,
the respondent row locked on PostgreSQL, the single writer on SQLite), in four statements and without
SQLAlchemy's per-statement cost. Anything unusual (no respondent, a closed campaign, a completed or
unknown response, a questionnaire not yet cached) is left to the general path: `Fallback` is raised
before anything is written, and the transaction is rolled back.

On PostgreSQL an answer first tries the optimistic program (`optimistic_reply_program`): two round trips
and no explicit transaction instead of six (BEGIN, claim and lock, load, upsert, update, COMMIT). It reads
without locking, runs the engine, then writes in one statement that locks the respondent and the response
as the other paths do and checks that the response row is still the version it read (its `xmin`: every
change of a response's answers also updates its row, in the same transaction). If it is not, nothing is
written and the locked program runs instead (`Contended`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flows import engine
from flows.events import AnswerRecorded, AnswerRemoved, SurveyCompleted
from flows.questions import Context, JSONValue
from flows.schema import DONT_KNOW, Survey


class Fallback(Exception):
    """The fast path does not handle this case; use the general one."""


def sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (naive UTC, microseconds)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def numeric(value: JSONValue) -> float | None:
    """The number an answer stands for, for aggregation in SQL ("dk" and texts are not numbers)."""
    if isinstance(value, bool) or value == DONT_KNOW:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


class Contended(Exception):
    """The optimistic program wrote nothing: the response changed after it was read, or the step is not a
    single recorded answer. Run the locked program."""


class Stale(Contended):
    """The optimistic program wrote nothing: the response or its respondent is not the version read (or
    known), or its campaign closed."""


_PG_LOAD = """
    SELECT p.id, p.language, r.id, r.campaign_id, r.status, r.ward_code, r.fixed, r.prompt_message_id,
           c.code, c.title, c.status, c.ends_at, c.survey_id, s.content_hash,
           (SELECT json_agg(json_build_array(a.question_id, a.value) ORDER BY a.id)
              FROM answer a WHERE a.response_id = r.id){more}
      FROM respondent p
      LEFT JOIN response r ON r.respondent_id = p.id
           AND (r.id = $2::int OR ($2::int IS NULL AND r.status = 'in_progress'))
      LEFT JOIN campaign c ON c.id = r.campaign_id
      LEFT JOIN survey s ON s.id = c.survey_id
     WHERE p.key = $1
     ORDER BY r.last_activity_at DESC NULLS LAST, r.id DESC
     LIMIT 1"""

# A new person's first update (/start, consent), if the campaign is open and no respondent has the key:
# claim the update. $1 campaign id, $2 now, $3 key, $4 channel, $5 update id.
_NEW_PERSON = """
            WITH c AS MATERIALIZED (
                SELECT id FROM campaign
                 WHERE id = $1::int AND status = 'active' AND starts_at <= $2::timestamptz AND ends_at > $2),
            fresh AS MATERIALIZED (SELECT 1 FROM c WHERE NOT EXISTS (SELECT 1 FROM respondent WHERE key = $3::text)),
            claimed AS (
                INSERT INTO processed_update (channel, update_id, processed_at)
                SELECT $4::text, $5::text, $2 FROM fresh
                ON CONFLICT DO NOTHING RETURNING 1)"""

SQL: dict[str, dict[str, str]] = {
    "postgresql": {
        "claim": "INSERT INTO processed_update (channel, update_id, processed_at) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING RETURNING 1",
        # Lock first, then read: a statement's snapshot is taken when it starts, so the answers must be read
        # by a statement that starts after the lock is held (the previous input's commit is then visible).
        "lock": "SELECT id FROM respondent WHERE key = $1 FOR UPDATE",
        "claim_lock": """
            WITH claimed AS (
                INSERT INTO processed_update (channel, update_id, processed_at) VALUES ($1, $2, $3)
                ON CONFLICT DO NOTHING RETURNING 1)
            SELECT (SELECT count(*) FROM claimed), (SELECT id FROM respondent WHERE key = $4 FOR UPDATE)""",
        "load": _PG_LOAD.format(more=""),
        # the optimistic program's read: the same, with the row version read and whether the update was seen
        "load_seen": _PG_LOAD.format(
            more=", r.xmin, p.xmin, EXISTS (SELECT 1 FROM processed_update WHERE channel = $3 AND update_id = $4)"
        ),
        # ... and its write, in one statement: lock the respondent (as every path does, first) if it is still
        # the version read, then the response, if it is too (a lock wait re-reads them) and its campaign is
        # open; claim the update; store the answer; update the response. Counts tell what happened (nothing is
        # written unless all hold), and the response's new version.
        "commit_answer": """
            WITH me AS MATERIALIZED (SELECT id FROM respondent WHERE id = $10 AND xmin = $14 FOR UPDATE),
            cur AS MATERIALIZED (
                SELECT r.id FROM response r JOIN me ON me.id = r.respondent_id
                  JOIN campaign c ON c.id = r.campaign_id
                 WHERE r.id = $1 AND r.xmin = $11 AND r.status = 'in_progress'
                   AND c.status = 'active' AND c.ends_at > $2
                   FOR UPDATE OF r),
            claimed AS (
                INSERT INTO processed_update (channel, update_id, processed_at)
                SELECT $12, $13, $2 FROM cur
                ON CONFLICT DO NOTHING RETURNING 1),
            up AS (
                INSERT INTO answer (response_id, question_id, value, value_num, answered_at)
                SELECT $1, $7, COALESCE($8::jsonb, 'null'::jsonb), $9, $2 FROM claimed
                ON CONFLICT (response_id, question_id) DO UPDATE SET value = excluded.value,
                    value_num = excluded.value_num, answered_at = excluded.answered_at
                RETURNING 1),
            upd AS (
                UPDATE response SET last_activity_at = $2,
                       ward_code = CASE WHEN $3::boolean THEN $4::int ELSE ward_code END,
                       status = COALESCE($5::text, status), completed_at = COALESCE($6::timestamptz, completed_at)
                 WHERE id = $1 AND EXISTS (SELECT 1 FROM claimed)
                RETURNING xmin)
            SELECT (SELECT count(*) FROM cur), (SELECT count(*) FROM claimed),
                   (SELECT count(*) FROM up), (SELECT xmin FROM upd)""",
        "upsert": "INSERT INTO answer (response_id, question_id, value, value_num, answered_at) "
        "VALUES ($1, $2, COALESCE($3::jsonb, 'null'::jsonb), $4, $5) "
        "ON CONFLICT (response_id, question_id) DO UPDATE SET value = excluded.value, "
        "value_num = excluded.value_num, answered_at = excluded.answered_at",
        # /start with a campaign from someone the database does not know yet: nothing is stored before consent
        # but the update's id, if the campaign is open and there is no respondent with this key
        "start_new": _NEW_PERSON
        + """
            SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM fresh), (SELECT count(*) FROM claimed)""",
        # "I agree" from someone the database does not know yet (the usual consent), in one statement: if the
        # campaign is open and there is no respondent with this key, claim the update, add the respondent,
        # their chat address, the response and the answer that came with the link (the ward). Counts and
        # the response id tell what happened; anything else is left to the general path, nothing written.
        "begin_new": _NEW_PERSON
        + """,
            p AS (
                INSERT INTO respondent (key, language, consent_at, opted_out, invitations, created_at)
                SELECT $3, $6::text, $2, false, $7::boolean, $2 FROM claimed RETURNING id),
            a AS (
                INSERT INTO channel_address (respondent_id, channel, address, unreachable, updated_at)
                SELECT id, $4, $8::text, false, $2 FROM p WHERE $8::text IS NOT NULL RETURNING 1),
            r AS (
                INSERT INTO response (campaign_id, respondent_id, ward_code, status, channel, fixed, started_at,
                                      last_activity_at, reminders_sent)
                SELECT $1, id, $9::int, 'in_progress', $4, $10::jsonb, $2, $2, 0 FROM p RETURNING id),
            ans AS (
                INSERT INTO answer (response_id, question_id, value, value_num, answered_at)
                SELECT id, $11::text, COALESCE($12::jsonb, 'null'::jsonb), $13::float8, $2 FROM r
                 WHERE $11::text IS NOT NULL
                RETURNING 1)
            SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM fresh), (SELECT count(*) FROM claimed),
                   (SELECT id FROM r), (SELECT count(*) FROM a), (SELECT count(*) FROM ans)""",
        "delete": "DELETE FROM answer WHERE response_id = $1 AND question_id = $2",
        # prompt message ids of many responses in one statement, their rows locked in the order of their ids (two
        # processes flushing at once cannot deadlock) and only while it runs (a transaction of one statement per
        # row held them for as many round trips, and answers to them waited): the ids written, and each row's
        # version before and after (a lock wait re-reads the row)
        "set_prompts": """
            WITH v AS (SELECT * FROM unnest($1::int[], $2::bigint[]) AS v(id, mid)),
            o AS MATERIALIZED (
                SELECT r.id, r.xmin AS before FROM response r WHERE r.id = ANY($1::int[]) ORDER BY r.id FOR UPDATE),
            u AS (
                UPDATE response r SET prompt_message_id = v.mid FROM o JOIN v ON v.id = o.id
                 WHERE r.id = o.id AND (v.mid IS NULL OR r.prompt_message_id IS NULL OR r.prompt_message_id < v.mid)
                RETURNING r.id, o.before::text::bigint AS before, r.xmin::text::bigint AS after)
            SELECT array_agg(id), array_agg(before), array_agg(after) FROM u""",
        "update": "UPDATE response SET last_activity_at = $2, "
        "ward_code = CASE WHEN $3::boolean THEN $4::int ELSE ward_code END, "
        "status = COALESCE($5::text, status), completed_at = COALESCE($6::timestamptz, completed_at) "
        "WHERE id = $1",
    },
    "sqlite": {
        "claim": "INSERT INTO processed_update (channel, update_id, processed_at) VALUES (?1, ?2, ?3) "
        "ON CONFLICT DO NOTHING RETURNING 1",
        "load": """
            SELECT p.id, p.language, r.id, r.campaign_id, r.status, r.ward_code, r.fixed, r.prompt_message_id,
                   c.code, c.title, c.status, c.ends_at, c.survey_id, s.content_hash,
                   (SELECT json_group_array(json_array(a.question_id, json(a.value)))
                      FROM (SELECT question_id, value FROM answer WHERE response_id = r.id ORDER BY id) a)
              FROM respondent p
              LEFT JOIN response r ON r.respondent_id = p.id
                   AND (r.id = ?2 OR (?2 IS NULL AND r.status = 'in_progress'))
              LEFT JOIN campaign c ON c.id = r.campaign_id
              LEFT JOIN survey s ON s.id = c.survey_id
             WHERE p.key = ?1
             ORDER BY r.last_activity_at DESC, r.id DESC
             LIMIT 1""",
        "upsert": "INSERT INTO answer (response_id, question_id, value, value_num, answered_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT (response_id, question_id) DO UPDATE SET value = excluded.value, "
        "value_num = excluded.value_num, answered_at = excluded.answered_at",
        "delete": "DELETE FROM answer WHERE response_id = ?1 AND question_id = ?2",
        "set_prompt": "UPDATE response SET prompt_message_id = ?2 WHERE id = ?1 "
        "AND (?2 IS NULL OR prompt_message_id IS NULL OR prompt_message_id < ?2) RETURNING 0, 0",
        "update": "UPDATE response SET last_activity_at = ?2, "
        "ward_code = CASE WHEN ?3 THEN ?4 ELSE ward_code END, "
        "status = COALESCE(?5, status), completed_at = COALESCE(?6, completed_at) "
        "WHERE id = ?1",
    },
}


class Loaded:
    """The respondent, their response, its campaign and answers, from one query."""

    __slots__ = (
        "answers",
        "campaign_code",
        "campaign_id",
        "campaign_status",
        "campaign_title",
        "content_hash",
        "ends_at",
        "fixed",
        "id",
        "language",
        "prompt_message_id",
        "respondent_id",
        "status",
        "survey_id",
        "ward_code",
    )

    def __init__(self, row: Any, sqlite: bool) -> None:
        (
            self.respondent_id,
            self.language,
            self.id,
            self.campaign_id,
            self.status,
            self.ward_code,
            fixed,
            self.prompt_message_id,
            self.campaign_code,
            self.campaign_title,
            self.campaign_status,
            ends_at,
            self.survey_id,
            self.content_hash,
            answers,
        ) = tuple(row)
        if sqlite:
            fixed = json.loads(fixed) if fixed else []
            answers = json.loads(answers) if answers else []
        self.fixed: list[str] = list(fixed or [])
        self.answers: list[list[Any]] = list(answers or [])
        self.ends_at: datetime | None = parse_time(ends_at) if ends_at is not None else None

    def after(self, state: engine.State, ward: Any) -> Loaded:
        """This response once `state` is stored."""
        new = copy.copy(self)
        new.answers = [[qid, value] for qid, value in state.answers]
        new.ward_code = ward
        return new

    def is_open(self, now: datetime) -> bool:
        """A response in progress in a campaign taking answers."""
        return (
            self.id is not None
            and self.status == "in_progress"
            and self.campaign_status == "active"
            and self.ends_at is not None
            and now < self.ends_at
        )

    def state(self) -> engine.State:
        return engine.State(
            consented=True,
            answers=tuple((str(qid), value) for qid, value in self.answers),
            fixed=frozenset(self.fixed),
        )


@dataclass
class FastReply:
    """What the program returns: a duplicate, or the engine's step on a loaded response."""

    duplicate: bool = False
    loaded: Loaded | None = None
    step: engine.Step | None = None
    ward: Any = None
    survey: Survey | None = None
    ctx: Context | None = None
    versions: tuple[int, int] | None = None
    """The optimistic program: the row versions (response, respondent) after its write."""


@dataclass(frozen=True)
class Known:
    """A response as this process last wrote it, with the versions of its row and its respondent's then:
    the next answer to it skips the read (its write checks both versions, so anything written meanwhile,
    by any process or path, is noticed and the answer is read and decided again)."""

    key: str
    """The respondent's key: a button naming someone else's response is read, not taken from here."""
    loaded: Loaded
    response_version: int
    person_version: int


Lookup = Callable[[Loaded], tuple[Survey, Context]]
"""Finds the cached questionnaire and context of a loaded response, or raises Fallback."""


def reply_program(
    dialect: str,
    *,
    channel: str,
    update_id: str | None,
    key: str,
    response_id: int | None,
    inp: engine.Input,
    now: datetime,
    lookup: Lookup,
) -> Generator[tuple[str, tuple[Any, ...]], Any, FastReply]:
    """One answer as a transaction program (see `Database.run_program`): claim the update, lock the
    respondent (PostgreSQL), load, run the engine, store its decision."""
    sqlite = dialect == "sqlite"
    stamp: Any = sqlite_time(now) if sqlite else now
    if update_id is not None and sqlite:
        claimed = yield "claim", (channel, update_id, stamp)
        if claimed is None:
            return FastReply(duplicate=True)
    elif update_id is not None:
        claimed = yield "claim_lock", (channel, update_id, stamp, key)
        if claimed[0] == 0:
            return FastReply(duplicate=True)
    elif not sqlite:
        yield "lock", (key,)
    row = yield "load", (key, response_id)
    loaded, survey, ctx, step = _advance(None if row is None else Loaded(row, sqlite), inp, now, lookup)
    ward_question = ward_question_of(survey)
    ward_changed = False
    ward = loaded.ward_code
    completed = False
    for event in step.events:
        if isinstance(event, AnswerRecorded):
            value: Any = json.dumps(event.value) if sqlite else event.value
            yield "upsert", (loaded.id, event.question_id, value, numeric(event.value), stamp)
            if event.question_id == ward_question:
                ward_changed, ward = True, event.value
        elif isinstance(event, AnswerRemoved):
            yield "delete", (loaded.id, event.question_id)
            if event.question_id == ward_question:
                ward_changed, ward = True, None
        elif isinstance(event, SurveyCompleted):
            completed = True
    yield (
        "update",
        (
            loaded.id,
            stamp,
            ward_changed,
            ward,
            "completed" if completed else None,
            stamp if completed else None,
        ),
    )
    return FastReply(loaded=loaded, step=step, ward=ward, survey=survey, ctx=ctx)


def _advance(
    loaded: Loaded | None, inp: engine.Input, now: datetime, lookup: Lookup
) -> tuple[Loaded, Survey, Context, engine.Step]:
    """The loaded response and the engine's step on it; `Fallback` for anything but an open response."""
    if loaded is None:
        raise Fallback("no respondent")
    if not loaded.is_open(now):
        raise Fallback("not an open, unfinished response")
    survey, ctx = lookup(loaded)
    return loaded, survey, ctx, engine.advance(survey, loaded.state(), inp, ctx)


def optimistic_reply_program(
    *,
    channel: str,
    update_id: str,
    key: str,
    response_id: int | None,
    inp: engine.Input,
    now: datetime,
    lookup: Lookup,
    known: Known | None = None,
) -> Generator[tuple[str, tuple[Any, ...]], Any, FastReply]:
    """One answer on PostgreSQL in two statements, without a transaction around them (see the module's
    docstring): read, run the engine, write if nothing changed meanwhile; in one statement when the response
    is `known`. `Contended` when it wrote nothing and must be run again (without `known`), or the locked
    program (`reply_program`) must run; `Fallback` as there."""
    if known is not None:
        loaded: Loaded | None = known.loaded
        versions = (known.response_version, known.person_version)
    else:
        row = yield "load_seen", (key, response_id, channel, update_id)
        if row is not None and row[-1]:
            return FastReply(duplicate=True)
        loaded = None if row is None else Loaded(tuple(row)[:-3], False)
        versions = (0, 0) if row is None else (row[-3], row[-2])
    loaded, survey, ctx, step = _advance(loaded, inp, now, lookup)
    recorded = [e for e in step.events if isinstance(e, AnswerRecorded)]
    if len(recorded) != 1 or any(isinstance(e, AnswerRemoved) for e in step.events):
        raise Contended("not a single recorded answer")  # a rejection, a skip removing answers: rare
    event = recorded[0]
    ward_changed = event.question_id == ward_question_of(survey)
    ward = event.value if ward_changed else loaded.ward_code
    completed = any(isinstance(e, SurveyCompleted) for e in step.events)
    done = now if completed else None
    counts = yield (
        "commit_answer",
        (
            loaded.id,
            now,
            ward_changed,
            ward,
            "completed" if completed else None,
            done,
            event.question_id,
            event.value,
            numeric(event.value),
            loaded.respondent_id,
            versions[0],
            channel,
            update_id,
            versions[1],
        ),
    )
    if counts[0] == 0:
        raise Stale("the response or its respondent changed after it was read, or its campaign closed")
    if counts[1] == 0:
        return FastReply(duplicate=True)  # the same update, committed meanwhile by another worker
    return FastReply(loaded=loaded, step=step, ward=ward, survey=survey, ctx=ctx, versions=(counts[3], versions[1]))


def statement_program(name: str, args: tuple[Any, ...]) -> Generator[tuple[str, tuple[Any, ...]], Any, Any]:
    """One statement (`begin_new`, `start_new`, `load`) as a program: its row (None if none)."""
    row = yield name, args
    return None if row is None else tuple(row)


def set_prompts_program(
    prompts: dict[int, int | None], dialect: str
) -> Generator[tuple[str, tuple[Any, ...]], Any, dict[int, tuple[int, int]]]:
    """Store prompt message ids, never replacing a newer message by an older one (message ids grow in a
    chat; another process may have shown a later question to the same person), in the order of the rows
    (so that two processes flushing at once cannot deadlock on them). Returns the versions of each
    response row written, before and after (PostgreSQL; see `Known`). One statement on PostgreSQL (run it
    without a transaction), one per response on SQLite (in one transaction)."""
    ids = sorted(prompts)
    if dialect == "postgresql":
        row = yield "set_prompts", (ids, [prompts[i] for i in ids])
        written, before, after = row if row is not None else (None, None, None)
        return {i: (b, a) for i, b, a in zip(written or (), before or (), after or (), strict=True)}
    versions: dict[int, tuple[int, int]] = {}
    for response_id in ids:
        row = yield "set_prompt", (response_id, prompts[response_id])
        if row is not None:
            versions[response_id] = (row[0], row[1])
    return versions


_WARD_QUESTIONS: dict[int, str | None] = {}


def ward_question_of(survey: Survey) -> str | None:
    """The id of the questionnaire's ward question (its answer is the response's ward)."""
    key = id(survey)
    if key not in _WARD_QUESTIONS:
        _WARD_QUESTIONS[key] = next((q.id for q in survey.questions if q.type == "ward"), None)
    return _WARD_QUESTIONS[key]

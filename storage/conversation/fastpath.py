"""The driver-level executor: the hot inputs (an answer, a new person's consent or /start) in as few
statements as possible, on the drivers' own connections (`Database.run_program`).

It decides nothing: it reads a snapshot in one statement (or takes one it knows), calls
`flows.conversation.decide` like the portable path does, and carries the decision's writes out. What it
cannot carry out (a write other than an answer's, a snapshot it did not load whole) raises `Fallback` before
anything is written, and the portable path (`storage.conversation`) runs instead.

On PostgreSQL an answer is written by one statement that checks its guards: the respondent, the response and
the campaign rows must still be the versions read (their `xmin`: any change, by any process or path, makes
a new one). If one is not, nothing is written (`Contended`), and the answer is read and decided again, under
the respondent's lock (`reply_program`). A new person's consent or /start is written by one statement that
checks that the campaign is the version this process read and that no respondent has the key yet (its
unique index refuses a second one).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flows.conversation import (
    AddPerson,
    BeginResponse,
    CampaignState,
    Decision,
    KeepAddress,
    PersonState,
    PutAnswer,
    RemoveAnswer,
    ResponseState,
    Snapshot,
    TouchResponse,
    Unchanged,
    Write,
)
from flows.questions import JSONValue
from storage.conversation.load import Campaigns
from storage.types import numeric

Program = Generator[tuple[str, tuple[Any, ...]], Any, Any]


class Fallback(Exception):
    """This executor does not carry out this case; the portable path does (nothing was written)."""


class Contended(Exception):
    """The single statement wrote nothing: a row changed after it was read (or the decision is not one
    answer). Read and decide again under the respondent's lock."""


def sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (naive UTC, microseconds)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


_PG_LOAD = """
    SELECT p.id, p.language, r.id, r.campaign_id, r.status, r.ward_code, r.fixed, r.prompt_message_id,
           c.code, c.title, c.status, c.starts_at, c.ends_at, s.content_hash,
           (SELECT json_agg(json_build_array(a.question_id, a.value) ORDER BY a.id)
              FROM answer a WHERE a.response_id = r.id),
           p.xmin::text::bigint, r.xmin::text::bigint, c.xmin::text::bigint, r.paused_at IS NOT NULL,
           r.started_at{more}
      FROM respondent p
      LEFT JOIN response r ON r.respondent_id = p.id
           AND (r.id = $2::int OR ($2::int IS NULL AND r.status = 'in_progress'))
      LEFT JOIN campaign c ON c.id = r.campaign_id
      LEFT JOIN survey s ON s.id = c.survey_id
     WHERE p.key = $1
     ORDER BY r.last_activity_at DESC NULLS LAST, r.id DESC
     LIMIT 1"""

# A new person's first update (/start, consent): the campaign still the version read, no respondent with the
# key yet: claim the update. $1 campaign id, $2 campaign version, $3 key, $4 channel, $5 update id, $6 now.
_NEW_PERSON = """
            WITH c AS MATERIALIZED (SELECT id FROM campaign WHERE id = $1::int AND xmin::text::bigint = $2::bigint),
            fresh AS MATERIALIZED (SELECT 1 FROM c WHERE NOT EXISTS (SELECT 1 FROM respondent WHERE key = $3::text)),
            claimed AS (
                INSERT INTO processed_update (channel, update_id, processed_at)
                SELECT $4::text, $5::text, $6::timestamptz FROM fresh
                ON CONFLICT DO NOTHING RETURNING 1)"""

SQL: dict[str, dict[str, str]] = {
    "postgresql": {
        "claim_lock": """
            WITH claimed AS (
                INSERT INTO processed_update (channel, update_id, processed_at) VALUES ($1, $2, $3)
                ON CONFLICT DO NOTHING RETURNING 1)
            SELECT (SELECT count(*) FROM claimed), (SELECT id FROM respondent WHERE key = $4 FOR UPDATE)""",
        # Lock first, then read: a statement's snapshot is taken when it starts, so the answers must be read
        # by a statement that starts after the lock is held (the previous input's commit is then visible).
        "lock": "SELECT id FROM respondent WHERE key = $1 FOR UPDATE",
        "load": _PG_LOAD.format(more=""),
        # the optimistic read: the same, and whether the update was seen already
        "load_seen": _PG_LOAD.format(
            more=", EXISTS (SELECT 1 FROM processed_update WHERE channel = $3 AND update_id = $4)"
        ),
        # ... and its write, in one statement: lock the respondent (as every path does, first) if it is still
        # the version read, then the response if it and its campaign are too (a lock wait re-reads them);
        # claim the update; store the answer; update the response. Counts tell what happened (nothing is
        # written unless all hold), and the response's new version.
        "commit_answer": """
            WITH me AS MATERIALIZED (
                SELECT id FROM respondent WHERE id = $10 AND xmin::text::bigint = $14::bigint FOR UPDATE),
            cur AS MATERIALIZED (
                SELECT r.id FROM response r JOIN me ON me.id = r.respondent_id
                  JOIN campaign c ON c.id = r.campaign_id
                 WHERE r.id = $1 AND r.xmin::text::bigint = $11::bigint AND c.xmin::text::bigint = $15::bigint
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
                       status = COALESCE($5::text, status), completed_at = COALESCE($6::timestamptz, completed_at),
                       quality_flags = CASE WHEN $5::text IS NULL THEN quality_flags ELSE $16::text END
                 WHERE id = $1 AND EXISTS (SELECT 1 FROM claimed)
                RETURNING xmin::text::bigint)
            SELECT (SELECT count(*) FROM cur), (SELECT count(*) FROM claimed),
                   (SELECT count(*) FROM up), (SELECT * FROM upd)""",
        "upsert": "INSERT INTO answer (response_id, question_id, value, value_num, answered_at) "
        "VALUES ($1, $2, COALESCE($3::jsonb, 'null'::jsonb), $4, $5) "
        "ON CONFLICT (response_id, question_id) DO UPDATE SET value = excluded.value, "
        "value_num = excluded.value_num, answered_at = excluded.answered_at",
        "delete": "DELETE FROM answer WHERE response_id = $1 AND question_id = $2",
        "update": "UPDATE response SET last_activity_at = $2, "
        "ward_code = CASE WHEN $3::boolean THEN $4::int ELSE ward_code END, "
        "status = COALESCE($5::text, status), completed_at = COALESCE($6::timestamptz, completed_at), "
        "quality_flags = CASE WHEN $5::text IS NULL THEN quality_flags ELSE $7::text END "
        "WHERE id = $1",
        # /start with a campaign from someone the database does not know yet: nothing is stored before consent
        # but the update's id
        "start_new": _NEW_PERSON
        + """
            SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM fresh), (SELECT count(*) FROM claimed)""",
        # "I agree" from someone the database does not know yet (the usual consent), in one statement: claim
        # the update, add the respondent, their chat address, the response and the answer that came with the
        # link (the ward). Counts and the response id tell what happened; nothing is written unless all hold.
        "begin_new": _NEW_PERSON
        + """,
            p AS (
                INSERT INTO respondent (key, language, consent_at, opted_out, invitations, created_at)
                SELECT $3, $7::text, $6, false, $8::boolean, $6 FROM claimed RETURNING id),
            a AS (
                INSERT INTO channel_address (respondent_id, channel, address, unreachable, updated_at)
                SELECT id, $4, $9::text, false, $6 FROM p WHERE $9::text IS NOT NULL RETURNING 1),
            r AS (
                INSERT INTO response (campaign_id, respondent_id, ward_code, status, channel, fixed, started_at,
                                      last_activity_at, reminders_sent)
                SELECT $1, id, $10::int, 'in_progress', $4, $11::jsonb, $6, $6, 0 FROM p RETURNING id),
            ans AS (
                INSERT INTO answer (response_id, question_id, value, value_num, answered_at)
                SELECT id, $12::text, COALESCE($13::jsonb, 'null'::jsonb), $14::float8, $6 FROM r
                 WHERE $12::text IS NOT NULL
                RETURNING 1)
            SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM fresh), (SELECT count(*) FROM claimed),
                   (SELECT id FROM r), (SELECT count(*) FROM a), (SELECT count(*) FROM ans)""",
        # prompt message ids of many responses in one statement, their rows locked in the order of their ids (two
        # processes flushing at once cannot deadlock) and only while it runs: the ids written, and each row's
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
    },
    "sqlite": {
        "claim": "INSERT INTO processed_update (channel, update_id, processed_at) VALUES (?1, ?2, ?3) "
        "ON CONFLICT DO NOTHING RETURNING 1",
        "load": """
            SELECT p.id, p.language, r.id, r.campaign_id, r.status, r.ward_code, r.fixed, r.prompt_message_id,
                   c.code, c.title, c.status, c.starts_at, c.ends_at, s.content_hash,
                   (SELECT json_group_array(json_array(a.question_id, json(a.value)))
                      FROM (SELECT question_id, value FROM answer WHERE response_id = r.id ORDER BY id) a),
                   0, 0, 0, r.paused_at IS NOT NULL, r.started_at
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
        "status = COALESCE(?5, status), completed_at = COALESCE(?6, completed_at), "
        "quality_flags = CASE WHEN ?5 IS NULL THEN quality_flags ELSE ?7 END "
        "WHERE id = ?1",
    },
}


@dataclass(frozen=True)
class Loaded:
    """A person and one response (with its campaign and answers), from one statement."""

    person: PersonState
    response: ResponseState | None
    """None: the response was not found, or its campaign is not known to this process yet."""
    campaign_id: int | None
    """The response's campaign, when it was found (known to this process or not)."""

    def snapshot(self) -> Snapshot:
        return Snapshot(person=self.person, responses=() if self.response is None else (self.response,))


def read_loaded(row: Any, sqlite: bool, campaigns: Campaigns) -> Loaded:
    """A `load` row as a person and a response (the campaign's fixed parts from this process's cache)."""
    (
        person_id,
        language,
        response_id,
        campaign_id,
        status,
        ward_code,
        fixed,
        prompt_message_id,
        code,
        title,
        campaign_status,
        starts_at,
        ends_at,
        _content_hash,
        answers,
        person_version,
        response_version,
        campaign_version,
        paused,
        started_at,
    ) = tuple(row)[:20]
    person = PersonState(person_id, language, int(person_version or 0))
    if response_id is None:
        return Loaded(person, None, None)
    known = campaigns.fixed(campaign_id)
    if known is None:
        return Loaded(person, None, campaign_id)
    if sqlite:
        fixed = json.loads(fixed) if fixed else []
        answers = json.loads(answers) if answers else []
    campaign = CampaignState(
        id=campaign_id,
        code=code,
        title=title,
        status=campaign_status,
        starts_at=parse_time(starts_at),
        ends_at=parse_time(ends_at),
        ward_codes=known.ward_codes,
        survey=known.survey,
        contexts=known.contexts,
        version=int(campaign_version or 0),
    )
    response = ResponseState(
        id=response_id,
        campaign=campaign,
        status=status,
        ward_code=ward_code,
        fixed=tuple(fixed or ()),
        prompt_message_id=prompt_message_id,
        answers=tuple((str(qid), value) for qid, value in (answers or ())),
        version=int(response_version or 0),
        paused=bool(paused),
        started_at=None if started_at is None else parse_time(started_at),
    )
    return Loaded(person, response, campaign_id)


Decide = Callable[[Snapshot], Decision]


@dataclass(frozen=True)
class Applied:
    """What a program did: a repeated update (nothing), or the decision it carried out on a response."""

    duplicate: bool = False
    loaded: Loaded | None = None
    decision: Decision | None = None
    response_version: int | None = None
    """The single statement: the response row's version after its write (for `Known`)."""


@dataclass(frozen=True)
class Known:
    """A response as this process last wrote it, with the versions of the rows then: the next answer to it
    skips the read (its write checks the versions, so anything written meanwhile, by any process or path, is
    noticed and the answer is read and decided again)."""

    key: str
    """The respondent's key: a button naming someone else's response is read, not taken from here."""
    loaded: Loaded


def answer_only(decision: Decision, response_id: int) -> tuple[list[PutAnswer | RemoveAnswer], TouchResponse]:
    """A decision's writes, if they only store answers of this response and touch it; else `Fallback`."""
    answers: list[PutAnswer | RemoveAnswer] = []
    touch: TouchResponse | None = None
    for w in decision.writes:
        if isinstance(w, PutAnswer | RemoveAnswer) and w.response_id == response_id:
            answers.append(w)
        elif isinstance(w, TouchResponse) and w.response_id == response_id and touch is None:
            touch = w
        else:
            raise Fallback(f"{type(w).__name__} is written by the portable path")
    if touch is None:
        raise Fallback("nothing to write")
    return answers, touch


def _touch_args(touch: TouchResponse, now: Any) -> tuple[Any, ...]:
    changed = not isinstance(touch.ward_code, Unchanged)
    ward = None if isinstance(touch.ward_code, Unchanged) else touch.ward_code
    return (changed, ward, "completed" if touch.completed else None, now if touch.completed else None)


def reply_program(
    dialect: str,
    *,
    channel: str,
    update_id: str | None,
    key: str,
    response_id: int | None,
    campaigns: Campaigns,
    decide: Decide,
    now: datetime,
) -> Program:
    """An answer as a transaction program (see `Database.run_program`): claim the update, lock the
    respondent (PostgreSQL), load, decide, store the answers. `Fallback` before any write for anything but
    an answer to a response this process knows the campaign of."""
    sqlite = dialect == "sqlite"
    stamp: Any = sqlite_time(now) if sqlite else now
    if update_id is not None and sqlite:
        claimed = yield "claim", (channel, update_id, stamp)
        if claimed is None:
            return Applied(duplicate=True)
    elif update_id is not None:
        claimed = yield "claim_lock", (channel, update_id, stamp, key)
        if claimed[0] == 0:
            return Applied(duplicate=True)
    elif not sqlite:
        yield "lock", (key,)
    row = yield "load", (key, response_id)
    if row is None:
        raise Fallback("no respondent")
    loaded = read_loaded(row, sqlite, campaigns)
    if loaded.response is None:
        raise Fallback("the response was not found, or its campaign is not known here yet")
    decision = decide(loaded.snapshot())
    answers, touch = answer_only(decision, loaded.response.id)
    for w in answers:
        if isinstance(w, PutAnswer):
            value: Any = json.dumps(w.value) if sqlite else w.value
            yield "upsert", (w.response_id, w.question_id, value, numeric(w.value), stamp)
        else:
            yield "delete", (w.response_id, w.question_id)
    yield "update", (touch.response_id, stamp, *_touch_args(touch, stamp), touch.quality_flags)
    return Applied(loaded=loaded, decision=decision)


def optimistic_reply_program(
    *,
    channel: str,
    update_id: str,
    key: str,
    response_id: int | None,
    campaigns: Campaigns,
    decide: Decide,
    now: datetime,
    known: Known | None = None,
) -> Program:
    """An answer on PostgreSQL in two statements, without a transaction around them (see the module's
    docstring), or in one when the response is `known`. `Contended` when it wrote nothing and must be run
    again (without `known`), or under the lock (`reply_program`); `Fallback` as there."""
    if known is not None:
        loaded = known.loaded
    else:
        row = yield "load_seen", (key, response_id, channel, update_id)
        if row is None:
            raise Fallback("no respondent")
        if row[-1]:
            return Applied(duplicate=True)
        loaded = read_loaded(row, False, campaigns)
    response = loaded.response
    if response is None:
        raise Fallback("the response was not found, or its campaign is not known here yet")
    decision = decide(loaded.snapshot())
    answers, touch = answer_only(decision, response.id)
    if len(answers) != 1 or not isinstance(answers[0], PutAnswer):
        raise Contended("not a single recorded answer")  # a rejection, a skip removing answers: rare
    put = answers[0]
    counts = yield (
        "commit_answer",
        (
            response.id,
            now,
            *_touch_args(touch, now),
            put.question_id,
            put.value,
            numeric(put.value),
            loaded.person.id,
            response.version,
            channel,
            update_id,
            loaded.person.version,
            response.campaign.version,
            touch.quality_flags,
        ),
    )
    if counts[0] == 0:
        raise Contended("the respondent, the response or its campaign changed after it was read")
    if counts[1] == 0:
        return Applied(duplicate=True)  # the same update, committed meanwhile by another worker
    return Applied(loaded=loaded, decision=decision, response_version=int(counts[3]))


def new_person_args(
    campaign: CampaignState, key: str, channel: str, update_id: str, now: datetime
) -> tuple[Any, ...]:
    """The first arguments of `start_new` and `begin_new`."""
    return (campaign.id, campaign.version, key, channel, update_id, now)


def begin_new_args(writes: tuple[Write, ...]) -> tuple[Any, ...] | None:
    """The rest of `begin_new`'s arguments, for a decision that adds a consenting person, maybe their address,
    and a response with at most one answer; None for anything else (the portable path stores it)."""
    person = next((w for w in writes if isinstance(w, AddPerson)), None)
    begin = next((w for w in writes if isinstance(w, BeginResponse)), None)
    address = next((w for w in writes if isinstance(w, KeepAddress)), None)
    expected = sum(w is not None for w in (person, begin, address))
    if person is None or begin is None or not person.consented or len(writes) != expected or len(begin.answers) > 1:
        return None
    qid, value = begin.answers[0] if begin.answers else (None, None)
    answer_value: JSONValue = value
    return (
        person.language,
        person.invitations,
        address.address if address is not None else None,
        begin.ward_code,
        list(begin.fixed),
        qid,
        answer_value,
        numeric(answer_value) if qid is not None else None,
    )


def statement_program(name: str, args: tuple[Any, ...]) -> Program:
    """One statement (`begin_new`, `start_new`, `load`) as a program: its row (None if none)."""
    row = yield name, args
    return None if row is None else tuple(row)


def set_prompts_program(prompts: dict[int, int | None], dialect: str) -> Program:
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

"""The conversation service: what every channel (Telegram, web, ...) calls.

Each call takes who is talking (channel + channel user id), what they did, and the channel's update id.
It loads the response and its answers, calls the pure engine, and stores the result in ONE transaction
together with the processed-update row. A repeated update id changes nothing: it returns the current view
(so a channel that crashed before replying can show it again).

Two inputs from the same person are serialised: a row lock on the respondent (PostgreSQL) or the single
writer (SQLite). A stale button (a question already answered) is then ignored by the engine.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from flows import engine
from flows.events import (
    AnswerRecorded,
    AnswerRemoved,
    ConsentDeclined,
    ConsentRequested,
    Event,
    InputIgnored,
    SurveyCompleted,
)
from flows.i18n import message
from flows.questions import Context, JSONValue, WardOption
from flows.schema import Survey
from storage import fastpath
from storage.db import Database
from storage.records import CampaignRecord
from storage.repo import campaigns as campaign_repo
from storage.repo import surveys as survey_repo
from storage.repo.sql import (
    admin_unit,
    answer,
    campaign,
    campaign_ward,
    channel_address,
    insert,
    is_postgres,
    processed_update,
    respondent,
    response,
    survey,
)

LANGUAGES = ("vi", "en")
log = logging.getLogger(__name__)


def respondent_key(secret: bytes, channel: str, user_id: str) -> str:
    """The pseudonymous key of a person: HMAC-SHA256(server secret, channel + ":" + channel user id)."""
    return hmac.new(secret, f"{channel}:{user_id}".encode(), hashlib.sha256).hexdigest()


# --- what channels send -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Who:
    channel: str
    user_id: str
    address: str | None = None
    """Where to send reminders (a Telegram chat id); stored apart from the answers, only after consent."""
    language: str | None = None
    """The language the channel reports (Telegram's language_code), used until the person chooses."""


@dataclass(frozen=True)
class Start:
    """`/start`, a deep link (campaign and ward), a web link, or any message from someone not answering."""

    campaign_code: str | None = None
    ward_code: int | None = None


@dataclass(frozen=True)
class GiveConsent:
    agree: bool
    campaign_code: str
    ward_code: int | None = None
    invitations: bool = False


@dataclass(frozen=True)
class Reply:
    """An answer, back or skip for the current question. `response_id` comes from a button, when known."""

    input: engine.Input
    response_id: int | None = None


@dataclass(frozen=True)
class SetLanguage:
    language: str


@dataclass(frozen=True)
class SetInvitations:
    """Whether the person wants to be invited to future surveys (asked when they finish)."""

    yes: bool


@dataclass(frozen=True)
class Restart:
    """Clear the answers of the current response (the person confirmed) and begin again."""


@dataclass(frozen=True)
class DeleteMyData:
    """Delete the person's chat address and unfinished answers; unlink their completed responses."""


Action = Start | GiveConsent | Reply | SetLanguage | SetInvitations | Restart | DeleteMyData


# --- what channels get back --------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignChoice:
    code: str
    title: str


@dataclass(frozen=True)
class Outcome:
    """What happened and what to show.

    `kind` is one of: "events" (render `events`), "choose_campaign", "no_campaign", "unknown_campaign",
    "campaign_closed", "campaign_not_started", "already_completed", "declined", "language_set",
    "invitations_set", "deleted", "nothing_to_restart", "consent_kept".
    """

    kind: str
    events: tuple[Event, ...] = ()
    language: str = "vi"
    duplicate: bool = False
    survey: Survey | None = None
    ctx: Context | None = None
    response_id: int | None = None
    campaign_code: str | None = None
    campaign_title: str | None = None
    ward_code: int | None = None
    prompt_message_id: int | None = None
    """The message that showed the question just answered (before this update)."""
    campaigns: tuple[CampaignChoice, ...] = ()
    answers: dict[str, JSONValue] = field(default_factory=dict)
    resumed: bool = False
    """The person was already answering: this shows where they are, nothing new was started."""
    fixed: tuple[str, ...] = ()
    """Answers that came with the entry point (see `engine.State.fixed`)."""


_UNSET: Any = object()
KNOWN_LIMIT = 20_000
"""Responses whose last written state a process keeps (see `fastpath.Known`): some 2 KB each."""


class ConversationService:
    def __init__(
        self,
        db: Database,
        secret: bytes,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db = db
        self.secret = secret
        self.clock = clock or (lambda: datetime.now(UTC))
        self._contexts: dict[tuple[int, str], Context] = {}  # launched campaigns' wards never change
        self._campaign_wards: dict[int, tuple[int, ...]] = {}  # the same, as codes
        self._campaigns: dict[str, CampaignRecord] = {}  # launched campaigns by code (wards, survey, title)
        self._prompts: dict[int, int | None] = {}  # response id -> prompt message id, not yet written
        self._prompt_flusher: asyncio.Task[None] | None = None
        self.answer_paths: dict[str, int] = {"known": 0, "optimistic": 0, "locked": 0, "general": 0}
        """How answers (`Reply`) were applied: the optimistic program (PostgreSQL) without a read (the response
        as this process last wrote it) or with one, the locked program (SQLite, and PostgreSQL after a
        concurrent change), or the general path (anything unusual). For /metrics."""
        self._known: OrderedDict[int, fastpath.Known] = OrderedDict()  # response id -> as last written here

    def key(self, who: Who) -> str:
        return respondent_key(self.secret, who.channel, who.user_id)

    # --- entry point ---------------------------------------------------------------------------------

    async def handle(self, who: Who, action: Action, update_id: str | int | None = None) -> Outcome:
        """Apply one action in one transaction; a repeated `update_id` changes nothing."""
        now = self.clock()
        if isinstance(action, Reply):
            fast = await self._fast_reply(who, action, update_id, now)
            if fast is not None:
                return fast
        elif isinstance(action, GiveConsent) and action.agree and update_id is not None and not self.db.is_sqlite:
            fast = await self._fast_consent(who, action, str(update_id), now)
            if fast is not None:
                return fast
        elif isinstance(action, Start) and action.campaign_code and update_id is not None and not self.db.is_sqlite:
            fast = await self._fast_start(who, action, str(update_id), now)
            if fast is not None:
                return fast
        async with self.db.write() as conn:
            if update_id is not None and not await self._claim_update(conn, who.channel, str(update_id), now):
                duplicate = True
            else:
                duplicate = False
                outcome = await self._dispatch(conn, who, action, now)
        if duplicate:
            return await self._repeated(who, now, action)
        return outcome

    async def view(self, who: Who) -> Outcome:
        """The current state of the person's conversation, changing nothing (a resume)."""
        async with self.db.read() as conn:
            return await self._view(conn, who, self.clock())

    async def button_view(self, who: Who, response_id: int) -> Outcome:
        """`view`, for a button that changes nothing stored (a multi-choice selection re-draws its buttons)
        and names its response. The general read is five round trips, each waiting its turn on a busy event
        loop (a selection's p50 was 50 ms at 150 updates/s); on PostgreSQL this is one statement. Anything
        unusual (another person's response, a closed campaign, a questionnaire not cached yet) gets the
        general `view`.

        Not from `_known`: what this process last wrote may be behind another process's writes (a language
        changed, a Back), which only the answer path's version checks notice."""
        if self.db.is_sqlite:
            return await self.view(who)
        row = await self.db.run_program(
            fastpath.statement_program("load", (self.key(who), response_id)), fastpath.SQL, transaction=False
        )
        loaded = None if row is None else fastpath.Loaded(row, False)
        outcome = self._loaded_view(who, loaded) if loaded is not None and loaded.id == response_id else None
        return outcome if outcome is not None else await self.view(who)

    def _loaded_view(self, who: Who, loaded: fastpath.Loaded) -> Outcome | None:
        """The view of an open response loaded by `fastpath` (None if it is not open or not cached)."""
        survey_def = survey_repo.cached(loaded.content_hash or "")
        ctx = self._contexts.get((loaded.campaign_id, self._language(who, loaded)))
        if survey_def is None or ctx is None or not loaded.is_open(self.clock()):
            return None
        step = engine.resume(survey_def, loaded.state(), ctx)
        return self._outcome("events", loaded, survey_def, ctx, step.events, answers=step.state.answer_map)

    async def _repeated(self, who: Who, now: datetime, action: Action | None = None) -> Outcome:
        """A repeated update: nothing changes; what to show again, if the first reply was lost. For a /start
        from someone with nothing open, that is what /start shows (the consent screen: nothing is stored
        before consent, so the person's view is empty and a lost consent screen would leave them with no
        reply at all)."""
        async with self.db.read() as conn:
            view = await self._view(conn, who, now)
            if view.kind == "no_response" and isinstance(action, Start):
                person = await self._respondent(conn, who, lock=False)
                view = await self._start(conn, who, person, action, now, begin=False)
        return replace(view, duplicate=True)

    async def mark_unreachable(self, channel: str, address: str) -> None:
        """The person blocked the bot: stop reminders and invitations to this address."""
        from storage.repo import addresses

        async with self.db.write() as conn:
            await addresses.mark_unreachable(conn, channel, address, self.clock())

    async def set_prompt(self, response_id: int, message_id: int | None) -> None:
        """Remember which channel message shows the current question (to edit it once answered).

        Written behind, in batches: it is where the question is on screen, not an answer, so a crash
        losing the last fraction of a second of these only means an old message keeps its buttons."""
        self._prompts[response_id] = message_id
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self._prompt_flusher is None or self._prompt_flusher.done():
            self._prompt_flusher = asyncio.create_task(self._flush_prompts_soon())

    async def _flush_prompts_soon(self) -> None:
        while True:  # prompt ids remembered while a flush runs are written by the next one
            await asyncio.sleep(0.2)
            await self.flush_prompts()
            if not self._prompts:
                return

    async def flush_prompts(self) -> None:
        """Write the remembered prompt message ids (also called when the application stops)."""
        if not self._prompts:
            return
        pending, self._prompts = self._prompts, {}
        try:
            versions: dict[int, tuple[int, int]] = await self.db.run_program(
                fastpath.set_prompts_program(pending, self.db.dialect), fastpath.SQL, transaction=self.db.is_sqlite
            )
        except Exception:
            log.warning("could not store %d prompt message ids", len(pending), exc_info=True)
            return
        for response_id, (before, after) in versions.items():
            # a known response stays known if this flush was the only change since (else it is read again)
            known = self._known.pop(response_id, None)
            if known is not None and known.response_version == before:
                loaded = copy.copy(known.loaded)
                loaded.prompt_message_id = pending[response_id]
                self._known[response_id] = replace(known, loaded=loaded, response_version=after)

    def _remember(self, key: str, result: fastpath.FastReply) -> None:
        """The response as just written (not a completed one: nothing more is answered in it)."""
        loaded, step = result.loaded, result.step
        assert loaded is not None and step is not None and result.versions is not None
        if step.completed:
            return
        response_version, person_version = result.versions
        known = fastpath.Known(key, loaded.after(step.state, result.ward), response_version, person_version)
        self._known[loaded.id] = known
        self._known.move_to_end(loaded.id)
        while len(self._known) > KNOWN_LIMIT:
            self._known.popitem(last=False)

    def _prompt_of(self, response_id: int | None, stored: int | None) -> int | None:
        if response_id is not None and response_id in self._prompts:
            return self._prompts[response_id]
        return stored

    # --- internals -----------------------------------------------------------------------------------

    async def _fast_reply(self, who: Who, action: Reply, update_id: str | int | None, now: datetime) -> Outcome | None:
        """An answer to an open response through `storage.fastpath`; None means: use the general path."""

        def lookup(loaded: fastpath.Loaded) -> tuple[Survey, Context]:
            survey_def = survey_repo.cached(loaded.content_hash)
            ctx = self._contexts.get((loaded.campaign_id, self._language(who, loaded)))
            if survey_def is None or ctx is None:
                raise fastpath.Fallback("not cached yet")
            return survey_def, ctx

        key, update = self.key(who), None if update_id is None else str(update_id)
        # A button names its response: the prompt id waiting to be written for it is held back meanwhile, so
        # that writing it (which updates the response row) cannot make this answer's optimistic write fail.
        rid = action.response_id
        held = self._prompts.pop(rid, _UNSET) if rid is not None else _UNSET
        result: fastpath.FastReply | None = None
        try:
            if update is not None and not self.db.is_sqlite:
                # Taken out while this answer runs: only a write of the optimistic program puts the response
                # back (anything else, a Back, a rejection, the locked program, an error, leaves it unknown).
                # Buttons only: a typed text goes to the person's most recently active response, which
                # another process may have changed without this one knowing.
                known = self._known.pop(rid, None) if rid is not None else None
                if known is not None and known.key != key:  # someone else's response (a forged button)
                    self._known[rid] = known  # type: ignore[index]
                    known = None
                for attempt in (known, None) if known is not None else (None,):
                    optimistic = fastpath.optimistic_reply_program(
                        channel=who.channel,
                        update_id=update,
                        key=key,
                        response_id=rid,
                        inp=action.input,
                        now=now,
                        lookup=lookup,
                        known=attempt,
                    )
                    try:
                        result = await self.db.run_program(optimistic, fastpath.SQL, transaction=False)
                    except fastpath.Contended:
                        continue
                    self.answer_paths["known" if attempt is not None else "optimistic"] += 1
                    if result is not None and not result.duplicate:
                        self._remember(key, result)
                    break
            if result is None:
                program = fastpath.reply_program(
                    self.db.dialect,
                    channel=who.channel,
                    update_id=update,
                    key=key,
                    response_id=rid,
                    inp=action.input,
                    now=now,
                    lookup=lookup,
                )
                result = await self.db.run_program(program, fastpath.SQL)
                self.answer_paths["locked"] += 1
        except fastpath.Fallback:
            self.answer_paths["general"] += 1
            return None
        finally:
            step = None if result is None else result.step
            recorded = step is not None and any(isinstance(e, AnswerRecorded) for e in step.events)
            if held is not _UNSET and not recorded and rid is not None and rid not in self._prompts:
                self._prompts[rid] = held  # still the question on screen: written as before
                self._schedule_flush()
        if result.duplicate:
            return await self._repeated(who, now)
        loaded, step, ctx = result.loaded, result.step, result.ctx
        assert loaded is not None and step is not None and ctx is not None
        if held is not _UNSET and loaded.id == rid:
            prompt = held
        else:
            prompt = self._prompt_of(loaded.id, loaded.prompt_message_id)
        if recorded:
            # its question is answered: a prompt id not written yet never needs to be (the next question's
            # will be). Someone answering at once then costs no write for it.
            self._prompts.pop(loaded.id, None)
        assert result.survey is not None
        return self._outcome(
            "events", loaded, result.survey, ctx, step.events,
            ward_code=result.ward, prompt_message_id=prompt, answers=step.state.answer_map,
        )  # fmt: skip

    def _cached_campaign(self, code: str | None, language: str) -> tuple[CampaignRecord, Survey, Context] | None:
        """A launched campaign this process has read, with its parsed questionnaire and wards in `language`."""
        c = self._campaigns.get(code or "")
        survey_def = survey_repo.cached(c.survey_hash) if c is not None and c.survey_hash else None
        ctx = self._contexts.get((c.id, language)) if c is not None else None
        if c is None or survey_def is None or ctx is None:
            return None
        return c, survey_def, ctx

    async def _fast_start(self, who: Who, action: Start, update_id: str, now: datetime) -> Outcome | None:
        """A deep link (/start with a campaign) from someone not in the database yet, on PostgreSQL, in one
        statement (`start_new`): what `_start` does for them, the consent screen. None: the general path."""
        language = self._language(who, None)
        cached = self._cached_campaign(action.campaign_code, language)
        if cached is None:
            return None
        c, survey_def, ctx = cached
        ward = action.ward_code if action.ward_code in c.ward_codes else None
        step = engine.start(survey_def, ctx, prefill=self._prefill(survey_def, ward))
        if not step.events or not isinstance(step.events[0], ConsentRequested):
            return None  # a questionnaire without a consent text begins at once: the general path
        args = (c.id, now, self.key(who), who.channel, update_id)
        found, fresh, claimed = await self.db.run_program(
            fastpath.statement_program("start_new", args), fastpath.SQL, transaction=False
        )
        if not found or not fresh:
            return None  # not open, or a person the database knows (resume, already answered): general path
        if not claimed:
            return await self._repeated(who, now, action)
        return Outcome(
            kind="events",
            events=step.events,
            language=language,
            survey=survey_def,
            ctx=ctx,
            campaign_code=c.code,
            campaign_title=c.title,
            ward_code=ward,
        )

    async def _fast_consent(self, who: Who, action: GiveConsent, update_id: str, now: datetime) -> Outcome | None:
        """ "I agree" from someone not in the database yet, on PostgreSQL, in one statement (see
        `fastpath.SQL["postgresql"]["begin_new"]`); what `_consent` and `_begin_response` do for them. None:
        use the general path (not that case, or the campaign, questionnaire or wards not read here yet)."""
        language = self._language(who, None)
        cached = self._cached_campaign(action.campaign_code, language)
        if cached is None:
            return None
        c, survey_def, ctx = cached
        ward = action.ward_code if action.ward_code in c.ward_codes else None
        step = engine.start(survey_def, ctx, prefill=self._prefill(survey_def, ward), consented=True)
        fixed = sorted(step.state.fixed)
        if len(step.state.answers) > 1:
            return None
        qid, value = step.state.answers[0] if step.state.answers else (None, None)
        args = (
            c.id,
            now,
            self.key(who),
            who.channel,
            update_id,
            language,
            action.invitations,
            who.address,
            ward if fixed else None,
            fixed,
            qid,
            value,
            _numeric(value) if qid is not None else None,
        )
        try:
            found, fresh, claimed, response_id, _, _ = await self.db.run_program(
                fastpath.statement_program("begin_new", args), fastpath.SQL, transaction=False
            )
        except Exception as e:
            if getattr(e, "sqlstate", None) == "23505":  # the same person agreeing twice at once: one wins
                return None
            raise
        if not found or not fresh:
            return None  # not open any more, or a person the database knows: the general path says what
        if not claimed:
            return await self._repeated(who, now)
        return _begun(step, language, survey_def, ctx, c, response_id, ward if fixed else None)

    async def _claim_update(self, conn: AsyncConnection, channel: str, update_id: str, now: datetime) -> bool:
        stmt = (
            insert(conn, processed_update)
            .values(channel=channel, update_id=update_id, processed_at=now)
            .on_conflict_do_nothing(index_elements=["channel", "update_id"])
        )
        result = await conn.execute(stmt)
        return bool(result.rowcount)

    async def _dispatch(self, conn: AsyncConnection, who: Who, action: Action, now: datetime) -> Outcome:
        person = await self._respondent(conn, who, lock=True)
        if isinstance(action, Start):
            return await self._start(conn, who, person, action, now)
        if isinstance(action, GiveConsent):
            return await self._consent(conn, who, person, action, now)
        if isinstance(action, Reply):
            return await self._reply(conn, who, person, action, now)
        if isinstance(action, SetLanguage):
            return await self._set_language(conn, who, person, action, now)
        if isinstance(action, Restart):
            return await self._restart(conn, who, person, now)
        if isinstance(action, SetInvitations):
            language = self._language(who, person)
            if person is not None:
                await conn.execute(
                    respondent.update().where(respondent.c.id == person.id).values(invitations=action.yes)
                )
            return Outcome(kind="invitations_set", language=language)
        return await self._delete(conn, who, person, now)

    async def _respondent(self, conn: AsyncConnection, who: Who, lock: bool) -> Any:
        q = sa.select(respondent.c.id, respondent.c.language, respondent.c.consent_at).where(
            respondent.c.key == self.key(who)
        )
        if lock and is_postgres(conn):
            q = q.with_for_update()
        return (await conn.execute(q)).first()

    def _language(self, who: Who, person: Any) -> str:
        if person is not None and person.language in LANGUAGES:
            return str(person.language)
        return who.language if who.language in LANGUAGES else "vi"

    async def _context(self, conn: AsyncConnection, campaign_id: int, language: str) -> Context:
        ctx = self._contexts.get((campaign_id, language))
        if ctx is None:
            q = (
                sa.select(admin_unit.c.code, admin_unit.c.name)
                .join(campaign_ward, campaign_ward.c.ward_code == admin_unit.c.code)
                .where(campaign_ward.c.campaign_id == campaign_id)
                .order_by(admin_unit.c.search_key)
            )
            wards = tuple(WardOption(r.code, r.name) for r in (await conn.execute(q)).all())
            ctx = Context(language, wards)
            status = (await conn.execute(sa.select(campaign.c.status).where(campaign.c.id == campaign_id))).scalar()
            if status != "draft":  # the wards of a launched campaign no longer change
                self._contexts[(campaign_id, language)] = ctx
        return ctx

    async def _current_response(self, conn: AsyncConnection, respondent_id: int, response_id: int | None = None) -> Any:
        """The response an input applies to: the given one, or the most recently active unfinished one."""
        q = (
            sa.select(
                response.c.id,
                response.c.campaign_id,
                response.c.status,
                response.c.ward_code,
                response.c.fixed,
                response.c.prompt_message_id,
                campaign.c.code.label("campaign_code"),
                campaign.c.title.label("campaign_title"),
                campaign.c.status.label("campaign_status"),
                campaign.c.starts_at,
                campaign.c.ends_at,
                campaign.c.survey_id,
                survey.c.content_hash,
            )
            .join(campaign, campaign.c.id == response.c.campaign_id)
            .join(survey, survey.c.id == campaign.c.survey_id)
            .where(response.c.respondent_id == respondent_id)
        )
        if response_id is not None:
            q = q.where(response.c.id == response_id)
        else:
            q = q.where(response.c.status == "in_progress").order_by(
                response.c.last_activity_at.desc(), response.c.id.desc()
            )
        return (await conn.execute(q.limit(1))).first()

    async def _state(self, conn: AsyncConnection, row: Any) -> engine.State:
        q = sa.select(answer.c.question_id, answer.c.value).where(answer.c.response_id == row.id).order_by(answer.c.id)
        answers = tuple((r.question_id, r.value) for r in (await conn.execute(q)).all())
        return engine.State(consented=True, answers=answers, fixed=frozenset(row.fixed or ()))

    def _outcome(
        self, kind: str, row: Any, survey_def: Survey, ctx: Context, events: tuple[Event, ...], **extra: Any
    ) -> Outcome:
        """The outcome for a response `row` (read by the general path, or a `fastpath.Loaded`)."""
        prompt = (
            extra.pop("prompt_message_id")
            if "prompt_message_id" in extra
            else self._prompt_of(row.id, row.prompt_message_id)
        )
        return Outcome(
            kind=kind,
            events=events,
            language=ctx.language,
            survey=survey_def,
            ctx=ctx,
            response_id=row.id,
            campaign_code=row.campaign_code,
            campaign_title=row.campaign_title,
            ward_code=extra.pop("ward_code", row.ward_code),
            prompt_message_id=prompt,
            fixed=tuple(row.fixed or ()),
            **extra,
        )

    async def _view(self, conn: AsyncConnection, who: Who, now: datetime) -> Outcome:
        person = await self._respondent(conn, who, lock=False)
        language = self._language(who, person)
        if person is None:
            return Outcome(kind="no_response", language=language)
        row = await self._current_response(conn, person.id)
        if row is None:
            return Outcome(kind="no_response", language=language)
        survey_def = await survey_repo.definition(conn, row.survey_id, row.content_hash)
        ctx = await self._context(conn, row.campaign_id, language)
        state = await self._state(conn, row)
        step = engine.resume(survey_def, state, ctx)
        return self._outcome("events", row, survey_def, ctx, step.events, answers=state.answer_map)

    async def _open_campaign(self, conn: AsyncConnection, code: str, now: datetime) -> CampaignRecord | Outcome:
        try:
            c = await campaign_repo.get(conn, code, self._campaign_wards)
            if c.launched_at is not None:
                self._campaigns[c.code] = c  # for `_fast_consent`, which checks status and dates itself
        except campaign_repo.CampaignNotFound:
            return Outcome(kind="unknown_campaign", campaign_code=code)
        if c.status == "active" and now < c.starts_at:
            return Outcome(kind="campaign_not_started", campaign_code=c.code, campaign_title=c.title)
        if not c.is_open(now):
            return Outcome(kind="campaign_closed", campaign_code=c.code, campaign_title=c.title)
        return c

    async def _start(
        self, conn: AsyncConnection, who: Who, person: Any, action: Start, now: datetime, begin: bool = True
    ) -> Outcome:
        """What /start shows. `begin=False` (a read-only transaction): a questionnaire without a consent text,
        which would begin a response at once, shows nothing instead."""
        language = self._language(who, person)
        code = action.campaign_code
        if code is None:
            if person is not None:
                row = await self._current_response(conn, person.id)
                if row is not None and row.campaign_status == "active" and now < row.ends_at:
                    return await self._resume_row(conn, row, language)
            open_now = await campaign_repo.open_campaigns(conn, now)
            if not open_now:
                return Outcome(kind="no_campaign", language=language)
            if len(open_now) > 1:
                choices = tuple(CampaignChoice(c.code, c.title) for c in open_now)
                return Outcome(kind="choose_campaign", language=language, campaigns=choices)
            code = open_now[0].code
        found = await self._open_campaign(conn, code, now)
        if isinstance(found, Outcome):
            return replace(found, language=language)
        c = found
        if person is not None:
            existing = await self._response_in(conn, person.id, c.id)
            if existing is not None:
                if existing.status == "completed":
                    return self._campaign_outcome("already_completed", c, language)
                return await self._resume_row(conn, existing, language)
        ward = action.ward_code if action.ward_code in c.ward_codes else None
        survey_def = await survey_repo.definition(conn, c.survey_id, c.survey_hash)
        ctx = await self._context(conn, c.id, language)
        step = engine.start(survey_def, ctx, prefill=self._prefill(survey_def, ward))
        if not isinstance(step.events[0], ConsentRequested):
            # a questionnaire without a consent text: the person starts answering at once
            if not begin:
                return Outcome(kind="no_response", language=language)
            return await self._begin_response(conn, who, person, c, ward, language, now, invitations=False)
        return Outcome(
            kind="events",
            events=step.events,
            language=language,
            survey=survey_def,
            ctx=ctx,
            campaign_code=c.code,
            campaign_title=c.title,
            ward_code=ward,
        )

    def _campaign_outcome(self, kind: str, c: CampaignRecord, language: str) -> Outcome:
        return Outcome(kind=kind, language=language, campaign_code=c.code, campaign_title=c.title)

    @staticmethod
    def _prefill(survey_def: Survey, ward: int | None) -> dict[str, JSONValue]:
        if ward is None:
            return {}
        ward_question = next((q for q in survey_def.questions if q.type == "ward"), None)
        return {ward_question.id: ward} if ward_question is not None else {}

    async def _response_in(self, conn: AsyncConnection, respondent_id: int, campaign_id: int) -> Any:
        q = sa.select(response.c.id, response.c.status).where(
            response.c.respondent_id == respondent_id, response.c.campaign_id == campaign_id
        )
        found = (await conn.execute(q)).first()
        if found is None:
            return None
        if found.status == "completed":
            return found
        return await self._current_response(conn, respondent_id, found.id)

    async def _resume_row(self, conn: AsyncConnection, row: Any, language: str) -> Outcome:
        survey_def = await survey_repo.definition(conn, row.survey_id, row.content_hash)
        ctx = await self._context(conn, row.campaign_id, language)
        state = await self._state(conn, row)
        step = engine.resume(survey_def, state, ctx)
        return self._outcome("events", row, survey_def, ctx, step.events, answers=state.answer_map, resumed=True)

    async def _consent(
        self, conn: AsyncConnection, who: Who, person: Any, action: GiveConsent, now: datetime
    ) -> Outcome:
        language = self._language(who, person)
        if not action.agree:
            if person is not None:
                mine = (
                    await conn.execute(
                        sa.select(response.c.id)
                        .join(campaign, campaign.c.id == response.c.campaign_id)
                        .where(response.c.respondent_id == person.id, campaign.c.code == action.campaign_code)
                        .limit(1)
                    )
                ).first()
                if mine is not None:  # "decline" on an old consent screen, after agreeing: nothing changes
                    return Outcome(kind="consent_kept", language=language, campaign_code=action.campaign_code)
                has_responses = (
                    await conn.execute(sa.select(response.c.id).where(response.c.respondent_id == person.id).limit(1))
                ).first()
                if has_responses is None:  # nothing kept about someone who declined
                    await conn.execute(respondent.delete().where(respondent.c.id == person.id))
            return Outcome(kind="declined", language=language, events=(ConsentDeclined(),))
        found = await self._open_campaign(conn, action.campaign_code, now)
        if isinstance(found, Outcome):
            return replace(found, language=language)
        c = found
        if person is not None:
            existing = await self._response_in(conn, person.id, c.id)
            if existing is not None:  # a second tap on "agree", or consent for a campaign already answered
                if existing.status == "completed":
                    return self._campaign_outcome("already_completed", c, language)
                return await self._resume_row(conn, existing, language)
        ward = action.ward_code if action.ward_code in c.ward_codes else None
        return await self._begin_response(conn, who, person, c, ward, language, now, action.invitations)

    async def _begin_response(
        self,
        conn: AsyncConnection,
        who: Who,
        person: Any,
        c: CampaignRecord,
        ward: int | None,
        language: str,
        now: datetime,
        invitations: bool,
    ) -> Outcome:
        if person is None:
            respondent_id = (
                await conn.execute(
                    respondent.insert()
                    .values(
                        key=self.key(who),
                        language=language,
                        consent_at=now,
                        opted_out=False,
                        invitations=invitations,
                        created_at=now,
                    )
                    .returning(respondent.c.id)
                )
            ).scalar_one()
        else:
            respondent_id = person.id
            values: dict[str, Any] = {"consent_at": now}
            if invitations:
                values["invitations"] = True
            await conn.execute(respondent.update().where(respondent.c.id == respondent_id).values(**values))
        if who.address is not None:
            stmt = insert(conn, channel_address).values(
                respondent_id=respondent_id,
                channel=who.channel,
                address=who.address,
                unreachable=False,
                updated_at=now,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["respondent_id", "channel"],
                set_={"address": stmt.excluded.address, "unreachable": False, "updated_at": now},
            )
            await conn.execute(stmt)
        survey_def = await survey_repo.definition(conn, c.survey_id, c.survey_hash)
        ctx = await self._context(conn, c.id, language)
        step = engine.start(survey_def, ctx, prefill=self._prefill(survey_def, ward), consented=True)
        fixed = sorted(step.state.fixed)
        response_id = (
            await conn.execute(
                response.insert()
                .values(
                    campaign_id=c.id,
                    respondent_id=respondent_id,
                    ward_code=ward if fixed else None,
                    status="in_progress",
                    channel=who.channel,
                    fixed=fixed,
                    started_at=now,
                    last_activity_at=now,
                    reminders_sent=0,
                )
                .returning(response.c.id)
            )
        ).scalar_one()
        if step.state.answers:
            await conn.execute(
                answer.insert(),
                [
                    {
                        "response_id": response_id,
                        "question_id": qid,
                        "value": value,
                        "value_num": _numeric(value),
                        "answered_at": now,
                    }
                    for qid, value in step.state.answers
                ],
            )
        return _begun(step, language, survey_def, ctx, c, response_id, ward if fixed else None)

    async def _reply(self, conn: AsyncConnection, who: Who, person: Any, action: Reply, now: datetime) -> Outcome:
        language = self._language(who, person)
        row = None
        if person is not None:
            row = await self._current_response(conn, person.id, action.response_id)
            if row is None and action.response_id is not None:
                row = await self._current_response(conn, person.id)
                if row is not None:  # a button from another response: stale
                    return await self._stale(conn, row, language)
        if row is None:
            # not answering anything: behave like /start
            return await self._start(conn, who, person, Start(), now)
        if row.status == "completed":
            return self._outcome(
                "already_completed",
                row,
                await survey_repo.definition(conn, row.survey_id, row.content_hash),
                await self._context(conn, row.campaign_id, language),
                (),
            )
        if row.campaign_status != "active" or now >= row.ends_at or row.status != "in_progress":
            return Outcome(
                kind="campaign_closed",
                language=language,
                campaign_code=row.campaign_code,
                campaign_title=row.campaign_title,
                response_id=row.id,
                prompt_message_id=self._prompt_of(row.id, row.prompt_message_id),
            )
        survey_def = await survey_repo.definition(conn, row.survey_id, row.content_hash)
        ctx = await self._context(conn, row.campaign_id, language)
        state = await self._state(conn, row)
        step = engine.advance(survey_def, state, action.input, ctx)
        ward_code = await self._apply(conn, row, survey_def, step, now)
        return self._outcome(
            "events", row, survey_def, ctx, step.events, ward_code=ward_code, answers=step.state.answer_map
        )

    async def _stale(self, conn: AsyncConnection, row: Any, language: str) -> Outcome:
        survey_def = await survey_repo.definition(conn, row.survey_id, row.content_hash)
        ctx = await self._context(conn, row.campaign_id, language)
        event = InputIgnored("already_answered", message("already_answered", language))
        return self._outcome("events", row, survey_def, ctx, (event,))

    async def _apply(
        self, conn: AsyncConnection, row: Any, survey_def: Survey, step: engine.Step, now: datetime
    ) -> Any:
        """Store what the engine decided. Returns the response's ward after the change."""
        ward_code = row.ward_code
        values: dict[str, Any] = {"last_activity_at": now}
        for event in step.events:
            if isinstance(event, AnswerRecorded):
                stmt = insert(conn, answer).values(
                    response_id=row.id,
                    question_id=event.question_id,
                    value=event.value,
                    value_num=_numeric(event.value),
                    answered_at=now,
                )
                stmt = stmt.on_conflict_do_update(
                    index_elements=["response_id", "question_id"],
                    set_={"value": stmt.excluded.value, "value_num": stmt.excluded.value_num, "answered_at": now},
                )
                await conn.execute(stmt)
                if survey_def.question(event.question_id).type == "ward":
                    ward_code = event.value
                    values["ward_code"] = event.value
            elif isinstance(event, AnswerRemoved):
                await conn.execute(
                    answer.delete().where(answer.c.response_id == row.id, answer.c.question_id == event.question_id)
                )
                if survey_def.question(event.question_id).type == "ward":
                    ward_code = None
                    values["ward_code"] = None
            elif isinstance(event, SurveyCompleted):
                values["status"] = "completed"
                values["completed_at"] = now
        await conn.execute(response.update().where(response.c.id == row.id).values(**values))
        return ward_code

    async def _set_language(
        self, conn: AsyncConnection, who: Who, person: Any, action: SetLanguage, now: datetime
    ) -> Outcome:
        language = action.language if action.language in LANGUAGES else "vi"
        if person is None:
            await conn.execute(
                insert(conn, respondent)
                .values(key=self.key(who), language=language, opted_out=False, invitations=False, created_at=now)
                .on_conflict_do_nothing(index_elements=["key"])
            )
        else:
            await conn.execute(respondent.update().where(respondent.c.id == person.id).values(language=language))
        view = await self._view(conn, who, now)
        return replace(view, kind="language_set", language=language)

    async def _restart(self, conn: AsyncConnection, who: Who, person: Any, now: datetime) -> Outcome:
        language = self._language(who, person)
        row = await self._current_response(conn, person.id) if person is not None else None
        if row is None:
            return Outcome(kind="nothing_to_restart", language=language)
        if row.campaign_status != "active" or now >= row.ends_at:  # the answers stay as they were
            return Outcome(
                kind="campaign_closed", language=language, campaign_code=row.campaign_code,
                campaign_title=row.campaign_title,
            )  # fmt: skip
        fixed = list(row.fixed or ())
        await conn.execute(answer.delete().where(answer.c.response_id == row.id, answer.c.question_id.not_in(fixed)))
        values: dict[str, Any] = {"last_activity_at": now}
        if row.ward_code is not None and not fixed:
            values["ward_code"] = None
        await conn.execute(response.update().where(response.c.id == row.id).values(**values))
        row = await self._current_response(conn, person.id, row.id)
        return await self._resume_row(conn, row, language)

    async def _delete(self, conn: AsyncConnection, who: Who, person: Any, now: datetime) -> Outcome:
        language = self._language(who, person)
        if person is None:
            return Outcome(kind="deleted", language=language)
        await conn.execute(channel_address.delete().where(channel_address.c.respondent_id == person.id))
        completed = (
            (
                await conn.execute(
                    sa.select(response.c.id).where(
                        response.c.respondent_id == person.id, response.c.status == "completed"
                    )
                )
            )
            .scalars()
            .all()
        )
        for response_id in completed:
            # each completed response gets its own random, unlinkable respondent
            anon_id = (
                await conn.execute(
                    respondent.insert()
                    .values(
                        key="anon:" + secrets.token_hex(16),
                        language=language,
                        consent_at=None,
                        opted_out=True,
                        invitations=False,
                        created_at=now,
                    )
                    .returning(respondent.c.id)
                )
            ).scalar_one()
            await conn.execute(response.update().where(response.c.id == response_id).values(respondent_id=anon_id))
        await conn.execute(response.delete().where(response.c.respondent_id == person.id))
        await conn.execute(respondent.delete().where(respondent.c.id == person.id))
        return Outcome(kind="deleted", language=language)


_numeric = fastpath.numeric
_ward_question = fastpath.ward_question_of


def _begun(
    step: engine.Step,
    language: str,
    survey_def: Survey,
    ctx: Context,
    c: CampaignRecord,
    response_id: int,
    ward: int | None,
) -> Outcome:
    """A response just begun (after consent): its first question."""
    return Outcome(
        kind="events",
        events=step.events,
        language=language,
        survey=survey_def,
        ctx=ctx,
        response_id=response_id,
        campaign_code=c.code,
        campaign_title=c.title,
        ward_code=ward,
        answers=step.state.answer_map,
    )

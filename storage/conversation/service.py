"""The conversation service: what every channel (Telegram, Zalo, the web) calls.

Each call takes who is talking (channel + channel user id), what they did, and the channel's update id. It
loads a snapshot, lets `flows.conversation.decide` decide, and stores the decision in ONE transaction
together with the processed-update row. A repeated update id changes nothing: it returns the current view
(so a channel that crashed before replying can show it again).

Two executors carry out the same decisions: the portable one (`load` and `apply`: SQLAlchemy, SQLite and
PostgreSQL) and the driver-level one (`storage.fastpath`: an answer, and a new person's consent or /start,
in one statement on PostgreSQL, with version checks). Two inputs from the same person are serialised: a row
lock on the respondent (PostgreSQL) or the single writer (SQLite).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from flows.conversation import (
    WEB,
    Action,
    CampaignState,
    Decision,
    GiveConsent,
    Outcome,
    Reply,
    Snapshot,
    Start,
    View,
    Who,
    decide,
    language_of,
)
from flows.events import ConsentRequested, SurveyCompleted
from storage.conversation import fastpath
from storage.conversation.apply import apply
from storage.conversation.load import Campaigns, load
from storage.conversation.prompts import Prompts, Unset, answered
from storage.db import Database
from storage.repo import addresses, quality
from storage.repo.sql import insert, processed_update


def respondent_key(secret: bytes, channel: str, user_id: str) -> str:
    """The pseudonymous key of a person: HMAC-SHA256(server secret, channel + ":" + channel user id)."""
    return hmac.new(secret, f"{channel}:{user_id}".encode(), hashlib.sha256).hexdigest()


class ConversationService:
    fast = True
    """Use the driver-level executor where it applies (False: the portable path only; the tests that compare
    the two executors switch it)."""

    def __init__(self, db: Database, secret: bytes, clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.secret = secret
        self.clock = clock or (lambda: datetime.now(UTC))
        self.campaigns = Campaigns()
        self.prompts = Prompts(db)
        self._keys: dict[tuple[str, str], str] = {}
        """Respondent keys computed lately (an HMAC per input otherwise)."""
        self.answer_paths: dict[str, int] = {"known": 0, "optimistic": 0, "locked": 0, "general": 0}
        """How answers (`Reply`) were stored: PostgreSQL's single statement without a read (the response as
        this process last wrote it) or with one, the locked program (SQLite, and PostgreSQL after a concurrent
        change), or the portable path (anything unusual). For /metrics."""

    def key(self, who: Who) -> str:
        key = self._keys.get((who.channel, who.user_id))
        if key is None:
            key = respondent_key(self.secret, who.channel, who.user_id)
            if len(self._keys) >= 50_000:  # people answering now; the rest are computed again
                self._keys.clear()
            self._keys[(who.channel, who.user_id)] = key
        return key

    # --- entry points ------------------------------------------------------------------------------------

    async def handle(self, who: Who, action: Action, update_id: str | int | None = None) -> Outcome:
        """Apply one action in one transaction; a repeated `update_id` changes nothing. A response it completes
        gets its data-quality flags in the same write (decided with the answers); a web response's are
        assessed again next, with the completions from its address (the scheduler assesses any left without,
        should the process stop in between)."""
        outcome = await self._handle(who, action, update_id)
        if (
            who.channel == WEB
            and not outcome.duplicate
            and outcome.response_id is not None
            and outcome.survey is not None
            and any(isinstance(e, SurveyCompleted) for e in outcome.events)
        ):
            async with self.db.write() as conn:
                await quality.assess(conn, outcome.response_id, outcome.survey)
        return outcome

    async def _handle(self, who: Who, action: Action, update_id: str | int | None = None) -> Outcome:
        now = self.clock()
        update = None if update_id is None else str(update_id)
        if self.fast:
            fast: Outcome | None = None
            if isinstance(action, Reply):
                fast = await self._fast_reply(who, action, update, now)
            elif update is not None and not self.db.is_sqlite and isinstance(action, GiveConsent | Start):
                fast = await self._fast_new_person(who, action, update, now)
            if fast is not None:
                return fast
        key = self.key(who)
        async with self.db.write() as conn:
            if update is not None and not await self._claim(conn, who.channel, update, now):
                decision = None
            else:
                snapshot = await load(conn, key, action, self.campaigns, lock=True)
                decision = decide(snapshot, who, action, now)
                begun = await apply(conn, key, snapshot.person, decision, now)
        if decision is None:
            return await self._repeated(who, now, action)
        if isinstance(action, Reply):
            self.answer_paths["general"] += 1
            self.prompts.forget(action.response_id)
        return self._shown(decision, begun)

    async def view(self, who: Who, response_id: int | None = None) -> Outcome:
        """What the person sees now, changing nothing: their current question, or `response_id`'s."""
        return await self._view(who, View(response_id=response_id))

    async def button_view(self, who: Who, response_id: int) -> Outcome:
        """`view` of the response a button names (a multi-choice selection re-draws its buttons): one
        statement on PostgreSQL for an open response of a campaign this process knows."""
        if self.fast and not self.db.is_sqlite:
            row = await self.db.run_program(
                fastpath.statement_program("load", (self.key(who), response_id)), fastpath.SQL, transaction=False
            )
            if row is not None:
                loaded = fastpath.read_loaded(row, False, self.campaigns)
                if loaded.response is not None and loaded.response.id == response_id:
                    return self._shown(decide(loaded.snapshot(), who, View(response_id), self.clock()))
        return await self.view(who, response_id)

    async def mark_unreachable(self, channel: str, address: str) -> None:
        """The person blocked the bot: stop reminders and invitations to this address."""
        async with self.db.write() as conn:
            await addresses.mark_unreachable(conn, channel, address, self.clock())

    async def set_prompt(self, response_id: int, message_id: int | None) -> None:
        """Remember which channel message shows the current question (to edit it once answered)."""
        self.prompts.set(response_id, message_id)

    async def flush_prompts(self) -> None:
        await self.prompts.flush()

    # --- the portable path's helpers ----------------------------------------------------------------------

    async def _view(self, who: Who, action: View) -> Outcome:
        now = self.clock()
        async with self.db.read() as conn:
            snapshot = await load(conn, self.key(who), action, self.campaigns, lock=False)
        return self._shown(decide(snapshot, who, action, now))

    async def _repeated(self, who: Who, now: datetime, action: Action) -> Outcome:
        """A repeated update: nothing changes; where the person is now, for the channel to show if the first
        reply was lost (it knows whether it was shown): for an answer, the question of its response, or its
        thank-you; for a /start from someone with nothing under way, what /start shows (nothing is stored before
        consent, so a lost consent screen would otherwise leave them with no reply at all)."""
        if isinstance(action, Reply):
            view_action = View(response_id=action.response_id, latest=action.response_id is None)
        else:
            view_action = View(start=action if isinstance(action, Start) else None)
        view = await self._view(who, view_action)
        return replace(view, duplicate=True)

    @staticmethod
    async def _claim(conn: AsyncConnection, channel: str, update_id: str, now: datetime) -> bool:
        stmt = (
            insert(conn, processed_update)
            .values(channel=channel, update_id=update_id, processed_at=now)
            .on_conflict_do_nothing(index_elements=["channel", "update_id"])
        )
        return bool((await conn.execute(stmt)).rowcount)

    def _shown(self, decision: Decision, begun: int | None = None) -> Outcome:
        """The decision's outcome with what only the executor knows: the id of a response it began, and the
        prompt message id waiting to be written."""
        outcome = decision.outcome
        if begun is not None:
            return replace(outcome, response_id=begun)
        if outcome.response_id is not None:
            shown = self.prompts.of(outcome.response_id, outcome.prompt_message_id)
            if shown != outcome.prompt_message_id:
                outcome = replace(outcome, prompt_message_id=shown)
        return outcome

    # --- the driver-level executor ------------------------------------------------------------------------

    async def _fast_reply(self, who: Who, action: Reply, update: str | None, now: datetime) -> Outcome | None:
        """An answer through `storage.fastpath`; None means: use the portable path."""
        key = self.key(who)

        def decided(snapshot: Snapshot) -> Decision:
            return decide(snapshot, who, action, now)

        rid = action.response_id
        held = self.prompts.hold(rid)
        applied: fastpath.Applied | None = None
        try:
            if update is not None and not self.db.is_sqlite:
                # taken out while this answer runs: only the single statement's write puts it back (a Back, a
                # rejection, the locked program, an error, leave it unknown). Buttons only: a typed text goes
                # to the person's most recently active response, which another process may have changed.
                known = self.prompts.take_known(rid, key)
                for attempt in (known, None) if known is not None else (None,):
                    program = fastpath.optimistic_reply_program(
                        channel=who.channel,
                        update_id=update,
                        key=key,
                        response_id=rid,
                        campaigns=self.campaigns,
                        decide=decided,
                        now=now,
                        known=attempt,
                    )
                    try:
                        applied = await self.db.run_program(program, fastpath.SQL, transaction=False)
                    except fastpath.Contended:
                        continue
                    self.answer_paths["known" if attempt is not None else "optimistic"] += 1
                    if not applied.duplicate:
                        self.prompts.remember(key, applied)
                    break
            if applied is None:
                program = fastpath.reply_program(
                    self.db.dialect,
                    channel=who.channel,
                    update_id=update,
                    key=key,
                    response_id=rid,
                    campaigns=self.campaigns,
                    decide=decided,
                    now=now,
                )
                applied = await self.db.run_program(program, fastpath.SQL)
                self.answer_paths["locked"] += 1
        except fastpath.Fallback:
            return None
        finally:
            self.prompts.release(rid, held, answered(None if applied is None else applied.decision))
        if applied.duplicate:
            return await self._repeated(who, now, action)
        assert applied.decision is not None and applied.loaded is not None
        outcome = self._shown(applied.decision)
        response = applied.loaded.response
        if not isinstance(held, Unset) and response is not None and response.id == rid:
            outcome = replace(outcome, prompt_message_id=held)  # the question on screen when it was answered
        return outcome

    async def _fast_new_person(
        self, who: Who, action: GiveConsent | Start, update: str, now: datetime
    ) -> Outcome | None:
        """A new person's /start with a campaign, or their "I agree", on PostgreSQL, in one statement; None:
        the portable path (not a new person, a campaign this process has not read, or anything else)."""
        if (isinstance(action, GiveConsent) and not action.agree) or action.campaign_code is None:
            return None
        campaign: CampaignState | None = self.campaigns.by_code.get(action.campaign_code)
        if campaign is None:
            return None
        decision = decide(Snapshot(person=None, campaign=campaign), who, action, now)
        args = fastpath.new_person_args(campaign, self.key(who), who.channel, update, now)
        if isinstance(action, Start):
            if decision.writes or not any(isinstance(e, ConsentRequested) for e in decision.outcome.events):
                return None  # not the consent screen (a closed campaign, no consent text): the portable path
            found, fresh, claimed = await self.db.run_program(
                fastpath.statement_program("start_new", args), fastpath.SQL, transaction=False
            )
            begun = None
        else:
            rest = fastpath.begin_new_args(decision.writes)
            if rest is None:
                return None
            try:
                found, fresh, claimed, begun, _, _ = await self.db.run_program(
                    fastpath.statement_program("begin_new", (*args, *rest)), fastpath.SQL, transaction=False
                )
            except Exception as e:
                if getattr(e, "sqlstate", None) == "23505":  # the same person agreeing twice at once: one wins
                    return None
                raise
        if not found or not fresh:
            return None  # the campaign changed, or the database knows this person: the portable path decides
        if not claimed:
            return await self._repeated(who, now, action)
        return self._shown(decision, begun)


__all__ = ["ConversationService", "language_of", "respondent_key"]

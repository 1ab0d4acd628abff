"""Minute-tick jobs for respondents: reminders to finish, invitations when a campaign opens, campaign close.

Reminders follow each campaign's policy (`ReminderPolicy`): delays after the respondent's last activity
(default 24 h, then 72 h), at most `max_count`, none during quiet hours (default 21:00-07:00 in TZ: a
reminder that falls due at night waits for the morning tick), none after the campaign ends (the outbox row
expires with the campaign), none to people who opted out or blocked the bot, and only to people with a chat
address, on the channel they answer on (its own outbox and paced sender). A channel may only write to a
person within a window after their last message (`windows`; Zalo: ZALO_REMINDER_WINDOW_HOURS): its reminders
and invitations go only inside it, and expire when it closes. Each reminder is queued with the response's
reminder count raised in the same transaction, under the dedupe key "reminder:c<campaign>:r<response>:<n>",
so a tick that runs twice, or after a crash, queues nothing twice.

Just before sending, the sender asks `no_longer_wanted` whether a queued reminder or invitation should still go
(the person may have answered, finished, opted out or deleted their data meanwhile).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from flows import engine
from flows.i18n import Section
from flows.schema import Survey
from reports import format as fmt
from scheduler.outbox import quiet_hours_end
from storage.db import Database
from storage.outbox import Action, Outgoing
from storage.records import CampaignRecord
from storage.repo import campaigns as campaign_repo
from storage.repo import outbox
from storage.repo import reminders as repo
from storage.repo import surveys as survey_repo
from storage.repo.outbox import NewMessage, OutboxRecord

log = logging.getLogger(__name__)

text = Section("reminder")
"""The reminders' and invitations' texts: their section of the one catalog."""


def _language(language: str) -> str:
    return language if language in ("vi", "en") else "vi"


def reminder_message(survey: Survey, c: CampaignRecord, due: repo.DueReminder, tz: ZoneInfo) -> Outgoing | None:
    """The reminder for one response: how far they got, and the "Tiếp tục / Continue" button (None if the
    questionnaire is in fact complete)."""
    lang = _language(due.language)
    state = engine.State(consented=True, answers=due.answers, fixed=frozenset(due.fixed))
    current = engine.current_question(survey, state)
    if current is None:
        return None
    number, total = engine.progress(survey, state, current)
    params = {
        "title": html.escape(c.title),
        "percent": engine.percent_done(number, total),  # as the questions show it: never a total that jumps
        "next": number,
        "end": fmt.local(c.ends_at, tz, "date"),
    }
    body = text("reminder" if number > 1 else "reminder_not_started", lang, **params)
    return Outgoing(text=body, actions=(Action("resume", text("continue", lang), response_id=due.response_id),))


def invitation_message(c: CampaignRecord, language: str, tz: ZoneInfo) -> Outgoing:
    """An invitation to a campaign that has just opened, with its "Tham gia / Take part" intent."""
    lang = _language(language)
    body = text("invitation", lang, title=html.escape(c.title), end=fmt.local(c.ends_at, tz, "date"))
    return Outgoing(text=body, actions=(Action("join", text("join", lang), campaign_code=c.code),))


def _quiet(c: CampaignRecord, tz: ZoneInfo) -> dict[str, str]:
    policy = c.reminder_policy
    return {"start": policy.quiet_start, "end": policy.quiet_end, "tz": tz.key}


def reminder_key(campaign_id: int, response_id: int, number: int) -> str:
    return f"reminder:c{campaign_id}:r{response_id}:{number}"


def invitation_key(campaign_id: int, respondent_id: int) -> str:
    return f"invitation:c{campaign_id}:p{respondent_id}"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_closes(channel: str, last_activity: datetime | None, windows: Mapping[str, timedelta]) -> datetime | None:
    """When `channel` stops letting us write to a person last active at `last_activity`: None for a channel
    without a window; the epoch when their last activity is unknown (nothing may be sent)."""
    window = windows.get(channel)
    if window is None:
        return None
    if last_activity is None:
        return EPOCH
    if last_activity.tzinfo is None:  # read back from SQLite: UTC
        last_activity = last_activity.replace(tzinfo=UTC)
    return last_activity + window


def _expiry(ends_at: datetime, closes: datetime | None) -> datetime:
    return ends_at if closes is None else min(ends_at, closes)


async def queue_reminders(
    db: Database,
    now: datetime,
    tz: ZoneInfo,
    *,
    limit: int = 1000,
    windows: Mapping[str, timedelta] | None = None,
) -> int:
    """Queue the reminders due now in every open campaign, outside its quiet hours and inside each channel's
    window. Returns how many."""
    windows = windows or {}
    async with db.read() as conn:
        open_now = await campaign_repo.open_campaigns(conn, now)
    queued = 0
    for c in open_now:
        policy = c.reminder_policy
        if quiet_hours_end(now, policy.quiet_start, policy.quiet_end, tz) is not None:
            continue
        async with db.write() as conn:
            due = await repo.due(conn, c, now, limit)
            if not due:
                continue
            survey = await survey_repo.definition(conn, c.survey_id)
            messages: list[NewMessage] = []
            for d in due:
                closes = window_closes(d.channel, d.last_activity_at, windows)
                if closes is not None and closes <= now:
                    continue  # the channel no longer lets us write to them: no reminder (not counted)
                message = reminder_message(survey, c, d, tz)
                if message is None or not await repo.count_sent(conn, d.response_id, d.reminders_sent):
                    continue
                guard = {
                    "respondent_id": d.respondent_id,
                    "response_id": d.response_id,
                    "activity_at": d.last_activity_at.isoformat(),
                }
                messages.append(
                    NewMessage(
                        recipient=d.address,
                        kind="reminder",
                        payload=message.to_payload(quiet_hours=_quiet(c, tz), guard=guard),
                        dedupe_key=reminder_key(c.id, d.response_id, d.reminders_sent + 1),
                        expires_at=_expiry(c.ends_at, closes),
                        channel=d.channel,
                    )
                )
            queued += await outbox.enqueue_many(conn, messages, now)
    if queued:
        log.info("queued %d reminder(s)", queued)
    return queued


async def queue_invitations(
    db: Database, now: datetime, tz: ZoneInfo, *, windows: Mapping[str, timedelta] | None = None
) -> int:
    """When a campaign opens (its start time has passed), invite once the people who asked to hear about
    new surveys, if its policy says so (on a channel with a window, only those still inside it). Returns how
    many invitations were queued."""
    windows = windows or {}
    queued = 0
    async with db.read() as conn:
        candidates = await repo.campaigns_to_invite(conn, now)
    for campaign_id in candidates:
        async with db.write() as conn:
            c = await campaign_repo.get_by_id(conn, campaign_id)
            if not await repo.mark_invited(conn, c.id, now):
                continue  # another tick got there first
            if not c.reminder_policy.invite:
                continue
            messages = []
            for person in await repo.invitees(conn, c):
                closes = window_closes(person.channel, person.last_activity_at, windows)
                if closes is not None and closes <= now:
                    continue
                messages.append(
                    NewMessage(
                        recipient=person.address,
                        kind="invitation",
                        payload=invitation_message(c, person.language, tz).to_payload(
                            quiet_hours=_quiet(c, tz), guard={"respondent_id": person.respondent_id}
                        ),
                        dedupe_key=invitation_key(c.id, person.respondent_id),
                        expires_at=_expiry(c.ends_at, closes),
                        channel=person.channel,
                    )
                )
            n = await outbox.enqueue_many(conn, messages, now)
        queued += n
        log.info("campaign %s opened: %d invitation(s) queued", c.code, n)
    return queued


async def close_ended(db: Database, now: datetime) -> list[str]:
    """Close the active campaigns whose end time has passed (in-progress responses become abandoned, chat
    addresses are deleted) and drop their queued reminders and invitations, which hold chat ids."""
    async with db.read() as conn:
        codes = await repo.campaigns_to_close(conn, now)
    closed: list[str] = []
    for code in codes:
        async with db.write() as conn:
            try:
                c, abandoned, addresses = await campaign_repo.close(conn, code, now)
            except campaign_repo.CampaignError as e:  # closed meanwhile by an operator
                log.info("campaign %s not closed by the scheduler: %s", code, e)
                continue
            dropped = await outbox.delete_by_prefix(conn, f"reminder:c{c.id}:")
            dropped += await outbox.delete_by_prefix(conn, f"invitation:c{c.id}:")
        closed.append(code)
        log.info(
            "campaign %s ended: closed; %d unfinished response(s) abandoned, %d chat address(es) and %d queued "
            "message(s) deleted",
            code,
            abandoned,
            addresses,
            dropped,
        )
    return closed


def _queued(record: OutboxRecord) -> repo.Queued | None:
    guard = record.payload.get("guard")
    if not isinstance(guard, dict) or "respondent_id" not in guard:
        return None
    activity = guard.get("activity_at")
    return repo.Queued(
        outbox_id=record.id,
        kind=record.kind,
        recipient=record.recipient,
        respondent_id=int(guard["respondent_id"]),
        response_id=int(guard["response_id"]) if guard.get("response_id") is not None else None,
        activity_at=datetime.fromisoformat(activity) if activity else None,
    )


async def no_longer_wanted(conn: AsyncConnection, records: Sequence[OutboxRecord], now: datetime) -> set[int]:
    """The sender's guard: ids of queued reminders/invitations that must not be sent any more."""
    parsed = [q for q in (_queued(r) for r in records) if q is not None]
    return await repo.unwanted(conn, parsed, now)

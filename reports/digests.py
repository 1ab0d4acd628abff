"""Digests for officials' group chats: gather the counts (SQL, `storage.repo.stats`), build the messages
(`reports.digest`) and queue them in the outbox.

Period: a chat's schedule ("daily 08:00", "weekly mon 08:00", cron; in TZ) fires at times F1 < F2 < ...;
the digest due at F covers completed responses with F_prev <= completed_at < F, and compares with the period
before it [F_prevprev, F_prev). "Total" figures run from the campaign's start to F. On demand (/digest) the
period is the current one so far: [last F, now).

One digest per (chat, campaign, period): its messages are queued under the dedupe keys
"digest:<chat>:c<campaign>:<F as YYYYmmddTHHMMZ>:<part>" (parts 1, 2 ... and "chart"; <chat> is the chat's
label: a Telegram group's id, "zalo:<id>" for a Zalo group), all in one
transaction, so a digest is queued at most once, even across restarts; the tick only builds a digest whose
first key is not in the outbox yet. A digest reports on every launched campaign that ran during the period
and covers a ward of the chat's scope (usually one); a chat gets nothing while no campaign runs. A lead
department's chat (subscribed with PAPI dimensions) gets, instead, the digest of those dimensions
(`reports.dimension_digest`) for each such campaign whose questionnaire measures one of them.

Channels: a chat's messages go to its channel's outbox. Telegram gets HTML messages of <= 4096 characters;
a plain-text channel (Zalo) gets the same sections packed into messages of at most its limit (2,000
characters shown), which its transport turns into plain text (`reports.digest.to_plain`); the chart is queued
as a PNG either way, and the Zalo transport publishes it at an expiring address for sendPhoto.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from flows.schema import Survey
from reports import digest as content
from reports import dimension_digest
from reports.plan import plan_of
from reports.schedule import ScheduleError, parse_schedule
from reports.stats import AnswerKey, Lang
from storage.db import Database
from storage.outbox import Outgoing
from storage.records import CampaignRecord
from storage.repo import campaigns as campaign_repo
from storage.repo import chats as chat_repo
from storage.repo import outbox, stats
from storage.repo import quality as quality_repo
from storage.repo import reminders as reminder_repo
from storage.repo import surveys as survey_repo
from storage.repo import wards as ward_repo
from storage.repo.chats import OfficialChatRecord
from storage.repo.outbox import NewMessage

log = logging.getLogger(__name__)

ON_DEMAND_COOLDOWN = timedelta(minutes=2)
TEXT_LIMITS = {"telegram": content.MAX_MESSAGE, "zalo": 2000}
"""The most characters a digest message may show on each channel."""
PLAIN_CHANNELS = frozenset({"zalo"})
"""Channels that show plain text: their messages are the HTML ones with the tags taken out."""


def text_limit(channel: str) -> int:
    return TEXT_LIMITS.get(channel, min(TEXT_LIMITS.values()))


def _sum(histograms: Sequence[Mapping[int | str, int]]) -> dict[AnswerKey, int]:
    total: Counter[AnswerKey] = Counter()
    for h in histograms:
        total.update(h)
    return dict(total)


async def gather(
    conn: AsyncConnection,
    c: CampaignRecord,
    survey: Survey,
    scope: Sequence[int] | None,
    window: content.Window,
    previous: content.Window,
    language: str,
    tz: ZoneInfo,
    alert_threshold: float,
    on_demand: bool = False,
) -> content.DigestInput:
    """The digest's numbers for a campaign, a scope (ward codes; None = all) and a period: grouped SQL only."""
    lang: Lang = "en" if language == "en" else "vi"
    plan = plan_of(survey)
    wards = None if scope is None else sorted(set(scope) & set(c.ward_codes))
    qids = plan.scale_questions
    windows = [(window.start, window.end), (previous.start, previous.end), (None, window.end)]
    period, before, total = await stats.scale_counts_windows(conn, c.id, qids, windows, wards)

    def counts(question_ids: Sequence[str], label: str) -> content.FactorCounts:
        return content.FactorCounts(
            label=label,
            period=_sum([period[q] for q in question_ids]),
            previous=_sum([before[q] for q in question_ids]),
            total=_sum([total[q] for q in question_ids]),
        )

    overall = counts(plan.overall.questions, plan.overall.label(lang)) if plan.overall else None
    factors = [counts(f.questions, f.label(lang)) for f in plan.factors]
    scope_codes = list(c.ward_codes) if wards is None else wards
    names = {u.code: u.name for u in await ward_repo.get_many(conn, scope_codes)}
    ward_overall: list[tuple[str, Mapping[int | str, int]]] = []
    if plan.overall is not None and len(scope_codes) > 1:
        qid = plan.overall.id
        by_ward = await stats.scale_counts(conn, c.id, [qid], wards, None, window.end, by_ward=True)
        ward_overall = [(names.get(code, str(code)), by_ward.get((qid, code), {})) for code in scope_codes]
    completed_total = await stats.completed_count(conn, c.id, wards, None, window.end)
    completed_period = await stats.completed_count(conn, c.id, wards, window.start, window.end)
    started = (await stats.response_totals(conn, c.id, wards)).started
    reminded = await reminder_repo.sent_count(conn, c.id, wards, window.start, window.end)
    channels = await stats.completed_by_channel(conn, c.id, wards, None, window.end)
    flagged = (await quality_repo.flag_counts(conn, c.id, wards))["any"]
    issues: dict[str, int] = {}
    if plan.issues is not None:
        chosen = await stats.choice_counts(conn, c.id, plan.issues, wards, None, window.end)
        issues = {plan.issue_label(value, lang): n for value, n in chosen.items()}
    n_comments, recent = await stats.comments(
        conn, c.id, plan.comments, wards, window.start, window.end, limit=content.MAX_COMMENTS
    )
    return content.DigestInput(
        language=lang,
        campaign_title=c.title,
        scope_label=content.scope_label(None if scope is None else [names.get(w, str(w)) for w in wards or []], lang),
        period=window,
        timezone=tz.key,
        responses_period=completed_period,
        responses_total=completed_total,
        started_total=started,
        overall=overall,
        factors=factors,
        ward_overall=ward_overall,
        issues_label=plan.issues_label(lang),
        issues=issues,
        issues_base=completed_total,
        comments_count=n_comments,
        comments=[(comment.ward_name, comment.text) for comment in recent],
        alert_threshold=alert_threshold,
        on_demand=on_demand,
        reminders_sent=reminded,
        channels=channels,
        flagged=flagged,
        flagged_included=c.include_flagged,
        simulated=c.simulated,
    )


async def build(data: content.DigestInput, channel: str = "telegram") -> list[Outgoing]:
    """The digest's messages: the text (one or more messages of at most the channel's limit), then the chart."""
    view = content.compute(data)
    messages = [Outgoing(text=part) for part in content.render(view, text_limit(channel))]
    png = await asyncio.to_thread(content.chart_png, view)
    if png is not None:
        messages.append(Outgoing(photo=png, caption=content.caption(view)))
    return messages


def _keys(prefix: str, messages: Sequence[Outgoing]) -> list[str]:
    keys = []
    for number, message in enumerate(messages, start=1):
        keys.append(f"{prefix}:chart" if message.photo is not None else f"{prefix}:{number}")
    return keys


def _stamp(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%MZ")


async def _department_campaigns(
    conn: AsyncConnection, campaign_ids: Sequence[int], dimensions: Sequence[int]
) -> list[int]:
    """The campaigns whose questionnaire measures one of these dimensions."""
    found = []
    for campaign_id in campaign_ids:
        c = await campaign_repo.get_by_id(conn, campaign_id)
        if dimension_digest.measured(await survey_repo.definition(conn, c.survey_id, c.survey_hash), dimensions):
            found.append(campaign_id)
    return found


async def _department_messages(data: dimension_digest.DimensionDigestView, channel: str) -> list[Outgoing]:
    return [Outgoing(text=part) for part in dimension_digest.render(data, text_limit(channel))]


async def _enqueue(
    db: Database, chat: OfficialChatRecord, prefix: str, messages: Sequence[Outgoing], now: datetime, expires: datetime
) -> int:
    rows = [
        NewMessage(
            recipient=chat.address,
            channel=chat.channel,
            recipient_kind="group",
            kind="digest",
            payload=message.to_payload(),
            dedupe_key=key,
            expires_at=expires,
        )
        for key, message in zip(_keys(prefix, messages), messages, strict=True)
    ]
    async with db.write() as conn:
        if await outbox.existing_keys(conn, [rows[0].dedupe_key]):
            return 0
        return await outbox.enqueue_many(conn, rows, now)


async def queue_due_digests(db: Database, now: datetime, tz: ZoneInfo, alert_threshold: float) -> int:
    """For every active chat whose schedule has fired since it subscribed, queue the digest of the latest
    period unless it is queued already. Returns how many digests were queued."""
    async with db.read() as conn:
        chats = await chat_repo.list_chats(conn, active_only=True)
    queued = 0
    for chat in chats:
        try:
            schedule = parse_schedule(chat.schedule)
        except ScheduleError as e:
            log.error("official chat %s has an unusable schedule: %s", chat.label, e)
            continue
        fire = schedule.last_fire(now, tz)
        if fire is None or fire <= chat.subscribed_at:
            continue
        start = schedule.previous_fire(fire, tz)
        window = content.Window(start, fire)
        previous = content.Window(schedule.previous_fire(start, tz), start)
        expires = schedule.next_fire(fire, tz)
        async with db.read() as conn:
            # the demo's made-up figures are never sent on a schedule (a preview or /digest shows them, marked)
            campaign_ids = await chat_repo.campaigns_for(conn, chat.scope, start, fire, simulated=False)
            if chat.dimensions is not None:
                campaign_ids = await _department_campaigns(conn, campaign_ids, chat.dimensions)
        for campaign_id in campaign_ids:
            prefix = f"digest:{chat.label}:c{campaign_id}:{_stamp(fire)}"
            async with db.read() as conn:
                if await outbox.existing_keys(conn, [f"{prefix}:1"]):
                    continue
                c = await campaign_repo.get_by_id(conn, campaign_id)
                survey = await survey_repo.definition(conn, c.survey_id)
                if chat.dimensions is not None:
                    view = await dimension_digest.gather(
                        conn, c, survey, chat.scope, chat.dimensions, window, previous, chat.language, tz
                    )
                else:
                    data = await gather(
                        conn, c, survey, chat.scope, window, previous, chat.language, tz, alert_threshold
                    )
            messages = await (
                _department_messages(view, chat.channel) if chat.dimensions is not None else build(data, chat.channel)
            )
            if await _enqueue(db, chat, prefix, messages, now, expires):
                queued += 1
                log.info("digest for chat %s, campaign %s, period ending %s queued", chat.label, c.code, fire)
    return queued


def current_window(schedule_text: str, now: datetime, tz: ZoneInfo) -> tuple[content.Window, content.Window]:
    """The period so far of a schedule (from its last firing to now) and the period before it."""
    schedule = parse_schedule(schedule_text)
    fire = schedule.last_fire(now, tz)
    if fire is None:
        start = now - timedelta(days=1)
        return content.Window(start, now), content.Window(start - timedelta(days=1), start)
    start = fire if fire < now else schedule.previous_fire(fire, tz)
    return content.Window(start, now), content.Window(schedule.previous_fire(start, tz), start)


async def preview(
    db: Database,
    scope: Sequence[int] | None,
    schedule: str,
    language: str,
    now: datetime,
    tz: ZoneInfo,
    alert_threshold: float,
    dimensions: Sequence[int] | None = None,
    channel: str = "telegram",
) -> list[tuple[CampaignRecord, list[str]]]:
    """What a chat with this scope, schedule and language (and PAPI dimensions, for a lead department's group)
    would receive now (the period so far), for each campaign in its scope: the digest's messages as they are
    sent (Telegram HTML; plain text on a plain-text channel such as Zalo), without queueing them."""
    limit = text_limit(channel)

    def shown(messages: list[str]) -> list[str]:
        return [content.to_plain(m) for m in messages] if channel in PLAIN_CHANNELS else messages

    window, previous = current_window(schedule, now, tz)
    found: list[tuple[CampaignRecord, list[str]]] = []
    async with db.read() as conn:
        campaign_ids = await chat_repo.campaigns_for(
            conn, tuple(scope) if scope is not None else None, window.start, window.end
        )
        if dimensions is not None:
            campaign_ids = await _department_campaigns(conn, campaign_ids, dimensions)
        for campaign_id in campaign_ids:
            c = await campaign_repo.get_by_id(conn, campaign_id)
            survey = await survey_repo.definition(conn, c.survey_id)
            if dimensions is not None:
                view = await dimension_digest.gather(
                    conn, c, survey, scope, dimensions, window, previous, language, tz, on_demand=True
                )
                found.append((c, shown(dimension_digest.render(view, limit))))
                continue
            data = await gather(conn, c, survey, scope, window, previous, language, tz, alert_threshold, on_demand=True)
            found.append((c, shown(content.render(content.compute(data), limit))))
    return found


async def subscribed_message(db: Database, chat: OfficialChatRecord, tz_name: str) -> str:
    """What a group reads when it has subscribed, in Vietnamese and then English (its language is not known
    before): the scope (and the PAPI dimensions of a lead department's group) and the schedule."""
    from flows.i18n import LANGUAGES, Section, t
    from reports.plan import dimension_label

    group = Section("group")
    names = None
    if chat.scope is not None:
        async with db.read() as conn:
            names = [u.name for u in await ward_repo.get_many(conn, list(chat.scope))]
    schedule = parse_schedule(chat.schedule)
    texts = []
    for language in LANGUAGES:
        scope = content.scope_label(names, language, shown=5)
        if chat.dimensions is not None:
            led = ", ".join(f"{d}. {dimension_label(d, language)}" for d in chat.dimensions)
            scope += f"; {t('digest.dimensions_label', language)}: {led}"
        texts.append(group("subscribed", language, scope=scope, schedule=f"{schedule.describe(language)} ({tz_name})"))
    return "\n\n".join(texts)


class DigestUnavailable(Exception):
    """/digest cannot be answered now; `reason`: not_subscribed, no_campaign or too_soon."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def queue_digest_now(
    db: Database,
    chat_id: int | str,
    now: datetime,
    tz: ZoneInfo,
    alert_threshold: float,
    request_id: str,
    channel: str = "telegram",
) -> int:
    """/digest: queue the current period's digest so far, for each campaign in the chat's scope (`chat_id` on
    `channel`); `request_id` (the command's message id) makes a redelivered command a no-op. Returns how many
    messages were queued."""
    async with db.read() as conn:
        chat = await chat_repo.get(conn, chat_id, channel)
        if chat is None or not chat.active:
            raise DigestUnavailable("not_subscribed")
        label = chat.label
        if await outbox.queued_since(
            conn, f"digest-now:{label}:{request_id}:", datetime.min.replace(tzinfo=now.tzinfo)
        ):
            return 0  # the same command again (a redelivered update)
        if await outbox.queued_since(conn, f"digest-now:{label}:", now - ON_DEMAND_COOLDOWN):
            raise DigestUnavailable("too_soon")
    window, previous = current_window(chat.schedule, now, tz)
    async with db.read() as conn:
        campaign_ids = await chat_repo.campaigns_for(conn, chat.scope, window.start, window.end)
        if chat.dimensions is not None:
            campaign_ids = await _department_campaigns(conn, campaign_ids, chat.dimensions)
    if not campaign_ids:
        raise DigestUnavailable("no_campaign")
    total = 0
    for campaign_id in campaign_ids:
        async with db.read() as conn:
            c = await campaign_repo.get_by_id(conn, campaign_id)
            survey = await survey_repo.definition(conn, c.survey_id)
            if chat.dimensions is not None:
                view = await dimension_digest.gather(
                    conn, c, survey, chat.scope, chat.dimensions, window, previous, chat.language, tz, on_demand=True
                )
            else:
                data = await gather(
                    conn, c, survey, chat.scope, window, previous, chat.language, tz, alert_threshold, on_demand=True
                )
        messages = await (
            _department_messages(view, chat.channel) if chat.dimensions is not None else build(data, chat.channel)
        )
        prefix = f"digest-now:{label}:{request_id}:c{campaign_id}"
        total += await _enqueue(db, chat, prefix, messages, now, now + timedelta(hours=1))
    return total

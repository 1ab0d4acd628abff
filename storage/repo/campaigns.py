"""Campaigns: a survey version asked in chosen wards between two dates."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.records import CampaignRecord, ReminderPolicy
from storage.repo.sql import admin_unit, campaign, campaign_ward, channel_address, respondent, response, survey

CODE_PATTERN = re.compile(r"^[a-z0-9-]{3,32}$")


class CampaignError(ValueError):
    """A campaign operation that cannot be done, with a message for the operator."""


class CampaignNotFound(CampaignError, LookupError):
    pass


class CampaignOverlap(CampaignError):
    """A launch refused because other active campaigns cover some of the same wards at the same time."""

    def __init__(self, code: str, overlaps: Sequence[Overlap]) -> None:
        super().__init__(overlap_message(code, overlaps))
        self.code = code
        self.overlaps = list(overlaps)


_SELECT = sa.select(
    campaign,
    survey.c.survey_key,
    survey.c.version.label("survey_version"),
    survey.c.content_hash.label("survey_hash"),
).join(survey, survey.c.id == campaign.c.survey_id)


def _record(row: Any, wards: Sequence[int]) -> CampaignRecord:
    return CampaignRecord(
        id=row.id,
        code=row.code,
        title=row.title,
        survey_id=row.survey_id,
        survey_key=row.survey_key,
        survey_version=row.survey_version,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        timezone=row.timezone,
        status=row.status,
        target_per_ward=row.target_per_ward,
        reminder_policy=ReminderPolicy.from_json(row.reminder_policy),
        created_at=row.created_at,
        launched_at=row.launched_at,
        closed_at=row.closed_at,
        ward_codes=tuple(wards),
        survey_hash=row.survey_hash,
        simulated=bool(row.simulated),
        web_limit=int(row.web_limit),
        web_requires_code=bool(row.web_requires_code),
        include_flagged=bool(row.include_flagged),
    )


async def ward_codes(conn: AsyncConnection, campaign_id: int) -> list[int]:
    q = (
        sa.select(campaign_ward.c.ward_code)
        .where(campaign_ward.c.campaign_id == campaign_id)
        .order_by(campaign_ward.c.ward_code)
    )
    return list((await conn.execute(q)).scalars())


async def create(
    conn: AsyncConnection,
    *,
    code: str,
    survey_id: int,
    title: str,
    wards: Sequence[int],
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    timezone: str = "Asia/Ho_Chi_Minh",
    target_per_ward: int | None = None,
    reminder_policy: ReminderPolicy | None = None,
    simulated: bool = False,
    web_limit: int = 30,
    web_requires_code: bool = False,
    include_flagged: bool = False,
) -> CampaignRecord:
    if not CODE_PATTERN.match(code):
        raise CampaignError(f"invalid campaign code {code!r}: use 3-32 lower-case letters, digits and '-'")
    if ends_at <= starts_at:
        raise CampaignError(
            f"the campaign must end after it starts (starts {starts_at:%Y-%m-%d %H:%M}, ends {ends_at:%Y-%m-%d %H:%M})"
        )
    if target_per_ward is not None and target_per_ward < 1:
        raise CampaignError("the target per ward must be 1 or more")
    if web_limit < 0:
        raise CampaignError("the web limit must be 0 (no limit) or more")
    unique_wards = sorted(set(wards))
    if not unique_wards:
        raise CampaignError("a campaign needs at least one ward")
    known = set((await conn.execute(sa.select(admin_unit.c.code).where(admin_unit.c.code.in_(unique_wards)))).scalars())
    unknown = [w for w in unique_wards if w not in known]
    if unknown:
        shown = ", ".join(str(w) for w in unknown[:10])
        raise CampaignError(f"unknown ward code(s): {shown}; see 'khaosat wards list'")
    exists = (await conn.execute(sa.select(campaign.c.id).where(campaign.c.code == code))).first()
    if exists is not None:
        raise CampaignError(f"a campaign with code {code!r} already exists")
    new_id = (
        await conn.execute(
            campaign.insert()
            .values(
                code=code,
                survey_id=survey_id,
                title=title,
                starts_at=starts_at,
                ends_at=ends_at,
                timezone=timezone,
                status="draft",
                target_per_ward=target_per_ward,
                reminder_policy=(reminder_policy or ReminderPolicy()).to_json(),
                created_at=now,
                simulated=simulated,
                web_limit=web_limit,
                web_requires_code=web_requires_code,
                include_flagged=include_flagged,
            )
            .returning(campaign.c.id)
        )
    ).scalar_one()
    await conn.execute(campaign_ward.insert(), [{"campaign_id": new_id, "ward_code": w} for w in unique_wards])
    return await get(conn, code)


async def get(
    conn: AsyncConnection, code: str, known_wards: dict[int, tuple[int, ...]] | None = None
) -> CampaignRecord:
    """The campaign with this code. `known_wards`: ward lists of launched campaigns already read (they never
    change once launched), looked up and filled in, to save a query."""
    if "\x00" in code:  # no code has one, and PostgreSQL refuses it in text (the query would fail)
        raise CampaignNotFound(f"no campaign with code {code!r}; see 'khaosat campaign list'")
    row = (await conn.execute(_SELECT.where(campaign.c.code == code))).first()
    if row is None:
        raise CampaignNotFound(f"no campaign with code {code!r}; see 'khaosat campaign list'")
    if known_wards is None or row.launched_at is None:
        return _record(row, await ward_codes(conn, row.id))
    if row.id not in known_wards:
        known_wards[row.id] = tuple(await ward_codes(conn, row.id))
    return _record(row, known_wards[row.id])


async def get_by_id(conn: AsyncConnection, campaign_id: int) -> CampaignRecord:
    row = (await conn.execute(_SELECT.where(campaign.c.id == campaign_id))).one()
    return _record(row, await ward_codes(conn, row.id))


async def list_all(conn: AsyncConnection, status: str | None = None) -> list[CampaignRecord]:
    q = _SELECT.order_by(campaign.c.created_at.desc(), campaign.c.id.desc())
    if status is not None:
        q = q.where(campaign.c.status == status)
    rows = (await conn.execute(q)).all()
    return [_record(r, await ward_codes(conn, r.id)) for r in rows]


async def same_survey(conn: AsyncConnection, c: CampaignRecord) -> list[CampaignRecord]:
    """The launched campaigns of `c`'s survey (any version), oldest first: the waves of its trends. Only those of
    the same kind: a demo's simulated campaigns are never compared with real ones."""
    q = _SELECT.where(
        survey.c.survey_key == c.survey_key,
        campaign.c.status != "draft",
        campaign.c.simulated == c.simulated,
    ).order_by(campaign.c.starts_at, campaign.c.id)
    rows = (await conn.execute(q)).all()
    return [_record(r, await ward_codes(conn, r.id)) for r in rows]


async def open_campaigns(conn: AsyncConnection, now: datetime) -> list[CampaignRecord]:
    """Campaigns taking answers now."""
    q = _SELECT.where(campaign.c.status == "active", campaign.c.starts_at <= now, campaign.c.ends_at > now)
    rows = (await conn.execute(q.order_by(campaign.c.starts_at, campaign.c.id))).all()
    return [_record(r, await ward_codes(conn, r.id)) for r in rows]


@dataclass(frozen=True)
class Overlap:
    """An active campaign sharing wards and dates with another one."""

    code: str
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    wards: tuple[tuple[int, str], ...]
    """(code, name) of the shared wards, by code."""


async def overlapping(conn: AsyncConnection, c: CampaignRecord) -> list[Overlap]:
    """The ACTIVE campaigns (other than `c`) that cover one of its wards during overlapping dates. A demo
    (simulated) campaign and a real one never overlap: nobody's real answers are counted twice, and the demo
    does not stand in the way of the first real campaign."""
    mine = campaign_ward.alias("mine")
    q = (
        sa.select(
            campaign.c.code,
            campaign.c.title,
            campaign.c.starts_at,
            campaign.c.ends_at,
            campaign.c.timezone,
            admin_unit.c.code.label("ward_code"),
            admin_unit.c.name.label("ward_name"),
        )
        .join(campaign_ward, campaign_ward.c.campaign_id == campaign.c.id)
        .join(mine, sa.and_(mine.c.ward_code == campaign_ward.c.ward_code, mine.c.campaign_id == c.id))
        .join(admin_unit, admin_unit.c.code == campaign_ward.c.ward_code)
        .where(
            campaign.c.status == "active",
            campaign.c.id != c.id,
            campaign.c.simulated == c.simulated,
            campaign.c.starts_at < c.ends_at,
            campaign.c.ends_at > c.starts_at,
        )
        .order_by(campaign.c.starts_at, campaign.c.code, admin_unit.c.code)
    )
    found: dict[str, Overlap] = {}
    for row in (await conn.execute(q)).all():
        prior = found.get(row.code)
        ward = (row.ward_code, row.ward_name)
        if prior is None:
            found[row.code] = Overlap(row.code, row.title, row.starts_at, row.ends_at, row.timezone, (ward,))
        else:
            found[row.code] = replace(prior, wards=(*prior.wards, ward))
    return list(found.values())


def _local(value: datetime, tz: str) -> datetime:
    try:
        return value.astimezone(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return value


def overlap_message(
    code: str,
    overlaps: Sequence[Overlap],
    shown: int = 3,
    remedy: str = "or create the campaign again with other wards or dates",
    command: bool = False,
) -> str:
    """Why `code` overlaps (English, for operators); `command`: say the CLI command that closes the other."""
    first = overlaps[0]
    starts, ends = _local(first.starts_at, first.timezone), _local(first.ends_at, first.timezone)
    names = ", ".join(f"{name} ({ward})" for ward, name in first.wards[:shown])
    more = f" and {len(first.wards) - shown} more" if len(first.wards) > shown else ""
    count = f"{len(first.wards)} ward" + ("s" if len(first.wards) != 1 else "")
    others = ""
    if len(overlaps) > 1:
        rest = ", ".join(repr(o.code) for o in overlaps[1:])
        others = f" (and with active {'campaign' if len(overlaps) == 2 else 'campaigns'} {rest})"
    return (
        f"campaign {code!r} overlaps active campaign {first.code!r} ({starts:%Y-%m-%d %H:%M} to "
        f"{ends:%Y-%m-%d %H:%M}) in {count}: {names}{more}{others}; close {first.code!r} first"
        + (f" ('khaosat campaign close {first.code}')" if command else "")
        + f", {remedy}"
    )


async def launch(conn: AsyncConnection, code: str, now: datetime, *, allow_overlap: bool = False) -> CampaignRecord:
    """Start taking answers. Refused when the campaign is not a draft, has ended, or (unless `allow_overlap`)
    when another active campaign covers one of its wards during overlapping dates: a citizen of that ward
    would be asked the same things twice and both campaigns' figures would count them."""
    c = await get(conn, code)
    if c.status == "active":
        raise CampaignError(f"campaign {code!r} is already active")
    if c.status == "closed":
        raise CampaignError(f"campaign {code!r} is closed and cannot be launched again")
    if c.ends_at <= now:
        raise CampaignError(
            f"campaign {code!r} ended on {_local(c.ends_at, c.timezone):%Y-%m-%d %H:%M} ({c.timezone}); change its "
            f"dates first ('khaosat campaign edit {code} --ends YYYY-MM-DD')"
        )
    if not allow_overlap:
        overlaps = await overlapping(conn, c)
        if overlaps:
            raise CampaignOverlap(code, overlaps)
    await conn.execute(campaign.update().where(campaign.c.id == c.id).values(status="active", launched_at=now))
    return await get(conn, code)


async def update(
    conn: AsyncConnection,
    code: str,
    now: datetime,
    *,
    title: str | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    target_per_ward: int | None = None,
    reminder_policy: ReminderPolicy | None = None,
    web_limit: int | None = None,
    web_requires_code: bool | None = None,
    include_flagged: bool | None = None,
) -> CampaignRecord:
    """Change what is given (None: unchanged). A closed campaign changes no more; an active one keeps its start,
    and a new end of an active campaign must not run into another active campaign in the same wards."""
    c = await get(conn, code)
    if c.status == "closed":
        raise CampaignError(f"campaign {code!r} is closed: it can no longer be changed")
    if starts_at is not None and c.status != "draft" and starts_at != c.starts_at:
        raise CampaignError(f"campaign {code!r} is already active: its start can no longer be changed")
    starts, ends = starts_at or c.starts_at, ends_at or c.ends_at
    if ends <= starts:
        raise CampaignError(
            f"the campaign must end after it starts (starts {_local(starts, c.timezone):%Y-%m-%d %H:%M}, "
            f"ends {_local(ends, c.timezone):%Y-%m-%d %H:%M})"
        )
    if ends_at is not None and ends_at != c.ends_at and ends_at <= now:
        raise CampaignError(f"{_local(ends_at, c.timezone):%Y-%m-%d %H:%M} is in the past")
    if target_per_ward is not None and target_per_ward < 1:
        raise CampaignError("the target per ward must be 1 or more")
    if web_limit is not None and web_limit < 0:
        raise CampaignError("the web limit must be 0 (no limit) or more")
    if title is not None and not title.strip():
        raise CampaignError("the title cannot be empty")
    if c.status == "active" and ends > c.ends_at and not c.simulated:
        overlaps = await overlapping(conn, replace(c, ends_at=ends))
        if overlaps:
            raise CampaignError(overlap_message(code, overlaps, remedy="or choose an earlier end", command=True))
    values: dict[str, Any] = {}
    if title is not None:
        values["title"] = title.strip()
    if starts_at is not None:
        values["starts_at"] = starts_at
    if ends_at is not None:
        values["ends_at"] = ends_at
    if target_per_ward is not None:
        values["target_per_ward"] = target_per_ward
    if reminder_policy is not None:
        values["reminder_policy"] = reminder_policy.to_json()
    for name, value in (
        ("web_limit", web_limit),
        ("web_requires_code", web_requires_code),
        ("include_flagged", include_flagged),
    ):
        if value is not None:
            values[name] = value
    if values:
        await conn.execute(campaign.update().where(campaign.c.id == c.id).values(**values))
    return await get(conn, code)


async def close(conn: AsyncConnection, code: str, now: datetime) -> tuple[CampaignRecord, int, int]:
    """Close a campaign: in-progress responses become abandoned and the chat addresses of its respondents are
    deleted (unless they are answering another open campaign). Returns (campaign, abandoned, addresses).
    Closing the demo (a simulated campaign) also deletes its simulated responses (see `storage.repo.demo`)."""
    c = await get(conn, code)
    if c.status == "closed":
        raise CampaignError(f"campaign {code!r} is already closed")
    if c.simulated:
        from storage.repo import demo

        await demo.delete_simulated(conn, c.id)
    await conn.execute(campaign.update().where(campaign.c.id == c.id).values(status="closed", closed_at=now))
    abandoned = (
        await conn.execute(
            response.update()
            .where(response.c.campaign_id == c.id, response.c.status == "in_progress")
            .values(status="abandoned")
        )
    ).rowcount
    others = (
        sa.select(response.c.respondent_id)
        .join(campaign, campaign.c.id == response.c.campaign_id)
        .where(campaign.c.status == "active", response.c.status == "in_progress", campaign.c.id != c.id)
    )
    mine = sa.select(response.c.respondent_id).where(response.c.campaign_id == c.id)
    invited = sa.select(respondent.c.id).where(respondent.c.invitations.is_(True), respondent.c.opted_out.is_(False))
    deleted = (
        await conn.execute(
            channel_address.delete().where(
                channel_address.c.respondent_id.in_(mine),
                channel_address.c.respondent_id.not_in(others),
                channel_address.c.respondent_id.not_in(invited),  # they asked to hear about new surveys
            )
        )
    ).rowcount
    return await get(conn, code), int(abandoned or 0), int(deleted or 0)

"""The portable loader: a `Snapshot` of what is known about a person, for `flows.conversation.decide`, read
with SQLAlchemy on SQLite and PostgreSQL (the respondent row locked first on PostgreSQL, inside the update's
transaction), and the campaigns' fixed parts, read once per launched campaign."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.conversation import (
    Action,
    CampaignState,
    GiveConsent,
    PersonState,
    Reply,
    ResponseState,
    Snapshot,
    Start,
    View,
)
from flows.i18n import LANGUAGES
from flows.questions import Context, WardOption
from flows.schema import Survey
from storage.repo import surveys as survey_repo
from storage.repo.sql import admin_unit, answer, campaign, campaign_ward, is_postgres, respondent, response, survey

_CAMPAIGN_COLUMNS = (
    campaign.c.id.label("c_id"),
    campaign.c.code.label("c_code"),
    campaign.c.title.label("c_title"),
    campaign.c.status.label("c_status"),
    campaign.c.starts_at.label("c_starts_at"),
    campaign.c.ends_at.label("c_ends_at"),
    campaign.c.survey_id.label("c_survey_id"),
    campaign.c.launched_at.label("c_launched_at"),
    survey.c.content_hash.label("c_survey_hash"),
)


def _campaign_columns(conn: AsyncConnection) -> tuple[Any, ...]:
    """`_CAMPAIGN_COLUMNS` and the campaign row's version: its `xmin` on PostgreSQL, which the single-statement
    executor checks (a campaign remembered without it would send every new person to the portable path)."""
    version: sa.ColumnElement[int] = (
        sa.literal_column("campaign.xmin::text::bigint", sa.BigInteger)
        if is_postgres(conn)
        else sa.literal(0, sa.BigInteger)
    )
    return (*_CAMPAIGN_COLUMNS, version.label("c_version"))


@dataclass(frozen=True)
class Fixed:
    """What never changes once a campaign is launched: its questionnaire and its wards."""

    survey: Survey
    ward_codes: frozenset[int]
    contexts: dict[str, Context]


class Campaigns:
    """Campaigns as conversations see them: the fixed parts read once per launched campaign (a draft's
    wards may still change), the state (status, dates) as read each time. Also the last state read of
    each campaign by code, for the single-statement executor (which checks the row's version)."""

    def __init__(self) -> None:
        self._fixed: dict[int, Fixed] = {}
        self.by_code: dict[str, CampaignState] = {}
        self.by_id: dict[int, CampaignState] = {}

    def fixed(self, campaign_id: int) -> Fixed | None:
        return self._fixed.get(campaign_id)

    async def _read_fixed(self, conn: AsyncConnection, campaign_id: int, survey_id: int, content_hash: str) -> Fixed:
        q = (
            sa.select(admin_unit.c.code, admin_unit.c.name)
            .join(campaign_ward, campaign_ward.c.ward_code == admin_unit.c.code)
            .where(campaign_ward.c.campaign_id == campaign_id)
            .order_by(admin_unit.c.search_key)
        )
        wards = tuple(WardOption(r.code, r.name) for r in (await conn.execute(q)).all())
        questionnaire = await survey_repo.definition(conn, survey_id, content_hash)
        contexts = {language: Context(language, wards) for language in LANGUAGES}
        return Fixed(questionnaire, frozenset(w.code for w in wards), contexts)

    async def state(self, conn: AsyncConnection, row: Any) -> CampaignState:
        """The campaign of a row with the `_campaign_columns`."""
        fixed = self._fixed.get(row.c_id)
        if fixed is None:
            fixed = await self._read_fixed(conn, row.c_id, row.c_survey_id, row.c_survey_hash)
            if row.c_launched_at is not None:  # the wards of a launched campaign no longer change
                self._fixed[row.c_id] = fixed
        state = CampaignState(
            id=row.c_id,
            code=row.c_code,
            title=row.c_title,
            status=row.c_status,
            starts_at=row.c_starts_at,
            ends_at=row.c_ends_at,
            ward_codes=fixed.ward_codes,
            survey=fixed.survey,
            contexts=fixed.contexts,
            version=int(row.c_version or 0),
        )
        if row.c_launched_at is not None:
            self.remember(state)
        return state

    def remember(self, state: CampaignState) -> None:
        self.by_code[state.code] = state
        self.by_id[state.id] = state


def code_of(action: Action) -> str | None:
    """The campaign an action names by its code."""
    if isinstance(action, Start | GiveConsent):
        return action.campaign_code
    if isinstance(action, View) and action.start is not None:
        return action.start.campaign_code
    return None


def needs_open_campaigns(action: Action) -> bool:
    """Whether deciding may fall back to "which campaigns are open" (a /start without a campaign)."""
    if isinstance(action, Start):
        return action.campaign_code is None
    if isinstance(action, View):
        return action.start is not None and action.start.campaign_code is None
    return isinstance(action, Reply)


async def load(conn: AsyncConnection, key: str, action: Action, campaigns: Campaigns, lock: bool) -> Snapshot:
    """Everything `decide` may need for this action. `lock` (PostgreSQL, in a write transaction): the
    respondent row is locked first, so that the reads after it see the previous input's commit."""
    q = sa.select(respondent.c.id, respondent.c.language).where(respondent.c.key == key)
    if lock and is_postgres(conn):
        q = q.with_for_update()
    row = (await conn.execute(q)).first()
    person = None if row is None else PersonState(row.id, row.language)
    responses: tuple[ResponseState, ...] = ()
    if person is not None:
        responses = await _responses(conn, person.id, campaigns)
    named = None
    code = code_of(action)
    if code is not None and "\x00" not in code:  # no code has one, and PostgreSQL refuses it in text
        found = (await conn.execute(_campaigns_query(conn).where(campaign.c.code == code))).first()
        named = None if found is None else await campaigns.state(conn, found)
    open_now: tuple[CampaignState, ...] = ()
    if needs_open_campaigns(action):
        q = _campaigns_query(conn).where(campaign.c.status == "active").order_by(campaign.c.starts_at, campaign.c.id)
        open_now = tuple([await campaigns.state(conn, r) for r in (await conn.execute(q)).all()])
    return Snapshot(person=person, responses=responses, campaign=named, open_campaigns=open_now)


def _campaigns_query(conn: AsyncConnection) -> sa.Select[Any]:
    return sa.select(*_campaign_columns(conn)).join(survey, survey.c.id == campaign.c.survey_id)


async def _responses(conn: AsyncConnection, person_id: int, campaigns: Campaigns) -> tuple[ResponseState, ...]:
    """The person's responses, the most recently active first, with the answers of those not completed."""
    q = (
        sa.select(
            response.c.id,
            response.c.status,
            response.c.ward_code,
            response.c.fixed,
            response.c.prompt_message_id,
            response.c.paused_at,
            response.c.started_at,
            *_campaign_columns(conn),
        )
        .join(campaign, campaign.c.id == response.c.campaign_id)
        .join(survey, survey.c.id == campaign.c.survey_id)
        .where(response.c.respondent_id == person_id)
        .order_by(response.c.last_activity_at.desc(), response.c.id.desc())
    )
    rows = (await conn.execute(q)).all()
    answers = await _answers(conn, [r.id for r in rows if r.status != "completed"])
    found: list[ResponseState] = []
    for r in rows:
        found.append(
            ResponseState(
                id=r.id,
                campaign=await campaigns.state(conn, r),
                status=r.status,
                ward_code=r.ward_code,
                fixed=tuple(r.fixed or ()),
                prompt_message_id=r.prompt_message_id,
                answers=answers.get(r.id, ()),
                paused=r.paused_at is not None,
                started_at=r.started_at,
            )
        )
    return tuple(found)


async def _answers(conn: AsyncConnection, response_ids: Sequence[int]) -> dict[int, tuple[tuple[str, Any], ...]]:
    if not response_ids:
        return {}
    q = (
        sa.select(answer.c.response_id, answer.c.question_id, answer.c.value)
        .where(answer.c.response_id.in_(list(response_ids)))
        .order_by(answer.c.id)
    )
    found: dict[int, list[tuple[str, Any]]] = {}
    for r in (await conn.execute(q)).all():
        found.setdefault(r.response_id, []).append((r.question_id, r.value))
    return {rid: tuple(values) for rid, values in found.items()}

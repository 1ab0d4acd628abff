"""Aggregates of a campaign's responses and answers, computed in SQL (GROUP BY) on SQLite and PostgreSQL.

Shared by `khaosat stats`, `campaign show`, exports, the Telegram /stats command, digests and the dashboard.
Answer rows are never loaded into Python: each function is one or two grouped queries, driven by the
indexes response(campaign_id, ward_code, status), answer(response_id, question_id) and
answer(question_id, value_num).

Conventions:

* Indices count COMPLETED responses only (`scale_counts`, `choice_counts`, `comments`); `ward_progress`
  and `response_totals` count every status.
* `since` / `until` select completed responses by `completed_at` (since <= completed_at < until).
* `wards` limits to responses whose ward is one of these codes (None: every ward; an empty list: none).
* Stored answer values: likert 1-5 with `value_num` set, "don't know" as the JSON string "dk" (value_num
  NULL), a skipped question as JSON null, single choices as JSON strings, multi choices as JSON arrays of
  strings, wards as numbers, texts as JSON strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo.sql import admin_unit, answer, campaign, campaign_ward, is_postgres, response

DONT_KNOW = "dk"
_DK_JSON = '"dk"'  # the stored JSON text of "dk" (PostgreSQL's jsonb::text prints it the same way)


@dataclass(frozen=True)
class WardProgress:
    """How far a ward of a campaign has got: responses by status, against the campaign's target."""

    code: int
    name: str
    kind: str
    started: int
    """Responses with this ward, whatever their status."""
    completed: int
    in_progress: int
    abandoned: int
    target: int | None
    """Completed responses wanted per ward (None: no target)."""

    @property
    def completion_rate(self) -> float | None:
        """Completed among started (None when nothing started)."""
        return self.completed / self.started if self.started else None

    @property
    def of_target(self) -> float | None:
        """Completed as a share of the target (may exceed 1; None without a target)."""
        return self.completed / self.target if self.target else None


@dataclass(frozen=True)
class Totals:
    """A campaign's responses by status; `without_ward` have not chosen a ward yet (counted in the rest too)."""

    started: int
    completed: int
    in_progress: int
    abandoned: int
    without_ward: int

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.started if self.started else None


@dataclass(frozen=True)
class Comment:
    response_id: int
    question_id: str
    ward_code: int | None
    ward_name: str | None
    text: str
    completed_at: datetime


def _status_counts() -> list[sa.Label[Any]]:
    def of(status: str) -> sa.ColumnElement[Any]:
        return sa.func.coalesce(sa.func.sum(sa.case((response.c.status == status, 1), else_=0)), 0)

    return [
        sa.func.count(response.c.id).label("started"),
        of("completed").label("completed"),
        of("in_progress").label("in_progress"),
        of("abandoned").label("abandoned"),
    ]


def _scope(
    campaign_id: int,
    wards: Sequence[int] | None,
    since: datetime | None,
    until: datetime | None,
    completed: bool = True,
) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [response.c.campaign_id == campaign_id]
    if completed:
        conditions.append(response.c.status == "completed")
    if wards is not None:
        conditions.append(response.c.ward_code.in_(list(wards)))
    if since is not None:
        conditions.append(response.c.completed_at >= since)
    if until is not None:
        conditions.append(response.c.completed_at < until)
    return conditions


async def ward_progress(
    conn: AsyncConnection, campaign_id: int, wards: Sequence[int] | None = None
) -> list[WardProgress]:
    """Every ward of the campaign (those without responses too), by ward code."""
    target = (
        await conn.execute(sa.select(campaign.c.target_per_ward).where(campaign.c.id == campaign_id))
    ).scalar_one_or_none()
    q = (
        sa.select(campaign_ward.c.ward_code, admin_unit.c.name, admin_unit.c.kind, *_status_counts())
        .select_from(campaign_ward)
        .join(admin_unit, admin_unit.c.code == campaign_ward.c.ward_code)
        .outerjoin(
            response,
            sa.and_(
                response.c.campaign_id == campaign_ward.c.campaign_id, response.c.ward_code == campaign_ward.c.ward_code
            ),
        )
        .where(campaign_ward.c.campaign_id == campaign_id)
        .group_by(campaign_ward.c.ward_code, admin_unit.c.name, admin_unit.c.kind)
        .order_by(campaign_ward.c.ward_code)
    )
    if wards is not None:
        q = q.where(campaign_ward.c.ward_code.in_(list(wards)))
    return [
        WardProgress(
            code=r.ward_code,
            name=r.name,
            kind=r.kind,
            started=int(r.started),
            completed=int(r.completed),
            in_progress=int(r.in_progress),
            abandoned=int(r.abandoned),
            target=target,
        )
        for r in (await conn.execute(q)).all()
    ]


async def response_totals(conn: AsyncConnection, campaign_id: int, wards: Sequence[int] | None = None) -> Totals:
    """All of a campaign's responses by status (including those without a ward yet, unless `wards` is given)."""
    q = sa.select(
        *_status_counts(),
        sa.func.coalesce(sa.func.sum(sa.case((response.c.ward_code.is_(None), 1), else_=0)), 0).label("no_ward"),
    ).where(*_scope(campaign_id, wards, None, None, completed=False))
    r = (await conn.execute(q)).one()
    return Totals(int(r.started), int(r.completed), int(r.in_progress), int(r.abandoned), int(r.no_ward))


async def completed_count(
    conn: AsyncConnection,
    campaign_id: int,
    wards: Sequence[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Completed responses (in the window, when given)."""
    q = sa.select(sa.func.count()).select_from(response).where(*_scope(campaign_id, wards, since, until))
    return int((await conn.execute(q)).scalar_one())


async def scale_counts(
    conn: AsyncConnection,
    campaign_id: int,
    question_ids: Sequence[str],
    wards: Sequence[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    by_ward: bool = False,
) -> dict[tuple[str, int | None], dict[int | str, int]]:
    """Histograms of scale answers of completed responses: {(question, ward or None): {1: n, ..., 5: n, "dk": n}}.

    Skipped answers are left out; values with no answers are absent (use `reports.stats.index_from_counts`).
    Without `by_ward` every question asked for has an entry (possibly empty); with it, only the wards that
    have answers appear.
    """
    qids = list(dict.fromkeys(question_ids))
    result: dict[tuple[str, int | None], dict[int | str, int]] = {}
    if not by_ward:
        result = {(qid, None): {} for qid in qids}
    if not qids:
        return result
    keys: list[sa.ColumnElement[Any]] = [answer.c.question_id]
    if by_ward:
        keys.append(response.c.ward_code)
    dk = sa.func.coalesce(
        sa.func.sum(
            sa.case((answer.c.value_num.is_(None) & (sa.cast(answer.c.value, sa.Text) == _DK_JSON), 1), else_=0)
        ),
        0,
    )
    q = (
        sa.select(*keys, answer.c.value_num, sa.func.count().label("n"), dk.label("dk"))
        .select_from(answer)
        .join(response, response.c.id == answer.c.response_id)
        .where(answer.c.question_id.in_(qids), *_scope(campaign_id, wards, since, until))
        .group_by(*keys, answer.c.value_num)
    )
    for row in (await conn.execute(q)).all():
        key = (row.question_id, row.ward_code if by_ward else None)
        histogram = result.setdefault(key, {})
        if row.value_num is not None:
            value = int(row.value_num) if float(row.value_num).is_integer() else row.value_num
            histogram[value] = histogram.get(value, 0) + int(row.n)
        elif row.dk:
            histogram[DONT_KNOW] = histogram.get(DONT_KNOW, 0) + int(row.dk)
    return result


async def choice_counts(
    conn: AsyncConnection,
    campaign_id: int,
    question_id: str,
    wards: Sequence[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, int]:
    """How many completed responses chose each option of a single- or multi-choice (or yes/no) question.

    Options nobody chose are absent; skipped answers are not counted. Values come back as text.
    """
    value: sa.ColumnElement[Any]
    not_null: sa.ColumnElement[bool]
    if is_postgres(conn):
        as_array = sa.case(
            (sa.func.jsonb_typeof(answer.c.value) == "array", answer.c.value),
            else_=sa.func.jsonb_build_array(answer.c.value),
        )
        element = sa.func.jsonb_array_elements_text(as_array).table_valued("value").lateral("element")
        value = element.c.value
        not_null = value.is_not(None)
    else:
        # SQLite's table-valued functions see the columns of the tables to their left (no LATERAL keyword)
        element = sa.func.json_each(answer.c.value).table_valued("value", "type").alias("element")
        value = sa.cast(element.c.value, sa.Text)
        not_null = element.c.type != "null"
    q = (
        sa.select(value.label("value"), sa.func.count().label("n"))
        .select_from(answer)
        .join(response, response.c.id == answer.c.response_id)
        .join(element, sa.true())
        .where(answer.c.question_id == question_id, not_null, *_scope(campaign_id, wards, since, until))
        .group_by(value)
    )
    return {str(r.value): int(r.n) for r in (await conn.execute(q)).all()}


async def comments(
    conn: AsyncConnection,
    campaign_id: int,
    question_ids: Sequence[str],
    wards: Sequence[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 3,
) -> tuple[int, list[Comment]]:
    """(how many non-empty text answers, the `limit` newest of them) in completed responses."""
    qids = list(dict.fromkeys(question_ids))
    if not qids:
        return 0, []
    text: sa.ColumnElement[Any]
    is_text: sa.ColumnElement[bool]
    if is_postgres(conn):
        text = answer.c.value.op("#>>")(sa.literal_column("'{}'"))
        is_text = sa.func.jsonb_typeof(answer.c.value) == "string"
    else:
        text = sa.func.json_extract(answer.c.value, "$")
        is_text = sa.func.json_type(answer.c.value) == "text"
    conditions = [answer.c.question_id.in_(qids), is_text, sa.func.length(text) > 0]
    conditions += _scope(campaign_id, wards, since, until)
    base = sa.select().select_from(answer).join(response, response.c.id == answer.c.response_id).where(*conditions)
    count = int((await conn.execute(base.add_columns(sa.func.count()))).scalar_one())
    if count == 0 or limit <= 0:
        return count, []
    q = (
        base.add_columns(
            answer.c.response_id,
            answer.c.question_id,
            response.c.ward_code,
            admin_unit.c.name.label("ward_name"),
            text.label("text"),
            response.c.completed_at,
        )
        .outerjoin(admin_unit, admin_unit.c.code == response.c.ward_code)
        .order_by(response.c.completed_at.desc(), answer.c.id.desc())
        .limit(limit)
    )
    found = [
        Comment(r.response_id, r.question_id, r.ward_code, r.ward_name, str(r.text), r.completed_at)
        for r in (await conn.execute(q)).all()
    ]
    return count, found


# --- added for the scheduler's digests ------------------------------------------------------------------


async def scale_counts_windows(
    conn: AsyncConnection,
    campaign_id: int,
    question_ids: Sequence[str],
    windows: Sequence[tuple[datetime | None, datetime | None]],
    wards: Sequence[int] | None = None,
) -> list[dict[str, dict[int | str, int]]]:
    """`scale_counts` for several `completed_at` windows (since, until) in ONE grouped pass over the answers:
    one {question: {1: n, ..., 5: n, "dk": n}} per window, in the order given (every question has an entry).

    A digest needs the period, the previous period and the total (open start); reading the answers once
    instead of three times keeps it within its time budget over a million answers.
    """
    qids = list(dict.fromkeys(question_ids))
    results: list[dict[str, dict[int | str, int]]] = [{qid: {} for qid in qids} for _ in windows]
    if not qids or not windows:
        return results
    is_dk = answer.c.value_num.is_(None) & (sa.cast(answer.c.value, sa.Text) == _DK_JSON)
    columns: list[sa.Label[Any]] = []
    for i, (since, until) in enumerate(windows):
        inside: list[sa.ColumnElement[bool]] = []
        if since is not None:
            inside.append(response.c.completed_at >= since)
        if until is not None:
            inside.append(response.c.completed_at < until)
        within = sa.and_(sa.true(), *inside)
        columns.append(sa.func.coalesce(sa.func.sum(sa.case((within, 1), else_=0)), 0).label(f"n{i}"))
        columns.append(sa.func.coalesce(sa.func.sum(sa.case((within & is_dk, 1), else_=0)), 0).label(f"dk{i}"))
    starts = [since for since, _ in windows]
    ends = [until for _, until in windows]
    earliest = None if any(s is None for s in starts) else min(s for s in starts if s is not None)
    latest = None if any(e is None for e in ends) else max(e for e in ends if e is not None)
    q = (
        sa.select(answer.c.question_id, answer.c.value_num, *columns)
        .select_from(answer)
        .join(response, response.c.id == answer.c.response_id)
        .where(answer.c.question_id.in_(qids), *_scope(campaign_id, wards, earliest, latest))
        .group_by(answer.c.question_id, answer.c.value_num)
    )
    for row in (await conn.execute(q)).all():
        for i, result in enumerate(results):
            histogram = result[row.question_id]
            n, dk = int(getattr(row, f"n{i}")), int(getattr(row, f"dk{i}"))
            if row.value_num is not None and n:
                value = int(row.value_num) if float(row.value_num).is_integer() else row.value_num
                histogram[value] = histogram.get(value, 0) + n
            elif row.value_num is None and dk:
                histogram[DONT_KNOW] = histogram.get(DONT_KNOW, 0) + dk
    return results

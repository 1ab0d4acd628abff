"""Aggregates of a campaign's responses and answers, computed in SQL (GROUP BY) on SQLite and PostgreSQL.

Shared by `khaosat stats`, `campaign show`, exports, the Telegram /stats command, digests and the dashboard.
Answer rows are never loaded into Python: each function is one or two grouped queries, driven by the
indexes response(campaign_id, ward_code, status), answer(response_id, question_id) and
answer(question_id, value_num).

Conventions:

* Indices count COMPLETED responses only (`scale_counts`, `choice_counts`, `comments`), and of those only
  the ones without data-quality flags unless the campaign includes them (`storage.repo.quality.counted`);
  `ward_progress` and `response_totals` count every status.
* `since` / `until` select completed responses by `completed_at` (since <= completed_at < until).
* `wards` limits to responses whose ward is one of these codes (None: every ward; an empty list: none).
* Stored answer values: likert 1-5 with `value_num` set, "don't know" as the JSON string "dk" (value_num
  NULL), a skipped question as JSON null, single choices as JSON strings, multi choices as JSON arrays of
  strings, wards as numbers, texts as JSON strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo import quality
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
    province_code: int = 0
    search_key: str = ""
    """The folded name ("phuong hoan kiem"), for finding a ward without diacritics."""

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
        conditions.append(quality.counted(campaign_id))
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
    """Every ward of the campaign (those without responses too), by ward code.

    The responses are counted per ward first (one pass over the campaign's responses), then joined to the
    campaign's wards: a national campaign's 3,321 wards cost one grouped scan, not one index probe each."""
    target = (
        await conn.execute(sa.select(campaign.c.target_per_ward).where(campaign.c.id == campaign_id))
    ).scalar_one_or_none()
    counted = sa.select(response.c.ward_code, *_status_counts()).where(response.c.campaign_id == campaign_id)
    if wards is not None:
        counted = counted.where(response.c.ward_code.in_(list(wards)))
    counts = counted.group_by(response.c.ward_code).subquery("counts")
    q = (
        sa.select(
            campaign_ward.c.ward_code,
            admin_unit.c.name,
            admin_unit.c.kind,
            admin_unit.c.province_code,
            admin_unit.c.search_key,
            *(sa.func.coalesce(counts.c[name], 0).label(name) for name in ("started", "completed", "in_progress")),
            sa.func.coalesce(counts.c.abandoned, 0).label("abandoned"),
        )
        .select_from(campaign_ward)
        .join(admin_unit, admin_unit.c.code == campaign_ward.c.ward_code)
        .outerjoin(counts, counts.c.ward_code == campaign_ward.c.ward_code)
        .where(campaign_ward.c.campaign_id == campaign_id)
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
            province_code=int(r.province_code),
            search_key=r.search_key,
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


async def completed_by_channel(
    conn: AsyncConnection,
    campaign_id: int,
    wards: Sequence[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, int]:
    """Completed responses per channel (telegram, zalo, web, simulated) (in the window, when given); channels
    without any are absent."""
    q = (
        sa.select(response.c.channel, sa.func.count())
        .where(*_scope(campaign_id, wards, since, until))
        .group_by(response.c.channel)
    )
    return {str(channel): int(n) for channel, n in (await conn.execute(q)).all()}


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


# --- added for the dashboard: every figure of a page in one pass over the answers -------------------------


@dataclass(frozen=True)
class FigureCounts:
    """What a dashboard page counts in a campaign's completed answers, read in one grouped pass."""

    scale: dict[str, dict[int | str, int]]
    """Every scale question asked for -> its histogram {1: n, ..., 5: n, "dk": n} (possibly empty)."""
    by_ward: dict[int | None, dict[int | str, int]]
    """Ward -> the histogram of the one question asked for by ward (the overall satisfaction)."""
    choices: dict[str, dict[str, int]]
    """Choice question -> option -> how many responses chose it."""
    comments: int
    """Non-empty text answers to the comment questions."""


def _text_of_answer(conn: AsyncConnection) -> tuple[Any, Any]:
    """(the answer as text, "it is a JSON string") on the connection's dialect."""
    if is_postgres(conn):
        return answer.c.value.op("#>>")(sa.literal_column("'{}'")), sa.func.jsonb_typeof(answer.c.value) == "string"
    return sa.func.json_extract(answer.c.value, "$"), sa.func.json_type(answer.c.value) == "text"


async def figure_counts(
    conn: AsyncConnection,
    campaign_id: int,
    scale: Sequence[str],
    by_ward: str | None,
    choices: Sequence[str] = (),
    comments: Sequence[str] = (),
    wards: Sequence[int] | None = None,
) -> FigureCounts:
    """Histograms of the `scale` questions, the `by_ward` question per ward, option counts of the `choices`
    questions and the number of comments, in completed responses, with ONE scan of the answers (a national
    campaign's page reads 1.4 million answers once, not four times). Rows are grouped by question, ward (for
    `by_ward` only), numeric value and, for choices, the stored JSON text (its distinct combinations are few)."""
    scale_ids, choice_ids, comment_ids = list(dict.fromkeys(scale)), list(dict.fromkeys(choices)), list(comments)
    result = FigureCounts({q: {} for q in scale_ids}, {}, {q: {} for q in choice_ids}, 0)
    wanted = list(dict.fromkeys([*scale_ids, *([by_ward] if by_ward else []), *choice_ids, *comment_ids]))
    if not wanted:
        return result
    comment_count = 0
    text, is_text = _text_of_answer(conn)
    whens: list[Any] = []
    if choice_ids:
        whens.append((answer.c.question_id.in_(choice_ids), sa.cast(answer.c.value, sa.Text)))
    if comment_ids:
        filled = is_text & (sa.func.length(text) > 0)
        whens.append((answer.c.question_id.in_(comment_ids), sa.case((filled, "T"), else_=sa.null())))
    whens.append((answer.c.value_num.is_(None) & (sa.cast(answer.c.value, sa.Text) == _DK_JSON), DONT_KNOW))
    kind = sa.case(*whens, else_=sa.null()).label("v")
    ward = (
        sa.case((answer.c.question_id == by_ward, response.c.ward_code), else_=sa.null()) if by_ward else sa.null()
    ).label("w")
    q = (
        sa.select(answer.c.question_id, ward, answer.c.value_num, kind, sa.func.count().label("n"))
        .select_from(answer)
        .join(response, response.c.id == answer.c.response_id)
        .where(answer.c.question_id.in_(wanted), *_scope(campaign_id, wards, None, None))
        .group_by(answer.c.question_id, *([ward] if by_ward else []), answer.c.value_num, kind)
    )
    scale_set, choice_set, comment_set = set(scale_ids), set(choice_ids), set(comment_ids)
    for row in (await conn.execute(q)).all():
        qid, n = row.question_id, int(row.n)
        if qid in choice_set:
            if row.v is not None:
                chosen = json.loads(row.v)
                options = chosen if isinstance(chosen, list) else [] if chosen is None else [chosen]
                counts = result.choices[qid]
                for option in options:
                    counts[str(option)] = counts.get(str(option), 0) + n
            continue
        if qid in comment_set:
            comment_count += n if row.v == "T" else 0
            continue
        if row.value_num is not None:
            value: int | str = int(row.value_num) if float(row.value_num).is_integer() else row.value_num
        elif row.v == DONT_KNOW:
            value = DONT_KNOW
        else:
            continue  # skipped
        if qid == by_ward:
            histogram = result.by_ward.setdefault(row.w, {})
            histogram[value] = histogram.get(value, 0) + n
        if qid in scale_set:
            histogram = result.scale[qid]
            histogram[value] = histogram.get(value, 0) + n
    return FigureCounts(result.scale, result.by_ward, result.choices, comment_count)


async def latest_comments(
    conn: AsyncConnection, campaign_id: int, question_ids: Sequence[str], wards: Sequence[int] | None, limit: int
) -> list[Comment]:
    """The `limit` newest non-empty comments of completed responses (newest responses first, by index)."""
    qids = list(dict.fromkeys(question_ids))
    if not qids or limit <= 0:
        return []
    text, is_text = _text_of_answer(conn)
    q = (
        sa.select(
            answer.c.response_id,
            answer.c.question_id,
            response.c.ward_code,
            admin_unit.c.name.label("ward_name"),
            text.label("text"),
            response.c.completed_at,
        )
        .select_from(answer)
        .join(response, response.c.id == answer.c.response_id)
        .outerjoin(admin_unit, admin_unit.c.code == response.c.ward_code)
        .where(answer.c.question_id.in_(qids), is_text, sa.func.length(text) > 0)
        .where(*_scope(campaign_id, wards, None, None))
        .order_by(response.c.completed_at.desc(), answer.c.id.desc())
        .limit(limit)
    )
    return [
        Comment(r.response_id, r.question_id, r.ward_code, r.ward_name, str(r.text), r.completed_at)
        for r in (await conn.execute(q)).all()
    ]


async def completed_mark(
    conn: AsyncConnection, campaign_id: int, wards: Sequence[int] | None = None
) -> tuple[int, int, datetime | None]:
    """(completed responses, the highest id among them, the latest completion): changes whenever the figures of
    completed responses can change, so a page may keep figures computed for the same mark."""
    q = sa.select(sa.func.count(), sa.func.max(response.c.id), sa.func.max(response.c.completed_at)).where(
        *_scope(campaign_id, wards, None, None)
    )
    count, top, latest = (await conn.execute(q)).one()
    return int(count), int(top or 0), latest


async def scale_counts_by_campaign(
    conn: AsyncConnection,
    campaign_ids: Sequence[int],
    question_ids: Sequence[str],
    wards: Sequence[int] | None = None,
    by_ward: bool = False,
) -> dict[tuple[int, int | None, str], dict[int | str, int]]:
    """Scale answers of completed responses in several campaigns, in one grouped pass, collapsed into the bands
    an index needs: {(campaign id, ward or None, question): {1: answers 1-2, 3: answers 3, 5: answers 4-5,
    "dk": n}} (`reports.stats.index_from_counts` gives the same index as from the full histogram); only keys
    with answers appear. Grouping by band rather than by value keeps a national campaign's 3,321 wards in
    memory (a few tens of thousands of groups)."""
    qids = list(dict.fromkeys(question_ids))
    if not qids or not campaign_ids:
        return {}
    keys: list[Any] = [response.c.campaign_id, answer.c.question_id]
    if by_ward:
        keys.append(response.c.ward_code)

    def count_of(condition: Any) -> Any:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    is_dk = answer.c.value_num.is_(None) & (sa.cast(answer.c.value, sa.Text) == _DK_JSON)
    conditions: list[Any] = [
        response.c.campaign_id.in_(list(campaign_ids)),
        response.c.status == "completed",
        quality.counted(campaign_ids),
        answer.c.question_id.in_(qids),
    ]
    if wards is not None:
        conditions.append(response.c.ward_code.in_(list(wards)))
    q = (
        sa.select(
            *keys,
            count_of(answer.c.value_num.in_([1, 2])).label("low"),
            count_of(answer.c.value_num == 3).label("middle"),
            count_of(answer.c.value_num.in_([4, 5])).label("high"),
            count_of(is_dk).label("dk"),
        )
        .select_from(answer)
        .join(response, response.c.id == answer.c.response_id)
        .where(*conditions)
        .group_by(*keys)
    )
    result: dict[tuple[int, int | None, str], dict[int | str, int]] = {}
    for row in (await conn.execute(q)).all():
        bands: dict[int | str, int] = {1: int(row.low), 3: int(row.middle), 5: int(row.high), DONT_KNOW: int(row.dk)}
        histogram: dict[int | str, int] = {value: n for value, n in bands.items() if n}
        if histogram:
            result[(int(row.campaign_id), row.ward_code if by_ward else None, row.question_id)] = histogram
    return result


# --- added for PAPI-style scores (dimension digests, department pages, the annual report) -------------------


@dataclass(frozen=True)
class ScoreSums:
    """Respondents' mean item scores (each in [0, 1]) in one group: how many respondents have one, their sum
    and the sum of their squares (what a mean and its t interval need)."""

    n: int
    total: float
    total_sq: float

    def __add__(self, other: ScoreSums) -> ScoreSums:
        return ScoreSums(self.n + other.n, self.total + other.total, self.total_sq + other.total_sq)


NO_SCORES = ScoreSums(0, 0.0, 0.0)


async def score_sums(
    conn: AsyncConnection,
    campaign_id: int,
    groups: Mapping[str, Mapping[str, Mapping[int | str, float]]],
    wards: Sequence[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    by_ward: bool = False,
) -> dict[tuple[str, int | None], ScoreSums]:
    """For each group {question: {stored answer: item score}} (a question in one group only), each completed
    response's mean item score over its answers that have a score, summed per group (and ward, with `by_ward`):
    {(group, ward or None): ScoreSums}. Keys without any scored answer are absent.

    An int answer key matches a numeric answer (5-level, rating), a text key a stored string (yes/no, a
    choice); anything else ("don't know", skipped, unscored choices) counts for nothing. Two grouped passes in
    one statement: answers -> (response, group) means -> (group, ward) sums."""
    questions: dict[str, str] = {}
    whens: list[tuple[sa.ColumnElement[bool], float]] = []
    for group, items in groups.items():
        for qid, scores in items.items():
            if qid in questions:
                raise ValueError(f"question {qid!r} is in groups {questions[qid]!r} and {group!r}")
            questions[qid] = group
            for value, score in scores.items():
                matches = (
                    answer.c.value_num == value
                    if isinstance(value, int)
                    else sa.cast(answer.c.value, sa.Text) == json.dumps(value, ensure_ascii=False)
                )
                whens.append(((answer.c.question_id == qid) & matches, float(score)))
    if not whens:
        return {}
    item = sa.case(*whens, else_=sa.null())
    group_of = sa.case(
        *((answer.c.question_id.in_([q for q, g in questions.items() if g == name]), name) for name in groups),
        else_=sa.null(),
    )
    inner = (
        sa.select(
            response.c.ward_code.label("ward"),
            response.c.id.label("rid"),
            group_of.label("grp"),
            sa.func.avg(sa.cast(item, sa.Float)).label("s"),
        )
        .select_from(answer)
        .join(response, response.c.id == answer.c.response_id)
        .where(answer.c.question_id.in_(list(questions)), item.is_not(None), *_scope(campaign_id, wards, since, until))
        .group_by(response.c.ward_code, response.c.id, group_of)
        .subquery("respondent_scores")
    )
    keys: list[Any] = [inner.c.grp, *([inner.c.ward] if by_ward else [])]
    q = sa.select(
        *keys,
        sa.func.count().label("n"),
        sa.func.sum(inner.c.s).label("total"),
        sa.func.sum(inner.c.s * inner.c.s).label("total_sq"),
    ).group_by(*keys)
    return {
        (str(r.grp), r.ward if by_ward else None): ScoreSums(int(r.n), float(r.total), float(r.total_sq))
        for r in (await conn.execute(q)).all()
    }


async def completed_by_ward(
    conn: AsyncConnection, campaign_id: int, since: datetime | None = None, until: datetime | None = None
) -> dict[int | None, int]:
    """Completed responses per ward (in the window, when given)."""
    q = (
        sa.select(response.c.ward_code, sa.func.count().label("n"))
        .where(*_scope(campaign_id, None, since, until))
        .group_by(response.c.ward_code)
    )
    return {r.ward_code: int(r.n) for r in (await conn.execute(q)).all()}

"""Published questionnaire versions. A version never changes once published."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.schema import Survey
from storage.records import SurveyRecord
from storage.repo.sql import survey as survey_t


class SurveyConflict(ValueError):
    """A different questionnaire is already published under this id and version."""


class SurveyNotFound(LookupError):
    pass


LATER_OPTIONAL = ("consent_web",)
"""Survey fields added after surveys were first published: left out of the stored definition (and so of the
content hash) when unset, so that a survey published before they existed keeps its hash."""
LATER_FACTOR_DEFAULTS: dict[str, Any] = {"dimension": None, "subdimension": None, "scoring": "share"}
"""The same for a factor's fields (PAPI dimensions and scoring), left out when at these defaults."""
LATER_QUESTION_DEFAULTS: dict[str, Any] = {"scores": None}
"""The same for a question's fields."""


def _drop_defaults(item: dict[str, Any], defaults: dict[str, Any]) -> None:
    for name, default in defaults.items():
        if name in item and item[name] == default:
            del item[name]


def definition_of(survey: Survey) -> dict[str, Any]:
    data: dict[str, Any] = survey.model_dump(mode="json", exclude_defaults=False)
    for name in LATER_OPTIONAL:
        if data.get(name) is None:
            data.pop(name, None)
    for factor in data.get("factors", []):
        _drop_defaults(factor, LATER_FACTOR_DEFAULTS)
    for question in data.get("questions", []):
        _drop_defaults(question, LATER_QUESTION_DEFAULTS)
    return data


def content_hash(survey: Survey) -> str:
    """A hash of the validated definition: comments and formatting in the YAML file do not count."""
    canonical = json.dumps(definition_of(survey), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


_CACHE: dict[str, Survey] = {}  # by content hash: the same content is the same questionnaire anywhere


def _record(row: Any) -> SurveyRecord:
    definition = row.definition
    title = definition.get("title", {})
    return SurveyRecord(
        id=row.id,
        key=row.survey_key,
        version=row.version,
        content_hash=row.content_hash,
        published_at=row.published_at,
        question_count=len(definition.get("questions", [])),
        title=title.get("vi") or next(iter(title.values()), ""),
    )


async def publish(conn: AsyncConnection, survey: Survey, now: datetime) -> tuple[SurveyRecord, bool]:
    """Store a version. Returns (record, created); the same content again is a no-op."""
    digest = content_hash(survey)
    existing = (
        await conn.execute(
            sa.select(survey_t).where(survey_t.c.survey_key == survey.id, survey_t.c.version == survey.version)
        )
    ).first()
    if existing is not None:
        if existing.content_hash != digest:
            raise SurveyConflict(
                f"survey {survey.id} v{survey.version} is already published with different content; "
                f"raise 'version:' in the file (e.g. to {survey.version + 1}) to publish the changes"
            )
        return _record(existing), False
    new_id = (
        await conn.execute(
            survey_t.insert()
            .values(
                survey_key=survey.id,
                version=survey.version,
                content_hash=digest,
                definition=definition_of(survey),
                published_at=now,
            )
            .returning(survey_t.c.id)
        )
    ).scalar_one()
    row = (await conn.execute(sa.select(survey_t).where(survey_t.c.id == new_id))).one()
    return _record(row), True


async def find(conn: AsyncConnection, key: str, version: int | None = None) -> SurveyRecord:
    """A published version, or the latest one when `version` is None."""
    q = sa.select(survey_t).where(survey_t.c.survey_key == key)
    if version is not None:
        q = q.where(survey_t.c.version == version)
    row = (await conn.execute(q.order_by(survey_t.c.version.desc()).limit(1))).first()
    if row is None:
        what = f"{key} v{version}" if version is not None else key
        raise SurveyNotFound(f"no published survey {what}; publish it with 'khaosat survey publish FILE'")
    return _record(row)


async def list_all(conn: AsyncConnection) -> list[SurveyRecord]:
    rows = (await conn.execute(sa.select(survey_t).order_by(survey_t.c.survey_key, survey_t.c.version))).all()
    return [_record(r) for r in rows]


def cached(content_hash: str) -> Survey | None:
    """The parsed questionnaire if this process has already loaded it (for the hot path)."""
    return _CACHE.get(content_hash)


async def definition(conn: AsyncConnection, survey_id: int, content_hash: str | None = None) -> Survey:
    """The questionnaire of a stored version, parsed once per process (a version never changes)."""
    if content_hash is None:
        q = sa.select(survey_t.c.content_hash).where(survey_t.c.id == survey_id)
        content_hash = (await conn.execute(q)).scalar_one()
    cached = _CACHE.get(content_hash)
    if cached is not None:
        return cached
    data = (await conn.execute(sa.select(survey_t.c.definition).where(survey_t.c.id == survey_id))).scalar_one()
    parsed = Survey.model_validate(data)
    _CACHE[content_hash] = parsed
    return parsed

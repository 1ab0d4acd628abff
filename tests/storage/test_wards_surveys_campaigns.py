"""Wards from vietnam-provinces, published survey versions, campaigns."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from bot.cli import main
from flows.loader import bundled_survey_path, load_survey
from storage.db import Database
from storage.repo import campaigns, surveys, wards
from storage.repo.sql import admin_unit
from tests.conftest import Clock


async def test_hanoi_has_126_units(db: Database) -> None:
    async with db.read() as conn:
        kinds = dict(
            (
                await conn.execute(
                    sa.select(admin_unit.c.kind, sa.func.count())
                    .where(admin_unit.c.province_code == 1)
                    .group_by(admin_unit.c.kind)
                )
            ).all()
        )
    assert kinds == {"phường": 51, "xã": 75}


@pytest.mark.parametrize("typed", ["hoan kiem", "Hoàn Kiếm", "HOAN KIEM", "phuong hoan kiem"])
async def test_search_hoan_kiem(db: Database, typed: str) -> None:
    async with db.read() as conn:
        found = await wards.search(conn, typed, 1)
    assert [(u.code, u.name) for u in found] == [(70, "Phường Hoàn Kiếm")]


@pytest.mark.parametrize("typed", ["đống đa", "dong da", "Đống Đa"])
async def test_search_with_d_stroke(db: Database, typed: str) -> None:
    async with db.read() as conn:
        found = await wards.search(conn, typed, 1)
    assert [u.code for u in found] == [235]


async def test_search_escapes_like_wildcards(db: Database) -> None:
    async with db.read() as conn:
        assert await wards.search(conn, "%", 1) == []
        assert await wards.search(conn, "_", 1) == []


async def test_import_another_province(db: Database) -> None:
    async with db.write() as conn:
        n = await wards.import_province(conn, 79)  # TP Hồ Chí Minh
        again = await wards.import_province(conn, 79)
    async with db.read() as conn:
        assert await wards.count(conn, 79) == n == again > 100
        assert await wards.count(conn, 1) == 126


async def test_publish_is_idempotent_and_refuses_changes(db: Database, clock: Clock) -> None:
    survey = load_survey(bundled_survey_path())
    async with db.write() as conn:
        first, created = await surveys.publish(conn, survey, clock())
        same, created_again = await surveys.publish(conn, survey, clock())
    assert created and not created_again and first == same
    assert (first.key, first.version, first.question_count) == ("hanoi-ward-satisfaction", 2, 18)
    changed = survey.model_copy(update={"title": {"vi": "Khác", "en": "Other"}})
    async with db.write() as conn:
        with pytest.raises(surveys.SurveyConflict) as info:
            await surveys.publish(conn, changed, clock())
    assert str(info.value) == (
        "survey hanoi-ward-satisfaction v2 is already published with different content; "
        "raise 'version:' in the file (e.g. to 3) to publish the changes"
    )
    async with db.read() as conn:
        parsed = await surveys.definition(conn, first.id)
    assert parsed == survey


async def test_campaign_validation(db: Database, clock: Clock) -> None:
    survey = load_survey(bundled_survey_path())
    now = clock()
    async with db.write() as conn:
        record, _ = await surveys.publish(conn, survey, now)
        base = {"survey_id": record.id, "title": "T", "now": now, "starts_at": now, "ends_at": now + timedelta(days=1)}
        with pytest.raises(campaigns.CampaignError, match="invalid campaign code 'Bad Code'"):
            await campaigns.create(conn, code="Bad Code", wards=[70], **base)
        with pytest.raises(campaigns.CampaignError, match=r"unknown ward code\(s\): 99999"):
            await campaigns.create(conn, code="abc", wards=[70, 99999], **base)
        with pytest.raises(campaigns.CampaignError, match="must end after it starts"):
            await campaigns.create(conn, code="abc", wards=[70], **{**base, "ends_at": now - timedelta(days=1)})
        c = await campaigns.create(conn, code="abc", wards=[235, 70, 70], **base)
        assert c.ward_codes == (70, 235) and c.status == "draft" and not c.is_open(now)
        with pytest.raises(campaigns.CampaignError, match="already exists"):
            await campaigns.create(conn, code="abc", wards=[70], **base)
        launched = await campaigns.launch(conn, "abc", now)
        assert launched.is_open(now) and launched.starts_at == now
        with pytest.raises(campaigns.CampaignError, match="already active"):
            await campaigns.launch(conn, "abc", now)
        with pytest.raises(campaigns.CampaignNotFound, match="no campaign with code 'zzz'"):
            await campaigns.get(conn, "zzz")
        with pytest.raises(campaigns.CampaignNotFound):  # PostgreSQL refuses a NUL in text: not a query error
            await campaigns.get(conn, "ab\x00c")


def test_cli_wards_list(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'k.db'}")
    runner = CliRunner()
    result = runner.invoke(main, ["wards", "list", "--search", "hoan kiem"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "70\tphường\tPhường Hoàn Kiếm\n"
    result = runner.invoke(main, ["wards", "list", "--search", "đống đa"])
    assert result.stdout == "235\tphường\tPhường Đống Đa\n"
    result = runner.invoke(main, ["wards", "import", "--province", "999"])
    assert result.exit_code == 2 and "no province with code 999" in result.stderr
    result = runner.invoke(main, ["wards", "list", "--search", "không có"])
    assert result.exit_code == 1 and result.stderr == "Error: no ward matches 'không có'\n"


def test_a_survey_without_the_later_optional_fields_keeps_the_hash_it_was_published_with() -> None:
    survey = load_survey(bundled_survey_path()).model_copy(update={"consent_web": None})
    stored = surveys.definition_of(survey)
    assert "consent_web" not in stored  # as it was stored before the field existed
    data = survey.model_dump(mode="json")
    data.pop("consent_web")
    for factor in data["factors"]:  # the PAPI fields came later too
        for name in ("dimension", "subdimension", "scoring"):
            factor.pop(name)
    for question in data["questions"]:
        question.pop("scores")
    before = hashlib.sha256(
        json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()
    assert surveys.content_hash(survey) == before
    assert "consent_web" in surveys.definition_of(load_survey(bundled_survey_path()))

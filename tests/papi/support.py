"""Shared by the PAPI tests: the bundled PAPI questionnaire published, campaigns over it, and answers."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from flows.loader import bundled_surveys, load_survey
from flows.schema import Survey
from storage.db import Database
from storage.records import CampaignRecord
from storage.repo import campaigns, surveys
from tests.operators.helpers import add_response

WARDS = [70, 235, 4, 8]


def papi_survey() -> Survey:
    return load_survey(bundled_surveys()["papi"])


async def papi_campaign(
    db: Database,
    now: datetime,
    code: str = "papi-2026",
    wards: list[int] | None = None,
    starts: datetime | None = None,
    days: int = 30,
    launch: bool = True,
) -> CampaignRecord:
    """A campaign over the bundled PAPI questionnaire (launched unless `launch` is false)."""
    async with db.write() as conn:
        record, _ = await surveys.publish(conn, papi_survey(), now)
        start = starts or now - timedelta(hours=1)
        await campaigns.create(
            conn,
            code=code,
            survey_id=record.id,
            title=f"Khảo sát PAPI {code}",
            wards=wards or WARDS,
            starts_at=start,
            ends_at=start + timedelta(days=days),
            now=start,
        )
        if launch:
            return await campaigns.launch(conn, code, start, allow_overlap=True)
        return await campaigns.get(conn, code)


def random_answers(rng: random.Random, ward: int, lean: float = 0.0) -> dict[str, Any]:
    """A plausible completed response (skip logic followed); `lean` (-1..1) tilts the 5-level answers."""

    def level() -> int | str:
        if rng.random() < 0.05:
            return "dk"
        return max(1, min(5, round(rng.gauss(3.2 + 1.5 * lean, 1.0))))

    def yes(p: float = 0.6) -> str:
        return "yes" if rng.random() < p + 0.2 * lean else "no"

    used = rng.choice(["in_person", "online", "both", "no"])
    a: dict[str, Any] = {
        "ward": ward,
        "age_group": rng.choice(["18_29", "30_44", "45_59", "60_plus"]),
        "d1_know_rights": yes(),
        "d1_meeting": yes(0.5),
        "d1_contributed": yes(0.4),
        "d2_info_easy": level(),
        "d2_poor_list": rng.choice(["yes", "no", "unsure"]),
        "d2_plans": level(),
        "gave_feedback": yes(0.3),
        "d3_inspection": rng.choice(["yes", "no", "unsure"]),
        "d4_extra_payment": level(),
        "d4_connections": level(),
        "d4_know_where": yes(),
        "used_service": used,
        "d6_health": level(),
        "d6_roads": level(),
        "d6_safety": level(),
        "d7_waste": level(),
        "d7_air": level(),
        "d7_water": level(),
        "d8_portal": yes(0.5),
        "d8_internet": yes(0.9),
        "top_issues": rng.sample(["procedures", "health", "environment", "online"], 2),
        "overall_satisfaction": max(1, min(5, round(rng.gauss(3.5 + lean, 1.0)))),
        "comment": None,
    }
    if a["d1_meeting"] == "yes":
        a["d1_voice"] = level()
    if a["d1_contributed"] == "yes":
        a["d1_contribution_oversight"] = rng.choice(["yes", "no", "unsure"])
    if a["gave_feedback"] == "yes":
        a["d3_feedback_answer"] = level()
    if used != "no":
        a.update(
            d5_clear=level(),
            d5_staff=level(),
            d5_on_time=yes(0.7),
            d5_visits=rng.choice(["once", "twice", "three_plus"]),
        )
    if a["d8_portal"] == "yes":
        a["d8_portal_ease"] = level()
    return a


async def add_answers(db: Database, c: CampaignRecord, rows: list[dict[str, Any]], completed_at: datetime) -> None:
    """Completed responses with these answers (each row's "ward" is its ward)."""
    async with db.write() as conn:
        for row in rows:
            await add_response(
                conn, c.id, row["ward"], row, started_at=completed_at - timedelta(minutes=8), completed_at=completed_at
            )


# Every dimension's questions answered the same way, except dimension 5's (below): scores known by hand.
OTHER = {
    "age_group": "30_44",
    "d1_know_rights": "yes",
    "d1_meeting": "no",
    "d1_contributed": "no",
    "d2_info_easy": 4,
    "d2_poor_list": "yes",
    "d2_plans": 3,
    "gave_feedback": "no",
    "d3_inspection": "yes",
    "d4_extra_payment": 2,
    "d4_connections": 2,
    "d4_know_where": "yes",
    "d6_health": 4,
    "d6_roads": 4,
    "d6_safety": 4,
    "d7_waste": 4,
    "d7_air": 3,
    "d7_water": 3,
    "d8_portal": "no",
    "d8_internet": "yes",
    "top_issues": ["procedures"],
    "overall_satisfaction": 4,
}
BEST = {"used_service": "in_person", "d5_clear": 5, "d5_staff": 5, "d5_on_time": "yes", "d5_visits": "once"}  # 10
GOOD = {"used_service": "in_person", "d5_clear": 4, "d5_staff": 4, "d5_on_time": "yes", "d5_visits": "twice"}  # 7.75
FAIR = {"used_service": "online", "d5_clear": 3, "d5_staff": 3, "d5_on_time": "no", "d5_visits": "twice"}  # 4.375
POOR = {"used_service": "both", "d5_clear": 1, "d5_staff": 2, "d5_on_time": "no", "d5_visits": "three_plus"}  # 1.5625


def rows(ward: int, *parts: tuple[dict[str, Any], int]) -> list[dict[str, Any]]:
    return [{**OTHER, **part, "ward": ward} for part, n in parts for _ in range(n)]

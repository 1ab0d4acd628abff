"""What repositories return: plain frozen dataclasses, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class UnitRecord:
    code: int
    name: str
    kind: str
    province_code: int


@dataclass(frozen=True)
class SurveyRecord:
    id: int
    key: str
    version: int
    content_hash: str
    published_at: datetime
    question_count: int
    title: str


@dataclass(frozen=True)
class ReminderPolicy:
    delays_hours: tuple[float, ...] = (24.0, 72.0)
    max_count: int = 2
    quiet_start: str = "21:00"
    quiet_end: str = "07:00"
    invite: bool = False
    """When the campaign opens, invite the people who agreed to hear about future surveys."""

    def to_json(self) -> dict[str, Any]:
        return {
            "delays_hours": list(self.delays_hours),
            "max_count": self.max_count,
            "quiet_start": self.quiet_start,
            "quiet_end": self.quiet_end,
            "invite": self.invite,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ReminderPolicy:
        if not data:
            return cls()
        return cls(
            delays_hours=tuple(float(x) for x in data.get("delays_hours", (24.0, 72.0))),
            max_count=int(data.get("max_count", 2)),
            quiet_start=str(data.get("quiet_start", "21:00")),
            quiet_end=str(data.get("quiet_end", "07:00")),
            invite=bool(data.get("invite", False)),
        )


@dataclass(frozen=True)
class CampaignRecord:
    id: int
    code: str
    title: str
    survey_id: int
    survey_key: str
    survey_version: int
    starts_at: datetime
    ends_at: datetime
    timezone: str
    status: str
    target_per_ward: int | None
    reminder_policy: ReminderPolicy
    created_at: datetime
    launched_at: datetime | None = None
    closed_at: datetime | None = None
    ward_codes: tuple[int, ...] = field(default=())
    survey_hash: str | None = None
    """The content hash of its questionnaire version (which finds the parsed questionnaire in its cache)."""

    def is_open(self, now: datetime) -> bool:
        """Taking answers: launched, not closed, and within its dates."""
        return self.status == "active" and self.starts_at <= now < self.ends_at


@dataclass(frozen=True)
class ResponseRecord:
    id: int
    campaign_id: int
    campaign_code: str
    respondent_id: int
    ward_code: int | None
    status: str
    channel: str
    started_at: datetime
    completed_at: datetime | None
    last_activity_at: datetime
    reminders_sent: int
    prompt_message_id: int | None
    fixed: tuple[str, ...] = ()

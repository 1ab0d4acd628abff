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


def format_delay(hours: float) -> str:
    """A delay in the largest unit that writes it exactly: 0.5 -> "30m", 24 -> "24h", 72 -> "72h", 168 -> "7d"."""
    minutes = round(hours * 60)
    if minutes % (24 * 60) == 0 and minutes >= 7 * 24 * 60:
        return f"{minutes // (24 * 60)}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


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

    @property
    def reminds(self) -> bool:
        """Whether any reminder is sent at all."""
        return self.max_count > 0 and bool(self.delays_hours)

    @property
    def has_quiet_hours(self) -> bool:
        """Equal start and end mean no quiet hours."""
        return self.quiet_start != self.quiet_end

    def delays(self) -> list[str]:
        """The reminders' delays after the last answer, as people write them: ["24h", "72h"], ["30m"], ["3d"]."""
        if not self.reminds:
            return []
        last = len(self.delays_hours) - 1
        return [format_delay(self.delays_hours[min(n, last)]) for n in range(self.max_count)]

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
    simulated: bool = False
    """The demo: its figures come from simulated responses (see `storage.repo.demo`)."""
    web_limit: int = 30
    """New web respondents allowed per client address and hour (0: no limit)."""
    web_requires_code: bool = False
    """New web respondents need a one-time invitation code."""
    include_flagged: bool = False
    """Responses with data-quality flags count in the figures."""

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

"""SQLModel tables. One Alembic migration chain (storage/migrations) creates them.

Identity and answers are kept apart: a `Respondent` is a keyed hash of the messaging-app user id; the raw
chat id needed to send reminders lives in `ChannelAddress`, deletable on request and at campaign close.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.types import JSONType, UTCDateTime


def _utc(nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index))


def _json(nullable: bool = False) -> Any:
    return Field(sa_column=sa.Column(JSONType, nullable=nullable))


class AdminUnit(SQLModel, table=True):
    """A ward (phường), commune (xã) or special zone (đặc khu), from `vietnam-provinces`."""

    __tablename__ = "admin_unit"
    code: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str
    kind: str
    province_code: int = Field(index=True)
    search_key: str = Field(index=True)


class SurveyVersion(SQLModel, table=True):
    """A published questionnaire version: immutable once published."""

    __tablename__ = "survey"
    __table_args__ = (sa.UniqueConstraint("survey_key", "version", name="uq_survey_key_version"),)
    id: int | None = Field(default=None, primary_key=True)
    survey_key: str = Field(index=True)
    version: int
    content_hash: str
    definition: dict[str, Any] = _json()
    published_at: datetime = _utc()


class Campaign(SQLModel, table=True):
    __tablename__ = "campaign"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    title: str
    starts_at: datetime = _utc()
    ends_at: datetime = _utc()
    timezone: str = "Asia/Ho_Chi_Minh"
    status: str = "draft"  # draft | active | closed
    target_per_ward: int | None = None
    reminder_policy: dict[str, Any] = _json()
    created_at: datetime = _utc()
    launched_at: datetime | None = _utc(nullable=True)
    closed_at: datetime | None = _utc(nullable=True)
    invited_at: datetime | None = _utc(nullable=True)  # invitations queued (once, when the campaign opens)
    simulated: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    """The first-start demo: its responses are simulated (channel "simulated"); shown as such everywhere, never
    compared with real campaigns, and they go when it closes."""
    web_limit: int = Field(default=30, sa_column_kwargs={"server_default": "30"})
    """New web respondents allowed per client address and hour (0: no limit); see `storage.repo.webpolicy`."""
    web_requires_code: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    """The web survey asks new respondents for a one-time invitation code (`InvitationCode`)."""
    include_flagged: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    """Responses with quality flags count in the figures (by default they are left out)."""


class CampaignWard(SQLModel, table=True):
    __tablename__ = "campaign_ward"
    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True, ondelete="CASCADE")
    ward_code: int = Field(foreign_key="admin_unit.code", primary_key=True)


class Respondent(SQLModel, table=True):
    """A person, pseudonymously: `key` = HMAC-SHA256(secret, channel + ":" + channel user id)."""

    __tablename__ = "respondent"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    language: str = "vi"
    consent_at: datetime | None = _utc(nullable=True)
    opted_out: bool = False
    invitations: bool = False  # agreed to be invited to future surveys
    created_at: datetime = _utc()


class ChannelAddress(SQLModel, table=True):
    """How to reach a respondent on a channel (a Telegram chat id). Kept apart from answers."""

    __tablename__ = "channel_address"
    __table_args__ = (sa.UniqueConstraint("respondent_id", "channel", name="uq_address_respondent_channel"),)
    id: int | None = Field(default=None, primary_key=True)
    respondent_id: int = Field(foreign_key="respondent.id", index=True, ondelete="CASCADE")
    channel: str
    address: str
    unreachable: bool = False
    updated_at: datetime = _utc()


class Response(SQLModel, table=True):
    """One respondent's answers to one campaign."""

    __tablename__ = "response"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "respondent_id", name="uq_response_campaign_respondent"),
        sa.Index("ix_response_campaign_ward_status", "campaign_id", "ward_code", "status"),
        sa.Index("ix_response_status_activity", "status", "last_activity_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    respondent_id: int = Field(foreign_key="respondent.id", index=True, ondelete="CASCADE")
    ward_code: int | None = Field(default=None, foreign_key="admin_unit.code")
    status: str = "in_progress"  # in_progress | completed | abandoned
    channel: str
    fixed: list[str] = _json()  # answers that came with the entry point (the ward of a per-ward link)
    started_at: datetime = _utc()
    completed_at: datetime | None = _utc(nullable=True, index=True)
    last_activity_at: datetime = _utc()
    reminders_sent: int = 0
    prompt_message_id: int | None = None  # the channel message that shows the current question
    paused_at: datetime | None = _utc(nullable=True)  # put away with /cancel: typed text does not count
    quality_flags: str | None = None
    """Data-quality flags set when the response completes (`storage.repo.quality`): comma-separated names,
    "" for none, NULL until assessed."""


class Answer(SQLModel, table=True):
    __tablename__ = "answer"
    __table_args__ = (
        sa.UniqueConstraint("response_id", "question_id", name="uq_answer_response_question"),
        sa.Index("ix_answer_question_num", "question_id", "value_num"),
    )
    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", ondelete="CASCADE")
    question_id: str
    value: Any = _json(nullable=True)
    value_num: float | None = None  # numeric answers (scales, numbers) for aggregation in SQL
    answered_at: datetime = _utc()


class ProcessedUpdate(SQLModel, table=True):
    """An update already applied: a redelivered update changes nothing."""

    __tablename__ = "processed_update"
    channel: str = Field(primary_key=True)
    update_id: str = Field(primary_key=True)
    processed_at: datetime = _utc(index=True)


class ChatState(SQLModel, table=True):
    """What a text-only channel remembers between a person's messages in one chat (Zalo has no buttons to carry
    it): the consent screen shown, the numbered list on screen, a pending confirmation, and the last message
    whose reply was shown (a redelivery is shown once). Any process reads it; old rows are pruned."""

    __tablename__ = "chat_state"
    channel: str = Field(primary_key=True)
    chat_id: str = Field(primary_key=True)
    data: dict[str, Any] = _json()
    replied_message_id: str | None = None
    updated_at: datetime = _utc(index=True)


class Operator(SQLModel, table=True):
    __tablename__ = "operator"
    telegram_user_id: int = Field(primary_key=True, sa_type=sa.BigInteger, sa_column_kwargs={"autoincrement": False})
    name: str = ""
    added_at: datetime = _utc()
    added_by: str = ""


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _utc(index=True)
    actor: str  # "cli:<user>", "telegram:<id>", "web:<name>"
    action: str
    arguments: dict[str, Any] = _json()
    outcome: str = "ok"  # ok | denied | error


class OfficialChat(SQLModel, table=True):
    """A group chat of officials that receives digests for a scope of wards."""

    __tablename__ = "official_chat"
    __table_args__ = (sa.UniqueConstraint("channel", "address", name="uq_official_chat_channel_address"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(default="telegram", sa_column_kwargs={"server_default": "telegram"})
    address: str  # the channel's chat id as text: a Telegram group's "-1001234567890", a Zalo group's id
    title: str = ""
    scope: list[int] | None = _json(nullable=True)  # ward codes; NULL means all wards
    schedule: str = "weekly mon 08:00"
    language: str = "vi"
    active: bool = True
    subscribed_at: datetime = _utc()
    subscribed_by: str | None = None  # the channel's user id of who subscribed it, as text
    dimensions: list[int] | None = _json(nullable=True)  # PAPI dimensions: a department's digest; NULL: the usual


class SubscriptionCode(SQLModel, table=True):
    """A one-time code an operator hands to officials to subscribe a group chat."""

    __tablename__ = "subscription_code"
    code: str = Field(primary_key=True)
    scope: list[int] | None = _json(nullable=True)
    schedule: str = "weekly mon 08:00"
    language: str = "vi"
    created_at: datetime = _utc()
    expires_at: datetime = _utc()
    used_at: datetime | None = _utc(nullable=True)
    used_by_channel: str | None = None
    used_by_chat: str | None = None  # the address (chat id as text) of the chat it subscribed
    dimensions: list[int] | None = _json(nullable=True)


class PublishedImage(SQLModel, table=True):
    """A PNG (a digest's chart) served at an unguessable address until it expires, for channels that send
    pictures by URL (Zalo's sendPhoto)."""

    __tablename__ = "published_image"
    token: str = Field(primary_key=True)
    png: bytes = Field(sa_type=sa.LargeBinary)
    created_at: datetime = _utc()
    expires_at: datetime = _utc(index=True)


class OutboxMessage(SQLModel, table=True):
    """A message to send later, by the paced sender. Nothing bulk is sent any other way."""

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_status_next", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = "telegram"
    recipient: str
    recipient_kind: str = "private"  # private | group
    kind: str  # reminder | invitation | digest | notice
    payload: dict[str, Any] = _json()
    dedupe_key: str = Field(unique=True)
    status: str = "pending"  # pending | sent | failed | unreachable | cancelled
    attempts: int = 0
    next_attempt_at: datetime = _utc()
    last_error: str | None = None
    created_at: datetime = _utc()
    sent_at: datetime | None = _utc(nullable=True)
    expires_at: datetime | None = _utc(nullable=True)  # not sent after this (a reminder after its campaign)


class WebUser(SQLModel, table=True):
    """A dashboard login (operator or official)."""

    __tablename__ = "web_user"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    password_hash: str
    role: str  # operator | official | monitor
    scope: list[int] | None = _json(nullable=True)
    disabled: bool = False
    created_at: datetime = _utc()
    dimensions: list[int] | None = _json(nullable=True)  # an official's PAPI dimensions; NULL: all of them


class Department(SQLModel, table=True):
    """A city department that leads PAPI dimensions (data: departments merge and are renamed)."""

    __tablename__ = "department"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True)
    name: str
    name_en: str = ""
    created_at: datetime = _utc()


class DepartmentDimension(SQLModel, table=True):
    """Which department leads a PAPI dimension: one department per dimension."""

    __tablename__ = "department_dimension"
    dimension: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    department_id: int = Field(foreign_key="department.id", index=True, ondelete="CASCADE")
    assigned_at: datetime = _utc()


class LoginFailure(SQLModel, table=True):
    """Failed dashboard logins per (name, client address), shared by every process and kept across restarts
    (see `web.auth`, login throttling)."""

    __tablename__ = "login_failure"
    name: str = Field(primary_key=True)
    address: str = Field(primary_key=True)
    failures: int = 0
    last_at: datetime = _utc(index=True)
    locked_until: datetime | None = _utc(nullable=True)


class EndedSession(SQLModel, table=True):
    """Dashboard sessions ended by logging out, kept until their cookies would have expired anyway."""

    __tablename__ = "web_session_ended"
    sid: str = Field(primary_key=True)
    until: datetime = _utc(index=True)


class WebAdmission(SQLModel, table=True):
    """A new web respondent let in, by a keyed hash of the client address (never the address): counts the
    per-address limit and the "many from one address" flag; forgotten after `webpolicy.RETENTION`."""

    __tablename__ = "web_admission"
    __table_args__ = (sa.Index("ix_web_admission_campaign_address", "campaign_id", "address_key", "admitted_at"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    address_key: str
    admitted_at: datetime = _utc(index=True)
    response_id: int | None = Field(default=None, index=True)


class InvitationCode(SQLModel, table=True):
    """A one-time code that lets one new respondent into a campaign's web survey (bound to its response)."""

    __tablename__ = "invitation_code"
    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True, ondelete="CASCADE")
    code: str = Field(primary_key=True)
    created_at: datetime = _utc()
    used_at: datetime | None = _utc(nullable=True)
    response_id: int | None = None


class AppSecret(SQLModel, table=True):
    """Named values the application generates once (never user secrets set in the environment)."""

    __tablename__ = "app_meta"
    name: str = Field(primary_key=True)
    value: str


METADATA = SQLModel.metadata

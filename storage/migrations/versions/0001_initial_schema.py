"""Initial schema: wards, surveys, campaigns, respondents, responses, answers, processed updates,
operators, audit log, official chats, subscription codes, outbox, web users.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 14:57:04.673517
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_unit",
        sa.Column("code", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("province_code", sa.Integer(), nullable=False),
        sa.Column("search_key", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("admin_unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_unit_province_code"), ["province_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_admin_unit_search_key"), ["search_key"], unique=False)

    op.create_table(
        "app_meta",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("arguments", storage.types.JSONType, nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "official_chat",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("scope", storage.types.JSONType, nullable=True),
        sa.Column("schedule", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("subscribed_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("subscribed_by", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id"),
    )
    op.create_table(
        "operator",
        sa.Column("telegram_user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("added_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("added_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("telegram_user_id"),
    )
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("recipient_kind", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("payload", storage.types.JSONType, nullable=False),
        sa.Column("dedupe_key", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("sent_at", storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_status_next", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "processed_update",
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("update_id", sa.String(), nullable=False),
        sa.Column("processed_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "update_id"),
    )
    with op.batch_alter_table("processed_update", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_processed_update_processed_at"), ["processed_at"], unique=False)

    op.create_table(
        "respondent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("consent_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("invitations", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "subscription_code",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("scope", storage.types.JSONType, nullable=True),
        sa.Column("schedule", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("used_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("used_by_chat", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "survey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_key", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("definition", storage.types.JSONType, nullable=False),
        sa.Column("published_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("survey_key", "version", name="uq_survey_key_version"),
    )
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_survey_key"), ["survey_key"], unique=False)

    op.create_table(
        "web_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("scope", storage.types.JSONType, nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("starts_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("ends_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("target_per_ward", sa.Integer(), nullable=True),
        sa.Column("reminder_policy", storage.types.JSONType, nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("launched_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("closed_at", storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["survey.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_survey_id"), ["survey_id"], unique=False)

    op.create_table(
        "channel_address",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("respondent_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("unreachable", sa.Boolean(), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["respondent_id"], ["respondent.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("respondent_id", "channel", name="uq_address_respondent_channel"),
    )
    with op.batch_alter_table("channel_address", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channel_address_respondent_id"), ["respondent_id"], unique=False)

    op.create_table(
        "campaign_ward",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("ward_code", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["ward_code"],
            ["admin_unit.code"],
        ),
        sa.PrimaryKeyConstraint("campaign_id", "ward_code"),
    )
    op.create_table(
        "response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("respondent_id", sa.Integer(), nullable=False),
        sa.Column("ward_code", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("fixed", storage.types.JSONType, nullable=False),
        sa.Column("started_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("completed_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("last_activity_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("prompt_message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
        ),
        sa.ForeignKeyConstraint(["respondent_id"], ["respondent.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["ward_code"],
            ["admin_unit.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "respondent_id", name="uq_response_campaign_respondent"),
    )
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.create_index("ix_response_campaign_ward_status", ["campaign_id", "ward_code", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_response_completed_at"), ["completed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_response_respondent_id"), ["respondent_id"], unique=False)
        batch_op.create_index("ix_response_status_activity", ["status", "last_activity_at"], unique=False)

    op.create_table(
        "answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(), nullable=False),
        sa.Column("value", storage.types.JSONType, nullable=True),
        sa.Column("value_num", sa.Float(), nullable=True),
        sa.Column("answered_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["response_id"], ["response.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("response_id", "question_id", name="uq_answer_response_question"),
    )
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.create_index("ix_answer_question_num", ["question_id", "value_num"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_index("ix_answer_question_num")

    op.drop_table("answer")
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index("ix_response_status_activity")
        batch_op.drop_index(batch_op.f("ix_response_respondent_id"))
        batch_op.drop_index(batch_op.f("ix_response_completed_at"))
        batch_op.drop_index("ix_response_campaign_ward_status")

    op.drop_table("response")
    op.drop_table("campaign_ward")
    with op.batch_alter_table("channel_address", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_address_respondent_id"))

    op.drop_table("channel_address")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_survey_id"))

    op.drop_table("campaign")
    op.drop_table("web_user")
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_survey_key"))

    op.drop_table("survey")
    op.drop_table("subscription_code")
    op.drop_table("respondent")
    with op.batch_alter_table("processed_update", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processed_update_processed_at"))

    op.drop_table("processed_update")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_next")

    op.drop_table("outbox_message")
    op.drop_table("operator")
    op.drop_table("official_chat")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
    op.drop_table("app_meta")
    with op.batch_alter_table("admin_unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_unit_search_key"))
        batch_op.drop_index(batch_op.f("ix_admin_unit_province_code"))

    op.drop_table("admin_unit")

"""Small helpers shared by repositories."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import models

T = models  # short alias for table access: T.Answer.__table__

admin_unit: sa.Table = models.AdminUnit.__table__  # type: ignore[assignment]
survey: sa.Table = models.SurveyVersion.__table__  # type: ignore[assignment]
campaign: sa.Table = models.Campaign.__table__  # type: ignore[assignment]
campaign_ward: sa.Table = models.CampaignWard.__table__  # type: ignore[assignment]
respondent: sa.Table = models.Respondent.__table__  # type: ignore[assignment]
channel_address: sa.Table = models.ChannelAddress.__table__  # type: ignore[assignment]
response: sa.Table = models.Response.__table__  # type: ignore[assignment]
answer: sa.Table = models.Answer.__table__  # type: ignore[assignment]
processed_update: sa.Table = models.ProcessedUpdate.__table__  # type: ignore[assignment]
operator: sa.Table = models.Operator.__table__  # type: ignore[assignment]
audit_log: sa.Table = models.AuditLog.__table__  # type: ignore[assignment]
official_chat: sa.Table = models.OfficialChat.__table__  # type: ignore[assignment]
subscription_code: sa.Table = models.SubscriptionCode.__table__  # type: ignore[assignment]
outbox_message: sa.Table = models.OutboxMessage.__table__  # type: ignore[assignment]
web_user: sa.Table = models.WebUser.__table__  # type: ignore[assignment]
login_failure: sa.Table = models.LoginFailure.__table__  # type: ignore[assignment]
web_session_ended: sa.Table = models.EndedSession.__table__  # type: ignore[assignment]
app_meta: sa.Table = models.AppSecret.__table__  # type: ignore[assignment]


def insert(conn: AsyncConnection, table: sa.Table) -> Any:
    """An INSERT supporting ON CONFLICT on the connection's dialect (SQLite and PostgreSQL both have it)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def is_postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"

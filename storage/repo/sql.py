"""Small helpers shared by repositories."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from storage import models

T = models  # short alias for table access: T.Answer.__table__


def _table(model: type[SQLModel]) -> sa.Table:
    """A table model's Core table, its `__table__`, which SQLModel's typing does not declare (as a Table)."""
    table = sa.inspect(model).local_table
    assert isinstance(table, sa.Table)
    return table


admin_unit = _table(models.AdminUnit)
survey = _table(models.SurveyVersion)
campaign = _table(models.Campaign)
campaign_ward = _table(models.CampaignWard)
respondent = _table(models.Respondent)
channel_address = _table(models.ChannelAddress)
response = _table(models.Response)
answer = _table(models.Answer)
processed_update = _table(models.ProcessedUpdate)
chat_state = _table(models.ChatState)
operator = _table(models.Operator)
audit_log = _table(models.AuditLog)
official_chat = _table(models.OfficialChat)
subscription_code = _table(models.SubscriptionCode)
outbox_message = _table(models.OutboxMessage)
web_user = _table(models.WebUser)
login_failure = _table(models.LoginFailure)
web_session_ended = _table(models.EndedSession)
app_meta = _table(models.AppSecret)
department = _table(models.Department)
department_dimension = _table(models.DepartmentDimension)
web_admission = _table(models.WebAdmission)
invitation_code = _table(models.InvitationCode)
published_image = _table(models.PublishedImage)


def insert(conn: AsyncConnection, table: sa.Table) -> Any:
    """An INSERT supporting ON CONFLICT on the connection's dialect (SQLite and PostgreSQL both have it)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def is_postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"

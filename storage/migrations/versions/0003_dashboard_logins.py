"""Dashboard logins in the database: failed logins (throttling) and ended sessions (logging out), so that
every process behind the same port sees them and a restart keeps them.

Revision ID: 0003_dashboard_logins
Revises: 0002_scheduler
Create Date: 2026-11-27 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0003_dashboard_logins"
down_revision = "0002_scheduler"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("locked_until", storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", "address"),
    )
    with op.batch_alter_table("login_failure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failure_last_at"), ["last_at"], unique=False)
    op.create_table(
        "web_session_ended",
        sa.Column("sid", sa.String(), nullable=False),
        sa.Column("until", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sid"),
    )
    with op.batch_alter_table("web_session_ended", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_session_ended_until"), ["until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_session_ended", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_session_ended_until"))
    op.drop_table("web_session_ended")
    with op.batch_alter_table("login_failure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failure_last_at"))
    op.drop_table("login_failure")

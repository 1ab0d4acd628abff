"""Ballot stuffing: a per-campaign web policy (new respondents per address and hour, invitation codes),
admissions counted by a keyed hash of the client address, and data-quality flags on responses.

Revision ID: 0008_web_policy_quality
Revises: 0007_departments_dimensions
Create Date: 2026-12-03 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0008_web_policy_quality"
down_revision = "0007_departments_dimensions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("web_limit", sa.Integer(), server_default="30", nullable=False))
        batch_op.add_column(sa.Column("web_requires_code", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("include_flagged", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quality_flags", sa.String(), nullable=True))
    op.create_table(
        "web_admission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("address_key", sa.String(), nullable=False),
        sa.Column("admitted_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("web_admission", schema=None) as batch_op:
        batch_op.create_index(
            "ix_web_admission_campaign_address", ["campaign_id", "address_key", "admitted_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_web_admission_admitted_at"), ["admitted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_admission_response_id"), ["response_id"], unique=False)
    op.create_table(
        "invitation_code",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("used_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "code"),
    )


def downgrade() -> None:
    op.drop_table("invitation_code")
    with op.batch_alter_table("web_admission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_admission_response_id"))
        batch_op.drop_index(batch_op.f("ix_web_admission_admitted_at"))
        batch_op.drop_index("ix_web_admission_campaign_address")
    op.drop_table("web_admission")
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_column("quality_flags")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("include_flagged")
        batch_op.drop_column("web_requires_code")
        batch_op.drop_column("web_limit")

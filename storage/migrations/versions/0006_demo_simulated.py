"""Demo data: a campaign can be marked as holding simulated responses (the first-start demo), so that every
page, export and statistic says so, and it is never compared with or counted among real campaigns.

Revision ID: 0006_demo_simulated
Revises: 0005_response_paused
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_demo_simulated"
down_revision = "0005_response_paused"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("simulated", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("simulated")

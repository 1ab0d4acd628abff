"""What a text-only channel (Zalo) remembers between a person's messages, shared by every process.

Revision ID: 0010_chat_state
Revises: 0009_zalo_chats
Create Date: 2026-12-03 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0010_chat_state"
down_revision = "0009_zalo_chats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_state",
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("chat_id", sa.String(), nullable=False),
        sa.Column("data", storage.types.JSONType, nullable=False),
        sa.Column("replied_message_id", sa.String(), nullable=True),
        sa.Column("updated_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "chat_id"),
    )
    with op.batch_alter_table("chat_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_state_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chat_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_state_updated_at"))
    op.drop_table("chat_state")

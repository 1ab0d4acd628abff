"""Officials' chats on more than one channel: a chat is (channel, address), its id as text (Zalo's ids are
strings); subscription codes remember the chat they subscribed the same way; and published images (digest
charts that Zalo fetches by URL).

Existing rows are Telegram chats: `address` gets the text of `chat_id`, `channel` 'telegram'. Going back
deletes the chats of other channels (their ids do not fit a Telegram chat id).

Revision ID: 0009_zalo_chats
Revises: 0008_web_policy_quality
Create Date: 2026-12-03 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0009_zalo_chats"
down_revision = "0008_web_policy_quality"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("official_chat", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(), server_default="telegram", nullable=False))
        batch_op.add_column(sa.Column("address", sa.String(), nullable=True))
    op.execute("UPDATE official_chat SET address = CAST(chat_id AS VARCHAR)")
    with op.batch_alter_table("official_chat", schema=None) as batch_op:
        batch_op.alter_column("address", existing_type=sa.String(), nullable=False)
        batch_op.alter_column(
            "subscribed_by",
            existing_type=sa.BigInteger(),
            type_=sa.String(),
            existing_nullable=True,
            postgresql_using="subscribed_by::varchar",
        )
        batch_op.drop_column("chat_id")
        batch_op.create_unique_constraint("uq_official_chat_channel_address", ["channel", "address"])
    with op.batch_alter_table("subscription_code", schema=None) as batch_op:
        batch_op.add_column(sa.Column("used_by_channel", sa.String(), nullable=True))
        batch_op.alter_column(
            "used_by_chat",
            existing_type=sa.BigInteger(),
            type_=sa.String(),
            existing_nullable=True,
            postgresql_using="used_by_chat::varchar",
        )
    op.execute("UPDATE subscription_code SET used_by_channel = 'telegram' WHERE used_by_chat IS NOT NULL")
    op.create_table(
        "published_image",
        sa.Column("token", sa.String(), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token"),
    )
    with op.batch_alter_table("published_image", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_published_image_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("published_image", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_published_image_expires_at"))
    op.drop_table("published_image")
    op.execute("UPDATE subscription_code SET used_by_chat = NULL WHERE used_by_channel <> 'telegram'")
    with op.batch_alter_table("subscription_code", schema=None) as batch_op:
        batch_op.alter_column(
            "used_by_chat",
            existing_type=sa.String(),
            type_=sa.BigInteger(),
            existing_nullable=True,
            postgresql_using="used_by_chat::bigint",
        )
        batch_op.drop_column("used_by_channel")
    op.execute("DELETE FROM official_chat WHERE channel <> 'telegram'")
    with op.batch_alter_table("official_chat", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
    op.execute("UPDATE official_chat SET chat_id = CAST(address AS BIGINT)")
    with op.batch_alter_table("official_chat", schema=None) as batch_op:
        batch_op.drop_constraint("uq_official_chat_channel_address", type_="unique")
        batch_op.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column(
            "subscribed_by",
            existing_type=sa.String(),
            type_=sa.BigInteger(),
            existing_nullable=True,
            postgresql_using="subscribed_by::bigint",
        )
        batch_op.drop_column("address")
        batch_op.drop_column("channel")
        batch_op.create_unique_constraint("official_chat_chat_id_key", ["chat_id"])

"""The city's workflow: departments that lead PAPI dimensions, and dimension scopes for officials' group chats,
their subscription codes and dashboard logins.

Revision ID: 0007_departments_dimensions
Revises: 0006_demo_simulated
Create Date: 2026-12-05 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0007_departments_dimensions"
down_revision = "0006_demo_simulated"
branch_labels = None
depends_on = None

SCOPED = ("official_chat", "subscription_code", "web_user")


def upgrade() -> None:
    op.create_table(
        "department",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("name_en", sa.String(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "department_dimension",
        sa.Column("dimension", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("assigned_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("dimension"),
    )
    with op.batch_alter_table("department_dimension", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_department_dimension_department_id"), ["department_id"], unique=False)
    for table in SCOPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("dimensions", storage.types.JSONType, nullable=True))


def downgrade() -> None:
    for table in SCOPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("dimensions")
    with op.batch_alter_table("department_dimension", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_department_dimension_department_id"))
    op.drop_table("department_dimension")
    op.drop_table("department")

"""Alembic environment. Migrations run on a connection handed over by `storage.migrate`."""

from __future__ import annotations

from alembic import context

from storage.models import METADATA

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - we never run alembic from its own CLI
    raise RuntimeError("run migrations with 'khaosat db upgrade', not the alembic command")

context.configure(
    connection=connection,
    target_metadata=METADATA,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

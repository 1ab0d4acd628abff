"""Storage: SQLModel tables, Alembic migrations and repositories. The only place with SQL."""

"""The Alembic migrations build exactly the schema the SQLModel tables describe (on SQLite and on
PostgreSQL), so a table or column added to the models without a migration fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import issuer.db.models  # noqa: F401  (registers the tables)
from issuer.db.engine import make_engine, migrate


def test_migrations_match_the_models(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == []

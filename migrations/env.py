"""Alembic environment: migrates the database named by DATABASE_URL.

A caller may pass a ready connection in `config.attributes["connection"]`
(the tests and `services.migrate` do); otherwise the settings' URL is used.
"""

from alembic import context

from services.db import make_engine
from services.schema import Base
from services.settings import Settings

config = context.config
target_metadata = Base.metadata


def run_with_connection(connection) -> None:
    # Batch mode lets SQLite, which cannot ALTER most things, take the same
    # migrations as PostgreSQL.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with_connection(connection)
        return
    url = config.attributes.get("database_url") or Settings.from_env().database_url
    engine = make_engine(url)
    with engine.connect() as connection:
        run_with_connection(connection)
    engine.dispose()


run_migrations_online()

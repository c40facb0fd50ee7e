import pytest
from sqlalchemy import inspect

from services.db import make_engine
from services.migrate import upgrade_database
from services.schema import Base

pytestmark = pytest.mark.db


def test_migrations_create_every_table_of_the_schema(engine):
    tables = set(inspect(engine).get_table_names())

    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_upgrade_is_idempotent(database_url):
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        assert "vacancies" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)

    assert differences == []

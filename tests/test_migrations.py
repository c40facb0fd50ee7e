from datetime import datetime

import pytest
from sqlalchemy import inspect
from sqlalchemy import text

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


def _downgrade(database_url: str, revision: str) -> None:
    from alembic import command

    from services.migrate import alembic_config

    command.downgrade(alembic_config(database_url), revision)


def _store_vacancy_of_the_first_schema(engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO areas (id, name, stale) VALUES (1, 'Москва', false)")
        )
        connection.execute(
            text(
                "INSERT INTO vacancies (id, name, published_at, area_id, search_text,"
                " first_seen_at, last_seen_at) VALUES (101, 'Аналитик',"
                " '2026-11-29 07:00:00', 1, 'аналитик', '2026-11-29 08:00:00',"
                " '2026-11-29 08:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO salaries (vacancy_id, salary_from, currency, mode,"
                " from_rub) VALUES (101, 90000, 'RUR', 'MONTH', 90000)"
            )
        )


def _refresh_item(salary_from: int) -> dict:
    return {
        "id": "101",
        "name": "Аналитик",
        "area": {"id": "1", "name": "Москва"},
        "published_at": "2026-11-30T10:00:00+0300",
        "salary_range": {
            "from": salary_from,
            "to": None,
            "currency": "RUR",
            "gross": False,
            "mode": {"id": "MONTH", "name": "За месяц"},
        },
    }


def _load_one_page(engine, tmp_path, items: list[dict]) -> None:
    from etl.load import open_staging
    from etl.load import open_write_session
    from etl.load import save_search_page
    from etl.load import save_staged_refresh
    from etl.transform import RefreshContext
    from etl.validate import RejectTally
    from etl.validate import format_db_time

    now = datetime(2026, 11, 30, 9, 0)
    context = RefreshContext(rates={"RUR": 1.0}, now=format_db_time(now))
    staging = open_staging(engine, tmp_path / "staging")
    try:
        save_search_page(staging, {"items": items}, 0, context, RejectTally())
        staging.save_labels(context.labels)
        staging.settle_duplicates()
        with open_write_session(engine, staging) as session:
            save_staged_refresh(session, staging, now, None, real_data=True)
            session.commit()
    finally:
        staging.close()


def test_a_database_of_the_first_schema_keeps_its_vacancies_and_refreshes(
    database_url, tmp_path
):
    _downgrade(database_url, "0001")
    engine = make_engine(database_url)
    try:
        _store_vacancy_of_the_first_schema(engine)

        upgrade_database(database_url)
        with engine.connect() as connection:
            kept = connection.execute(
                text("SELECT name, content_hash FROM vacancies WHERE id = 101")
            ).one()
        # Only the salary differs: the vacancy's missing digest must count as
        # changed, or the new salary would never be compared and written.
        _load_one_page(engine, tmp_path, [_refresh_item(salary_from=95000)])
        with engine.connect() as connection:
            refreshed = connection.execute(
                text(
                    "SELECT v.name, v.content_hash IS NOT NULL, s.salary_from"
                    " FROM vacancies v JOIN salaries s ON s.vacancy_id = v.id"
                    " WHERE v.id = 101"
                )
            ).one()
    finally:
        engine.dispose()

    assert tuple(kept) == ("Аналитик", None)
    assert tuple(refreshed) == ("Аналитик", True, 95000)

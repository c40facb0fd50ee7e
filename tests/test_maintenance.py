"""The maintenance rule, one function for the guard, the banner and the refresh."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from services.schema import AppState
from services.schema import RefreshRun
from services.state import Maintenance
from services.state import ensure_app_state
from services.state import get_maintenance
from services.state import is_database_write_locked
from services.state import is_maintenance_active

pytestmark = pytest.mark.db

SINCE = datetime(2026, 3, 10, 3, 0, 0)
STALE_SECONDS = 120


def raise_flag(engine, heartbeat_at: datetime | None) -> None:
    with Session(engine) as session:
        ensure_app_state(session)
        session.add(
            RefreshRun(
                id=7,
                started_at=SINCE,
                status="running",
                trigger="cli",
                progress={"phase": "writing", "vacancies": 1200},
            )
        )
        session.flush()
        session.execute(
            update(AppState).values(
                maintenance=True,
                maintenance_run_id=7,
                maintenance_since=SINCE,
                maintenance_heartbeat_at=heartbeat_at,
            )
        )
        session.commit()


def get_window(engine, now: datetime) -> Maintenance | None:
    with Session(engine) as session:
        return get_maintenance(session, STALE_SECONDS, now)


def hold_write_lock(connection) -> None:
    # Any write opens SQLite's write transaction, as the refresh's merge does.
    connection.exec_driver_sql("UPDATE app_state SET id = id")
    connection.exec_driver_sql("INSERT INTO role_categories (id, name) VALUES (1, 'x')")


def test_no_flag_means_no_maintenance(engine):
    with Session(engine) as session:
        ensure_app_state(session)
        session.commit()

    assert get_window(engine, SINCE) is None
    assert is_maintenance_active(engine, STALE_SECONDS, SINCE) is False


@pytest.mark.parametrize(
    ("seconds_since_beat", "active"),
    [
        pytest.param(0, True, id="fresh-heartbeat"),
        pytest.param(120, True, id="heartbeat-exactly-at-the-limit"),
        pytest.param(121, False, id="heartbeat-older-than-the-limit"),
    ],
)
def test_flag_counts_while_its_heartbeat_is_fresh(engine, seconds_since_beat, active):
    raise_flag(engine, heartbeat_at=SINCE)
    now = SINCE + timedelta(seconds=seconds_since_beat)

    expected = Maintenance(7, SINCE, {"phase": "writing", "vacancies": 1200})
    assert get_window(engine, now) == (expected if active else None)
    assert is_maintenance_active(engine, STALE_SECONDS, now) is active


def test_flag_without_heartbeat_is_stale(engine):
    raise_flag(engine, heartbeat_at=None)

    assert is_maintenance_active(engine, STALE_SECONDS, SINCE) is False


def test_stale_flag_holds_while_a_write_transaction_holds_sqlite(engine):
    raise_flag(engine, heartbeat_at=SINCE)
    later = SINCE + timedelta(minutes=30)

    with engine.connect() as connection:
        hold_write_lock(connection)
        # On PostgreSQL the refresh beats during its write, so only SQLite
        # needs the lock as a sign of life.
        sqlite = engine.dialect.name == "sqlite"
        assert is_database_write_locked(engine) is sqlite
        assert is_maintenance_active(engine, STALE_SECONDS, later) is sqlite
        connection.rollback()

    assert is_database_write_locked(engine) is False
    assert get_window(engine, later) is None

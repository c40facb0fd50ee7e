"""App-wide state shared by every worker: maintenance flag and data version.

It lives in the one `app_state` row, because a Python global is per process
and gunicorn runs several.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.db import SQLITE_BUSY_TIMEOUT_MS
from services.schema import AppState
from services.schema import RefreshRun
from services.timeutil import utc_now

logger = logging.getLogger(__name__)

STATE_ROW_ID = 1


@dataclass(frozen=True)
class DataInfo:
    """What the served data is: its version, when it was refreshed, real or demo."""

    version: str
    refreshed_at: datetime | None
    dataset: str | None


@dataclass(frozen=True)
class Maintenance:
    """A refresh is writing: readers must wait. `progress` is the run's own."""

    run_id: int | None
    since: datetime | None
    progress: dict


def ensure_app_state(session: Session) -> AppState:
    """Return the state row, creating it on a new database."""
    state = session.get(AppState, STATE_ROW_ID)
    if state is None:
        state = AppState(id=STATE_ROW_ID, maintenance=False, data_version="0")
        session.add(state)
        session.flush()
    return state


def get_data_info(session: Session) -> DataInfo:
    state = session.get(AppState, STATE_ROW_ID)
    if state is None:
        return DataInfo(version="0", refreshed_at=None, dataset=None)
    return DataInfo(state.data_version, state.last_refresh_at, state.dataset)


def is_flag_stale(
    heartbeat_at: datetime | None, stale_seconds: float, now: datetime
) -> bool:
    """A flag whose owner stopped beating is ignored: a killed refresh cannot
    leave the site down."""
    if heartbeat_at is None:
        return True
    return now - heartbeat_at > timedelta(seconds=stale_seconds)


def is_database_write_locked(bind: Engine | Connection) -> bool:
    """On SQLite: does some connection hold the write lock right now?

    A refresh's final write holds it for its whole transaction, when it cannot
    beat its heartbeat. Always False on PostgreSQL, where the heartbeat goes on.
    """
    engine = bind.engine
    if engine.dialect.name != "sqlite":
        return False
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=0")
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True
        cursor.execute("ROLLBACK")
        return False
    finally:
        raw.driver_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        raw.close()


def is_flag_owner_alive(
    bind: Engine | Connection,
    heartbeat_at: datetime | None,
    stale_seconds: float,
    now: datetime,
) -> bool:
    """The one maintenance rule: the owner beat recently, or (SQLite) its write
    transaction still holds the database, so a long final write keeps the flag."""
    if not is_flag_stale(heartbeat_at, stale_seconds, now):
        return True
    return is_database_write_locked(bind)


def get_maintenance(
    session: Session, stale_seconds: float, now: datetime | None = None
) -> Maintenance | None:
    """Return the active maintenance window, or None when readers may proceed.

    A flag is honoured only while its owner is alive (`is_flag_owner_alive`),
    so a killed refresh cannot keep the site down longer than `stale_seconds`.
    """
    state = session.get(AppState, STATE_ROW_ID)
    if state is None or not state.maintenance:
        return None
    now = now or utc_now()
    heartbeat = state.maintenance_heartbeat_at
    if not is_flag_owner_alive(session.get_bind(), heartbeat, stale_seconds, now):
        return None
    progress: dict = {}
    if state.maintenance_run_id is not None:
        run = session.execute(
            select(RefreshRun).where(RefreshRun.id == state.maintenance_run_id)
        ).scalar_one_or_none()
        if run is not None and run.progress:
            progress = dict(run.progress)
    return Maintenance(state.maintenance_run_id, state.maintenance_since, progress)


def is_maintenance_active(
    engine: Engine, stale_seconds: float, now: datetime | None = None
) -> bool:
    """True while a live refresh holds the maintenance flag (see get_maintenance)."""
    with Session(engine) as session:
        return get_maintenance(session, stale_seconds, now) is not None

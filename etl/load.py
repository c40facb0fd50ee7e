"""Staging and the final write: how a refresh reaches the live tables.

Pages are staged while users keep reading the old data. On PostgreSQL they go
by COPY into temporary tables of a connection the refresh holds until its final
write, which runs on that connection; a killed refresh loses them with the
connection. On SQLite they go to a staging file beside the instance, copied
into temporary tables of the target at the final write. Either way the final
write merges the deduplicated rows into the live tables in one transaction,
under the maintenance flag. Upserts are keyed on hh ids.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import socket
import sqlite3
import tempfile
import uuid
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from etl.reference import save_enum_labels
from etl.transform import SALARY_FIELDS
from etl.transform import VACANCY_FIELDS
from etl.transform import RefreshContext
from etl.transform import StagedRows
from etl.transform import StagedVacancy
from etl.transform import add_item_rows
from etl.validate import RejectTally
from etl.validate import check_item
from etl.validate import format_db_time
from services.db import is_sqlite
from services.schema import AppState
from services.schema import RefreshRun
from services.state import STATE_ROW_ID
from services.state import ensure_app_state
from services.state import is_flag_stale
from services.timeutil import utc_now

logger = logging.getLogger(__name__)

# hh.ru ids are far below this; synthetic demo vacancies live above it.
DEMO_ID_FLOOR = 9_000_000_000

# One key for every refresh of this product: pg_try_advisory_lock(key).
ADVISORY_LOCK_KEY = 0x68685F726566  # "hh_ref"

# One row per staged item (`etl.transform.StagedVacancy`): the vacancy, its
# employer's flags, its salary and its links, the links as JSON arrays (text
# is cheaper to send by COPY than PostgreSQL arrays, and SQLite has none).
STAGING_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "st_vacancies": (
        ("seq", "bigint"), ("id", "bigint"), ("name", "text"),
        ("published_at", "timestamp"), ("area_id", "integer"),
        ("employer_id", "text"), ("employer_name", "text"),
        ("experience", "text"), ("employment_form", "text"),
        ("schedule", "text"), ("employment", "text"),
        ("requirement", "text"), ("responsibility", "text"),
        ("search_text", "text"), ("content_hash", "bigint"),
        ("closed_at", "timestamp"),
        ("employer_accredited", "boolean"), ("employer_trusted", "boolean"),
        ("salary_from", "float8"), ("salary_to", "float8"),
        ("currency", "text"), ("gross", "boolean"), ("mode", "text"),
        ("frequency", "text"), ("from_rub", "float8"), ("to_rub", "float8"),
        ("excluded", "text"),
        ("work_formats", "text"), ("role_ids", "text"),
    ),
    "st_scope_areas": (("id", "integer"),),
}  # fmt: skip

VACANCY_COLUMNS = list(StagedVacancy._fields[VACANCY_FIELDS])
SALARY_COLUMNS = ["vacancy_id", *StagedVacancy._fields[SALARY_FIELDS]]
EMPLOYER_COLUMNS = ["id", "name", "accredited_it_employer", "trusted"]

# The staged copy of a vacancy that wins: the latest published_at, on a tie
# the first in plan order.
WINNERS_SQL = (
    "SELECT seq FROM (SELECT seq, ROW_NUMBER() OVER ("
    " PARTITION BY id ORDER BY published_at DESC, seq) AS place"
    " FROM st_vacancies) ranked WHERE place = 1"
)

# Rows the final write derives from the staged rows of changed vacancies,
# with the columns it looks them up by.
DERIVED_TABLES = {
    "st_salaries": ("vacancy_id",),
    "st_work_formats": ("vacancy_id", "work_format"),
    "st_roles": ("vacancy_id", "role_id"),
    "st_employers": ("id",),
}


class RefreshLockedError(Exception):
    """Another refresh holds the lock; `holder_run_id` names its run if known."""

    def __init__(self, holder_run_id: int | None):
        self.holder_run_id = holder_run_id
        holder = f"run {holder_run_id}" if holder_run_id else "another process"
        super().__init__(
            f"another refresh is running ({holder}); wait for it to finish "
            "or cancel it on the admin page"
        )


def _columns(table: str) -> list[str]:
    return [name for name, _ in STAGING_COLUMNS[table]]


def _create_table_sql(table: str, temporary: bool) -> str:
    columns = ", ".join(f"{name} {kind}" for name, kind in STAGING_COLUMNS[table])
    kind = "TEMPORARY TABLE" if temporary else "TABLE"
    return f"CREATE {kind} {table} ({columns})"


# --- staging ---------------------------------------------------------------------


class StagingFile:
    """A throw-away SQLite file holding a refresh's rows until the final write.

    Rows carry `seq`, the item's place in the plan's order, so duplicates are
    settled once at the end: the latest `published_at` wins, ties go to the
    lowest `seq`.
    """

    def __init__(self, folder: Path | None = None):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="hh-staging-", dir=folder))
        self.path = self.folder / "staging.sqlite3"
        self.connection = sqlite3.connect(self.path, check_same_thread=False)
        self.connection.execute("PRAGMA journal_mode=OFF")
        self.connection.execute("PRAGMA synchronous=OFF")
        for table in STAGING_COLUMNS:
            self.connection.execute(_create_table_sql(table, temporary=False))
        self.connection.execute(
            "CREATE TABLE st_labels (kind text, id text, name text)"
        )
        self.staged = 0
        self.unique = 0

    def save_rows(self, rows: StagedRows) -> None:
        """Append one page's rows."""
        marks = ", ".join("?" * len(STAGING_COLUMNS["st_vacancies"]))
        self.connection.executemany(
            f"INSERT INTO st_vacancies VALUES ({marks})",
            rows.vacancies,
        )
        self.staged += len(rows.vacancies)

    def save_labels(self, labels: Mapping[tuple[str, str], str]) -> None:
        self.connection.executemany(
            "INSERT INTO st_labels VALUES (?, ?, ?)",
            [(kind, enum_id, name) for (kind, enum_id), name in labels.items()],
        )

    def save_scope_areas(self, area_ids: Iterable[int]) -> None:
        self.connection.executemany(
            "INSERT INTO st_scope_areas VALUES (?)", [(a,) for a in area_ids]
        )

    def settle_duplicates(self) -> int:
        """Keep one copy per vacancy id; return the number of copies dropped."""
        db = self.connection
        db.execute(f"CREATE TABLE st_winners AS {WINNERS_SQL}")
        self.unique = db.execute("SELECT count(*) FROM st_winners").fetchone()[0]
        if self.unique < self.staged:
            db.execute("CREATE UNIQUE INDEX st_winners_seq ON st_winners (seq)")
            db.execute(
                "DELETE FROM st_vacancies WHERE seq NOT IN (SELECT seq FROM st_winners)"
            )
        db.commit()
        return self.staged - self.unique

    def iter_rows(self, table: str) -> Iterable[tuple]:
        columns = ", ".join(_columns(table))
        return self.connection.execute(f"SELECT {columns} FROM {table}")

    def get_labels(self) -> dict[tuple[str, str], str]:
        rows = self.connection.execute("SELECT kind, id, name FROM st_labels")
        return {(kind, enum_id): name for kind, enum_id, name in rows}

    def close(self) -> None:
        """Close and delete the file."""
        self.connection.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class PostgresStaging:
    """A refresh's rows in temporary tables of a connection it holds.

    Pages are buffered and sent by COPY `BATCH_VACANCIES` vacancies at a time,
    each batch committed, so memory stays bounded and users keep reading the
    live tables. The final write runs on the same connection (see
    `open_write_session`); the tables die with it, a killed refresh's too.
    """

    BATCH_VACANCIES = 5_000
    TEMP_BUFFERS = "256MB"

    def __init__(self, engine: Engine):
        self.connection = engine.connect()
        self._enlarge_temp_buffers()
        for table in STAGING_COLUMNS:
            self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS pg_temp.{table}")
            self.connection.exec_driver_sql(_create_table_sql(table, temporary=True))
        self.connection.commit()
        self.pending = StagedRows()
        self.pending_copy: list[bytes] = []
        self.pending_copy_rows = 0
        self.labels: dict[tuple[str, str], str] = {}
        self.staged = 0
        self.unique = 0

    def _enlarge_temp_buffers(self) -> None:
        # Temporary tables live in the session's own buffers, 8 MB by default:
        # a nightly refresh's rows would go through temporary files. The size
        # can only change before the session's first temporary table.
        try:
            with self.connection.begin_nested():
                self.connection.exec_driver_sql(
                    f"SET temp_buffers = '{self.TEMP_BUFFERS}'"
                )
        except DBAPIError:
            logger.info("staging keeps the connection's temp_buffers")

    def save_rows(self, rows: StagedRows) -> None:
        """Append one page's rows; send them when the batch is full."""
        self.pending.vacancies.extend(rows.vacancies)
        self.staged += len(rows.vacancies)
        if len(self.pending) >= self.BATCH_VACANCIES:
            self._send_pending()

    def save_copy_data(self, data: bytes, rows: int) -> None:
        """Append `rows` staged vacancies already formatted as COPY text (see
        `etl.stagers`); send them when the batch is full."""
        self.pending_copy.append(data)
        self.pending_copy_rows += rows
        self.staged += rows
        if self.pending_copy_rows >= self.BATCH_VACANCIES:
            self._send_pending()

    def _send_pending(self) -> None:
        if self.pending.vacancies:
            _copy_rows_postgres(self.connection, "st_vacancies", self.pending.vacancies)
        if self.pending_copy:
            _copy_data_postgres(self.connection, "st_vacancies", self.pending_copy)
        self.connection.commit()
        self.pending = StagedRows()
        self.pending_copy = []
        self.pending_copy_rows = 0

    def save_labels(self, labels: Mapping[tuple[str, str], str]) -> None:
        # A few hundred enum names at most: kept in memory.
        self.labels.update(labels)

    def save_scope_areas(self, area_ids: Iterable[int]) -> None:
        _copy_rows_postgres(self.connection, "st_scope_areas", [(a,) for a in area_ids])
        self.connection.commit()

    def settle_duplicates(self) -> int:
        """Keep one copy per vacancy id; index the tables for the final write.

        Returns the number of copies dropped.
        """
        self._send_pending()
        run = self.connection.exec_driver_sql
        self.unique = run("SELECT count(DISTINCT id) FROM st_vacancies").scalar_one()
        if self.unique < self.staged:
            run(f"CREATE TEMPORARY TABLE st_winners AS {WINNERS_SQL}")
            # NOT EXISTS, not NOT IN: past work_mem, NOT IN rescans the list
            # for every row.
            run(
                "DELETE FROM st_vacancies t WHERE NOT EXISTS"
                " (SELECT 1 FROM st_winners w WHERE w.seq = t.seq)"
            )
        index_staging_tables(self.connection)
        self.connection.commit()
        return self.staged - self.unique

    def get_labels(self) -> dict[tuple[str, str], str]:
        return dict(self.labels)

    def abandon(self) -> None:
        """Give up a connection a signal left inside a statement: the server is
        asked to cancel the statement, and dropping the connection ends its
        transaction as a rollback would."""
        driver_connection = self.connection.connection.driver_connection
        try:
            driver_connection.cancel_safe(timeout=5.0)
        except psycopg.Error as error:
            logger.warning("could not cancel the interrupted write: %s", error)
        self.connection.invalidate()

    def close(self) -> None:
        """Drop the connection and its tables; it never returns to the pool."""
        try:
            self.connection.invalidate()
        finally:
            self.connection.close()


Staging = StagingFile | PostgresStaging


def open_staging(engine: Engine, folder: Path) -> Staging:
    """The staging of a refresh writing to `engine`: temporary tables on
    PostgreSQL, a staging file in `folder` on SQLite."""
    if is_sqlite(engine):
        return StagingFile(folder)
    return PostgresStaging(engine)


def open_write_session(engine: Engine, staging: Staging) -> Session:
    """The session of the final write: on the staging connection if it has one."""
    if isinstance(staging, PostgresStaging):
        return Session(bind=staging.connection, expire_on_commit=False)
    return Session(engine, expire_on_commit=False)


# Young collections every this many allocations while pages are staged (700
# by default).
STAGING_GC_THRESHOLD = 200_000


def collect_garbage_rarely() -> tuple[int, ...]:
    """Freeze the objects made so far and make young collections rare (see
    `collecting_garbage_rarely`); return the thresholds before."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(STAGING_GC_THRESHOLD, *previous[1:])
    return previous


@contextmanager
def collecting_garbage_rarely() -> Iterator[None]:
    """Keep the cyclic garbage collector out of the way while pages are staged.

    Parsing and normalising allocate millions of containers, and with the
    default thresholds the collector's full passes walked every object of the
    process, the ORM's and the libraries' included, again and again: about a
    sixth of a nightly load's time. Objects made before staging are frozen out
    of its passes, and young passes run far less often. Reference counting
    still frees at once everything that is not in a cycle, which is nearly
    all a page leaves behind.
    """
    previous = collect_garbage_rarely()
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


def save_search_page(
    staging: Staging,
    envelope: Mapping,
    first_seq: int,
    context: RefreshContext,
    rejects: RejectTally,
) -> int:
    """Validate, normalise and stage the items of one `/vacancies` envelope.

    Item n gets seq `first_seq + n`. Returns how many items were staged.
    """
    rows = StagedRows()
    add_page_rows(envelope, first_seq, rows, context, rejects)
    staging.save_rows(rows)
    return len(rows)


def add_page_rows(
    envelope: Mapping,
    first_seq: int,
    rows: StagedRows,
    context: RefreshContext,
    rejects: RejectTally,
) -> None:
    """Validate the items of one `/vacancies` envelope and add the rows of the
    accepted ones to `rows`; item n gets seq `first_seq + n`."""
    for position, item in enumerate(envelope.get("items") or ()):
        keys = check_item(item, rejects)
        if keys is not None:
            add_item_rows(item, keys, first_seq + position, rows, context)


def roll_back_final_write(session: Session, staging: Staging) -> None:
    """Roll the final write back, even when a signal stopped it inside a
    statement.

    psycopg then still waits for that statement's answer and refuses the
    rollback ("another command is already in progress"); the staging
    connection the write runs on is abandoned instead. SQLite finishes a
    statement before Python sees the signal, so its rollback always runs.
    """
    try:
        session.rollback()
    except DBAPIError:
        if not isinstance(staging, PostgresStaging):
            raise
        logger.info("final write interrupted inside a statement: connection dropped")
        staging.abandon()


def copy_staging_to_session(session: Session, staging: StagingFile) -> None:
    """Fill temporary `st_*` tables of the target database from the staging file.

    PostgreSQL gets COPY; SQLite gets executemany into its temp schema.
    """
    connection = session.connection()
    sqlite_target = connection.dialect.name == "sqlite"
    for table in STAGING_COLUMNS:
        connection.exec_driver_sql(
            f"DROP TABLE IF EXISTS temp.{table}"
            if sqlite_target
            else f"DROP TABLE IF EXISTS {table}"
        )
        connection.exec_driver_sql(_create_table_sql(table, temporary=True))
        rows = staging.iter_rows(table)
        if sqlite_target:
            marks = ", ".join("?" * len(STAGING_COLUMNS[table]))
            cursor = connection.connection.driver_connection.cursor()
            cursor.executemany(f"INSERT INTO temp.{table} VALUES ({marks})", rows)
            cursor.close()
        else:
            _copy_rows_postgres(connection, table, rows)
    index_staging_tables(connection)


def index_staging_tables(connection) -> None:
    """Index the staged vacancies by id, the key the merge looks them up by."""
    connection.exec_driver_sql("CREATE INDEX st_vacancies_key ON st_vacancies (id)")
    if connection.dialect.name != "sqlite":
        # Statistics of the key are what the merge's joins need, and far
        # cheaper than sampling the vacancies' texts.
        connection.exec_driver_sql("ANALYZE st_vacancies (id)")


@contextmanager
def _copying_into(connection, table: str) -> Iterator:
    """A `COPY table FROM STDIN` on the connection's driver cursor."""
    columns = ", ".join(_columns(table))
    cursor = connection.connection.driver_connection.cursor()
    try:
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            yield copy
    finally:
        cursor.close()


def _copy_rows_postgres(connection, table: str, rows: Iterable[tuple]) -> None:
    with _copying_into(connection, table) as copy:
        for row in rows:
            copy.write_row(row)


def _copy_data_postgres(connection, table: str, chunks: Iterable[bytes]) -> None:
    """COPY rows already formatted as COPY text."""
    with _copying_into(connection, table) as copy:
        for chunk in chunks:
            copy.write(chunk)


# --- the final write ------------------------------------------------------------


@dataclass(frozen=True)
class ClosingScope:
    """The scope a complete refresh covered: vacancies in it not seen get closed.

    `area_ids` includes every descendant of the scope's areas; the window
    bounds are naive UTC, both inclusive.
    """

    role_ids: tuple[int, ...]
    published_from: datetime
    published_to: datetime


@dataclass
class MergeCounts:
    written: int = 0
    new: int = 0
    reopened: int = 0
    closed: int = 0
    demo_deleted: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def bind_time(session: Session, moment: datetime):
    """A naive UTC time as the target database compares it in raw SQL."""
    if session.get_bind().dialect.name == "sqlite":
        return format_db_time(moment)
    return moment


def delete_demo_vacancies(session: Session) -> int:
    """Delete (not close) every synthetic vacancy and its rows."""
    floor = {"floor": DEMO_ID_FLOOR}
    for table in ("salaries", "vacancy_work_formats", "vacancy_roles"):
        session.execute(text(f"DELETE FROM {table} WHERE vacancy_id >= :floor"), floor)
    result = session.execute(text("DELETE FROM vacancies WHERE id >= :floor"), floor)
    return result.rowcount


def _count(session: Session, sql: str) -> int:
    return session.execute(text(sql)).scalar_one()


def upsert_staged_vacancies(session: Session, now: datetime) -> MergeCounts:
    """Merge the temporary `st_*` tables into the live vacancy tables."""
    counts = MergeCounts()
    counts.written = _count(session, "SELECT count(*) FROM st_vacancies")
    note_changed_vacancies(session)
    counts.new = _count(session, "SELECT count(*) FROM st_changed WHERE is_new")
    counts.reopened = _count(session, "SELECT count(*) FROM st_changed WHERE reopened")
    derive_changed_rows(session)

    save_staged_employers(session)
    with looking_up_by_key(session):
        save_changed_vacancies(session, now)
        save_changed_salaries(session)
        for table, column in (("vacancy_work_formats", "work_format"),
                              ("vacancy_roles", "role_id")):  # fmt: skip
            save_changed_links(session, table, column)
    return counts


def _differs(session: Session, left: str, right: str, columns: list[str]) -> str:
    """SQL true when any of `columns` differs between two row aliases, nulls
    included."""
    operator = (
        "IS NOT" if session.get_bind().dialect.name == "sqlite" else "IS DISTINCT FROM"
    )
    return " OR ".join(f"{left}.{c} {operator} {right}.{c}" for c in columns)


@contextmanager
def planner_settings(session: Session, **settings: str) -> Iterator[None]:
    """PostgreSQL planner settings for the statements inside (SQLite: none).

    A failure rolls the transaction back, and the settings with it.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        for name, value in settings.items():
            session.execute(text(f"SET LOCAL {name} = {value}"))
    yield
    if postgres:
        for name in settings:
            session.execute(text(f"SET LOCAL {name} TO DEFAULT"))


def looking_up_by_key(session: Session):
    """Join staged rows to a live table through its key index.

    The staged ids are a small, recent part of a large table; PostgreSQL's
    estimate of a hundred thousand index lookups still makes it scan the
    whole table into a hash, several times slower.
    """
    return planner_settings(session, enable_hashjoin="off", enable_mergejoin="off")


def _drop_temporary_tables(session: Session, *tables: str) -> None:
    prefix = "temp." if session.get_bind().dialect.name == "sqlite" else ""
    for table in tables:
        session.execute(text(f"DROP TABLE IF EXISTS {prefix}{table}"))


def note_changed_vacancies(session: Session) -> None:
    """Copy into `st_changed` the staged rows of the vacancies that are new,
    reopened or whose content digest differs from the stored one (about one
    in ten of a nightly refresh), with those three flags."""
    _drop_temporary_tables(session, "st_changed")
    content_changed = _differs(session, "v", "s", ["content_hash"])
    reopened = "v.closed_at IS NOT NULL AND s.closed_at IS NULL"
    with looking_up_by_key(session):
        session.execute(
            text(
                "CREATE TEMPORARY TABLE st_changed AS SELECT s.*,"
                f" v.id IS NULL AS is_new, {reopened} AS reopened,"
                f" {content_changed} AS content_changed"
                " FROM st_vacancies s LEFT JOIN vacancies v ON v.id = s.id"
                f" WHERE v.id IS NULL OR {content_changed} OR ({reopened})"
            )
        )
    if session.get_bind().dialect.name != "sqlite":
        session.execute(text("ANALYZE st_changed (id)"))


# Vacancies whose employer, salary and links may differ from the stored ones.
CONTENT_CHANGED = "(SELECT id FROM st_changed WHERE content_changed)"


def _expand_array(session: Session, column: str) -> str:
    """A join of each changed row `s` with the elements `f.value` of its JSON
    array column."""
    if session.get_bind().dialect.name == "sqlite":
        return f", json_each(s.{column}) AS f"
    return f" CROSS JOIN json_array_elements_text(s.{column}::json) AS f(value)"


def derive_changed_rows(session: Session) -> None:
    """Salary, link and employer rows of the changed vacancies, as temporary
    tables made from their staged rows.

    An employer's row comes from its changed vacancy first in plan order.
    """
    sqlite_target = session.get_bind().dialect.name == "sqlite"
    _drop_temporary_tables(session, *DERIVED_TABLES)
    salary = ", ".join(f"s.{column}" for column in SALARY_COLUMNS[1:])
    statements = {
        "st_salaries": f"SELECT s.id AS vacancy_id, {salary} FROM st_changed s"
        " WHERE s.content_changed"
        " AND (s.salary_from IS NOT NULL OR s.salary_to IS NOT NULL)",
        "st_work_formats": "SELECT s.id AS vacancy_id, f.value AS work_format"
        f" FROM st_changed s{_expand_array(session, 'work_formats')}"
        " WHERE s.content_changed",
        "st_roles": "SELECT s.id AS vacancy_id, CAST(f.value AS integer) AS role_id"
        f" FROM st_changed s{_expand_array(session, 'role_ids')}"
        " WHERE s.content_changed",
        "st_employers": "SELECT s.employer_id AS id,"
        " coalesce(s.employer_name, '') AS name,"
        " s.employer_accredited AS accredited_it_employer,"
        " s.employer_trusted AS trusted FROM st_changed s"
        " WHERE s.seq IN (SELECT min(seq) FROM st_changed"
        " WHERE content_changed AND employer_id IS NOT NULL GROUP BY employer_id)",
    }
    for table, select_sql in statements.items():
        session.execute(text(f"CREATE TEMPORARY TABLE {table} AS {select_sql}"))
        columns = ", ".join(DERIVED_TABLES[table])
        session.execute(text(f"CREATE INDEX {table}_key ON {table} ({columns})"))
        if not sqlite_target:
            session.execute(text(f"ANALYZE {table}"))


def save_staged_employers(session: Session) -> None:
    """Employers of changed vacancies: inserted when new, rewritten when their
    name or flags changed (both are part of the vacancy's digest)."""
    columns = EMPLOYER_COLUMNS[1:]
    session.execute(
        text(
            "UPDATE employers SET "
            + ", ".join(f"{column} = s.{column}" for column in columns)
            + " FROM st_employers s WHERE employers.id = s.id"
            + f" AND ({_differs(session, 'employers', 's', columns)})"
        )
    )
    # SQLite needs the WHERE to tell ON CONFLICT from a join's ON.
    session.execute(
        text(
            f"INSERT INTO employers ({', '.join(EMPLOYER_COLUMNS)})"
            f" SELECT {', '.join(EMPLOYER_COLUMNS)} FROM st_employers WHERE true"
            " ON CONFLICT (id) DO NOTHING"
        )
    )


def save_changed_vacancies(session: Session, now: datetime) -> None:
    """Rewrite the stored staged vacancies as seen now; insert the new ones.

    One update per stored vacancy, unchanged or not: rewriting the row costs
    the same as setting `last_seen_at` alone, and with no indexed column
    changed it stays a heap-only update on PostgreSQL.
    """
    compared = VACANCY_COLUMNS[1:]
    session.execute(
        text(
            "UPDATE vacancies SET "
            + ", ".join(f"{column} = s.{column}" for column in compared)
            + ", last_seen_at = :now FROM st_vacancies s WHERE vacancies.id = s.id"
        ),
        {"now": bind_time(session, now)},
    )
    session.execute(
        text(
            f"INSERT INTO vacancies ({', '.join(VACANCY_COLUMNS)},"
            " first_seen_at, last_seen_at)"
            f" SELECT {', '.join(VACANCY_COLUMNS)}, :now, :now FROM st_changed"
            " WHERE is_new"
        ),
        {"now": bind_time(session, now)},
    )


def save_changed_salaries(session: Session) -> None:
    """Salary rows of changed vacancies: rewritten, added, or deleted when gone."""
    columns = SALARY_COLUMNS[1:]
    changed = _differs(session, "salaries", "excluded", columns)
    session.execute(
        text(
            f"DELETE FROM salaries WHERE vacancy_id IN {CONTENT_CHANGED}"
            " AND NOT EXISTS (SELECT 1 FROM st_salaries s"
            " WHERE s.vacancy_id = salaries.vacancy_id)"
        )
    )
    session.execute(
        text(
            f"INSERT INTO salaries ({', '.join(SALARY_COLUMNS)})"
            f" SELECT {', '.join(SALARY_COLUMNS)} FROM st_salaries"
            f" WHERE vacancy_id IN {CONTENT_CHANGED}"
            " ON CONFLICT (vacancy_id) DO UPDATE SET "
            + ", ".join(f"{column} = excluded.{column}" for column in columns)
            + f" WHERE {changed}"
        )
    )


def save_changed_links(session: Session, table: str, column: str) -> None:
    """Work formats or roles of changed vacancies: add new links, drop gone ones."""
    staged = "st_work_formats" if table == "vacancy_work_formats" else "st_roles"
    session.execute(
        text(
            f"DELETE FROM {table} WHERE vacancy_id IN {CONTENT_CHANGED}"
            f" AND NOT EXISTS (SELECT 1 FROM {staged} s"
            f" WHERE s.vacancy_id = {table}.vacancy_id"
            f" AND s.{column} = {table}.{column})"
        )
    )
    session.execute(
        text(
            f"INSERT INTO {table} (vacancy_id, {column})"
            f" SELECT vacancy_id, {column} FROM {staged}"
            f" WHERE vacancy_id IN {CONTENT_CHANGED} ON CONFLICT DO NOTHING"
        )
    )


def close_unseen_vacancies(session: Session, scope: ClosingScope, now: datetime) -> int:
    """Close open vacancies of the scope that this complete refresh did not return."""
    role_filter = ""
    if scope.role_ids:
        role_list = ", ".join(str(int(role)) for role in scope.role_ids)
        role_filter = (
            " AND EXISTS (SELECT 1 FROM vacancy_roles r WHERE"
            f" r.vacancy_id = vacancies.id AND r.role_id IN ({role_list}))"
        )
    # The window's rows are read in page order (a bitmap scan), not one index
    # entry at a time: each page is visited once instead of once per row.
    with planner_settings(session, enable_indexscan="off"):
        result = session.execute(
            text(
                "UPDATE vacancies SET closed_at = :now WHERE closed_at IS NULL"
                " AND published_at >= :published_from"
                " AND published_at <= :published_to"
                " AND area_id IN (SELECT id FROM st_scope_areas)"
                " AND NOT EXISTS (SELECT 1 FROM st_vacancies s"
                " WHERE s.id = vacancies.id)" + role_filter
            ),
            {
                "now": bind_time(session, now),
                "published_from": bind_time(session, scope.published_from),
                "published_to": bind_time(session, scope.published_to),
            },
        )
    return result.rowcount


def save_staged_refresh(
    session: Session,
    staging: Staging,
    now: datetime,
    closing: ClosingScope | None,
    real_data: bool,
) -> MergeCounts:
    """Write a refresh's staged rows into the live tables (caller commits).

    `closing` is given only for a complete refresh. A real refresh deletes the
    demo vacancies first.
    """
    if isinstance(staging, StagingFile):
        copy_staging_to_session(session, staging)
    if session.get_bind().dialect.name == "postgresql":
        # Compiling the merge's short statements costs more than it saves.
        session.execute(text("SET LOCAL jit = off"))
    demo_deleted = delete_demo_vacancies(session) if real_data else 0
    # Closing touches only vacancies that were not staged, the upsert only
    # staged ones; closing first reads the window before the upsert leaves
    # a second version of most of its rows.
    closed = 0
    if closing is not None:
        closed = close_unseen_vacancies(session, closing, now)
    counts = upsert_staged_vacancies(session, now)
    counts.demo_deleted = demo_deleted
    counts.closed = closed
    save_enum_labels(session, staging.get_labels(), replace=False)
    logger.info(
        "merged %d vacancies (%d new, %d reopened), closed %d, demo deleted %d",
        counts.written,
        counts.new,
        counts.reopened,
        counts.closed,
        demo_deleted,
    )
    return counts


def drop_session_staging(session: Session) -> None:
    """Drop the temporary tables (SQLite keeps them on the pooled connection)."""
    _drop_temporary_tables(session, *STAGING_COLUMNS, *DERIVED_TABLES, "st_changed")


# --- app state: maintenance, data version, dataset --------------------------------


def save_maintenance_on(session: Session, run_id: int, now: datetime) -> None:
    """Raise the maintenance flag for `run_id` (commit it before the final write)."""
    ensure_app_state(session)
    session.execute(
        update(AppState)
        .where(AppState.id == STATE_ROW_ID)
        .values(
            maintenance=True,
            maintenance_run_id=run_id,
            maintenance_since=now,
            maintenance_heartbeat_at=now,
        )
    )


def save_maintenance_heartbeat(session: Session, run_id: int, now: datetime) -> None:
    session.execute(
        update(AppState)
        .where(AppState.id == STATE_ROW_ID, AppState.maintenance_run_id == run_id)
        .values(maintenance_heartbeat_at=now)
    )


def save_maintenance_off(session: Session, run_id: int) -> None:
    """Lower the flag if `run_id` still owns it."""
    session.execute(
        update(AppState)
        .where(AppState.id == STATE_ROW_ID, AppState.maintenance_run_id == run_id)
        .values(
            maintenance=False,
            maintenance_run_id=None,
            maintenance_since=None,
            maintenance_heartbeat_at=None,
        )
    )


def save_data_written(
    session: Session, run_id: int | None, dataset: str, now: datetime
) -> str:
    """Record a write: new data version, dataset, refresh time and run."""
    ensure_app_state(session)
    version = f"{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
    session.execute(
        update(AppState)
        .where(AppState.id == STATE_ROW_ID)
        .values(
            data_version=version,
            dataset=dataset,
            last_refresh_at=now,
            last_run_id=run_id,
        )
    )
    return version


# --- one refresh at a time ------------------------------------------------------


def is_process_alive(pid: int | None) -> bool:
    """Whether a process of this host has `pid`; unknown counts as alive.

    A reused pid makes a dead holder look alive: the heartbeat's staleness
    still frees its lock row then.
    """
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RefreshLock:
    """The right to write: PostgreSQL's advisory lock, or SQLite's lock row."""

    def __init__(self, engine: Engine, stale_seconds: float):
        self.engine = engine
        self.stale_seconds = stale_seconds
        self.run_id: int | None = None
        self._pg_connection = None

    def acquire(self, make_run) -> RefreshRun:
        """Take the lock and create the run row with `make_run(session)`.

        Raises RefreshLockedError, writing no row, when another refresh holds it.
        """
        if is_sqlite(self.engine):
            run = self._acquire_lock_row(make_run)
        else:
            run = self._acquire_advisory_lock(make_run)
        self.run_id = run.id
        return run

    def _acquire_advisory_lock(self, make_run) -> RefreshRun:
        connection = self.engine.connect()
        taken = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
        ).scalar_one()
        connection.commit()
        if not taken:
            connection.close()
            raise RefreshLockedError(self._get_running_run_id())
        self._pg_connection = connection
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                run = make_run(session)
                session.commit()
        except BaseException:
            self.release()
            raise
        return run

    def _get_running_run_id(self) -> int | None:
        with Session(self.engine) as session:
            return session.execute(
                select(RefreshRun.id)
                .where(RefreshRun.status == "running")
                .order_by(RefreshRun.id.desc())
                .limit(1)
            ).scalar_one_or_none()

    def _acquire_lock_row(self, make_run) -> RefreshRun:
        # Read first: a holder in its final write keeps the database locked,
        # and waiting for it would only end in a timeout.
        self._raise_if_lock_row_held()
        try:
            return self._take_lock_row(make_run)
        except OperationalError as error:
            raise RefreshLockedError(self._get_lock_row_holder()) from error

    def _get_lock_row_holder(self) -> int | None:
        with Session(self.engine) as session:
            state = session.get(AppState, STATE_ROW_ID)
            if state is None or self._is_lock_row_free(state):
                return None
            return state.lock_run_id

    def _is_lock_row_free(self, state: AppState) -> bool:
        """Free when nobody holds it, its holder stopped beating, or the holder
        ran on this host and its process is gone."""
        if state.lock_run_id is None:
            return True
        if is_flag_stale(state.lock_heartbeat_at, self.stale_seconds, utc_now()):
            return True
        return state.lock_host == socket.gethostname() and not is_process_alive(
            state.lock_pid
        )

    def _raise_if_lock_row_held(self) -> None:
        holder = self._get_lock_row_holder()
        if holder is not None:
            raise RefreshLockedError(holder)

    def _take_lock_row(self, make_run) -> RefreshRun:
        with Session(self.engine, expire_on_commit=False) as session:
            ensure_app_state(session)
            # The first write takes SQLite's write lock, so two refreshes
            # starting together read the lock row one after the other.
            session.execute(
                update(AppState).where(AppState.id == STATE_ROW_ID).values(id=1)
            )
            state = session.get(AppState, STATE_ROW_ID)
            session.refresh(state)
            if not self._is_lock_row_free(state):
                holder = state.lock_run_id
                session.rollback()
                raise RefreshLockedError(holder)
            run = make_run(session)
            session.flush()
            state.lock_run_id = run.id
            state.lock_heartbeat_at = utc_now()
            state.lock_host = socket.gethostname()
            state.lock_pid = os.getpid()
            session.commit()
            return run

    def beat(self, session: Session, now: datetime) -> None:
        """Keep SQLite's lock row fresh (PostgreSQL needs nothing)."""
        if is_sqlite(self.engine) and self.run_id is not None:
            session.execute(
                update(AppState)
                .where(AppState.id == STATE_ROW_ID, AppState.lock_run_id == self.run_id)
                .values(lock_heartbeat_at=now)
            )

    def release(self) -> None:
        if self._pg_connection is not None:
            try:
                self._pg_connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
                self._pg_connection.commit()
            finally:
                self._pg_connection.close()
                self._pg_connection = None
            return
        if is_sqlite(self.engine) and self.run_id is not None:
            with Session(self.engine) as session:
                session.execute(
                    update(AppState)
                    .where(AppState.lock_run_id == self.run_id)
                    .values(
                        lock_run_id=None,
                        lock_heartbeat_at=None,
                        lock_host=None,
                        lock_pid=None,
                    )
                )
                session.commit()

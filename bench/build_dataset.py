"""Build (or reuse) a benchmark database of N synthetic vacancies.

The vacancies are drawn from the distributions of the shared real hh.ru items
(areas, experience, salaries, currencies, pay modes, and the big employers
with their shares) and normalised by `etl.transform`, so rows have exactly the
shape a refresh writes. PostgreSQL gets them by COPY, SQLite by executemany.
A marker table records what was built: a database holding the same build
with the right row count is reused, so only the first run pays for it.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path

import numpy as np
import psycopg
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.orm import Session

from etl.load import save_data_written
from etl.reference import read_currency_rates
from etl.reference import save_areas
from etl.reference import save_dictionaries
from etl.reference import save_enum_labels
from etl.reference import save_professional_roles
from etl.synthetic import CHUNK_SIZE
from etl.synthetic import MOSCOW_OFFSET
from etl.synthetic import Distributions
from etl.synthetic import make_items
from etl.transform import RefreshContext
from etl.transform import StagedRows
from etl.transform import add_item_rows
from etl.validate import RejectTally
from etl.validate import check_item
from etl.validate import format_db_time
from services.db import make_engine
from services.migrate import alembic_config
from services.migrate import upgrade_database
from services.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

SHARED_HH = PROJECT_ROOT.parent / "shared" / "hh"
POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
SQLITE_FOLDER = PROJECT_ROOT / "instance" / "bench"

# Change when the rows a build writes change: cached databases are rebuilt.
BUILD_FORMAT = "3"
SEED = 20261204
# Below etl.load's demo floor, so a refresh treats them as real vacancies.
FIRST_VACANCY_ID = 100_000_000
# A fixed "now" keeps the build identical from run to run.
BUILD_NOW = datetime(2026, 12, 1, 12, 0, tzinfo=MOSCOW_OFFSET)
PUBLICATION_DAYS = 60
CLOSED_SHARE = 0.08
HEAD_EMPLOYER_MIN_ITEMS = 3
FLUSH_ROWS = 20_000

VACANCY_COLUMNS = (
    "id", "name", "published_at", "area_id", "employer_id", "employer_name",
    "experience", "employment_form", "schedule", "employment", "requirement",
    "responsibility", "search_text", "content_hash", "closed_at", "first_seen_at",
    "last_seen_at",
)  # fmt: skip
SALARY_COLUMNS = (
    "vacancy_id", "salary_from", "salary_to", "currency", "gross", "mode",
    "frequency", "from_rub", "to_rub", "excluded",
)  # fmt: skip
TABLE_COLUMNS = {
    "vacancies": VACANCY_COLUMNS,
    "salaries": SALARY_COLUMNS,
    "vacancy_work_formats": ("vacancy_id", "work_format"),
    "vacancy_roles": ("vacancy_id", "role_id"),
    "employers": ("id", "name", "accredited_it_employer", "trusted"),
}


class BenchDataError(Exception):
    """The shared real hh.ru data the benchmark draws from is missing."""


@dataclass(frozen=True)
class HeadEmployer:
    id: str
    name: str
    accredited_it_employer: bool
    trusted: bool


@dataclass(frozen=True)
class RealShares:
    """What the shared real items say, beyond `Distributions`."""

    distributions: Distributions
    head_employers: tuple[HeadEmployer, ...]
    head_weights: np.ndarray
    head_share: float


@dataclass(frozen=True)
class BenchDatabase:
    """A built benchmark database: its URL, size and how long the build took."""

    backend: str
    url: str
    vacancies: int
    build_seconds: float
    reused: bool


# --- what the real data says --------------------------------------------------------


def read_shared_items(folder: Path = SHARED_HH) -> list[dict]:
    paths = sorted((folder / "items").glob("*.json.gz"))
    if not paths:
        raise BenchDataError(
            f"no real items in {folder / 'items'}: the benchmark draws its "
            "distributions from them; restore /work/shared/hh"
        )
    items: list[dict] = []
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            items.extend(json.load(handle))
    return items


def read_reference(name: str, folder: Path = SHARED_HH):
    with open(folder / "reference" / name, encoding="utf-8") as handle:
        return json.load(handle)


def measure_real_shares(items: list[dict], areas: list, rates: dict) -> RealShares:
    """Distributions of the real items, their pay-mode mix and big employers."""
    dist = Distributions.from_items(items, areas)
    dist = dataclasses.replace(
        dist,
        currencies=tuple(
            (code, share, rates.get(code, rate))
            for code, share, rate in dist.currencies
        ),
        non_monthly_share=_measure_non_monthly_share(items),
    )

    counts = Counter()
    known: dict[str, HeadEmployer] = {}
    for item in items:
        employer = item.get("employer") or {}
        if employer.get("id"):
            counts[str(employer["id"])] += 1
            known[str(employer["id"])] = HeadEmployer(
                str(employer["id"]),
                employer.get("name") or "",
                bool(employer.get("accredited_it_employer")),
                bool(employer.get("trusted")),
            )
    head = [
        (known[e], n) for e, n in counts.most_common() if n >= HEAD_EMPLOYER_MIN_ITEMS
    ]
    weights = np.array([n for _, n in head], dtype=float)
    return RealShares(
        distributions=dist,
        head_employers=tuple(e for e, _ in head),
        head_weights=weights / weights.sum(),
        head_share=float(weights.sum() / len(items)),
    )


def _measure_non_monthly_share(items: list[dict]) -> float:
    modes = Counter(
        ((item.get("salary_range") or {}).get("mode") or {}).get("id", "MONTH")
        for item in items
        if item.get("salary_range")
    )
    total = modes.total()
    return (total - modes["MONTH"]) / total if total else 0.0


# --- items to rows ----------------------------------------------------------------


def iter_bench_items(count: int, shares: RealShares) -> Iterator[dict]:
    """Synthetic items; about half carry one of the real big employers.

    The generator spreads employers evenly over 40,000 names; hh.ru's are
    concentrated (one bank posts ~4% of all vacancies), which matters for
    the "one big employer" selections.
    """
    items = make_items(
        count,
        seed=SEED,
        id_start=FIRST_VACANCY_ID,
        now=BUILD_NOW,
        days=PUBLICATION_DAYS,
        distributions=shares.distributions,
    )
    draws = np.zeros(0, dtype=np.int64)
    for index, item in enumerate(items):
        if index % CHUNK_SIZE == 0:
            draws = _draw_head_employers(shares, index // CHUNK_SIZE)
        head = draws[index % CHUNK_SIZE]
        if head >= 0 and (item.get("employer") or {}).get("id"):
            employer = shares.head_employers[head]
            item["employer"] = {
                "id": employer.id,
                "name": employer.name,
                "accredited_it_employer": employer.accredited_it_employer,
                "trusted": employer.trusted,
            }
        yield item


def _draw_head_employers(shares: RealShares, chunk: int) -> np.ndarray:
    rng = np.random.default_rng([SEED, 77, chunk])
    picks = rng.choice(len(shares.head_employers), CHUNK_SIZE, p=shares.head_weights)
    picks[rng.random(CHUNK_SIZE) >= shares.head_share] = -1
    return picks


def iter_row_batches(
    count: int, shares: RealShares, context: RefreshContext
) -> Iterator[dict[str, list[tuple]]]:
    """Rows per live table, `FLUSH_ROWS` vacancies at a time."""
    rejects = RejectTally()
    rows = StagedRows()
    seen_at = context.now
    employers_seen: set[str] = set()
    for seq, item in enumerate(iter_bench_items(count, shares)):
        keys = check_item(item, rejects)
        if keys is not None:
            add_item_rows(item, keys, seq, rows, context)
        if len(rows) >= FLUSH_ROWS:
            yield _live_rows(rows, seen_at, employers_seen)
            rows = StagedRows()
    yield _live_rows(rows, seen_at, employers_seen)
    if rejects.counts:
        logger.info("bench items rejected: %s", rejects.as_dict())


def _live_rows(
    rows: StagedRows, seen_at: str, employers_seen: set[str]
) -> dict[str, list[tuple]]:
    """Live-table rows of a batch; each employer's row comes with its first
    vacancy of the whole build."""
    vacancies, salaries, work_formats, roles, employers = [], [], [], [], []
    for row in rows.vacancies:
        vacancy = list(row.vacancy_columns())
        # A share of the vacancies is closed, so status=closed selects some.
        if (vacancy[0] * 2654435761) % 1000 < CLOSED_SHARE * 1000:
            vacancy[-1] = seen_at
        vacancies.append((*vacancy, seen_at, seen_at))
        if (salary := row.salary_row()) is not None:
            salaries.append(salary)
        work_formats.extend((row.id, work_format) for work_format in row.work_formats())
        roles.extend((row.id, role_id) for role_id in row.role_ids())
        employer = row.employer_row()
        if employer is not None and employer[0] not in employers_seen:
            employers_seen.add(employer[0])
            employers.append(employer)
    return {
        "vacancies": vacancies,
        "salaries": salaries,
        "vacancy_work_formats": work_formats,
        "vacancy_roles": roles,
        "employers": employers,
    }


def build_time() -> datetime:
    """The build's fixed time as stored: naive UTC."""
    return BUILD_NOW.astimezone(UTC).replace(tzinfo=None)


# --- writing ----------------------------------------------------------------------


def postgres_url(database: str) -> str:
    return f"{POSTGRES_SERVER}/{database}"


def sqlite_url(count: int) -> str:
    return f"sqlite:///{SQLITE_FOLDER / f'hhbench-{count}.sqlite3'}"


def bench_marker(count: int) -> str:
    return f"format={BUILD_FORMAT} seed={SEED} vacancies={count}"


def is_built(url: str, count: int) -> bool:
    """Does the database hold this build, marker and row count both right?

    A build made under an older migration is upgraded in place, as a
    production database would be, rather than built again.
    """
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            marker = connection.execute(
                text("SELECT value FROM bench_build WHERE name = 'marker'")
            ).scalar_one_or_none()
            rows = connection.execute(text("SELECT count(*) FROM vacancies")).scalar()
            revision = connection.execute(
                text("SELECT version_num FROM alembic_version")
            ).scalar_one_or_none()
    except Exception:  # noqa: BLE001 - any failure means "build it again"
        return False
    finally:
        engine.dispose()
    if marker != bench_marker(count) or rows != count:
        return False
    if revision != get_head_revision():
        logger.info("upgrading the bench database's schema from %s", revision)
        upgrade_database(url)
    return True


def get_head_revision() -> str:
    """The newest migration's revision, as `alembic_version` holds it."""
    config = alembic_config("sqlite://")
    return ScriptDirectory.from_config(config).get_current_head()


def ensure_postgres_database(database: str) -> None:
    """Drop and create `database` on the local server (never `test`)."""
    if database in ("test", "postgres"):
        raise BenchDataError(f"refusing to rebuild the shared database {database!r}")
    with psycopg.connect(postgres_url("postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{database}"')


def drop_postgres_database(database: str) -> None:
    if database in ("test", "postgres"):
        raise BenchDataError(f"refusing to drop the shared database {database!r}")
    with psycopg.connect(postgres_url("postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def clone_postgres_database(source: str, target: str) -> str:
    """A fresh copy of `source` (a template copy: seconds, not a rebuild)."""
    drop_postgres_database(target)
    with psycopg.connect(postgres_url("postgres"), autocommit=True) as connection:
        # A template must have no sessions; pooled ones of this benchmark
        # process may still be open on it.
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (source,),
        )
        connection.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
        # The copy goes through shared buffers and leaves them dirty: flushed
        # here, a timed run does not pay for writing out its own setup.
        connection.execute("CHECKPOINT")
    return postgres_url(target)


def save_rows_postgres(url: str, batches) -> int:
    written = 0
    with psycopg.connect(url.replace("+psycopg", "")) as connection:
        for batch in batches:
            for table, rows in batch.items():
                if not rows:
                    continue
                columns = ", ".join(TABLE_COLUMNS[table])
                with connection.cursor().copy(
                    f"COPY {table} ({columns}) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
            written += len(batch["vacancies"])
            connection.commit()
    return written


def save_rows_sqlite(url: str, batches) -> int:
    path = url.removeprefix("sqlite:///")
    written = 0
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    try:
        for batch in batches:
            for table, rows in batch.items():
                columns = TABLE_COLUMNS[table]
                marks = ", ".join("?" * len(columns))
                connection.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                    rows,
                )
            written += len(batch["vacancies"])
            connection.commit()
    finally:
        connection.close()
    return written


COPIED_TABLES = (
    "areas", "employers", "professional_roles", "role_categories",
    "role_category_links", "currency_rates", "enum_labels", "vacancies",
    "vacancy_work_formats", "vacancy_roles", "salaries", "app_state",
)  # fmt: skip


def copy_postgres_to_sqlite(source_url: str, target_url: str) -> int:
    """Copy a built PostgreSQL bench database into a migrated SQLite file.

    Much faster than generating the items again; the rows are the same.
    """
    target = sqlite3.connect(target_url.removeprefix("sqlite:///"))
    target.execute("PRAGMA synchronous=OFF")
    try:
        with psycopg.connect(source_url) as source:
            for table in COPIED_TABLES:
                _copy_table(source, target, table)
        target.execute("CREATE TABLE bench_build (name text, value text)")
        with psycopg.connect(source_url) as source:
            rows = source.execute("SELECT name, value FROM bench_build").fetchall()
        target.executemany("INSERT INTO bench_build VALUES (?, ?)", rows)
        target.commit()
        return target.execute("SELECT count(*) FROM vacancies").fetchone()[0]
    finally:
        target.close()


def _copy_table(source, target: sqlite3.Connection, table: str) -> None:
    target.execute(f"DELETE FROM {table}")
    with source.cursor(name=f"bench_copy_{table}") as cursor:
        cursor.itersize = FLUSH_ROWS
        cursor.execute(f"SELECT * FROM {table}")
        rows = cursor.fetchmany(FLUSH_ROWS)
        columns = [column.name for column in cursor.description]
        marks = ", ".join("?" * len(columns))
        insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        while rows:
            target.executemany(insert, [tuple(map(_sqlite_value, r)) for r in rows])
            rows = cursor.fetchmany(FLUSH_ROWS)


def _sqlite_value(value):
    # Stored the way SQLAlchemy writes these types on SQLite.
    if isinstance(value, datetime):
        return format_db_time(value)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def save_reference_and_state(url: str, count: int, context: RefreshContext) -> None:
    """Areas, roles, rates, enum labels, app_state and the build marker."""
    engine = make_engine(url)
    now = build_time()
    try:
        with Session(engine) as session:
            save_areas(session, read_reference("areas.json"), now)
            save_professional_roles(session, read_reference("professional_roles.json"))
            save_dictionaries(session, read_reference("dictionaries.json"), now)
            save_enum_labels(session, context.labels, replace=False)
            save_data_written(session, None, "demo", now)
            session.execute(
                text("CREATE TABLE IF NOT EXISTS bench_build (name text, value text)")
            )
            session.execute(text("DELETE FROM bench_build"))
            session.execute(
                text("INSERT INTO bench_build VALUES ('marker', :value)"),
                {"value": bench_marker(count)},
            )
            session.commit()
    finally:
        engine.dispose()


def ensure_bench_database(backend: str, count: int) -> BenchDatabase:
    """The database of `count` vacancies on `backend` (postgres or sqlite)."""
    database = f"hhbench_{count}"
    url = postgres_url(database) if backend == "postgres" else sqlite_url(count)
    if is_built(url, count):
        logger.info("reusing %s bench database of %d vacancies", backend, count)
        return BenchDatabase(backend, url, count, 0.0, reused=True)

    started = time.perf_counter()
    if backend == "postgres":
        ensure_postgres_database(database)
    else:
        SQLITE_FOLDER.mkdir(parents=True, exist_ok=True)
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    upgrade_database(url)
    if backend == "sqlite" and is_built(postgres_url(database), count):
        written = copy_postgres_to_sqlite(postgres_url(database), url)
        _analyze(url, backend)
        return _built(backend, url, written, started)

    dictionaries = read_reference("dictionaries.json")
    rates = read_currency_rates(dictionaries)
    shares = measure_real_shares(
        read_shared_items(), read_reference("areas.json"), rates
    )
    context = RefreshContext(rates=rates, now=format_db_time(build_time()))
    batches = iter_row_batches(count, shares, context)
    save = save_rows_postgres if backend == "postgres" else save_rows_sqlite
    written = save(url, batches)
    save_reference_and_state(url, count, context)
    _analyze(url, backend)
    return _built(backend, url, written, started)


def _built(backend: str, url: str, written: int, started: float) -> BenchDatabase:
    seconds = time.perf_counter() - started
    logger.info(
        "built %s bench database: %d vacancies in %.1f s", backend, written, seconds
    )
    return BenchDatabase(backend, url, written, seconds, reused=False)


def _analyze(url: str, backend: str) -> None:
    if backend == "postgres":
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
        return
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        connection.execute("ANALYZE")
    finally:
        connection.close()

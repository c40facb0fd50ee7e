"""Load speed: saved search pages into a PostgreSQL database of 1,000,000 vacancies.

The nightly case. 1,000 saved `/vacancies` pages (100,000 synthetic items) are
validated, normalised, staged and merged by the refresh's own code into a copy
of a database that already holds 1,000,000 vacancies, with the closing of a
complete refresh. The pages re-list 95,000 stored vacancies (2,500 of them
closed before: reopened), add 5,000 new ones and leave out 5,000 stored ones of
the window (closed). Timed from reading the first page file to the commit, JSON
parsing included; the load runs in a child process so its peak memory is its
own.

As in a refresh on PostgreSQL, stager processes (one per core) parse,
validate and normalise the pages (`etl.stagers`), the loading process streams
their rows by COPY into a temporary table of its connection
(`etl.load.open_staging`), and the final write runs on that connection. The
stagers start before the first page is read, as a refresh starts them with the
run, and their start-up (about half a second) is not timed. Each of `--runs`
loads goes into a fresh copy; the median is reported.

    .venv/bin/python -m bench.load_speed [--pages 1000] [--runs 3] [--stagers N]
                                         [--no-write]

Databases: `hhload_base_<N>_f<format>` is built once with set-based SQL on the
current schema and kept with a marker; each run loads into a template copy,
`hhload_run`, dropped at the end.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import orjson

from bench.build_dataset import clone_postgres_database
from bench.build_dataset import drop_postgres_database
from bench.build_dataset import ensure_postgres_database
from bench.build_dataset import postgres_url
from etl.load import ClosingScope
from etl.load import collecting_garbage_rarely
from etl.load import open_staging
from etl.load import open_write_session
from etl.load import save_data_written
from etl.load import save_staged_refresh
from etl.stagers import default_stager_count
from etl.stagers import open_pages
from etl.stagers import start_stagers
from etl.synthetic import MOSCOW_OFFSET
from etl.synthetic import Distributions
from etl.synthetic import make_items
from etl.transform import RefreshContext
from etl.validate import RejectTally
from etl.validate import format_db_time
from services.db import make_engine
from services.migrate import upgrade_database
from services.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

BASELINE = 1_000_000
PER_PAGE = 100
WINDOW_DAYS = 30
# The window holds the newest tenth of the baseline, ids above this.
WINDOW_FIRST_ID = 900_001
NEW_IDS = 5_000
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=MOSCOW_OFFSET)
BASE_FORMAT = "5"
PAGES_FOLDER = PROJECT_ROOT / "instance" / "bench" / "load-pages"
RESULTS = PROJECT_ROOT / "bench" / "RESULTS.md"
TARGET_PER_SECOND = 25_000
RUN_DATABASE = "hhload_run"
SECTION_HEADER = "## Load speed"
SEED = 11


class BenchSetupError(Exception):
    """The benchmark's data cannot be prepared; the message says why."""


def naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def base_database(baseline: int) -> str:
    # The format is in the name: a checkout of another format keeps its own.
    return f"hhload_base_{baseline}_f{BASE_FORMAT}"


# --- the saved pages ------------------------------------------------------------------


def listed_ids(pages: int) -> list[int]:
    """The ids the pages list: the window's stored vacancies but every 20th,
    then new ones."""
    items = pages * PER_PAGE
    kept = [i for i in range(WINDOW_FIRST_ID, BASELINE + 1) if i % 20 != 0]
    new = list(range(BASELINE + 1, BASELINE + 1 + NEW_IDS))
    ids = kept[: items - NEW_IDS] + new
    if len(ids) != items:
        raise BenchSetupError(f"{pages} pages need more window vacancies")
    return ids


def ensure_pages(pages: int) -> Path:
    """Write the page files once; a marker with their parameters allows reuse."""
    folder = PAGES_FOLDER / f"pages-{pages}"
    marker = folder / "MARKER"
    wanted = f"format={BASE_FORMAT} seed={SEED} pages={pages} now={NOW.isoformat()}"
    if marker.exists() and marker.read_text() == wanted:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    ids = iter(listed_ids(pages))
    items = make_items(pages * PER_PAGE, SEED, now=NOW, days=WINDOW_DAYS)
    for page in range(pages):
        chunk = itertools.islice(items, PER_PAGE)
        batch = [item | {"id": str(next(ids))} for item in chunk]
        envelope = {"items": batch, "found": pages * PER_PAGE, "pages": pages,
                    "page": page, "per_page": PER_PAGE}  # fmt: skip
        (folder / f"page-{page:05d}.json").write_bytes(orjson.dumps(envelope))
    marker.write_text(wanted)
    logger.info("%d pages written in %.1f s", pages, time.monotonic() - started)
    return folder


# --- the baseline database ------------------------------------------------------------


def baseline_sql(baseline: int) -> list[str]:
    """Set-based inserts of `baseline` stored vacancies with their rows.

    Ids 1..N are published oldest first; the newest tenth falls in the
    refresh's window. 8% of the older ones and every 40th of the window are
    closed; salaries for about half, one role and one work format each.
    """
    window_start = naive_utc(NOW - timedelta(days=WINDOW_DAYS))
    seen = naive_utc(NOW - timedelta(days=1))
    older = WINDOW_FIRST_ID - 1
    return [
        f"""INSERT INTO vacancies (id, name, published_at, area_id, employer_id,
            employer_name, experience, employment_form, schedule, employment,
            requirement, responsibility, search_text, first_seen_at, last_seen_at,
            closed_at)
        SELECT i, 'Вакансия ' || i,
            CASE WHEN i < {WINDOW_FIRST_ID}
                THEN timestamp '{window_start}' - (({older} - i) * interval '30 s')
                ELSE timestamp '{window_start}'
                     + ((i - {older}) * interval '25.9 s') END,
            (ARRAY[1, 2, 3, 4, 88, 66, 76, 104])[1 + mod(i, 8)],
            (mod(i, 50000))::text, 'Работодатель ' || (mod(i, 50000)),
            (ARRAY['noExperience', 'between1And3', 'between3And6',
                   'moreThan6'])[1 + mod(i, 4)],
            'FULL', 'fullDay', 'full',
            'Опыт работы от года', 'Работа с клиентами',
            'вакансия ' || i, timestamp '{seen}', timestamp '{seen}',
            CASE WHEN (i < {WINDOW_FIRST_ID} AND mod(i, 12) = 0)
                   OR (i >= {WINDOW_FIRST_ID} AND mod(i, 40) = 1)
                THEN timestamp '{seen}' END
        FROM generate_series(1, {baseline}) AS i""",
        f"""INSERT INTO salaries (vacancy_id, salary_from, salary_to, currency,
            gross, mode, frequency, from_rub, to_rub, excluded)
        SELECT i, 40000 + mod(i, 200000), 60000 + mod(i, 250000), 'RUR', mod(i, 3) = 0,
            'MONTH', NULL, 40000 + mod(i, 200000), 60000 + mod(i, 250000), NULL
        FROM generate_series(1, {baseline}) AS i WHERE mod(i, 2) = 0""",
        f"""INSERT INTO vacancy_roles (vacancy_id, role_id)
        SELECT i, (ARRAY[96, 10, 70, 40, 156, 160])[1 + mod(i, 6)]
        FROM generate_series(1, {baseline}) AS i""",
        f"""INSERT INTO vacancy_work_formats (vacancy_id, work_format)
        SELECT i, (ARRAY['ON_SITE', 'REMOTE', 'HYBRID'])[1 + mod(i, 3)]
        FROM generate_series(1, {baseline}) AS i""",
        """INSERT INTO employers (id, name, accredited_it_employer, trusted)
        SELECT i::text, 'Работодатель ' || i, false, true
        FROM generate_series(0, 49999) AS i""",
        "CREATE TABLE bench_load_build (marker text)",
    ]


def ensure_baseline(baseline: int, folder: Path) -> str:
    """The cached baseline database's name, building it when its marker is off.

    After the set-based rows, yesterday's refresh is loaded: the same pages
    without the new vacancies and with every 40th name different, so the
    timed load finds nine in ten vacancies unchanged, as a nightly run does.
    """
    database = base_database(baseline)
    marker = f"format={BASE_FORMAT} vacancies={baseline} now={NOW.isoformat()}"
    engine = make_engine(postgres_url(database))
    try:
        with engine.connect() as connection:
            found = connection.exec_driver_sql(
                "SELECT marker FROM bench_load_build"
            ).scalar_one_or_none()
    except Exception:  # noqa: BLE001 - a missing or broken database is rebuilt
        found = None
    finally:
        engine.dispose()
    if found == marker:
        return database

    started = time.monotonic()
    ensure_postgres_database(database)
    upgrade_database(postgres_url(database))
    engine = make_engine(postgres_url(database))
    with engine.begin() as connection:
        for statement in baseline_sql(baseline):
            connection.exec_driver_sql(statement)
    engine.dispose()
    load_pages(postgres_url(database), folder, previous=True)
    engine = make_engine(postgres_url(database))
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"UPDATE vacancies SET closed_at = last_seen_at"
            f" WHERE id >= {WINDOW_FIRST_ID} AND mod(id, 40) = 1"
        )
        # Last, so a build stopped halfway is not taken for a finished one.
        connection.exec_driver_sql(
            "INSERT INTO bench_load_build VALUES (%(marker)s)", {"marker": marker}
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    logger.info("baseline of %d built in %.1f s", baseline, time.monotonic() - started)
    return database


# --- the timed load (child process) ---------------------------------------------------


def as_yesterday(envelope: dict) -> dict:
    """The page as the previous night's refresh saw it."""
    items = []
    for item in envelope["items"]:
        vacancy_id = int(item["id"])
        if vacancy_id > BASELINE:
            continue
        if vacancy_id % 40 == 3:
            item = item | {"name": item["name"] + " (старая версия)"}
        items.append(item)
    return envelope | {"items": items}


def load_pages(
    url: str, folder: Path, previous: bool = False, stagers: int | None = None
) -> dict:
    """Read, validate, normalise, stage and merge every page; commit. Timed.

    `previous` loads yesterday's version of the pages, closing nothing.
    `stagers` processes parse and normalise them, one per core by default,
    as in a refresh.
    """
    stagers = stagers or default_stager_count()
    paths = sorted(folder.glob("page-*.json"))
    now = naive_utc(NOW - timedelta(days=1) if previous else NOW)
    context = RefreshContext(rates={"RUR": 1.0}, now=format_db_time(now))
    rejects = RejectTally()
    engine = make_engine(url)
    # A refresh starts its stagers with the run: their start-up overlaps the
    # reference fetch and the planning, before the first page. Not timed.
    stager_pool = start_stagers(engine, stagers)
    if stager_pool is not None:
        stager_pool.wait_started()
    closing = ClosingScope((), naive_utc(NOW - timedelta(days=WINDOW_DAYS)), now)
    areas = [area_id for area_id, _ in Distributions().areas]

    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        cpu_started = time.process_time()
        staging = open_staging(engine, Path(scratch))
        pages = open_pages(staging, context, rejects, stager_pool)
        with collecting_garbage_rarely():
            for page, path in enumerate(paths):
                content = path.read_bytes()
                if previous:
                    content = orjson.dumps(as_yesterday(orjson.loads(content)))
                pages.save_page(content, page * PER_PAGE)
            pages.finish()
        staging.save_labels(context.labels)
        staging.save_scope_areas(areas)
        duplicates = staging.settle_duplicates()
        staged = time.perf_counter()
        with open_write_session(engine, staging) as session:
            counts = save_staged_refresh(
                session, staging, now, None if previous else closing, True
            )
            save_data_written(session, None, "real", now)
            session.commit()
        finished = time.perf_counter()
        staging.close()
    if stager_pool is not None:
        stager_pool.close()
    engine.dispose()

    seconds = finished - started
    stager_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return counts.as_dict() | {
        "pages": len(paths),
        "duplicates": duplicates,
        "rejects": sum(rejects.counts.values()),
        "stage_seconds": round(staged - started, 2),
        "merge_seconds": round(finished - staged, 2),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(time.process_time() - cpu_started, 2),
        "per_second": round(counts.written / seconds),
        "stagers": stagers,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "stager_cpu_seconds": round(stager_usage.ru_utime + stager_usage.ru_stime, 2),
        "stager_peak_rss_mb": round(stager_usage.ru_maxrss / 1024),
    }


def run_child_load(url: str, folder: Path, stagers: int) -> dict:
    command = [sys.executable, "-m", "bench.load_speed", "--child", url, str(folder),
               "--stagers", str(stagers)]  # fmt: skip
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BenchSetupError(f"the load failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- results --------------------------------------------------------------------------


def format_results(runs: list[dict], baseline: int) -> str:
    """The median run (by speed) in a table, with the other runs' speeds."""
    ordered = sorted(runs, key=lambda run: run["per_second"])
    figures = ordered[len(ordered) // 2]
    verdict = "met" if figures["per_second"] >= TARGET_PER_SECOND else "MISSED"
    speeds = ", ".join(f"{run['per_second']:,}" for run in runs)
    if figures["stagers"] > 1:
        who = (
            f"{figures['stagers']} stager processes parse and normalise the pages; "
            "as in a refresh they start before the first page, and their start-up "
            "is not timed."
        )
        memory = (
            f"loader {figures['peak_rss_mb']} MB, each stager up to "
            f"{figures['stager_peak_rss_mb']} MB"
        )
    else:
        who = "The loading process parses and normalises the pages itself."
        memory = f"loader {figures['peak_rss_mb']} MB"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join(
        [
            f"### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            f"`python -m bench.load_speed`, load average {load} (2 shared cores).",
            "",
            f"{figures['pages']} saved search pages ({figures['written']:,} items) "
            f"into PostgreSQL holding {baseline:,} vacancies, timed from reading "
            "the first page to the commit (orjson parsing, validation, "
            f"normalisation, staging, COPY, merge, closing). {who} "
            f"Median of {len(runs)} loads, each into a fresh copy "
            f"(vacancies per second: {speeds}):",
            "",
            "| figure | value |",
            "|---|---|",
            f"| vacancies per second | **{figures['per_second']:,}** "
            f"(target {TARGET_PER_SECOND:,}: {verdict}) |",
            f"| total seconds | {figures['seconds']} |",
            f"| parse, validate, normalise, COPY, deduplicate | "
            f"{figures['stage_seconds']} s |",
            f"| final write: merge, close, commit | {figures['merge_seconds']} s |",
            f"| CPU | loader {figures['cpu_seconds']} s, stagers "
            f"{figures['stager_cpu_seconds']} s with their start-up; "
            "PostgreSQL's own not included |",
            f"| new / reopened / closed | {figures['new']:,} / "
            f"{figures['reopened']:,} / {figures['closed']:,} |",
            f"| peak memory (RSS) | {memory} |",
            "",
        ]
    )


def save_results(run: str) -> None:
    """Add the run at the end of the Load speed section, creating it if absent.

    Other benchmarks write other sections of the same file.
    """
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if SECTION_HEADER not in text:
        text = text.rstrip("\n") + "\n\n" + SECTION_HEADER + "\n"
    start = text.index(SECTION_HEADER) + len(SECTION_HEADER)
    following = text.find("\n## ", start)
    end = len(text) if following == -1 else following + 1
    section = text[:end].rstrip("\n") + "\n\n" + run.rstrip("\n") + "\n"
    rest = text[end:]
    RESULTS.write_text(section + ("\n" + rest if rest else ""))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(prog="python -m bench.load_speed")
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=BASELINE)
    parser.add_argument("--runs", type=int, default=3, help="loads; the median is kept")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--stagers", type=int, default=0, help="stager processes (0: one per core)"
    )
    parser.add_argument("--child", nargs=2, metavar=("URL", "FOLDER"))
    args = parser.parse_args(argv)
    if args.child:
        figures = load_pages(args.child[0], Path(args.child[1]), stagers=args.stagers)
        print(json.dumps(figures))
        return 0

    folder = ensure_pages(args.pages)
    source = ensure_baseline(args.baseline, folder)
    runs = []
    for _ in range(args.runs):
        url = clone_postgres_database(source, RUN_DATABASE)
        try:
            runs.append(run_child_load(url, folder, args.stagers))
        finally:
            drop_postgres_database(RUN_DATABASE)
    section = format_results(runs, args.baseline)
    print(section)
    if not args.no_write:
        save_results(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())

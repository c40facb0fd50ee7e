"""Dashboard speed: every target of the analytics page measured in one run.

    .venv/bin/python -m bench.run            # 1,000,000 vacancies (make bench)
    .venv/bin/python -m bench.run --quick    # 100,000 vacancies, shorter load

Builds (or reuses) the benchmark databases on PostgreSQL and SQLite, times the
fixed mix of 200 selections warm and the first request cold, the naive
pandas.read_sql baseline, then the loopback load test with gunicorn, and
appends the run's table to the "Dashboard speed" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from bench.build_dataset import BenchDatabase
from bench.build_dataset import BenchDataError
from bench.build_dataset import ensure_bench_database
from bench.filter_mix import MIX_SIZE
from bench.filter_mix import get_mix_choices
from bench.filter_mix import make_filter_mix
from bench.load_test import LoadReport
from bench.load_test import LoadTestError
from bench.load_test import run_load_test
from bench.stats_speed import ColdTimes
from bench.stats_speed import Timings
from bench.stats_speed import bench_settings
from bench.stats_speed import get_process_rss_mb
from bench.stats_speed import measure_cold_request
from bench.stats_speed import measure_model_mix
from bench.stats_speed import measure_naive_mix
from bench.stats_speed import measure_page_mix
from bench.stats_speed import profile_page_mix
from services.dataset import clear_dataset_cache
from services.db import make_engine
from services.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

RESULTS = PROJECT_ROOT / "bench" / "RESULTS.md"
SECTION = "## Dashboard speed"
WORK_DIR = PROJECT_ROOT / "instance" / "bench"

FULL_VACANCIES = 1_000_000
QUICK_VACANCIES = 100_000
NAIVE_SAMPLE = {"postgres": 20, "sqlite": 10}
LOAD_USERS = 50

TARGET_P50_MS = 50
TARGET_P95_MS = 150
TARGET_COLD_S = 5
TARGET_RSS_MB = 500
TARGET_LOAD_P95_S = 1.0

SECTION_INTRO = (
    "Server time of one filter change on the analytics page, written by "
    "`python -m bench.run` (`make bench`; `--quick` for 100,000 vacancies). "
    "Vacancies are synthetic, drawn from the shared real items' distributions "
    "(areas, experience, salaries, currencies, pay modes, big employers' shares) "
    "and normalised by `etl.transform`. *Model* is `services.analytics.get_stats`; "
    "*page* is the whole answer of the statistics callback "
    "(`dashboard.analytics.compute_page`, figures and tables serialised to JSON), "
    "every selection computed (remembered answers forgotten first), which the "
    "targets apply to. The mix holds 200 fixed selections (seed 7): "
    "no filter, one city, a region, a country, one big employer, experience "
    "ranges, keywords, roles, combinations and switches. *Naive* reads the "
    "selection with `pandas.read_sql` on every change, then computes the same "
    "statistics (the first 20 selections of the mix on PostgreSQL, 10 on "
    "SQLite, to keep the run short); the ratio compares the page on the same "
    "selections. Each run is appended."
)


@dataclass
class BackendResult:
    """The in-process figures of one database."""

    database: BenchDatabase
    model: Timings
    page: Timings
    page_remembered: Timings
    naive: Timings
    page_sample: Timings
    cold: ColdTimes
    process_rss_mb: float


def measure_backend(database: BenchDatabase, mix, work_dir: Path) -> BackendResult:
    """Warm mix (model and page), cold first request and the naive baseline."""
    clear_dataset_cache()
    settings = bench_settings(database.url, work_dir)
    engine = make_engine(database.url)
    try:
        with Session(engine) as session:
            model = measure_model_mix(session, settings, mix)
            rss = get_process_rss_mb()
            page = measure_page_mix(settings, mix)
            page_remembered = measure_page_mix(settings, mix, remember_answers=True)
            sample = NAIVE_SAMPLE[database.backend]
            naive = measure_naive_mix(session, settings, mix[:sample])
            cold = measure_cold_request(session, settings)
    finally:
        engine.dispose()
    logger.info(
        "%s: model p50 %.1f ms, page p50 %.1f p95 %.1f ms, cold %.2f s "
        "(raw builds %.1f + %.1f s), naive p50 %.0f ms",
        database.backend,
        model.p50,
        page.p50,
        page.p95,
        cold.first_request,
        cold.dataset_build,
        cold.keywords_build,
        naive.p50,
    )
    return BackendResult(
        database,
        model,
        page,
        page_remembered,
        naive,
        Timings(page.milliseconds[:sample], page.cpu_milliseconds[:sample]),
        cold,
        rss,
    )


def describe_code() -> str:
    """The commit measured, and whether services/ had uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True
        ).stdout.strip()

    dirty = git("status", "--porcelain", "services", "dashboard")
    state = "with uncommitted changes in services/ or dashboard/" if dirty else "clean"
    return f"{git('rev-parse', '--short', 'HEAD')} ({state})"


def verdict(passed: bool | None) -> str:
    if passed is None:
        return "n/a"
    return "pass" if passed else "FAIL"


def make_run_block(
    vacancies: int,
    results: list[BackendResult],
    load: LoadReport | None,
    load_note: str,
    seconds: float,
) -> str:
    """The run's markdown: a table of figures against targets, then notes."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{os.cpu_count()} cores / 24 GB, {platform.python_version()}"
    lines = [
        f"### {when}: {vacancies:,} vacancies",
        "",
        f"Machine: {machine}, shared with other work (load average "
        f"{os.getloadavg()[0]:.1f} at the end). Code: {describe_code()}. "
        f"Run took {seconds / 60:.1f} min.",
        "",
        "| measure | PostgreSQL | SQLite | target | result (PostgreSQL) |",
        "|---|---|---|---|---|",
    ]
    pg = results[0]
    sq = results[1] if len(results) > 1 else None

    def both(pick, fmt) -> tuple[str, str]:
        return fmt.format(pick(pg)), fmt.format(pick(sq)) if sq else "-"

    rows = [
        ("page p50, warm mix, each computed (ms)", lambda r: r.page.p50, "{:.1f}",
         f"<= {TARGET_P50_MS}", pg.page.p50 <= TARGET_P50_MS),
        ("page p95, warm mix, each computed (ms)", lambda r: r.page.p95, "{:.1f}",
         f"<= {TARGET_P95_MS}", pg.page.p95 <= TARGET_P95_MS),
        ("page worst (ms)", lambda r: r.page.worst, "{:.0f}", "", None),
        ("page CPU p50 / p95 (ms)",
         lambda r: f"{r.page.cpu_p50:.1f} / {r.page.cpu_p95:.1f}", "{}", "", None),
        ("page p50 / p95, answers remembered (ms)",
         lambda r: f"{r.page_remembered.p50:.1f} / {r.page_remembered.p95:.1f}",
         "{}", "", None),
        ("model p50 / p95 (ms)", lambda r: f"{r.model.p50:.1f} / {r.model.p95:.1f}",
         "{}", "", None),
        ("cold: first request after the refresh's warm step (s)",
         lambda r: r.cold.first_request, "{:.2f}",
         f"<= {TARGET_COLD_S}", pg.cold.first_request <= TARGET_COLD_S),
        ("cold: refresh's warm step (s)", lambda r: r.cold.warm_seconds, "{:.1f}",
         "", None),
        ("raw build, no snapshot: columns / keyword postings (s)",
         lambda r: f"{r.cold.dataset_build:.1f} / {r.cold.keywords_build:.1f}",
         "{}", "", None),
        ("naive p50 / p95 (ms)", lambda r: f"{r.naive.p50:.0f} / {r.naive.p95:.0f}",
         "{}", "", None),
        ("naive / page, p50 ratio", lambda r: r.naive.p50 / r.page_sample.p50,
         "{:.0f}x", "", None),
        ("bench process RSS after mix (MB)", lambda r: r.process_rss_mb, "{:.0f}",
         "", None),
    ]  # fmt: skip
    for label, pick, fmt, target, passed in rows:
        pg_value, sq_value = both(pick, fmt)
        lines.append(f"| {label} | {pg_value} | {sq_value} | {target} | "
                     f"{verdict(passed)} |")  # fmt: skip
    lines.extend(_load_rows(load))
    lines.append("")
    lines.append(load_note)
    return "\n".join(lines) + "\n"


def make_load_block(vacancies: int, load: LoadReport) -> str:
    """A load-test-only run (`--only-load`): its rows and its note."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"### {when}: {vacancies:,} vacancies, load test only",
        "",
        f"Load average {os.getloadavg()[0]:.1f} at the end. Code: {describe_code()}.",
        "",
        "| measure | PostgreSQL | SQLite | target | result (PostgreSQL) |",
        "|---|---|---|---|---|",
        *_load_rows(load),
        "",
        describe_load(load, None),
    ]
    return "\n".join(lines) + "\n"


def _load_rows(load: LoadReport | None) -> list[str]:
    if load is None:
        return []
    rows = []
    worst_rss = max(load.worker_rss_mb) if load.worker_rss_mb else None
    p95_steady = load.latency("steady", 95)
    p95_refresh = load.latency("refresh", 95)
    rows.append(
        f"| load: HTTP cold first request (s) | {load.cold_first_seconds:.2f} | - | "
        f"<= {TARGET_COLD_S} | {verdict(load.cold_first_seconds <= TARGET_COLD_S)} |"
    )
    for phase, p95 in (("steady", p95_steady), ("refresh", p95_refresh)):
        samples = len(load.phase_samples(phase))
        p50 = load.latency(phase, 50)
        errors = load.count(phase, "error")
        rows.append(
            f"| load {phase}: requests / p50 / p95 (s) | {samples} / "
            f"{_seconds(p50)} / {_seconds(p95)} | - | p95 <= {TARGET_LOAD_P95_S} | "
            f"{verdict(p95 is not None and p95 <= TARGET_LOAD_P95_S)} |"
        )
        rows.append(
            f"| load {phase}: errors / maintenance 503 | {errors} / "
            f"{load.count(phase, 'maintenance')} | - | 0 errors | "
            f"{verdict(errors == 0)} |"
        )
    rss = ", ".join(f"{mb:.0f}" for mb in load.worker_rss_mb)
    rows.append(
        f"| gunicorn worker RSS after load (MB) | {rss} | - | < {TARGET_RSS_MB} | "
        f"{verdict(worst_rss is not None and worst_rss < TARGET_RSS_MB)} |"
    )
    return rows


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def describe_load(load: LoadReport | None, error: str | None) -> str:
    if load is None:
        return f"Load test not run: {error or 'skipped'}."
    examples = "; ".join(load.error_examples) or "none"
    return (
        f"Load test: {load.users} {load.access}, each changing a filter after an "
        f"exponential think time of 5 s on average, through {load.route}; gunicorn "
        "with 2 sync workers on 127.0.0.1, a copy of the PostgreSQL database. "
        "Phase *refresh*: `python -m etl.refresh --days 2` against a local fake "
        f"hh.ru writes while the users go on (exit {load.refresh_exit}, "
        f"{load.refresh_seconds:.0f} s); a maintenance 503 is counted apart. "
        f"Error examples: {examples}."
    )


def append_run(block: str) -> None:
    """Add the run at the end of this section, keeping the other sections."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    found = pattern.search(text)
    if found is None:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n{SECTION_INTRO}\n\n{block}"
    else:
        mine = found.group(0).rstrip("\n") + "\n\n" + block + "\n"
        text = text[: found.start()] + mine + text[found.end() :]
    RESULTS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--quick", action="store_true", help="100,000 vacancies")
    parser.add_argument("--vacancies", type=int, metavar="N")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument(
        "--profile", action="store_true", help="print cProfile of the page mix"
    )
    parser.add_argument(
        "--no-write", action="store_true", help="do not append to RESULTS.md"
    )
    parser.add_argument(
        "--only-load", action="store_true", help="run the load test alone"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # One line per selection would bury the figures.
    logging.getLogger("dashboard.analytics").setLevel(logging.WARNING)
    vacancies = args.vacancies or (QUICK_VACANCIES if args.quick else FULL_VACANCIES)
    started = time.monotonic()
    WORK_DIR.mkdir(parents=True, exist_ok=True)

    try:
        postgres = ensure_bench_database("postgres", vacancies)
    except BenchDataError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1

    engine = make_engine(postgres.url)
    with Session(engine) as session:
        mix = make_filter_mix(get_mix_choices(session), MIX_SIZE)
    engine.dispose()

    if args.only_load:
        load = run_load_test(
            postgres.url.rsplit("/", 1)[1],
            mix,
            users=LOAD_USERS,
            steady_seconds=60 if args.quick else 120,
            refresh_vacancies=5_000 if args.quick else 20_000,
            work_dir=WORK_DIR / "load",
        )
        print(make_load_block(vacancies, load))
        if not args.no_write:
            append_run(make_load_block(vacancies, load))
        return 0

    results = [measure_backend(postgres, mix, WORK_DIR)]
    if args.profile:
        settings = bench_settings(postgres.url, WORK_DIR)
        print(profile_page_mix(settings, mix))
    if not args.skip_sqlite:
        # Built from the PostgreSQL database, so it comes second.
        sqlite = ensure_bench_database("sqlite", vacancies)
        results.append(measure_backend(sqlite, mix, WORK_DIR))
    clear_dataset_cache()

    load, load_error = None, None
    if not args.skip_load:
        try:
            load = run_load_test(
                postgres.url.rsplit("/", 1)[1],
                mix,
                users=LOAD_USERS,
                steady_seconds=60 if args.quick else 120,
                refresh_vacancies=5_000 if args.quick else 20_000,
                work_dir=WORK_DIR / "load",
            )
        except LoadTestError as error:
            load_error = str(error)
            logger.error("load test failed: %s", error)

    block = make_run_block(
        vacancies,
        results,
        load,
        describe_load(load, load_error),
        time.monotonic() - started,
    )
    print(block)
    if not args.no_write:
        append_run(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())

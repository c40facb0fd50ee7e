"""`python -m etl.refresh`: download hh.ru vacancies of a scope into the database.

Phases: reference (areas, roles, dictionaries), planning (slices of at most
2,000 items), downloading (pages to a staging file), writing (one transaction
under the maintenance flag). Exit codes: 0 complete, 1 failed or cancelled,
2 locked by another refresh, 3 partial.
"""

from __future__ import annotations

import argparse
import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import orjson
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from auth.journal import save_event
from auth.refreshes import DEAD_RUN_ERROR
from auth.refreshes import MAX_HH_ID
from auth.refreshes import is_hh_id
from etl.client import ClientConfig
from etl.client import HHCancelled
from etl.client import HHClient
from etl.client import HHError
from etl.client import HHFatalError
from etl.load import ClosingScope
from etl.load import RefreshLock
from etl.load import RefreshLockedError
from etl.load import Staging
from etl.load import collecting_garbage_rarely
from etl.load import open_staging
from etl.load import open_write_session
from etl.load import roll_back_final_write
from etl.load import save_data_written
from etl.load import save_maintenance_heartbeat
from etl.load import save_maintenance_off
from etl.load import save_maintenance_on
from etl.load import save_staged_refresh
from etl.plan import CrawlPlan
from etl.plan import Scope
from etl.plan import estimate_requests
from etl.plan import iter_leaf_pages
from etl.plan import plan_crawl
from etl.reference import area_children
from etl.reference import area_descendants
from etl.reference import read_currency_rates
from etl.reference import save_areas
from etl.reference import save_dictionaries
from etl.reference import save_professional_roles
from etl.reference import searchable_role_ids
from etl.stagers import Pages
from etl.stagers import StagerError
from etl.stagers import StagerPool
from etl.stagers import default_stager_count
from etl.stagers import open_pages
from etl.stagers import start_stagers
from etl.transform import RefreshContext
from etl.validate import RejectTally
from etl.validate import format_db_time
from services.db import is_sqlite
from services.db import make_engine
from services.schema import RefreshRun
from services.settings import MAX_REFRESH_STAGERS
from services.settings import Settings
from services.settings import SettingsError
from services.timeutil import MOSCOW
from services.timeutil import to_naive_utc
from services.timeutil import utc_now

logger = logging.getLogger(__name__)

EXIT_COMPLETE = 0
EXIT_FAILED = 1
EXIT_LOCKED = 2
EXIT_PARTIAL = 3

TRIGGERS = ("cli", "admin", "first_start")
HEARTBEAT_SECONDS = 1.0
LOG_PROGRESS_SECONDS = 10.0
# Items of one leaf get seq = leaf * LEAF_SEQ_SPAN + page * 100 + position.
LEAF_SEQ_SPAN = 10_000
WINDOW_START = date(2000, 1, 1)


class UsageError(Exception):
    """The command line cannot be understood; exits 1 with the message."""


class RefreshCancelledError(Exception):
    """SIGTERM, SIGINT or a cancel from the admin page."""


class RefreshFailedError(Exception):
    """The refresh cannot go on; the message says what to fix."""


# --- command line ---------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(message)


def _moscow_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a YYYY-MM-DD date"
        ) from None


def _whole_number(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} must not be negative")
    return number


def _stager_count(value: str) -> int:
    number = _whole_number(value)
    if number > MAX_REFRESH_STAGERS:
        raise argparse.ArgumentTypeError(
            f"{value!r} is more than {MAX_REFRESH_STAGERS} processes"
        )
    return number


def _hh_id(value: str) -> int:
    number = int(value)
    if not is_hh_id(number):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an hh.ru id (1 to {MAX_HH_ID})"
        )
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be above zero")
    return number


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m etl.refresh",
        description="Download hh.ru vacancies of a scope into the database.",
        exit_on_error=False,
    )
    parser.add_argument(
        "--area",
        type=_hh_id,
        action="append",
        metavar="ID",
        help="hh area id, repeatable (default 113, Russia)",
    )
    parser.add_argument(
        "--role",
        type=_hh_id,
        action="append",
        metavar="ID",
        help="professional role id, repeatable (default all)",
    )
    parser.add_argument(
        "--days",
        type=_whole_number,
        metavar="N",
        help="from the start of the Moscow day N days ago to now",
    )
    parser.add_argument(
        "--date-from",
        type=_moscow_date,
        metavar="YYYY-MM-DD",
        help="first Moscow publication day, inclusive",
    )
    parser.add_argument(
        "--date-to",
        type=_moscow_date,
        metavar="YYYY-MM-DD",
        help="last Moscow publication day, inclusive",
    )
    parser.add_argument(
        "--database-url", metavar="URL", help="target database (default DATABASE_URL)"
    )
    parser.add_argument(
        "--workers",
        type=_whole_number,
        metavar="N",
        help="requests in flight at most (default 4, HH_WORKERS)",
    )
    parser.add_argument(
        "--rate",
        type=_positive_float,
        metavar="R",
        help="requests per second for all workers together (default 5, HH_RATE)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="S",
        help="seconds per request (default 10, HH_TIMEOUT)",
    )
    parser.add_argument(
        "--retries",
        type=_whole_number,
        metavar="N",
        help="retries after the first attempt on 429, 5xx, "
        "timeouts and dropped connections (default 5, "
        "HH_RETRIES)",
    )
    parser.add_argument(
        "--stagers",
        type=_stager_count,
        metavar="N",
        help="processes that parse and normalise pages on PostgreSQL, at most "
        f"{MAX_REFRESH_STAGERS}; 1 stages on the refresh process, 0 means one per "
        "core up to 4 (the default, REFRESH_STAGERS)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan; take no lock, write nothing",
    )
    return parser  # fmt: skip


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line; raise UsageError for anything malformed."""
    try:
        args = make_parser().parse_args(argv)
    except argparse.ArgumentError as error:
        raise UsageError(str(error)) from None
    if args.days is not None and (args.date_from or args.date_to):
        raise UsageError("--days cannot be combined with --date-from/--date-to")
    if args.date_to and not args.date_from:
        raise UsageError("--date-to needs --date-from")
    if args.date_from and args.date_to and args.date_from > args.date_to:
        raise UsageError("--date-from is after --date-to")
    if args.workers == 0:
        raise UsageError("--workers must be at least 1")
    return args


def make_scope(args: argparse.Namespace, now: datetime) -> Scope:
    """The refresh's scope; dates are Moscow dates, both ends inclusive."""
    moscow_today = now.astimezone(MOSCOW).date()
    date_from = date_to = None
    if args.days is not None:
        date_from = _moscow_midnight(moscow_today - timedelta(days=args.days))
    elif args.date_from:
        date_from = _moscow_midnight(args.date_from)
        if args.date_to:
            date_to = _moscow_midnight(args.date_to + timedelta(days=1)) - timedelta(
                seconds=1
            )
    return Scope(
        areas=tuple(args.area or (113,)),
        roles=tuple(args.role or ()),
        date_from=date_from,
        date_to=date_to,
    )


def _moscow_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=MOSCOW)


def apply_options(settings: Settings, args: argparse.Namespace) -> Settings:
    """Command-line options win over their environment twins."""
    overrides = {
        "database_url": args.database_url,
        "hh_workers": args.workers,
        "hh_rate": args.rate,
        "hh_timeout": args.timeout,
        "hh_retries": args.retries,
        "refresh_stagers": args.stagers,
    }
    chosen = {key: value for key, value in overrides.items() if value is not None}
    if "database_url" in chosen:
        from services.settings import normalise_database_url

        chosen["database_url"] = normalise_database_url(chosen["database_url"])
    return replace(settings, **chosen)


def describe_scope(scope: Scope) -> dict:
    return {
        "areas": list(scope.areas),
        "roles": list(scope.roles),
        "date_from": scope.date_from.isoformat() if scope.date_from else None,
        "date_to": scope.date_to.isoformat() if scope.date_to else None,
    }


# --- progress ---------------------------------------------------------------------


@dataclass
class Progress:
    """What the admin page and the terminal show while a refresh runs."""

    phase: str = "reference"
    slices_total: int = 0
    slices_done: int = 0
    requests: int = 0
    vacancies: int = 0
    found: int = 0
    eta_seconds: float | None = None
    download_started: float | None = None

    def as_dict(self) -> dict:
        return {
            "phase": self.phase,
            "slices_total": self.slices_total,
            "slices_done": self.slices_done,
            "requests": self.requests,
            "vacancies": self.vacancies,
            "found": self.found,
            "eta_seconds": self.eta_seconds,
        }

    def update_eta(self) -> None:
        # The estimate is of the download; the write after it has none.
        downloading = self.phase == "downloading" and self.download_started is not None
        if not downloading or self.vacancies == 0:
            self.eta_seconds = None
            return
        elapsed = time.monotonic() - self.download_started
        remaining = max(self.found - self.vacancies, 0)
        self.eta_seconds = round(elapsed / self.vacancies * remaining, 1)

    def vacancies_per_second(self) -> float:
        if self.download_started is None:
            return 0.0
        elapsed = max(time.monotonic() - self.download_started, 1e-6)
        return self.vacancies / elapsed

    def line(self) -> str:
        eta = "?" if self.eta_seconds is None else f"{self.eta_seconds:.0f}s"
        return (
            f"{self.phase}: slices {self.slices_done}/{self.slices_total}, "
            f"requests {self.requests}, vacancies {self.vacancies}/{self.found}, "
            f"{self.vacancies_per_second():.0f}/s, eta {eta}"
        )


class Heartbeat(threading.Thread):
    """Every second: beat the run row, lock and flag, publish progress, poll cancel.

    `hold_writes` stops the database writes while the final write on SQLite
    holds the database (readers then see the write lock instead).
    """

    def __init__(self, runner: RefreshRunner):
        super().__init__(name="refresh-heartbeat", daemon=True)
        self.runner = runner
        self.engine = make_engine(runner.settings.database_url)
        self.stopped = threading.Event()
        self.hold_writes = threading.Event()
        self.on_tty = sys.stderr.isatty()
        self.last_log = 0.0

    def run(self) -> None:
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            try:
                self.beat()
            except SQLAlchemyError as error:
                logger.warning("heartbeat not written: %s", error)
            self.report()

    def beat(self) -> None:
        runner = self.runner
        runner.refresh_progress_numbers()
        if self.hold_writes.is_set():
            return
        now = utc_now()
        with Session(self.engine) as session:
            run = session.get(RefreshRun, runner.run_id)
            if run is not None and run.cancel_requested:
                runner.cancel_event.set()
            session.execute(
                update(RefreshRun)
                .where(RefreshRun.id == runner.run_id)
                .values(heartbeat_at=now, progress=runner.progress.as_dict())
            )
            runner.lock.beat(session, now)
            save_maintenance_heartbeat(session, runner.run_id, now)
            session.commit()

    def report(self) -> None:
        line = self.runner.progress.line()
        if self.on_tty:
            sys.stderr.write("\r" + line.ljust(100))
            sys.stderr.flush()
        elif time.monotonic() - self.last_log >= LOG_PROGRESS_SECONDS:
            self.last_log = time.monotonic()
            logger.info("progress %s", line)

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive():
            self.join()
        if self.on_tty:
            sys.stderr.write("\n")
        self.engine.dispose()


# --- the refresh ------------------------------------------------------------------


@dataclass
class Outcome:
    status: str
    exit_code: int
    counts: dict = field(default_factory=dict)
    error: str | None = None
    detail: str | None = None  # the summary line when there are no counts


class RefreshRunner:
    """One refresh: lock, fetch, plan, download, write, report."""

    def __init__(
        self,
        settings: Settings,
        scope: Scope,
        trigger: str = "cli",
        started_by: str | None = None,
        pause_file: Path | None = None,
        client_config: ClientConfig | None = None,
    ):
        self.settings = settings
        self.scope = scope
        self.trigger = trigger if trigger in TRIGGERS else "cli"
        self.started_by = started_by
        self.pause_file = pause_file
        self.client_config = client_config or ClientConfig.from_settings(settings)
        self.engine = make_engine(settings.database_url)
        self.lock = RefreshLock(self.engine, settings.maintenance_stale_seconds)
        self.cancel_event = threading.Event()
        self.progress = Progress()
        self.run_id: int | None = None
        self.client: HHClient | None = None
        self.stagers: StagerPool | None = None
        self.rejects = RejectTally()
        self.context: RefreshContext | None = None
        self.failed_slices = 0
        self.started = time.monotonic()
        self.now = utc_now()

    def refresh_progress_numbers(self) -> None:
        if self.client is not None:
            self.progress.requests = self.client.requests_made
        self.progress.update_eta()

    # -- run row --

    def _create_run(self, session: Session) -> RefreshRun:
        self._fail_dead_runs(session)
        run = RefreshRun(
            started_at=self.now,
            heartbeat_at=self.now,
            status="running",
            trigger=self.trigger,
            scope=describe_scope(self.scope),
            progress=self.progress.as_dict(),
            pid=os.getpid(),
            started_by=self.started_by,
            cancel_requested=False,
        )
        session.add(run)
        session.flush()
        if self.trigger != "admin":
            # The admin page journals the runs it starts, with the admin's IP.
            save_event(session, "refresh_start", self.journal_details(run.id),
                       login=self.started_by)  # fmt: skip
        return run

    def journal_details(self, run_id: int, outcome: Outcome | None = None) -> dict:
        details = {"run": run_id, "trigger": self.trigger}
        if outcome is None:
            # Empty lists and None mean "everything" and would only clutter it.
            scope = describe_scope(self.scope)
            return details | {key: value for key, value in scope.items() if value}
        counts = outcome.counts
        details["status"] = outcome.status
        for key in ("vacancies", "new", "reopened", "closed", "requests",
                    "failed_requests", "duplicates", "seconds"):  # fmt: skip
            if key in counts:
                details[key] = counts[key]
        details["rejects"] = sum((counts.get("rejects") or {}).values())
        return details

    def _fail_dead_runs(self, session: Session) -> None:
        # Called while holding the lock: a run still marked running cannot be
        # alive, so its row is closed and its maintenance flag lowered.
        dead = session.query(RefreshRun).filter(RefreshRun.status == "running").all()
        for run in dead:
            run.status = "failed"
            run.finished_at = self.now
            run.error = DEAD_RUN_ERROR
            save_maintenance_off(session, run.id)
            logger.info("run %d was left running by a dead process: failed", run.id)

    def _save_outcome(self, session: Session, outcome: Outcome) -> None:
        self.progress.phase = "done"
        self.refresh_progress_numbers()
        session.execute(
            update(RefreshRun)
            .where(RefreshRun.id == self.run_id)
            .values(status=outcome.status, finished_at=utc_now(),
                    heartbeat_at=utc_now(), counts=outcome.counts,
                    error=outcome.error, progress=self.progress.as_dict())
        )  # fmt: skip
        save_event(session, "refresh_end", self.journal_details(self.run_id, outcome),
                   login=self.started_by)  # fmt: skip

    # -- the whole run --

    def run(self) -> Outcome:
        """Run the refresh and return its outcome (the run row is already saved)."""
        try:
            run = self.lock.acquire(self._create_run)
        except RefreshLockedError as error:
            holder = error.holder_run_id
            return Outcome(
                "locked", EXIT_LOCKED, error=str(error),
                detail=f"held by run {holder}" if holder else "held by another process",
            )  # fmt: skip
        self.run_id = run.id
        logger.info("refresh run %d started: %s", run.id, describe_scope(self.scope))

        heartbeat = Heartbeat(self)
        heartbeat.start()
        staging = open_staging(self.engine, self.settings.instance_dir / "staging")
        outcome = None
        try:
            self.stagers = start_stagers(
                self.engine, self.settings.refresh_stagers or default_stager_count()
            )
            outcome = self._refresh(staging, heartbeat)
        except (RefreshCancelledError, HHCancelled):
            outcome = Outcome("cancelled", EXIT_FAILED, error="cancelled")
        except (
            HHError, RefreshFailedError, StagerError, SQLAlchemyError, OSError
        ) as error:  # fmt: skip
            logger.error("refresh run %d failed: %s", run.id, error)
            outcome = Outcome("failed", EXIT_FAILED, error=str(error))
        finally:
            heartbeat.stop()
            if self.stagers is not None:
                self.stagers.close()
            staging.close()
            if self.client is not None:
                self.client.close()
            if outcome is None or outcome.status in ("failed", "cancelled"):
                outcome = outcome or Outcome("failed", EXIT_FAILED, error="interrupted")
                outcome.counts = self.summarise(outcome.counts)
                self._save_failure(outcome)
            self.lock.release()
            self.engine.dispose()
        return outcome

    def _save_failure(self, outcome: Outcome) -> None:
        with Session(self.engine) as session:
            save_maintenance_off(session, self.run_id)
            self._save_outcome(session, outcome)
            session.commit()

    def check_cancel(self) -> None:
        if self.cancel_event.is_set():
            raise RefreshCancelledError()

    def _refresh(self, staging: Staging, heartbeat: Heartbeat) -> Outcome:
        self.client = HHClient(self.client_config, cancel_event=self.cancel_event)
        areas, roles, dictionaries = self.fetch_reference()
        self.check_cancel()

        self.progress.phase = "planning"
        plan = self.make_plan(areas, roles)
        self.check_cancel()

        self.progress.phase = "downloading"
        context = self.context = RefreshContext(
            rates=read_currency_rates(dictionaries), now=format_db_time(self.now)
        )
        with collecting_garbage_rarely():
            self.download(plan, staging, context)
        staging.save_labels(context.labels)
        children = area_children(areas)
        staging.save_scope_areas(sorted(area_descendants(children, self.scope.areas)))
        duplicates = staging.settle_duplicates()

        complete = self.failed_slices == 0 and not plan.truncated
        if staging.unique == 0 and self.failed_slices:
            raise RefreshFailedError(
                f"no slice could be downloaded ({self.failed_slices} failed); "
                "check HH_API_URL and the network"
            )
        self.progress.phase = "writing"
        counts = {"duplicates": duplicates, "truncated": len(plan.truncated),
                  "expected": plan.expected, "found": plan.scope_found,
                  "probes": plan.probes, "slices": len(plan.leaves)}  # fmt: skip
        return self.write(
            staging, heartbeat, complete, counts, (areas, roles, dictionaries)
        )

    def fetch_reference(self):
        areas = self.client.fetch_areas()
        roles = self.client.fetch_professional_roles()
        dictionaries = self.client.fetch_dictionaries()
        logger.info("reference fetched: %d root areas, %d role categories",
                    len(areas), len(roles.get("categories") or ()))  # fmt: skip
        return areas, roles, dictionaries

    def make_plan(self, areas, roles) -> CrawlPlan:
        plan = plan_crawl(
            self.client, self.scope, area_children(areas), searchable_role_ids(roles)
        )
        self.progress.slices_total = len(plan.leaves)
        self.progress.found = plan.scope_found
        logger.info(
            "plan: %d slices, %d expected of %d found, %d probes, %d truncated",
            len(plan.leaves), plan.expected, plan.scope_found, plan.probes,
            len(plan.truncated),
        )  # fmt: skip
        return plan

    # -- downloading --

    def download(self, plan: CrawlPlan, staging: Staging, context) -> None:
        """Fetch every leaf's pages on worker threads; stage them as they come."""
        pages = open_pages(staging, context, self.rejects, self.stagers)
        self._download_into(plan, pages)
        pages.finish()
        self.progress.vacancies = staging.staged

    def _download_into(self, plan: CrawlPlan, staged_pages: Pages) -> None:
        self.progress.download_started = time.monotonic()
        pages: queue.Queue = queue.Queue(maxsize=max(self.settings.hh_workers, 1) * 4)
        executor = ThreadPoolExecutor(max_workers=max(self.settings.hh_workers, 1))
        for index in range(len(plan.leaves)):
            executor.submit(self._crawl_leaf, plan, index, pages)
        try:
            finished = 0
            while finished < len(plan.leaves):
                self.check_cancel()
                try:
                    kind, index, payload = pages.get(timeout=0.2)
                except queue.Empty:
                    continue
                if kind == "page":
                    self.stage_page(index, payload, staged_pages)
                else:
                    finished += 1
                    self.finish_leaf(index, payload)
        except BaseException:
            # Workers stop at their next page instead of crawling on.
            self.cancel_event.set()
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        executor.shutdown()

    def _crawl_leaf(self, plan: CrawlPlan, index: int, pages: queue.Queue) -> None:
        error = None
        try:
            for page, envelope in enumerate(iter_leaf_pages(self.client, plan, index)):
                if self.cancel_event.is_set():
                    return
                # Stagers take the page as bytes; encoding it here keeps the
                # work off the thread that stages.
                self._put(pages, ("page", index, (page, orjson.dumps(envelope))))
        except HHError as failure:
            error = failure
        self._put(pages, ("done", index, error))

    def _put(self, pages: queue.Queue, message) -> None:
        while not self.cancel_event.is_set():
            try:
                pages.put(message, timeout=0.2)
                return
            except queue.Full:
                continue

    def stage_page(self, index: int, payload, staged_pages: Pages) -> None:
        page, content = payload
        staged_pages.save_page(content, index * LEAF_SEQ_SPAN + page * 100)
        self.progress.vacancies = staged_pages.staging.staged

    def finish_leaf(self, index: int, error) -> None:
        self.progress.slices_done += 1
        if error is None or isinstance(error, HHCancelled):
            return
        if isinstance(error, HHFatalError):
            raise error
        self.failed_slices += 1
        logger.warning("slice %d failed after retries: %s", index, error)

    # -- writing --

    def write(self, staging, heartbeat, complete, counts, reference) -> Outcome:
        """The final write: flag on, merge, flag off and outcome, one commit."""
        areas, roles, dictionaries = reference
        with Session(self.engine, expire_on_commit=False) as session:
            save_maintenance_on(session, self.run_id, utc_now())
            # Readers see this progress on the maintenance page; on SQLite the
            # heartbeat cannot publish it once the write holds the database.
            self._save_progress(session)
            session.commit()
        closing = self.closing_scope() if complete else None
        if is_sqlite(self.engine):
            heartbeat.hold_writes.set()

        with open_write_session(self.engine, staging) as session:
            try:
                counts["areas_written"] = save_areas(session, areas, self.now)
                counts["roles_written"] = save_professional_roles(session, roles)
                save_dictionaries(session, dictionaries, self.now)
                merged = save_staged_refresh(
                    session, staging, self.now, closing, real_data=True
                )
                self.wait_at_pause_hook()
                self.check_cancel()
                heartbeat.stop()
                counts.update(merged.as_dict())
                status = "complete" if complete else "partial"
                outcome = Outcome(
                    status, EXIT_COMPLETE if complete else EXIT_PARTIAL,
                    counts=self.summarise(counts),
                )  # fmt: skip
                save_data_written(session, self.run_id, "real", self.now)
                save_maintenance_off(session, self.run_id)
                self._save_outcome(session, outcome)
                session.commit()
            except BaseException:
                roll_back_final_write(session, staging)
                raise
        return outcome

    def _save_progress(self, session: Session) -> None:
        self.refresh_progress_numbers()
        session.execute(
            update(RefreshRun)
            .where(RefreshRun.id == self.run_id)
            .values(progress=self.progress.as_dict())
        )

    def closing_scope(self) -> ClosingScope:
        date_from = self.scope.date_from or _moscow_midnight(WINDOW_START)
        date_to = to_naive_utc(self.scope.date_to) if self.scope.date_to else self.now
        return ClosingScope(
            role_ids=tuple(self.scope.roles),
            published_from=to_naive_utc(date_from),
            published_to=date_to,
        )

    def wait_at_pause_hook(self) -> None:
        """Test hook: hold the finished merge uncommitted until released.

        With HH_REFRESH_PAUSE_FILE=<path>, creates `<path>.waiting` and waits
        until `<path>` exists or `<path>.waiting` is removed.
        """
        if self.pause_file is None:
            return
        waiting = Path(f"{self.pause_file}.waiting")
        waiting.write_text(str(self.run_id))
        logger.info("paused before commit; waiting for %s", self.pause_file)
        while waiting.exists() and not self.pause_file.exists():
            self.check_cancel()
            time.sleep(0.05)
        waiting.unlink(missing_ok=True)

    def summarise(self, counts: dict) -> dict:
        """The end-of-run summary: slices, requests, vacancies, duplicates, rejects,
        coverage = loaded / found, seconds."""
        summary = dict(counts)
        vacancies = summary.get("written", 0)
        found = summary.get("found", self.progress.found)
        summary.update(
            slices=summary.get("slices", self.progress.slices_total),
            failed_slices=self.failed_slices,
            requests=self.client.requests_made if self.client else 0,
            failed_requests=self.client.failed_requests if self.client else 0,
            vacancies=vacancies,
            rejects=self.rejects.as_dict(),
            salary_excluded=(
                self.context.salary_exclusions.as_dict() if self.context else {}
            ),
            coverage=round(vacancies / found, 4) if found else None,
            seconds=round(time.monotonic() - self.started, 2),
        )
        return summary


# --- dry run and entry point ----------------------------------------------------


def print_plan(settings: Settings, scope: Scope) -> None:
    """Probe and print the plan; no lock, no database."""
    client = HHClient(ClientConfig.from_settings(settings))
    try:
        areas = client.fetch_areas()
        roles = client.fetch_professional_roles()
        plan = plan_crawl(
            client, scope, area_children(areas), searchable_role_ids(roles)
        )
        print(f"scope: {describe_scope(scope)}")
        print(f"slices: {len(plan.leaves)}")
        print(f"expected vacancies: {plan.expected} (found {plan.scope_found})")
        print(f"estimated requests: {estimate_requests(plan)}")
        for gap in plan.truncated:
            print(f"truncated: {gap}")
    finally:
        client.close()


def print_summary(outcome: Outcome) -> None:
    counts = outcome.counts
    parts = [
        f"{key} {counts.get(key)}"
        for key in ("slices", "requests", "vacancies", "duplicates", "rejects",
                    "salary_excluded", "coverage", "new", "reopened", "closed",
                    "seconds")
        if key in counts
    ]  # fmt: skip
    print(f"refresh {outcome.status}: " + (", ".join(parts) or outcome.detail or ""))
    if outcome.error:
        print(f"Error: {outcome.error}", file=sys.stderr)


def describe_unusable_database(error: SQLAlchemyError) -> str:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return (
        f"Error: the database cannot record a refresh: {reason}. Check "
        "DATABASE_URL or --database-url, and migrate that database first: "
        "DATABASE_URL=... python -m etl.bootstrap --migrate-only"
    )


def _raise_cancelled(signum, _frame) -> None:
    raise RefreshCancelledError(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit code."""
    from app import configure_logging

    configure_logging()
    try:
        args = parse_args(argv)
        settings = apply_options(Settings.from_env(), args)
    except (UsageError, SettingsError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return EXIT_FAILED
    if not settings.hh_user_agent:
        print(
            "Error: HH_USER_AGENT is not set; hh.ru needs an app name and a contact "
            "e-mail, e.g. HH_USER_AGENT='MyAnalytics/1.0 (me@example.org)'",
            file=sys.stderr,
        )
        return EXIT_FAILED
    scope = make_scope(args, datetime.now(MOSCOW))

    if args.dry_run:
        try:
            print_plan(settings, scope)
        except HHError as error:
            print(f"Error: {error}", file=sys.stderr)
            return EXIT_FAILED
        return EXIT_COMPLETE

    pause = os.environ.get("HH_REFRESH_PAUSE_FILE")
    runner = RefreshRunner(
        settings,
        scope,
        trigger=os.environ.get("HH_REFRESH_TRIGGER", "cli"),
        started_by=os.environ.get("HH_REFRESH_STARTED_BY") or None,
        pause_file=Path(pause) if pause else None,
    )
    previous = {sig: signal.signal(sig, _raise_cancelled)
                for sig in (signal.SIGTERM, signal.SIGINT)}  # fmt: skip
    try:
        outcome = runner.run()
    except SQLAlchemyError as error:
        # Failures after the run row exists are part of the outcome; this is
        # a database the refresh cannot even record its run in.
        print(describe_unusable_database(error), file=sys.stderr)
        return EXIT_FAILED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print_summary(outcome)
    if outcome.status in ("complete", "partial"):
        warm_new_data_version(settings)
    return outcome.exit_code


def warm_new_data_version(settings: Settings) -> None:
    """Build the written data version's snapshot and keyword postings now.

    Web workers that see the new version wait on the snapshot build lock
    and then map the result, instead of each building it on a user's
    request. The data is already committed, so a failure here changes
    nothing for the refresh's exit code: the app builds on first use.
    """
    from services.dataset import warm_dataset

    engine = make_engine(settings.database_url)
    try:
        warm_dataset(engine, settings)
    except Exception:
        logger.exception("the new data version's snapshot was not built; "
                         "the web app builds it on first use")  # fmt: skip
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())

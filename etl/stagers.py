"""Search pages staged by several processes at once (PostgreSQL).

Parsing, validating and normalising a page is pure Python and holds one core.
On PostgreSQL a refresh hands its pages to stager processes instead: each
parses a chunk of pages, validates and normalises its items with the same code
as the refresh process would (`etl.load.add_page_rows`), and formats
the staged rows as COPY data. The refresh process only streams that data into
its staging table, so the staging stays on its own connection and the final
write is unchanged. SQLite, and a machine with one core, stage on the refresh
process (`SerialPages`).

A chunk's counts (rejects, salary exclusions) and enum names come back with
its data and are merged in page order, so the run's tallies, labels and logged
first ids are those a single process would produce.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from concurrent.futures import Future
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import orjson
import psycopg
from psycopg import Copy
from psycopg.copy import FileWriter
from sqlalchemy import Engine

from etl.load import PostgresStaging
from etl.load import Staging
from etl.load import add_page_rows
from etl.load import collect_garbage_rarely
from etl.load import save_search_page
from etl.transform import RefreshContext
from etl.transform import StagedRows
from etl.validate import RejectTally

logger = logging.getLogger(__name__)

# Pages per job: large enough that sending a job costs little next to it.
CHUNK_PAGES = 10
# By default one stager per core up to this: more would only wait for the
# single COPY stream.
DEFAULT_MAX_STAGERS = 4
STAGER_DIED = (
    "a stager process stopped unexpectedly (killed, or out of memory); "
    "nothing of this run was written"
)
# A chunk takes tens of milliseconds; a stager silent this long is stuck.
CHUNK_TIMEOUT_SECONDS = 300.0
# How often a stager checks that its refresh still runs.
PARENT_CHECK_SECONDS = 0.5


def default_stager_count() -> int:
    """One stager per core, at most `DEFAULT_MAX_STAGERS`."""
    return min(os.cpu_count() or 1, DEFAULT_MAX_STAGERS)


class StagerError(Exception):
    """A stager process failed; the message carries its error."""


@dataclass
class StagedChunk:
    """What a stager returns for a chunk of pages."""

    staged: int
    copy_data: bytes
    labels: dict[tuple[str, str], str]
    rejects: RejectTally
    salary_exclusions: RejectTally


# --- inside a stager process --------------------------------------------------------

_formatting_cursor: psycopg.Cursor | None = None


def _start_stager(conninfo: str, started) -> None:
    """Set up a stager: a cursor whose only use is psycopg's COPY formatting
    (no statement is ever sent on it), and the collector settings of staging."""
    global _formatting_cursor
    # Ctrl-C and a service manager signal the whole process group: the
    # refresh decides what happens, and its stagers end with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _follow_the_refresh(os.getppid())
    _formatting_cursor = psycopg.connect(conninfo).cursor()
    # The process does nothing but stage pages.
    collect_garbage_rarely()
    started.release()


def _follow_the_refresh(refresh_pid: int) -> None:
    """End this stager soon after the refresh process is gone.

    A refresh killed outright (SIGKILL) cannot stop its stagers, and a stager
    waiting for work would never notice: it holds its own end of the job
    queue. It checks its parent instead.
    """

    def watch() -> None:
        while os.getppid() == refresh_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="follow-refresh", daemon=True).start()


def stage_chunk(
    pages: list[tuple[bytes, int]], rates: dict[str, float], now: str
) -> StagedChunk:
    """Parse, validate and normalise pages (content, first seq); return their
    rows as COPY data for `st_vacancies`."""
    context = RefreshContext(rates=rates, now=now)
    rejects = RejectTally()
    rows = StagedRows()
    for content, first_seq in pages:
        add_page_rows(orjson.loads(content), first_seq, rows, context, rejects)

    buffer = io.BytesIO()
    writer = FileWriter(buffer)
    with Copy(_formatting_cursor, binary=False, writer=writer) as copy:
        for row in rows.vacancies:
            copy.write_row(row)
    return StagedChunk(
        len(rows), buffer.getvalue(), context.labels, rejects, context.salary_exclusions
    )


# --- in the refresh process ---------------------------------------------------------


class StagerPool:
    """`processes` stager processes, started at once so their start-up (about
    half a second each) overlaps what the refresh does before its first page."""

    def __init__(self, conninfo: str, processes: int) -> None:
        self.processes = processes
        # Spawned, not forked: the refresh runs download threads.
        context = multiprocessing.get_context("spawn")
        self.started = context.Semaphore(0)
        self.pool = ProcessPoolExecutor(
            processes,
            mp_context=context,
            initializer=_start_stager,
            initargs=(conninfo, self.started),
        )
        # The pool starts a process per job while none is idle: one small job
        # each starts them all now rather than with the first pages.
        for _ in range(processes):
            self.pool.submit(int)
        logger.info("starting %d stager processes", processes)

    def wait_started(self, timeout: float = 60.0) -> None:
        """Return once every stager is set up; StagerError after `timeout`."""
        for _ in range(self.processes):
            if not self.started.acquire(timeout=timeout):
                raise StagerError(f"stager processes not up after {timeout:.0f} s")

    def submit(self, pages, rates, now) -> Future:
        return self.pool.submit(stage_chunk, pages, rates, now)

    def close(self) -> None:
        """Stop the stagers: chunks not started are dropped, a started one
        (milliseconds of work) is waited for, so no process outlives this."""
        self.pool.shutdown(wait=True, cancel_futures=True)


def start_stagers(engine: Engine, processes: int) -> StagerPool | None:
    """Stager processes for a refresh writing to `engine`: on PostgreSQL when
    more than one is asked for; None means staging on this process."""
    conninfo = conninfo_of(engine)
    if conninfo is None or processes < 2:
        return None
    return StagerPool(conninfo, processes)


class SerialPages:
    """Pages staged on this process, one after the other."""

    def __init__(
        self, staging: Staging, context: RefreshContext, rejects: RejectTally
    ) -> None:
        self.staging = staging
        self.context = context
        self.rejects = rejects

    def save_page(self, content: bytes, first_seq: int) -> None:
        envelope = orjson.loads(content)
        save_search_page(self.staging, envelope, first_seq, self.context, self.rejects)

    def finish(self) -> None:
        """Nothing is pending: every page was staged when it was saved."""


class ParallelPages:
    """Pages staged by a `StagerPool` into a PostgreSQL staging.

    Chunks are sent in page order and their results written in the same
    order; at most two chunks per stager are in flight, so memory stays flat.
    """

    def __init__(
        self,
        staging: PostgresStaging,
        stagers: StagerPool,
        context: RefreshContext,
        rejects: RejectTally,
    ) -> None:
        self.staging = staging
        self.stagers = stagers
        self.context = context
        self.rejects = rejects
        self.rates = dict(context.rates)
        self.limit = 2 * stagers.processes
        self.chunk: list[tuple[bytes, int]] = []
        self.in_flight: deque[Future] = deque()

    def save_page(self, content: bytes, first_seq: int) -> None:
        self.chunk.append((content, first_seq))
        if len(self.chunk) >= CHUNK_PAGES:
            self._send_chunk()
        # Chunks already done are written now, so the refresh's progress
        # follows its downloads.
        while self.in_flight and self.in_flight[0].done():
            self._write_oldest()

    def _send_chunk(self) -> None:
        if not self.chunk:
            return
        if len(self.in_flight) >= self.limit:
            self._write_oldest()
        try:
            job = self.stagers.submit(self.chunk, self.rates, self.context.now)
        except BrokenProcessPool as error:
            raise StagerError(STAGER_DIED) from error
        self.in_flight.append(job)
        self.chunk = []

    def _write_oldest(self) -> None:
        try:
            chunk: StagedChunk = self.in_flight.popleft().result(CHUNK_TIMEOUT_SECONDS)
        except BrokenProcessPool as error:
            raise StagerError(STAGER_DIED) from error
        except TimeoutError:
            raise StagerError(
                f"a stager process gave no answer in {CHUNK_TIMEOUT_SECONDS:.0f} s"
            ) from None
        except Exception as error:  # noqa: BLE001 - any stager failure ends the run
            raise StagerError(
                f"a stager process failed: {type(error).__name__}: {error}"
            ) from error
        self.staging.save_copy_data(chunk.copy_data, chunk.staged)
        for key, name in chunk.labels.items():
            self.context.labels.setdefault(key, name)
        self.rejects.merge(chunk.rejects)
        self.context.salary_exclusions.merge(chunk.salary_exclusions)

    def finish(self) -> None:
        """Stage what is pending and wait for every chunk."""
        self._send_chunk()
        while self.in_flight:
            self._write_oldest()


Pages = SerialPages | ParallelPages


def conninfo_of(engine: Engine) -> str | None:
    """The libpq address of a PostgreSQL engine, password included (it goes
    to the stagers only); None for SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def open_pages(
    staging: Staging,
    context: RefreshContext,
    rejects: RejectTally,
    stagers: StagerPool | None,
) -> Pages:
    """Pages staged by `stagers` into a PostgreSQL staging, or on this process."""
    if stagers is not None and isinstance(staging, PostgresStaging):
        return ParallelPages(staging, stagers, context, rejects)
    return SerialPages(staging, context, rejects)

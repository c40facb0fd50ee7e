"""Pages staged by stager processes: the same rows, tallies and labels as one
process stages, and a clear error when a stager fails."""

from __future__ import annotations

import gzip
import logging
import multiprocessing
import os
import subprocess
import sys
import time

import orjson
import pytest

from etl.load import PostgresStaging
from etl.stagers import ParallelPages
from etl.stagers import SerialPages
from etl.stagers import StagerError
from etl.stagers import start_stagers
from etl.transform import RefreshContext
from etl.validate import RejectTally
from services.settings import PROJECT_ROOT

NOW = "2026-03-15 09:00:00.000000"
RATES = {"RUR": 1.0, "USD": 0.0125, "EUR": 0.011}


def test_merged_tallies_add_counts_and_keep_the_first_five_ids(caplog):
    caplog.set_level(logging.INFO, logger="etl.validate")
    first, second = RejectTally(), RejectTally()
    for item_id in range(1, 5):
        first.add("no_area", item_id)
    for item_id in range(10, 13):
        second.add("no_area", item_id)
    second.add("no_id", None)
    caplog.clear()

    first.merge(second)

    assert first.as_dict() == {"no_area": 7, "no_id": 1}
    assert first.first_ids == {"no_area": ["1", "2", "3", "4", "10"], "no_id": ["None"]}
    assert [record.getMessage() for record in caplog.records] == [
        "item '10' rejected: no_area",
        "item 'None' rejected: no_id",
    ]


def real_pages(shared_hh, per_page: int = 100) -> list[bytes]:
    """Real search items as pages, with odd items mixed in: a reject, a copy of
    an item with a later date, an unknown currency."""
    path = sorted((shared_hh / "items").glob("*.json.gz"))[0]
    items = orjson.loads(gzip.decompress(path.read_bytes()))[:1_200]
    items[5] = items[5] | {"area": None}
    items[250] = items[7] | {"published_at": "2030-01-01T10:00:00+0300"}
    items[420] = items[420] | {
        "salary": {"from": 100, "to": None, "currency": "XYZ", "gross": None},
        "salary_range": None,
    }
    return [
        orjson.dumps({"items": items[start : start + per_page]})
        for start in range(0, len(items), per_page)
    ]


def stage_all(pages, staging, context, rejects, stagers=None) -> list[tuple]:
    if stagers is None:
        staged_pages = SerialPages(staging, context, rejects)
    else:
        staged_pages = ParallelPages(staging, stagers, context, rejects)
    for number, content in enumerate(pages):
        staged_pages.save_page(content, number * 100)
    staged_pages.finish()
    staging.settle_duplicates()
    rows = staging.connection.exec_driver_sql(
        "SELECT * FROM st_vacancies ORDER BY seq"
    ).all()
    return [tuple(row) for row in rows]


def tallies(rejects: RejectTally, context: RefreshContext) -> tuple:
    exclusions = context.salary_exclusions
    return (rejects.as_dict(), rejects.first_ids, exclusions.as_dict(),
            exclusions.first_ids, context.labels)  # fmt: skip


@pytest.mark.db
def test_stager_processes_stage_what_one_process_stages(engine, shared_hh):
    if engine.dialect.name != "postgresql":
        pytest.skip("stager processes stage into PostgreSQL only")
    pages = real_pages(shared_hh)
    results = []
    stagers = start_stagers(engine, 2)
    try:
        for pool in (None, stagers):
            staging = PostgresStaging(engine)
            context, rejects = RefreshContext(rates=RATES, now=NOW), RejectTally()
            try:
                rows = stage_all(pages, staging, context, rejects, pool)
            finally:
                staging.close()
            results.append(
                (rows, staging.staged, staging.unique, *tallies(rejects, context))
            )
    finally:
        stagers.close()

    serial, parallel = results
    assert len(serial[0]) == 1_198  # 1,200 less the reject and the older copy
    assert serial[3] == {"no_area": 1}
    assert serial[5]["unknown_currency"] >= 1
    assert parallel == serial


@pytest.mark.db
def test_a_failing_stager_ends_with_a_clear_error(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("stager processes stage into PostgreSQL only")
    stagers = start_stagers(engine, 2)
    staging = PostgresStaging(engine)
    try:
        pages = ParallelPages(
            staging, stagers, RefreshContext(rates=RATES, now=NOW), RejectTally()
        )
        pages.save_page(b'{"items": [', 0)

        with pytest.raises(StagerError, match="a stager process failed: .*JSON"):
            pages.finish()
    finally:
        staging.close()
        stagers.close()

    assert multiprocessing.active_children() == []


@pytest.mark.db
def test_a_stager_lost_mid_chunk_ends_with_a_clear_error(engine, shared_hh):
    if engine.dialect.name != "postgresql":
        pytest.skip("stager processes stage into PostgreSQL only")
    stagers = start_stagers(engine, 2)
    stagers.wait_started()
    staging = PostgresStaging(engine)
    try:
        pages = ParallelPages(
            staging, stagers, RefreshContext(rates=RATES, now=NOW), RejectTally()
        )
        content = real_pages(shared_hh)
        # About a second of work, so the stager is busy with it when killed.
        many = [(content[n % len(content)], n * 100) for n in range(400)]
        pages.in_flight.append(stagers.submit(many, RATES, NOW))
        time.sleep(0.3)
        for process in multiprocessing.active_children():
            process.kill()

        with pytest.raises(StagerError, match="stopped unexpectedly"):
            pages.finish()
    finally:
        staging.close()
        stagers.close()


STAGER_HOST = """
import multiprocessing, sys, time
from etl.stagers import start_stagers
from services.db import make_engine
stagers = start_stagers(make_engine(sys.argv[1]), 2)
stagers.wait_started()
print(*[child.pid for child in multiprocessing.active_children()], flush=True)
time.sleep(600)
"""


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.db
def test_stagers_end_soon_after_their_refresh_is_killed(engine, database_url):
    if engine.dialect.name != "postgresql":
        pytest.skip("stager processes stage into PostgreSQL only")
    host = subprocess.Popen(
        [sys.executable, "-c", STAGER_HOST, database_url],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    stager_pids = [int(pid) for pid in host.stdout.readline().split()]
    assert len(stager_pids) == 2

    host.kill()
    host.wait()
    deadline = time.monotonic() + 10
    while any(map(is_running, stager_pids)) and time.monotonic() < deadline:
        time.sleep(0.1)

    host.stdout.close()
    assert not any(map(is_running, stager_pids))


def test_sqlite_and_one_process_need_no_stagers(engine):
    assert start_stagers(engine, 1) is None
    if engine.dialect.name == "sqlite":
        assert start_stagers(engine, 4) is None

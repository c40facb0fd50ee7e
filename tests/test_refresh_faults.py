"""A refresh against a misbehaving hh.ru: what ends up in the database, exactly.

Every test starts from the same previous data (a vacancy the fake no longer
serves, one it serves again after it was closed, one it serves renamed), runs
`python -m etl.refresh` (in-process through `main`, or as a subprocess where the
process itself is killed) and checks the vacancies, the run row, the
maintenance flag, the journal and the exit code.
"""

from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session

from etl import synthetic
from etl.load import RefreshLock
from etl.load import RefreshLockedError
from etl.load import StagingFile
from etl.load import save_data_written
from etl.load import save_staged_refresh
from etl.refresh import main
from etl.transform import RefreshContext
from etl.transform import StagedRows
from etl.transform import add_item_rows
from etl.validate import RejectTally
from etl.validate import check_item
from etl.validate import format_db_time
from services.schema import AppState
from services.schema import JournalEntry
from services.schema import RefreshRun
from services.schema import Salary
from services.schema import Vacancy
from services.state import ensure_app_state
from services.state import is_maintenance_active
from services.timeutil import utc_now
from tests.fakehh.fixtures import SMALL_AREAS
from tests.fakehh.fixtures import SMALL_ROLES
from tests.fakehh.fixtures import make_store
from tests.fakehh.store import ItemStore
from tests.test_refresh import USER_AGENT
from tests.test_refresh import refresh_env
from tests.test_refresh import start_refresh
from tests.test_refresh import wait_for

pytestmark = pytest.mark.db

# 240 served vacancies, ten minutes apart, the newest first: ids 1001..1240.
NEWEST = datetime(2026, 11, 30, 12, 0, tzinfo=synthetic.MOSCOW_OFFSET)
SERVED = 240
SERVED_IDS = set(range(1001, 1001 + SERVED))
SEEDED_AT = datetime(2026, 12, 1, 6, 0)
GONE_ID = 900  # stored open, no longer served: a complete refresh closes it
CLOSED_ID = 1001  # stored closed, served again: reopened
RENAMED_ID = 1002  # stored under an old name, served under the new one
OLD_NAME = "Старое название"
STALE = 120


def make_served_items() -> list[dict]:
    stamps = [int(NEWEST.timestamp()) - rank * 600 for rank in range(SERVED)]
    store = make_store(
        stamps,
        [(1, 2, 3)[rank % 3] for rank in range(SERVED)],
        [(96,)] * SERVED,
    )
    items = []
    for rank in range(SERVED):
        item = store.item_at(SERVED - 1 - rank)
        items.append(item | {"id": str(1001 + rank)})
    return items


SERVED_ITEMS = make_served_items()


def make_previous_items() -> list[dict]:
    gone = SERVED_ITEMS[-1] | {
        "id": str(GONE_ID),
        "published_at": "2026-11-27T09:00:00+0300",
    }
    closed = SERVED_ITEMS[0] | {"archived": True}
    renamed = SERVED_ITEMS[1] | {"name": OLD_NAME}
    return [gone, closed, renamed]


def seed_previous_refresh(engine, tmp_path: Path) -> str:
    """Load the previous data through the load path; return its data version."""
    staging = StagingFile(tmp_path / "seed")
    context = RefreshContext(rates={"RUR": 1.0}, now=format_db_time(SEEDED_AT))
    rows = StagedRows()
    for seq, item in enumerate(make_previous_items()):
        add_item_rows(item, check_item(item, RejectTally()), seq, rows, context)
    staging.save_rows(rows)
    staging.settle_duplicates()
    with Session(engine) as session:
        save_staged_refresh(session, staging, SEEDED_AT, None, real_data=True)
        version = save_data_written(session, None, "real", SEEDED_AT)
        session.commit()
    staging.close()
    return version


@pytest.fixture
def previous(engine, tmp_path) -> str:
    return seed_previous_refresh(engine, tmp_path)


@pytest.fixture
def fake(make_fake_hh):
    return make_fake_hh(store=ItemStore.from_items(SERVED_ITEMS))


@pytest.fixture
def refresh(monkeypatch, database_url, tmp_path, capsys):
    """refresh(fake, *argv, **env) -> (exit code, stdout, stderr), in-process."""

    def run(fake, *argv: str, **extra) -> tuple[int, str, str]:
        settings = {"HH_BACKOFF_BASE": "0.01", "HH_RETRIES": "2"} | extra
        env = refresh_env(database_url, fake.url, tmp_path, **settings)
        for key in ("HH_APP_TOKEN", "HH_REFRESH_PAUSE_FILE", "HH_WORKERS"):
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


# --- what the database holds --------------------------------------------------------


def get_vacancy_state(engine) -> dict[int, tuple[str, bool]]:
    """id -> (name, closed) for every stored vacancy."""
    with Session(engine) as session:
        rows = session.execute(select(Vacancy.id, Vacancy.name, Vacancy.closed_at))
        return {row.id: (row.name, row.closed_at is not None) for row in rows}


def get_run_rows(engine) -> list[tuple]:
    with Session(engine) as session:
        rows = session.execute(
            select(RefreshRun.id, RefreshRun.status).order_by(RefreshRun.id)
        )
        return [tuple(row) for row in rows]


def get_run(engine, run_id: int) -> RefreshRun:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(RefreshRun, run_id)


def get_state(engine) -> tuple:
    with Session(engine) as session:
        state = session.get(AppState, 1)
        return state.maintenance, state.data_version, state.last_run_id


def get_journal(engine) -> list[tuple]:
    with Session(engine) as session:
        rows = session.scalars(select(JournalEntry).order_by(JournalEntry.id))
        return [(row.action, row.details.get("status")) for row in rows]


def expected_after_complete() -> dict[int, tuple[str, bool]]:
    names = {int(item["id"]): item["name"] for item in SERVED_ITEMS}
    state = {vacancy_id: (name, False) for vacancy_id, name in names.items()}
    state[GONE_ID] = (SERVED_ITEMS[-1]["name"], True)
    return state


def expected_previous() -> dict[int, tuple[str, bool]]:
    return {
        GONE_ID: (SERVED_ITEMS[-1]["name"], False),
        CLOSED_ID: (SERVED_ITEMS[0]["name"], True),
        RENAMED_ID: (OLD_NAME, False),
    }


# --- transient faults: retried, the run completes -------------------------------------


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param({"rate_limit_every": 4, "retry_after": None}, id="429"),
        pytest.param({"rate_limit_every": 4, "retry_after": "0.05"},
                     id="429-with-retry-after"),
        pytest.param({"unavailable_every": 4}, id="503"),
        pytest.param({"drop_every": 4}, id="dropped-connection"),
        pytest.param({"truncate_every": 4}, id="truncated-json"),
        pytest.param({"slow_every": 4, "slow_seconds": 3.0}, id="slower-than-timeout"),
    ],
)  # fmt: skip
def test_transient_faults_are_retried_and_the_run_completes(
    fake, previous, refresh, engine, faults
):
    for name, value in faults.items():
        setattr(fake.faults, name, value)

    # Long enough for a healthy answer on a busy machine, short of the 3 s
    # the slow answers take.
    code, out, _ = refresh(fake, HH_TIMEOUT="1.5")

    # 3 reference requests and 3 search pages succeed; every 4th attempt fails
    # and is tried again: 7 attempts, the 4th failing.
    assert code == 0
    assert len(fake.arrivals) == 7
    assert get_vacancy_state(engine) == expected_after_complete()
    run = get_run(engine, 1)
    assert (run.status, run.error) == ("complete", None)
    counts = run.counts
    assert (counts["vacancies"], counts["new"], counts["reopened"]) == (240, 238, 1)
    assert (counts["closed"], counts["requests"], counts["failed_requests"]) == (
        1, 7, 0
    )  # fmt: skip
    maintenance, version, last_run = get_state(engine)
    assert (maintenance, last_run) == (False, 1)
    assert version != previous
    assert get_journal(engine) == [("refresh_start", None), ("refresh_end", "complete")]
    assert "refresh complete: slices 1, requests 7, vacancies 240" in out


def test_item_repeated_across_pages_keeps_its_latest_version(
    fake, previous, refresh, engine
):
    fake.faults.repeat_item = True
    newest = SERVED_ITEMS[0]

    code, _, _ = refresh(fake)

    # Page 1 opens with the newest vacancy again, a minute later and 1,000
    # roubles higher, in place of the 101st: that one is never served.
    assert code == 0
    expected = expected_after_complete()
    del expected[1101]
    assert get_vacancy_state(engine) == expected
    with Session(engine) as session:
        vacancy = session.get(Vacancy, CLOSED_ID)
        salary = session.get(Salary, CLOSED_ID)
    # The newest states no salary; its second version says "from 1,000 RUR".
    assert newest["salary"] is None
    assert vacancy.published_at == datetime(2026, 11, 30, 9, 1)
    assert (salary.salary_from, salary.currency, salary.from_rub) == (
        1000.0, "RUR", 1000.0
    )  # fmt: skip
    counts = get_run(engine, 1).counts
    assert (counts["vacancies"], counts["duplicates"], counts["closed"]) == (239, 1, 1)
    assert counts["coverage"] == round(239 / 240, 4)


def test_retries_exhausted_write_what_came_and_close_nothing(
    fake, previous, refresh, engine
):
    # The third search request (page 2: the 40 oldest vacancies) answers 503
    # and is not retried.
    fake.faults.only_path = "/vacancies"
    fake.faults.unavailable_every = 3

    code, _, _ = refresh(fake, HH_RETRIES="0")

    assert code == 3
    expected = {
        vacancy_id: (name, False)
        for vacancy_id, (name, _) in expected_after_complete().items()
        if vacancy_id <= 1200
    }
    assert get_vacancy_state(engine) == expected
    run = get_run(engine, 1)
    assert run.status == "partial"
    counts = run.counts
    assert (counts["vacancies"], counts["closed"], counts["reopened"]) == (200, 0, 1)
    assert (counts["failed_slices"], counts["failed_requests"]) == (1, 1)
    assert get_state(engine)[0::2] == (False, 1)
    assert get_journal(engine) == [("refresh_start", None), ("refresh_end", "partial")]


# --- refusals: nothing written, one message naming the setting ---------------------


@pytest.mark.parametrize(
    ("faults", "env", "setting"),
    [
        pytest.param({"captcha_after": 4}, {}, "HH_APP_TOKEN", id="captcha-mid-crawl"),
        pytest.param({"captcha_after": 0}, {}, "HH_APP_TOKEN", id="captcha-at-once"),
        pytest.param({"bad_token": "revoked-token"}, {"HH_APP_TOKEN": "revoked-token"},
                     "HH_APP_TOKEN", id="oauth"),
        pytest.param({"blacklisted_user_agent": USER_AGENT}, {}, "HH_USER_AGENT",
                     id="bad-user-agent"),
    ],
)  # fmt: skip
def test_refusals_end_the_run_with_previous_data_intact(
    fake, previous, refresh, engine, faults, env, setting
):
    for name, value in faults.items():
        setattr(fake.faults, name, value)

    code, _, err = refresh(fake, **env)

    assert code == 1
    assert setting in err
    assert "revoked-token" not in err
    assert get_vacancy_state(engine) == expected_previous()
    run = get_run(engine, 1)
    assert run.status == "failed"
    assert setting in run.error
    assert get_state(engine) == (False, previous, None)
    assert get_journal(engine) == [("refresh_start", None), ("refresh_end", "failed")]


def test_missing_user_agent_stops_before_any_request(fake, previous, refresh, engine):
    code, _, err = refresh(fake, HH_USER_AGENT="")

    assert code == 1
    assert "HH_USER_AGENT" in err
    assert fake.requests == []
    assert get_vacancy_state(engine) == expected_previous()
    assert get_run_rows(engine) == []


# --- politeness -----------------------------------------------------------------------


def test_reference_is_fetched_once_and_only_changes_are_written(
    make_fake_hh, refresh, engine
):
    fake = make_fake_hh(
        store=ItemStore.from_items(SERVED_ITEMS),
        areas=copy.deepcopy(SMALL_AREAS),
        professional_roles=copy.deepcopy(SMALL_ROLES),
    )
    assert refresh(fake)[0] == 0
    fake.areas[0]["areas"][1]["name"] = "Санкт-Петербург и область"
    fake.professional_roles["categories"][0]["roles"][1]["name"] = "Аналитик данных"

    assert refresh(fake)[0] == 0

    paths = [entry.path for entry in fake.requests]
    for path in ("/areas", "/dictionaries", "/professional_roles"):
        assert paths.count(path) == 2
    first, second = get_run(engine, 1).counts, get_run(engine, 2).counts
    # 6 areas; 4 roles, 2 categories and 4 links.
    assert (first["areas_written"], first["roles_written"]) == (6, 10)
    assert (second["areas_written"], second["roles_written"]) == (1, 1)


def make_wide_store(count: int) -> ItemStore:
    """`count` vacancies over two days: more than one slice of 2,000."""
    start = int(NEWEST.timestamp()) - 2 * 86400
    stamps = [start + number * (2 * 86400 // count) for number in range(count)]
    return make_store(stamps, [1] * count, [(96,)] * count)


def test_workers_bound_the_requests_in_flight(make_fake_hh, refresh, engine):
    fake = make_fake_hh(store=make_wide_store(2500), slow_every=1, slow_seconds=0.1)

    code, _, _ = refresh(fake, "--workers", "2", "--rate", "1000")

    assert code == 0
    assert fake.max_in_flight == 2
    assert len(get_vacancy_state(engine)) == 2500


def test_rate_is_shared_by_all_workers(make_fake_hh, refresh):
    fake = make_fake_hh(store=make_wide_store(2500))

    code, _, _ = refresh(fake, "--workers", "4", "--rate", "20")

    # 20 requests a second in all: n requests span at least (n - 1) / 20 s,
    # whatever the number of workers.
    assert code == 0
    arrivals = fake.arrivals
    assert len(arrivals) > 20
    assert arrivals[-1] - arrivals[0] >= (len(arrivals) - 1) / 20 * 0.95


# --- closing and reopening across refreshes -----------------------------------------


def get_closed_ids(engine) -> set[int]:
    return {key for key, (_, closed) in get_vacancy_state(engine).items() if closed}


def test_vacancies_close_after_a_complete_refresh_and_reopen_when_seen(
    fake, previous, refresh, engine
):
    assert refresh(fake)[0] == 0
    assert get_closed_ids(engine) == {GONE_ID}

    fake.store = ItemStore.from_items(SERVED_ITEMS[10:])
    assert refresh(fake)[0] == 0
    assert get_closed_ids(engine) == {GONE_ID} | set(range(1001, 1011))

    fake.store = ItemStore.from_items(SERVED_ITEMS)
    assert refresh(fake)[0] == 0

    assert get_vacancy_state(engine) == expected_after_complete()
    runs = [get_run(engine, run_id).counts for run_id in (1, 2, 3)]
    assert [(c["new"], c["reopened"], c["closed"]) for c in runs] == [
        (238, 1, 1), (0, 0, 10), (0, 10, 0)
    ]  # fmt: skip


# --- killed refreshes ---------------------------------------------------------------


def start_paused_refresh(database_url, fake, tmp_path) -> subprocess.Popen:
    """A subprocess refresh stopped at the pause hook, its merge not committed."""
    pause = tmp_path / "pause"
    env = refresh_env(
        database_url, fake.url, tmp_path, HH_REFRESH_PAUSE_FILE=str(pause)
    )
    process = start_refresh(env)
    wait_for(Path(f"{pause}.waiting"), process)
    return process


def test_sigkill_mid_write_leaves_previous_data_and_a_flag_that_goes_stale(
    fake, previous, refresh, database_url, engine, tmp_path
):
    process = start_paused_refresh(database_url, fake, tmp_path)

    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)

    assert get_vacancy_state(engine) == expected_previous()
    assert get_run_rows(engine) == [(1, "running")]
    # The dead run's flag holds only until its heartbeat is two minutes old.
    now = utc_now()
    assert is_maintenance_active(engine, STALE, now) is True
    assert is_maintenance_active(engine, STALE, now + timedelta(seconds=121)) is False

    # SQLite's lock row is stale only after the same two minutes.
    code, _, _ = refresh(fake, MAINTENANCE_STALE_SECONDS="0")

    assert code == 0
    assert get_run_rows(engine) == [(1, "failed"), (2, "complete")]
    assert get_run(engine, 1).error == "the refresh process stopped without finishing"
    assert get_vacancy_state(engine) == expected_after_complete()
    assert get_state(engine)[0::2] == (False, 2)


def test_sigkill_frees_the_lock_at_once_for_a_refresh_on_the_same_host(
    fake, previous, refresh, database_url, engine, tmp_path
):
    process = start_paused_refresh(database_url, fake, tmp_path)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)

    # The default two-minute staleness: the dead holder's pid frees the lock.
    code, _, _ = refresh(fake)

    assert code == 0
    assert get_run_rows(engine) == [(1, "failed"), (2, "complete")]
    assert get_vacancy_state(engine) == expected_after_complete()


def hold_lock_row(engine, host: str, pid: int) -> None:
    with Session(engine) as session:
        session.add(RefreshRun(started_at=utc_now(), status="running"))
        ensure_app_state(session)
        session.flush()
        state = session.get(AppState, 1)
        state.lock_run_id, state.lock_heartbeat_at = 1, utc_now()
        state.lock_host, state.lock_pid = host, pid
        session.commit()


def make_cli_run(session: Session) -> RefreshRun:
    run = RefreshRun(started_at=utc_now(), status="running")
    session.add(run)
    return run


@pytest.mark.parametrize(
    ("host", "alive", "held"),
    [
        pytest.param(socket.gethostname(), False, False, id="dead-here"),
        pytest.param(socket.gethostname(), True, True, id="alive-here"),
        pytest.param("another-host", False, True, id="dead-elsewhere"),
    ],
)
def test_lock_row_holder_counts_only_while_its_process_lives_on_this_host(
    engine, host, alive, held
):
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's advisory lock dies with its session")
    pid = os.getpid() if alive else dead_pid()
    hold_lock_row(engine, host, pid)
    lock = RefreshLock(engine, stale_seconds=120)

    if held:
        with pytest.raises(RefreshLockedError):
            lock.acquire(make_cli_run)
    else:
        assert lock.acquire(make_cli_run).id == 2
        lock.release()


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_lost_database_connection_mid_write_fails_the_run(
    fake, previous, database_url, engine, tmp_path
):
    if engine.dialect.name != "postgresql":
        pytest.skip("a server-side connection to terminate exists on PostgreSQL only")
    process = start_paused_refresh(database_url, fake, tmp_path)

    # The final write is the oldest open transaction of the refresh.
    with engine.connect() as connection:
        terminated = connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND state LIKE 'idle in transaction%' ORDER BY xact_start LIMIT 1"
            )
        ).scalar_one()
    assert terminated is True
    (tmp_path / "pause").touch()
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 1, stderr
    assert get_vacancy_state(engine) == expected_previous()
    assert get_run_rows(engine) == [(1, "failed")]
    assert "terminating connection" in get_run(engine, 1).error
    assert get_state(engine) == (False, previous, None)
    assert is_maintenance_active(engine, STALE) is False

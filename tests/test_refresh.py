"""`python -m etl.refresh` end to end, as a subprocess against the fake hh.ru."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from etl.load import DEMO_ID_FLOOR
from etl.refresh import apply_options
from etl.refresh import main
from etl.refresh import parse_args
from services.schema import AppState
from services.schema import JournalEntry
from services.schema import RefreshRun
from services.schema import Vacancy
from services.settings import PROJECT_ROOT
from services.settings import Settings
from services.state import is_maintenance_active

USER_AGENT = "HHAnalyticsTests/1.0 (tests@example.org)"


def refresh_env(database_url: str, api_url: str, tmp_path: Path, **extra) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HH_")}
    env.update(
        DATABASE_URL=database_url,
        HH_API_URL=api_url,
        HH_USER_AGENT=USER_AGENT,
        HH_RATE="1000",
        HH_RETRIES="1",
        HH_TIMEOUT="5",
        INSTANCE_DIR=str(tmp_path / "instance"),
        PYTHONPATH=str(PROJECT_ROOT),
    )
    env.update(extra)
    return env


def start_refresh(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "etl.refresh", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_refresh(env: dict, *args: str) -> subprocess.CompletedProcess:
    process = start_refresh(env, *args)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def finish(process: subprocess.Popen) -> int:
    process.communicate(timeout=60)
    return process.returncode


def wait_for(path: Path, process: subprocess.Popen) -> None:
    # The pause hook creates the file; waiting on it is the hook, not luck.
    while not path.exists():
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)


def get_runs(engine) -> list[tuple]:
    with Session(engine) as session:
        rows = session.execute(
            select(RefreshRun.id, RefreshRun.status, RefreshRun.trigger)
            .order_by(RefreshRun.id)
        )  # fmt: skip
        return [tuple(row) for row in rows]


def count_vacancies(engine) -> int:
    with Session(engine) as session:
        return len(session.scalars(select(Vacancy.id)).all())


def count_shared_vacancies_in(shared_hh: Path, root: str) -> int:
    """Independently of etl/: unique ids of both files whose area is under `root`."""
    tree = json.loads((shared_hh / "reference" / "areas.json").read_text())
    parents = {}
    stack = list(tree)
    while stack:
        node = stack.pop()
        parents[node["id"]] = node["parent_id"]
        stack.extend(node["areas"])

    def is_under(area_id):
        while area_id is not None:
            if area_id == root:
                return True
            area_id = parents.get(area_id)
        return False

    ids = set()
    for path in sorted((shared_hh / "items").glob("*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            ids |= {item["id"] for item in json.load(handle)
                    if is_under(item["area"]["id"])}  # fmt: skip
    return len(ids)


# --- usage errors, without a database or a server ----------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--area", "abc"], id="area-not-a-number"),
        pytest.param(["--bogus"], id="unknown-option"),
        pytest.param(["--days", "2", "--date-from", "2026-03-01"], id="days-and-date"),
        pytest.param(["--date-to", "2026-03-01"], id="date-to-alone"),
        pytest.param(["--date-from", "2026-03-02", "--date-to", "2026-03-01"],
                     id="reversed-window"),
        pytest.param(["--date-from", "2026-13-01"], id="bad-date"),
        pytest.param(["--days", "-1"], id="negative-days"),
        pytest.param(["--workers", "0"], id="no-workers"),
        pytest.param(["--stagers", "-2"], id="negative-stagers"),
        pytest.param(["--stagers", "17"], id="too-many-stagers"),
        pytest.param(["--stagers", "1.5"], id="fractional-stagers"),
        pytest.param(["--area", "99999999999999999999"], id="huge-area"),
        pytest.param(["--role", "2147483648"], id="role-past-int32"),
        pytest.param(["--area", "0"], id="zero-area"),
    ],
)  # fmt: skip
def test_usage_errors_exit_1(argv, capsys):
    assert main(argv) == 1
    error = capsys.readouterr().err
    assert error.startswith("Error: ")
    assert "_whole_number" not in error and "_stager_count" not in error


def test_stagers_option_overrides_its_setting():
    settings = Settings(refresh_stagers=4)

    assert apply_options(settings, parse_args(["--stagers", "1"])).refresh_stagers == 1
    assert apply_options(settings, parse_args([])).refresh_stagers == 4


def test_an_unmigrated_database_is_named_with_the_fix(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HH_USER_AGENT", "Test/1.0 (test@example.org)")
    monkeypatch.setenv("HH_API_URL", "http://127.0.0.1:9")
    empty = tmp_path / "empty.sqlite3"

    assert main(["--database-url", f"sqlite:///{empty}"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("Error: the database cannot record a refresh: ")
    assert "no such table" in error and "--migrate-only" in error
    assert "Traceback" not in error


def test_empty_user_agent_is_refused_before_any_request(
    make_fake_hh, monkeypatch, capsys
):
    fake = make_fake_hh()
    monkeypatch.setenv("HH_API_URL", fake.url)
    monkeypatch.setenv("HH_USER_AGENT", "  ")

    assert main(["--dry-run"]) == 1
    assert "HH_USER_AGENT" in capsys.readouterr().err
    assert fake.requests == []


def test_dry_run_prints_the_plan_and_writes_nothing(make_fake_hh, monkeypatch, capsys):
    fake = make_fake_hh()
    monkeypatch.setenv("HH_API_URL", fake.url)
    monkeypatch.setenv("HH_USER_AGENT", USER_AGENT)
    monkeypatch.setenv("DATABASE_URL", "sqlite:////nonexistent/folder/never.sqlite3")

    assert (
        main(["--dry-run", "--date-from", "2026-02-28", "--date-to", "2026-03-02"]) == 0
    )
    out = capsys.readouterr().out
    # found = 4,763 in the crowded window + 400 before it; the 60 vacancies on
    # the Sverdlovsk region node are a reported gap.
    assert "found 5163)" in out
    assert "'found': 2160, 'parts': 2100, 'gap': 60}" in out
    assert all(entry.path != "/nonexistent" for entry in fake.requests)


# --- whole refreshes ----------------------------------------------------------------


@pytest.mark.db
def test_refresh_of_russia_loads_every_shared_vacancy(
    fake_hh_real, shared_hh, database_url, engine, tmp_path
):
    expected = count_shared_vacancies_in(shared_hh, "113")
    run_by = {"HH_REFRESH_TRIGGER": "admin", "HH_REFRESH_STARTED_BY": "boss"}
    env = refresh_env(database_url, fake_hh_real.url, tmp_path, **run_by)

    result = run_refresh(env, "--area", "113")

    assert result.returncode == 0, result.stderr
    assert count_vacancies(engine) == expected == 5239
    assert get_runs(engine) == [(1, "complete", "admin")]
    with Session(engine) as session:
        run = session.get(RefreshRun, 1)
        state = session.get(AppState, 1)
        assert (run.started_by, run.counts["vacancies"], run.counts["coverage"]) == (
            "boss", 5239, 1.0
        )  # fmt: skip
        assert run.progress["phase"] == "done"
        assert (state.dataset, state.last_run_id, state.maintenance) == (
            "real", 1, False
        )  # fmt: skip
    assert f"vacancies {expected}" in result.stdout


@pytest.mark.db
def test_crowded_window_is_loaded_in_full_without_passing_item_2000(
    make_fake_hh, database_url, engine, tmp_path
):
    fake = make_fake_hh()
    env = refresh_env(database_url, fake.url, tmp_path)

    result = run_refresh(env, "--date-from", "2026-03-02", "--date-to", "2026-03-02")

    # The 60 vacancies on the Sverdlovsk region node itself cannot be reached
    # by any split: reported as truncated, so the run is partial.
    assert result.returncode == 3, result.stderr
    with Session(engine) as session:
        counts = session.get(RefreshRun, 1).counts
    assert (counts["truncated"], counts["closed"]) == (1, 0)
    loaded = counts["expected"] - counts["duplicates"]
    assert count_vacancies(engine) == loaded == counts["vacancies"]
    assert counts["vacancies"] > 2000
    searches = [entry for entry in fake.requests if entry.path == "/vacancies"]
    deepest = max(
        (int(e.param("page", "0")) + 1) * int(e.param("per_page", "10"))
        for e in searches
    )
    assert deepest <= 2000


@pytest.mark.db
def test_second_refresh_is_refused_while_one_holds_the_lock(
    make_fake_hh, database_url, engine, tmp_path
):
    fake = make_fake_hh()
    pause = tmp_path / "pause"
    env = refresh_env(database_url, fake.url, tmp_path)
    first = start_refresh({**env, "HH_REFRESH_PAUSE_FILE": str(pause)}, "--days", "3")
    wait_for(Path(f"{pause}.waiting"), first)

    assert is_maintenance_active(engine, stale_seconds=120) is True
    second = run_refresh(env, "--days", "3")
    assert second.returncode == 2
    assert "run 1" in second.stderr
    assert "refresh locked: held by run 1" in second.stdout
    assert get_runs(engine) == [(1, "running", "cli")]
    with Session(engine) as session:
        progress = session.get(RefreshRun, 1).progress
    assert (progress["phase"], progress["eta_seconds"]) == ("writing", None)

    pause.touch()
    assert finish(first) == 0
    assert get_runs(engine) == [(1, "complete", "cli")]
    assert is_maintenance_active(engine, stale_seconds=120) is False


@pytest.mark.db
def test_fake_vacancies_are_real_data_that_a_later_refresh_keeps(
    make_fake_hh, database_url, engine, tmp_path
):
    # Ids in the demo range would be swept away as demo data by the next run.
    env = refresh_env(database_url, make_fake_hh().url, tmp_path)
    loaded = []
    for area in ("2", "1"):  # Saint Petersburg, then Moscow
        assert run_refresh(env, "--area", area).returncode == 0
        loaded.append(count_vacancies(engine))

    assert 0 < loaded[0] < loaded[1]
    with Session(engine) as session:
        assert session.scalar(select(func.max(Vacancy.id))) < DEMO_ID_FLOOR
        first_start = session.scalars(
            select(JournalEntry.details)
            .where(JournalEntry.action == "refresh_start")
            .order_by(JournalEntry.id)
        ).first()
    assert first_start == {"run": 1, "trigger": "cli", "areas": [2]}


@pytest.mark.db
def test_refresh_killed_mid_write_leaves_previous_data(
    make_fake_hh, database_url, engine, tmp_path
):
    fake = make_fake_hh()
    env = refresh_env(database_url, fake.url, tmp_path)
    assert run_refresh(env, "--area", "2").returncode == 0
    before = count_vacancies(engine)
    pause = tmp_path / "pause"
    doomed = start_refresh({**env, "HH_REFRESH_PAUSE_FILE": str(pause)})
    wait_for(Path(f"{pause}.waiting"), doomed)

    doomed.kill()
    finish(doomed)

    assert count_vacancies(engine) == before
    after = run_refresh({**env, "MAINTENANCE_STALE_SECONDS": "0"}, "--area", "2")
    assert after.returncode == 0, after.stderr
    assert get_runs(engine) == [
        (1, "complete", "cli"), (2, "failed", "cli"), (3, "complete", "cli")
    ]  # fmt: skip


@pytest.mark.db
def test_sigterm_during_the_write_rolls_back_and_cancels(
    make_fake_hh, database_url, engine, tmp_path
):
    fake = make_fake_hh()
    pause = tmp_path / "pause"
    env = refresh_env(
        database_url, fake.url, tmp_path, HH_REFRESH_PAUSE_FILE=str(pause)
    )
    process = start_refresh(env)
    wait_for(Path(f"{pause}.waiting"), process)

    process.send_signal(signal.SIGTERM)

    assert finish(process) == 1
    assert count_vacancies(engine) == 0
    assert get_runs(engine) == [(1, "cancelled", "cli")]
    assert is_maintenance_active(engine, stale_seconds=120) is False

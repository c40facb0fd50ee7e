"""A refresh builds its data version's snapshot; the web app maps it, never builds."""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.analytics import make_version_notice
from etl.refresh import main
from services import dataset as dataset_module
from services import keywords as keywords_module
from services.analytics import get_stats
from services.dataset import clear_dataset_cache
from services.dataset import ensure_dataset_snapshot
from services.dataset import get_dataset
from services.filters import Filters
from services.schema import AppState
from services.schema import RefreshRun
from services.schema import Vacancy
from services.snapshot import building_lock
from services.snapshot import get_snapshot_root
from services.state import get_data_info
from services.timeutil import utc_now
from tests.test_analytics import SETTINGS
from tests.test_analytics import add_random_vacancies
from tests.test_analytics import add_reference_data
from tests.test_analytics import add_vacancy
from tests.test_analytics import publish
from tests.test_refresh import refresh_env
from tests.test_refresh import run_refresh

pytestmark = pytest.mark.db

# A day of the fake hh.ru's vacancies that it can serve in full.
WINDOW = ("--date-from", "2026-03-01", "--date-to", "2026-03-01")


def snapshot_folders(instance_dir) -> list[str]:
    root = get_snapshot_root(instance_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir())


def forbid_building(monkeypatch) -> None:
    def fail(*_args):
        raise AssertionError("built from the database instead of mapped")

    monkeypatch.setattr(dataset_module, "load_dataset", fail)
    monkeypatch.setattr(keywords_module, "compute_token_postings", fail)


def get_some_word(session: Session) -> str:
    texts = select(Vacancy.search_text).where(Vacancy.search_text.is_not(None))
    return session.scalars(texts.order_by(Vacancy.id)).first().split()[0]


def test_the_app_maps_what_the_refresh_built(
    make_fake_hh, database_url, engine, tmp_path, monkeypatch
):
    env = refresh_env(database_url, make_fake_hh().url, tmp_path)
    result = run_refresh(env, *WINDOW)
    assert result.returncode == 0, result.stderr

    instance = tmp_path / "instance"
    folders = snapshot_folders(instance)
    assert len(folders) == 2 and folders[1] == folders[0] + "-keywords", folders
    settings = replace(SETTINGS, database_url=database_url, instance_dir=instance)
    elsewhere = replace(settings, instance_dir=tmp_path / "elsewhere")
    with Session(engine) as session:
        word = get_some_word(session)
        selections = [Filters(), Filters(q=word), Filters(q=word, basis="gross")]
        built = [get_stats(session, f, elsewhere) for f in selections]
        clear_dataset_cache()
        forbid_building(monkeypatch)

        mapped = [get_stats(session, f, settings) for f in selections]
        dataset = get_dataset(session, settings)

        assert dataset.version == get_data_info(session).version
    assert mapped == built
    assert built[1]["vacancies"] > 0
    assert snapshot_folders(instance) == folders


def test_a_failed_warm_step_keeps_the_refresh_exit_code(
    make_fake_hh, database_url, engine, tmp_path, monkeypatch, caplog
):
    def break_warming(*_args):
        raise RuntimeError("disk on fire")

    for name, value in refresh_env(database_url, make_fake_hh().url, tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(dataset_module, "warm_dataset", break_warming)

    with caplog.at_level(logging.ERROR, logger="etl.refresh"):
        assert main(list(WINDOW)) == 0

    assert "snapshot was not built" in caplog.text
    assert "disk on fire" in caplog.text
    assert snapshot_folders(tmp_path / "instance") == []
    with Session(engine) as session:
        run = session.scalars(select(RefreshRun)).one()
        stored = session.scalar(select(func.count()).select_from(Vacancy))
    # The data the refresh wrote stays: the run is complete and counted it all.
    assert run.status == "complete"
    assert stored == run.counts["vacancies"] > 0


def test_a_refresh_without_writes_builds_no_snapshot(database_url, tmp_path):
    env = refresh_env(database_url, "http://127.0.0.1:9", tmp_path, HH_RETRIES="0")
    result = run_refresh(env, "--days", "1")

    assert result.returncode == 1
    assert snapshot_folders(tmp_path / "instance") == []


def publish_first_version(session, instance_dir) -> tuple:
    """Version v1 of 30 vacancies, served once: the settings and its answer."""
    settings = replace(SETTINGS, instance_dir=instance_dir)
    add_reference_data(session)
    add_random_vacancies(session, random.Random(5), 30)
    publish(session, "v1")
    return settings, get_stats(session, Filters(), settings)


def test_the_previous_version_answers_while_another_process_builds(
    db_session, tmp_path
):
    settings, before = publish_first_version(db_session, tmp_path)
    for vacancy_id in range(100, 112):
        add_vacancy(db_session, vacancy_id)
    publish(db_session, "v2")

    building, done = threading.Event(), threading.Event()

    def build_elsewhere():
        with building_lock(tmp_path):
            building.set()
            done.wait(10)

    builder = threading.Thread(target=build_elsewhere)
    builder.start()
    try:
        assert building.wait(10)
        during = get_stats(db_session, Filters(), settings)
    finally:
        done.set()
        builder.join()
    after = get_stats(db_session, Filters(), settings)

    assert during == before
    assert during["data"]["version"] == "v1"
    assert after["data"]["version"] == "v2"
    assert after["vacancies"] == before["vacancies"] + 12


def test_a_version_its_refresh_is_about_to_build_waits_for_that_refresh(
    db_session, tmp_path
):
    settings, before = publish_first_version(db_session, tmp_path)
    run = RefreshRun(started_at=utc_now(), finished_at=utc_now(), status="complete")
    db_session.add(run)
    db_session.flush()
    add_vacancy(db_session, 100)
    publish(db_session, "v2")
    db_session.get(AppState, 1).last_run_id = run.id
    db_session.commit()

    # The refresh has saved the columns and not yet the keyword postings.
    ensure_dataset_snapshot(db_session, settings, "v2")

    just_after = get_stats(db_session, Filters(), settings)
    run.finished_at = utc_now() - timedelta(minutes=1)
    db_session.commit()
    later = get_stats(db_session, Filters(), settings)

    assert just_after == before
    assert later["data"]["version"] == "v2"
    assert later["vacancies"] == before["vacancies"] + 1


def test_the_page_says_when_it_shows_the_previous_version():
    data = {"version": "v1", "refreshed_at": "2025-03-14T06:30:00Z", "dataset": "real"}

    assert make_version_notice(data, "v1", "ru") == []
    [notice] = make_version_notice(data, "v2", "ru")
    assert "обновления 14.03.2025 09:30 МСК" in notice.children
    [notice] = make_version_notice({**data, "refreshed_at": None}, "v2", "en")
    assert notice.children.endswith("showing the data refreshed v1.")

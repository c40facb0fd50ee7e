"""`python -m etl.bootstrap`: a fresh database ends up with data and an admin."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.schema import AppState
from services.schema import RefreshRun
from services.schema import User
from services.schema import Vacancy
from services.settings import PROJECT_ROOT
from tests.test_refresh import refresh_env

pytestmark = pytest.mark.db


def run_bootstrap(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "etl.bootstrap"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def get_dataset(engine) -> tuple:
    with Session(engine) as session:
        vacancies = session.scalar(select(func.count()).select_from(Vacancy))
        demo = session.scalar(
            select(func.count()).select_from(Vacancy).where(Vacancy.id >= 9 * 10**9)
        )
        return session.get(AppState, 1).dataset, vacancies, demo


def test_without_user_agent_demo_data_is_loaded(database_url, engine, tmp_path):
    env = refresh_env(database_url, "http://127.0.0.1:9", tmp_path, HH_USER_AGENT="")

    result = run_bootstrap(env)

    assert result.returncode == 0, result.stderr
    assert get_dataset(engine) == ("demo", 20_000, 20_000)
    notices = [line for line in result.stdout.splitlines() if "HH_USER_AGENT" in line]
    assert len(notices) == 1
    assert "HH_APP_TOKEN" in notices[0]
    with Session(engine) as session:
        assert session.scalars(select(User.role)).all() == ["admin"]
    assert result.stdout.count("created with password") == 1

    again = run_bootstrap(env)
    assert again.returncode == 0
    assert "created with password" not in again.stdout
    assert get_dataset(engine) == ("demo", 20_000, 20_000)


def test_refused_live_refresh_falls_back_to_demo(
    make_fake_hh, database_url, engine, tmp_path
):
    fake = make_fake_hh(captcha_after=0)
    env = refresh_env(database_url, fake.url, tmp_path)

    result = run_bootstrap(env)

    assert result.returncode == 0, result.stderr
    assert get_dataset(engine) == ("demo", 20_000, 20_000)
    assert "hh.ru refresh did not succeed" in result.stdout
    with Session(engine) as session:
        runs = session.execute(select(RefreshRun.status, RefreshRun.trigger)).all()
        assert [tuple(run) for run in runs] == [("failed", "first_start")]

"""The admin's users, roles and refresh controls."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

import auth.refreshes
import auth.users
import dashboard.admin
from auth.refreshes import DEAD_RUN_ERROR
from auth.refreshes import STALE_ERROR
from auth.refreshes import RefreshScope
from auth.refreshes import parse_refresh_scope
from auth.users import AccountError
from auth.users import ensure_first_admin
from auth.users import get_user_by_login
from services.schema import Area
from services.schema import JournalEntry
from services.schema import RefreshRun
from services.settings import Settings
from services.timeutil import utc_now
from tests.auth_support import add_user
from tests.auth_support import engine_of
from tests.auth_support import log_in
from tests.auth_support import make_app
from tests.auth_support import post_form

pytestmark = pytest.mark.db


@pytest.fixture
def app(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    add_user(app, "boss", "admin")
    add_user(app, "alice")
    return app


@pytest.fixture
def admin(app):
    client = app.test_client()
    log_in(client, "boss")
    return client


def role_of(app, login: str) -> str:
    with Session(engine_of(app)) as session:
        return get_user_by_login(session, login).role


def test_admin_grants_and_revokes_roles(app, admin):
    post_form(admin, "/admin/users/2/role", {"role": "moderator"})
    assert role_of(app, "alice") == "moderator"

    post_form(admin, "/admin/users/2/role", {"role": "user"})

    assert role_of(app, "alice") == "user"
    with Session(engine_of(app)) as session:
        details = [
            row.details
            for row in session.query(JournalEntry).filter_by(action="role_change")
        ]
    assert details == [
        {"user": "alice", "from": "user", "to": "moderator"},
        {"user": "alice", "from": "moderator", "to": "user"},
    ]


def test_the_last_admin_cannot_drop_their_own_role(app, admin):
    response = post_form(admin, "/admin/users/1/role", {"role": "user"})

    assert response.status_code == 400
    assert role_of(app, "boss") == "admin"


def test_an_admin_may_step_down_when_another_admin_exists(app, admin):
    post_form(admin, "/admin/users/2/role", {"role": "admin"})

    response = post_form(admin, "/admin/users/1/role", {"role": "moderator"})

    assert response.status_code == 302
    assert role_of(app, "boss") == "moderator"
    assert admin.get("/admin").status_code == 403


@pytest.mark.parametrize(
    "path",
    ["/admin/users/999/role", "/admin/users/abc/role", "/admin/refresh/abc/cancel"],
)
def test_unknown_user_or_run_gets_the_products_not_found_page(app, admin, path):
    response = post_form(admin, path, {"role": "user"})

    assert response.status_code == 404
    assert "Страница не найдена." in response.get_data(as_text=True)


def test_first_admin_is_made_once_with_a_generated_password(db_session, tmp_path):
    settings = Settings(instance_dir=tmp_path, admin_login="Root")

    password = ensure_first_admin(db_session, settings)

    assert len(password) == 16
    assert get_user_by_login(db_session, "root").role == "admin"
    assert ensure_first_admin(db_session, settings) is None


def test_first_admin_uses_admin_password(db_session, tmp_path):
    settings = Settings(instance_dir=tmp_path, admin_password="given-password-1")

    assert ensure_first_admin(db_session, settings) is None
    assert auth.users.check_password(
        get_user_by_login(db_session, "admin"), "given-password-1"
    )


@pytest.mark.parametrize(
    ("areas", "roles", "days", "expected"),
    [
        ("1, 2", "", "3", RefreshScope((1, 2), (), 3)),
        ("113", "96 104", "", RefreshScope((113,), (96, 104), None)),
        ("", "", "", RefreshScope()),
    ],
    ids=["areas-days", "roles", "everything"],
)
def test_refresh_scope_is_read_from_the_form(areas, roles, days, expected):
    assert parse_refresh_scope(areas, roles, days) == expected


@pytest.mark.parametrize(
    ("areas", "days"),
    [("1;rm", ""), ("1", "0"), ("1", "x")],
    ids=["not-an-id", "zero-days", "text-days"],
)
def test_refresh_scope_refuses_anything_else(areas, days):
    with pytest.raises(AccountError):
        parse_refresh_scope(areas, "", days)


@pytest.mark.parametrize(
    ("areas", "roles"),
    [("9999999999999999999999", ""), ("113", "2147483648"), ("0", "")],
    ids=["huge-area", "role-past-int32", "zero-area"],
)
def test_admin_form_refuses_ids_hh_cannot_have(app, admin, monkeypatch, areas, roles):
    started = []
    monkeypatch.setattr(
        dashboard.admin, "start_refresh_process", lambda *args: started.append(args)
    )

    response = post_form(admin, "/admin/refresh", {"areas": areas, "roles": roles})

    assert response.status_code == 400
    assert "от 1 до 2147483647" in response.get_data(as_text=True)
    assert started == []


def test_admin_starts_a_refresh_with_its_scope(app, admin, monkeypatch):
    started = []
    monkeypatch.setattr(
        dashboard.admin,
        "start_refresh_process",
        lambda settings, scope, login: started.append((scope, login)) or 4242,
    )

    response = post_form(admin, "/admin/refresh", {"areas": "1", "days": "2"})

    assert response.headers["Location"] == "/admin?done=start&pid=4242"
    assert started == [(RefreshScope((1,), (), 2), "boss")]
    with Session(engine_of(app)) as session:
        journal = session.query(JournalEntry).filter_by(action="refresh_start").one()
        assert journal.details == {"areas": [1], "days": 2, "pid": 4242}


def test_a_refresh_started_here_is_announced_until_its_row_exists(
    app, admin, monkeypatch
):
    monkeypatch.setattr(dashboard.admin, "is_refresh_process", lambda pid: True)

    page = admin.get("/admin?done=start&pid=4242").get_data(as_text=True)

    assert "Обновление запущено (pid 4242)." in page
    assert "его строка появится здесь через несколько секунд" in page
    assert "Обновлений ещё не было." not in page


def test_no_refreshes_yet_when_none_is_starting(app, admin):
    page = admin.get("/admin").get_data(as_text=True)

    assert "Обновлений ещё не было." in page
    assert 'id="refresh-pending"' not in page


def add_finished_runs(app) -> None:
    with Session(engine_of(app)) as session:
        session.add(Area(id=113, name="Россия", parent_id=None))
        session.add(
            RefreshRun(
                started_at=utc_now(), finished_at=utc_now(), status="complete",
                trigger="cli", scope={"areas": [113, 5], "roles": [],
                                      "date_from": None, "date_to": None},
                progress={"phase": "done", "eta_seconds": None},
                counts={"vacancies": 5239, "new": 5239, "reopened": 0,
                        "closed": 0},
            )
        )  # fmt: skip
        session.add(
            RefreshRun(
                started_at=utc_now(), finished_at=utc_now(), status="failed",
                trigger="cli", error="interrupted",
                scope={"areas": [], "roles": [96],
                       "date_from": "2026-03-01T00:00:00+03:00", "date_to": None},
            )
        )  # fmt: skip
        session.commit()


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        ("cancelled", "отменено по запросу"),
        (STALE_ERROR, "процесс обновления перестал отвечать"),
        (DEAD_RUN_ERROR, "процесс обновления завершился, не закончив работу"),
        ("GET /vacancies failed after 6 attempts", "GET /vacancies failed"),
    ],
)
def test_the_products_own_run_errors_are_translated(app, admin, error, shown):
    with Session(engine_of(app)) as session:
        session.add(
            RefreshRun(started_at=utc_now(), finished_at=utc_now(), status="failed",
                       trigger="cli", error=error, scope={"areas": [113]})
        )  # fmt: skip
        session.commit()

    page = admin.get("/admin").get_data(as_text=True)

    assert shown in page


def test_runs_table_reads_as_russian_sentences(app, admin):
    add_finished_runs(app)

    page = admin.get("/admin").get_data(as_text=True)

    for text in (
        "завершено",
        "ошибка",
        "прервано",
        "Россия (113), 5; все роли; весь период",
        "все регионы; роли 96; с 2026-03-01",
        "Вакансий: 5\u202f239; новых: 5\u202f239; снова открытых: 0",
    ):
        assert text in page  # fmt: skip
    for raw in ("complete", "interrupted", "eta_seconds", "None", "date_from"):
        assert f">{raw}" not in page and f"{raw}:" not in page


def add_run(app, heartbeat_age_seconds: float, pid: int | None = None) -> None:
    now = utc_now()
    with Session(engine_of(app)) as session:
        session.add(
            RefreshRun(
                started_at=now,
                heartbeat_at=datetime.fromtimestamp(
                    now.timestamp() - heartbeat_age_seconds
                ),
                status="running",
                trigger="admin",
                pid=pid,
            )
        )
        session.commit()


def run_status(app) -> tuple[str, bool]:
    with Session(engine_of(app)) as session:
        run = session.get(RefreshRun, 1)
        return run.status, run.cancel_requested


def test_a_run_with_a_stale_heartbeat_shows_as_failed(app, admin):
    add_run(app, heartbeat_age_seconds=3600)

    admin.get("/admin")

    assert run_status(app) == ("failed", False)


def test_a_second_refresh_is_refused_while_one_runs(app, admin):
    add_run(app, heartbeat_age_seconds=0)

    response = post_form(admin, "/admin/refresh", {"areas": "1"})

    assert response.status_code == 409


def wait_until_running_as_refresh(pid: int) -> None:
    """Wait until the child's command line is the one the pid check reads."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if cmdline.exists() and b"etl.refresh" in cmdline.read_bytes():
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never showed its command line")


def test_cancel_sets_the_flag_and_terminates_the_process(app, admin):
    # The extra argument makes the child look like a refresh to the pid check.
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "etl.refresh"]
    )
    try:
        wait_until_running_as_refresh(child.pid)
        add_run(app, heartbeat_age_seconds=0, pid=child.pid)

        response = post_form(admin, "/admin/refresh/1/cancel")

        assert response.status_code == 302
        assert child.wait(timeout=30) == -15
        assert run_status(app) == ("running", True)
    finally:
        # A failed check must not leave the sleeper to the tests after it.
        child.kill()
        child.wait()


def test_a_refresh_without_user_agent_is_refused_naming_the_setting(app, admin):
    response = post_form(admin, "/admin/refresh", {"areas": "1"})

    assert response.status_code == 400
    assert "HH_USER_AGENT" in response.get_data(as_text=True)
    assert auth.refreshes._children == []


def test_a_refresh_that_dies_before_its_run_row_shows_code_and_log(
    database_url, tmp_path, monkeypatch
):
    app = make_app(database_url, tmp_path, hh_user_agent="Test/1.0 (t@example.org)")
    add_user(app, "boss", "admin")
    admin = app.test_client()
    log_in(admin, "boss")
    (tmp_path / "refresh.log").write_text("old line\nrefresh aborted: no areas\n")
    # The child stands in for a refresh that fails before writing its run.
    monkeypatch.setattr(auth.refreshes, "PROJECT_ROOT", tmp_path)
    (tmp_path / "etl").mkdir()
    (tmp_path / "etl" / "__init__.py").write_text("")
    (tmp_path / "etl" / "refresh.py").write_text("raise SystemExit(3)\n")

    location = post_form(admin, "/admin/refresh", {"areas": "1"}).headers["Location"]
    pid = int(location.rsplit("=", 1)[1])
    auth.refreshes.wait_for_started_refreshes(timeout=30)
    page = admin.get(location).get_data(as_text=True)

    assert f"Обновление (pid {pid}) завершилось с кодом 3" in page
    assert "refresh aborted: no areas" in page
    assert not Path(f"/proc/{pid}").exists()

"""An admin's refresh in a real browser: live progress, maintenance, completion.

The admin starts `python -m etl.refresh` from the admin page against a fake
hh.ru on 127.0.0.1. HH_REFRESH_PAUSE_FILE holds the run after its merge and
before its commit, with the maintenance flag on: while it waits, a user gets
the 503 page and the admin keeps the admin panel. Then the test releases it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

import auth.users
from auth.refreshes import wait_for_started_refreshes
from services.schema import JournalEntry
from services.schema import RefreshRun
from tests.auth_support import CHEAP_HASH
from tests.auth_support import PASSWORD
from tests.auth_support import add_user
from tests.auth_support import engine_of
from tests.auth_support import make_app
from tests.browser.conftest import CHROMIUM
from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.conftest import WAIT_MS
from tests.browser.conftest import require_playwright

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.slow]

USER_AGENT = "HHAnalyticsTests/1.0 (tests@example.org)"
PAUSE_WAIT_SECONDS = 180
# Saint Petersburg in the fake store: 300 vacancies in the crowded window and
# every third of the 400 background ones (numbers 1, 4, ..., 397).
SAINT_PETERSBURG_VACANCIES = 300 + 133


@pytest.fixture
def refresh_app(database_url, tmp_path, make_fake_hh, monkeypatch):
    """A live app whose settings point at a fake hh.ru, with boss and alice."""
    monkeypatch.setattr(auth.users, "PASSWORD_HASH_METHOD", CHEAP_HASH)
    # The admin page hands its environment to the refresh it starts.
    monkeypatch.setenv("HH_REFRESH_PAUSE_FILE", str(tmp_path / "pause"))
    fake = make_fake_hh()
    app = make_app(
        database_url,
        tmp_path,
        hh_api_url=fake.url,
        hh_user_agent=USER_AGENT,
        hh_rate=1000.0,
        hh_retries=1,
        hh_timeout=5.0,
    )
    add_user(app, "boss", "admin")
    add_user(app, "alice")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    (tmp_path / "pause").touch()
    server.shutdown()
    thread.join()


@pytest.fixture
def browser(refresh_app):
    sync_playwright = require_playwright()
    from playwright.sync_api import expect

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        expect.set_options(timeout=WAIT_MS)
        yield chromium
        chromium.close()


def open_signed_in(browser, base_url: str, login: str, next_path: str):
    context = browser.new_context(base_url=base_url)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(f"/login?next={next_path}&lang=en")
    page.fill("#login-login", login)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"**{next_path}*")
    return page


def get_run(app, run_id: int) -> RefreshRun | None:
    with Session(engine_of(app)) as session:
        return session.get(RefreshRun, run_id)


def wait_for_pause(app, waiting: Path) -> None:
    # The refresh creates the file at its pause hook; a run that ends first
    # has failed, and its row says why.
    deadline = time.monotonic() + PAUSE_WAIT_SECONDS
    while not waiting.exists():
        run = get_run(app, 1)
        assert run is None or run.status == "running", (run.status, run.error)
        assert time.monotonic() < deadline, "the refresh never reached its pause"
        time.sleep(0.1)


# The browser asks for English pages.
WRITING = "New data is being written; this usually takes a few seconds."


def get_refresh_journal(app) -> list[tuple]:
    with Session(engine_of(app)) as session:
        rows = session.execute(
            select(JournalEntry)
            .where(JournalEntry.action.in_(("refresh_start", "refresh_end")))
            .order_by(JournalEntry.id)
        ).scalars()
        return [(row.action, row.login) for row in rows]


def test_admin_refresh_shows_progress_and_maintenance_until_it_completes(
    refresh_app, browser, tmp_path
):
    from playwright.sync_api import expect

    app, base_url = refresh_app
    user = open_signed_in(browser, base_url, "alice", "/")
    expect(user.locator("#app-page")).to_be_visible()
    admin = open_signed_in(browser, base_url, "boss", "/admin")

    admin.fill('#refresh-form input[name="areas"]', "2")
    admin.click("#refresh-start")
    admin.wait_for_url("**/admin?done=start*")
    wait_for_pause(app, tmp_path / "pause.waiting")

    # The admin page reloads itself while a run is going: its row shows the
    # run's own progress, and the panel warns that readers are held off.
    run_row = admin.locator('tr[data-run="1"]')
    expect(run_row).to_have_attribute("data-status", "running")
    # The run publishes its writing phase as the write starts, on both databases.
    assert get_run(app, 1).progress["phase"] == "writing"
    expect(run_row.locator(".refresh-progress")).to_have_text(WRITING)
    expect(admin.locator("#admin-maintenance")).to_be_visible()
    response = user.reload()
    assert response.status == 503
    assert response.headers["retry-after"] == "60"
    assert user.get_attribute("#accounts-error", "data-code") == "maintenance"
    expect(user.locator("#maintenance-progress")).to_have_text(WRITING)
    banner_page = admin.context.new_page()
    banner_page.goto("/methodology")
    expect(banner_page.locator("#app-maintenance-banner")).to_be_visible()

    (tmp_path / "pause").touch()

    expect(run_row).to_have_attribute("data-status", "complete")
    wait_for_started_refreshes(timeout=PAUSE_WAIT_SECONDS)
    expect(admin.locator("#admin-maintenance")).to_have_count(0)
    assert user.reload().status == 200
    assert get_run(app, 1).counts["vacancies"] == SAINT_PETERSBURG_VACANCIES
    assert get_refresh_journal(app) == [
        ("refresh_start", "boss"),
        ("refresh_end", "boss"),
    ]

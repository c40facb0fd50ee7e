"""An open analytics page when the server starts refusing it: a ban, a refresh."""

from __future__ import annotations

import re
import threading

import pytest
from werkzeug.serving import make_server

from services.dataset import clear_dataset_cache
from services.db import session_scope
from tests.auth_support import PASSWORD
from tests.auth_support import add_user
from tests.auth_support import log_in
from tests.auth_support import make_app
from tests.auth_support import post_form
from tests.auth_support import set_maintenance
from tests.browser.conftest import CHROMIUM
from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.conftest import WAIT_MS
from tests.browser.conftest import require_playwright
from tests.browser.sample_data import add_sample_vacancies

pytestmark = [pytest.mark.browser, pytest.mark.db]


@pytest.fixture
def live_app(database_url, engine, tmp_path):
    clear_dataset_cache()
    with session_scope(engine) as session:
        add_sample_vacancies(session)
    app = make_app(database_url, tmp_path)
    add_user(app, "mod", "moderator")
    add_user(app, "alice")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    clear_dataset_cache()


@pytest.fixture
def alice_page(live_app):
    """Alice signed in, with the analytics page open and drawn."""
    sync_playwright = require_playwright()
    from playwright.sync_api import expect

    _, url = live_app
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        context = browser.new_context(base_url=url)
        context.set_default_timeout(WAIT_MS)
        expect.set_options(timeout=WAIT_MS)
        page = context.new_page()
        page.goto("/login?next=/")
        page.fill("#login-login", "alice")
        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_selector("#analytics-median-value")
        yield page
        context.close()
        browser.close()


def change_a_filter(page) -> None:
    page.click("text=Санкт-Петербург")


def test_a_banned_users_open_page_stops_and_says_why(live_app, alice_page):
    from playwright.sync_api import expect

    app, _ = live_app
    moderator = app.test_client()
    log_in(moderator, "mod")
    banned = post_form(
        moderator, "/moderator/bans", {"kind": "login", "value": "alice"}
    )
    assert banned.status_code in (200, 302)

    change_a_filter(alice_page)

    notice = alice_page.locator("#app-session-notice")
    expect(notice).to_contain_text("Сеанс завершён")
    expect(notice.locator("a")).to_have_attribute("href", re.compile("^/login[?]next="))
    alice_page.goto("/")
    expect(alice_page).to_have_url("/login?next=/")


def test_an_open_page_shows_the_maintenance_notice(live_app, alice_page):
    from playwright.sync_api import expect

    app, _ = live_app
    set_maintenance(app, {"phase": "writing", "vacancies": 12})

    change_a_filter(alice_page)

    expect(alice_page.locator("#app-session-notice")).to_contain_text(
        "Идёт обновление данных"
    )

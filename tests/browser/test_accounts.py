"""Accounts in a real browser: sign in, refusals by role, an admin grants a role."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

import auth.users
from tests.auth_support import CHEAP_HASH
from tests.auth_support import PASSWORD
from tests.auth_support import add_user
from tests.auth_support import make_app
from tests.browser.conftest import CHROMIUM
from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.conftest import require_playwright

pytestmark = [pytest.mark.browser, pytest.mark.db]


@pytest.fixture
def live_app(database_url, tmp_path, monkeypatch):
    monkeypatch.setattr(auth.users, "PASSWORD_HASH_METHOD", CHEAP_HASH)
    app = make_app(database_url, tmp_path)
    add_user(app, "boss", "admin")
    add_user(app, "alice")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def page(live_app):
    sync_playwright = require_playwright()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        context = browser.new_context(base_url=live_app)
        yield context.new_page()
        context.close()
        browser.close()


def sign_in(page, login: str, next_path: str = "/account") -> None:
    page.goto(f"/login?next={next_path}&lang=en")
    page.fill("#login-login", login)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")


def test_a_user_signs_in_and_is_refused_the_admin_page(page):
    sign_in(page, "alice")
    assert page.text_content("#account-role") == "user"

    response = page.goto("/admin")

    assert response.status == 403
    assert page.get_attribute("#accounts-error", "data-code") == "role_too_low"


def test_an_admin_grants_the_moderator_role(page):
    sign_in(page, "boss", "/admin")
    row = page.locator('tr[data-login="alice"]')

    row.locator("select").select_option("moderator")
    row.locator("button").click()

    page.wait_for_url("**/admin?done=role*")
    assert page.locator('tr[data-login="alice"] select').input_value() == "moderator"

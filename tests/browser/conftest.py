"""A live app on the sample vacancies and a headless Chromium page for it.

Browser tests skip with the reason when Playwright or /usr/bin/chromium is
missing, except under CI=true, where a missing browser fails the run.
"""

from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from app import create_app
from services.dataset import clear_dataset_cache
from services.db import session_scope
from services.settings import Settings
from tests.browser.sample_data import add_sample_vacancies

CHROMIUM = "/usr/bin/chromium"
# Generous waits: on a loaded two-core machine Plotly may take seconds to draw.
WAIT_MS = 45_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_playwright():
    """Playwright's sync entry point, or a skip (a failure in CI) saying why not."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "playwright is not installed (pip install -r requirements-dev.txt)"
    else:
        if os.path.exists(CHROMIUM):
            return sync_playwright
        reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if IN_CI:
        pytest.fail(f"browser tests must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def dashboard_app(database_url, engine, tmp_path):
    """The app on the sample vacancies, not yet serving: tests may add hooks."""
    clear_dataset_cache()
    with session_scope(engine) as session:
        add_sample_vacancies(session)
    settings = Settings(
        database_url=database_url, public_dashboard=True, instance_dir=tmp_path
    )
    yield create_app(settings)
    clear_dataset_cache()


@pytest.fixture
def dashboard_url(dashboard_app):
    """The base URL of the live app serving the sample, on a free local port."""
    server = make_server("127.0.0.1", 0, dashboard_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def dashboard_page(dashboard_url, tmp_path):
    """A Chromium page opened on the analytics page, downloads allowed."""
    sync_playwright = require_playwright()
    from playwright.sync_api import expect

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        context = browser.new_context(base_url=dashboard_url, accept_downloads=True)
        context.set_default_timeout(WAIT_MS)
        expect.set_options(timeout=WAIT_MS)
        page = context.new_page()
        page.goto("/")
        page.wait_for_selector("#analytics-median-value")
        yield page
        context.close()
        browser.close()

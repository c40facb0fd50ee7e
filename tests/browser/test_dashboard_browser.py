"""The analytics page in a real browser: filters, URL state, downloads, languages."""

from __future__ import annotations

import csv
import io
import threading

import pytest
from flask import request
from playwright.sync_api import expect

from dashboard.downloads import VACANCY_COLUMNS
from tests.browser.conftest import WAIT_MS

pytestmark = [pytest.mark.browser, pytest.mark.db]

NNBSP = "\u202f"
ALL_MEDIAN = f"150{NNBSP}000{NNBSP}₽"
MOSCOW_MEDIAN = f"125{NNBSP}000{NNBSP}₽"
SPB_MEDIAN = f"220{NNBSP}000{NNBSP}₽"


def toggle_option(page, dropdown_id: str, search: str, option: str) -> None:
    """Open a dropdown, type into its search box and toggle one option."""
    page.click(f"#{dropdown_id}")
    page.fill(".dash-dropdown-content input.dash-dropdown-search", search)
    page.locator(".dash-dropdown-content [role=option]", has_text=option).click()
    page.keyboard.press("Escape")


def median(page):
    return page.locator("#analytics-median-value")


def test_choosing_an_area_changes_the_headline_median(dashboard_page):
    page = dashboard_page
    expect(median(page)).to_have_text(ALL_MEDIAN)

    toggle_option(page, "analytics-area", "Санкт", "Санкт-Петербург")

    expect(median(page)).to_have_text(SPB_MEDIAN)
    expect(page).to_have_url("/?area=2")
    expect(page.locator("#analytics-vacancies-value")).to_have_text("5")


def test_a_reloaded_url_gives_the_same_view(dashboard_page):
    page = dashboard_page
    page.click("text=Москва")
    page.check("#analytics-flags input[value=only_with_salary]")
    page.fill("#analytics-q", "Python")
    page.press("#analytics-q", "Enter")
    expect(page).to_have_url("/?area=1&q=Python&only_with_salary=true")

    page.reload()

    expect(median(page)).to_have_text(MOSCOW_MEDIAN)
    expect(page.locator("#analytics-q")).to_have_value("Python")
    expect(
        page.locator("#analytics-flags input[value=only_with_salary]")
    ).to_be_checked()
    expect(page.locator("#analytics-area")).to_contain_text("Москва")


class HeldSync:
    """Holds the filter sync callback's answers to control changes until released.

    Installed as a before_request hook of the test's own app, so the browser
    sends every change before the server has answered any of them.
    """

    def __init__(self):
        self.held = 0
        self._arrived = threading.Condition()
        self._released = threading.Event()

    def hold_sync_request(self) -> None:
        if not self._is_control_change():
            return
        with self._arrived:
            self.held += 1
            self._arrived.notify_all()
        self._released.wait(timeout=WAIT_MS / 1000)

    def wait_for_held(self, count: int) -> None:
        with self._arrived:
            arrived = self._arrived.wait_for(
                lambda: self.held >= count, timeout=WAIT_MS / 1000
            )
        assert arrived, f"{self.held} of {count} sync requests reached the server"

    def release(self) -> None:
        self._released.set()

    @staticmethod
    def _is_control_change() -> bool:
        if request.path != "/_dash-update-component":
            return False
        payload = request.get_json(silent=True) or {}
        changed = set(payload.get("changedPropIds") or [])
        is_sync = str(payload.get("output", "")).startswith("..analytics-url.search.")
        return is_sync and bool(changed - {"analytics-url.search"})


@pytest.fixture
def held_sync(dashboard_app):
    """Answers of the filter sync wait until the test releases them."""
    gate = HeldSync()
    dashboard_app.before_request(gate.hold_sync_request)
    yield gate
    gate.release()


def test_changes_made_before_the_server_answers_all_reach_the_url(
    held_sync, dashboard_page
):
    page = dashboard_page
    page.click("text=Москва")
    page.check("#analytics-flags input[value=only_with_salary]")
    page.fill("#analytics-q", "Python")
    page.press("#analytics-q", "Enter")
    page.check("#analytics-status input[value=all]")
    held_sync.wait_for_held(4)

    held_sync.release()

    expect(page).to_have_url("/?area=1&q=Python&only_with_salary=true&status=all")
    expect(median(page)).to_have_text(MOSCOW_MEDIAN)
    expect(page.locator("#analytics-area")).to_contain_text("Москва")
    expect(
        page.locator("#analytics-flags input[value=only_with_salary]")
    ).to_be_checked()
    expect(page.locator("#analytics-q")).to_have_value("Python")
    expect(page.locator("#analytics-status input[value=all]")).to_be_checked()


def test_the_back_button_steps_through_changes(dashboard_page):
    page = dashboard_page
    page.click("text=Москва")
    expect(median(page)).to_have_text(MOSCOW_MEDIAN)
    page.click("text=Санкт-Петербург")
    expect(median(page)).to_have_text(SPB_MEDIAN)

    page.go_back()

    expect(page).to_have_url("/?area=1")
    expect(median(page)).to_have_text(MOSCOW_MEDIAN)
    expect(page.locator("#analytics-area")).to_contain_text("Москва")
    page.go_back()
    expect(median(page)).to_have_text(ALL_MEDIAN)


@pytest.mark.parametrize(
    ("link", "rows"),
    [("analytics-download-vacancies-csv", 6), ("analytics-download-stats-csv", None)],
    ids=["vacancies", "stats"],
)
def test_downloads_follow_the_filters(dashboard_page, link, rows):
    page = dashboard_page
    page.click("text=Москва")
    expect(page.locator(f"#{link}")).to_have_attribute(
        "href", f"/download/{link[19:].replace('-', '.', 1)}?area=1"
    )

    with page.expect_download() as download_info:
        page.click(f"#{link}")

    body = download_info.value.path().read_bytes()
    assert body.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    if rows is not None:
        assert table[0] == list(VACANCY_COLUMNS)
        assert len(table) == 1 + rows
    else:
        summary = {row[1]: row[8] for row in table if row[0] == "summary"}
        assert (summary["vacancies"], summary["salary_p50"]) == ("6", "125000.0")


def test_comparing_two_cities(dashboard_page):
    page = dashboard_page
    page.click("text=Москва")
    expect(median(page)).to_have_text(MOSCOW_MEDIAN)

    page.click("#analytics-compare-on")
    toggle_option(page, "analytics-vs-area", "Москва", "Москва")
    toggle_option(page, "analytics-vs-area", "Санкт", "Санкт-Петербург")

    expect(page).to_have_url("/?area=1&vs_area=2&vs_status=open")
    expect(median(page)).to_have_text(MOSCOW_MEDIAN)
    expect(page.locator("#analytics-vs-median-value")).to_have_text(SPB_MEDIAN)


def test_switching_the_language(dashboard_page):
    page = dashboard_page
    page.click("text=Москва")
    expect(median(page)).to_have_text(MOSCOW_MEDIAN)

    page.click("#app-lang-en")

    expect(median(page)).to_have_text("₽125,000")
    expect(page.locator(".app-nav")).to_contain_text("Methodology")
    expect(page).to_have_url("/?area=1")
    page.click("text=Methodology")
    expect(page.locator("h1")).to_have_text("How the figures are made")


def test_experience_slider_and_work_format_filter_the_vacancies(dashboard_page):
    page = dashboard_page
    vacancies = page.locator("#analytics-vacancies-value")
    expect(vacancies).to_have_text("12")
    low, high = page.locator("#analytics-experience [role=slider]").all()

    low.press("ArrowRight")
    low.press("ArrowRight")
    high.press("ArrowLeft")

    expect(page).to_have_url("/?experience=between3And6")
    expect(vacancies).to_have_text("5")
    expect(median(page)).to_have_text(SPB_MEDIAN)

    page.check("#analytics-work-format input[value=REMOTE]")

    expect(page).to_have_url("/?experience=between3And6&work_format=REMOTE")
    expect(vacancies).to_have_text("0")


@pytest.mark.parametrize(
    ("leave", "url"),
    [("text=Москва", "/?area=1&q=Python"), ("h1, h2, h3", "/?q=Python")],
    ids=["quick-pick", "blur"],
)
def test_a_typed_keyword_applies_when_the_box_loses_focus(dashboard_page, leave, url):
    page = dashboard_page
    page.fill("#analytics-q", "Python")

    page.locator(leave).first.click()

    expect(page).to_have_url(url)
    expect(page.locator("#analytics-q")).to_have_value("Python")


def test_a_keyword_typed_while_the_url_catches_up_is_kept(held_sync, dashboard_page):
    page = dashboard_page
    page.click("text=Москва")
    held_sync.wait_for_held(1)
    page.fill("#analytics-q", "Python")

    held_sync.release()
    expect(page).to_have_url("/?area=1")
    page.click("text=Санкт-Петербург")

    expect(page).to_have_url("/?area=2&q=Python")
    expect(page.locator("#analytics-q")).to_have_value("Python")

"""The analytics page's widgets as a reader meets them: language, menus, tables."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.db]

RUSSIAN_MONTHS = (
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
)
ENGLISH_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MENU = ".dash-dropdown-content"


def open_calendar(page) -> str:
    """Open the publication date calendar; its text."""
    page.click("#analytics-published")
    calendar = page.locator(".dash-datepicker-content")
    expect(calendar).to_be_visible()
    return calendar.inner_text()


def month_names_in(text: str, months) -> list[str]:
    return [month for month in months if month in text]


def test_widgets_speak_russian_on_the_russian_page(dashboard_page):
    page = dashboard_page

    page.click("#analytics-area")
    menu = page.locator(MENU)
    expect(menu).to_contain_text("Выбрать все")
    expect(menu).to_contain_text("Снять все")
    expect(menu.locator("input.dash-dropdown-search")).to_have_attribute(
        "placeholder", "Поиск"
    )
    page.keyboard.press("Escape")

    thumbs = page.locator("#analytics-sidebar .analytics-slider [role=slider]")
    expect(thumbs.first).to_have_attribute("aria-label", "Опыт работы: от")
    expect(thumbs.first).to_have_attribute("aria-valuetext", "Без опыта")
    expect(thumbs.nth(1)).to_have_attribute("aria-label", "Опыт работы: до")
    expect(page.locator("#analytics-published")).to_have_attribute(
        "placeholder", "С даты"
    )
    expect(page.locator("#analytics-weekly .modebar-btn").first).to_have_attribute(
        "data-title", "Сохранить как PNG"
    )

    calendar = open_calendar(page)
    assert month_names_in(calendar, RUSSIAN_MONTHS)
    assert not month_names_in(calendar, ENGLISH_MONTHS)
    assert "пн" in calendar and "Mo" not in calendar
    expect(page.get_by_label("Следующий месяц")).to_be_visible()


def test_widgets_speak_english_on_the_english_page(dashboard_page):
    page = dashboard_page
    page.click("#app-lang-en")
    expect(page.locator(".app-nav")).to_contain_text("Methodology")

    page.click("#analytics-area")
    expect(page.locator(MENU)).to_contain_text("Select all")
    page.keyboard.press("Escape")

    thumbs = page.locator("#analytics-sidebar .analytics-slider [role=slider]")
    expect(thumbs.nth(1)).to_have_attribute("aria-label", "Experience: to")
    calendar = open_calendar(page)
    assert month_names_in(calendar, ENGLISH_MONTHS)
    assert not month_names_in(calendar, RUSSIAN_MONTHS)
    assert "Mo" in calendar


def test_the_area_menu_closes_on_a_choice(dashboard_page):
    page = dashboard_page
    page.click("#analytics-area")
    page.fill(f"{MENU} input.dash-dropdown-search", "Санкт")

    page.locator(f"{MENU} [role=option]", has_text="Санкт-Петербург").click()

    expect(page.locator(MENU)).to_have_count(0)
    expect(page).to_have_url("/?area=2")


def test_an_unknown_role_survives_a_jump_back_through_history(dashboard_page):
    # The browser's history menu can jump two entries back at once, to a URL
    # the page was not rendered for.
    page = dashboard_page
    page.goto("/?role=999999")
    notices = page.locator("#analytics-notices")
    expect(notices).to_contain_text("999999")
    page.click(".app-nav >> text=Методика")
    page.click(".app-nav >> text=Аналитика")
    expect(notices).to_have_text("")

    page.evaluate("history.go(-2)")

    expect(page.locator("#analytics-role")).to_contain_text("№999999 (не найден)")
    expect(notices).to_contain_text("999999")
    expect(page.locator("#analytics-vacancies-value")).to_have_text("0")
    expect(page).to_have_url("/?role=999999")


def test_comparison_tables_name_each_row_selection(dashboard_page):
    page = dashboard_page
    page.goto("/?area=1&vs_area=2&vs_status=open")

    areas = page.locator("#analytics-top-areas")
    expect(areas.locator("th").first).to_contain_text("Выборка")
    rows = areas.locator("tbody tr")
    expect(rows.nth(1)).to_contain_text("Выборка")
    expect(rows.nth(1)).to_contain_text("Москва")
    expect(rows.nth(2)).to_contain_text("Сравнение")
    expect(rows.nth(2)).to_contain_text("Санкт-Петербург")

"""The analytics page's layout as a reader sees it: marks, dark controls, tables."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.db]

COMPARISON = "/?area=1&vs_area=2&vs_status=open"
# WCAG's minimum contrast for text, and for a control's outline.
TEXT_CONTRAST = 4.5
OUTLINE_CONTRAST = 3.0
# Marks closer than about a space's width read as one word.
MARK_GAP_PX = 6

# An element's own colours; a transparent background is the nearest
# painted one behind it.
COLOURS_JS = """element => {
    const style = getComputedStyle(element);
    let behind = element;
    let background = style.backgroundColor;
    while (behind && /rgba\\(.*, 0\\)$|transparent/.test(background)) {
        behind = behind.parentElement;
        background = behind ? getComputedStyle(behind).backgroundColor
                            : "rgb(255, 255, 255)";
    }
    const placeholder = element.querySelector("input")
        ? getComputedStyle(element.querySelector("input"), "::placeholder").color
        : style.color;
    return {
        text: style.color,
        background: background,
        border: style.borderTopColor,
        placeholder: placeholder,
    };
}"""


def luminance(colour: str) -> float:
    """The relative luminance of a CSS rgb() or rgba() colour (WCAG 2)."""
    red, green, blue = (int(part) / 255 for part in re.findall(r"[\d.]+", colour)[:3])

    def linear(channel: float) -> float:
        if channel <= 0.03928:
            return channel / 12.92
        return ((channel + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def overlaps(boxes: list[dict]) -> list[int]:
    """Indexes of boxes too close to the next one, left to right, to read apart."""
    boxes = sorted(boxes, key=lambda box: box["x"])
    return [
        index
        for index, (box, after) in enumerate(zip(boxes, boxes[1:], strict=False))
        if box["x"] + box["width"] + MARK_GAP_PX > after["x"]
    ]


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_experience_marks_stand_apart(dashboard_page, lang):
    page = dashboard_page
    page.set_viewport_size({"width": 1280, "height": 900})
    if lang == "en":
        page.click("#app-lang-en")
        expect(page.locator(".app-nav")).to_contain_text("Methodology")

    marks = page.locator("#analytics-experience .dash-slider-mark")
    expect(marks).to_have_count(4)
    boxes = [marks.nth(index).bounding_box() for index in range(4)]

    assert overlaps(boxes) == []


def test_dark_theme_controls_are_readable(dashboard_page):
    page = dashboard_page
    page.click("#app-theme-toggle")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    # Native checkboxes and scroll bars are drawn dark too.
    scheme = page.evaluate("getComputedStyle(document.documentElement).colorScheme")
    assert scheme == "dark"
    page.click("text=Москва")
    expect(page.locator("#analytics-area .dash-dropdown-value-item")).to_be_visible()

    for selector in ("#analytics-area", "#analytics-role"):
        colours = page.locator(selector).evaluate(COLOURS_JS)
        assert luminance(colours["background"]) < 0.05, selector
        assert contrast(colours["text"], colours["background"]) >= TEXT_CONTRAST
        assert contrast(colours["border"], colours["background"]) >= OUTLINE_CONTRAST
    chip = page.locator("#analytics-area .dash-dropdown-value-item").evaluate(
        COLOURS_JS
    )
    assert contrast(chip["text"], chip["background"]) >= TEXT_CONTRAST

    page.click("#analytics-role")
    menu = page.locator(".dash-dropdown-content")
    expect(menu).to_be_visible()
    for part in (menu, menu.locator(".dash-dropdown-search-container")):
        colours = part.evaluate(COLOURS_JS)
        assert luminance(colours["background"]) < 0.05
        assert contrast(colours["text"], colours["background"]) >= TEXT_CONTRAST
        assert contrast(colours["placeholder"], colours["background"]) >= TEXT_CONTRAST


@pytest.mark.parametrize("width", [1300, 1400])
@pytest.mark.parametrize("path", ["/", COMPARISON])
def test_top_tables_show_every_column(dashboard_page, width, path):
    page = dashboard_page
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(path)
    expect(page.locator("#analytics-top-employers td").first).to_be_visible()

    for table_id in ("analytics-top-areas", "analytics-top-employers"):
        table = page.locator(f"#{table_id}")
        card = page.locator(".analytics-table", has=table).bounding_box()
        headers = table.locator("th")
        expect(headers.last).to_contain_text("n")
        last = headers.last.bounding_box()

        assert last["x"] + last["width"] <= card["x"] + card["width"], table_id

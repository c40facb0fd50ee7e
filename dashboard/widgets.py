"""The built-in texts of the Dash widgets, in the page's language.

Dash's dropdowns and date pickers come with English texts ("Select All",
"Start Date", month names). The dropdowns and the date picker's placeholders
take their texts as props, set here. Three kinds of text have no prop: the
calendar's month and weekday names, its buttons' labels and the range
slider's thumb labels. `assets/widget_language.js` supplies them from the
data attributes made here and, for the calendar's names, from the browser's
own date names for the page's language.
"""

from __future__ import annotations

import json

from dashboard.i18n import register_messages
from dashboard.i18n import translate

# The calendar's built-in button labels, which have no prop: the asset swaps
# each for its text in the page's language.
CALENDAR_LABELS = {
    "Previous month": "widgets.previous_month",
    "Next month": "widgets.next_month",
    "Close calendar": "widgets.close_calendar",
    "Clear Dates": "widgets.clear_dates",
    "Clear date": "widgets.clear_date",
    "Decrease value": "widgets.decrease",
    "Increase value": "widgets.increase",
}

register_messages(
    {
        "widgets.select_all": ("Выбрать все", "Select all"),
        "widgets.deselect_all": ("Снять все", "Deselect all"),
        "widgets.selected_count": (
            "выбрано: {num_selected}",
            "{num_selected} selected",
        ),
        "widgets.search": ("Поиск", "Search"),
        "widgets.clear_search": ("Очистить поиск", "Clear the search"),
        "widgets.clear_selection": ("Очистить выбор", "Clear the selection"),
        "widgets.no_options_found": ("Ничего не найдено", "Nothing found"),
        "widgets.start_date": ("С даты", "From"),
        "widgets.end_date": ("По дату", "To"),
        "widgets.previous_month": ("Предыдущий месяц", "Previous month"),
        "widgets.next_month": ("Следующий месяц", "Next month"),
        "widgets.close_calendar": ("Закрыть календарь", "Close the calendar"),
        "widgets.clear_dates": ("Очистить даты", "Clear the dates"),
        "widgets.clear_date": ("Очистить дату", "Clear the date"),
        "widgets.decrease": ("Уменьшить", "Decrease"),
        "widgets.increase": ("Увеличить", "Increase"),
        "widgets.range_from": ("{name}: от", "{name}: from"),
        "widgets.range_to": ("{name}: до", "{name}: to"),
    }
)


def dropdown_labels(lang: str) -> dict[str, str]:
    """The `labels` prop of a dcc.Dropdown in `lang`."""
    # "{num_selected}" is Dash's own placeholder: translate() fills nothing
    # in a text asked for without values, so it reaches the browser as is.
    return {
        "select_all": translate("widgets.select_all", lang),
        "deselect_all": translate("widgets.deselect_all", lang),
        "selected_count": translate("widgets.selected_count", lang),
        "search": translate("widgets.search", lang),
        "clear_search": translate("widgets.clear_search", lang),
        "clear_selection": translate("widgets.clear_selection", lang),
        "no_options_found": translate("widgets.no_options_found", lang),
    }


def date_range_placeholders(lang: str) -> dict[str, str]:
    """The empty-box texts of a dcc.DatePickerRange in `lang`, as props."""
    return {
        "start_date_placeholder_text": translate("widgets.start_date", lang),
        "end_date_placeholder_text": translate("widgets.end_date", lang),
    }


def page_widget_attributes(lang: str) -> dict[str, str]:
    """Data attributes of the page shell that the widget asset reads.

    The calendar opens in a layer of its own outside any wrapper of ours, so
    its labels travel on the shell, for the whole page.
    """
    labels = {english: translate(key, lang) for english, key in CALENDAR_LABELS.items()}
    return {"data-widget-labels": json.dumps(labels, ensure_ascii=False)}


def range_slider_attributes(name: str, value_texts: list[str], lang: str) -> dict:
    """Data attributes for a range slider's wrapper: thumb names and value texts.

    A screen reader then says "Опыт работы: от, Без опыта" rather than
    "Minimum, 0".
    """
    thumbs = [
        translate("widgets.range_from", lang, name=name),
        translate("widgets.range_to", lang, name=name),
    ]
    return {
        "data-thumb-labels": json.dumps(thumbs, ensure_ascii=False),
        "data-value-texts": json.dumps(value_texts, ensure_ascii=False),
    }

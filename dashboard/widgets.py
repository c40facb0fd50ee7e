"""The built-in texts of the Dash widgets, in the page's language.

Dash's dropdowns, date pickers and charts come with English texts ("Select
All", "Start Date", "Zoom", month names). The dropdowns and the date
picker's placeholders take their texts as props, set here, and so do the
charts, through Plotly's own locale config (tool-bar tooltips, month names
on date axes). Three kinds of text have no prop: the calendar's month and
weekday names, its buttons' labels and the range slider's thumb labels.
`assets/widget_language.js` supplies them from the data attributes made
here and, for the calendar's names, from the browser's own date names for
the page's language.
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

# Plotly's tool-bar tooltips and notes, by their English text.
PLOTLY_TEXTS = {
    "Download plot as a PNG": "widgets.plot_download",
    "Share chart...": "widgets.plot_share",
    "Zoom": "widgets.plot_zoom",
    "Pan": "widgets.plot_pan",
    "Box Select": "widgets.plot_box_select",
    "Lasso Select": "widgets.plot_lasso_select",
    "Zoom in": "widgets.plot_zoom_in",
    "Zoom out": "widgets.plot_zoom_out",
    "Autoscale": "widgets.plot_autoscale",
    "Reset axes": "widgets.plot_reset_axes",
    "Toggle Spike Lines": "widgets.plot_spike_lines",
    "Show closest data on hover": "widgets.plot_hover_closest",
    "Compare data on hover": "widgets.plot_hover_compare",
    "Double-click to zoom back out": "widgets.plot_zoom_back",
    "Double-click on legend to isolate one trace": "widgets.plot_legend_isolate",
}
# Plotly's date names, comma-separated: its locale format wants lists.
PLOTLY_DATE_NAMES = {
    "months": "widgets.months",
    "shortMonths": "widgets.short_months",
    "days": "widgets.days",
    "shortDays": "widgets.short_days",
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
        "widgets.plot_download": ("Сохранить как PNG", "Download plot as a PNG"),
        "widgets.plot_share": ("Поделиться…", "Share chart..."),
        "widgets.plot_zoom": ("Увеличить область", "Zoom"),
        "widgets.plot_pan": ("Сдвигать", "Pan"),
        "widgets.plot_box_select": ("Выделить прямоугольником", "Box Select"),
        "widgets.plot_lasso_select": ("Выделить лассо", "Lasso Select"),
        "widgets.plot_zoom_in": ("Приблизить", "Zoom in"),
        "widgets.plot_zoom_out": ("Отдалить", "Zoom out"),
        "widgets.plot_autoscale": ("Автомасштаб", "Autoscale"),
        "widgets.plot_reset_axes": ("Сбросить оси", "Reset axes"),
        "widgets.plot_spike_lines": ("Линии к осям", "Toggle Spike Lines"),
        "widgets.plot_hover_closest": (
            "Подсказка у ближайшей точки",
            "Show closest data on hover",
        ),
        "widgets.plot_hover_compare": (
            "Подсказки всех рядов",
            "Compare data on hover",
        ),
        "widgets.plot_zoom_back": (
            "Двойной щелчок вернёт прежний масштаб",
            "Double-click to zoom back out",
        ),
        "widgets.plot_legend_isolate": (
            "Двойной щелчок по легенде оставит один ряд",
            "Double-click on legend to isolate one trace",
        ),
        "widgets.months": (
            "январь,февраль,март,апрель,май,июнь,июль,август,сентябрь,октябрь,"
            "ноябрь,декабрь",
            "January,February,March,April,May,June,July,August,September,"
            "October,November,December",
        ),
        "widgets.short_months": (
            "янв,фев,мар,апр,май,июн,июл,авг,сен,окт,ноя,дек",
            "Jan,Feb,Mar,Apr,May,Jun,Jul,Aug,Sep,Oct,Nov,Dec",
        ),
        "widgets.days": (
            "воскресенье,понедельник,вторник,среда,четверг,пятница,суббота",
            "Sunday,Monday,Tuesday,Wednesday,Thursday,Friday,Saturday",
        ),
        "widgets.short_days": (
            "вс,пн,вт,ср,чт,пт,сб",
            "Sun,Mon,Tue,Wed,Thu,Fri,Sat",
        ),
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


def plotly_locale_config(lang: str) -> dict:
    """Keys of a dcc.Graph `config` that put Plotly's own texts in `lang`.

    Plotly speaks English by itself; for another language the locale goes
    with each chart's config, so no locale script has to be loaded.
    """
    if lang == "en":
        return {}
    dictionary = {
        english: translate(key, lang) for english, key in PLOTLY_TEXTS.items()
    }
    names = {
        name: translate(key, lang).split(",") for name, key in PLOTLY_DATE_NAMES.items()
    }
    return {
        "locale": lang,
        "locales": {lang: {"dictionary": dictionary, "format": names}},
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

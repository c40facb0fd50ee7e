"""The analytics page: filters, headline figures, charts and top tables.

The page's state is its URL query string (design §6 names, `vs_` for the
comparison selection), so a link reproduces the view and the back button
steps through changes. Two callbacks run it:

- `sync_filters` keeps the controls and the URL in step: a control change
  writes the URL from every control at once, so a request sent before the
  previous answer arrived still carries every change (Dash drops the answer
  of a request that a newer one of the same callback replaced); values the
  controls cannot show, such as an unknown enum value from a link, survive.
  A URL change (a link, the back button) sets the controls. The quick picks
  and the comparison buttons set controls in the browser, without a round
  trip, for the same reason.
- `render_statistics` reads the URL, calls `get_stats` once per selection and
  fills every card, chart, table and download link from that one answer.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass
from dataclasses import replace
from datetime import date
from urllib.parse import parse_qs
from urllib.parse import urlencode

import dash
from dash import ALL
from dash import Input
from dash import Output
from dash import State
from dash import ctx
from dash import dash_table
from dash import dcc
from dash import html
from dash.dash_table.Format import Format
from dash.dash_table.Format import Group
from dash.dash_table.Format import Scheme
from sqlalchemy.exc import SQLAlchemyError

from auth.journal import record_event
from dashboard.figures import ACCENT
from dashboard.figures import COMPARISON
from dashboard.figures import Selection
from dashboard.figures import make_distribution_figure
from dashboard.figures import make_empty_figure
from dashboard.figures import make_experience_box_figure
from dashboard.figures import make_salary_histogram_figure
from dashboard.figures import make_theme_patch
from dashboard.figures import make_weekly_figure
from dashboard.format import NARROW_NBSP
from dashboard.format import format_count
from dashboard.format import format_moscow_time
from dashboard.format import format_percent
from dashboard.format import format_rouble_range
from dashboard.format import format_roubles
from dashboard.i18n import register_messages
from dashboard.i18n import request_language
from dashboard.i18n import translate
from dashboard.widgets import date_range_placeholders
from dashboard.widgets import dropdown_labels
from dashboard.widgets import plotly_locale_config
from dashboard.widgets import range_slider_attributes
from services.analytics import get_stats
from services.filters import EMPLOYMENT_FORM_IDS
from services.filters import EXPERIENCE_IDS
from services.filters import WORK_FORMAT_IDS
from services.filters import FilterError
from services.filters import Filters
from services.filters import parse_filters
from services.lookup import get_area_names
from services.lookup import get_employer_names
from services.lookup import get_role_options
from services.lookup import search_areas
from services.lookup import search_employers
from services.runtime import current_settings
from services.runtime import request_session
from services.state import get_data_info

logger = logging.getLogger(__name__)

COMPARE_PREFIX = "vs_"
ENUM_VALUE = re.compile(r"[A-Za-z_]{1,40}")
LOW_CONFIDENCE_N = 30
HIDDEN_N = 5
HH_EMPLOYER_URL = "https://hh.ru/employer/{id}"
LOADING_DELAY_MS = 400
FLAG_NAMES = ("only_with_salary", "accredited_it", "trusted")
DOWNLOADS = ("stats.csv", "stats.xlsx", "vacancies.csv", "vacancies.xlsx")
FIGURE_IDS = (
    "analytics-histogram",
    "analytics-experience-box",
    "analytics-experience-chart",
    "analytics-employment-form-chart",
    "analytics-work-format-chart",
    "analytics-weekly",
)
QUICK_PICKS = {
    "moscow": Filters(area=(1,)),
    "spb": Filters(area=(2,)),
    "russia_rest": Filters(area=(113,), exclude_area=(1, 2)),
}

register_messages(
    {
        "analytics.filters": ("Фильтры", "Filters"),
        "analytics.close_filters": ("Закрыть фильтры", "Close the filters"),
        "analytics.area": ("Регионы", "Areas"),
        "analytics.exclude_area": ("Кроме регионов", "Except areas"),
        "analytics.area_placeholder": (
            "Начните вводить название…",
            "Start typing a name…",
        ),
        "analytics.pick_moscow": ("Москва", "Moscow"),
        "analytics.pick_spb": ("Санкт-Петербург", "Saint Petersburg"),
        "analytics.pick_russia_rest": (
            "Россия без Москвы и Петербурга",
            "Russia without Moscow and St Petersburg",
        ),
        "analytics.employer": ("Компании", "Companies"),
        "analytics.experience": ("Опыт работы", "Experience"),
        "analytics.role": ("Профессиональные роли", "Professional roles"),
        "analytics.employment_form": ("Тип занятости", "Employment form"),
        "analytics.work_format": ("Формат работы", "Work format"),
        "analytics.q": ("Ключевые слова", "Keywords"),
        "analytics.q_placeholder": ("например, python django", "e.g. python django"),
        "analytics.published": ("Дата публикации (МСК)", "Published (Moscow)"),
        "analytics.options": ("Вакансии", "Vacancies"),
        "analytics.only_with_salary": ("Только с зарплатой", "Only with a salary"),
        "analytics.accredited_it": ("Аккредитованные IT", "Accredited IT"),
        "analytics.trusted": ("Проверенные компании", "Trusted companies"),
        "analytics.status": ("Статус", "Status"),
        "analytics.status_open": ("Открытые", "Open"),
        "analytics.status_closed": ("Закрытые", "Closed"),
        "analytics.status_all": ("Все", "All"),
        "analytics.basis": ("Зарплата", "Salary"),
        "analytics.basis_net": ("На руки", "Net"),
        "analytics.basis_gross": ("До вычета НДФЛ", "Gross"),
        "analytics.view": ("Значение вилки", "Salary range value"),
        "analytics.view_mid": ("Середина", "Midpoint"),
        "analytics.view_from": ("От", "From"),
        "analytics.view_to": ("До", "To"),
        "analytics.compare": ("Сравнить с другой выборкой", "Compare with a selection"),
        "analytics.compare_off": ("Убрать сравнение", "Remove the comparison"),
        "analytics.compare_title": ("Выборка для сравнения", "Comparison selection"),
        "analytics.main_name": ("Выборка", "Selection"),
        "analytics.vs_name": ("Сравнение", "Comparison"),
        "analytics.card_vacancies": ("Вакансии", "Vacancies"),
        "analytics.card_employers": ("Компании", "Companies"),
        "analytics.card_disclosure": ("Указана зарплата", "Salary disclosed"),
        "analytics.card_median": ("Медиана зарплаты", "Median salary"),
        "analytics.iqr_n": ("P25–P75: {range}; n = {n}", "P25–P75: {range}; n = {n}"),
        "analytics.too_few": (
            "n = {n}: слишком мало для статистики",
            "n = {n}: too few for statistics",
        ),
        "analytics.low_confidence": (
            "мало данных (n < 30), оценка неточна",
            "few salaries (n < 30): a rough estimate",
        ),
        "analytics.no_data": ("нет данных", "no data"),
        "analytics.excluded": (
            "Не вошли в статистику зарплат: {not_monthly} не помесячных, "
            "{unknown_currency} в неизвестной валюте, {implausible} "
            "неправдоподобных. Зарплат за пределами России: {outside_russia} "
            "(учтены как опубликованы).",
            "Left out of salary statistics: {not_monthly} not monthly, "
            "{unknown_currency} in an unknown currency, {implausible} "
            "implausible. Salaries outside Russia: {outside_russia} "
            "(taken as published).",
        ),
        "analytics.bad_value": (
            "Параметр «{param}»: значение «{value}» не распознано и пропущено.",
            "Parameter '{param}': the value '{value}' is not valid and was dropped.",
        ),
        "analytics.unknown_ids": (
            "Не найдены в данных ({kind}): {ids}. Фильтр оставлен, но им ничего "
            "не соответствует.",
            "Not found in the data ({kind}): {ids}. The filter is kept but "
            "matches nothing.",
        ),
        "analytics.kind_area": ("регионы", "areas"),
        "analytics.kind_employer": ("компании", "companies"),
        "analytics.kind_role": ("роли", "roles"),
        "analytics.unavailable": (
            "Данные сейчас недоступны; попробуйте обновить страницу через минуту.",
            "The data is unavailable right now; reload the page in a minute.",
        ),
        "analytics.unknown_option": ("№{id} (не найден)", "#{id} (not found)"),
        "analytics.previous_version": (
            "Новые данные ещё готовятся: показаны данные обновления {shown}.",
            "New data is still being prepared: showing the data refreshed {shown}.",
        ),
        "analytics.histogram_title": ("Распределение зарплат", "Salary distribution"),
        "analytics.box_title": ("Зарплата по опыту", "Salary by experience"),
        "analytics.experience_title": ("Опыт работы", "Experience"),
        "analytics.employment_form_title": ("Тип занятости", "Employment form"),
        "analytics.work_format_title": ("Формат работы", "Work format"),
        "analytics.weekly_title": (
            "Публикации по неделям и медиана",
            "Weekly publications and median",
        ),
        "analytics.top_areas": ("Топ регионов", "Top areas"),
        "analytics.top_employers": ("Топ компаний", "Top companies"),
        "analytics.col_selection": ("Выборка", "Selection"),
        "analytics.col_name": ("Название", "Name"),
        "analytics.col_vacancies": ("Вакансии", "Vacancies"),
        "analytics.col_p50": ("Медиана", "Median"),
        "analytics.col_p25": ("P25", "P25"),
        "analytics.col_p75": ("P75", "P75"),
        "analytics.col_n": ("n", "n"),
        "analytics.downloads": ("Скачать", "Download"),
        "analytics.download_stats_csv": ("статистику (CSV)", "statistics (CSV)"),
        "analytics.download_stats_xlsx": ("статистику (XLSX)", "statistics (XLSX)"),
        "analytics.download_vacancies_csv": ("вакансии (CSV)", "vacancies (CSV)"),
        "analytics.download_vacancies_xlsx": ("вакансии (XLSX)", "vacancies (XLSX)"),
        "experience.noExperience": ("Без опыта", "No experience"),
        "experience.between1And3": ("1–3 года", "1–3 years"),
        "experience.between3And6": ("3–6 лет", "3–6 years"),
        "experience.moreThan6": ("Более 6 лет", "Over 6 years"),
        "experience.unknown": ("Не указан", "Not stated"),
        # The slider's four marks share the sidebar's 270 px: short words.
        "experience_mark.noExperience": ("Без опыта", "None"),
        "experience_mark.between1And3": ("1–3 года", "1–3 yrs"),
        "experience_mark.between3And6": ("3–6 лет", "3–6 yrs"),
        "experience_mark.moreThan6": ("Более 6 лет", "6+ yrs"),
        "employment_form.FULL": ("Полная", "Full time"),
        "employment_form.PART": ("Частичная", "Part time"),
        "employment_form.PROJECT": ("Проектная", "Project"),
        "employment_form.FLY_IN_FLY_OUT": ("Вахта", "Fly-in fly-out"),
        "employment_form.SIDE_JOB": ("Подработка", "Side job"),
        "employment_form.unknown": ("Не указана", "Not stated"),
        "work_format.ON_SITE": ("На месте", "On site"),
        "work_format.REMOTE": ("Удалённо", "Remote"),
        "work_format.HYBRID": ("Гибрид", "Hybrid"),
        "work_format.FIELD_WORK": ("Разъездной", "Field work"),
        "work_format.unknown": ("Не указан", "Not stated"),
    }
)


# --- URL <-> filters -------------------------------------------------------------


def parse_search(search: str | None) -> dict[str, list[str]]:
    """The query string of the page as a name -> values mapping."""
    return parse_qs((search or "").lstrip("?"), keep_blank_values=False)


def is_comparing(params: dict[str, list[str]]) -> bool:
    """The comparison is on while any `vs_` parameter is in the URL."""
    return any(name.startswith(COMPARE_PREFIX) for name in params)


def make_search(main: Filters, comparison: Filters | None) -> str:
    """The page's query string for a selection and an optional comparison.

    The comparison always carries `vs_status`, so a comparison of two default
    selections still shows in the URL.
    """
    pairs = main.to_query()
    if comparison is not None:
        pairs += comparison.to_query(COMPARE_PREFIX)
        if not any(name == "vs_status" for name, _value in pairs):
            pairs.append(("vs_status", comparison.status))
    return "?" + urlencode(pairs) if pairs else ""


def experience_from_range(bounds: list[int] | None) -> tuple[str, ...]:
    """The contiguous experience levels of the slider; none for the whole range."""
    if not isinstance(bounds, list | tuple) or len(bounds) != 2:
        return ()
    low, high = sorted(int(bound) for bound in bounds)
    low, high = max(low, 0), min(high, len(EXPERIENCE_IDS) - 1)
    if (low, high) == (0, len(EXPERIENCE_IDS) - 1):
        return ()
    return EXPERIENCE_IDS[low : high + 1]


def range_from_experience(experience: tuple[str, ...]) -> list[int]:
    """The slider position for a selection; the whole range when it has no range."""
    positions = [EXPERIENCE_IDS.index(e) for e in experience if e in EXPERIENCE_IDS]
    if not positions or len(positions) != len(experience):
        return [0, len(EXPERIENCE_IDS) - 1]
    return [min(positions), max(positions)]


def _as_list(value) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _ids(value) -> tuple[int, ...]:
    ids = set()
    for item in _as_list(value):
        text = str(item).strip()
        if text.isdigit():
            ids.add(int(text))
    return tuple(sorted(ids))


def _enum_values(value, known: tuple[str, ...], kept: tuple[str, ...]) -> tuple:
    chosen = {str(item) for item in _as_list(value) if ENUM_VALUE.fullmatch(str(item))}
    # Values the checklist does not offer (from a link) stay in the selection.
    chosen |= {item for item in kept if item not in (*known, "unknown")}
    order = {item: index for index, item in enumerate((*known, "unknown"))}
    return tuple(sorted(chosen, key=lambda item: (order.get(item, 99), item)))


def _day(value) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


@dataclass(frozen=True)
class Controls:
    """The values of the main selection's controls, as Dash passes them."""

    area: object = None
    exclude_area: object = None
    employer: object = None
    experience: object = None
    role: object = None
    employment_form: object = None
    work_format: object = None
    q: object = None
    published_from: object = None
    published_to: object = None
    flags: object = None
    status: object = None
    basis: object = None
    view: object = None


CONTROL_FIELDS = {
    "analytics-area": ("area",),
    "analytics-exclude-area": ("exclude_area",),
    "analytics-employer": ("employer",),
    "analytics-experience": ("experience",),
    "analytics-role": ("role",),
    "analytics-employment-form": ("employment_form",),
    "analytics-work-format": ("work_format",),
    "analytics-q": ("q",),
    "analytics-published": ("published_from", "published_to"),
    "analytics-flags": FLAG_NAMES,
    "analytics-status": ("status",),
    "analytics-basis": ("basis",),
    "analytics-view": ("view",),
}
VS_CONTROL_FIELDS = {
    "analytics-vs-area": ("area",),
    "analytics-vs-employer": ("employer",),
    "analytics-vs-experience": ("experience",),
}


def apply_controls(current: Filters, controls: Controls, names) -> Filters:
    """`current` with the fields `names` taken from the controls.

    Every value is checked here as well: a control can be fed anything, and a
    value that does not fit is left out rather than raising.
    """
    values = {
        "area": _ids(controls.area),
        "exclude_area": _ids(controls.exclude_area),
        "employer": tuple(str(i) for i in _ids(controls.employer)),
        "experience": experience_from_range(controls.experience),
        "role": _ids(controls.role),
        "employment_form": _enum_values(
            controls.employment_form, EMPLOYMENT_FORM_IDS, current.employment_form
        ),
        "work_format": _enum_values(
            controls.work_format, WORK_FORMAT_IDS, current.work_format
        ),
        "q": " ".join(str(controls.q or "").split())[:500],
        "published_from": _day(controls.published_from),
        "published_to": _day(controls.published_to),
        "status": _choice(controls.status, ("open", "closed", "all"), "open"),
        "basis": _choice(controls.basis, ("net", "gross"), "net"),
        "view": _choice(controls.view, ("mid", "from", "to"), "mid"),
    }
    flags = {str(flag) for flag in _as_list(controls.flags)}
    values.update({name: name in flags for name in FLAG_NAMES})
    chosen = {name: values[name] for name in names}
    updated = replace(current, **chosen)
    start, end = updated.published_from, updated.published_to
    if start is not None and end is not None and start > end:
        updated = replace(updated, published_from=end, published_to=start)
    return updated


def _choice(value, allowed: tuple[str, ...], default: str) -> str:
    return value if value in allowed else default


def controls_from_filters(filters: Filters) -> dict:
    """The control values that show `filters`, by component id."""
    return {
        "analytics-area": list(filters.area),
        "analytics-exclude-area": list(filters.exclude_area),
        "analytics-employer": list(filters.employer),
        "analytics-experience": range_from_experience(filters.experience),
        "analytics-role": list(filters.role),
        "analytics-employment-form": list(filters.employment_form),
        "analytics-work-format": list(filters.work_format),
        "analytics-q": filters.q,
        "analytics-published-start": _iso(filters.published_from),
        "analytics-published-end": _iso(filters.published_to),
        "analytics-flags": [name for name in FLAG_NAMES if getattr(filters, name)],
        "analytics-status": filters.status,
        "analytics-basis": filters.basis,
        "analytics-view": filters.view,
    }


CONTROL_KEYS = (
    "analytics-area",
    "analytics-exclude-area",
    "analytics-employer",
    "analytics-experience",
    "analytics-role",
    "analytics-employment-form",
    "analytics-work-format",
    "analytics-q",
    "analytics-published-start",
    "analytics-published-end",
    "analytics-flags",
    "analytics-status",
    "analytics-basis",
    "analytics-view",
)


def controls_showing(filters: Filters) -> Controls:
    """The values the main selection's controls take to show `filters`."""
    values = controls_from_filters(filters)
    return Controls(*(values[key] for key in CONTROL_KEYS))


def merge_controls(from_url: Filters, controls: Controls, fields: dict) -> Filters:
    """`from_url` with every field whose control shows something else taken from it.

    A control that still shows the URL's value keeps that value, which may say
    more than the control can (experience levels the slider cannot show).
    """
    display = controls_showing(from_url)
    merged = from_url
    for names in fields.values():
        chosen = apply_controls(from_url, controls, names)
        if chosen != apply_controls(from_url, display, names):
            merged = apply_controls(merged, controls, names)
    return merged


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# --- layout ----------------------------------------------------------------------


def layout(lang: str, search: str = "") -> html.Div:
    """The analytics page for the selection in `search`, in `lang`."""
    params = parse_search(search)
    main, _errors = parse_filters(params)
    comparison = parse_filters(params, COMPARE_PREFIX)[0]
    values = controls_from_filters(main)
    vs_values = controls_from_filters(comparison)
    options = _selected_options(main, comparison, lang)
    return html.Div(
        className="analytics-page",
        children=[
            # The page's own location: its callbacks never mix with the shell's
            # components, which Dash refuses while the page is not rendered.
            dcc.Location(id="analytics-url", refresh=False),
            dcc.Store(id="analytics-picks", data=make_quick_pick_data(lang)),
            _make_sidebar(lang, values, vs_values, options, is_comparing(params)),
            _make_content(lang),
        ],
    )


def make_quick_pick_data(lang: str) -> dict:
    """Each quick pick's areas and their named options, for the browser."""
    picked = sorted({i for f in QUICK_PICKS.values() for i in f.area + f.exclude_area})
    names = get_area_names(request_session(), picked)
    return {
        name: {
            "area": list(pick.area),
            "exclude_area": list(pick.exclude_area),
            "options": _named_options((*pick.area, *pick.exclude_area), names, lang),
        }
        for name, pick in QUICK_PICKS.items()
    }


def _selected_options(main: Filters, comparison: Filters, lang: str) -> dict:
    session = request_session()
    areas = {*main.area, *main.exclude_area, *comparison.area}
    employers = {*main.employer, *comparison.employer}
    area_names = get_area_names(session, sorted(areas))
    employer_names = get_employer_names(session, sorted(employers))
    # The largest areas and employers are offered before anything is typed.
    top_areas = _area_search_options("")
    top_employers = _employer_search_options("")

    def offer(ids, names, top):
        chosen = _named_options(ids, names, lang)
        return _merge_options(ids, chosen, top)

    return {
        "area": offer(main.area, area_names, top_areas),
        "exclude_area": offer(main.exclude_area, area_names, top_areas),
        "employer": offer(main.employer, employer_names, top_employers),
        "vs_area": offer(comparison.area, area_names, top_areas),
        "vs_employer": offer(comparison.employer, employer_names, top_employers),
        "role": _role_options(session, main.role, lang),
    }


def _named_options(ids, names: dict, lang: str) -> list[dict]:
    return [
        {
            "label": names.get(item)
            or translate("analytics.unknown_option", lang, id=item),
            "value": item,
        }
        for item in ids
    ]


def _role_options(session, chosen, lang: str) -> list[dict]:
    # Dropdowns have no option groups: a disabled category line heads its
    # roles, and a role listed under several categories appears once. A chosen
    # id missing from the reference gets its own line, or the dropdown would
    # drop it and the page would show every vacancy.
    options, seen = [], set()
    for group in get_role_options(session):
        roles = [role for role in group["roles"] if role["id"] not in seen]
        if not roles:
            continue
        options.append(
            {
                "label": group["category"],
                "value": f"category:{group['category']}",
                "disabled": True,
            }
        )
        for role in roles:
            seen.add(role["id"])
            options.append({"label": f"  {role['name']}", "value": role["id"]})
    missing = [item for item in chosen if item not in seen]
    return _named_options(missing, {}, lang) + options


def _field(label_key: str, lang: str, control):
    return html.Div(
        className="analytics-field",
        children=[html.Label(translate(label_key, lang)), control],
    )


def _experience_slider(component_id: str, value: list[int], lang: str):
    levels = [translate(f"experience.{level}", lang) for level in EXPERIENCE_IDS]
    names = range_slider_attributes(
        translate("analytics.experience", lang), levels, lang
    )
    return html.Div(
        className="analytics-slider",
        children=_range_slider(component_id, value, lang),
        **names,
    )


def _range_slider(component_id: str, value: list[int], lang: str):
    return dcc.RangeSlider(
        id=component_id,
        min=0,
        max=len(EXPERIENCE_IDS) - 1,
        step=1,
        value=value,
        allowCross=True,
        allow_direct_input=False,
        marks={
            index: translate(f"experience_mark.{level}", lang)
            for index, level in enumerate(EXPERIENCE_IDS)
        },
    )


def _search_dropdown(component_id: str, value, options, lang: str):
    # One usually types a name and picks it: the list closes on the choice,
    # as a single-choice list would, instead of covering the fields below
    # with the results of a finished search.
    return dcc.Dropdown(
        id=component_id,
        options=options,
        value=value,
        multi=True,
        searchable=True,
        closeOnSelect=True,
        placeholder=translate("analytics.area_placeholder", lang),
        labels=dropdown_labels(lang),
        debounce=False,
    )


def _enum_checklist(component_id: str, kind: str, known, value, lang: str):
    return dcc.Checklist(
        id=component_id,
        options=[
            {"label": translate(f"{kind}.{item}", lang), "value": item}
            for item in (*known, "unknown")
        ],
        value=value,
        className="analytics-checklist",
    )


def _radio(component_id: str, prefix: str, choices, value, lang: str):
    return dcc.RadioItems(
        id=component_id,
        options=[
            {"label": translate(f"{prefix}_{choice}", lang), "value": choice}
            for choice in choices
        ],
        value=value,
        inline=True,
        className="analytics-radio",
    )


def _make_sidebar(lang, values, vs_values, options, comparing) -> html.Aside:
    picks = html.Div(
        className="analytics-picks",
        children=[
            html.Button(
                translate(f"analytics.pick_{name}", lang),
                id={"type": "analytics-pick", "name": name},
                n_clicks=0,
            )
            for name in QUICK_PICKS
        ],
    )
    fields = [
        html.Button(
            "×",
            id="analytics-drawer-close",
            className="analytics-drawer-close",
            n_clicks=0,
            title=translate("analytics.close_filters", lang),
        ),
        html.H2(translate("analytics.filters", lang)),
        _field(
            "analytics.area",
            lang,
            _search_dropdown(
                "analytics-area", values["analytics-area"], options["area"], lang
            ),
        ),
        picks,
        _field(
            "analytics.exclude_area",
            lang,
            _search_dropdown(
                "analytics-exclude-area",
                values["analytics-exclude-area"],
                options["exclude_area"],
                lang,
            ),
        ),
        _field(
            "analytics.employer",
            lang,
            _search_dropdown(
                "analytics-employer",
                values["analytics-employer"],
                options["employer"],
                lang,
            ),
        ),
        _field(
            "analytics.experience",
            lang,
            _experience_slider(
                "analytics-experience", values["analytics-experience"], lang
            ),
        ),
        _field(
            "analytics.role",
            lang,
            dcc.Dropdown(
                id="analytics-role",
                options=options["role"],
                value=values["analytics-role"],
                multi=True,
                searchable=True,
                labels=dropdown_labels(lang),
            ),
        ),
        _field(
            "analytics.employment_form",
            lang,
            _enum_checklist(
                "analytics-employment-form",
                "employment_form",
                EMPLOYMENT_FORM_IDS,
                values["analytics-employment-form"],
                lang,
            ),
        ),
        _field(
            "analytics.work_format",
            lang,
            _enum_checklist(
                "analytics-work-format",
                "work_format",
                WORK_FORMAT_IDS,
                values["analytics-work-format"],
                lang,
            ),
        ),
        _field(
            "analytics.q",
            lang,
            dcc.Input(
                id="analytics-q",
                type="search",
                value=values["analytics-q"],
                debounce=True,
                placeholder=translate("analytics.q_placeholder", lang),
            ),
        ),
        _field(
            "analytics.published",
            lang,
            dcc.DatePickerRange(
                id="analytics-published",
                start_date=values["analytics-published-start"],
                end_date=values["analytics-published-end"],
                display_format="DD.MM.YYYY" if lang == "ru" else "YYYY-MM-DD",
                first_day_of_week=1,
                clearable=True,
                **date_range_placeholders(lang),
            ),
        ),
        _field(
            "analytics.options",
            lang,
            dcc.Checklist(
                id="analytics-flags",
                options=[
                    {"label": translate(f"analytics.{name}", lang), "value": name}
                    for name in FLAG_NAMES
                ],
                value=values["analytics-flags"],
                className="analytics-checklist",
            ),
        ),
        _field(
            "analytics.status",
            lang,
            _radio(
                "analytics-status",
                "analytics.status",
                ("open", "closed", "all"),
                values["analytics-status"],
                lang,
            ),
        ),
        _field(
            "analytics.basis",
            lang,
            _radio(
                "analytics-basis",
                "analytics.basis",
                ("net", "gross"),
                values["analytics-basis"],
                lang,
            ),
        ),
        _field(
            "analytics.view",
            lang,
            _radio(
                "analytics-view",
                "analytics.view",
                ("mid", "from", "to"),
                values["analytics-view"],
                lang,
            ),
        ),
        _make_compare_panel(lang, vs_values, options, comparing),
    ]
    return html.Aside(
        id="analytics-sidebar", className="analytics-sidebar", children=fields
    )


def _make_compare_panel(lang, vs_values, options, comparing) -> html.Div:
    return html.Div(
        className="analytics-compare",
        children=[
            html.Button(
                translate("analytics.compare", lang),
                id="analytics-compare-on",
                n_clicks=0,
                className="analytics-compare-on",
            ),
            html.Div(
                id="analytics-compare-panel",
                hidden=not comparing,
                children=[
                    html.H3(translate("analytics.compare_title", lang)),
                    _field(
                        "analytics.area",
                        lang,
                        _search_dropdown(
                            "analytics-vs-area",
                            vs_values["analytics-area"],
                            options["vs_area"],
                            lang,
                        ),
                    ),
                    _field(
                        "analytics.employer",
                        lang,
                        _search_dropdown(
                            "analytics-vs-employer",
                            vs_values["analytics-employer"],
                            options["vs_employer"],
                            lang,
                        ),
                    ),
                    _field(
                        "analytics.experience",
                        lang,
                        _experience_slider(
                            "analytics-vs-experience",
                            vs_values["analytics-experience"],
                            lang,
                        ),
                    ),
                    html.Button(
                        translate("analytics.compare_off", lang),
                        id="analytics-compare-off",
                        n_clicks=0,
                    ),
                ],
            ),
        ],
    )


def _chart(title_key: str, figure_id: str, lang: str) -> html.Section:
    return html.Section(
        className="analytics-chart",
        children=[
            html.H3(translate(title_key, lang)),
            dcc.Loading(
                dcc.Graph(
                    id=figure_id,
                    config={
                        "displaylogo": False,
                        "responsive": True,
                        **plotly_locale_config(lang),
                    },
                ),
                delay_show=LOADING_DELAY_MS,
                type="dot",
            ),
        ],
    )


def _money_format(lang: str) -> Format:
    if lang == "en":
        return Format(precision=0, scheme=Scheme.fixed, group=Group.yes).symbol_prefix(
            "₽"
        )
    return Format(
        precision=0,
        scheme=Scheme.fixed,
        group=Group.yes,
        group_delimiter=NARROW_NBSP,
        decimal_delimiter=",",
    ).symbol_suffix(f"{NARROW_NBSP}₽")


def _count_format(lang: str) -> Format:
    if lang == "en":
        return Format(precision=0, scheme=Scheme.fixed, group=Group.yes)
    return Format(
        precision=0, scheme=Scheme.fixed, group=Group.yes, group_delimiter=NARROW_NBSP
    )


def top_table_columns(lang: str, linked: bool, comparing: bool) -> list[dict]:
    """A top table's columns; with a comparison the first names the selection."""
    money, count = _money_format(lang), _count_format(lang)
    name_column = {"name": translate("analytics.col_name", lang), "id": "name"}
    if linked:
        name_column["presentation"] = "markdown"
    columns = [
        name_column,
        _numeric_column("vacancies", "analytics.col_vacancies", count, lang),
        _numeric_column("p50", "analytics.col_p50", money, lang),
        _numeric_column("p25", "analytics.col_p25", money, lang),
        _numeric_column("p75", "analytics.col_p75", money, lang),
        _numeric_column("n", "analytics.col_n", count, lang),
    ]
    if comparing:
        selection = translate("analytics.col_selection", lang)
        columns.insert(0, {"name": selection, "id": "selection"})
    return columns


def _selection_cell_styles(lang: str) -> list[dict]:
    # The selection's colour as a bar before its name, as on the cards.
    return [
        {
            "if": {
                "column_id": "selection",
                "filter_query": f'{{selection}} = "{name}"',
            },
            "boxShadow": f"inset 4px 0 0 {colour}",
            "fontWeight": "600",
        }
        for name, colour in zip(
            selection_names(lang), (ACCENT, COMPARISON), strict=True
        )
    ]


# The page's proportional font (with digits of one width, so the numbers
# still line up) at 13 px and narrow padding let all six columns, seven when
# comparing, fit half of a 1280 px screen; long names wrap instead of
# widening the table.
TABLE_CELL_STYLE = {
    "textAlign": "left",
    "padding": "3px 5px",
    "fontFamily": 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    "fontVariantNumeric": "tabular-nums",
    "fontSize": "13px",
}
TABLE_NAME_STYLE = {"whiteSpace": "normal", "minWidth": "80px", "maxWidth": "160px"}


def _table(component_id: str, title_key: str, lang: str, linked: bool):
    return html.Section(
        className="analytics-table",
        children=[
            html.H3(translate(title_key, lang)),
            _make_data_table(
                id=component_id,
                columns=top_table_columns(lang, linked, comparing=False),
                data=[],
                sort_action="native",
                markdown_options={"link_target": "_blank"},
                style_as_list_view=True,
                style_table={"overflowX": "auto"},
                style_cell=TABLE_CELL_STYLE,
                style_cell_conditional=[
                    {"if": {"column_type": "numeric"}, "textAlign": "right"},
                    {"if": {"column_id": "name"}, **TABLE_NAME_STYLE},
                ],
                style_data_conditional=_selection_cell_styles(lang),
            ),
        ],
    )


def _make_data_table(**props) -> dash_table.DataTable:
    # Dash 4 warns on every DataTable that it will leave the builtin set one
    # day; the table is still supported and the project has no grid package.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            category=DeprecationWarning,
            message=r"\s*The dash_table\.DataTable",
        )
        return dash_table.DataTable(**props)


def _numeric_column(column_id: str, label_key: str, number_format, lang: str):
    return {
        "name": translate(label_key, lang),
        "id": column_id,
        "type": "numeric",
        "format": number_format,
    }


def _make_content(lang: str) -> html.Div:
    downloads = html.Div(
        className="analytics-downloads",
        children=[
            html.Span(translate("analytics.downloads", lang) + ":"),
            *[
                html.A(
                    translate(f"analytics.download_{_download_key(name)}", lang),
                    id=f"analytics-download-{_download_key(name).replace('_', '-')}",
                    href=f"/download/{name}",
                )
                for name in DOWNLOADS
            ],
        ],
    )
    return html.Div(
        className="analytics-content",
        children=[
            html.Div(id="analytics-notices", className="analytics-notices"),
            dcc.Loading(
                html.Div(id="analytics-cards", className="analytics-cards"),
                delay_show=LOADING_DELAY_MS,
                type="dot",
            ),
            html.P(id="analytics-excluded", className="analytics-excluded"),
            downloads,
            html.Div(
                className="analytics-grid",
                children=[
                    _chart("analytics.histogram_title", "analytics-histogram", lang),
                    _chart("analytics.box_title", "analytics-experience-box", lang),
                    _chart(
                        "analytics.experience_title", "analytics-experience-chart", lang
                    ),
                    _chart(
                        "analytics.employment_form_title",
                        "analytics-employment-form-chart",
                        lang,
                    ),
                    _chart(
                        "analytics.work_format_title",
                        "analytics-work-format-chart",
                        lang,
                    ),
                    _chart("analytics.weekly_title", "analytics-weekly", lang),
                ],
            ),
            html.Div(
                className="analytics-tables",
                children=[
                    _table("analytics-top-areas", "analytics.top_areas", lang, False),
                    _table(
                        "analytics-top-employers",
                        "analytics.top_employers",
                        lang,
                        True,
                    ),
                ],
            ),
        ],
    )


def _download_key(name: str) -> str:
    return name.replace(".", "_")


# --- statistics -> page ----------------------------------------------------------


def make_notices(
    errors: list[FilterError], unknown_ids: list[dict], lang: str
) -> list[html.Div]:
    """One visible notice per dropped value and per unrecognised id kind."""
    notices = [
        html.Div(
            translate(
                "analytics.bad_value", lang, param=error.param, value=error.value
            ),
            className="analytics-notice",
            role="alert",
        )
        for error in errors
    ]
    for unknown in unknown_ids:
        for kind in ("area", "employer", "role"):
            ids = unknown.get(kind) or []
            if not ids:
                continue
            notices.append(
                html.Div(
                    translate(
                        "analytics.unknown_ids",
                        lang,
                        kind=translate(f"analytics.kind_{kind}", lang),
                        ids=", ".join(str(item) for item in ids),
                    ),
                    className="analytics-notice",
                    role="alert",
                )
            )
    return notices


def make_version_notice(data: dict, current: str, lang: str) -> list[html.Div]:
    """A notice when the answer comes from the previous data version, which
    workers keep serving while the refresh builds the new one (seconds)."""
    if data["version"] == current:
        return []
    refreshed = data["refreshed_at"]
    shown = format_moscow_time(refreshed, lang) if refreshed else data["version"]
    return [
        html.Div(
            translate("analytics.previous_version", lang, shown=shown),
            className="analytics-notice",
            role="status",
        )
    ]


def make_median_text(salary: dict, lang: str) -> tuple[str, str, bool]:
    """The median card's value, its detail line and whether it is low-confidence."""
    n = salary.get("n") or 0
    if n == 0:
        return translate("analytics.no_data", lang), "n = 0", False
    if n < HIDDEN_N or salary.get("p50") is None:
        return "—", translate("analytics.too_few", lang, n=format_count(n, lang)), False
    spread = format_rouble_range(salary.get("p25"), salary.get("p75"), lang)
    detail = translate("analytics.iqr_n", lang, range=spread, n=format_count(n, lang))
    return format_roubles(salary["p50"], lang), detail, n < LOW_CONFIDENCE_N


def _card(key: str, title_key: str, values: list[tuple], lang: str) -> html.Div:
    lines = []
    for position, (value, detail, low_confidence) in enumerate(values):
        prefix = "analytics-vs" if position else "analytics"
        children = [
            html.Div(
                value, id=f"{prefix}-{key}-value", className="analytics-card-value"
            )
        ]
        if detail:
            children.append(html.Div(detail, className="analytics-card-detail"))
        if low_confidence:
            children.append(
                html.Div(
                    translate("analytics.low_confidence", lang),
                    className="analytics-card-warning",
                )
            )
        lines.append(
            html.Div(
                children,
                className="analytics-card-line",
                style={"borderColor": COMPARISON if position else ACCENT},
            )
        )
    return html.Div(
        className="analytics-card",
        children=[
            html.Div(translate(title_key, lang), className="analytics-card-title")
        ]
        + lines,
    )


def make_cards(all_stats: list[dict], lang: str) -> list[html.Div]:
    """Headline cards: vacancies, companies, disclosure rate, median with P25-P75."""
    return [
        _card(
            "vacancies",
            "analytics.card_vacancies",
            [(format_count(s["vacancies"], lang), "", False) for s in all_stats],
            lang,
        ),
        _card(
            "employers",
            "analytics.card_employers",
            [(format_count(s["employer_count"], lang), "", False) for s in all_stats],
            lang,
        ),
        _card(
            "disclosure",
            "analytics.card_disclosure",
            [
                (
                    format_percent(s["disclosure_rate"], lang)
                    if s["vacancies"]
                    else translate("analytics.no_data", lang),
                    format_count(s["with_salary"], lang),
                    False,
                )
                for s in all_stats
            ],
            lang,
        ),
        _card(
            "median",
            "analytics.card_median",
            [make_median_text(s["salary"], lang) for s in all_stats],
            lang,
        ),
    ]


def make_excluded_line(salary: dict, lang: str) -> str:
    """The one line that says which salaries the statistics leave out."""
    excluded = salary.get("excluded") or {}
    return translate(
        "analytics.excluded",
        lang,
        not_monthly=format_count(excluded.get("not_monthly", 0), lang),
        unknown_currency=format_count(excluded.get("unknown_currency", 0), lang),
        implausible=format_count(excluded.get("implausible", 0), lang),
        outside_russia=format_count(salary.get("outside_russia", 0), lang),
    )


def _escape_markdown(text: str) -> str:
    return "".join("\\" + char if char in "\\[]()*_`#<>" else char for char in text)


def make_table_rows(rows: list[dict], linked: bool) -> list[dict]:
    """Top-table rows; company names link to the employer's page on hh.ru."""
    table = []
    for row in rows:
        name = str(row.get("name") or row["id"])
        if linked:
            url = HH_EMPLOYER_URL.format(id=row["id"])
            name = f"[{_escape_markdown(name)}]({url})"
        table.append(
            {
                "name": name,
                "vacancies": row["vacancies"],
                "p50": row.get("p50"),
                "p25": row.get("p25"),
                "p75": row.get("p75"),
                "n": row.get("n"),
            }
        )
    return table


def selection_names(lang: str) -> list[str]:
    """The names of the main selection and of the comparison."""
    return [
        translate("analytics.main_name", lang),
        translate("analytics.vs_name", lang),
    ]


@dataclass(frozen=True)
class TopTables:
    """The rows and the columns of the top-areas and top-companies tables."""

    area_rows: list[dict]
    employer_rows: list[dict]
    area_columns: list[dict]
    employer_columns: list[dict]


def make_top_tables(all_stats: list[dict], lang: str) -> TopTables:
    """Both top tables for one selection or, side by side, for a comparison.

    With a comparison every row names its selection in the first column, the
    main selection's rows first, so a row stays readable after sorting.
    """
    comparing = len(all_stats) > 1
    names = selection_names(lang)

    def rows(kind: str, linked: bool) -> list[dict]:
        table = []
        for name, stats in zip(names, all_stats, strict=False):
            for row in make_table_rows(stats[kind], linked):
                table.append({"selection": name, **row} if comparing else row)
        return table

    return TopTables(
        area_rows=rows("top_areas", linked=False),
        employer_rows=rows("top_employers", linked=True),
        area_columns=top_table_columns(lang, linked=False, comparing=comparing),
        employer_columns=top_table_columns(lang, linked=True, comparing=comparing),
    )


def category_labels(kind: str, rows: list[dict], lang: str) -> dict[str, str]:
    """Display names of a distribution's categories; an unlisted id shows as is."""
    labels = {}
    for row in rows:
        key = f"{kind}.{row['id']}"
        text = translate(key, lang)
        labels[row["id"]] = row["id"] if text == key else text
    return labels


def make_figures(all_stats: list[dict], lang: str, theme: str) -> list:
    """Every chart of the page, in the order of FIGURE_IDS."""
    names = [
        translate("analytics.main_name", lang),
        translate("analytics.vs_name", lang),
    ]
    colours = [ACCENT, COMPARISON]
    selections = [
        Selection(names[index], colours[index], stats)
        for index, stats in enumerate(all_stats)
    ]
    labels = {
        kind: category_labels(kind, [row for s in all_stats for row in s[kind]], lang)
        for kind in ("experience", "employment_form", "work_format")
    }
    return [
        make_salary_histogram_figure(selections, lang, theme),
        make_experience_box_figure(selections, labels["experience"], lang, theme),
        make_distribution_figure(
            "experience", selections, labels["experience"], lang, theme
        ),
        make_distribution_figure(
            "employment_form", selections, labels["employment_form"], lang, theme
        ),
        make_distribution_figure(
            "work_format", selections, labels["work_format"], lang, theme
        ),
        make_weekly_figure(selections, lang, theme),
    ]


def make_download_links(search: str) -> list[str]:
    """The download links for the main selection of the page's URL."""
    main, _errors = parse_filters(parse_search(search))
    query = urlencode(main.to_query())
    return [f"/download/{name}" + (f"?{query}" if query else "") for name in DOWNLOADS]


@dataclass(frozen=True)
class PageOutputs:
    """Everything `render_statistics` writes, in one place."""

    notices: list
    cards: list
    excluded: str
    figures: list
    top_tables: TopTables
    downloads: list[str]

    def as_tuple(self) -> tuple:
        return (
            self.notices,
            self.cards,
            self.excluded,
            *self.figures,
            self.top_tables.area_rows,
            self.top_tables.employer_rows,
            *self.downloads,
            self.top_tables.area_columns,
            self.top_tables.employer_columns,
        )


def compute_page(search: str | None, lang: str, theme: str) -> PageOutputs:
    """Read the URL, fetch the statistics once per selection, build the page.

    Malformed values are dropped with a notice; the page always renders, with
    "нет данных" where a selection is empty.
    """
    params = parse_search(search)
    main, errors = parse_filters(params)
    selections = [main]
    if is_comparing(params):
        comparison, vs_errors = parse_filters(params, COMPARE_PREFIX)
        selections.append(comparison)
        errors = errors + vs_errors

    session, settings = request_session(), current_settings()
    info = get_data_info(session)
    all_stats = [get_stats(session, f, settings, info) for f in selections]
    logger.info(
        "analytics page: %s, %d selection(s), %d vacancies",
        urlencode(main.to_query()) or "all",
        len(selections),
        all_stats[0]["vacancies"],
    )
    record_query(main)

    unknown = [stats.get("unknown_ids") or {} for stats in all_stats]
    notices = make_notices(errors, unknown, lang)
    notices.extend(make_version_notice(all_stats[0]["data"], info.version, lang))
    return PageOutputs(
        notices=notices,
        cards=make_cards(all_stats, lang),
        excluded=make_excluded_line(all_stats[0]["salary"], lang),
        figures=make_figures(all_stats, lang, theme),
        top_tables=make_top_tables(all_stats, lang),
        downloads=make_download_links(search or ""),
    )


def make_unavailable_page(lang: str, theme: str) -> PageOutputs:
    """The page when the database cannot answer: a notice and empty charts."""
    notice = html.Div(
        translate("analytics.unavailable", lang),
        className="analytics-notice",
        role="alert",
    )
    empty = [make_empty_figure(lang, theme) for _figure in FIGURE_IDS]
    links = [f"/download/{name}" for name in DOWNLOADS]
    return PageOutputs([notice], [], "", empty, make_top_tables([], lang), links)


def record_query(filters: Filters) -> None:
    """Write the selection to the user journal."""
    record_event("query", {"filters": filters.to_query()})


# --- callbacks -------------------------------------------------------------------

MAIN_INPUTS = (
    ("analytics-area", "value"),
    ("analytics-exclude-area", "value"),
    ("analytics-employer", "value"),
    ("analytics-experience", "value"),
    ("analytics-role", "value"),
    ("analytics-employment-form", "value"),
    ("analytics-work-format", "value"),
    ("analytics-q", "value"),
    ("analytics-published", "start_date"),
    ("analytics-published", "end_date"),
    ("analytics-flags", "value"),
    ("analytics-status", "value"),
    ("analytics-basis", "value"),
    ("analytics-view", "value"),
)
VS_INPUTS = (
    ("analytics-vs-area", "value"),
    ("analytics-vs-employer", "value"),
    ("analytics-vs-experience", "value"),
)
# A URL change (a link, the back button) sets the options with the values:
# a dropdown drops a value that has no option, and the next sync would then
# write the URL without it, losing e.g. an unknown role id from a link.
OPTION_OUTPUTS = (
    "analytics-area",
    "analytics-exclude-area",
    "analytics-employer",
    "analytics-vs-area",
    "analytics-vs-employer",
    "analytics-role",
)
SYNC_OUTPUTS = (
    ("analytics-url", "search"),
    *MAIN_INPUTS,
    *VS_INPUTS,
    *[(component_id, "options") for component_id in OPTION_OUTPUTS],
    ("analytics-compare-panel", "hidden"),
)

# The quick picks and the comparison buttons write controls in the browser:
# a change that lived only in a request would be lost with that request's
# answer when a newer sync request replaces it.
APPLY_QUICK_PICK = """
function(clicks, picks, areaOptions, excludeOptions) {
    const pick = picks[dash_clientside.callback_context.triggered_id.name];
    const withPicked = (options) => pick.options.concat(
        (options || []).filter(
            (option) => !pick.options.some((p) => p.value === option.value)
        )
    );
    return [
        pick.area, pick.exclude_area, withPicked(areaOptions),
        withPicked(excludeOptions),
    ];
}
"""
TOGGLE_COMPARISON = """
function(on, off, area, employer, experience, areaOptions, employerOptions,
         hidden) {
    const keep = dash_clientside.no_update;
    const clicked = dash_clientside.callback_context.triggered_id;
    if (clicked === "analytics-compare-off") {
        return [true, keep, keep, keep, keep, keep];
    }
    if (!hidden) {
        return [keep, keep, keep, keep, keep, keep];
    }
    return [false, area, employer, experience, areaOptions, employerOptions];
}
"""


def next_selection(
    search: str | None, controls: Controls, vs_controls: Controls, comparing: bool
) -> tuple[Filters, Filters | None]:
    """The selection the controls show, on top of the URL they were sent with.

    Every control that shows something other than the URL wins, so the answer
    holds each change made so far even when `search` lags behind. A new
    comparison starts as a copy of the main selection.
    """
    params = parse_search(search)
    main = merge_controls(parse_filters(params)[0], controls, CONTROL_FIELDS)
    if not comparing:
        return main, None

    base = parse_filters(params, COMPARE_PREFIX)[0] if is_comparing(params) else main
    return main, merge_controls(base, vs_controls, VS_CONTROL_FIELDS)


def url_selection(search: str | None) -> tuple[Filters, Filters | None]:
    """The main selection and the comparison (None when off) of a URL."""
    params = parse_search(search)
    comparison = (
        parse_filters(params, COMPARE_PREFIX)[0] if is_comparing(params) else None
    )
    return parse_filters(params)[0], comparison


def control_outputs(main: Filters, comparison: Filters | None) -> list:
    """Control values for MAIN_INPUTS + VS_INPUTS that show the selection."""
    values = controls_from_filters(main)
    vs_values = controls_from_filters(comparison or Filters())
    return [
        *(values[key] for key in CONTROL_KEYS),
        vs_values["analytics-area"],
        vs_values["analytics-employer"],
        vs_values["analytics-experience"],
    ]


def sync_filters(search, hidden, *values):
    """Keep the URL and the controls in step (see the module docstring)."""
    if set(ctx.triggered_prop_ids) <= {"analytics-url.search"}:
        return show_url_in_controls(search)

    controls = Controls(*values[: len(MAIN_INPUTS)])
    vs_controls = Controls(
        area=values[len(MAIN_INPUTS)],
        employer=values[len(MAIN_INPUTS) + 1],
        experience=values[len(MAIN_INPUTS) + 2],
    )
    selection = next_selection(search, controls, vs_controls, comparing=not hidden)
    search_output = (
        dash.no_update
        if selection == url_selection(search)
        else make_search(*selection)
    )
    return [search_output, *[dash.no_update] * (len(SYNC_OUTPUTS) - 1)]


def show_url_in_controls(search: str | None) -> list:
    """Every sync output for a URL that changed (a link, the back button)."""
    main, comparison = url_selection(search)
    options = _selected_options(main, comparison or Filters(), request_language())
    return [
        dash.no_update,
        *control_outputs(main, comparison),
        options["area"],
        options["exclude_area"],
        options["employer"],
        options["vs_area"],
        options["vs_employer"],
        options["role"],
        comparison is None,
    ]


def render_statistics(search, theme):
    """Fill every card, chart, table and link from one statistics answer."""
    lang = request_language()
    theme = theme if theme in ("light", "dark") else "light"
    try:
        page = compute_page(search, lang, theme)
    except SQLAlchemyError:
        logger.exception("analytics page: the statistics query failed")
        page = make_unavailable_page(lang, theme)
    return page.as_tuple()


def search_area_options(search_value, selected, options):
    """Area options as the user types: the chosen ones, then the best matches."""
    return _merge_options(
        selected,
        options,
        _area_search_options(search_value),
    )


def _area_search_options(search_value) -> list[dict]:
    found = search_areas(request_session(), str(search_value or ""), limit=20)
    return [
        {
            "label": area_label(item["name"], item.get("parent_name")),
            "value": item["id"],
        }
        for item in found
    ]


def area_label(name: str, parent_name: str | None) -> str:
    """An area's name with its parent region once; hh.ru names may already hold it."""
    if not parent_name or f"({parent_name})" in name:
        return name
    return f"{name} ({parent_name})"


def search_employer_options(search_value, selected, options):
    """Company options as the user types: the chosen ones, then the best matches."""
    return _merge_options(selected, options, _employer_search_options(search_value))


def _employer_search_options(search_value) -> list[dict]:
    found = search_employers(request_session(), str(search_value or ""), limit=20)
    return [{"label": item["name"], "value": item["id"]} for item in found]


def _merge_options(selected, current, found: list[dict]) -> list[dict]:
    # The dropdown forgets a chosen value whose option disappears, so the
    # chosen options always stay in the list, ahead of the search results.
    chosen = set(_as_list(selected))
    kept = [
        o for o in (current or []) if isinstance(o, dict) and o.get("value") in chosen
    ]
    kept_values = {option["value"] for option in kept}
    return kept + [o for o in found if o["value"] not in kept_values]


def retheme_figures(theme):
    """Re-theme the charts on the page without recomputing them."""
    theme = theme if theme in ("light", "dark") else "light"
    return [make_theme_patch(theme) for _figure in FIGURE_IDS]


def _register_browser_controls(app: dash.Dash) -> None:
    app.clientside_callback(
        APPLY_QUICK_PICK,
        Output("analytics-area", "value", allow_duplicate=True),
        Output("analytics-exclude-area", "value", allow_duplicate=True),
        Output("analytics-area", "options", allow_duplicate=True),
        Output("analytics-exclude-area", "options", allow_duplicate=True),
        Input({"type": "analytics-pick", "name": ALL}, "n_clicks"),
        State("analytics-picks", "data"),
        State("analytics-area", "options"),
        State("analytics-exclude-area", "options"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        TOGGLE_COMPARISON,
        Output("analytics-compare-panel", "hidden", allow_duplicate=True),
        Output("analytics-vs-area", "value", allow_duplicate=True),
        Output("analytics-vs-employer", "value", allow_duplicate=True),
        Output("analytics-vs-experience", "value", allow_duplicate=True),
        Output("analytics-vs-area", "options", allow_duplicate=True),
        Output("analytics-vs-employer", "options", allow_duplicate=True),
        Input("analytics-compare-on", "n_clicks"),
        Input("analytics-compare-off", "n_clicks"),
        State("analytics-area", "value"),
        State("analytics-employer", "value"),
        State("analytics-experience", "value"),
        State("analytics-area", "options"),
        State("analytics-employer", "options"),
        State("analytics-compare-panel", "hidden"),
        prevent_initial_call=True,
    )


def register_callbacks(app: dash.Dash) -> None:
    """Attach the analytics page's callbacks to the Dash app."""
    app.callback(
        *[Output(cid, prop) for cid, prop in SYNC_OUTPUTS],
        Input("analytics-url", "search"),
        Input("analytics-compare-panel", "hidden"),
        *[Input(cid, prop) for cid, prop in MAIN_INPUTS + VS_INPUTS],
    )(sync_filters)
    _register_browser_controls(app)

    app.callback(
        Output("analytics-notices", "children"),
        Output("analytics-cards", "children"),
        Output("analytics-excluded", "children"),
        *[Output(figure_id, "figure") for figure_id in FIGURE_IDS],
        Output("analytics-top-areas", "data"),
        Output("analytics-top-employers", "data"),
        *[
            Output(f"analytics-download-{_download_key(n).replace('_', '-')}", "href")
            for n in DOWNLOADS
        ],
        Output("analytics-top-areas", "columns"),
        Output("analytics-top-employers", "columns"),
        Input("analytics-url", "search"),
        State("app-theme", "data"),
    )(render_statistics)

    for component_id, search in (
        ("analytics-area", search_area_options),
        ("analytics-exclude-area", search_area_options),
        ("analytics-vs-area", search_area_options),
        ("analytics-employer", search_employer_options),
        ("analytics-vs-employer", search_employer_options),
    ):
        app.callback(
            Output(component_id, "options", allow_duplicate=True),
            Input(component_id, "search_value"),
            State(component_id, "value"),
            State(component_id, "options"),
            prevent_initial_call=True,
        )(search)

    app.clientside_callback(
        """
        function(clicks) {
            document.body.classList.remove("app-drawer-open");
            return dash_clientside.no_update;
        }
        """,
        Output("analytics-drawer-close", "title"),
        Input("analytics-drawer-close", "n_clicks"),
        prevent_initial_call=True,
    )

    app.callback(
        *[Output(f, "figure", allow_duplicate=True) for f in FIGURE_IDS],
        Input("app-theme", "data"),
        prevent_initial_call=True,
    )(retheme_figures)

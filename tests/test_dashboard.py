"""The analytics page's callbacks and shell, driven without a browser.

The callbacks are called as plain functions inside a request of a real app
on the small sample of tests/browser/sample_data.py, and once through Dash's
own HTTP endpoint to check the wiring.
"""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import urlencode

import pytest
from dash import dcc
from dash import html

from app import create_app
from dashboard import analytics
from dashboard import methodology
from dashboard.analytics import CONTROL_FIELDS
from dashboard.analytics import DOWNLOADS
from dashboard.analytics import FIGURE_IDS
from dashboard.analytics import SYNC_OUTPUTS
from dashboard.analytics import Controls
from dashboard.analytics import area_label
from dashboard.analytics import controls_showing
from dashboard.analytics import experience_from_range
from dashboard.analytics import make_quick_pick_data
from dashboard.analytics import make_search
from dashboard.analytics import next_selection
from dashboard.analytics import range_from_experience
from dashboard.analytics import render_statistics
from dashboard.analytics import show_url_in_controls
from dashboard.analytics import url_selection
from dashboard.app import make_shell_layout
from dashboard.figures import ACCENT
from dashboard.figures import COMPARISON
from dashboard.figures import Selection
from dashboard.figures import make_distribution_figure
from dashboard.figures import make_experience_box_figure
from dashboard.figures import make_salary_histogram_figure
from dashboard.figures import make_weekly_figure
from dashboard.format import format_count
from dashboard.format import format_roubles
from services.db import session_scope
from services.filters import Filters
from services.settings import Settings
from services.state import ensure_app_state
from services.timeutil import utc_now
from tests.browser.sample_data import add_sample_vacancies

NNBSP = "\u202f"
OUTPUT_NAMES = ("notices", "cards", "excluded", *FIGURE_IDS, "areas", "employers")


@pytest.fixture
def server(database_url, engine, tmp_path):
    with session_scope(engine) as session:
        add_sample_vacancies(session)
    settings = Settings(
        database_url=database_url, public_dashboard=True, instance_dir=tmp_path
    )
    return create_app(settings)


def render(server, search: str, lang: str = "ru") -> dict:
    """The analytics outputs for `search`, by name."""
    headers = {"Cookie": f"lang={lang}"}
    with server.test_request_context("/_dash-update-component", headers=headers):
        values = render_statistics(search, "light")
    named = dict(zip(OUTPUT_NAMES, values, strict=False))
    links_end = len(OUTPUT_NAMES) + len(DOWNLOADS)
    named["downloads"] = list(values[len(OUTPUT_NAMES) : links_end])
    named["area_columns"], named["employer_columns"] = values[links_end:]
    return named


def find(component, component_id: str):
    """The component with `component_id` inside a Dash tree, or None."""
    if isinstance(component, list | tuple):
        for child in component:
            found = find(child, component_id)
            if found is not None:
                return found
        return None
    if not hasattr(component, "to_plotly_json"):
        return None
    if getattr(component, "id", None) == component_id:
        return component
    return find(getattr(component, "children", None), component_id)


def component_ids(component) -> list[str]:
    """Every id in a Dash tree, in order, repeats included."""
    if isinstance(component, list | tuple):
        return [found for child in component for found in component_ids(child)]
    if not hasattr(component, "to_plotly_json"):
        return []
    own = getattr(component, "id", None)
    inner = component_ids(getattr(component, "children", None))
    return [json.dumps(own, sort_keys=True), *inner] if own else inner


def texts(component) -> list[str]:
    """Every text in a Dash tree, in order."""
    if isinstance(component, str):
        return [component]
    if isinstance(component, list | tuple):
        return [text for child in component for text in texts(child)]
    if hasattr(component, "to_plotly_json"):
        return texts(getattr(component, "children", None))
    return []


def components(component, kind) -> list:
    """Every component of class `kind` in a Dash tree, in order."""
    if isinstance(component, list | tuple):
        return [found for child in component for found in components(child, kind)]
    if not hasattr(component, "to_plotly_json"):
        return []
    inner = components(getattr(component, "children", None), kind)
    return [component, *inner] if isinstance(component, kind) else inner


def card_value(outputs: dict, key: str) -> str:
    return find(outputs["cards"], f"analytics-{key}-value").children


# --- headline figures -------------------------------------------------------------


@pytest.mark.db
@pytest.mark.parametrize(
    ("search", "vacancies", "median"),
    [
        ("", "12", f"150{NNBSP}000{NNBSP}₽"),
        ("?area=1", "6", f"125{NNBSP}000{NNBSP}₽"),
        ("?area=2", "5", f"220{NNBSP}000{NNBSP}₽"),
        ("?area=1620", "1", "нет данных"),
        ("?area=113&exclude_area=1&exclude_area=2", "1", "нет данных"),
        ("?employer=20&employer=10", "11", f"150{NNBSP}000{NNBSP}₽"),
    ],
    ids=["all", "moscow", "spb", "tatarstan", "russia-rest", "two-employers"],
)
def test_headline_cards_follow_the_url(server, search, vacancies, median):
    outputs = render(server, search)

    assert card_value(outputs, "vacancies") == vacancies
    assert card_value(outputs, "median") == median
    assert outputs["notices"] == []


@pytest.mark.db
def test_median_card_shows_quartiles_n_and_low_confidence(server):
    outputs = render(server, "?area=1")

    median_card = outputs["cards"][3]
    assert texts(median_card) == [
        "Медиана зарплаты",
        f"125{NNBSP}000{NNBSP}₽",
        f"P25–P75: 112{NNBSP}500 – 137{NNBSP}500{NNBSP}₽; n = 6",
        "мало данных (n < 30), оценка неточна",
    ]
    assert card_value(outputs, "disclosure") == f"100,0{NNBSP}%"


@pytest.mark.db
def test_fewer_than_five_salaries_show_only_n(server):
    # Saint Petersburg's vacancies published on 11 and 12 March (Moscow time).
    outputs = render(server, "?employer=20&published_from=2025-03-11")

    assert card_value(outputs, "median") == "—"
    assert "n = 2: слишком мало для статистики" in texts(outputs["cards"][3])


@pytest.mark.db
def test_english_page_uses_english_numbers(server):
    outputs = render(server, "?area=1", lang="en")

    assert card_value(outputs, "median") == "₽125,000"
    assert "P25–P75: ₽112,500–₽137,500; n = 6" in texts(outputs["cards"][3])


@pytest.mark.db
def test_excluded_line_counts_every_reason(server):
    outputs = render(server, "")

    assert outputs["excluded"] == (
        "Не вошли в статистику зарплат: 0 не помесячных, 0 в неизвестной "
        "валюте, 0 неправдоподобных. Зарплат за пределами России: 0 "
        "(учтены как опубликованы)."
    )


@pytest.mark.db
def test_comparison_draws_both_selections(server):
    outputs = render(server, "?area=1&vs_area=2&vs_status=open")

    assert card_value(outputs, "median") == f"125{NNBSP}000{NNBSP}₽"
    assert card_value(outputs, "vs-median") == f"220{NNBSP}000{NNBSP}₽"
    histogram = outputs["analytics-histogram"]
    assert [trace["name"] for trace in histogram["data"]] == ["Выборка", "Сравнение"]
    assert [sum(trace["y"]) for trace in histogram["data"]] == [6, 5]


@pytest.mark.db
def test_top_tables_name_the_selection_only_when_comparing(server):
    alone = render(server, "?area=1")

    assert [column["id"] for column in alone["area_columns"]][:2] == [
        "name",
        "vacancies",
    ]
    assert all("selection" not in row for row in alone["employers"])


@pytest.mark.db
@pytest.mark.parametrize(
    ("lang", "names"),
    [("ru", ("Выборка", "Сравнение")), ("en", ("Selection", "Comparison"))],
)
def test_comparison_top_tables_show_both_selections_labelled(server, lang, names):
    outputs = render(server, "?area=1&vs_area=2&vs_status=open", lang)

    main, comparison = names
    for columns in (outputs["area_columns"], outputs["employer_columns"]):
        assert columns[0] == {"name": main, "id": "selection"}
    assert [(r["selection"], r["name"], r["vacancies"]) for r in outputs["areas"]] == [
        (main, "Москва", 6),
        (comparison, "Санкт-Петербург", 5),
    ]
    assert [(r["selection"], r["name"]) for r in outputs["employers"]] == [
        (main, "[Яндекс](https://hh.ru/employer/10)"),
        (comparison, "[Сбер](https://hh.ru/employer/20)"),
    ]


def _drawn_selection(name: str, colour: str, median: int) -> Selection:
    experience = [
        {"id": "between1And3", "p25": median - 10_000, "p50": median, "p75": median},
        {"id": "moreThan6", "p25": None, "p50": None, "p75": None},
    ]
    salary = {
        "p10": median - 20_000,
        "p50": median,
        "p90": median + 20_000,
        "histogram": {
            "edges": [median - 20_000, median, median + 20_000],
            "counts": [2, 3],
        },
    }
    return Selection(name, colour, {"experience": experience, "salary": salary})


COMPARED = [
    _drawn_selection("Выборка", ACCENT, 100_000),
    _drawn_selection("Сравнение", COMPARISON, 110_000),
]


def test_experience_boxes_use_selection_colours_and_a_legend():
    figure = make_experience_box_figure(
        COMPARED, {"between1And3": "1–3"}, "ru", "light"
    )

    drawn = [(t["name"], t["line"]["color"], t["x"]) for t in figure["data"]]
    assert drawn == [("Выборка", ACCENT, ["1–3"]), ("Сравнение", COMPARISON, ["1–3"])]
    assert figure["layout"]["showlegend"] is True


def test_histogram_gives_each_compared_selection_one_row_of_percentiles():
    figure = make_salary_histogram_figure(COMPARED, "ru", "light")

    notes = figure["layout"]["annotations"]
    # Labels at the lines of two close distributions pile up: one row each,
    # from the plot's left edge, in the selection's colour.
    assert [note["font"]["color"] for note in notes] == [ACCENT, COMPARISON]
    assert {note["xref"] for note in notes} == {"paper"}
    assert len({note["yshift"] for note in notes}) == 2
    for note, selection in zip(notes, COMPARED, strict=True):
        salary = selection.stats["salary"]
        for key in ("p10", "p50", "p90"):
            assert f"{key.upper()} {format_roubles(salary[key], 'ru')}" in note["text"]


def test_histogram_of_one_selection_labels_each_line():
    figure = make_salary_histogram_figure(COMPARED[:1], "ru", "light")

    salary = COMPARED[0].stats["salary"]
    labelled = [
        (note["text"][:3], note["x"]) for note in figure["layout"]["annotations"]
    ]
    assert labelled == [
        ("P10", salary["p10"]),
        ("P50", salary["p50"]),
        ("P90", salary["p90"]),
    ]


def _vacancy_axis(figure: dict) -> dict:
    return figure["layout"]["yaxis"]


@pytest.mark.parametrize("largest", [1, 3, 10])
def test_small_counts_step_by_whole_vacancies(largest):
    # Plotly steps a 0-3 axis by halves; with ",d" they read "0, 1, 1, 2, 2".
    selection = replace(
        COMPARED[0],
        stats={
            **COMPARED[0].stats,
            "salary": {
                **COMPARED[0].stats["salary"],
                "histogram": {"edges": [0, 10_000, 20_000], "counts": [1, largest]},
            },
            "weekly": [{"week": "2026-11-16", "vacancies": largest, "p50": None}],
            "experience": [{"id": "between1And3", "vacancies": largest}],
        },
    )
    histogram = make_salary_histogram_figure([selection], "ru", "light")
    weekly = make_weekly_figure([selection], "ru", "light")
    experience = make_distribution_figure("experience", [selection], {}, "ru", "light")

    for figure in (histogram, weekly, experience):
        axis = _vacancy_axis(figure)
        assert (axis["tickmode"], axis["tick0"], axis["dtick"]) == ("linear", 0, 1)
        assert axis["tickformat"] == ",d"


def test_large_counts_keep_plotlys_own_steps():
    weeks = [{"week": "2026-11-16", "vacancies": 400, "p50": 90_000}]
    selection = Selection("Выборка", ACCENT, {"weekly": weeks})

    axis = _vacancy_axis(make_weekly_figure([selection], "ru", "light"))

    assert "dtick" not in axis
    assert axis["tickformat"] == ",d"


def test_weekly_legend_stands_above_the_plot_clear_of_the_week_axis():
    weeks = [{"week": "2026-11-16", "vacancies": 4, "p50": 90_000}]
    compared = [
        Selection("Выборка", ACCENT, {"weekly": weeks}),
        Selection("Сравнение", COMPARISON, {"weekly": weeks}),
    ]

    layout = make_weekly_figure(compared, "ru", "light")["layout"]

    # Four entries wrap into rows; at the foot they grew over the axis title.
    legend = layout["legend"]
    assert legend.get("yref", "paper") == "paper"
    assert legend["y"] > 1
    assert legend["yanchor"] == "bottom"


@pytest.mark.parametrize(("lang", "separators"), [("ru", ",\u202f"), ("en", ".,")])
def test_salary_axes_show_whole_roubles_grouped_as_the_page_writes_numbers(
    lang, separators
):
    histogram = make_salary_histogram_figure(COMPARED, lang, "light")["layout"]
    boxes = make_experience_box_figure(COMPARED, {}, lang, "light")["layout"]

    assert histogram["separators"] == boxes["separators"] == separators
    # Plotly's default would print 250k; grouped digits read 250 000.
    assert histogram["xaxis"]["tickformat"] == ",.0f"
    assert boxes["yaxis"]["tickformat"] == ",.0f"


def test_weekly_axis_reads_day_and_month():
    weeks = [{"week": "2026-11-16", "vacancies": 4, "p50": 90_000}]
    selection = Selection("Выборка", ACCENT, {"weekly": weeks})

    layout = make_weekly_figure([selection], "ru", "light")["layout"]

    assert layout["xaxis"]["tickformat"] == "%-d %b"
    assert layout["xaxis"]["hoverformat"] == "%-d %b %Y"
    assert layout["yaxis2"]["tickformat"] == ",.0f"
    assert layout["yaxis"]["tickformat"] == ",d"


@pytest.mark.db
def test_top_tables_link_companies_to_hh(server):
    outputs = render(server, "")

    assert outputs["employers"][0] == {
        "name": "[Яндекс](https://hh.ru/employer/10)",
        "vacancies": 6,
        "p50": 125_000.0,
        "p25": 112_500.0,
        "p75": 137_500.0,
        "n": 6,
    }
    assert [row["name"] for row in outputs["areas"]] == [
        "Москва",
        "Санкт-Петербург",
        "Казань",
    ]


@pytest.mark.db
def test_download_links_carry_the_main_selection(server):
    outputs = render(server, "?area=1&q=python&vs_area=2&vs_status=open")

    assert outputs["downloads"] == [
        "/download/stats.csv?area=1&q=python",
        "/download/stats.xlsx?area=1&q=python",
        "/download/vacancies.csv?area=1&q=python",
        "/download/vacancies.xlsx?area=1&q=python",
    ]


# --- bad and unknown values --------------------------------------------------------

BAD_VALUES = [
    ("area", "abc"),
    ("exclude_area", "-1"),
    ("employer", "x1"),
    ("experience", "three-years"),
    ("role", "r"),
    ("employment_form", "1"),
    ("work_format", "!"),
    ("published_from", "2025-13-01"),
    ("published_to", "yesterday"),
    ("only_with_salary", "maybe"),
    ("status", "bogus"),
    ("accredited_it", "2"),
    ("trusted", "yes"),
    ("basis", "both"),
    ("view", "avg"),
    ("vs_area", "abc"),
]


@pytest.mark.db
@pytest.mark.parametrize(("param", "value"), BAD_VALUES, ids=[p for p, _ in BAD_VALUES])
def test_malformed_value_is_dropped_with_a_notice(server, param, value):
    outputs = render(server, "?" + urlencode([(param, value), ("area", "1")]))

    assert texts(outputs["notices"]) == [
        f"Параметр «{param}»: значение «{value}» не распознано и пропущено."
    ]
    assert card_value(outputs, "vacancies") == "6"


@pytest.mark.db
def test_unknown_ids_are_kept_and_named(server):
    outputs = render(server, "?area=999999&employer=777&role=555")

    assert texts(outputs["notices"]) == [
        "Не найдены в данных (регионы): 999999. Фильтр оставлен, но им ничего "
        "не соответствует.",
        "Не найдены в данных (компании): 777. Фильтр оставлен, но им ничего "
        "не соответствует.",
        "Не найдены в данных (роли): 555. Фильтр оставлен, но им ничего "
        "не соответствует.",
    ]
    assert card_value(outputs, "vacancies") == "0"
    for figure_id in FIGURE_IDS:
        annotations = outputs[figure_id]["layout"]["annotations"]
        assert [note["text"] for note in annotations] == ["нет данных"], figure_id


# --- the page agrees with the API ---------------------------------------------------


@pytest.mark.db
@pytest.mark.parametrize(
    "query",
    ["", "area=1", "area=2&basis=gross", "employer=10&view=from", "status=all"],
    ids=["all", "moscow", "spb-gross", "employer-from", "status-all"],
)
def test_page_numbers_equal_the_api(server, query):
    answer = server.test_client().get(f"/api/v1/stats?{query}").get_json()

    outputs = render(server, f"?{query}")

    salary = answer["salary"]
    assert card_value(outputs, "vacancies") == format_count(answer["vacancies"])
    assert card_value(outputs, "employers") == format_count(answer["employer_count"])
    assert card_value(outputs, "median") == format_roubles(salary["p50"])
    histogram_counts = outputs["analytics-histogram"]["data"][0]["y"]
    assert histogram_counts == salary["histogram"]["counts"]
    assert [row["p50"] for row in outputs["areas"]] == [
        row["p50"] for row in answer["top_areas"]
    ]


# --- URL <-> controls ---------------------------------------------------------------

ODD_VALUES = [None, [], "bare", ["999999"], [None], {"a": 1}]


@pytest.mark.parametrize("control_id", sorted(CONTROL_FIELDS))
@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_any_control_value_gives_a_valid_selection(control_id, value):
    controls = Controls(**{name: value for name in Controls.__dataclass_fields__})

    main, comparison = next_selection("?area=1", controls, controls, comparing=False)

    assert comparison is None
    # A selection written to the URL reads back as itself.
    assert url_selection(make_search(main, comparison)) == (main, None)


def showing(search: str, **changes) -> Controls:
    """The controls as the URL `search` sets them, with the user's `changes`."""
    return replace(controls_showing(url_selection(search)[0]), **changes)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("area", [1, "2", "bare", None], Filters(area=(1, 2))),
        ("area", "bare", Filters()),
        ("employer", ["999999"], Filters(area=(1,), employer=("999999",))),
        ("q", "  python   django ", Filters(area=(1,), q="python django")),
        ("status", "bogus", Filters(area=(1,))),
        ("flags", ["trusted", "x"], Filters(area=(1,), trusted=True)),
    ],
    ids=["ids", "bare-area", "unknown-employer", "keywords", "bad-status", "flags"],
)
def test_a_control_changes_only_its_parameters(field, value, expected):
    controls = showing("?area=1", **{field: value})

    main, _comparison = next_selection("?area=1", controls, Controls(), False)

    assert main == expected


def test_a_url_behind_the_controls_loses_no_change():
    # Regression: a quick pick, a flag and keywords sent before the first
    # answer came back; each request still carried the empty URL.
    controls = showing("", area=[1], flags=["only_with_salary"], q="Python")

    main, comparison = next_selection("", controls, Controls(), comparing=False)

    assert make_search(main, comparison) == "?area=1&q=Python&only_with_salary=true"


def test_values_the_controls_cannot_show_survive_a_change():
    search = "?experience=noExperience&experience=moreThan6&work_format=SPACE"

    main, _comparison = next_selection(search, showing(search, q="go"), None, False)

    assert main == Filters(
        experience=("noExperience", "moreThan6"), work_format=("SPACE",), q="go"
    )


def test_moving_the_slider_replaces_levels_it_could_not_show():
    search = "?experience=noExperience&experience=moreThan6"

    main, _comparison = next_selection(
        search, showing(search, experience=[1, 2]), None, False
    )

    assert main.experience == ("between1And3", "between3And6")


def test_a_new_comparison_copies_the_selection_and_keeps_a_marker():
    controls = showing("?area=1&q=java")
    vs_controls = Controls(area=[1])

    main, comparison = next_selection("?area=1&q=java", controls, vs_controls, True)

    assert comparison == main == Filters(area=(1,), q="java")
    assert make_search(main, comparison) == (
        "?area=1&q=java&vs_area=1&vs_q=java&vs_status=open"
    )


def test_a_comparison_keeps_what_its_controls_cannot_show():
    search = "?area=1&vs_area=1&vs_q=java"
    vs_controls = Controls(area=[2])

    main, comparison = next_selection(search, showing(search), vs_controls, True)

    assert (main, comparison) == (Filters(area=(1,)), Filters(area=(2,), q="java"))


def test_hiding_the_comparison_drops_it():
    search = "?area=1&vs_area=2"

    selection = next_selection(search, showing(search), Controls(area=[2]), False)

    assert make_search(*selection) == "?area=1"


@pytest.mark.db
def test_quick_picks_carry_their_areas_and_names(server):
    with server.test_request_context("/"):
        picks = make_quick_pick_data("ru")

    assert picks["russia_rest"] == {
        "area": [113],
        "exclude_area": [1, 2],
        "options": [
            {"label": "Россия", "value": 113},
            {"label": "Москва", "value": 1},
            {"label": "Санкт-Петербург", "value": 2},
        ],
    }
    assert picks["moscow"]["options"] == [{"label": "Москва", "value": 1}]


@pytest.mark.parametrize(
    ("bounds", "levels"),
    [
        ([0, 3], ()),
        ([1, 2], ("between1And3", "between3And6")),
        ([2, 2], ("between3And6",)),
        ([3, 1], ("between1And3", "between3And6", "moreThan6")),
        (None, ()),
        ("bare", ()),
    ],
    ids=["whole-range", "middle", "one", "reversed", "none", "bare"],
)
def test_experience_slider_sends_a_contiguous_list(bounds, levels):
    assert experience_from_range(bounds) == levels


def test_experience_the_slider_cannot_show_keeps_the_whole_range():
    assert range_from_experience(("between1And3", "between3And6")) == [1, 2]
    assert range_from_experience(("unknown",)) == [0, 3]


@pytest.mark.db
def test_sync_callback_through_dash_writes_the_url(server):
    client = server.test_client()
    client.get("/")
    payload = _sync_payload(changed="analytics-area.value", area=[2])

    response = client.post(
        "/_dash-update-component",
        json=payload,
        headers={"Origin": "http://localhost"},
    )

    assert response.status_code == 200, response.data[:300]
    answer = json.loads(response.data)["response"]
    assert answer["analytics-url"] == {"search": "?area=2&q=python"}


def _sync_payload(changed: str, area) -> dict:
    from dashboard.analytics import MAIN_INPUTS
    from dashboard.analytics import SYNC_OUTPUTS
    from dashboard.analytics import VS_INPUTS

    controls = MAIN_INPUTS + VS_INPUTS
    outputs = SYNC_OUTPUTS
    values = {("analytics-area", "value"): area, ("analytics-q", "value"): "python"}
    inputs = [
        {"id": "analytics-url", "property": "search", "value": "?q=python"},
        {"id": "analytics-compare-panel", "property": "hidden", "value": True},
        *[
            {"id": cid, "property": prop, "value": values.get((cid, prop))}
            for cid, prop in controls
        ],
    ]
    joined = "...".join(f"{cid}.{prop}" for cid, prop in outputs)
    return {
        "output": f"..{joined}..",
        "outputs": [{"id": cid, "property": prop} for cid, prop in outputs],
        "inputs": inputs,
        "changedPropIds": [changed],
        "state": [],
    }


# --- shell and methodology -----------------------------------------------------------


@pytest.mark.db
def test_shell_shows_demo_banner_footer_and_maintenance(server, engine):
    with session_scope(engine) as session:
        state = ensure_app_state(session)
        state.maintenance = True
        state.maintenance_heartbeat_at = utc_now()

    with server.test_request_context("/"):
        shell = make_shell_layout()

    assert find(shell, "app-demo-banner") is not None
    assert find(shell, "app-maintenance-banner") is not None
    assert find(shell, "app-data-version").children == (
        "Данные: версия sample-1, обновлены 14.03.2025 09:30 МСК"
    )


@pytest.mark.db
def test_shell_follows_the_language_cookie(server):
    headers = {"Cookie": "lang=en"}
    with server.test_request_context("/", headers=headers):
        shell = make_shell_layout()

    assert find(shell, "app-data-version").children == (
        "Data: version sample-1, refreshed 2025-03-14 09:30 MSK"
    )
    assert shell.lang == "en"


@pytest.mark.db
@pytest.mark.parametrize("lang", ["ru", "en"])
def test_shell_and_analytics_page_give_every_element_its_own_id(server, lang):
    with server.test_request_context("/", headers={"Cookie": f"lang={lang}"}):
        ids = component_ids([make_shell_layout(), analytics.layout(lang)])

    repeated = sorted({found for found in ids if ids.count(found) > 1})
    assert repeated == []
    assert '"analytics-experience"' in ids
    assert '"analytics-experience-chart"' in ids


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_methodology_explains_every_rule_in_both_languages(lang):
    page = methodology.layout(lang)

    headings = [section.children[0].children for section in page.children[1:-1]]
    assert len(headings) == len(methodology.SECTIONS) == 15
    assert not [text for text in texts(page) if text.startswith("methodology.")]
    assert isinstance(page.children[0], html.H1)


@pytest.mark.db
def test_router_renders_each_page_with_controls_from_the_url(server):
    from dashboard.app import render_page

    with server.test_request_context("/"):
        analytics_page = render_page("/", "?area=1&experience=between1And3&q=python")
        methodology_page = render_page("/methodology", "")
        missing = render_page("/nowhere", "")

    assert find(analytics_page, "analytics-area").value == [1]
    assert find(analytics_page, "analytics-experience").value == [1, 1]
    assert find(analytics_page, "analytics-q").value == "python"
    assert find(analytics_page, "analytics-compare-panel").hidden is True
    assert texts(methodology_page)[0] == "Как считаются цифры"
    assert texts(missing) == ["Страница не найдена"]


@pytest.mark.db
@pytest.mark.parametrize(
    "path",
    ["/", "/methodology", "/methodology/", "/_dash-layout", "/_dash-dependencies"],
)
def test_dash_pages_and_routes_answer(server, path):
    assert server.test_client().get(path).status_code == 200


@pytest.mark.db
@pytest.mark.parametrize(
    ("path", "lang", "text"),
    [
        ("/nonexistent", "ru", "Страница не найдена."),
        ("/methodology/extra", "ru", "Страница не найдена."),
        ("/nonexistent", "en", "Page not found."),
    ],
)
def test_an_unknown_path_is_a_not_found_page_with_a_link_home(server, path, lang, text):
    client = server.test_client()
    client.set_cookie("lang", lang)

    answer = client.get(path)

    body = answer.get_data(as_text=True)
    assert answer.status_code == 404
    assert answer.mimetype == "text/html"
    assert text in body
    assert 'href="/"' in body
    assert "_dash-renderer" not in body


@pytest.mark.db
@pytest.mark.parametrize("path", ["/api/v1/unknown", "/api/v1", "/download/x.csv"])
def test_an_unknown_api_path_is_a_json_not_found(server, path):
    answer = server.test_client().get(path)

    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "not_found"


@pytest.mark.db
def test_an_unknown_role_in_the_url_is_kept_and_matches_nothing(server):
    from dashboard.app import render_page

    with server.test_request_context("/"):
        page = render_page("/", "?role=77777")
    outputs = render(server, "?role=77777")

    role = find(page, "analytics-role")
    assert role.value == [77777]
    assert role.options[0] == {"label": "№77777 (не найден)", "value": 77777}
    assert card_value(outputs, "vacancies") == "0"
    assert texts(outputs["notices"]) == [
        "Не найдены в данных (роли): 77777. Фильтр оставлен, но им ничего "
        "не соответствует."
    ]


@pytest.mark.db
@pytest.mark.parametrize(
    ("lang", "select_all", "search", "start", "end"),
    [
        ("ru", "Выбрать все", "Поиск", "С даты", "По дату"),
        ("en", "Select all", "Search", "From", "To"),
    ],
)
def test_every_dropdown_and_the_date_picker_speak_the_page_language(
    server, lang, select_all, search, start, end
):
    with server.test_request_context("/"):
        page = analytics.layout(lang, "?vs_status=open")

    dropdowns = components(page, dcc.Dropdown)
    assert len(dropdowns) == 6
    for dropdown in dropdowns:
        assert dropdown.labels["select_all"] == select_all
        assert dropdown.labels["search"] == search
    (picker,) = components(page, dcc.DatePickerRange)
    assert picker.start_date_placeholder_text == start
    assert picker.end_date_placeholder_text == end


@pytest.mark.db
def test_charts_name_their_tools_and_months_in_russian_on_the_russian_page(server):
    with server.test_request_context("/"):
        russian = analytics.layout("ru", "")
        english = analytics.layout("en", "")

    graphs = components(russian, dcc.Graph)
    assert len(graphs) == len(FIGURE_IDS)
    for graph in graphs:
        locale = graph.config["locales"][graph.config["locale"]]
        assert graph.config["locale"] == "ru"
        assert locale["dictionary"]["Zoom"] == "Увеличить область"
        assert locale["format"]["shortMonths"][10] == "ноя"
        assert len(locale["format"]["days"]) == 7
    for graph in components(english, dcc.Graph):
        assert "locale" not in graph.config


@pytest.mark.db
def test_search_dropdowns_close_on_a_choice_and_the_role_list_stays_open(server):
    with server.test_request_context("/"):
        page = analytics.layout("ru", "?vs_status=open")

    dropdowns = components(page, dcc.Dropdown)
    closing = {d.id for d in dropdowns if getattr(d, "closeOnSelect", False)}
    assert closing == {
        "analytics-area",
        "analytics-exclude-area",
        "analytics-employer",
        "analytics-vs-area",
        "analytics-vs-employer",
    }


@pytest.mark.db
def test_a_url_change_keeps_an_unknown_role_with_its_option(server):
    # The back button can bring back a URL whose role the dropdown's current
    # options do not hold: the options must come with the value.
    with server.test_request_context("/_dash-update-component"):
        values = show_url_in_controls("?role=77777")
    outputs = dict(zip(SYNC_OUTPUTS, values, strict=True))

    assert outputs[("analytics-role", "value")] == [77777]
    assert {"label": "№77777 (не найден)", "value": 77777} in outputs[
        ("analytics-role", "options")
    ]


@pytest.mark.parametrize(
    ("name", "parent", "label"),
    [
        (
            "Подольск (Московская область)",
            "Московская область",
            "Подольск (Московская область)",
        ),
        ("Казань", "Республика Татарстан", "Казань (Республика Татарстан)"),
        ("Россия", None, "Россия"),
    ],
    ids=["parent-in-name", "parent-added", "no-parent"],
)
def test_area_label_names_the_parent_region_once(name, parent, label):
    assert area_label(name, parent) == label

"""Plotly figures of the analytics page, drawn from the statistics answer.

Every builder takes parts of the design §6 answer (already aggregated on the
server, so no figure carries raw vacancies), the language and the theme, and
returns a plain Plotly figure dict: building `go.Figure` objects validates
every property and costs seconds per page, dicts cost milliseconds. One
palette serves every chart: each category (an experience level, an
employment form, a work format) has one colour everywhere, the main selection
is drawn in the accent colour and the comparison in a second colour.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from dash import Patch

from dashboard.format import NARROW_NBSP
from dashboard.format import format_count
from dashboard.format import format_roubles
from dashboard.i18n import register_messages
from dashboard.i18n import translate

logger = logging.getLogger(__name__)

ACCENT = "#1f6feb"
COMPARISON = "#e8590c"
UNKNOWN_GREY = "#8c959f"
EXPERIENCE_ORDER = ("noExperience", "between1And3", "between3And6", "moreThan6")

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
CATEGORY_COLOURS = {
    "experience": {
        "noExperience": "#56b4e9",
        "between1And3": "#009e73",
        "between3And6": "#e69f00",
        "moreThan6": "#cc79a7",
    },
    "employment_form": {
        "FULL": "#0072b2",
        "PART": "#e69f00",
        "PROJECT": "#009e73",
        "FLY_IN_FLY_OUT": "#d55e00",
        "SIDE_JOB": "#cc79a7",
    },
    "work_format": {
        "ON_SITE": "#0072b2",
        "REMOTE": "#009e73",
        "HYBRID": "#e69f00",
        "FIELD_WORK": "#d55e00",
    },
}
EXTRA_COLOURS = ("#56b4e9", "#f0e442", "#882255", "#44aa99", "#999933")

THEMES = {
    "light": {"text": "#1f2328", "grid": "#d0d7de", "hover": "#ffffff"},
    "dark": {"text": "#e6edf3", "grid": "#30363d", "hover": "#161b22"},
}

register_messages(
    {
        "figure.no_data": ("нет данных", "no data"),
        "figure.salary_axis": ("Зарплата в месяц, ₽", "Monthly salary, ₽"),
        "figure.vacancies_axis": ("Вакансии", "Vacancies"),
        "figure.share_axis": ("Доля вакансий", "Share of vacancies"),
        "figure.median_axis": ("Медиана, ₽", "Median, ₽"),
        "figure.week_axis": ("Неделя (с понедельника)", "Week (from Monday)"),
        "figure.median_line": ("медиана", "median"),
        "figure.bin_hover": (
            "{low} – {high}: {count} вакансий",
            "{low} – {high}: {count} vacancies",
        ),
        "figure.bin_open_hover": (
            "от {low}: {count} вакансий",
            "{low} and above: {count} vacancies",
        ),
    }
)


@dataclass(frozen=True)
class Selection:
    """One drawn selection: its legend name, line colour and statistics answer."""

    name: str
    colour: str
    stats: dict


def category_colour(kind: str, category_id: str) -> str:
    """The one colour of a category in every chart; unknown is always grey."""
    if category_id == "unknown":
        return UNKNOWN_GREY
    known = CATEGORY_COLOURS.get(kind, {})
    if category_id in known:
        return known[category_id]
    # hh.ru adds enum values without notice; a stable hash keeps their colour.
    return EXTRA_COLOURS[sum(map(ord, category_id)) % len(EXTRA_COLOURS)]


def make_theme_template(theme: str) -> dict:
    """A small Plotly template for the light or dark page theme."""
    colours = THEMES.get(theme, THEMES["light"])
    axis = {
        "gridcolor": colours["grid"],
        "linecolor": colours["grid"],
        "zerolinecolor": colours["grid"],
    }
    return {
        "layout": {
            "font": {"color": colours["text"], "family": "system-ui, sans-serif"},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "xaxis": axis,
            "yaxis": axis,
            "hoverlabel": {"bgcolor": colours["hover"]},
            "colorway": [ACCENT, COMPARISON, *EXTRA_COLOURS],
        }
    }


def make_theme_patch(theme: str) -> Patch:
    """A partial update that re-themes a figure already on the page."""
    patch = Patch()
    patch["layout"]["template"] = make_theme_template(theme)
    return patch


# The legend sits at the foot of the whole figure, under the x-axis title,
# and the bottom margin leaves room for both.
LEGEND_AT_FOOT = {
    "orientation": "h",
    "x": 0,
    "xanchor": "left",
    "yref": "container",
    "y": 0,
    "yanchor": "bottom",
}
LEGEND_ABOVE_PLOT = {
    "orientation": "h",
    "x": 0,
    "xanchor": "left",
    "y": 1.02,
    "yanchor": "bottom",
}
# The height of one row of percentile labels above the histogram, in pixels.
PERCENTILE_ROW_PIXELS = 16

# Plotly's decimal mark and digit grouping, as dashboard.format writes numbers.
NUMBER_SEPARATORS = {"ru": "," + NARROW_NBSP, "en": ".,"}
# Whole roubles with grouped digits (250 000), not Plotly's default 250k.
ROUBLE_TICKS = {"tickformat": ",.0f", "hoverformat": ",.0f"}
# Vacancy counts with grouped digits (15 000), not 15k.
COUNT_TICKS = {"tickformat": ",d"}
SHARE_TICKS = {"tickformat": ".0%"}
# Weeks read "17 ноя"; the hover adds the year.
WEEK_TICKS = {"tickformat": "%-d %b", "hoverformat": "%-d %b %Y"}


def _figure(data: list[dict], theme: str, lang: str, **layout) -> dict:
    base = {
        "template": make_theme_template(theme),
        "separators": NUMBER_SEPARATORS.get(lang, NUMBER_SEPARATORS["ru"]),
        "margin": {"l": 72, "r": 16, "t": 40, "b": 84},
        "legend": LEGEND_AT_FOOT,
        "height": 320,
    }
    return {"data": data, "layout": {**base, **layout}}


def _axis_title(text: str, ticks: dict | None = None) -> dict:
    return {"title": {"text": text}, **(ticks or {})}


# Up to this many vacancies a count axis steps by one; Plotly's automatic
# steps would otherwise be halves, printed as "0, 1, 1, 2, 2".
WHOLE_STEP_COUNTS = 10


def _count_ticks(counts) -> dict:
    """Count-axis ticks in whole vacancies, whatever the largest count."""
    if max(counts, default=0) <= WHOLE_STEP_COUNTS:
        return {**COUNT_TICKS, "tickmode": "linear", "tick0": 0, "dtick": 1}
    return COUNT_TICKS


def make_empty_figure(lang: str, theme: str) -> dict:
    """A figure that says "нет данных" instead of an empty plot."""
    note = {
        "text": translate("figure.no_data", lang),
        "showarrow": False,
        "font": {"size": 16},
        "xref": "paper",
        "yref": "paper",
        "x": 0.5,
        "y": 0.5,
    }
    hidden = {"visible": False}
    return _figure([], theme, lang, annotations=[note], xaxis=hidden, yaxis=hidden)


def _histogram_bins(histogram: dict) -> list[tuple[float, float | None, int]]:
    edges = histogram.get("edges") or []
    counts = histogram.get("counts") or []
    bins = []
    for index, count in enumerate(counts):
        low = edges[index]
        high = edges[index + 1] if index + 1 < len(edges) else None
        bins.append((low, high, count))
    # The design's last bin is open-ended: it holds everything above P99.
    if bins and len(edges) == len(counts) + 1:
        low, _high, count = bins[-1]
        bins[-1] = (low, None, count)
    return bins


def _bin_hover(low: float, high: float | None, count: int, lang: str) -> str:
    values = {
        "low": format_roubles(low, lang),
        "high": format_roubles(high, lang) if high is not None else "",
        "count": format_count(count, lang),
    }
    key = "figure.bin_hover" if high is not None else "figure.bin_open_hover"
    return translate(key, lang, **values)


def make_salary_histogram_figure(
    selections: list[Selection], lang: str, theme: str
) -> dict:
    """Server-binned salary histogram with P10, P50 and P90 marked per selection."""
    drawable = [s for s in selections if s.stats["salary"]["histogram"]["counts"]]
    if not drawable:
        return make_empty_figure(lang, theme)

    comparing = len(drawable) > 1
    data, shapes, notes = [], [], []
    for level, selection in enumerate(drawable):
        salary = selection.stats["salary"]
        bins = _histogram_bins(salary["histogram"])
        width = bins[0][1] - bins[0][0] if bins[0][1] is not None else 10_000
        data.append(
            {
                "type": "bar",
                "name": selection.name,
                "x": [low + width / 2 for low, _high, _count in bins],
                "y": [count for _low, _high, count in bins],
                "width": [width] * len(bins),
                "marker": {"color": selection.colour},
                "opacity": 0.75 if len(drawable) > 1 else 0.9,
                "hovertext": [_bin_hover(low, high, n, lang) for low, high, n in bins],
                "hoverinfo": "text",
            }
        )
        shapes.extend(_percentile_lines(salary, selection.colour))
        if comparing:
            notes.append(_percentile_row(selection, level, lang))
        else:
            notes.extend(_percentile_labels(salary, selection.colour, lang))

    counts = [count for trace in data for count in trace["y"]]
    return _figure(
        data,
        theme,
        lang,
        height=380 if comparing else 320,
        margin={"l": 72, "r": 16, "t": 84 if comparing else 40, "b": 84},
        barmode="overlay",
        bargap=0.02,
        shapes=shapes,
        annotations=notes,
        xaxis=_axis_title(translate("figure.salary_axis", lang), ROUBLE_TICKS),
        yaxis=_axis_title(
            translate("figure.vacancies_axis", lang), _count_ticks(counts)
        ),
    )


PERCENTILE_DASHES = {"p10": "dot", "p50": "solid", "p90": "dot"}


def _percentile_lines(salary: dict, colour: str) -> list[dict]:
    return [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": salary[key],
            "x1": salary[key],
            "y0": 0,
            "y1": 1,
            "line": {"color": colour, "dash": dash, "width": 2},
        }
        for key, dash in PERCENTILE_DASHES.items()
        if salary.get(key) is not None
    ]


def _percentile_row(selection: Selection, level: int, lang: str) -> dict:
    # Two selections' lines often lie within a few thousand roubles of each
    # other, and labels at the lines would pile up: each selection's three
    # values get one line of their own above the plot, in its colour (the
    # legend names the colours; a name here would not fit a phone).
    salary = selection.stats["salary"]
    values = [
        f"{key.upper()} {format_roubles(salary[key], lang)}"
        for key in PERCENTILE_DASHES
        if salary.get(key) is not None
    ]
    return {
        "text": " · ".join(values),
        "xref": "paper",
        "yref": "paper",
        "x": 0,
        "y": 1,
        "xanchor": "left",
        "yanchor": "bottom",
        "yshift": PERCENTILE_ROW_PIXELS * (1 - level) + 4,
        "showarrow": False,
        "font": {"color": selection.colour, "size": 11},
    }


def _percentile_labels(salary: dict, colour: str, lang: str) -> list[dict]:
    # P10 is labelled to the left of its line and P90 to the right, P50 a row
    # above both, so the three labels do not overlap on a narrow distribution.
    placements = {
        "p10": ("right", 0),
        "p50": ("center", PERCENTILE_ROW_PIXELS),
        "p90": ("left", 0),
    }
    notes = []
    for key in PERCENTILE_DASHES:
        value = salary.get(key)
        if value is None:
            continue
        notes.append(
            {
                "text": f"{key.upper()} {format_roubles(value, lang)}",
                "xref": "x",
                "yref": "paper",
                "x": value,
                "y": 1,
                "yshift": placements[key][1],
                "xanchor": placements[key][0],
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"color": colour, "size": 11},
            }
        )
    return notes


def make_experience_box_figure(
    selections: list[Selection], labels: dict[str, str], lang: str, theme: str
) -> dict:
    """Salary by experience as boxes drawn from the server's quartiles.

    A box spans P25-P75 with the median line; groups under the n < 5 rule
    (null quartiles) are left out of the drawing.
    """
    data = [
        _make_quartile_boxes(selection, labels, position)
        for position, selection in enumerate(selections)
    ]
    data = [trace for trace in data if trace["x"]]
    if not data:
        return make_empty_figure(lang, theme)

    return _figure(
        data,
        theme,
        lang,
        boxmode="group",
        showlegend=len(selections) > 1,
        yaxis=_axis_title(translate("figure.salary_axis", lang), ROUBLE_TICKS),
    )


def _make_quartile_boxes(selection: Selection, labels: dict, position: int) -> dict:
    # One trace per selection, so the legend names each selection once and
    # the boxes share the selection colour used by every other chart.
    rows = [
        row
        for row in _ordered_experience(selection.stats["experience"])
        if row["p50"] is not None
    ]
    return {
        "type": "box",
        "name": selection.name,
        "legendgroup": selection.name,
        "offsetgroup": str(position),
        "x": [labels.get(row["id"], row["id"]) for row in rows],
        "q1": [row["p25"] for row in rows],
        "median": [row["p50"] for row in rows],
        "q3": [row["p75"] for row in rows],
        "lowerfence": [row["p25"] for row in rows],
        "upperfence": [row["p75"] for row in rows],
        "marker": {"color": selection.colour},
        "fillcolor": _translucent(selection.colour),
        "line": {"color": selection.colour, "width": 2},
        "hoverinfo": "y+name",
    }


def _translucent(colour: str) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},0.35)"


def _ordered_experience(rows: list[dict]) -> list[dict]:
    rank = {level: index for index, level in enumerate(EXPERIENCE_ORDER)}
    return sorted(rows, key=lambda row: rank.get(row["id"], len(rank)))


def make_distribution_figure(
    kind: str,
    selections: list[Selection],
    labels: dict[str, str],
    lang: str,
    theme: str,
) -> dict:
    """Vacancies per category of `kind` (experience, employment_form, work_format).

    With a comparison the bars show shares, since two selections rarely have
    the same size.
    """
    comparing = len(selections) > 1
    data = []
    for position, selection in enumerate(selections):
        rows = selection.stats[kind]
        if kind == "experience":
            rows = _ordered_experience(rows)
        total = sum(row["vacancies"] for row in rows)
        if not total:
            continue
        heights = [row["vacancies"] for row in rows]
        data.append(
            {
                "type": "bar",
                "name": selection.name,
                "offsetgroup": str(position),
                "x": [labels.get(row["id"], row["id"]) for row in rows],
                "y": [h / total for h in heights] if comparing else heights,
                "marker": {
                    "color": [category_colour(kind, row["id"]) for row in rows],
                    "pattern": {"shape": "/" if position else ""},
                },
                "customdata": [format_count(h, lang) for h in heights],
                "hovertemplate": f"{selection.name}: %{{customdata}}<extra></extra>",
            }
        )
    if not data:
        return make_empty_figure(lang, theme)

    if comparing:
        y_axis = _axis_title(translate("figure.share_axis", lang), SHARE_TICKS)
    else:
        counts = [count for trace in data for count in trace["y"]]
        y_axis = _axis_title(
            translate("figure.vacancies_axis", lang), _count_ticks(counts)
        )
    return _figure(
        data, theme, lang, barmode="group", showlegend=comparing, yaxis=y_axis
    )


def make_weekly_figure(selections: list[Selection], lang: str, theme: str) -> dict:
    """Vacancies published per Moscow week (bars) and their median salary (line)."""
    data = []
    for position, selection in enumerate(selections):
        weeks = selection.stats["weekly"]
        if not weeks:
            continue
        dates = [week["week"] for week in weeks]
        data.append(
            {
                "type": "bar",
                "name": selection.name,
                "x": dates,
                "y": [week["vacancies"] for week in weeks],
                "marker": {"color": selection.colour},
                "opacity": 0.6,
                "offsetgroup": str(position),
            }
        )
        data.append(
            {
                "type": "scatter",
                "name": f"{selection.name}: {translate('figure.median_line', lang)}",
                "x": dates,
                "y": [week["p50"] for week in weeks],
                "yaxis": "y2",
                "mode": "lines+markers",
                "line": {
                    "color": selection.colour,
                    "dash": "dash" if position else "solid",
                },
                "connectgaps": False,
            }
        )
    if not data:
        return make_empty_figure(lang, theme)

    median_axis = _axis_title(translate("figure.median_axis", lang), ROUBLE_TICKS)
    median_axis.update(overlaying="y", side="right", showgrid=False)
    counts = [count for trace in data if trace["type"] == "bar" for count in trace["y"]]
    return _figure(
        data,
        theme,
        lang,
        # The right margin holds the median axis' tick labels and its title.
        margin={"l": 72, "r": 80, "t": 40, "b": 64},
        # Bars and median lines make four legend entries in a comparison,
        # two or more rows: above the plot, where Plotly widens the top
        # margin for them, they cover neither the week axis nor its title.
        legend=LEGEND_ABOVE_PLOT,
        barmode="group",
        xaxis=_axis_title(translate("figure.week_axis", lang), WEEK_TICKS),
        yaxis=_axis_title(
            translate("figure.vacancies_axis", lang), _count_ticks(counts)
        ),
        yaxis2=median_axis,
    )

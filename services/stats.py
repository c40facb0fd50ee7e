"""The statistics rules of design §5 as pure pandas and numpy functions.

Frames and arrays in, frames, arrays and plain values out: nothing here reads
the database. `compute_selection_stats` is the plain reading of every rule on
one frame of vacancies; the in-memory fast path in `services.analytics` uses
the same per-vacancy rules and must return the same numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from services.timeutil import MOSCOW

MIN_STATISTIC_N = 5
CONFIDENT_N = 30
HISTOGRAM_BIN_RUB = 10_000
TOP_LIMIT = 20
RUSSIA_AREA_ID = 113
MONTHLY_MODE = "MONTH"
PERCENTILES = (10, 25, 50, 75, 90)

# Russia's progressive personal income tax since 2025: the rate applies to the
# part of the annual income inside each bracket.
TAX_BRACKETS = (
    (0.0, 0.13),
    (2_400_000.0, 0.15),
    (5_000_000.0, 0.18),
    (20_000_000.0, 0.20),
    (50_000_000.0, 0.22),
)

# Salary state of one vacancy in one view, before plausibility is judged.
NOT_IN_VIEW = 0
NOT_MONTHLY = 1
UNKNOWN_CURRENCY = 2
MONTHLY = 3

EXPERIENCE_ORDER = ("noExperience", "between1And3", "between3And6", "moreThan6")
EMPLOYMENT_FORM_ORDER = ("FULL", "PART", "PROJECT", "FLY_IN_FLY_OUT", "SIDE_JOB")
WORK_FORMAT_ORDER = ("ON_SITE", "REMOTE", "HYBRID", "FIELD_WORK")
UNKNOWN = "unknown"


# --- gross and net ---------------------------------------------------------------


def _bracket_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lowers = np.array([lower for lower, _ in TAX_BRACKETS])
    rates = np.array([rate for _, rate in TAX_BRACKETS])
    widths = np.diff(lowers)
    nets_at_lowers = np.concatenate(([0.0], np.cumsum(widths * (1 - rates[:-1]))))
    return lowers, rates, nets_at_lowers


def compute_net_from_gross(monthly_gross: np.ndarray) -> np.ndarray:
    """Monthly take-home pay for monthly gross pay, taxed on the annual amount."""
    lowers, rates, nets_at_lowers = _bracket_table()
    annual = np.asarray(monthly_gross, dtype=float) * 12
    bracket = np.clip(np.searchsorted(lowers, annual, side="right") - 1, 0, None)
    annual_net = nets_at_lowers[bracket] + (annual - lowers[bracket]) * (
        1 - rates[bracket]
    )
    return annual_net / 12


def compute_gross_from_net(monthly_net: np.ndarray) -> np.ndarray:
    """The exact inverse of `compute_net_from_gross` (it is piecewise linear)."""
    lowers, rates, nets_at_lowers = _bracket_table()
    annual_net = np.asarray(monthly_net, dtype=float) * 12
    bracket = np.clip(
        np.searchsorted(nets_at_lowers, annual_net, side="right") - 1, 0, None
    )
    annual = lowers[bracket] + (annual_net - nets_at_lowers[bracket]) / (
        1 - rates[bracket]
    )
    return annual / 12


# --- the monthly salary of each vacancy ----------------------------------------


def compute_view_bounds(
    salary_from: pd.Series, salary_to: pd.Series, view: str
) -> tuple[pd.Series, pd.Series]:
    """Which vacancies take part in `view`, and whether both bounds do."""
    has_from, has_to = salary_from.notna(), salary_to.notna()
    if view == "from":
        return has_from, pd.Series(False, index=salary_from.index)
    if view == "to":
        return has_to, pd.Series(False, index=salary_from.index)
    return has_from | has_to, has_from & has_to


def compute_published_monthly(
    from_rub: pd.Series, to_rub: pd.Series, view: str
) -> pd.Series:
    """The view's monthly rouble value as published: midpoint, or one bound."""
    if view == "from":
        return from_rub.astype(float)
    if view == "to":
        return to_rub.astype(float)
    both = (from_rub + to_rub) / 2
    return both.where(from_rub.notna() & to_rub.notna(), from_rub.fillna(to_rub))


def compute_salary_states(frame: pd.DataFrame, view: str) -> pd.Series:
    """Per vacancy: not in the view, not monthly pay, unknown currency, or monthly.

    `frame` holds salary_from, salary_to, from_rub, to_rub, mode and excluded.
    """
    in_view, _ = compute_view_bounds(frame["salary_from"], frame["salary_to"], view)
    mode = frame["mode"].fillna(MONTHLY_MODE)
    published = compute_published_monthly(frame["from_rub"], frame["to_rub"], view)
    unknown_currency = (frame["excluded"] == "unknown_currency") | published.isna()

    states = np.full(len(frame), NOT_IN_VIEW, dtype=np.int8)
    states[(in_view & unknown_currency).to_numpy()] = UNKNOWN_CURRENCY
    states[(in_view & ~unknown_currency).to_numpy()] = MONTHLY
    states[(in_view & (mode != MONTHLY_MODE)).to_numpy()] = NOT_MONTHLY
    return pd.Series(states, index=frame.index)


def is_plausible(published: np.ndarray, salary_min: float, salary_max: float):
    """True where a published monthly rouble value is a believable monthly pay."""
    return (published >= salary_min) & (published <= salary_max)


def compute_basis_salary(
    published: pd.Series, gross: pd.Series, in_russia: pd.Series, basis: str
) -> pd.Series:
    """Convert published monthly values to `basis`; outside Russia they stay as is.

    An unknown `gross` flag is read as gross, as hh.ru's legacy salary means.
    """
    stated_gross = gross.astype(object).ne(False).to_numpy()
    values = published.to_numpy(dtype=float)
    russia = in_russia.to_numpy(dtype=bool)
    if basis == "net":
        convert = russia & stated_gross
        converted = compute_net_from_gross(values)
    else:
        convert = russia & ~stated_gross
        converted = compute_gross_from_net(values)
    return pd.Series(np.where(convert, converted, values), index=published.index)


# --- aggregates ---------------------------------------------------------------------


def _round(value: float) -> float:
    return round(float(value), 2)


def compute_salary_summary(values: np.ndarray) -> dict:
    """n, mean and P10-P90 (numpy's linear interpolation); nulls when n < 5."""
    values = np.asarray(values, dtype=float)
    n = int(values.size)
    summary: dict = {"n": n, "low_confidence": n < CONFIDENT_N, "mean": None}
    summary.update({f"p{p}": None for p in PERCENTILES})
    if n < MIN_STATISTIC_N:
        return summary
    summary["mean"] = _round(values.mean())
    for p, value in zip(PERCENTILES, np.percentile(values, PERCENTILES), strict=True):
        summary[f"p{p}"] = _round(value)
    return summary


def compute_quartiles(values: np.ndarray) -> dict:
    """n, P25, median and P75 for a group; nulls when n < 5."""
    values = np.asarray(values, dtype=float)
    n = int(values.size)
    if n < MIN_STATISTIC_N:
        return {"n": n, "p25": None, "p50": None, "p75": None}
    p25, p50, p75 = np.percentile(values, (25, 50, 75))
    return {"n": n, "p25": _round(p25), "p50": _round(p50), "p75": _round(p75)}


def compute_median(values: np.ndarray) -> float | None:
    values = np.asarray(values, dtype=float)
    if values.size < MIN_STATISTIC_N:
        return None
    return _round(np.percentile(values, 50))


def compute_sorted_percentiles(ordered: np.ndarray, percentiles) -> np.ndarray:
    """`np.percentile(ordered, percentiles)` for values already sorted ascending.

    The same arithmetic as numpy's linear method, step by step, so the result
    is bit-for-bit equal; it reads two values per percentile instead of
    partitioning the whole array.
    """
    n = ordered.size
    virtual = (n - 1) * np.true_divide(np.asarray(percentiles), 100)
    previous = np.floor(virtual)
    above = virtual >= n - 1
    previous[above] = -1
    previous = previous.astype(np.intp)
    following = previous + 1
    following[above] = -1
    gamma = virtual - previous
    low, high = ordered[previous], ordered[following]
    difference = high - low
    result = low + difference * gamma
    upper = gamma >= 0.5
    result[upper] = high[upper] - difference[upper] * (1 - gamma[upper])
    return result


def compute_sorted_summary(ordered: np.ndarray) -> dict:
    """`compute_salary_summary` for salaries already sorted ascending."""
    n = int(ordered.size)
    summary: dict = {"n": n, "low_confidence": n < CONFIDENT_N, "mean": None}
    summary.update({f"p{p}": None for p in PERCENTILES})
    if n < MIN_STATISTIC_N:
        return summary
    summary["mean"] = _round(ordered.mean())
    values = compute_sorted_percentiles(ordered, PERCENTILES)
    for p, value in zip(PERCENTILES, values, strict=True):
        summary[f"p{p}"] = _round(value)
    return summary


def compute_sorted_quartiles(ordered: np.ndarray) -> dict:
    """`compute_quartiles` for a group's salaries already sorted ascending."""
    n = int(ordered.size)
    if n < MIN_STATISTIC_N:
        return {"n": n, "p25": None, "p50": None, "p75": None}
    p25, p50, p75 = compute_sorted_percentiles(ordered, (25, 50, 75))
    return {"n": n, "p25": _round(p25), "p50": _round(p50), "p75": _round(p75)}


def compute_sorted_median(ordered: np.ndarray) -> float | None:
    """`compute_median` for salaries already sorted ascending."""
    if ordered.size < MIN_STATISTIC_N:
        return None
    return _round(compute_sorted_percentiles(ordered, (50,))[0])


def compute_histogram(values: np.ndarray, ordered: bool = False) -> dict:
    """Equal 10,000-rouble bins from 0 to the P99; the last bin takes the rest.

    Empty when n < 5, like every other statistic. `ordered` says the values
    are sorted ascending, which makes the P99 a lookup.
    """
    values = np.asarray(values, dtype=float)
    if values.size < MIN_STATISTIC_N:
        return {"edges": [], "counts": []}
    if ordered:
        p99 = float(compute_sorted_percentiles(values, (99,))[0])
    else:
        p99 = float(np.percentile(values, 99))
    bins = max(1, math.ceil(p99 / HISTOGRAM_BIN_RUB))
    edges = [index * HISTOGRAM_BIN_RUB for index in range(bins + 1)]
    positions = np.clip(
        np.floor(values / HISTOGRAM_BIN_RUB).astype(np.int64), 0, bins - 1
    )
    counts = np.bincount(positions, minlength=bins)
    return {"edges": edges, "counts": [int(count) for count in counts]}


# --- time -----------------------------------------------------------------------------


def compute_week_start_days(published_at: pd.Series) -> np.ndarray:
    """The Moscow Monday of each naive-UTC publication time, as datetime64[D]."""
    moscow = pd.to_datetime(published_at).dt.tz_localize("UTC").dt.tz_convert(MOSCOW)
    days = moscow.dt.tz_localize(None).to_numpy(dtype="datetime64[D]")
    # 1970-01-01 was a Thursday: shifting by 3 makes Monday weekday 0.
    weekday = (days.astype(np.int64) + 3) % 7
    return days - weekday.astype("timedelta64[D]")


def compute_week_starts(published_at: pd.Series) -> pd.Series:
    """The Moscow Monday of each naive-UTC publication time, as a `date`."""
    days = compute_week_start_days(published_at)
    return pd.Series(days.astype(object), index=published_at.index)


# --- the whole selection, plainly -----------------------------------------------


def compute_salary_values(
    frame: pd.DataFrame,
    view: str,
    basis: str,
    salary_min: float,
    salary_max: float,
) -> tuple[pd.DataFrame, dict]:
    """Vacancies whose salary enters statistics, with `value` on `basis`.

    `frame` needs salary_from, salary_to, from_rub, to_rub, mode, excluded,
    gross and in_russia; returns the included rows and the exclusion counts.
    """
    states = compute_salary_states(frame, view)
    published = compute_published_monthly(frame["from_rub"], frame["to_rub"], view)
    monthly = states == MONTHLY
    plausible = monthly & is_plausible(published, salary_min, salary_max)

    excluded = {
        "not_monthly": int((states == NOT_MONTHLY).sum()),
        "unknown_currency": int((states == UNKNOWN_CURRENCY).sum()),
        "implausible": int((monthly & ~plausible).sum()),
    }
    included = frame[plausible].copy()
    included["published"] = published[plausible]
    included["value"] = compute_basis_salary(
        included["published"], included["gross"], included["in_russia"], basis
    )
    return included, excluded


def compute_group_rows(
    frame: pd.DataFrame, included: pd.DataFrame, column: str, known: tuple
) -> list[dict]:
    """A distribution: known ids in their order, other ids seen, then unknown."""
    keys = frame[column].fillna(UNKNOWN)
    counts = keys.value_counts()
    others = sorted(
        (key for key in counts.index if key not in known and key != UNKNOWN),
        key=lambda key: (-counts[key], key),
    )
    included_keys = included[column].fillna(UNKNOWN)
    rows = []
    for key in (*known, *others, UNKNOWN):
        values = included.loc[included_keys == key, "value"].to_numpy()
        rows.append(
            {
                "id": key,
                "vacancies": int(counts.get(key, 0)),
                **compute_quartiles(values),
            }
        )
    return rows


def compute_work_format_rows(
    frame: pd.DataFrame, included: pd.DataFrame, work_formats: pd.DataFrame
) -> list[dict]:
    """Work formats: a vacancy counts in each format it lists, none -> unknown."""
    links = work_formats[work_formats["vacancy_id"].isin(frame["id"])]
    listed = set(links["vacancy_id"])
    unknown_links = pd.DataFrame(
        {
            "vacancy_id": [i for i in frame["id"] if i not in listed],
            "work_format": UNKNOWN,
        }
    )
    links = pd.concat([links, unknown_links], ignore_index=True)
    counts = links["work_format"].value_counts()
    others = sorted(
        (
            key
            for key in counts.index
            if key not in WORK_FORMAT_ORDER and key != UNKNOWN
        ),
        key=lambda key: (-counts[key], key),
    )
    values_by_id = included.set_index("id")["value"]
    rows = []
    for key in (*WORK_FORMAT_ORDER, *others, UNKNOWN):
        ids = links.loc[links["work_format"] == key, "vacancy_id"]
        values = values_by_id[values_by_id.index.isin(ids)].to_numpy()
        rows.append(
            {
                "id": key,
                "vacancies": int(counts.get(key, 0)),
                **compute_quartiles(values),
            }
        )
    return rows


def compute_top_rows(
    frame: pd.DataFrame, included: pd.DataFrame, column: str, names: dict
) -> list[dict]:
    """The 20 ids with the most vacancies (ties by id), with salary quartiles."""
    keys = frame[column].dropna()
    counts = keys.value_counts()
    top = sorted(counts.index, key=lambda key: (-counts[key], key))[:TOP_LIMIT]
    rows = []
    for key in top:
        values = included.loc[included[column] == key, "value"].to_numpy()
        rows.append(
            {
                "id": key,
                "name": names.get(key, str(key)),
                "vacancies": int(counts[key]),
                **compute_quartiles(values),
            }
        )
    return rows


def compute_weekly_rows(frame: pd.DataFrame, included: pd.DataFrame) -> list[dict]:
    """Vacancies, n and median per Moscow Monday-start week, gaps filled."""
    if frame.empty:
        return []
    weeks = compute_week_starts(frame["published_at"])
    included_weeks = weeks.loc[included.index]
    first, last = weeks.min(), weeks.max()
    rows = []
    for week in pd.date_range(first, last, freq="7D").date:
        values = included.loc[included_weeks == week, "value"].to_numpy()
        rows.append(
            {
                "week": week.isoformat(),
                "vacancies": int((weeks == week).sum()),
                "n": int(values.size),
                "p50": compute_median(values),
            }
        )
    return rows


def compute_selection_stats(
    frame: pd.DataFrame,
    work_formats: pd.DataFrame,
    basis: str,
    view: str,
    salary_min: float,
    salary_max: float,
    area_names: dict,
    employer_names: dict,
) -> dict:
    """Every statistic of §6 for one selected frame of vacancies.

    `frame`: one row per vacancy with id, published_at, area_id, employer_id,
    experience, employment_form, the salary columns and in_russia;
    `work_formats`: vacancy_id, work_format links.
    """
    included, excluded = compute_salary_values(
        frame, view, basis, salary_min, salary_max
    )
    values = included["value"].to_numpy()
    vacancies = len(frame)
    with_salary = int((frame["salary_from"].notna() | frame["salary_to"].notna()).sum())

    salary = {"basis": basis, "view": view, **compute_salary_summary(values)}
    salary["histogram"] = compute_histogram(values)
    salary["excluded"] = excluded
    salary["outside_russia"] = int((~included["in_russia"].astype(bool)).sum())
    return {
        "vacancies": vacancies,
        "employer_count": int(frame["employer_id"].dropna().nunique()),
        "with_salary": with_salary,
        "disclosure_rate": with_salary / vacancies if vacancies else None,
        "salary": salary,
        "experience": compute_group_rows(
            frame, included, "experience", EXPERIENCE_ORDER
        ),
        "employment_form": compute_group_rows(
            frame, included, "employment_form", EMPLOYMENT_FORM_ORDER
        ),
        "work_format": compute_work_format_rows(frame, included, work_formats),
        "top_areas": compute_top_rows(frame, included, "area_id", area_names),
        "top_employers": compute_top_rows(
            frame, included, "employer_id", employer_names
        ),
        "weekly": compute_weekly_rows(frame, included),
    }

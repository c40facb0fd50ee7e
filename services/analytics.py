"""Everything the analytics page and `/api/v1/stats` show for one selection.

`get_stats` filters the in-memory dataset with boolean masks and computes every
statistic of design §5 once, so the page and the API cannot disagree. The
numbers equal `services.stats.compute_selection_stats` on the same vacancies;
the arrays only make them cheap.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from services import stats
from services.dataset import IMPLAUSIBLE
from services.dataset import NOT_MONTHLY
from services.dataset import UNKNOWN_CURRENCY
from services.dataset import Categories
from services.dataset import Dataset
from services.dataset import SalaryIndex
from services.dataset import get_dataset
from services.dataset import with_none
from services.filters import Filters
from services.filters import split_query_words
from services.schema import Salary
from services.schema import Vacancy
from services.settings import Settings
from services.state import get_data_info
from services.timeutil import iso_utc
from services.timeutil import moscow_day_end_utc
from services.timeutil import moscow_day_start_utc

logger = logging.getLogger(__name__)

DOWNLOAD_LIMIT = 100_000
DOWNLOAD_CHUNK = 5_000
VACANCY_URL = "https://hh.ru/vacancy/{id}"
DOWNLOAD_COLUMNS = (
    "id",
    "name",
    "employer",
    "area",
    "published_at",
    "experience",
    "salary_from",
    "salary_to",
    "currency",
    "gross",
    "mode",
    "monthly_rub",
    "url",
)


def get_stats(session: Session, filters: Filters, settings: Settings) -> dict:
    """Every statistic of the selection, in the shape of design §6's answer.

    Adds `unknown_ids`: well-formed area, employer and role ids of the
    selection that match nothing in the data (stale links).
    """
    info = get_data_info(session)
    dataset = get_dataset(session)
    mask = select_vacancies(session, dataset, filters)
    index = dataset.salary_index(
        filters.view, filters.basis, settings.salary_min_rub, settings.salary_max_rub
    )

    answer = {
        "filters": filters.echo(),
        "data": {
            "version": info.version,
            "refreshed_at": iso_utc(info.refreshed_at),
            "dataset": info.dataset,
        },
    }
    answer.update(compute_masked_stats(dataset, index, mask, filters))
    answer["unknown_ids"] = find_unknown_ids(dataset, filters)
    return answer


# --- selecting vacancies ---------------------------------------------------------


def select_vacancies(session: Session, dataset: Dataset, filters: Filters):
    """A boolean mask over the dataset's vacancies for the selection."""
    mask = _status_mask(dataset, filters.status)
    if filters.area:
        mask &= dataset.area_descendants(filters.area)[dataset.areas.codes]
    if filters.exclude_area:
        mask &= ~dataset.area_descendants(filters.exclude_area)[dataset.areas.codes]
    if filters.employer:
        mask &= dataset.employers.select(filters.employer)
    if filters.experience:
        mask &= dataset.experience.select(filters.experience)
    if filters.role:
        mask &= dataset.roles.select(filters.role, dataset.size)
    if filters.employment_form:
        mask &= dataset.employment_form.select(filters.employment_form)
    if filters.work_format:
        mask &= dataset.work_formats.select(
            filters.work_format, dataset.size, unknown=stats.UNKNOWN
        )
    mask &= _publication_mask(dataset, filters)
    mask &= _employer_flag_mask(dataset, filters)
    if filters.only_with_salary:
        mask &= dataset.discloses
    words = split_query_words(filters.q)
    if words and mask.any():
        keyword_mask = np.zeros(dataset.size, dtype=bool)
        keyword_mask[dataset.keyword_rows(session, words)] = True
        mask &= keyword_mask
    return mask


def _status_mask(dataset: Dataset, status: str) -> np.ndarray:
    if status == "open":
        return ~dataset.closed
    if status == "closed":
        return dataset.closed.copy()
    return np.ones(dataset.size, dtype=bool)


def _publication_mask(dataset: Dataset, filters: Filters) -> np.ndarray:
    # Dates are Moscow calendar days, both ends inclusive.
    mask = np.ones(dataset.size, dtype=bool)
    if filters.published_from is not None:
        start = np.datetime64(moscow_day_start_utc(filters.published_from), "ns")
        mask &= dataset.published_at >= start
    if filters.published_to is not None:
        end = np.datetime64(moscow_day_end_utc(filters.published_to), "ns")
        mask &= dataset.published_at < end
    return mask


def _employer_flag_mask(dataset: Dataset, filters: Filters) -> np.ndarray:
    mask = np.ones(dataset.size, dtype=bool)
    if filters.accredited_it:
        mask &= with_none(dataset.employer_accredited)[dataset.employers.codes]
    if filters.trusted:
        mask &= with_none(dataset.employer_trusted)[dataset.employers.codes]
    return mask


def find_unknown_ids(dataset: Dataset, filters: Filters) -> dict:
    """Well-formed ids of the selection that no area, employer or role matches."""
    area_ids = sorted(set(filters.area) | set(filters.exclude_area))
    return {
        "area": [i for i in area_ids if dataset.areas.code_of(i) is None],
        "employer": [
            i for i in filters.employer if dataset.employers.code_of(i) is None
        ],
        "role": [i for i in filters.role if i not in dataset.role_known],
    }


# --- statistics over a mask -----------------------------------------------------


def compute_masked_stats(
    dataset: Dataset, index: SalaryIndex, mask: np.ndarray, filters: Filters
) -> dict:
    """The statistics of §6 for the masked vacancies, from pre-sorted salaries."""
    selected = mask[index.rows]
    rows, values = index.rows[selected], index.values[selected]
    vacancies = int(np.count_nonzero(mask))
    with_salary = int(np.count_nonzero(mask & dataset.discloses))

    salary = {"basis": filters.basis, "view": filters.view}
    salary.update(stats.compute_salary_summary(values))
    salary["histogram"] = stats.compute_histogram(values)
    salary["excluded"] = _compute_exclusions(index, mask)
    outside = ~dataset.in_russia[dataset.areas.codes[rows]]
    salary["outside_russia"] = int(np.count_nonzero(outside))
    return {
        "vacancies": vacancies,
        "employer_count": _count_employers(dataset, mask),
        "with_salary": with_salary,
        "disclosure_rate": with_salary / vacancies if vacancies else None,
        "salary": salary,
        "experience": compute_category_rows(
            dataset.experience, mask, rows, values, stats.EXPERIENCE_ORDER
        ),
        "employment_form": compute_category_rows(
            dataset.employment_form, mask, rows, values, stats.EMPLOYMENT_FORM_ORDER
        ),
        "work_format": compute_work_format_rows(dataset, mask, rows, values),
        "top_areas": compute_top_rows(
            dataset.areas, dataset.area_names, mask, rows, values
        ),
        "top_employers": compute_top_rows(
            dataset.employers, dataset.employer_names, mask, rows, values
        ),
        "weekly": compute_weekly_rows(dataset, index, mask),
    }


def _compute_exclusions(index: SalaryIndex, mask: np.ndarray) -> dict:
    counts = np.bincount(index.classes[mask], minlength=IMPLAUSIBLE + 2)
    return {
        "not_monthly": int(counts[NOT_MONTHLY]),
        "unknown_currency": int(counts[UNKNOWN_CURRENCY]),
        "implausible": int(counts[IMPLAUSIBLE]),
    }


def _count_employers(dataset: Dataset, mask: np.ndarray) -> int:
    codes = dataset.employers.codes[mask]
    named = codes[codes >= 0]
    if named.size == 0:
        return 0
    return int(np.count_nonzero(np.bincount(named)))


class SortedGroups:
    """Salaries split by a code with one stable sort; each group stays sorted."""

    def __init__(self, codes: np.ndarray, values: np.ndarray, size: int) -> None:
        # Code -1 (an anonymous employer) is shifted to group 0.
        shifted = codes.astype(np.int64) + 1
        self.values = values[np.argsort(shifted, kind="stable")]
        sizes = np.bincount(shifted, minlength=size + 1)
        self.starts = np.concatenate(([0], np.cumsum(sizes)))

    def values_of(self, code: int | None) -> np.ndarray:
        if code is None:
            return self.values[:0]
        return self.values[self.starts[code + 1] : self.starts[code + 2]]


def compute_category_rows(
    categories: Categories, mask, rows, values, known: tuple[str, ...]
) -> list[dict]:
    """A distribution: known ids in order, other ids seen, then unknown."""
    counts = np.bincount(categories.codes[mask], minlength=categories.labels.size)
    seen = {
        label: int(count)
        for label, count in zip(categories.labels, counts, strict=True)
        if count
    }
    others = sorted(
        (label for label in seen if label not in known and label != stats.UNKNOWN),
        key=lambda label: (-seen[label], label),
    )
    groups = SortedGroups(categories.codes[rows], values, categories.labels.size)
    answer = []
    for label in (*known, *others, stats.UNKNOWN):
        group = groups.values_of(categories.code_of(label))
        answer.append(
            {
                "id": label,
                "vacancies": seen.get(label, 0),
                **stats.compute_quartiles(group),
            }
        )
    return answer


def compute_work_format_rows(dataset: Dataset, mask, rows, values) -> list[dict]:
    """Work formats: a vacancy counts in each format it lists; none -> unknown."""
    links = dataset.work_formats
    members = dict(links.rows_by_value)
    counts = {value: int(np.count_nonzero(mask[r])) for value, r in members.items()}
    counts[stats.UNKNOWN] = int(np.count_nonzero(mask & links.without_any))
    others = sorted(
        (
            value
            for value, count in counts.items()
            if count and value not in stats.WORK_FORMAT_ORDER and value != stats.UNKNOWN
        ),
        key=lambda value: (-counts[value], value),
    )
    answer = []
    for value in (*stats.WORK_FORMAT_ORDER, *others, stats.UNKNOWN):
        if value == stats.UNKNOWN:
            member = links.without_any
        else:
            member = np.zeros(dataset.size, dtype=bool)
            member[members.get(value, [])] = True
        group = values[member[rows]]
        answer.append(
            {
                "id": value,
                "vacancies": counts.get(value, 0),
                **stats.compute_quartiles(group),
            }
        )
    return answer


def compute_top_rows(
    categories: Categories, names: dict, mask, rows, values
) -> list[dict]:
    """The 20 areas or named employers with the most vacancies (ties by id)."""
    codes = categories.codes[mask]
    counts = np.bincount(codes[codes >= 0], minlength=categories.labels.size)
    present = np.flatnonzero(counts)
    top = present[np.lexsort((present, -counts[present]))][: stats.TOP_LIMIT]
    groups = SortedGroups(categories.codes[rows], values, categories.labels.size)
    answer = []
    for code in top:
        label = categories.labels[code]
        label = int(label) if isinstance(label, np.integer) else label
        answer.append(
            {
                "id": label,
                "name": names.get(label, str(label)),
                "vacancies": int(counts[code]),
                **stats.compute_quartiles(groups.values_of(code)),
            }
        )
    return answer


def compute_weekly_rows(dataset: Dataset, index: SalaryIndex, mask) -> list[dict]:
    """Vacancies, n and median per Moscow Monday-start week, gaps filled."""
    week_count = dataset.week_labels.size
    vacancies = np.bincount(dataset.week_codes[mask], minlength=week_count)
    if not vacancies.any():
        return []
    selected = mask[index.week_rows]
    week_values, weeks = index.week_values[selected], index.weeks[selected]
    sizes = np.bincount(weeks, minlength=week_count)
    starts = np.concatenate(([0], np.cumsum(sizes)))

    present = np.flatnonzero(vacancies)
    first, last = dataset.week_labels[present[0]], dataset.week_labels[present[-1]]
    code_by_week = {label: code for code, label in enumerate(dataset.week_labels)}
    answer = []
    for week in np.arange(first, last + np.timedelta64(1, "D"), np.timedelta64(7, "D")):
        code = code_by_week.get(week)
        if code is None:
            answer.append({"week": str(week), "vacancies": 0, "n": 0, "p50": None})
            continue
        group = week_values[starts[code] : starts[code + 1]]
        answer.append(
            {
                "week": str(week),
                "vacancies": int(vacancies[code]),
                "n": int(group.size),
                "p50": stats.compute_median(group),
            }
        )
    return answer


# --- downloads ---------------------------------------------------------------------


def get_filtered_vacancies(
    session: Session,
    filters: Filters,
    settings: Settings,
    limit: int = DOWNLOAD_LIMIT,
) -> tuple[pd.DataFrame, bool]:
    """The selection's vacancies as download rows (design §7), newest first.

    Returns at most `limit` rows and whether more matched. `monthly_rub` is the
    salary that enters the statistics on the selection's view and basis, empty
    when the vacancy's salary is excluded.
    """
    dataset = get_dataset(session)
    mask = select_vacancies(session, dataset, filters)
    index = dataset.salary_index(
        filters.view, filters.basis, settings.salary_min_rub, settings.salary_max_rub
    )
    rows = np.flatnonzero(mask)
    published = dataset.published_at[rows].view(np.int64)
    rows = rows[np.lexsort((-dataset.ids[rows], -published))]
    truncated = rows.size > limit
    rows = rows[:limit]

    monthly = np.full(dataset.size, np.nan)
    monthly[index.rows] = index.values
    frame = _get_download_rows(session, dataset.ids[rows].tolist())
    frame["area"] = [
        dataset.area_names.get(int(dataset.areas.labels[c]), "")
        for c in dataset.areas.codes[rows]
    ]
    frame["monthly_rub"] = [
        None if np.isnan(value) else round(float(value), 2) for value in monthly[rows]
    ]
    frame["url"] = [VACANCY_URL.format(id=i) for i in frame["id"]]
    logger.info("Prepared %d vacancy rows for download", len(frame))
    return frame.loc[:, list(DOWNLOAD_COLUMNS)], bool(truncated)


def _get_download_rows(session: Session, ids: list[int]) -> pd.DataFrame:
    columns = (
        Vacancy.id,
        Vacancy.name,
        Vacancy.employer_name.label("employer"),
        Vacancy.published_at,
        Vacancy.experience,
        Salary.salary_from,
        Salary.salary_to,
        Salary.currency,
        Salary.gross,
        Salary.mode,
    )
    found = []
    for start in range(0, len(ids), DOWNLOAD_CHUNK):
        chunk = ids[start : start + DOWNLOAD_CHUNK]
        query = (
            select(*columns)
            .outerjoin(Salary, Salary.vacancy_id == Vacancy.id)
            .where(Vacancy.id.in_(chunk))
        )
        found.extend(session.execute(query).all())
    names = [column.key for column in columns]
    frame = pd.DataFrame(found, columns=names).set_index("id")
    frame = frame.reindex(ids).reset_index(names="id")
    frame["published_at"] = [iso_utc(moment) for moment in frame["published_at"]]
    return frame

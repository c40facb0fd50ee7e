"""Everything the analytics page and `/api/v1/stats` show for one selection.

`get_stats` filters the in-memory dataset with boolean masks and computes every
statistic of design §5 once, so the page and the API cannot disagree. The
numbers equal `services.stats.compute_selection_stats` on the same vacancies;
the arrays only make them cheap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from services import stats
from services.dataset import IMPLAUSIBLE
from services.dataset import INCLUDED
from services.dataset import NOT_MONTHLY
from services.dataset import UNKNOWN_CURRENCY
from services.dataset import Categories
from services.dataset import Dataset
from services.dataset import SalaryIndex
from services.dataset import count_common_bits
from services.dataset import get_dataset
from services.dataset import pack_bits
from services.dataset import with_none
from services.filters import Filters
from services.filters import split_query_words
from services.schema import Salary
from services.schema import Vacancy
from services.settings import Settings
from services.state import DataInfo
from services.state import get_data_info
from services.timeutil import iso_utc
from services.timeutil import moscow_day_end_utc
from services.timeutil import moscow_day_start_utc

logger = logging.getLogger(__name__)

# Columns with at most this many codes are counted on packed bits per code.
BIT_COUNT_CODES = 64
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


def get_stats(
    session: Session,
    filters: Filters,
    settings: Settings,
    info: DataInfo | None = None,
) -> dict:
    """Every statistic of the selection, in the shape of design §6's answer.

    Adds `unknown_ids`: well-formed area, employer and role ids of the
    selection that match nothing in the data (stale links). `info` is the
    current data version, when the caller read it already.
    """
    info = info or get_data_info(session)
    dataset = get_dataset(session, settings, info.version, previous_allowed=True)
    if dataset.version == info.version:
        dataset.info = info
    else:
        # The new version is still being built: answer from the previous one.
        info = dataset.info or DataInfo(dataset.version, None, None)
    key = (filters, settings.salary_min_rub, settings.salary_max_rub)
    statistics = dataset.answers.get(key)
    if statistics is None:
        statistics = compute_selection_answer(session, dataset, filters, settings)
        dataset.answers.put(key, statistics)

    answer = {
        "filters": filters.echo(),
        "data": {
            "version": info.version,
            "refreshed_at": iso_utc(info.refreshed_at),
            "dataset": info.dataset,
        },
    }
    answer.update(statistics)
    return answer


def compute_selection_answer(
    session: Session, dataset: Dataset, filters: Filters, settings: Settings
) -> dict:
    """The statistics of one selection and its unknown ids, from the dataset."""
    mask = select_vacancies(session, dataset, filters)
    index = dataset.salary_index(
        filters.view, filters.basis, settings.salary_min_rub, settings.salary_max_rub
    )
    statistics = compute_masked_stats(dataset, index, mask, filters)
    statistics["unknown_ids"] = find_unknown_ids(dataset, filters)
    return statistics


# --- selecting vacancies ---------------------------------------------------------


def select_vacancies(session: Session, dataset: Dataset, filters: Filters):
    """A boolean mask over the dataset's vacancies for the selection."""
    mask = _status_mask(dataset, filters.status)
    area_codes = dataset.areas.codes
    if filters.area:
        mask &= dataset.area_descendants(filters.area)[area_codes]
    if filters.exclude_area:
        mask &= ~dataset.area_descendants(filters.exclude_area)[area_codes]
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
    _apply_publication_dates(mask, dataset, filters)
    _apply_employer_flags(mask, dataset, filters)
    if filters.only_with_salary:
        mask &= dataset.discloses
    words = split_query_words(filters.q)
    if words and mask.any():
        mask &= dataset.keyword_mask(session, words)
    return mask


def _status_mask(dataset: Dataset, status: str) -> np.ndarray:
    if status == "open":
        return ~dataset.closed
    if status == "closed":
        return dataset.closed.copy()
    return np.ones(dataset.size, dtype=bool)


def _apply_publication_dates(mask, dataset: Dataset, filters: Filters) -> None:
    # Dates are Moscow calendar days, both ends inclusive; day bounds are whole
    # seconds, so comparing whole publication seconds is exact.
    if filters.published_from is not None:
        start = _epoch_seconds(moscow_day_start_utc(filters.published_from))
        mask &= dataset.published >= start
    if filters.published_to is not None:
        end = _epoch_seconds(moscow_day_end_utc(filters.published_to))
        mask &= dataset.published < end


def _epoch_seconds(moment) -> int:
    return int(np.datetime64(moment, "s").astype(np.int64))


def _apply_employer_flags(mask, dataset: Dataset, filters: Filters) -> None:
    if filters.accredited_it:
        mask &= with_none(dataset.employer_accredited)[dataset.employers.codes]
    if filters.trusted:
        mask &= with_none(dataset.employer_trusted)[dataset.employers.codes]


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


@dataclass
class Selection:
    """The selected vacancies (a mask) and their included salaries, in order.

    `chosen` marks, in the salary index's order, the salaries of selected
    vacancies; `values` are those salaries, ascending. `bits` is the mask
    packed into 64-bit words, so counting the selected vacancies of a column
    reads an eighth of a byte per vacancy.
    """

    mask: np.ndarray
    index: SalaryIndex
    chosen: np.ndarray
    values: np.ndarray
    bits: np.ndarray

    def salary_keys(self, name: str) -> np.ndarray:
        """Group codes of the selected salaries, in salary order."""
        return self.index.keys[name][self.chosen]

    def count(self, member_bits: np.ndarray) -> int:
        """Selected vacancies among those of a packed boolean column."""
        return count_common_bits(self.bits, member_bits)


def compute_masked_stats(
    dataset: Dataset, index: SalaryIndex, mask: np.ndarray, filters: Filters
) -> dict:
    """The statistics of §6 for the masked vacancies, from pre-sorted salaries.

    Every group statistic reads salaries that stay sorted (a subset of a
    sorted array, split by a stable sort on small group codes), so no
    percentile needs a sort of its own.
    """
    chosen = mask[index.rows]
    selection = Selection(mask, index, chosen, index.values[chosen], pack_bits(mask))
    vacancies = int(np.count_nonzero(mask))
    with_salary = selection.count(dataset.member_bits("discloses", dataset.discloses))
    employer_counts = _count_by_code(
        dataset.employers.codes[mask], dataset.employers.labels.size
    )

    values = selection.values
    salary = {"basis": filters.basis, "view": filters.view}
    salary.update(stats.compute_sorted_summary(values))
    salary["histogram"] = stats.compute_histogram(values, ordered=True)
    salary["excluded"] = _compute_exclusions(dataset, selection)
    salary["outside_russia"] = int(np.count_nonzero(index.outside[chosen]))
    return {
        "vacancies": vacancies,
        "employer_count": int(np.count_nonzero(employer_counts)),
        "with_salary": with_salary,
        "disclosure_rate": with_salary / vacancies if vacancies else None,
        "salary": salary,
        "experience": compute_category_rows(
            dataset,
            dataset.experience,
            selection,
            "experience",
            stats.EXPERIENCE_ORDER,
        ),
        "employment_form": compute_category_rows(
            dataset,
            dataset.employment_form,
            selection,
            "employment_form",
            stats.EMPLOYMENT_FORM_ORDER,
        ),
        "work_format": compute_work_format_rows(dataset, selection),
        "top_areas": compute_top_rows(
            dataset.areas,
            _count_by_code(dataset.areas.codes[mask], dataset.areas.labels.size),
            lambda code: dataset.area_names.get(int(dataset.areas.labels[code])),
            selection.salary_keys("area"),
            values,
        ),
        "top_employers": compute_top_rows(
            dataset.employers,
            employer_counts,
            lambda code: dataset.employer_names[code],
            selection.salary_keys("employer"),
            values,
        ),
        "weekly": compute_weekly_rows(dataset, selection),
    }


def _count_by_code(codes: np.ndarray, size: int) -> np.ndarray:
    """Vacancies per code; code -1 (an anonymous employer) is left out."""
    counts = np.bincount(codes + 1, minlength=size + 1)
    return counts[1:]


def count_selected_codes(
    dataset: Dataset, selection: Selection, key, codes: np.ndarray, size: int
) -> np.ndarray:
    """Selected vacancies per code (codes 0 .. size - 1) of the column `key`.

    A few codes are counted on packed bits, one AND and popcount per code:
    much cheaper than compressing the column and widening it for
    `np.bincount`, or comparing every vacancy's code once per code.
    """
    if size <= BIT_COUNT_CODES:
        code_bits = dataset.code_bits(key, codes, size)
        return np.array([selection.count(bits) for bits in code_bits], dtype=np.int64)
    return np.bincount(codes[selection.mask], minlength=size)


def _compute_exclusions(dataset: Dataset, selection: Selection) -> dict:
    # Salary indexes live as long as their dataset, so the id names the column.
    index = selection.index
    key = ("salary classes", id(index))
    counts = count_selected_codes(dataset, selection, key, index.classes, INCLUDED + 1)
    return {
        "not_monthly": int(counts[NOT_MONTHLY]),
        "unknown_currency": int(counts[UNKNOWN_CURRENCY]),
        "implausible": int(counts[IMPLAUSIBLE]),
    }


def split_sorted_groups(keys: np.ndarray, values: np.ndarray, groups: int):
    """Sorted values split by small non-negative group keys; each part stays sorted.

    Returns the regrouped values and the start of each group (`groups` + 1
    bounds). The stable sort of a small integer type is a linear radix sort.
    """
    grouped = values[np.argsort(keys, kind="stable")]
    sizes = np.bincount(keys, minlength=groups)[:groups]
    return grouped, np.concatenate(([0], np.cumsum(sizes)))


def _group_values(grouped: np.ndarray, bounds: np.ndarray, code: int | None):
    if code is None:
        return grouped[:0]
    return grouped[bounds[code] : bounds[code + 1]]


def compute_category_rows(
    dataset: Dataset,
    categories: Categories,
    selection: Selection,
    key: str,
    known: tuple[str, ...],
) -> list[dict]:
    """A distribution: known ids in order, other ids seen, then unknown."""
    size = categories.labels.size
    counts = count_selected_codes(dataset, selection, key, categories.codes, size)
    seen = {
        label: int(count)
        for label, count in zip(categories.labels, counts, strict=True)
        if count
    }
    others = sorted(
        (label for label in seen if label not in known and label != stats.UNKNOWN),
        key=lambda label: (-seen[label], label),
    )
    grouped, bounds = split_sorted_groups(
        selection.salary_keys(key), selection.values, size
    )
    answer = []
    for label in (*known, *others, stats.UNKNOWN):
        group = _group_values(grouped, bounds, categories.code_of(label))
        answer.append(
            {
                "id": label,
                "vacancies": seen.get(label, 0),
                **stats.compute_sorted_quartiles(group),
            }
        )
    return answer


def compute_work_format_rows(dataset: Dataset, selection: Selection) -> list[dict]:
    """Work formats: a vacancy counts in each format it lists; none -> unknown."""
    members = dict(dataset.work_format_members)
    members[stats.UNKNOWN] = dataset.work_formats.without_any
    counts = {
        value: selection.count(dataset.member_bits(("work format", value), member))
        for value, member in members.items()
    }
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
        member = selection.index.formats.get(value)
        if member is None:
            group = selection.values[:0]
        else:
            group = selection.values[member[selection.chosen]]
        answer.append(
            {
                "id": value,
                "vacancies": counts.get(value, 0),
                **stats.compute_sorted_quartiles(group),
            }
        )
    return answer


def find_top_codes(counts: np.ndarray, limit: int = stats.TOP_LIMIT) -> np.ndarray:
    """Codes of the `limit` largest counts, largest first, ties by code (id)."""
    present = np.count_nonzero(counts)
    if present > limit:
        threshold = np.partition(counts, counts.size - limit)[counts.size - limit]
        candidates = np.flatnonzero(counts >= max(threshold, 1))
    else:
        candidates = np.flatnonzero(counts)
    ranked = candidates[np.lexsort((candidates, -counts[candidates]))]
    return ranked[:limit]


def compute_top_rows(
    categories: Categories,
    counts: np.ndarray,
    name_of,
    salary_codes: np.ndarray,
    values: np.ndarray,
) -> list[dict]:
    """The 20 areas or named employers with the most vacancies (ties by id).

    `salary_codes` are the codes of the selection's salaries, in salary order.
    """
    top = find_top_codes(counts)
    # Each top code gets its rank as group key; every other code shares one.
    ranks = np.full(categories.labels.size + 1, top.size, dtype=np.int8)
    ranks[top] = np.arange(top.size, dtype=np.int8)
    grouped, bounds = split_sorted_groups(ranks[salary_codes], values, top.size)
    answer = []
    for rank, code in enumerate(top):
        label = categories.labels[code]
        label = label.item() if isinstance(label, np.generic) else label
        name = name_of(code)
        group = grouped[bounds[rank] : bounds[rank + 1]]
        answer.append(
            {
                "id": label,
                "name": str(label) if name is None else name,
                "vacancies": int(counts[code]),
                **stats.compute_sorted_quartiles(group),
            }
        )
    return answer


def compute_weekly_rows(dataset: Dataset, selection: Selection) -> list[dict]:
    """Vacancies, n and median per Moscow Monday-start week, gaps filled."""
    week_count = dataset.week_labels.size
    vacancies = count_selected_codes(
        dataset, selection, "week", dataset.week_codes, week_count
    )
    if not vacancies.any():
        return []
    grouped, bounds = split_sorted_groups(
        selection.salary_keys("week"), selection.values, week_count
    )

    present = np.flatnonzero(vacancies)
    first, last = dataset.week_labels[present[0]], dataset.week_labels[present[-1]]
    code_by_week = {label: code for code, label in enumerate(dataset.week_labels)}
    answer = []
    for week in np.arange(first, last + np.timedelta64(1, "D"), np.timedelta64(7, "D")):
        code = code_by_week.get(week)
        if code is None:
            answer.append({"week": str(week), "vacancies": 0, "n": 0, "p50": None})
            continue
        group = grouped[bounds[code] : bounds[code + 1]]
        answer.append(
            {
                "week": str(week),
                "vacancies": int(vacancies[code]),
                "n": int(group.size),
                "p50": stats.compute_sorted_median(group),
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
    dataset = get_dataset(session, settings)
    mask = select_vacancies(session, dataset, filters)
    index = dataset.salary_index(
        filters.view, filters.basis, settings.salary_min_rub, settings.salary_max_rub
    )
    rows = np.flatnonzero(mask)
    published = dataset.published[rows]
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

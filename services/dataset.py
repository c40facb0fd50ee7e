"""The served vacancies as compact in-memory columns, cached per data version.

Every filter change of the analytics page is answered from numpy arrays built
once per data version and process: vacancies sorted by id, categorical codes
for areas, employers and enums, link arrays for work formats and roles, and
per salary view the published monthly rouble value of each vacancy. Keyword
search reads the database's normalised search column instead, because a
million vacancies' texts would not fit a worker's memory budget.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from dataclasses import field

import numpy as np
import pandas as pd
from sqlalchemy import and_
from sqlalchemy import select
from sqlalchemy.orm import Session

from services import stats
from services.schema import Area
from services.schema import Employer
from services.schema import ProfessionalRole
from services.schema import Salary
from services.schema import Vacancy
from services.schema import VacancyRole
from services.schema import VacancyWorkFormat
from services.state import get_data_info

logger = logging.getLogger(__name__)

VIEWS = ("mid", "from", "to")
KEYWORD_CACHE_SIZE = 32

# Per vacancy and view, after plausibility: the classes the API counts.
OUTSIDE_VIEW = 0
NOT_MONTHLY = 1
UNKNOWN_CURRENCY = 2
IMPLAUSIBLE = 3
INCLUDED = 4


@dataclass
class Categories:
    """Codes of one categorical column: `labels[code]` is the id it stands for."""

    codes: np.ndarray
    labels: np.ndarray

    def lookup(self, wanted) -> np.ndarray:
        """A boolean table over codes, true for the labels in `wanted`."""
        return np.isin(self.labels, list(wanted))

    def select(self, wanted) -> np.ndarray:
        """Per vacancy: is its label one of `wanted`? Code -1 (none) never is."""
        return with_none(self.lookup(wanted))[self.codes]

    def code_of(self, label) -> int | None:
        position = int(np.searchsorted(self.labels, label))
        if position < self.labels.size and self.labels[position] == label:
            return position
        return None


def with_none(table: np.ndarray) -> np.ndarray:
    """A lookup table over codes, extended so that code -1 reads as False."""
    return np.append(table, False)


@dataclass
class Links:
    """Vacancy-to-value links as sorted row positions per value (CSR style)."""

    rows_by_value: dict
    without_any: np.ndarray

    def select(self, wanted, size: int, unknown: str | None = None) -> np.ndarray:
        mask = np.zeros(size, dtype=bool)
        for value in wanted:
            if value == unknown:
                mask |= self.without_any
            elif value in self.rows_by_value:
                mask[self.rows_by_value[value]] = True
        return mask


@dataclass
class SalaryIndex:
    """One view and basis under one plausibility range, sorted for percentiles.

    `rows` are the included vacancies ordered by salary, `values` their
    salaries; `week_rows`/`week_values`/`weeks` order them by week then salary.
    `classes` holds each vacancy's class (OUTSIDE_VIEW ... INCLUDED).
    """

    classes: np.ndarray
    rows: np.ndarray
    values: np.ndarray
    week_rows: np.ndarray
    week_values: np.ndarray
    weeks: np.ndarray


@dataclass
class Dataset:
    """All vacancies of one data version, one array entry per vacancy (by id)."""

    version: str
    ids: np.ndarray
    published_at: np.ndarray
    week_codes: np.ndarray
    week_labels: np.ndarray
    closed: np.ndarray
    discloses: np.ndarray
    areas: Categories
    employers: Categories
    experience: Categories
    employment_form: Categories
    work_formats: Links
    roles: Links
    in_russia: np.ndarray
    stated_gross: np.ndarray
    salary_states: dict
    published_salary: dict
    area_parents: np.ndarray
    area_names: dict
    area_known: set
    employer_names: dict
    employer_accredited: np.ndarray
    employer_trusted: np.ndarray
    role_known: set
    keyword_cache: OrderedDict = field(default_factory=OrderedDict)
    salary_indexes: dict = field(default_factory=dict)
    name_indexes: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def size(self) -> int:
        return int(self.ids.size)

    def area_descendants(self, area_ids) -> np.ndarray:
        """A boolean table over area codes: the areas given and all below them."""
        inside = self.areas.lookup(area_ids)
        parents = self.area_parents
        # hh.ru's tree is a few levels deep: spread downwards until stable.
        for _ in range(32):
            spread = inside | ((parents >= 0) & inside[np.maximum(parents, 0)])
            if np.array_equal(spread, inside):
                break
            inside = spread
        return inside

    def salary_index(
        self, view: str, basis: str, salary_min: float, salary_max: float
    ) -> SalaryIndex:
        """The sorted salaries of a view and basis, built on first use."""
        key = (view, basis, salary_min, salary_max)
        with self.lock:
            index = self.salary_indexes.get(key)
            if index is None:
                index = self.salary_indexes[key] = self._build_salary_index(*key)
            return index

    def _build_salary_index(self, view, basis, salary_min, salary_max) -> SalaryIndex:
        states = self.salary_states[view]
        published = self.published_salary[view]
        classes = states.astype(np.int8)
        monthly = states == stats.MONTHLY
        plausible = monthly & stats.is_plausible(published, salary_min, salary_max)
        classes[monthly & ~plausible] = IMPLAUSIBLE
        classes[plausible] = INCLUDED

        rows = np.flatnonzero(plausible)
        values = stats.compute_basis_salary(
            pd.Series(published[rows]),
            pd.Series(self.stated_gross[rows]),
            pd.Series(self.in_russia[self.areas.codes[rows]]),
            basis,
        ).to_numpy()
        by_salary = np.argsort(values, kind="stable")
        weeks = self.week_codes[rows]
        by_week = np.lexsort((values, weeks))
        return SalaryIndex(
            classes=classes,
            rows=rows[by_salary],
            values=values[by_salary],
            week_rows=rows[by_week],
            week_values=values[by_week],
            weeks=weeks[by_week],
        )

    def keyword_rows(self, session: Session, words: tuple[str, ...]) -> np.ndarray:
        """Row positions of vacancies whose search text holds every word."""
        with self.lock:
            cached = self.keyword_cache.get(words)
            if cached is not None:
                self.keyword_cache.move_to_end(words)
                return cached
        conditions = [Vacancy.search_text.contains(w, autoescape=True) for w in words]
        found = np.array(
            session.execute(select(Vacancy.id).where(and_(*conditions)))
            .scalars()
            .all(),
            dtype=np.int64,
        )
        positions = np.searchsorted(self.ids, found)
        inside = positions < self.size
        positions, found = positions[inside], found[inside]
        rows = np.unique(positions[self.ids[positions] == found])
        with self.lock:
            self.keyword_cache[words] = rows
            while len(self.keyword_cache) > KEYWORD_CACHE_SIZE:
                self.keyword_cache.popitem(last=False)
        return rows


# --- the per-process cache ---------------------------------------------------------

_cache: dict[str, Dataset] = {}
_cache_lock = threading.Lock()


def get_dataset(session: Session) -> Dataset:
    """The dataset of the database's current data version, loaded at most once.

    One cheap query reads the version per call; a new version is loaded while
    holding a lock, so concurrent requests of one process share the work.
    """
    database = session.get_bind().url.render_as_string(hide_password=True)
    version = get_data_info(session).version
    dataset = _cache.get(database)
    if dataset is not None and dataset.version == version:
        return dataset
    with _cache_lock:
        dataset = _cache.get(database)
        if dataset is None or dataset.version != version:
            dataset = _cache[database] = load_dataset(session, version)
    return dataset


def clear_dataset_cache() -> None:
    """Forget every loaded dataset (tests, or after a fork)."""
    with _cache_lock:
        _cache.clear()


# --- loading -------------------------------------------------------------------


def get_vacancy_frame(session: Session) -> pd.DataFrame:
    """One row per vacancy with its salary columns, ordered by id."""
    query = (
        select(
            Vacancy.id,
            Vacancy.published_at,
            Vacancy.area_id,
            Vacancy.employer_id,
            Vacancy.employer_name,
            Vacancy.experience,
            Vacancy.employment_form,
            Vacancy.closed_at,
            Salary.salary_from,
            Salary.salary_to,
            Salary.gross,
            Salary.mode,
            Salary.from_rub,
            Salary.to_rub,
            Salary.excluded,
        )
        .outerjoin(Salary, Salary.vacancy_id == Vacancy.id)
        .order_by(Vacancy.id)
    )
    result = session.execute(query)
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    for column in ("salary_from", "salary_to", "from_rub", "to_rub"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["published_at"] = pd.to_datetime(frame["published_at"])
    return frame


def get_link_frame(session: Session, column) -> pd.DataFrame:
    result = session.execute(select(column.table.c.vacancy_id, column))
    return pd.DataFrame(result.fetchall(), columns=["vacancy_id", "value"])


def get_area_frame(session: Session) -> pd.DataFrame:
    result = session.execute(select(Area.id, Area.name, Area.parent_id))
    return pd.DataFrame(result.fetchall(), columns=["id", "name", "parent_id"])


def get_employer_frame(session: Session) -> pd.DataFrame:
    result = session.execute(
        select(
            Employer.id,
            Employer.name,
            Employer.accredited_it_employer,
            Employer.trusted,
        )
    )
    return pd.DataFrame(
        result.fetchall(), columns=["id", "name", "accredited", "trusted"]
    )


def get_role_ids(session: Session) -> set[int]:
    return set(session.execute(select(ProfessionalRole.id)).scalars())


def load_dataset(session: Session, version: str) -> Dataset:
    """Read every vacancy of the database into a `Dataset`."""
    started = time.perf_counter()
    frame = get_vacancy_frame(session)
    areas = get_area_frame(session)
    employers = get_employer_frame(session)
    work_formats = get_link_frame(session, VacancyWorkFormat.work_format)
    roles = get_link_frame(session, VacancyRole.role_id)
    dataset = build_dataset(
        version, frame, areas, employers, work_formats, roles, get_role_ids(session)
    )
    logger.info(
        "Loaded data version %s: %d vacancies in %.2f s",
        version,
        dataset.size,
        time.perf_counter() - started,
    )
    return dataset


def build_dataset(
    version: str,
    frame: pd.DataFrame,
    areas: pd.DataFrame,
    employers: pd.DataFrame,
    work_formats: pd.DataFrame,
    roles: pd.DataFrame,
    role_ids: set[int],
) -> Dataset:
    """Turn frames read from the database into the in-memory columns."""
    frame = _with_object_text(frame)
    employers = _with_object_text(employers)
    ids = frame["id"].to_numpy(dtype=np.int64)
    area_table = _build_area_table(areas, frame["area_id"])
    area_codes = np.searchsorted(
        area_table["id"].to_numpy(), frame["area_id"].to_numpy(dtype=np.int64)
    )
    employer_table = _build_employer_table(employers, frame)
    employer_codes = _employer_codes(frame["employer_id"], employer_table["id"])
    weeks = stats.compute_week_start_days(frame["published_at"])
    week_labels, week_codes = np.unique(weeks, return_inverse=True)

    return Dataset(
        version=version,
        ids=ids,
        published_at=frame["published_at"].to_numpy(dtype="datetime64[ns]"),
        week_codes=week_codes.astype(np.int32),
        week_labels=week_labels,
        closed=frame["closed_at"].notna().to_numpy(),
        discloses=(
            frame["salary_from"].notna() | frame["salary_to"].notna()
        ).to_numpy(),
        areas=Categories(area_codes.astype(np.int32), area_table["id"].to_numpy()),
        employers=Categories(
            employer_codes, employer_table["id"].to_numpy(dtype=object)
        ),
        experience=_categories(frame["experience"]),
        employment_form=_categories(frame["employment_form"]),
        work_formats=_build_links(work_formats, ids),
        roles=_build_links(roles, ids),
        in_russia=_areas_in_russia(area_table),
        stated_gross=frame["gross"].astype(object).ne(False).to_numpy(dtype=bool),
        salary_states={
            view: stats.compute_salary_states(frame, view).to_numpy() for view in VIEWS
        },
        published_salary={
            view: stats.compute_published_monthly(
                frame["from_rub"], frame["to_rub"], view
            ).to_numpy(dtype=float)
            for view in VIEWS
        },
        area_parents=area_table["parent_code"].to_numpy(dtype=np.int32),
        area_names=dict(
            zip(area_table["id"].tolist(), area_table["name"].tolist(), strict=True)
        ),
        area_known=set(areas["id"].tolist()),
        employer_names=dict(
            zip(
                employer_table["id"].tolist(),
                employer_table["name"].tolist(),
                strict=True,
            )
        ),
        employer_accredited=employer_table["accredited"].to_numpy(dtype=bool),
        employer_trusted=employer_table["trusted"].to_numpy(dtype=bool),
        role_known=role_ids | set(roles["value"].tolist()),
    )


def _with_object_text(frame: pd.DataFrame) -> pd.DataFrame:
    # pandas' own string dtype is many times slower for the element-wise work
    # done here than plain object arrays.
    text = [name for name in frame.columns if pd.api.types.is_string_dtype(frame[name])]
    return frame.astype({name: object for name in text})


def _categories(column: pd.Series) -> Categories:
    codes, labels = pd.factorize(column.fillna(stats.UNKNOWN), sort=True)
    return Categories(codes.astype(np.int32), np.asarray(labels, dtype=object))


def _build_area_table(areas: pd.DataFrame, vacancy_area_ids: pd.Series) -> pd.DataFrame:
    # Vacancies may point at an area the tree lacks; it still needs a code.
    missing = sorted(set(vacancy_area_ids.tolist()) - set(areas["id"].tolist()))
    extra = pd.DataFrame({"id": missing, "name": [str(i) for i in missing]})
    table = pd.concat([areas, extra], ignore_index=True)
    table["id"] = table["id"].astype(np.int64)
    table = table.sort_values("id", ignore_index=True)
    table["parent_id"] = table["parent_id"].astype(object)
    positions = pd.Series(table.index, index=table["id"])
    parents = table["parent_id"].map(lambda p: positions.get(p, -1) if p == p else -1)
    table["parent_code"] = parents.fillna(-1).astype(int)
    return table


def _areas_in_russia(area_table: pd.DataFrame) -> np.ndarray:
    codes = area_table["parent_code"].to_numpy()
    inside = (area_table["id"] == stats.RUSSIA_AREA_ID).to_numpy()
    for _ in range(32):
        spread = inside | ((codes >= 0) & inside[np.maximum(codes, 0)])
        if np.array_equal(spread, inside):
            break
        inside = spread
    return inside


def _build_employer_table(employers: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    # Named employers may be missing from the employers table; their vacancies
    # still carry the name.
    named = frame.loc[:, ["employer_id", "employer_name"]]
    seen = named.dropna(subset=["employer_id"]).drop_duplicates("employer_id")
    missing = seen[~seen["employer_id"].isin(employers["id"])]
    extra = pd.DataFrame(
        {
            "id": missing["employer_id"],
            "name": missing["employer_name"].fillna(missing["employer_id"]),
            "accredited": False,
            "trusted": False,
        }
    )
    table = pd.concat([employers, extra], ignore_index=True)
    table["accredited"] = table["accredited"].fillna(False).astype(bool)
    table["trusted"] = table["trusted"].fillna(False).astype(bool)
    return table.sort_values("id", ignore_index=True)


def _employer_codes(employer_ids: pd.Series, table_ids: pd.Series) -> np.ndarray:
    codes, seen = pd.factorize(employer_ids.to_numpy(dtype=object))
    positions = pd.Index(table_ids.to_numpy(dtype=object)).get_indexer(seen)
    positions = np.append(positions, -1).astype(np.int32)
    return positions[codes]


def _build_links(links: pd.DataFrame, ids: np.ndarray) -> Links:
    rows = pd.Index(ids).get_indexer(links["vacancy_id"].to_numpy(dtype=np.int64))
    frame = pd.DataFrame({"row": rows, "value": links["value"].to_numpy()})
    rows_by_value = {
        value: np.sort(group["row"].to_numpy())
        for value, group in frame.groupby("value", sort=True)
    }
    without_any = np.ones(ids.size, dtype=bool)
    without_any[rows] = False
    return Links(rows_by_value, without_any)

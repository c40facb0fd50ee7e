"""The served vacancies as compact in-memory columns, cached per data version.

Every filter change of the analytics page is answered from numpy arrays built
once per data version and process: vacancies sorted by id, small integer codes
for areas, employers and enums, membership arrays for work formats, link rows
for roles, and per salary view and basis the included vacancies pre-sorted by
salary, so a selection's percentiles are lookups. The columns are read with
PostgreSQL's COPY (SQLite: one plain cursor per table) and never become
per-vacancy Python objects. Keyword search uses `services.keywords`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import logging
import pickle
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from services import snapshot
from services import stats
from services.db import is_sqlite
from services.keywords import KeywordIndex
from services.schema import AppState
from services.schema import Area
from services.schema import ProfessionalRole
from services.schema import RefreshRun
from services.schema import Vacancy
from services.state import STATE_ROW_ID
from services.state import get_data_info
from services.timeutil import utc_now

logger = logging.getLogger(__name__)

VIEWS = ("mid", "from", "to")
BASES = ("net", "gross")

# Per vacancy and view, after plausibility: the classes the API counts.
OUTSIDE_VIEW = 0
NOT_MONTHLY = 1
UNKNOWN_CURRENCY = 2
IMPLAUSIBLE = 3
INCLUDED = 4

CATEGORY_MARK = "~"

KEYWORDS_SUFFIX = "-keywords"
ANSWER_CACHE_SIZE = 256
# A refresh builds the version it wrote right after its commit. For this long
# after a refresh finished, workers that find its version unbuilt answer from
# the previous one rather than race it to the build.
REFRESH_BUILD_WAIT_SECONDS = 10.0

# Fields rebuilt by each process rather than kept in the saved snapshot.
NOT_SAVED = {"snapshot": False}


class DatasetError(Exception):
    """The vacancies in the database cannot be turned into the in-memory columns."""


@dataclass
class Categories:
    """Codes of one categorical column: `labels[code]` is the id it stands for.

    Labels are sorted, so code order is id order (ties in top tables break by
    id); code -1 means the vacancy has no value (an anonymous employer).
    """

    codes: np.ndarray
    labels: np.ndarray

    def lookup(self, wanted) -> np.ndarray:
        """A boolean table over codes, true for the labels in `wanted`."""
        table = np.zeros(self.labels.size, dtype=bool)
        for label in wanted:
            code = self.code_of(label)
            if code is not None:
                table[code] = True
        return table

    def select(self, wanted) -> np.ndarray:
        """Per vacancy: is its label one of `wanted`? Code -1 (none) never is."""
        return with_none(self.lookup(wanted))[self.codes]

    def code_of(self, label) -> int | None:
        if self.labels.size == 0:
            return None
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

    def members(self, value, size: int) -> np.ndarray:
        """Per vacancy: does it list `value`?"""
        member = np.zeros(size, dtype=bool)
        member[self.rows_by_value.get(value, [])] = True
        return member


@dataclass
class SalaryIndex:
    """One view and basis under one plausibility range, sorted by salary.

    `rows` are the included vacancies ordered by salary (stable, so equal
    salaries keep id order), `values` their salaries on the basis, `outside`
    whether each lies outside Russia; `keys` holds their group codes (area,
    employer, experience, employment form, week) and `formats` their work
    formats in the same order, so a request compresses them with one mask
    instead of gathering; `classes` holds every vacancy's class
    (OUTSIDE_VIEW ... INCLUDED).
    """

    classes: np.ndarray
    rows: np.ndarray
    values: np.ndarray
    outside: np.ndarray
    keys: dict = field(default_factory=dict)
    formats: dict = field(default_factory=dict)


class AnswerCache:
    """The statistics of recently asked selections of one data version.

    Many users open the same selections (the unfiltered page first of all);
    a data version never changes, so its answers can be reused as they are.
    """

    def __init__(self, size: int = ANSWER_CACHE_SIZE) -> None:
        self.size = size
        self.answers: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key) -> dict | None:
        """A fresh copy of the remembered answer, which callers may change."""
        with self.lock:
            frozen = self.answers.get(key)
            if frozen is None:
                return None
            self.answers.move_to_end(key)
        return pickle.loads(frozen)

    def put(self, key, answer: dict) -> None:
        # Kept serialised: a copy per use is cheap and no caller can alter it.
        frozen = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        with self.lock:
            self.answers[key] = frozen
            while len(self.answers) > self.size:
                self.answers.popitem(last=False)


@dataclass
class Dataset:
    """All vacancies of one data version, one array entry per vacancy (by id)."""

    version: str
    ids: np.ndarray
    published: np.ndarray
    week_codes: np.ndarray
    week_labels: np.ndarray
    closed: np.ndarray
    discloses: np.ndarray
    areas: Categories
    employers: Categories
    experience: Categories
    employment_form: Categories
    work_formats: Links
    work_format_members: dict
    roles: Links
    in_russia: np.ndarray
    stated_gross: np.ndarray
    salary_states: dict
    published_salary: dict
    area_parents: np.ndarray
    area_names: dict
    employer_names: np.ndarray
    employer_accredited: np.ndarray
    employer_trusted: np.ndarray
    role_known: set
    keywords: KeywordIndex = field(metadata=NOT_SAVED)
    salary_indexes: dict = field(default_factory=dict)
    salary_classes: dict = field(default_factory=dict)
    name_indexes: dict = field(default_factory=dict, metadata=NOT_SAVED)
    bit_sets: dict = field(default_factory=dict, metadata=NOT_SAVED)
    answers: AnswerCache = field(
        default_factory=lambda: AnswerCache(), metadata=NOT_SAVED
    )
    lock: threading.Lock = field(default_factory=threading.Lock, metadata=NOT_SAVED)
    # The refresh time and kind of this version, learnt while it was current.
    info: object = field(default=None, metadata=NOT_SAVED)

    @property
    def size(self) -> int:
        return int(self.ids.size)

    def area_descendants(self, area_ids) -> np.ndarray:
        """A boolean table over area codes: the areas given and all below them."""
        return spread_down_tree(self.areas.lookup(area_ids), self.area_parents)

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

    def _salary_classes(self, view, salary_min, salary_max) -> np.ndarray:
        key = (view, salary_min, salary_max)
        classes = self.salary_classes.get(key)
        if classes is None:
            states = self.salary_states[view]
            published = self.published_salary[view]
            classes = states.astype(np.int8)
            monthly = states == stats.MONTHLY
            plausible = monthly & stats.is_plausible(published, salary_min, salary_max)
            classes[monthly & ~plausible] = IMPLAUSIBLE
            classes[plausible] = INCLUDED
            self.salary_classes[key] = classes
        return classes

    def _build_salary_index(self, view, basis, salary_min, salary_max) -> SalaryIndex:
        classes = self._salary_classes(view, salary_min, salary_max)
        rows = np.flatnonzero(classes == INCLUDED)
        in_russia = self.in_russia[self.areas.codes[rows]]
        values = stats.compute_basis_salary(
            pd.Series(self.published_salary[view][rows]),
            pd.Series(self.stated_gross[rows]),
            pd.Series(in_russia),
            basis,
        ).to_numpy()
        by_salary = np.argsort(values, kind="stable")
        rows = rows[by_salary].astype(np.int32)
        return SalaryIndex(
            classes=classes,
            rows=rows,
            values=values[by_salary],
            outside=~in_russia[by_salary],
            keys={
                "area": self.areas.codes[rows],
                "employer": self.employers.codes[rows],
                "experience": self.experience.codes[rows],
                "employment_form": self.employment_form.codes[rows],
                "week": self.week_codes[rows],
            },
            formats={
                value: member[rows]
                for value, member in self.work_format_members.items()
            }
            | {stats.UNKNOWN: self.work_formats.without_any[rows]},
        )

    def ensure_salary_indexes(self, salary_min: float, salary_max: float) -> None:
        """Build every view and basis at once, so no request pays for a sort."""
        for view in VIEWS:
            for basis in BASES:
                self.salary_index(view, basis, salary_min, salary_max)

    def code_bits(self, key, codes: np.ndarray, size: int) -> list[np.ndarray]:
        """Per code 0 .. size - 1, the packed bits of the vacancies holding it.

        Built on first use and kept by this process; `key` names the column.
        """
        with self.lock:
            bits = self.bit_sets.get(key)
            if bits is None:
                bits = [pack_bits(codes == code) for code in range(size)]
                self.bit_sets[key] = bits
            return bits

    def member_bits(self, key, member: np.ndarray) -> np.ndarray:
        """The packed bits of a boolean column, built on first use."""
        with self.lock:
            bits = self.bit_sets.get(key)
            if bits is None:
                bits = self.bit_sets[key] = pack_bits(member)
            return bits

    def keyword_rows(self, session: Session, words: tuple[str, ...]) -> np.ndarray:
        """Row positions of vacancies whose search text holds every word."""
        return self.keywords.find_rows(session, words)

    def keyword_mask(self, session: Session, words: tuple[str, ...]) -> np.ndarray:
        """Per vacancy: does its search text hold every word?"""
        return self.keywords.find_mask(session, words)


def pack_bits(flags: np.ndarray) -> np.ndarray:
    """Booleans as 64-bit words of bits (zero-padded), for `count_common_bits`."""
    packed = np.packbits(flags)
    padding = -packed.size % 8
    if padding:
        packed = np.concatenate((packed, np.zeros(padding, dtype=np.uint8)))
    return packed.view(np.uint64)


def count_common_bits(left: np.ndarray, right: np.ndarray) -> int:
    """How many positions two packed bit sets both hold."""
    return int(np.bitwise_count(left & right).sum(dtype=np.int64))


def spread_down_tree(inside: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """Mark every area below a marked one; `parents` holds parent codes (-1 none)."""
    # hh.ru's tree is a few levels deep: spread downwards until stable.
    has_parent = parents >= 0
    safe_parents = np.maximum(parents, 0)
    for _ in range(32):
        spread = inside | (has_parent & inside[safe_parents])
        if np.array_equal(spread, inside):
            break
        inside = spread
    return inside


# --- the per-process cache ---------------------------------------------------------

_cache: dict[str, Dataset] = {}
_cache_lock = threading.Lock()


def get_dataset(
    session: Session,
    settings=None,
    version: str | None = None,
    previous_allowed: bool = False,
) -> Dataset:
    """The dataset of the database's current data version, loaded at most once.

    One cheap query reads the version per call, unless the caller read it
    already in this transaction and passes it; a new version is loaded while
    holding a lock, so concurrent requests of one process share the work.
    With `settings`, the dataset comes from the version's snapshot in the
    instance folder (built and saved by the first process that needs it),
    with the salaries of every view and basis sorted for the settings'
    plausibility range.

    With `previous_allowed`, a process still holding the previous version
    keeps returning it while another process (the refresh that wrote the new
    version) builds the new one, instead of waiting: callers must then say
    which version they answer from.
    """
    database = _database_name(session)
    if version is None:
        version = get_data_info(session).version
    dataset = _cache.get(database)
    if dataset is not None and dataset.version == version:
        return dataset
    keep_previous = previous_allowed and dataset is not None and settings is not None
    if keep_previous and not _can_switch_now(session, settings, version):
        return dataset
    with _cache_lock:
        dataset = _cache.get(database)
        if dataset is None or dataset.version != version:
            # Drop the old version first: two copies would not fit a worker.
            _cache.pop(database, None)
            if settings is None:
                dataset = load_dataset(session, version)
            else:
                dataset = ensure_dataset_snapshot(session, settings, version)
            _cache[database] = dataset
            release_free_memory()
    return dataset


def _can_switch_now(session: Session, settings, version: str) -> bool:
    """Can this process move to `version` without waiting for another's build?

    Yes when the version's snapshot and keyword postings are saved, or when
    no process is building anything and no refresh is about to (this one
    then builds what is missing).
    """
    folder = _get_snapshot_folder(session, settings, version)
    keywords = folder.with_name(folder.name + KEYWORDS_SUFFIX)
    if snapshot.is_saved(folder) and snapshot.is_saved(keywords):
        return True
    if snapshot.is_building(settings.instance_dir):
        return False
    # Between the refresh's two builds (columns, then keyword postings) the
    # lock is free for a moment; its version is not ready until both are.
    return not _refresh_just_finished(session)


def _refresh_just_finished(session: Session) -> bool:
    """Did the refresh that wrote the current data finish moments ago?"""
    finished = session.execute(
        select(RefreshRun.finished_at)
        .join(AppState, AppState.last_run_id == RefreshRun.id)
        .where(AppState.id == STATE_ROW_ID)
    ).scalar_one_or_none()
    if finished is None:
        return False
    return utc_now() - finished < timedelta(seconds=REFRESH_BUILD_WAIT_SECONDS)


def _get_snapshot_folder(session: Session, settings, version: str):
    salary_range = (settings.salary_min_rub, settings.salary_max_rub)
    return snapshot.get_snapshot_dir(
        settings.instance_dir, _database_name(session), (version, *salary_range)
    )


def warm_dataset(engine, settings) -> Dataset:
    """Load the current data version and its keyword postings before the
    first request needs them."""
    started = time.perf_counter()
    with Session(engine) as session:
        dataset = get_dataset(session, settings)
        dataset.keywords.ensure_postings(session)
    logger.info(
        "Dataset %s ready: %d vacancies in %.2f s",
        dataset.version,
        dataset.size,
        time.perf_counter() - started,
    )
    return dataset


def ensure_dataset_snapshot(session: Session, settings, version: str) -> Dataset:
    """The version's dataset mapped from its snapshot, building it if absent.

    Processes waiting on another's build load its result instead of
    building again. When the snapshot cannot be written, the freshly built
    dataset is served from memory.
    """
    salary_range = (settings.salary_min_rub, settings.salary_max_rub)
    folder = _get_snapshot_folder(session, settings, version)
    dataset = load_dataset_snapshot(folder, settings.instance_dir)
    if dataset is not None:
        return dataset
    built = None
    try:
        with snapshot.building_lock(settings.instance_dir):
            dataset = load_dataset_snapshot(folder, settings.instance_dir)
            if dataset is not None:
                return dataset
            built = _build_dataset(session, version, salary_range)
            snapshot.save_snapshot(folder, built)
    except snapshot.SnapshotError:
        logger.exception("Serving data version %s from memory", version)
        return built or _build_dataset(session, version, salary_range)
    # Mapped pages are shared with the other workers; the built copy is not.
    return load_dataset_snapshot(folder, settings.instance_dir) or built


def _build_dataset(session: Session, version: str, salary_range) -> Dataset:
    built = load_dataset(session, version)
    built.ensure_salary_indexes(*salary_range)
    return built


def load_dataset_snapshot(folder, instance_dir) -> Dataset | None:
    """The dataset saved in `folder`, its arrays mapped read-only; None if absent."""
    started = time.perf_counter()
    dataset = snapshot.load_snapshot(folder, SNAPSHOT_CLASSES)
    if dataset is None:
        return None
    dataset.keywords = KeywordIndex(
        dataset.ids,
        version=dataset.version,
        store=folder.with_name(folder.name + KEYWORDS_SUFFIX),
        instance_dir=instance_dir,
    )
    logger.info(
        "Mapped data version %s from %s: %d vacancies in %.3f s",
        dataset.version,
        folder.name,
        dataset.size,
        time.perf_counter() - started,
    )
    return dataset


def _dataset_from_snapshot(**fields) -> Dataset:
    # The keyword index learns where its postings live once the folder is known.
    return Dataset(**fields, keywords=KeywordIndex(fields["ids"]))


SNAPSHOT_CLASSES = {
    "Dataset": _dataset_from_snapshot,
    "Categories": Categories,
    "Links": Links,
    "SalaryIndex": SalaryIndex,
}


def _database_name(session: Session) -> str:
    return session.get_bind().url.render_as_string(hide_password=True)


def release_free_memory() -> None:
    """Hand memory freed after a load back to the system (glibc only).

    The load's transient buffers are large; glibc keeps such freed blocks in
    the heap, so without a trim a worker stays as large as its peak.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        logger.debug("malloc_trim is not available; freed memory stays reserved")


def clear_dataset_cache() -> None:
    """Forget every loaded dataset (tests, or after a fork)."""
    with _cache_lock:
        _cache.clear()


def clear_answer_caches() -> None:
    """Forget the remembered answers of every loaded dataset, keeping its columns.

    Benchmarks call it so that every selection is computed, not recalled.
    """
    with _cache_lock:
        datasets = list(_cache.values())
    for dataset in datasets:
        with dataset.answers.lock:
            dataset.answers.answers.clear()


# --- reading columns -----------------------------------------------------------


def read_table(session: Session, sql: str, names: list[str], dtypes: dict):
    """The rows of `sql` as a frame, without a Python object per row.

    PostgreSQL folds each column into one value (`string_agg`): numbers as
    their binary form, read by numpy without parsing; columns with free text
    as one CSV text parsed by pandas' C parser. One value crosses the wire
    instead of a message per row. SQLite answers through one plain cursor.
    """
    connection = session.connection().connection.driver_connection
    if is_sqlite(session.get_bind()):
        rows = connection.execute(sql).fetchall()
        frame = pd.DataFrame(rows, columns=names)
        return frame.astype({n: t for n, t in dtypes.items() if t is not object})
    if object not in dtypes.values():
        return _read_binary_columns(connection, sql, names, dtypes)
    fields = " || ',' || ".join(_csv_field(name, dtypes[name]) for name in names)
    folded = f"SELECT string_agg({fields}, E'\\n') FROM ({sql}) AS picked"
    text = connection.execute(folded).fetchone()[0]
    if not text:
        return pd.DataFrame({n: pd.Series([], dtype=dtypes[n]) for n in names})
    frame = pd.read_csv(
        io.StringIO(text),
        names=names,
        dtype=dtypes,
        keep_default_na=False,
        na_values=[""],
    )
    for name in names:
        if dtypes[name] == "category":
            frame[name] = frame[name].cat.rename_categories(lambda c: c[1:])
    return frame


# PostgreSQL's binary send form of each numeric column type, big-endian.
BINARY_FIELDS = {
    np.int64: ("int8send(({name})::bigint)", ">i8"),
    np.int8: ("int2send(({name})::smallint)", ">i2"),
    np.float64: (
        "coalesce(float8send(({name})::float8), float8send('NaN'::float8))",
        ">f8",
    ),
}
# Ids and enum values never hold this control character (chr(31) in SQL).
TEXT_SEPARATOR = "\x1f"


def _read_binary_columns(connection, sql: str, names: list[str], dtypes: dict):
    """Numeric columns as binary arrays and category columns as joined text.

    Every aggregate of one query reads the rows in the same order, so the
    columns stay aligned; NULLs are coalesced because `string_agg` skips them.
    """
    folds = []
    for name in names:
        if dtypes[name] == "category":
            folds.append(f"string_agg(coalesce(({name})::text, ''), chr(31))")
        else:
            binary = BINARY_FIELDS[dtypes[name]][0].format(name=name)
            folds.append(f"string_agg({binary}, '')")
    folded = f"SELECT {', '.join(folds)} FROM ({sql}) AS picked"
    row = connection.execute(folded, binary=True).fetchone()
    if row[0] is None:
        return pd.DataFrame({n: pd.Series([], dtype=dtypes[n]) for n in names})
    columns = {}
    for name, value in zip(names, row, strict=True):
        if dtypes[name] == "category":
            columns[name] = _text_categories(value.split(TEXT_SEPARATOR))
        else:
            binary = np.frombuffer(value, dtype=BINARY_FIELDS[dtypes[name]][1])
            columns[name] = binary.astype(dtypes[name])
    return pd.DataFrame(columns)


def _text_categories(values: list[str]) -> pd.Categorical:
    """A categorical column of the texts; the empty text means no value."""
    codes, labels = pd.factorize(np.array(values, dtype=object))
    present = labels != ""
    if not present.all():
        renumber = np.cumsum(present) - 1
        renumber[~present] = -1
        codes = renumber[codes]
        labels = labels[present]
    return pd.Categorical.from_codes(codes, categories=labels)


def _csv_field(name: str, dtype) -> str:
    if dtype is object:
        return f"""coalesce('"' || replace({name}::text, '"', '""') || '"', '')"""
    if dtype == "category":
        # The mark keeps pandas from reading ids of digits as numbers.
        marked = f"""'"{CATEGORY_MARK}' || replace({name}::text, '"', '""') || '"'"""
        return f"coalesce({marked}, '')"
    return f"coalesce({name}::text, '')"


def _epoch_seconds(session: Session, column: str) -> str:
    if is_sqlite(session.get_bind()):
        return f"CAST(strftime('%s', {column}) AS INTEGER)"
    return f"floor(extract(epoch from {column}))::bigint"


def get_vacancy_columns(session: Session) -> pd.DataFrame:
    """One row per vacancy: id, publication second, area, employer, enums, closed."""
    sql = (
        f"SELECT id, {_epoch_seconds(session, 'published_at')} AS published,"
        " area_id, employer_id, experience, employment_form,"
        " CASE WHEN closed_at IS NULL THEN 0 ELSE 1 END AS closed FROM vacancies"
    )
    names = [
        "id",
        "published",
        "area_id",
        "employer_id",
        "experience",
        "employment_form",
        "closed",
    ]
    dtypes = {
        "id": np.int64,
        "published": np.int64,
        "area_id": np.int64,
        "employer_id": "category",
        "experience": "category",
        "employment_form": "category",
        "closed": np.int8,
    }
    return read_table(session, sql, names, dtypes)


def get_salary_columns(session: Session) -> pd.DataFrame:
    """One row per salary: bounds, rouble bounds, gross flag (1, 0, null), mode."""
    sql = (
        "SELECT vacancy_id, salary_from, salary_to, from_rub, to_rub,"
        " CASE WHEN gross THEN 1 WHEN NOT gross THEN 0 END AS gross, mode, excluded"
        " FROM salaries"
    )
    names = [
        "vacancy_id",
        "salary_from",
        "salary_to",
        "from_rub",
        "to_rub",
        "gross",
        "mode",
        "excluded",
    ]
    dtypes = {
        "vacancy_id": np.int64,
        "salary_from": np.float64,
        "salary_to": np.float64,
        "from_rub": np.float64,
        "to_rub": np.float64,
        "gross": np.float64,
        "mode": "category",
        "excluded": "category",
    }
    return read_table(session, sql, names, dtypes)


def get_link_columns(session: Session, table: str, column: str, dtype) -> pd.DataFrame:
    sql = f"SELECT vacancy_id, {column} AS value FROM {table}"
    return read_table(
        session, sql, ["vacancy_id", "value"], {"vacancy_id": np.int64, "value": dtype}
    )


def get_employer_columns(session: Session) -> pd.DataFrame:
    sql = (
        "SELECT id, name,"
        " CASE WHEN accredited_it_employer THEN 1 ELSE 0 END AS accredited,"
        " CASE WHEN trusted THEN 1 ELSE 0 END AS trusted FROM employers"
    )
    names = ["id", "name", "accredited", "trusted"]
    dtypes = {"id": object, "name": object, "accredited": np.int8, "trusted": np.int8}
    return read_table(session, sql, names, dtypes)


def get_area_frame(session: Session) -> pd.DataFrame:
    result = session.execute(select(Area.id, Area.name, Area.parent_id))
    return pd.DataFrame(result.fetchall(), columns=["id", "name", "parent_id"])


def get_role_ids(session: Session) -> set[int]:
    return set(session.execute(select(ProfessionalRole.id)).scalars())


def get_first_employer_names(session: Session, employer_ids: list[str]) -> dict:
    """For employers missing from the employers table: the name their vacancies
    carry (the one of the lowest vacancy id)."""
    names: dict = {}
    for start in range(0, len(employer_ids), 500):
        chunk = employer_ids[start : start + 500]
        rows = session.execute(
            select(Vacancy.employer_id, Vacancy.employer_name)
            .where(Vacancy.employer_id.in_(chunk))
            .order_by(Vacancy.id)
        )
        for employer_id, name in rows:
            names.setdefault(employer_id, name)
    return names


# --- building -------------------------------------------------------------------


def load_dataset(session: Session, version: str) -> Dataset:
    """Read every vacancy of the database into a `Dataset`."""
    started = time.perf_counter()
    vacancies = get_vacancy_columns(session)
    order = np.argsort(vacancies["id"].to_numpy(), kind="stable")
    vacancies = vacancies.take(order).reset_index(drop=True)
    ids = vacancies["id"].to_numpy(dtype=np.int64)
    if ids.size and np.any(np.diff(ids) == 0):
        raise DatasetError("vacancy ids repeat: the vacancies table lost its key")

    areas = _build_area_table(get_area_frame(session), vacancies["area_id"])
    employers = _build_employer_table(session, vacancies["employer_id"])
    salary_frame = _spread_salaries(get_salary_columns(session), ids)
    work_formats = _build_links(
        get_link_columns(session, "vacancy_work_formats", "work_format", object), ids
    )
    roles = _build_links(
        get_link_columns(session, "vacancy_roles", "role_id", np.int64), ids
    )
    week_labels, week_codes = _compute_weeks(vacancies["published"].to_numpy())

    dataset = Dataset(
        version=version,
        ids=ids,
        published=vacancies["published"].to_numpy(dtype=np.int64),
        week_codes=week_codes,
        week_labels=week_labels,
        closed=vacancies["closed"].to_numpy().astype(bool),
        discloses=(
            salary_frame["salary_from"].notna() | salary_frame["salary_to"].notna()
        ).to_numpy(),
        areas=areas.categories,
        employers=employers.categories,
        experience=_categories(vacancies["experience"]),
        employment_form=_categories(vacancies["employment_form"]),
        work_formats=work_formats,
        work_format_members={
            value: work_formats.members(value, ids.size)
            for value in work_formats.rows_by_value
        },
        roles=roles,
        in_russia=spread_down_tree(
            areas.categories.labels == stats.RUSSIA_AREA_ID, areas.parents
        ),
        stated_gross=(salary_frame["gross"] != 0).to_numpy(),
        salary_states={
            view: stats.compute_salary_states(salary_frame, view).to_numpy()
            for view in VIEWS
        },
        published_salary={
            view: stats.compute_published_monthly(
                salary_frame["from_rub"], salary_frame["to_rub"], view
            ).to_numpy(dtype=float)
            for view in VIEWS
        },
        area_parents=areas.parents,
        area_names=areas.names,
        employer_names=employers.names,
        employer_accredited=employers.accredited,
        employer_trusted=employers.trusted,
        role_known=get_role_ids(session) | set(roles.rows_by_value),
        keywords=KeywordIndex(ids),
    )
    logger.info(
        "Loaded data version %s: %d vacancies, %d employers in %.2f s",
        version,
        dataset.size,
        dataset.employers.labels.size,
        time.perf_counter() - started,
    )
    return dataset


def _spread_salaries(salaries: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """Salary columns with one row per vacancy (empty where none is stated)."""
    positions, found = locate_rows(ids, salaries["vacancy_id"].to_numpy())
    salaries, positions = salaries[found], positions[found]
    columns = {}
    for column in ("salary_from", "salary_to", "from_rub", "to_rub", "gross"):
        values = np.full(ids.size, np.nan)
        values[positions] = salaries[column].to_numpy(dtype=float)
        columns[column] = values
    for column in ("mode", "excluded"):
        values = np.full(ids.size, None, dtype=object)
        stated = salaries[column].to_numpy(dtype=object)
        values[positions] = np.where(pd.isna(stated), None, stated)
        columns[column] = values
    return pd.DataFrame(columns)


def _compute_weeks(published: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Moscow Monday of each vacancy as a code into sorted week labels."""
    hours, inverse = np.unique(published // 3600, return_inverse=True)
    starts = pd.Series(pd.to_datetime(hours * 3600, unit="s"))
    week_of_hour = stats.compute_week_start_days(starts)
    week_labels, hour_codes = np.unique(week_of_hour, return_inverse=True)
    return week_labels, hour_codes.astype(np.int16)[inverse]


def _small_codes(codes: np.ndarray, count: int) -> np.ndarray:
    # Small code types let numpy's stable sort run as a radix sort.
    if count < np.iinfo(np.int8).max:
        return codes.astype(np.int8)
    if count < np.iinfo(np.int16).max:
        return codes.astype(np.int16)
    return codes.astype(np.int32)


def _categories(column: pd.Series) -> Categories:
    """Sorted labels and small codes of an enum column; missing reads `unknown`."""
    column = column.astype("category")
    labels = np.asarray(column.cat.categories, dtype=object)
    codes = column.cat.codes.to_numpy().astype(np.int64)
    missing = codes < 0
    if missing.any():
        if stats.UNKNOWN not in labels:
            labels = np.append(labels, stats.UNKNOWN)
        codes[missing] = int(np.flatnonzero(labels == stats.UNKNOWN)[0])
    order = np.argsort(labels, kind="stable")
    rank = np.empty(labels.size, dtype=np.int64)
    rank[order] = np.arange(labels.size)
    return Categories(_small_codes(rank[codes], labels.size), labels[order])


@dataclass
class AreaTable:
    categories: Categories
    parents: np.ndarray
    names: dict


def _build_area_table(areas: pd.DataFrame, vacancy_area_ids: pd.Series) -> AreaTable:
    # Vacancies may point at an area the tree lacks; it still needs a code.
    known = areas["id"].to_numpy(dtype=np.int64)
    seen = np.unique(vacancy_area_ids.to_numpy(dtype=np.int64))
    labels = np.union1d(known, seen)
    names = {int(i): str(i) for i in np.setdiff1d(seen, known)}
    names.update(zip(areas["id"].tolist(), areas["name"].tolist(), strict=True))

    parents = np.full(labels.size, -1, dtype=np.int32)
    has_parent = areas["parent_id"].notna().to_numpy()
    parent_ids = areas["parent_id"].to_numpy(dtype=object)[has_parent].astype(np.int64)
    parent_codes = np.searchsorted(labels, parent_ids)
    parent_codes = np.minimum(parent_codes, labels.size - 1)
    listed = labels[parent_codes] == parent_ids
    child_codes = np.searchsorted(labels, known[has_parent])
    parents[child_codes[listed]] = parent_codes[listed]

    codes = np.searchsorted(labels, vacancy_area_ids.to_numpy(dtype=np.int64))
    return AreaTable(Categories(codes.astype(np.int32), labels), parents, names)


@dataclass
class EmployerTable:
    categories: Categories
    names: np.ndarray
    accredited: np.ndarray
    trusted: np.ndarray


def _build_employer_table(session: Session, vacancy_employers: pd.Series):
    """Every employer (the table's and those only vacancies name), sorted by id."""
    named = vacancy_employers.astype("category")
    codes = named.cat.codes.to_numpy().astype(np.int64)
    seen = np.asarray(named.cat.categories, dtype=object)
    employers = get_employer_columns(session)
    listed = pd.Index(employers["id"].to_numpy(dtype=object))
    missing = [i for i, p in zip(seen, listed.get_indexer(seen), strict=True) if p < 0]
    if missing:
        # Named employers may be missing from the employers table; their
        # vacancies still carry the name.
        first_names = get_first_employer_names(session, missing)
        extra = pd.DataFrame(
            {
                "id": missing,
                "name": [first_names.get(i) or i for i in missing],
                "accredited": 0,
                "trusted": 0,
            }
        )
        employers = pd.concat([employers, extra], ignore_index=True)

    labels = employers["id"].to_numpy(dtype=object)
    order = np.argsort(labels, kind="stable")
    labels = labels[order]
    positions = pd.Index(labels).get_indexer(seen)
    positions = np.append(positions, -1).astype(np.int32)
    names = employers["name"].to_numpy(dtype=object)[order]
    names = np.where(pd.isna(names), labels, names)
    return EmployerTable(
        categories=Categories(positions[codes], labels),
        names=names,
        accredited=employers["accredited"].to_numpy()[order].astype(bool),
        trusted=employers["trusted"].to_numpy()[order].astype(bool),
    )


def _build_links(links: pd.DataFrame, ids: np.ndarray) -> Links:
    link_ids = links["vacancy_id"].to_numpy(dtype=np.int64)
    by_vacancy = np.argsort(link_ids, kind="stable")
    rows, found = locate_rows(ids, link_ids[by_vacancy])
    rows = rows[found]
    values = links["value"].to_numpy()[by_vacancy][found]
    codes, labels = pd.factorize(values, sort=True)
    # A stable sort on small codes keeps each value's rows ascending.
    by_value = np.argsort(_small_codes(codes, len(labels)), kind="stable")
    rows, codes = rows[by_value], codes[by_value]
    bounds = np.searchsorted(codes, np.arange(len(labels) + 1))
    rows_by_value = {
        label.item() if isinstance(label, np.generic) else label: rows[a:b]
        for label, a, b in zip(labels, bounds[:-1], bounds[1:], strict=True)
    }
    without_any = np.ones(ids.size, dtype=bool)
    without_any[rows] = False
    return Links(rows_by_value, without_any)


def locate_rows(ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of `wanted` ids in the sorted `ids`, and which of them exist.

    The ids looked up are sorted first: a binary search over sorted keys
    stays in cache and is an order of magnitude faster.
    """
    order = np.argsort(wanted, kind="stable")
    rows = np.empty(wanted.size, dtype=np.int64)
    rows[order] = np.searchsorted(ids, wanted[order])
    if ids.size == 0:
        return rows, np.zeros(wanted.size, dtype=bool)
    rows = np.minimum(rows, ids.size - 1)
    return rows, ids[rows] == wanted

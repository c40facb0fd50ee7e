"""Server time of one filter change, warm and cold, and a naive baseline.

Three measurements on one benchmark database:

- the warm mix: `services.analytics.get_stats` (the model) and the analytics
  page's whole answer (`dashboard.analytics.compute_page`, figures and tables
  serialised to JSON, as the Dash callback sends them) for each selection,
  every one computed (the version's remembered answers are forgotten first);
- the cold first request after a write: a fresh process's first page once
  the refresh's warm step built the snapshot, and the raw builds without it;
- the naive baseline most hh.ru dashboards use: `pandas.read_sql` of the
  selection's rows on every change, then the same statistics in pandas.
"""

from __future__ import annotations

import cProfile
import io
import json
import logging
import pstats
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import plotly.utils
from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session

from app import create_app
from bench.filter_mix import MixEntry
from dashboard.analytics import compute_page
from etl.refresh import warm_new_data_version
from services import stats
from services.analytics import get_stats
from services.dataset import clear_answer_caches
from services.dataset import clear_dataset_cache
from services.dataset import get_dataset
from services.filters import Filters
from services.filters import split_query_words
from services.schema import Area
from services.schema import Employer
from services.schema import Salary
from services.schema import Vacancy
from services.schema import VacancyRole
from services.schema import VacancyWorkFormat
from services.settings import PROJECT_ROOT
from services.settings import Settings
from services.timeutil import moscow_day_end_utc
from services.timeutil import moscow_day_start_utc

logger = logging.getLogger(__name__)

PROFILE_LINES = 25


@dataclass
class Timings:
    """Milliseconds per selection, in mix order: wall clock and this thread's CPU.

    The CPU time is what the selection costs on an idle machine; the wall
    time also holds the waits for the database and for other processes.
    """

    milliseconds: list[float]
    cpu_milliseconds: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.milliseconds, q))

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p95(self) -> float:
        return self.percentile(95)

    @property
    def worst(self) -> float:
        return max(self.milliseconds)

    @property
    def cpu_p50(self) -> float:
        return float(np.percentile(self.cpu_milliseconds, 50))

    @property
    def cpu_p95(self) -> float:
        return float(np.percentile(self.cpu_milliseconds, 95))


class Stopwatch:
    """Collects wall and CPU milliseconds of repeated steps into `Timings`."""

    def __init__(self) -> None:
        self.timings = Timings([], [])

    def __enter__(self) -> Stopwatch:
        self._wall = time.perf_counter()
        self._cpu = time.thread_time()
        return self

    def __exit__(self, *_exc) -> None:
        self.timings.milliseconds.append((time.perf_counter() - self._wall) * 1000)
        self.timings.cpu_milliseconds.append((time.thread_time() - self._cpu) * 1000)


def bench_settings(url: str, instance_dir: Path) -> Settings:
    return Settings(
        database_url=url,
        instance_dir=instance_dir,
        secret_key="bench",
        hh_api_url="http://127.0.0.1:9",
        public_dashboard=True,
    )


def measure_model_mix(
    session: Session, settings: Settings, mix: list[MixEntry]
) -> Timings:
    """`get_stats` per selection, each computed; the dataset is loaded first."""
    get_stats(session, Filters(), settings)
    watch = Stopwatch()
    for entry in mix:
        clear_answer_caches()
        with watch:
            get_stats(session, entry.filters, settings)
    return watch.timings


def measure_page_mix(
    settings: Settings, mix: list[MixEntry], remember_answers: bool = False
) -> Timings:
    """The page's whole answer per selection, serialised as Dash sends it.

    By default every selection is computed: the remembered answers of the
    data version are forgotten before each one (off the clock). With
    `remember_answers` the mix runs twice and the second pass is timed, so
    it shows what a popular selection costs once some user asked for it.
    """
    app = create_app(settings)
    _render_page(app, Filters())
    if remember_answers:
        for entry in mix:
            _render_page(app, entry.filters)
    watch = Stopwatch()
    for entry in mix:
        if not remember_answers:
            clear_answer_caches()
        with watch:
            _render_page(app, entry.filters)
    return watch.timings


def _render_page(app, filters: Filters) -> int:
    search = "?" + urlencode(filters.to_query())
    with app.test_request_context("/" + search):
        page = compute_page(search, "ru", "light")
        body = json.dumps(page.as_tuple(), cls=plotly.utils.PlotlyJSONEncoder)
        app.do_teardown_appcontext()
    return len(body)


def profile_page_mix(settings: Settings, mix: list[MixEntry]) -> str:
    """cProfile of the page over the mix: the top functions by own time."""
    app = create_app(settings)
    _render_page(app, Filters())
    profiler = cProfile.Profile()
    for entry in mix:
        clear_answer_caches()
        profiler.enable()
        _render_page(app, entry.filters)
        profiler.disable()
    out = io.StringIO()
    report = pstats.Stats(profiler, stream=out)
    report.sort_stats("tottime").print_stats(PROFILE_LINES)
    report.sort_stats("cumulative").print_stats(PROFILE_LINES)
    return out.getvalue()


@dataclass
class ColdTimes:
    """Seconds from a write to answers, as users meet it and as raw builds.

    `first_request`: a fresh process's first page after the refresh's own
    warm step (`etl.refresh.warm_new_data_version`, `warm_seconds`) built the
    version's snapshot and keyword postings. `dataset_build` and
    `keywords_build`: the same version built from the database with no
    snapshot, as a process pays it when nobody built it before (the columns,
    then the keyword postings of the first keyword query).
    """

    first_request: float
    warm_seconds: float
    dataset_build: float
    keywords_build: float


def measure_cold_request(session: Session, settings: Settings) -> ColdTimes:
    """The raw builds of a new data version, then the cold request users meet."""
    _save_new_version(session)
    clear_dataset_cache()
    started = time.perf_counter()
    dataset = get_dataset(session, settings)
    dataset_build = time.perf_counter() - started
    started = time.perf_counter()
    dataset.keywords.ensure_postings(session)
    keywords_build = time.perf_counter() - started
    del dataset
    clear_dataset_cache()

    _save_new_version(session)
    started = time.perf_counter()
    warm_new_data_version(settings)
    warm_seconds = time.perf_counter() - started
    clear_dataset_cache()
    return ColdTimes(
        first_request=time_first_request_in_new_process(settings),
        warm_seconds=warm_seconds,
        dataset_build=dataset_build,
        keywords_build=keywords_build,
    )


def _save_new_version(session: Session) -> None:
    session.execute(
        text("UPDATE app_state SET data_version = :version"),
        {"version": f"bench-cold-{uuid.uuid4().hex[:8]}"},
    )
    session.commit()


def time_first_request_in_new_process(settings: Settings) -> float:
    """Seconds of the first page in a new Python process (imports excluded)."""
    answer = subprocess.run(
        [sys.executable, "-m", "bench.stats_speed", "--first-request",
         settings.database_url, str(settings.instance_dir)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(answer.stdout.strip().splitlines()[-1])


def time_first_request(url: str, instance_dir: Path) -> float:
    """Seconds to this process's first page: the app exists, nothing is loaded."""
    app = create_app(bench_settings(url, instance_dir))
    started = time.perf_counter()
    _render_page(app, Filters())
    return time.perf_counter() - started


def get_process_rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process in MB, from /proc."""
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# --- the naive baseline -------------------------------------------------------------


@dataclass
class NaiveReference:
    """What a naive dashboard keeps between requests: the area tree only."""

    children: dict[int, list[int]]
    russia: set[int]
    area_names: dict[int, str]


def get_naive_reference(session: Session) -> NaiveReference:
    rows = session.execute(select(Area.id, Area.name, Area.parent_id)).all()
    children: dict[int, list[int]] = {}
    for area_id, _name, parent_id in rows:
        if parent_id is not None:
            children.setdefault(parent_id, []).append(area_id)
    return NaiveReference(
        children=children,
        russia=_subtree(children, [stats.RUSSIA_AREA_ID]),
        area_names={area_id: name for area_id, name, _ in rows},
    )


def _subtree(children: dict[int, list[int]], roots) -> set[int]:
    found, stack = set(), list(roots)
    while stack:
        area_id = stack.pop()
        if area_id not in found:
            found.add(area_id)
            stack.extend(children.get(area_id, ()))
    return found


def _naive_conditions(filters: Filters, reference: NaiveReference) -> list:
    conditions = []
    if filters.status == "open":
        conditions.append(Vacancy.closed_at.is_(None))
    elif filters.status == "closed":
        conditions.append(Vacancy.closed_at.is_not(None))
    if filters.area:
        conditions.append(
            Vacancy.area_id.in_(_subtree(reference.children, filters.area))
        )
    if filters.exclude_area:
        excluded = _subtree(reference.children, filters.exclude_area)
        conditions.append(Vacancy.area_id.not_in(excluded))
    if filters.employer:
        conditions.append(Vacancy.employer_id.in_(filters.employer))
    if filters.experience:
        known = [e for e in filters.experience if e != stats.UNKNOWN]
        either = [Vacancy.experience.in_(known)]
        if stats.UNKNOWN in filters.experience:
            either.append(Vacancy.experience.is_(None))
        conditions.append(or_(*either))
    if filters.role:
        conditions.append(
            exists().where(
                VacancyRole.vacancy_id == Vacancy.id,
                VacancyRole.role_id.in_(filters.role),
            )
        )
    if filters.employment_form:
        conditions.append(Vacancy.employment_form.in_(filters.employment_form))
    if filters.work_format:
        conditions.append(
            exists().where(
                VacancyWorkFormat.vacancy_id == Vacancy.id,
                VacancyWorkFormat.work_format.in_(filters.work_format),
            )
        )
    for word in split_query_words(filters.q):
        conditions.append(Vacancy.search_text.contains(word, autoescape=True))
    if filters.published_from:
        start = moscow_day_start_utc(filters.published_from)
        conditions.append(Vacancy.published_at >= start)
    if filters.published_to:
        conditions.append(
            Vacancy.published_at < moscow_day_end_utc(filters.published_to)
        )
    if filters.only_with_salary:
        conditions.append(
            or_(Salary.salary_from.is_not(None), Salary.salary_to.is_not(None))
        )
    if filters.accredited_it:
        conditions.append(Employer.accredited_it_employer.is_(True))
    if filters.trusted:
        conditions.append(Employer.trusted.is_(True))
    return conditions


def compute_naive_stats(
    session: Session, filters: Filters, settings: Settings, reference: NaiveReference
) -> dict:
    """Read the selection with pandas.read_sql, then the same statistics."""
    where = and_(True, *_naive_conditions(filters, reference))
    query = (
        select(
            Vacancy.id,
            Vacancy.published_at,
            Vacancy.area_id,
            Vacancy.employer_id,
            Vacancy.employer_name,
            Vacancy.experience,
            Vacancy.employment_form,
            Salary.salary_from,
            Salary.salary_to,
            Salary.gross,
            Salary.mode,
            Salary.from_rub,
            Salary.to_rub,
            Salary.excluded,
        )
        .outerjoin(Salary, Salary.vacancy_id == Vacancy.id)
        .outerjoin(Employer, Employer.id == Vacancy.employer_id)
        .where(where)
    )
    connection = session.connection()
    frame = pd.read_sql(query, connection)
    frame["published_at"] = pd.to_datetime(frame["published_at"])
    frame["in_russia"] = frame["area_id"].isin(reference.russia)
    selected_ids = select(Vacancy.id).outerjoin(Salary, Salary.vacancy_id == Vacancy.id)
    selected_ids = selected_ids.outerjoin(
        Employer, Employer.id == Vacancy.employer_id
    ).where(where)
    work_formats = pd.read_sql(
        select(VacancyWorkFormat.vacancy_id, VacancyWorkFormat.work_format).where(
            VacancyWorkFormat.vacancy_id.in_(selected_ids)
        ),
        connection,
    )
    employer_names = dict(
        zip(frame["employer_id"], frame["employer_name"], strict=True)
    )
    return stats.compute_selection_stats(
        frame,
        work_formats,
        filters.basis,
        filters.view,
        settings.salary_min_rub,
        settings.salary_max_rub,
        reference.area_names,
        employer_names,
    )


def measure_naive_mix(
    session: Session, settings: Settings, mix: list[MixEntry]
) -> Timings:
    reference = get_naive_reference(session)
    watch = Stopwatch()
    for entry in mix:
        with watch:
            compute_naive_stats(session, entry.filters, settings, reference)
    return watch.timings


if __name__ == "__main__":
    # python -m bench.stats_speed --first-request <database url> <instance dir>
    if sys.argv[1:2] != ["--first-request"] or len(sys.argv) != 4:
        sys.exit("usage: python -m bench.stats_speed --first-request URL DIR")
    logging.basicConfig(level=logging.WARNING)
    print(f"{time_first_request(sys.argv[2], Path(sys.argv[3])):.4f}")

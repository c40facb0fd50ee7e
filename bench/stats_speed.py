"""Server time of one filter change, warm and cold, and a naive baseline.

Three measurements on one benchmark database:

- the warm mix: `services.analytics.get_stats` (the model) and the analytics
  page's whole answer (`dashboard.analytics.compute_page`, figures and tables
  serialised to JSON, as the Dash callback sends them) for each selection;
- the cold first request: a new data version and an empty per-process cache;
- the naive baseline most hh.ru dashboards use: `pandas.read_sql` of the
  selection's rows on every change, then the same statistics in pandas.
"""

from __future__ import annotations

import cProfile
import io
import json
import logging
import pstats
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
from services import stats
from services.analytics import get_stats
from services.dataset import clear_dataset_cache
from services.filters import Filters
from services.filters import split_query_words
from services.schema import Area
from services.schema import Employer
from services.schema import Salary
from services.schema import Vacancy
from services.schema import VacancyRole
from services.schema import VacancyWorkFormat
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
    """`get_stats` per selection; the dataset is loaded before the clock runs."""
    get_stats(session, Filters(), settings)
    watch = Stopwatch()
    for entry in mix:
        with watch:
            get_stats(session, entry.filters, settings)
    return watch.timings


def measure_page_mix(settings: Settings, mix: list[MixEntry]) -> Timings:
    """The page's whole answer per selection, serialised as Dash sends it."""
    app = create_app(settings)
    _render_page(app, Filters())
    watch = Stopwatch()
    for entry in mix:
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
    profiler.enable()
    for entry in mix:
        _render_page(app, entry.filters)
    profiler.disable()
    out = io.StringIO()
    report = pstats.Stats(profiler, stream=out)
    report.sort_stats("tottime").print_stats(PROFILE_LINES)
    report.sort_stats("cumulative").print_stats(PROFILE_LINES)
    return out.getvalue()


def measure_cold_request(session: Session, settings: Settings) -> float:
    """Seconds to the first answer after a write: new version, empty cache."""
    session.execute(
        text("UPDATE app_state SET data_version = :version"),
        {"version": f"bench-cold-{uuid.uuid4().hex[:8]}"},
    )
    session.commit()
    clear_dataset_cache()
    started = time.perf_counter()
    get_stats(session, Filters(), settings)
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

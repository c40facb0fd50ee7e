"""Profile the statistics model at scale on a quickly generated database.

Builds (once) a database of N vacancies drawn with numpy: the real hh.ru area
tree, a long tail of employers with a few big ones, about 37% of vacancies
with a salary and search texts of about 300 characters. Then measures the
cold first request (new data version, empty cache), the warm mix of
`bench.filter_mix` selections and the peak resident memory.

    .venv/bin/python -m bench.profile_stats --backend postgres --vacancies 1000000
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import resource
import sqlite3
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.filter_mix import get_mix_choices
from bench.filter_mix import make_filter_mix
from services.analytics import get_stats
from services.dataset import clear_dataset_cache
from services.db import make_engine
from services.filters import Filters
from services.migrate import upgrade_database
from services.settings import Settings

logger = logging.getLogger(__name__)

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
POSTGRES_DATABASE = "hhperf_g"
SQLITE_PATH = Path("/tmp/hhperf_g.sqlite3")
AREAS_JSON = Path("/work/shared/hh/reference/areas.json")
SEED = 11
EMPLOYERS = 200_000
WORDS_PER_TEXT = 38
COMMON_WORDS = [
    "программист",
    "менеджер",
    "продажам",
    "водитель",
    "аналитик",
    "бухгалтер",
    "курьер",
    "ведущий",
    "без",
    "опыта",
    "тестировщик",
    "python",
    "java",
    "данных",
    "склад",
    "продавец",
    "кассир",
    "оператор",
    "инженер",
    "разработчик",
    "специалист",
    "работа",
    "график",
    "обучение",
    "команда",
    "клиентов",
    "ёлка",
    "офис",
    "смена",
    "зарплата",
    "условия",
    "требования",
    "обязанности",
    "знание",
    "опыт",
]
SYLLABLES = [
    "ка",
    "ро",
    "ни",
    "те",
    "ль",
    "ва",
    "ст",
    "ра",
    "ме",
    "но",
    "ди",
    "пе",
    "ко",
    "ла",
    "ри",
    "то",
    "ве",
    "зо",
    "му",
    "ша",
]


def read_area_rows() -> list[tuple[int, str, int | None]]:
    rows: list[tuple[int, str, int | None]] = []

    def walk(nodes) -> None:
        for node in nodes:
            parent = node["parent_id"]
            rows.append(
                (int(node["id"]), node["name"], int(parent) if parent else None)
            )
            walk(node["areas"])

    walk(json.loads(AREAS_JSON.read_text(encoding="utf-8")))
    return rows


def make_vocabulary(rng: np.random.Generator) -> np.ndarray:
    made = {
        "".join(rng.choice(SYLLABLES, size=rng.integers(2, 6))) for _ in range(60_000)
    }
    return np.array(COMMON_WORDS + sorted(made), dtype=object)


def make_frames(count: int) -> dict[str, pd.DataFrame]:
    """Vacancies, salaries, links and employers as frames ready for COPY."""
    rng = np.random.default_rng(SEED)
    areas = pd.DataFrame(read_area_rows(), columns=["id", "name", "parent_id"])
    areas["parent_id"] = areas["parent_id"].astype("Int64")
    area_weights = rng.zipf(1.6, size=len(areas)).astype(float)
    area_weights[areas["id"].isin([1, 2])] *= 2000
    area_ids = rng.choice(areas["id"], size=count, p=area_weights / area_weights.sum())

    employer_ids = np.array([str(1000 + i * 7) for i in range(EMPLOYERS)], dtype=object)
    employer_weights = 1 / np.arange(1, EMPLOYERS + 1) ** 0.9
    picks = rng.choice(
        EMPLOYERS, size=count, p=employer_weights / employer_weights.sum()
    )
    anonymous = rng.random(count) < 0.05
    employer_of = np.where(anonymous, None, employer_ids[picks])
    employers = pd.DataFrame(
        {
            "id": employer_ids,
            "name": [f"Компания {i}" for i in range(EMPLOYERS)],
            "accredited_it_employer": rng.random(EMPLOYERS) < 0.1,
            "trusted": rng.random(EMPLOYERS) < 0.6,
        }
    )

    vocabulary = make_vocabulary(rng)
    word_weights = 1 / np.arange(1, len(vocabulary) + 1) ** 1.05
    words = rng.choice(
        len(vocabulary),
        size=(count, WORDS_PER_TEXT),
        p=word_weights / word_weights.sum(),
    )
    texts = [" ".join(row) for row in vocabulary[words]]
    published = pd.Timestamp("2026-10-01") + pd.to_timedelta(
        rng.integers(0, 60 * 86400, size=count), unit="s"
    )
    ids = np.arange(100_000_000, 100_000_000 + count)
    closed = rng.random(count) < 0.08
    vacancies = pd.DataFrame(
        {
            "id": ids,
            "name": [t[:40] for t in texts],
            "published_at": published,
            "area_id": area_ids,
            "employer_id": employer_of,
            "employer_name": np.where(anonymous, "Аноним", "Компания"),
            "experience": rng.choice(
                ["noExperience", "between1And3", "between3And6", "moreThan6", None],
                size=count,
                p=[0.3, 0.4, 0.2, 0.05, 0.05],
            ),
            "employment_form": rng.choice(
                ["FULL", "PART", "PROJECT", "FLY_IN_FLY_OUT", None],
                size=count,
                p=[0.8, 0.1, 0.04, 0.03, 0.03],
            ),
            "search_text": texts,
            "first_seen_at": published,
            "last_seen_at": published,
            "closed_at": np.where(closed, published, pd.NaT),
        }
    )

    with_salary = rng.random(count) < 0.37
    salaried = ids[with_salary]
    size = salaried.size
    low = np.round(np.exp(rng.normal(11.2, 0.6, size)), -3)
    high = low * rng.uniform(1, 1.8, size)
    bounds = rng.integers(0, 3, size)
    low = np.where(bounds == 2, np.nan, low)
    high = np.where(bounds == 1, np.nan, np.round(high, -3))
    currency = rng.choice(
        ["RUR", "USD", "KZT", "XXX"], size=size, p=[0.95, 0.02, 0.02, 0.01]
    )
    rate = pd.Series(currency).map({"RUR": 1.0, "USD": 0.0125, "KZT": 6.0}).to_numpy()
    low = np.where(currency == "USD", np.round(low * 0.0125), low)
    high = np.where(currency == "USD", np.round(high * 0.0125), high)
    salaries = pd.DataFrame(
        {
            "vacancy_id": salaried,
            "salary_from": low,
            "salary_to": high,
            "currency": currency,
            "gross": rng.choice([True, False, None], size=size),
            "mode": rng.choice(
                ["MONTH", "HOUR", "SHIFT"], size=size, p=[0.9, 0.06, 0.04]
            ),
            "from_rub": low / rate,
            "to_rub": high / rate,
            "excluded": np.where(np.isnan(rate), "unknown_currency", None),
        }
    )

    format_rows = rng.choice(count, size=int(count * 1.2))
    formats = pd.DataFrame(
        {
            "vacancy_id": ids[format_rows],
            "work_format": rng.choice(
                ["ON_SITE", "REMOTE", "HYBRID", "FIELD_WORK"],
                size=format_rows.size,
                p=[0.6, 0.2, 0.15, 0.05],
            ),
        }
    ).drop_duplicates()
    role_rows = rng.choice(count, size=int(count * 1.1))
    roles = pd.DataFrame(
        {
            "vacancy_id": ids[role_rows],
            "role_id": rng.integers(1, 170, size=role_rows.size),
        }
    ).drop_duplicates()
    return {
        "areas": areas.assign(stale=False),
        "employers": employers,
        "vacancies": vacancies,
        "salaries": salaries,
        "vacancy_work_formats": formats,
        "vacancy_roles": roles,
    }


def save_frames_postgres(url: str, frames: dict[str, pd.DataFrame]) -> None:
    with psycopg.connect(url) as connection:
        for table, frame in frames.items():
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False, header=False)
            columns = ", ".join(frame.columns)
            with connection.cursor().copy(
                f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)"
            ) as copy:
                copy.write(buffer.getvalue())
        connection.execute("ANALYZE")


def save_frames_sqlite(path: Path, frames: dict[str, pd.DataFrame]) -> None:
    connection = sqlite3.connect(path)
    try:
        for table, frame in frames.items():
            frame = frame.astype(object).where(frame.notna(), None)
            for column in frame.columns:
                if frame[column].map(lambda v: isinstance(v, pd.Timestamp)).any():
                    frame[column] = frame[column].map(
                        lambda v: (
                            None if v is None else v.strftime("%Y-%m-%d %H:%M:%S.%f")
                        )
                    )
            marks = ", ".join("?" * len(frame.columns))
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(frame.columns)}) VALUES ({marks})",
                frame.itertuples(index=False, name=None),
            )
        connection.commit()
    finally:
        connection.close()


def ensure_database(backend: str, count: int) -> str:
    """Build the database when it does not hold `count` vacancies yet."""
    if backend == "postgres":
        url = f"{POSTGRES_SERVER}/{POSTGRES_DATABASE}"
    else:
        url = f"sqlite:///{SQLITE_PATH}"
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if (
                connection.execute(text("SELECT count(*) FROM vacancies")).scalar()
                == count
            ):
                return url
    except Exception:  # noqa: BLE001 - any failure means "build it"
        pass
    finally:
        engine.dispose()

    started = time.perf_counter()
    if backend == "postgres":
        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {POSTGRES_DATABASE} WITH (FORCE)")
            c.execute(f"CREATE DATABASE {POSTGRES_DATABASE}")
    else:
        SQLITE_PATH.unlink(missing_ok=True)
    upgrade_database(url)
    frames = make_frames(count)
    if backend == "postgres":
        save_frames_postgres(url, frames)
    else:
        save_frames_sqlite(SQLITE_PATH, frames)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO app_state (id, maintenance, data_version, dataset)"
                " VALUES (1, false, 'v1', 'real')"
            )
        )
    engine.dispose()
    logger.info(
        "built %s with %d vacancies in %.0f s",
        backend,
        count,
        time.perf_counter() - started,
    )
    return url


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(url: str, repeats: int) -> None:
    settings = Settings(database_url=url)
    engine = make_engine(url)
    with Session(engine) as session:
        mix = make_filter_mix(get_mix_choices(session))
        rss_before = peak_rss_mb()
        for attempt in range(repeats):
            session.execute(
                text(f"UPDATE app_state SET data_version = 'cold-{time.time()}'")
            )
            session.commit()
            clear_dataset_cache()
            started = time.perf_counter()
            get_stats(session, Filters(), settings)
            print(f"cold {attempt}: {time.perf_counter() - started:.2f} s")
        print(f"peak RSS after cold: {peak_rss_mb():.0f} MB (before {rss_before:.0f})")

        spent = []
        kinds: dict[str, list[float]] = {}
        for entry in mix:
            started = time.perf_counter()
            get_stats(session, entry.filters, settings)
            ms = (time.perf_counter() - started) * 1000
            spent.append(ms)
            kinds.setdefault(entry.kind, []).append(ms)
        print(
            f"mix of {len(spent)}: p50 {np.percentile(spent, 50):.1f} ms, "
            f"p95 {np.percentile(spent, 95):.1f} ms, max {max(spent):.1f} ms"
        )
        for kind, values in kinds.items():
            print(f"  {kind:18s} p50 {np.median(values):7.1f}  max {max(values):7.1f}")
        print(f"peak RSS: {peak_rss_mb():.0f} MB")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--vacancies", type=int, default=1_000_000)
    parser.add_argument("--cold", type=int, default=1)
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    url = ensure_database(args.backend, args.vacancies)
    if not args.build_only:
        measure(url, args.cold)


if __name__ == "__main__":
    main()

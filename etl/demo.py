"""Demo data: synthetic vacancies loaded through the real validate/transform/load.

Used on a fresh machine that cannot (or may not) reach hh.ru. Ids start at
9,000,000,000, a range hh.ru does not use, and `app_state.dataset` becomes
`demo`; the first real refresh deletes these rows.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from etl.load import MergeCounts
from etl.load import StagingFile
from etl.load import save_data_written
from etl.load import save_staged_refresh
from etl.reference import save_areas
from etl.reference import save_dictionaries
from etl.reference import upsert_rows
from etl.synthetic import Distributions
from etl.synthetic import make_items
from etl.transform import RefreshContext
from etl.transform import StagedRows
from etl.transform import add_item_rows
from etl.validate import RejectTally
from etl.validate import check_item
from etl.validate import format_db_time
from services.schema import ProfessionalRole
from services.settings import Settings
from services.timeutil import utc_now

logger = logging.getLogger(__name__)

DEMO_VACANCIES = 20_000
STAGE_BATCH = 2_000

# Countries of the demo's areas outside Russia; every other demo area is
# placed directly under Russia, which is enough to roll areas up to a country.
DEMO_COUNTRIES = {113: "Россия", 40: "Казахстан", 16: "Беларусь", 97: "Узбекистан"}
DEMO_COUNTRY_OF_AREA = {160: 40, 1002: 16, 2759: 97}


def make_demo_areas(distributions: Distributions) -> list[dict]:
    """An `/areas`-shaped tree of the demo's areas under their countries."""
    roots = {
        country_id: {"id": str(country_id), "name": name, "parent_id": None,
                     "areas": []}
        for country_id, name in DEMO_COUNTRIES.items()
    }  # fmt: skip
    for area_id, name in distributions.areas:
        country_id = DEMO_COUNTRY_OF_AREA.get(area_id, 113)
        if area_id in roots:
            continue
        roots[country_id]["areas"].append(
            {"id": str(area_id), "name": name, "parent_id": str(country_id),
             "areas": []}
        )  # fmt: skip
    return list(roots.values())


def make_demo_dictionaries(distributions: Distributions) -> dict:
    """A `/dictionaries`-shaped object holding the demo's currency rates."""
    return {
        "currency": [
            {"code": code, "rate": rate, "name": code}
            for code, _share, rate in distributions.currencies
        ]
    }


def save_demo_roles(session: Session, distributions: Distributions) -> None:
    rows = [
        {"id": role_id, "name": name, "search_deprecated": False}
        for role_id, name in distributions.roles
    ]
    upsert_rows(session, ProfessionalRole, rows, ["id"])


def stage_demo_items(
    staging: StagingFile, count: int, seed: int, context: RefreshContext
) -> RejectTally:
    """Generate `count` items and stage them, in batches to keep memory flat."""
    rejects = RejectTally()
    rows = StagedRows()
    for seq, item in enumerate(make_items(count, seed=seed)):
        keys = check_item(item, rejects)
        if keys is not None:
            add_item_rows(item, keys, seq, rows, context)
        if len(rows) >= STAGE_BATCH:
            staging.save_rows(rows)
            rows = StagedRows()
    staging.save_rows(rows)
    staging.save_labels(context.labels)
    staging.settle_duplicates()
    return rejects


def load_demo_data(
    engine: Engine,
    settings: Settings,
    count: int = DEMO_VACANCIES,
    seed: int = 0,
    now: datetime | None = None,
) -> MergeCounts:
    """Load `count` synthetic vacancies and their reference data; commit.

    Returns what the merge wrote.
    """
    started = time.monotonic()
    now = now or utc_now()
    distributions = Distributions()
    dictionaries = make_demo_dictionaries(distributions)
    context = RefreshContext(
        rates={code: rate for code, _share, rate in distributions.currencies},
        now=format_db_time(now),
    )
    staging = StagingFile(settings.instance_dir / "staging")
    try:
        rejects = stage_demo_items(staging, count, seed, context)
        with Session(engine, expire_on_commit=False) as session:
            save_areas(session, make_demo_areas(distributions), now)
            save_demo_roles(session, distributions)
            save_dictionaries(session, dictionaries, now)
            counts = save_staged_refresh(
                session, staging, now, closing=None, real_data=False
            )
            save_data_written(session, None, "demo", now)
            session.commit()
    finally:
        staging.close()
    logger.info(
        "demo data loaded: %d vacancies, %d rejected, %.1f s",
        counts.written, sum(rejects.counts.values()), time.monotonic() - started,
    )  # fmt: skip
    return counts

"""The demo data answers the README's worked example on first start."""

from __future__ import annotations

import pytest

from etl.demo import DEMO_VACANCIES
from etl.demo import load_demo_data
from services.analytics import get_stats
from services.filters import Filters
from services.settings import Settings

MOSCOW = 1
SAINT_PETERSBURG = 2


@pytest.mark.db
def test_demo_answers_the_remote_python_example_in_both_cities(
    engine, database_url, db_session, tmp_path
):
    settings = Settings(database_url=database_url, instance_dir=tmp_path)
    load_demo_data(engine, settings, count=DEMO_VACANCIES, seed=0)

    medians = {}
    for area in (MOSCOW, SAINT_PETERSBURG):
        filters = Filters(
            area=(area,),
            experience=("between3And6",),
            work_format=("REMOTE",),
            q="python",
        )
        salary = get_stats(db_session, filters, settings)["salary"]
        medians[area] = (salary["n"], salary["p50"] is not None)

    assert medians == {MOSCOW: (20, True), SAINT_PETERSBURG: (11, True)}

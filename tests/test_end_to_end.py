"""Real hh.ru responses from the fake server to `/api/v1/stats`, end to end.

The refresh runs as a subprocess against the fake hh.ru, then the API's
salary quartiles for Moscow and Saint Petersburg are compared with values
worked out straight from the recorded JSON by tests/reference_stats.py.
"""

from __future__ import annotations

import gzip
import json

import pytest

from app import create_app
from services.dataset import clear_dataset_cache
from services.settings import Settings
from tests.reference_stats import descendants
from tests.reference_stats import salary_quartiles
from tests.test_refresh import refresh_env
from tests.test_refresh import run_refresh

pytestmark = [pytest.mark.db, pytest.mark.slow]


def read_shared_items(shared_hh) -> list[dict]:
    items = []
    for path in sorted((shared_hh / "items").glob("*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            items.extend(json.load(handle))
    return items


def read_shared_rates(shared_hh) -> dict[str, float]:
    dictionaries = json.loads(
        (shared_hh / "reference" / "dictionaries.json").read_text()
    )
    return {entry["code"]: entry["rate"] for entry in dictionaries["currency"]}


@pytest.fixture
def refreshed_client(database_url, fake_hh_real, tmp_path):
    env = refresh_env(database_url, fake_hh_real.url, tmp_path)
    result = run_refresh(env, "--area", "113")
    assert result.returncode == 0, result.stderr

    clear_dataset_cache()
    settings = Settings(
        database_url=database_url,
        instance_dir=tmp_path,
        secret_key="end-to-end",
        public_dashboard=True,
    )
    yield create_app(settings).test_client()
    clear_dataset_cache()


CASES = [(area, basis) for area in ("1", "2") for basis in ("net", "gross")]


def test_city_salary_quartiles_match_the_raw_json(refreshed_client, shared_hh):
    # One refresh serves all four cases: Moscow and Saint Petersburg, both bases.
    tree = json.loads((shared_hh / "reference" / "areas.json").read_text())
    items = read_shared_items(shared_hh)
    rates = read_shared_rates(shared_hh)
    russia = descendants(tree, "113")

    for area_id, basis in CASES:
        expected = salary_quartiles(
            items, descendants(tree, area_id), russia, rates, basis=basis
        )

        answer = refreshed_client.get(f"/api/v1/stats?area={area_id}&basis={basis}")

        assert answer.status_code == 200, answer.get_json()
        salary = answer.get_json()["salary"]
        case = f"area={area_id} basis={basis}"
        assert salary["n"] == expected["n"], case
        for key in ("p25", "p50", "p75"):
            assert salary[key] == pytest.approx(expected[key], abs=0.01), (case, key)

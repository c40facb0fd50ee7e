"""The JSON API: every parameter good and bad, the 400 body, the searches."""

from __future__ import annotations

from datetime import datetime

import pytest

from app import create_app
from services.schema import Area
from services.settings import Settings
from tests.test_analytics import add_reference_data
from tests.test_analytics import add_vacancy
from tests.test_analytics import publish

pytestmark = pytest.mark.db


@pytest.fixture
def client(database_url, db_session, tmp_path):
    add_reference_data(db_session)
    db_session.add(Area(id=2036, name="Королёв", parent_id=2019))
    add_vacancy(db_session, 1, salary=(100_000, 200_000), gross=False, roles=(96,))
    add_vacancy(db_session, 2, area=88, employer="20", formats=("REMOTE",))
    add_vacancy(db_session, 3, area=2019, employer=None, closed=True)
    for number in range(5):
        add_vacancy(db_session, 10 + number, area=160, employer="30")
    publish(db_session, "v7")
    settings = Settings(
        database_url=database_url, public_dashboard=True, instance_dir=tmp_path
    )
    return create_app(settings).test_client()


GOOD_QUERIES = {
    "none": ("", 7),
    "area": ("area=113", 2),
    "area-repeated": ("area=1&area=88", 2),
    "area-stale-id": ("area=424242", 0),
    "exclude-area": ("exclude_area=1", 6),
    "employer": ("employer=20", 1),
    "experience": ("experience=between1And3&experience=unknown", 7),
    "experience-new-value": ("experience=someNewLevel", 0),
    "role": ("role=96", 1),
    "employment-form": ("employment_form=FULL", 7),
    "work-format": ("work_format=REMOTE", 1),
    "work-format-unknown": ("work_format=unknown", 6),
    "keywords": ("q=%D0%A0%D0%90%D0%97%D0%A0%D0%90%D0%91", 7),
    "keywords-missing": ("q=python", 0),
    "published-window": ("published_from=2025-03-12&published_to=2025-03-12", 7),
    "published-before": ("published_to=2025-03-11", 0),
    "only-with-salary": ("only_with_salary=TRUE", 1),
    "only-with-salary-zero": ("only_with_salary=0", 7),
    "status-closed": ("status=closed", 1),
    "status-all": ("status=all", 8),
    "accredited": ("accredited_it=1", 1),
    "trusted": ("trusted=true", 2),
    "basis-gross": ("basis=gross", 7),
    "view-from": ("view=from", 7),
    "empty-value": ("area=&employer=&q=", 7),
    "unknown-name": ("colour=blue", 7),
}


@pytest.mark.parametrize(
    ("query", "vacancies"), GOOD_QUERIES.values(), ids=GOOD_QUERIES.keys()
)
def test_stats_accepts_good_parameters(client, query, vacancies):
    response = client.get(f"/api/v1/stats?{query}")

    assert response.status_code == 200
    assert response.json["vacancies"] == vacancies


BAD_QUERIES = {
    "area-text": ("area=moscow", "area", "moscow"),
    "area-negative": ("area=-1", "area", "-1"),
    "exclude-area-text": ("exclude_area=1x", "exclude_area", "1x"),
    "employer-text": ("employer=abc", "employer", "abc"),
    "experience-symbols": ("experience=1-3", "experience", "1-3"),
    "role-text": ("role=dev", "role", "dev"),
    "employment-form-long": (
        "employment_form=" + "F" * 41,
        "employment_form",
        "F" * 41,
    ),
    "work-format-digits": ("work_format=9", "work_format", "9"),
    "q-twice": ("q=a&q=b", "q", "b"),
    "date-format": ("published_from=12.03.2025", "published_from", "12.03.2025"),
    "date-impossible": ("published_to=2025-02-30", "published_to", "2025-02-30"),
    "date-too-early": ("published_from=0001-01-01", "published_from", "0001-01-01"),
    "date-too-late": ("published_to=9999-12-31", "published_to", "9999-12-31"),
    "window-reversed": (
        "published_from=2025-03-12&published_to=2025-03-01",
        "published_from",
        "2025-03-12",
    ),
    "boolean-yes": ("only_with_salary=yes", "only_with_salary", "yes"),
    "status-unknown": ("status=archived", "status", "archived"),
    "status-twice": ("status=open&status=all", "status", "all"),
    "accredited-text": ("accredited_it=maybe", "accredited_it", "maybe"),
    "trusted-number": ("trusted=2", "trusted", "2"),
    "basis-unknown": ("basis=both", "basis", "both"),
    "view-unknown": ("view=avg", "view", "avg"),
}


@pytest.mark.parametrize(
    ("query", "param", "value"), BAD_QUERIES.values(), ids=BAD_QUERIES.keys()
)
def test_stats_rejects_bad_parameters_with_400(client, query, param, value):
    response = client.get(f"/api/v1/stats?{query}")

    assert response.status_code == 400
    error = response.json["error"]
    assert (error["param"], error["value"]) == (param, value)
    assert value in error["message"] or param in error["message"]


def test_stats_names_the_first_bad_parameter_in_table_order(client):
    response = client.get("/api/v1/stats?view=avg&status=x&role=dev&area=a")

    assert response.status_code == 400
    assert response.json["error"]["param"] == "area"


def test_stats_answer_shape(client):
    answer = client.get("/api/v1/stats?area=1&only_with_salary=true").json

    assert answer["filters"]["area"] == [1]
    assert answer["filters"]["only_with_salary"] is True
    assert answer["data"] == {
        "version": "v7",
        "refreshed_at": "2025-03-14T06:30:00Z",
        "dataset": "demo",
    }
    assert answer["vacancies"] == 1
    assert answer["employer_count"] == 1
    assert answer["disclosure_rate"] == 1.0
    assert answer["salary"]["n"] == 1
    assert answer["salary"]["p50"] is None
    assert answer["salary"]["excluded"] == {
        "not_monthly": 0,
        "unknown_currency": 0,
        "implausible": 0,
    }
    assert answer["top_areas"] == [
        {
            "id": 1,
            "name": "Москва",
            "vacancies": 1,
            "n": 1,
            "p25": None,
            "p50": None,
            "p75": None,
        }
    ]
    assert answer["weekly"] == [
        {"week": "2025-03-10", "vacancies": 1, "n": 1, "p50": None}
    ]
    assert answer["unknown_ids"] == {"area": [], "employer": [], "role": []}


AREA_SEARCHES = {
    "empty-gives-largest": ("", [40, 160, 113, 1, 88, 1620, 2019, 2036]),
    "case-insensitive": ("МОСК", [1, 2019]),
    "yo-as-ye": ("королев", [2036]),
    "nothing": ("zzz", []),
}


@pytest.mark.parametrize(("q", "ids"), AREA_SEARCHES.values(), ids=AREA_SEARCHES.keys())
def test_area_search(client, q, ids):
    response = client.get("/api/v1/areas", query_string={"q": q})

    assert response.status_code == 200
    assert [item["id"] for item in response.json["items"]][: len(ids) or None] == ids


def test_area_search_item(client):
    items = client.get("/api/v1/areas?q=казань").json["items"]

    assert items == [
        {
            "id": 88,
            "name": "Казань",
            "parent_name": "Республика Татарстан",
            "vacancies": 1,
        }
    ]


def test_employer_search(client):
    everyone = client.get("/api/v1/employers").json["items"]
    found = client.get("/api/v1/employers", query_string={"q": "сБЕР"}).json["items"]

    assert [item["id"] for item in everyone] == ["30", "10", "20"]
    assert found == [{"id": "20", "name": "Сбер", "parent_name": None, "vacancies": 1}]


def test_search_rejects_overlong_text(client):
    response = client.get("/api/v1/employers", query_string={"q": "я" * 201})

    assert response.status_code == 400
    assert response.json["error"]["param"] == "q"


def test_new_data_is_served_after_a_refresh(client, db_session):
    assert client.get("/api/v1/stats").json["vacancies"] == 7

    add_vacancy(db_session, 99, published=datetime(2025, 3, 13, 10, 0))
    publish(db_session, "v8")

    answer = client.get("/api/v1/stats").json
    assert (answer["vacancies"], answer["data"]["version"]) == (8, "v8")

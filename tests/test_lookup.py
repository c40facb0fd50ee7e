"""Area and employer search, names and role options for the filters."""

from __future__ import annotations

import pytest

from services.dataset import clear_dataset_cache
from services.lookup import get_area_names
from services.lookup import get_employer_names
from services.lookup import get_role_options
from services.lookup import search_areas
from services.lookup import search_employers
from services.schema import Area
from services.schema import RoleCategory
from services.schema import RoleCategoryLink
from tests.test_analytics import add_reference_data
from tests.test_analytics import add_vacancy
from tests.test_analytics import publish

pytestmark = pytest.mark.db


@pytest.fixture
def session(db_session):
    clear_dataset_cache()
    add_reference_data(db_session)
    # Two areas share a name; the parent tells them apart.
    db_session.add(Area(id=5001, name="Александровка", parent_id=1620))
    db_session.add(Area(id=5002, name="Александровка", parent_id=40))
    add_vacancy(db_session, 1, area=5001)
    add_vacancy(db_session, 2, area=5001)
    add_vacancy(db_session, 3, area=5002, employer="20")
    add_vacancy(db_session, 4, area=5002, employer="777", closed=True)
    publish(db_session, "v1")
    yield db_session
    clear_dataset_cache()


def test_same_named_areas_show_their_parent(session):
    assert search_areas(session, "алекс") == [
        {
            "id": 5001,
            "name": "Александровка",
            "parent_name": "Республика Татарстан",
            "vacancies": 2,
        },
        {
            "id": 5002,
            "name": "Александровка",
            "parent_name": "Казахстан",
            "vacancies": 1,
        },
    ]


def test_area_counts_include_sub_areas_and_only_open_vacancies(session):
    largest = search_areas(session, "", limit=3)

    assert [(item["id"], item["vacancies"]) for item in largest] == [
        (113, 2),
        (1620, 2),
        (5001, 2),
    ]


def test_employer_search_orders_by_open_vacancies(session):
    assert search_employers(session, "") == [
        {"id": "10", "name": "Яндекс", "parent_name": None, "vacancies": 2},
        {"id": "20", "name": "Сбер", "parent_name": None, "vacancies": 1},
        {"id": "30", "name": "Ромашка", "parent_name": None, "vacancies": 0},
        {"id": "777", "name": "Аноним", "parent_name": None, "vacancies": 0},
    ]
    assert search_employers(session, "ЯНД") == [
        {"id": "10", "name": "Яндекс", "parent_name": None, "vacancies": 2}
    ]
    assert search_employers(session, "%") == []


def test_names_for_ids(session):
    assert get_area_names(session, [1, 88, 424242]) == {1: "Москва", 88: "Казань"}
    assert get_employer_names(session, ["20", "777", "999"]) == {
        "20": "Сбер",
        "777": "Аноним",
    }


def test_role_options_grouped_by_category(session):
    session.add_all(
        [
            RoleCategory(id=11, name="Информационные технологии"),
            RoleCategory(id=17, name="Аналитика"),
            RoleCategoryLink(role_id=96, category_id=11),
            RoleCategoryLink(role_id=10, category_id=11),
            RoleCategoryLink(role_id=10, category_id=17),
        ]
    )
    session.flush()

    assert get_role_options(session) == [
        {"category": "Аналитика", "roles": [{"id": 10, "name": "Аналитик"}]},
        {
            "category": "Информационные технологии",
            "roles": [
                {"id": 10, "name": "Аналитик"},
                {"id": 96, "name": "Программист, разработчик"},
            ],
        },
    ]

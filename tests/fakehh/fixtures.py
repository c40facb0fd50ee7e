"""pytest fixtures around the fake hh.ru server, and small hand-made stores."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import numpy as np
import pytest

from etl import synthetic
from tests.fakehh.server import FakeHH
from tests.fakehh.store import FIRST_FAKE_ID
from tests.fakehh.store import ItemStore
from tests.fakehh.store import load_shared_store
from tests.fakehh.store import read_shared_reference

# A cut of the real /areas tree: Russia with Moscow, Saint Petersburg and the
# Sverdlovsk region with two of its towns.
SMALL_AREAS = [
    {
        "id": "113",
        "parent_id": None,
        "name": "Россия",
        "areas": [
            {"id": "1", "parent_id": "113", "name": "Москва", "areas": []},
            {"id": "2", "parent_id": "113", "name": "Санкт-Петербург", "areas": []},
            {
                "id": "1261",
                "parent_id": "113",
                "name": "Свердловская область",
                "areas": [
                    {
                        "id": "3",
                        "parent_id": "1261",
                        "name": "Екатеринбург",
                        "areas": [],
                    },
                    {
                        "id": "1262",
                        "parent_id": "1261",
                        "name": "Алапаевск",
                        "areas": [],
                    },
                ],
            },
        ],
    }
]
SMALL_ROLES = {
    "categories": [
        {
            "id": "11",
            "name": "Информационные технологии",
            "roles": [
                {"id": "96", "name": "Программист, разработчик"},
                {"id": "10", "name": "Аналитик"},
            ],
        },
        {
            "id": "17",
            "name": "Продажи, обслуживание клиентов",
            "roles": [
                {"id": "70", "name": "Менеджер по продажам"},
                {"id": "40", "name": "Другое", "search_deprecated": True},
            ],
        },
    ]
}
SMALL_AREA_CHILDREN = {113: (1, 2, 1261), 1261: (3, 1262)}
SMALL_ROLE_IDS = (96, 10, 70)

# The crowded window: 12:00-12:05 Moscow on this day holds 4,763 vacancies.
CROWDED_START = datetime(2026, 3, 2, 12, 0, tzinfo=synthetic.MOSCOW_OFFSET)
CROWDED_GROUPS = (
    # (area, roles, count): Moscow needs the role split, Sverdlovsk the area split,
    # and 60 vacancies sit on the Sverdlovsk region node itself.
    (1, (96,), 1200),
    (1, (70,), 1100),
    (1, (), 3),
    (2, (96,), 300),
    (3, (10,), 1950),
    (1262, (70,), 150),
    (1261, (96,), 60),
)
BACKGROUND_COUNT = 400


def make_store(
    published: list[int], areas: list[int], roles: list[tuple[int, ...]], seed: int = 7
) -> ItemStore:
    """A store of synthetic vacancies with the given searchable fields."""
    dist = synthetic.Distributions(
        areas=tuple((int(a["id"]), a["name"]) for a in _walk(SMALL_AREAS))
    )
    names = synthetic.VacancyNames(dist)
    role_matrix = np.full((len(published), synthetic.MAX_ROLES_PER_ITEM), -1)
    for row, item_roles in enumerate(roles):
        role_matrix[row, : len(item_roles)] = item_roles

    def build(index: int) -> dict:
        return synthetic.build_item(
            seed,
            index,
            FIRST_FAKE_ID + index,
            published[index],
            areas[index],
            list(roles[index]),
            dist,
            names,
        )

    return ItemStore(
        np.asarray(published, dtype=np.int64),
        np.asarray(areas, dtype=np.int64),
        role_matrix,
        build,
    )


def make_crowded_window_store() -> ItemStore:
    """4,763 vacancies in one 5-minute window plus 400 over the two days before."""
    start = int(CROWDED_START.timestamp())
    published, areas, roles = [], [], []
    for area, item_roles, count in CROWDED_GROUPS:
        for number in range(count):
            published.append(start + number % 300)
            areas.append(area)
            roles.append(item_roles)
    for number in range(BACKGROUND_COUNT):
        published.append(start - 2 * 86400 + number * 431)
        areas.append((1, 2, 3)[number % 3])
        roles.append((96,))
    return make_store(published, areas, roles)


def _walk(nodes: list) -> list[dict]:
    found = []
    for node in nodes:
        found.append(node)
        found.extend(_walk(node.get("areas") or []))
    return found


@pytest.fixture(scope="session")
def shared_store(shared_hh) -> ItemStore:
    return load_shared_store(shared_hh)


@pytest.fixture
def fake_hh_real(shared_hh, shared_store):
    """A fake hh.ru serving both shared items files and the shared reference."""
    areas, dictionaries, professional_roles = read_shared_reference(shared_hh)
    with FakeHH(shared_store, areas, dictionaries, professional_roles) as fake:
        yield fake


@pytest.fixture
def make_fake_hh() -> Callable[..., FakeHH]:
    """A factory: make_fake_hh(store=..., **faults) gives a running server."""
    started: list[FakeHH] = []

    def factory(
        store: ItemStore | None = None,
        areas: list | None = None,
        dictionaries: dict | None = None,
        professional_roles: dict | None = None,
        **faults,
    ) -> FakeHH:
        fake = FakeHH(
            store if store is not None else make_crowded_window_store(),
            SMALL_AREAS if areas is None else areas,
            dictionaries if dictionaries is not None else {"currency": []},
            professional_roles if professional_roles is not None else SMALL_ROLES,
        )
        for name, value in faults.items():
            if not hasattr(fake.faults, name):
                raise TypeError(f"unknown fault {name!r}")
            setattr(fake.faults, name, value)
        fake.start()
        started.append(fake)
        return fake

    yield factory
    for fake in started:
        fake.stop()

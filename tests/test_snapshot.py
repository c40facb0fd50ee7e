"""The dataset snapshot on disk answers exactly like the dataset built in memory."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from services import dataset as dataset_module
from services.analytics import get_stats
from services.dataset import clear_dataset_cache
from services.dataset import get_dataset
from services.filters import Filters
from services.snapshot import get_snapshot_root
from tests.test_analytics import SETTINGS
from tests.test_analytics import add_random_vacancies
from tests.test_analytics import add_reference_data
from tests.test_analytics import publish
from tests.test_analytics import random_filters

pytestmark = pytest.mark.db


@pytest.fixture
def settings(tmp_path):
    return replace(SETTINGS, instance_dir=tmp_path)


def snapshot_folders(settings) -> list[str]:
    root = get_snapshot_root(settings.instance_dir)
    return sorted(p.name for p in root.iterdir() if p.is_dir())


def forbid_building(monkeypatch) -> None:
    def fail(*_args):
        raise AssertionError("the dataset was built again instead of mapped")

    monkeypatch.setattr(dataset_module, "load_dataset", fail)


def test_mapped_snapshot_answers_like_the_built_dataset(db_session, settings):
    generator = random.Random(7)
    add_reference_data(db_session)
    add_random_vacancies(db_session, generator, 300)
    publish(db_session, "v1")
    selections = [Filters(), *(random_filters(generator) for _ in range(40))]
    # Without settings the dataset is built in memory; later calls reuse it.
    get_dataset(db_session)
    built = [get_stats(db_session, f, settings) for f in selections]
    assert not get_snapshot_root(settings.instance_dir).exists()

    clear_dataset_cache()
    first = [get_stats(db_session, f, settings) for f in selections]
    clear_dataset_cache()
    mapped = get_dataset(db_session, settings)
    again = [get_stats(db_session, f, settings) for f in selections]

    assert first == built
    assert again == built
    assert isinstance(mapped.ids.base, np.memmap)
    assert mapped.ids.tolist() == list(range(1, 301))


def test_other_processes_map_the_snapshot_instead_of_building(
    db_session, settings, monkeypatch
):
    add_reference_data(db_session)
    add_random_vacancies(db_session, random.Random(3), 40)
    publish(db_session, "v1")
    expected = get_stats(db_session, Filters(area=(113,)), settings)

    clear_dataset_cache()
    forbid_building(monkeypatch)
    assert get_stats(db_session, Filters(area=(113,)), settings) == expected


def test_a_new_version_replaces_the_old_snapshot(db_session, settings):
    add_reference_data(db_session)
    add_random_vacancies(db_session, random.Random(5), 30)
    publish(db_session, "v1")
    get_dataset(db_session, settings)
    (old,) = snapshot_folders(settings)

    publish(db_session, "v2")
    assert get_dataset(db_session, settings).version == "v2"
    (new,) = snapshot_folders(settings)
    assert new != old


def test_an_empty_database_round_trips(db_session, settings, monkeypatch):
    publish(db_session, "v0")
    expected = get_stats(db_session, Filters(), settings)

    clear_dataset_cache()
    forbid_building(monkeypatch)
    assert get_stats(db_session, Filters(), settings) == expected
    assert expected["vacancies"] == 0


def test_unwritable_instance_folder_serves_from_memory(db_session, tmp_path):
    add_reference_data(db_session)
    add_random_vacancies(db_session, random.Random(9), 20)
    publish(db_session, "v1")
    get_dataset(db_session)
    expected = get_stats(db_session, Filters(), SETTINGS)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")

    clear_dataset_cache()
    answer = get_stats(db_session, Filters(), replace(SETTINGS, instance_dir=blocked))

    assert answer == expected


def test_a_remembered_answer_is_not_changed_by_its_caller(db_session, settings):
    add_reference_data(db_session)
    add_random_vacancies(db_session, random.Random(11), 40)
    publish(db_session, "v1")
    first = get_stats(db_session, Filters(status="all"), settings)
    vacancies = first["vacancies"]

    first["vacancies"] = -1
    first["experience"].clear()
    again = get_stats(db_session, Filters(status="all"), settings)

    assert again["vacancies"] == vacancies == 40
    assert [row["id"] for row in again["experience"]][-1] == "unknown"

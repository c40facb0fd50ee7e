"""Transform of search items of both hh.ru schema generations into rows."""

from __future__ import annotations

import pytest

from etl.load import SALARY_COLUMNS
from etl.load import STAGING_COLUMNS
from etl.load import VACANCY_COLUMNS
from etl.transform import RefreshContext
from etl.transform import StagedRows
from etl.transform import StagedVacancy
from etl.transform import add_item_rows
from etl.transform import make_salary_row
from etl.validate import RejectTally
from etl.validate import check_item

NOW = "2026-03-15 09:00:00.000000"
RATES = {"RUR": 1.0, "USD": 0.0125, "BYR": 0.03125, "KZT": 6.25}


def make_context() -> RefreshContext:
    return RefreshContext(rates=RATES, now=NOW)


def transform(item: dict, seq: int = 7) -> tuple[StagedRows, RefreshContext]:
    context = make_context()
    rows = StagedRows()
    keys = check_item(item, RejectTally())
    add_item_rows(item, keys, seq, rows, context)
    return rows, context


def without_hash(rows: StagedRows) -> list[tuple]:
    """The vacancy columns with `seq`, less their content digest."""
    return [
        (row.seq, *row.vacancy_columns()[:13], row.closed_at) for row in rows.vacancies
    ]


def content_hash(item: dict) -> int:
    return transform(item)[0].vacancies[0].content_hash


LEGACY_ITEM = {
    "id": "103616250",
    "name": "Разработчик Python",
    "area": {"id": "2760", "name": "Бишкек"},
    "published_at": "2024-07-09T21:30:39+0300",
    "salary": {"from": 1000, "to": 2000, "currency": "USD", "gross": None},
    "employer": {"id": "10720182", "name": "Bugu shop", "trusted": True},
    "schedule": {"id": "remote", "name": "Удаленная работа"},
    "employment": {"id": "part", "name": "Частичная занятость"},
    "experience": {"id": "between1And3", "name": "От 1 года до 3 лет"},
    "professional_roles": [{"id": "96", "name": "Программист, разработчик"}],
    "snippet": {
        "requirement": "Опыт с <highlighttext>Python</highlighttext>. Ёлка",
        "responsibility": None,
    },
    "archived": False,
}

MODERN_ITEM = {
    "id": "131128870",
    "name": "Финансовый аналитик",
    "area": {"id": "76", "name": "Ростов-на-Дону"},
    "published_at": "2026-03-14T14:07:24+0300",
    "salary": {"from": 100000, "to": None, "currency": "RUR", "gross": False},
    "salary_range": {
        "from": 100000, "to": None, "currency": "RUR", "gross": False,
        "mode": {"id": "HOUR", "name": "За час"},
        "frequency": {"id": "DAILY", "name": "Раз в день"},
    },
    "employer": {"name": "Крупная компания", "trusted": True},
    "employment_form": {"id": "SIDE_JOB", "name": "Подработка"},
    "work_format": [
        {"id": "HYBRID", "name": "Гибрид"},
        {"id": "FIELD_WORK", "name": "Разъездной"},
    ],
    "experience": {"id": "moreThan10", "name": "Более 10 лет"},
    "professional_roles": [{"id": "10", "name": "Аналитик"}],
    "snippet": {"requirement": None, "responsibility": "Отчёты"},
    "archived": True,
}  # fmt: skip

OLD_ITEM = {
    "id": "40000001",
    "name": "Бухгалтер",
    "area": {"id": "1", "name": "Москва"},
    "published_at": "2020-05-01T10:00:00+0300",
    "salary": None,
    "employer": {"id": "1455", "name": "HeadHunter", "trusted": True,
                 "accredited_it_employer": True},
    "schedule": {"id": "flyInFlyOut", "name": "Вахтовый метод"},
    "employment": {"id": "full", "name": "Полная занятость"},
    "snippet": {},
}  # fmt: skip


def test_legacy_item_rows():
    rows, context = transform(LEGACY_ITEM)

    assert without_hash(rows) == [
        (
            7, 103616250, "Разработчик Python", "2024-07-09 18:30:39.000000", 2760,
            "10720182", "Bugu shop", "between1And3", "PART", "remote", "part",
            "Опыт с Python. Ёлка", None, "разработчик python\nопыт с python. елка",
            None,
        )
    ]  # fmt: skip
    staged = rows.vacancies[0]
    assert staged.work_formats() == ["REMOTE"]
    assert staged.role_ids() == [96]
    assert staged.salary_row() == (
        103616250, 1000.0, 2000.0, "USD", None, "MONTH", None,
        80_000.0, 160_000.0, None,
    )  # fmt: skip
    assert staged.employer_row() == ("10720182", "Bugu shop", False, True)
    assert context.labels[("schedule", "remote")] == "Удаленная работа"


def test_modern_item_rows():
    rows, context = transform(MODERN_ITEM)

    assert without_hash(rows) == [
        (
            7, 131128870, "Финансовый аналитик", "2026-03-14 11:07:24.000000", 76,
            None, "Крупная компания", "moreThan10", "SIDE_JOB", None, None,
            None, "Отчёты", "финансовый аналитик\nотчеты", NOW,
        )
    ]  # fmt: skip
    staged = rows.vacancies[0]
    assert staged.work_formats() == ["HYBRID", "FIELD_WORK"]
    assert staged.salary_row() == (
        131128870, 100000.0, None, "RUR", False, "HOUR", "DAILY",
        100000.0, None, None,
    )  # fmt: skip
    assert staged.employer_row() is None
    assert context.labels[("experience", "moreThan10")] == "Более 10 лет"
    assert context.labels[("work_format", "FIELD_WORK")] == "Разъездной"


def test_staged_rows_follow_the_staging_table_column_by_column():
    columns = [name for name, _ in STAGING_COLUMNS["st_vacancies"]]

    assert [field.removesuffix("_json") for field in StagedVacancy._fields] == columns
    assert VACANCY_COLUMNS[0] == "id" and VACANCY_COLUMNS[-1] == "closed_at"
    assert SALARY_COLUMNS[1] == "salary_from" and SALARY_COLUMNS[-1] == "excluded"


def test_content_hash_follows_every_written_field_but_the_closing():
    same = content_hash(MODERN_ITEM)
    renamed = MODERN_ITEM | {"name": "Аналитик"}
    paid_more = MODERN_ITEM | {
        "salary_range": MODERN_ITEM["salary_range"] | {"from": 100001}
    }
    other_role = MODERN_ITEM | {"professional_roles": [{"id": "96"}]}
    fewer_formats = MODERN_ITEM | {"work_format": [{"id": "HYBRID"}]}
    reopened = MODERN_ITEM | {"archived": False}

    assert isinstance(same, int) and -(2**63) <= same < 2**63
    assert content_hash(MODERN_ITEM) == same
    assert content_hash(reopened) == same
    for changed in (renamed, paid_more, other_role, fewer_formats):
        assert content_hash(changed) != same


def test_item_without_experience_and_roles_reads_legacy_fly_in_fly_out():
    rows, _ = transform(OLD_ITEM)

    vacancy = rows.vacancies[0]
    assert vacancy[7:11] == (None, "FLY_IN_FLY_OUT", "flyInFlyOut", "full")
    assert vacancy.role_ids() == []
    assert vacancy.work_formats() == []
    assert vacancy.salary_row() is None
    assert vacancy.employer_row() == ("1455", "HeadHunter", True, True)


@pytest.mark.parametrize(
    ("salary", "expected_tail"),
    [
        pytest.param({"from": 350, "to": None, "currency": "BYR"},
                     (11_200.0, None, None), id="byr-as-new-roubles"),
        pytest.param({"from": None, "to": 625_000, "currency": "KZT"},
                     (None, 100_000.0, None), id="kzt"),
        pytest.param({"from": 100, "to": 200, "currency": "XYZ"},
                     (None, None, "unknown_currency"), id="unknown-currency"),
        pytest.param({"from": 100, "to": 200, "currency": None},
                     (None, None, "unknown_currency"), id="no-currency"),
        pytest.param({"from": -5, "to": 200, "currency": "RUR"},
                     (None, None, "bad_amount"), id="negative"),
    ],
)  # fmt: skip
def test_salary_conversion_to_roubles(salary, expected_tail):
    row = make_salary_row({"salary": salary}, 5, make_context())

    assert row[6:] == expected_tail


def test_salary_without_bounds_is_not_disclosing():
    item = {"salary": {"from": None, "to": None, "currency": "RUR"}}

    assert make_salary_row(item, 5, make_context()) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param({"id": None}, "no_id", id="no-id"),
        pytest.param({"id": "abc"}, "no_id", id="non-numeric-id"),
        pytest.param({"id": "²"}, "no_id", id="superscript-digit"),
        pytest.param({"id": "9223372036854775808"}, "no_id", id="past-bigint"),
        pytest.param({"id": True}, "no_id", id="boolean"),
        pytest.param({"id": -5}, "no_id", id="negative"),
        pytest.param({"area": {"id": "2147483648"}}, "no_area", id="area-past-int32"),
        pytest.param({"area": None}, "no_area", id="no-area"),
        pytest.param({"published_at": "yesterday"}, "bad_published_at", id="bad-date"),
        pytest.param({"published_at": "2024-07-09T21:30:39"}, "bad_published_at",
                     id="no-offset"),
    ],
)  # fmt: skip
def test_rejects_are_counted_by_reason(change, reason):
    rejects = RejectTally()

    assert check_item({**LEGACY_ITEM, **change}, rejects) is None
    assert rejects.as_dict() == {reason: 1}


def test_role_ids_the_database_cannot_hold_are_left_out():
    roles = [{"id": "2147483648"}, {"id": "²"}, {"id": 10}, {"id": "96"}]
    rows, _ = transform(MODERN_ITEM | {"professional_roles": roles})

    assert rows.vacancies[0].role_ids() == [10, 96]


def test_salary_problems_keep_the_vacancy():
    item = {**LEGACY_ITEM, "salary": {"from": 1, "to": 2, "currency": "???"}}
    rows, _ = transform(item)

    assert len(rows.vacancies) == 1
    assert rows.vacancies[0].excluded == "unknown_currency"

"""Validation: which items are rejected, which salaries excluded, and the tallies."""

from __future__ import annotations

import logging

import pytest

from etl.transform import RefreshContext
from etl.transform import StagedRows
from etl.transform import add_item_rows
from etl.validate import FIRST_IDS_KEPT
from etl.validate import AcceptedItem
from etl.validate import RejectTally
from etl.validate import check_item
from etl.validate import parse_published_at

GOOD_ITEM = {
    "id": "120000001",
    "name": "Бухгалтер",
    "area": {"id": "1", "name": "Москва"},
    "published_at": "2026-03-02T12:04:59+0300",
    "salary": None,
}
RATES = {"RUR": 1.0, "USD": 0.0125}


@pytest.mark.parametrize(
    ("stamp", "stored"),
    [
        pytest.param("2026-03-02T12:04:59+0300", "2026-03-02 09:04:59.000000",
                     id="moscow-offset"),
        pytest.param("2026-03-02T01:30:00+0500", "2026-03-01 20:30:00.000000",
                     id="yekaterinburg-offset-crosses-midnight"),
        pytest.param("2026-03-02T09:04:59+0000", "2026-03-02 09:04:59.000000",
                     id="utc"),
        pytest.param("2026-03-02T09:04:59.25+05:30", "2026-03-02 03:34:59.250000",
                     id="fraction-and-half-hour-offset"),
        pytest.param("2026-03-01T20:00:00-1000", "2026-03-02 06:00:00.000000",
                     id="negative-offset-crosses-midnight"),
        pytest.param("2026-03-02T09:04:59+03:00:30", "2026-03-02 06:04:29.000000",
                     id="offset-with-seconds"),
        pytest.param("2026-03-02T09:04:59Z", "2026-03-02 09:04:59.000000", id="z"),
        pytest.param("2026-03-02T09:04:59", None, id="no-offset"),
        pytest.param("02.03.2026 12:04", None, id="not-iso"),
        pytest.param(None, None, id="missing"),
        pytest.param(1772442299, None, id="epoch-number"),
    ],
)  # fmt: skip
def test_publication_dates_parse_to_naive_utc(stamp, stored):
    assert parse_published_at(stamp) == stored


def test_an_accepted_item_gives_its_parsed_keys():
    rejects = RejectTally()

    keys = check_item(GOOD_ITEM, rejects)

    assert keys == AcceptedItem(120000001, 1, "2026-03-02 09:04:59.000000")
    assert rejects.as_dict() == {}


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        pytest.param({**GOOD_ITEM, "id": None}, "no_id", id="id-null"),
        pytest.param({**GOOD_ITEM, "id": "12a"}, "no_id", id="id-not-digits"),
        pytest.param({**GOOD_ITEM, "id": True}, "no_id", id="id-boolean"),
        pytest.param("not an object", "no_id", id="item-not-an-object"),
        pytest.param({**GOOD_ITEM, "area": None}, "no_area", id="area-null"),
        pytest.param({**GOOD_ITEM, "area": {"name": "Москва"}}, "no_area",
                     id="area-without-id"),
        pytest.param({**GOOD_ITEM, "area": "1"}, "no_area", id="area-not-an-object"),
        pytest.param({**GOOD_ITEM, "published_at": ""}, "bad_published_at",
                     id="date-empty"),
    ],
)  # fmt: skip
def test_rejected_items_are_counted_by_reason(item, reason):
    rejects = RejectTally()

    assert check_item(item, rejects) is None
    assert rejects.as_dict() == {reason: 1}


def test_only_the_first_ids_of_each_reason_are_kept_and_logged(caplog):
    rejects = RejectTally()
    items = [{**GOOD_ITEM, "id": str(100 + n), "area": None} for n in range(8)]
    items += [{**GOOD_ITEM, "id": "200", "published_at": "soon"}]

    with caplog.at_level(logging.INFO, logger="etl.validate"):
        for item in items:
            check_item(item, rejects)

    assert rejects.as_dict() == {"bad_published_at": 1, "no_area": 8}
    assert FIRST_IDS_KEPT == 5
    assert rejects.first_ids == {
        "no_area": ["100", "101", "102", "103", "104"],
        "bad_published_at": ["200"],
    }
    assert [record.getMessage() for record in caplog.records] == [
        f"item {n} rejected: no_area" for n in range(100, 105)
    ] + ["item 200 rejected: bad_published_at"]


def stage(items: list[dict]) -> tuple[StagedRows, RefreshContext]:
    context = RefreshContext(rates=RATES, now="2026-03-15 09:00:00.000000")
    rows = StagedRows()
    for seq, item in enumerate(items):
        add_item_rows(item, check_item(item, RejectTally()), seq, rows, context)
    return rows, context


@pytest.mark.parametrize(
    ("salary", "excluded", "reason"),
    [
        pytest.param({"from": 100, "to": None, "currency": "XXX"}, True,
                     "unknown_currency", id="unknown-currency"),
        pytest.param({"from": None, "to": None, "currency": "RUR"}, None,
                     "no_bound", id="no-bound"),
        pytest.param({"from": -5, "to": 100, "currency": "RUR"}, True,
                     "bad_amount", id="negative-amount"),
        pytest.param({"from": 1000, "to": None, "currency": "USD"}, False,
                     None, id="valid-dollars"),
    ],
)  # fmt: skip
def test_salary_problems_keep_the_vacancy_and_are_counted(salary, excluded, reason):
    rows, context = stage([{**GOOD_ITEM, "salary": salary}])

    assert [row[1] for row in rows.vacancies] == [120000001]
    if excluded is None:
        assert rows.vacancies[0].salary_row() is None
    else:
        assert rows.vacancies[0].salary_row()[-1] == reason
    expected = {reason: 1} if reason else {}
    assert context.salary_exclusions.as_dict() == expected
    assert context.salary_exclusions.first_ids == (
        {reason: ["120000001"]} if reason else {}
    )


def test_salary_exclusions_are_logged_as_such(caplog):
    items = [
        {**GOOD_ITEM, "id": "1", "salary": {"from": 10, "currency": "ZWL"}},
        {**GOOD_ITEM, "id": "2", "salary": {"from": 10, "currency": "USD"}},
        {**GOOD_ITEM, "id": "3", "salary": {"from": -1, "currency": "RUR"}},
    ]

    with caplog.at_level(logging.INFO, logger="etl.validate"):
        _, context = stage(items)

    assert context.salary_exclusions.as_dict() == {
        "bad_amount": 1,
        "unknown_currency": 1,
    }
    assert [record.getMessage() for record in caplog.records] == [
        "item 1 salary excluded: unknown_currency",
        "item 3 salary excluded: bad_amount",
    ]

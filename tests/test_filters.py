"""parse_filters: the §6 contract for good and malformed query strings."""

from __future__ import annotations

from datetime import date

import pytest
from werkzeug.datastructures import MultiDict

from services.filters import FilterError
from services.filters import Filters
from services.filters import parse_filters
from services.filters import split_query_words


def parse(pairs: list[tuple[str, str]], prefix: str = ""):
    return parse_filters(MultiDict(pairs), prefix)


GOOD = {
    "nothing": ([], Filters()),
    "areas-sorted-and-unique": (
        [("area", "2"), ("area", "1"), ("area", "2")],
        Filters(area=(1, 2)),
    ),
    "exclude-area": ([("exclude_area", "1")], Filters(exclude_area=(1,))),
    "employer-kept-as-text": ([("employer", "3529")], Filters(employer=("3529",))),
    "experience-in-order": (
        [("experience", "unknown"), ("experience", "between3And6")],
        Filters(experience=("between3And6", "unknown")),
    ),
    "enum-new-value": (
        [("work_format", "UNDERWATER"), ("work_format", "REMOTE")],
        Filters(work_format=("REMOTE", "UNDERWATER")),
    ),
    "role": ([("role", "96")], Filters(role=(96,))),
    "employment-form": (
        [("employment_form", "PART")],
        Filters(employment_form=("PART",)),
    ),
    "q-spaces-collapsed": ([("q", "  python   django ")], Filters(q="python django")),
    "dates": (
        [("published_from", "2025-03-01"), ("published_to", "2025-03-01")],
        Filters(published_from=date(2025, 3, 1), published_to=date(2025, 3, 1)),
    ),
    "booleans-any-case": (
        [("only_with_salary", "TRUE"), ("accredited_it", "1"), ("trusted", "False")],
        Filters(only_with_salary=True, accredited_it=True),
    ),
    "choices": (
        [("status", "all"), ("basis", "gross"), ("view", "to")],
        Filters(status="all", basis="gross", view="to"),
    ),
    "empty-values-are-absent": (
        [("area", ""), ("q", ""), ("status", " "), ("q", "java")],
        Filters(q="java"),
    ),
    "unknown-names-ignored": ([("colour", "red"), ("vs_area", "1")], Filters()),
}


@pytest.mark.parametrize(("pairs", "expected"), GOOD.values(), ids=GOOD.keys())
def test_good_query_strings(pairs, expected):
    assert parse(pairs) == (expected, [])


BAD = {
    "area-not-numeric": ([("area", "moscow")], "area", "moscow"),
    "area-negative": ([("area", "-5")], "area", "-5"),
    "exclude-area-not-numeric": ([("exclude_area", "1.5")], "exclude_area", "1.5"),
    "employer-not-numeric": ([("employer", "sber")], "employer", "sber"),
    "experience-bad-characters": ([("experience", "1-3")], "experience", "1-3"),
    "role-not-numeric": ([("role", "dev")], "role", "dev"),
    "employment-form-too-long": (
        [("employment_form", "A" * 41)],
        "employment_form",
        "A" * 41,
    ),
    "work-format-space": ([("work_format", "ON SITE")], "work_format", "ON SITE"),
    "q-twice": ([("q", "a"), ("q", "b")], "q", "b"),
    "q-too-long": ([("q", "x" * 501)], "q", "x" * 501),
    "date-bad-form": ([("published_from", "2025-3-1")], "published_from", "2025-3-1"),
    "date-impossible": ([("published_to", "2025-02-29")], "published_to", "2025-02-29"),
    "date-too-early": (
        [("published_from", "0001-01-01")],
        "published_from",
        "0001-01-01",
    ),
    "date-too-late": ([("published_to", "9999-12-31")], "published_to", "9999-12-31"),
    "date-twice": (
        [("published_to", "2025-02-01"), ("published_to", "2025-02-02")],
        "published_to",
        "2025-02-02",
    ),
    "window-reversed": (
        [("published_from", "2025-03-02"), ("published_to", "2025-03-01")],
        "published_from",
        "2025-03-02",
    ),
    "boolean-yes": ([("only_with_salary", "yes")], "only_with_salary", "yes"),
    "status-unknown": ([("status", "archived")], "status", "archived"),
    "accredited-twice": (
        [("accredited_it", "true"), ("accredited_it", "true")],
        "accredited_it",
        "true",
    ),
    "trusted-number": ([("trusted", "2")], "trusted", "2"),
    "basis-unknown": ([("basis", "after_tax")], "basis", "after_tax"),
    "view-unknown": ([("view", "median")], "view", "median"),
}


@pytest.mark.parametrize(("pairs", "param", "value"), BAD.values(), ids=BAD.keys())
def test_malformed_values_are_errors_and_dropped(pairs, param, value):
    filters, errors = parse(pairs)

    assert [(e.param, e.value) for e in errors] == [(param, value)]
    assert getattr(filters, param) == getattr(Filters(), param)


def test_errors_come_in_table_order_and_good_values_stay():
    filters, errors = parse(
        [
            ("view", "median"),
            ("published_from", "2025-03-02"),
            ("published_to", "2025-03-01"),
            ("role", "x"),
            ("area", "1"),
            ("area", "y"),
            ("basis", "gross"),
        ]
    )

    assert [e.param for e in errors] == ["area", "role", "published_from", "view"]
    assert filters == Filters(area=(1,), published_to=date(2025, 3, 1), basis="gross")


def test_comparison_selection_reads_prefixed_names():
    filters, errors = parse([("vs_area", "2"), ("area", "1"), ("vs_view", "x")], "vs_")

    assert filters == Filters(area=(2,))
    assert errors == [FilterError("vs_view", "x", "'x' is not one of mid, from, to")]


def test_a_plain_mapping_of_lists_is_accepted():
    filters, errors = parse_filters({"area": ["1", "2"], "q": "ёлка"})

    assert (filters, errors) == (Filters(area=(1, 2), q="ёлка"), [])


def test_to_query_round_trips_and_omits_defaults():
    filters = Filters(
        area=(1, 2),
        experience=("noExperience",),
        q="python",
        published_from=date(2025, 3, 1),
        only_with_salary=True,
        basis="gross",
    )

    pairs = filters.to_query()

    assert pairs == [
        ("area", "1"),
        ("area", "2"),
        ("experience", "noExperience"),
        ("q", "python"),
        ("published_from", "2025-03-01"),
        ("only_with_salary", "true"),
        ("basis", "gross"),
    ]
    assert parse(pairs) == (filters, [])
    assert Filters().to_query() == []


def test_echo_lists_every_parameter():
    echoed = Filters(employer=("1",), published_to=date(2025, 3, 1)).echo()

    assert echoed == {
        "area": [],
        "exclude_area": [],
        "employer": ["1"],
        "experience": [],
        "role": [],
        "employment_form": [],
        "work_format": [],
        "q": "",
        "published_from": None,
        "published_to": "2025-03-01",
        "only_with_salary": False,
        "status": "open",
        "accredited_it": False,
        "trusted": False,
        "basis": "net",
        "view": "mid",
    }


def test_keyword_words_are_case_folded_with_yo_as_ye():
    assert split_query_words("  Ёлка  PYTHON ") == ("елка", "python")

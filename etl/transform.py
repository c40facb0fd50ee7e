"""Normalisation of hh.ru search items (model): one item -> rows of every table.

Both schema generations are read: the new `employment_form`, `work_format` and
`salary_range`, and the legacy `schedule`, `employment` and `salary`. Rows are
plain tuples in the column order of `etl.load`'s staging tables, because this
runs for every item of a refresh and must stay cheap.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import NamedTuple

import orjson

from etl.validate import MAX_REFERENCE_ID
from etl.validate import AcceptedItem
from etl.validate import RejectTally
from etl.validate import read_id

logger = logging.getLogger(__name__)

EXCLUDED_UNKNOWN_CURRENCY = "unknown_currency"
EXCLUDED_BAD_AMOUNT = "bad_amount"
# Counted only: a salary object without a bound stores no salary row.
EXCLUDED_NO_BOUND = "no_bound"

LEGACY_EMPLOYMENT_FORMS = {"full": "FULL", "part": "PART", "project": "PROJECT"}
LEGACY_FLY_IN_FLY_OUT = "flyInFlyOut"
LEGACY_REMOTE = "remote"

# Enum fields whose ids are stored on the vacancy and whose names feed
# enum_labels, so ids hh.ru adds without notice still get a label.
SINGLE_ENUM_FIELDS = ("experience", "employment_form", "schedule", "employment")


def strip_highlight(text: str | None) -> str | None:
    """Remove hh.ru's `<highlighttext>` markup from a snippet."""
    if text is None or "<" not in text:
        return text
    return text.replace("<highlighttext>", "").replace("</highlighttext>", "")


def normalise_search_text(*parts: str | None) -> str:
    """Case-fold and map ё to е, so keyword search matches on both databases."""
    joined = "\n".join(part for part in parts if part)
    return joined.casefold().replace("ё", "е")


def compute_employment_form(item: Mapping) -> str | None:
    """The new `employment_form`, else one derived from the legacy fields."""
    form = item.get("employment_form")
    if form:
        return form.get("id")
    schedule = item.get("schedule")
    if schedule and schedule.get("id") == LEGACY_FLY_IN_FLY_OUT:
        return "FLY_IN_FLY_OUT"
    employment = item.get("employment")
    if employment:
        return LEGACY_EMPLOYMENT_FORMS.get(employment.get("id"))
    return None


def compute_work_formats(item: Mapping) -> list[str]:
    """The non-empty `work_format` list, else REMOTE for a legacy remote schedule."""
    formats = item.get("work_format")
    if formats:
        return list(dict.fromkeys(entry["id"] for entry in formats if entry.get("id")))
    schedule = item.get("schedule")
    if schedule and schedule.get("id") == LEGACY_REMOTE:
        return ["REMOTE"]
    return []


def _amount(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


@dataclass
class RefreshContext:
    """What every item of one refresh shares: its rates, its time, what is seen.

    `rates` are units per 1 RUR from this refresh's `/dictionaries`; `now` is
    the refresh time as stored text; `labels` collects enum names items carry;
    `salary_exclusions` counts salaries kept out of statistics, by reason.
    """

    rates: Mapping[str, float]
    now: str
    labels: dict[tuple[str, str], str] = field(default_factory=dict)
    salary_exclusions: RejectTally = field(
        default_factory=lambda: RejectTally(outcome="salary excluded")
    )

    def note_label(self, kind: str, entry: Mapping | None) -> str | None:
        if not entry:
            return None
        enum_id = entry.get("id")
        if enum_id is not None and (kind, enum_id) not in self.labels:
            self.labels[(kind, enum_id)] = entry.get("name") or enum_id
        return enum_id


# Where a staged row holds the live tables' columns: `vacancies` from `id` to
# `closed_at`, `salaries` from `salary_from` to `excluded`.
VACANCY_FIELDS = slice(1, 16)
SALARY_FIELDS = slice(18, 27)


class StagedVacancy(NamedTuple):
    """One staged item: its vacancy and every row it writes, in one flat row.

    The order is the column order of the staging table (see `etl.load`): a
    nightly refresh stages a hundred thousand of these, one COPY row each, and
    the final write derives salary, link and employer rows only for the
    vacancies that changed. `seq` is the item's place in the plan's order; the
    work format and role ids are JSON arrays, as the staging table keeps them.
    """

    seq: int
    id: int
    name: str
    published_at: str
    area_id: int
    employer_id: str | None
    employer_name: str | None
    experience: str | None
    employment_form: str | None
    schedule: str | None
    employment: str | None
    requirement: str | None
    responsibility: str | None
    search_text: str
    content_hash: int
    closed_at: str | None
    employer_accredited: bool | None
    employer_trusted: bool | None
    salary_from: float | None
    salary_to: float | None
    currency: str | None
    gross: bool | None
    mode: str | None
    frequency: str | None
    from_rub: float | None
    to_rub: float | None
    excluded: str | None
    work_formats_json: str
    role_ids_json: str

    def work_formats(self) -> list[str]:
        return orjson.loads(self.work_formats_json)

    def role_ids(self) -> list[int]:
        return orjson.loads(self.role_ids_json)

    def vacancy_columns(self) -> tuple:
        """The live `vacancies` columns, `id` to `closed_at`."""
        return self[VACANCY_FIELDS]

    def salary_row(self) -> tuple | None:
        """The `salaries` row, or None when the item states no bound."""
        if self.salary_from is None and self.salary_to is None:
            return None
        return (self.id, *self[SALARY_FIELDS])

    def employer_row(self) -> tuple | None:
        """The `employers` row, or None for an anonymous employer."""
        if self.employer_id is None:
            return None
        return (
            self.employer_id,
            self.employer_name or "",
            self.employer_accredited,
            self.employer_trusted,
        )


# The salary columns of an item without a salary.
NO_SALARY = (None,) * 9


@dataclass
class StagedRows:
    """Staged items of a page or a batch (see `StagedVacancy`)."""

    vacancies: list[StagedVacancy] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.vacancies)


def make_salary_row(
    item: Mapping, vacancy_id: int, context: RefreshContext
) -> tuple | None:
    """The salary columns of an item (amounts as sent, currency, gross, mode,
    frequency, amounts in roubles, exclusion), or None when it states no bound.

    `salary_range` is preferred (its mode and frequency); the legacy `salary`
    alone is monthly pay. An unknown currency is kept as sent but excluded and
    never taken as roubles.
    """
    salary = item.get("salary_range")
    if salary:
        mode = context.note_label("salary_range_mode", salary.get("mode")) or "MONTH"
        frequency = context.note_label(
            "salary_range_frequency", salary.get("frequency")
        )
    else:
        salary = item.get("salary")
        if not salary:
            return None
        mode, frequency = "MONTH", None

    low, high = _amount(salary.get("from")), _amount(salary.get("to"))
    if low is None and high is None:
        context.salary_exclusions.add(EXCLUDED_NO_BOUND, vacancy_id)
        return None
    currency = salary.get("currency")
    rate = context.rates.get(currency) if currency else None
    gross = salary.get("gross")
    gross = None if gross is None else bool(gross)

    as_sent = (low, high, currency, gross, mode, frequency)
    if (low is not None and low < 0) or (high is not None and high < 0):
        return as_sent + (None, None, EXCLUDED_BAD_AMOUNT)
    if not rate:
        return as_sent + (None, None, EXCLUDED_UNKNOWN_CURRENCY)
    from_rub = None if low is None else low / rate
    to_rub = None if high is None else high / rate
    return as_sent + (from_rub, to_rub, None)


def compute_content_hash(
    vacancy: tuple,
    salary: tuple | None,
    work_formats: list,
    role_ids: list,
    employer: Mapping,
) -> int:
    """A signed 64-bit digest of everything an item writes but its closing.

    The final write compares it with the stored one, so the salary, link and
    employer rows of the nine in ten vacancies a nightly refresh finds
    unchanged are not compared row by row. Changing what it covers makes the
    next refresh compare every vacancy once, as for rows stored without one.
    """
    flags = (employer.get("accredited_it_employer"), employer.get("trusted"))
    content = (vacancy, salary, work_formats, role_ids, flags)
    digest = hashlib.blake2b(orjson.dumps(content), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def read_employer(employer: Mapping) -> tuple:
    """The employer's id as text (None when anonymous) and its two flags."""
    employer_id = employer.get("id")
    if not employer_id:
        return None, None, None
    return (
        str(employer_id),
        bool(employer.get("accredited_it_employer")),
        bool(employer.get("trusted")),
    )


def add_item_rows(
    item: Mapping,
    keys: AcceptedItem,
    seq: int,
    rows: StagedRows,
    context: RefreshContext,
) -> None:
    """Append the staged row of one accepted item to `rows`.

    `seq` is the item's position in the plan's order; deduplication by id
    keeps the latest `published_at` and, on a tie, the lowest `seq`.
    """
    vacancy_id = keys.vacancy_id
    employer = item.get("employer") or {}
    employer_id, accredited, trusted = read_employer(employer)
    note = context.note_label
    snippet = item.get("snippet") or {}
    name = item.get("name") or ""
    requirement = strip_highlight(snippet.get("requirement"))
    responsibility = strip_highlight(snippet.get("responsibility"))
    schedule = item.get("schedule")
    employment = item.get("employment")

    for entry in item.get("work_format") or ():
        note("work_format", entry)
    vacancy = (
        vacancy_id,
        name,
        keys.published_at,
        keys.area_id,
        employer_id,
        employer.get("name"),
        note("experience", item.get("experience")),
        note("employment_form", item.get("employment_form"))
        or compute_employment_form(item),
        note("schedule", schedule),
        note("employment", employment),
        requirement,
        responsibility,
    )
    work_formats = compute_work_formats(item)
    role_ids = sorted(
        {
            role_id
            for role in item.get("professional_roles") or ()
            if (role_id := read_id(role.get("id"), MAX_REFERENCE_ID)) is not None
        }
    )
    salary = make_salary_row(item, vacancy_id, context)
    if salary is not None and salary[-1] is not None:
        context.salary_exclusions.add(salary[-1], vacancy_id)

    # _make takes a tuple at C speed; the keyword constructor is Python code.
    rows.vacancies.append(
        StagedVacancy._make(
            (
                seq,
                *vacancy,
                normalise_search_text(name, requirement, responsibility),
                compute_content_hash(vacancy, salary, work_formats, role_ids, employer),
                context.now if item.get("archived") is True else None,
                accredited,
                trusted,
                *(salary or NO_SALARY),
                # As the staging table keeps them: JSON arrays.
                orjson.dumps(work_formats).decode(),
                orjson.dumps(role_ids).decode(),
            )
        )
    )

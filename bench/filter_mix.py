"""A fixed, deterministic mix of realistic filter selections.

The mix imitates what people pick on the analytics page: the landing page
without filters, one city, a region or a country, one big employer, an
experience range, keywords, a professional role, and combinations of those,
with the occasional basis, view, status or flag switch. Ids come from the
benchmark database itself (its busiest cities, regions and employers), so the
same database and seed always give the same 200 selections.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from dataclasses import replace
from datetime import date
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.filters import EXPERIENCE_IDS
from services.filters import Filters

logger = logging.getLogger(__name__)

MIX_SIZE = 200
MIX_SEED = 7
RUSSIA = 113
MOSCOW = 1

# Words of the synthetic vacancies' titles and snippets, and one that none has.
KEYWORDS = (
    "программист",
    "менеджер продажам",
    "водитель",
    "аналитик",
    "бухгалтер",
    "курьер",
    "ведущий",
    "без опыта",
    "тестировщик",
    "python",
)

# How often each kind of selection occurs in the mix, out of 200.
KIND_COUNTS = (
    ("no filter", 10),
    ("one city", 30),
    ("region", 15),
    ("country", 10),
    ("big employer", 20),
    ("experience range", 20),
    ("keywords", 20),
    ("role", 15),
    ("combination", 40),
    ("switches", 20),
)


@dataclass(frozen=True)
class MixEntry:
    """One selection of the mix and the kind of user choice it stands for."""

    kind: str
    filters: Filters


@dataclass(frozen=True)
class MixChoices:
    """What the database offers to pick from, busiest first."""

    cities: list[int]
    regions: list[int]
    employers: list[str]
    roles: list[int]
    first_day: date
    last_day: date


def get_mix_choices(session: Session) -> MixChoices:
    """The busiest areas, their regions, employers and roles of the database."""
    cities = _scalars(
        session,
        "SELECT area_id FROM vacancies GROUP BY area_id"
        " ORDER BY count(*) DESC, area_id LIMIT 25",
    )
    regions = _scalars(
        session,
        "SELECT DISTINCT a.parent_id FROM areas a JOIN areas p ON p.id = a.parent_id"
        " WHERE p.parent_id IS NOT NULL AND a.id IN ("
        + ", ".join(str(c) for c in cities)
        + ") ORDER BY a.parent_id",
    )
    employers = _scalars(
        session,
        "SELECT employer_id FROM vacancies WHERE employer_id IS NOT NULL"
        " GROUP BY employer_id ORDER BY count(*) DESC, employer_id LIMIT 20",
    )
    roles = _scalars(
        session,
        "SELECT role_id FROM vacancy_roles GROUP BY role_id"
        " ORDER BY count(*) DESC, role_id LIMIT 12",
    )
    first, last = session.execute(
        text("SELECT min(published_at), max(published_at) FROM vacancies")
    ).one()
    return MixChoices(
        cities=cities,
        regions=regions or [RUSSIA],
        employers=employers,
        roles=roles,
        first_day=_as_date(first),
        last_day=_as_date(last),
    )


def _scalars(session: Session, sql: str) -> list:
    return list(session.execute(text(sql)).scalars())


def _as_date(value) -> date:
    # SQLite hands timestamps back as text.
    return date.fromisoformat(str(value)[:10])


def make_filter_mix(
    choices: MixChoices, size: int = MIX_SIZE, seed: int = MIX_SEED
) -> list[MixEntry]:
    """`size` selections in the shares of KIND_COUNTS, shuffled by `seed`."""
    rnd = random.Random(seed)
    total = sum(count for _, count in KIND_COUNTS)
    entries = []
    for kind, count in KIND_COUNTS:
        for _ in range(round(count * size / total)):
            entries.append(MixEntry(kind, MAKERS[kind](rnd, choices)))
    rnd.shuffle(entries)
    return entries[:size]


def _skewed(rnd: random.Random, values: list):
    # People pick the big cities and companies far more often than the rest.
    return values[min(int(rnd.expovariate(1 / 4)), len(values) - 1)]


def _experience_range(rnd: random.Random) -> tuple[str, ...]:
    first = rnd.randrange(len(EXPERIENCE_IDS))
    last = rnd.randrange(first, len(EXPERIENCE_IDS))
    if first == 0 and last == len(EXPERIENCE_IDS) - 1:
        last -= 1
    return EXPERIENCE_IDS[first : last + 1]


def _no_filter(rnd, choices) -> Filters:
    return Filters()


def _one_city(rnd, choices) -> Filters:
    return Filters(area=(_skewed(rnd, choices.cities),))


def _region(rnd, choices) -> Filters:
    return Filters(area=(rnd.choice(choices.regions),))


def _country(rnd, choices) -> Filters:
    if rnd.random() < 0.5:
        return Filters(area=(RUSSIA,))
    return Filters(area=(RUSSIA,), exclude_area=(MOSCOW,))


def _big_employer(rnd, choices) -> Filters:
    return Filters(employer=(_skewed(rnd, choices.employers),))


def _experience(rnd, choices) -> Filters:
    return Filters(experience=_experience_range(rnd))


def _keywords(rnd, choices) -> Filters:
    return Filters(q=rnd.choice(KEYWORDS))


def _role(rnd, choices) -> Filters:
    return Filters(role=(_skewed(rnd, choices.roles),))


def _combination(rnd, choices) -> Filters:
    filters = Filters(area=(_skewed(rnd, choices.cities),))
    if rnd.random() < 0.6:
        filters = replace(filters, experience=_experience_range(rnd))
    if rnd.random() < 0.5:
        filters = replace(filters, role=(_skewed(rnd, choices.roles),))
    if rnd.random() < 0.25:
        filters = replace(filters, q=rnd.choice(KEYWORDS))
    if rnd.random() < 0.2:
        filters = replace(filters, employer=(_skewed(rnd, choices.employers),))
    if rnd.random() < 0.2:
        filters = replace(filters, work_format=("REMOTE",))
    if rnd.random() < 0.2:
        filters = replace(filters, only_with_salary=True)
    return filters


def _switches(rnd, choices) -> Filters:
    days = (choices.last_day - choices.first_day).days
    start = choices.first_day + timedelta(days=rnd.randrange(max(days, 1)))
    options = (
        Filters(basis="gross"),
        Filters(view=rnd.choice(("from", "to"))),
        Filters(only_with_salary=True),
        Filters(status=rnd.choice(("closed", "all"))),
        Filters(work_format=(rnd.choice(("REMOTE", "HYBRID")),)),
        Filters(employment_form=(rnd.choice(("PART", "PROJECT")),)),
        Filters(accredited_it=True),
        Filters(published_from=start, published_to=start + timedelta(days=6)),
    )
    return rnd.choice(options)


MAKERS = {
    "no filter": _no_filter,
    "one city": _one_city,
    "region": _region,
    "country": _country,
    "big employer": _big_employer,
    "experience range": _experience,
    "keywords": _keywords,
    "role": _role,
    "combination": _combination,
    "switches": _switches,
}

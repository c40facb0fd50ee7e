"""A small set of vacancies whose statistics are easy to compute by hand.

Salaries are net monthly roubles (gross=False), so every basis-net figure is
the published amount:

- Moscow (1): 6 vacancies, 100 000 ... 150 000 step 10 000 -> median 125 000,
  P25 112 500, P75 137 500, n 6 (low confidence);
- Saint Petersburg (2): 5 vacancies, 200 000 ... 240 000 -> median 220 000;
- Kazan (88): 1 vacancy without a salary.

All together: 12 vacancies, 11 salaries, median 150 000; employers 10
(Moscow), 20 (Saint Petersburg) and 30 (Kazan).
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from services.filters import normalise_text
from services.schema import Area
from services.schema import Employer
from services.schema import Salary
from services.schema import Vacancy
from services.state import ensure_app_state

PUBLISHED = datetime(2025, 3, 12, 9, 0)
AREAS = (
    (113, "Россия", None),
    (1, "Москва", 113),
    (2, "Санкт-Петербург", 113),
    (1620, "Республика Татарстан", 113),
    (88, "Казань", 1620),
)
EMPLOYERS = (("10", "Яндекс"), ("20", "Сбер"), ("30", "Ромашка"))
MOSCOW_SALARIES = (100_000, 110_000, 120_000, 130_000, 140_000, 150_000)
SPB_SALARIES = (200_000, 210_000, 220_000, 230_000, 240_000)
VACANCY_COUNT = len(MOSCOW_SALARIES) + len(SPB_SALARIES) + 1


def add_sample_vacancies(session, dataset: str = "demo") -> None:
    """Insert the sample and publish it as data version "sample-1"."""
    session.add_all(Area(id=i, name=n, parent_id=p) for i, n, p in AREAS)
    session.add_all(
        Employer(id=i, name=n, accredited_it_employer=False, trusted=False)
        for i, n in EMPLOYERS
    )
    session.flush()
    vacancy_id = 900_000_001
    for area, employer, salaries, experience in (
        (1, "10", MOSCOW_SALARIES, "between1And3"),
        (2, "20", SPB_SALARIES, "between3And6"),
        (88, "30", (None,), None),
    ):
        for offset, amount in enumerate(salaries):
            _add_vacancy(
                session, vacancy_id, area, employer, amount, experience, offset
            )
            vacancy_id += 1

    state = ensure_app_state(session)
    state.data_version = "sample-1"
    state.dataset = dataset
    state.last_refresh_at = datetime(2025, 3, 14, 6, 30)
    session.commit()


def _add_vacancy(session, vacancy_id, area, employer, amount, experience, offset):
    published = PUBLISHED - timedelta(days=offset)
    name = f"Python-разработчик {vacancy_id}"
    session.add(
        Vacancy(
            id=vacancy_id,
            name=name,
            published_at=published,
            area_id=area,
            employer_id=employer,
            employer_name=dict(EMPLOYERS)[employer],
            experience=experience,
            employment_form="FULL",
            search_text=normalise_text(name),
            first_seen_at=published,
            last_seen_at=published,
        )
    )
    session.flush()
    if amount is not None:
        session.add(
            Salary(
                vacancy_id=vacancy_id,
                salary_from=amount,
                salary_to=amount,
                currency="RUR",
                gross=False,
                mode="MONTH",
                from_rub=float(amount),
                to_rub=float(amount),
            )
        )
        session.flush()

"""get_stats against hand-computed numbers and against a plain pandas reading.

Vacancies are inserted as ORM rows; every change bumps the data version, as
the refresh does, so the in-memory dataset reloads.
"""

from __future__ import annotations

import random
import tempfile
from datetime import date
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from services import stats
from services.analytics import get_filtered_vacancies
from services.analytics import get_stats
from services.filters import Filters
from services.filters import normalise_text
from services.schema import Area
from services.schema import Employer
from services.schema import ProfessionalRole
from services.schema import Salary
from services.schema import Vacancy
from services.schema import VacancyRole
from services.schema import VacancyWorkFormat
from services.settings import Settings
from services.state import ensure_app_state

pytestmark = pytest.mark.db

# Dataset snapshots of these tests go to a scratch folder, not the project's.
SETTINGS = Settings(
    database_url="sqlite://",
    instance_dir=Path(tempfile.gettempdir()) / "hh-test-analytics",
)
PUBLISHED = datetime(2025, 3, 12, 9, 0)
RATES = {"RUR": 1.0, "USD": 0.01, "KZT": 5.0, "BYR": 0.04}
AREAS = (
    (113, "Россия", None),
    (1, "Москва", 113),
    (2019, "Московская область", 113),
    (1620, "Республика Татарстан", 113),
    (88, "Казань", 1620),
    (40, "Казахстан", None),
    (160, "Алматы", 40),
)
EMPLOYERS = (
    ("10", "Яндекс", True, True),
    ("20", "Сбер", False, True),
    ("30", "Ромашка", False, False),
)
ROLES = ((96, "Программист, разработчик"), (10, "Аналитик"))


# --- building data ---------------------------------------------------------------


def add_reference_data(session) -> None:
    session.add_all(Area(id=i, name=n, parent_id=p) for i, n, p in AREAS)
    session.add_all(
        Employer(id=i, name=n, accredited_it_employer=a, trusted=t)
        for i, n, a, t in EMPLOYERS
    )
    session.add_all(ProfessionalRole(id=i, name=n) for i, n in ROLES)
    session.flush()


def add_vacancy(
    session,
    vacancy_id: int,
    *,
    area: int = 1,
    employer: str | None = "10",
    salary: tuple | None = None,
    currency: str = "RUR",
    gross: bool | None = True,
    mode: str = "MONTH",
    published: datetime = PUBLISHED,
    experience: str | None = "between1And3",
    employment_form: str | None = "FULL",
    formats: tuple[str, ...] = (),
    roles: tuple[int, ...] = (),
    closed: bool = False,
    name: str = "Разработчик",
) -> None:
    """Insert one vacancy; `salary` is (from, to) in `currency`, as sent."""
    employer_name = dict((i, n) for i, n, _, _ in EMPLOYERS).get(employer, "Аноним")
    session.add(
        Vacancy(
            id=vacancy_id,
            name=name,
            published_at=published,
            area_id=area,
            employer_id=employer,
            employer_name=employer_name,
            experience=experience,
            employment_form=employment_form,
            search_text=normalise_text(name),
            first_seen_at=published,
            last_seen_at=published,
            closed_at=published if closed else None,
        )
    )
    session.flush()
    if salary is not None:
        low, high = salary
        rate = RATES.get(currency)
        session.add(
            Salary(
                vacancy_id=vacancy_id,
                salary_from=low,
                salary_to=high,
                currency=currency,
                gross=gross,
                mode=mode,
                from_rub=low / rate if rate and low is not None else None,
                to_rub=high / rate if rate and high is not None else None,
                excluded=None if rate else "unknown_currency",
            )
        )
    session.add_all(
        VacancyWorkFormat(vacancy_id=vacancy_id, work_format=f) for f in formats
    )
    session.add_all(VacancyRole(vacancy_id=vacancy_id, role_id=r) for r in roles)
    session.flush()


def publish(session, version: str) -> None:
    state = ensure_app_state(session)
    state.data_version = version
    state.dataset = "demo"
    state.last_refresh_at = datetime(2025, 3, 14, 6, 30)
    session.commit()


def net(monthly_gross: float) -> float:
    return round(float(stats.compute_net_from_gross(monthly_gross)), 2)


# --- hand-computed answers ---------------------------------------------------------


def test_empty_database_answers_zeroes(db_session):
    publish(db_session, "v0")

    answer = get_stats(db_session, Filters(), SETTINGS)

    assert answer["vacancies"] == 0
    assert answer["employer_count"] == 0
    assert answer["disclosure_rate"] is None
    assert answer["salary"]["n"] == 0
    assert answer["salary"]["p50"] is None
    assert answer["salary"]["histogram"] == {"edges": [], "counts": []}
    assert answer["weekly"] == []
    assert answer["top_areas"] == []
    assert [row["id"] for row in answer["experience"]] == [
        "noExperience",
        "between1And3",
        "between3And6",
        "moreThan6",
        "unknown",
    ]


def test_small_selection_by_hand(db_session):
    add_reference_data(db_session)
    # Net, Moscow: 100k..200k -> 150k; 100k, 120k, 160k, 180k; gross 230k (to net).
    add_vacancy(db_session, 1, salary=(100_000, 200_000), gross=False)
    add_vacancy(db_session, 2, salary=(100_000, None), gross=False, employer="20")
    add_vacancy(db_session, 3, salary=(None, 120_000), gross=False, formats=("REMOTE",))
    add_vacancy(db_session, 4, salary=(160_000, 160_000), gross=False, area=88)
    add_vacancy(db_session, 5, salary=(1_800, None), currency="USD", gross=False)
    add_vacancy(db_session, 6, salary=(230_000, None), gross=True, employer=None)
    # Excluded: hourly pay, unknown currency, implausible, and no salary at all.
    add_vacancy(db_session, 7, salary=(500, 700), mode="HOUR")
    add_vacancy(db_session, 8, salary=(100, 200), currency="XYZ")
    add_vacancy(db_session, 9, salary=(4_000, None), gross=False)
    add_vacancy(db_session, 10, employer="30", experience=None, formats=("ON_SITE",))
    add_vacancy(db_session, 11, salary=(90_000, None), closed=True)
    publish(db_session, "v1")

    answer = get_stats(db_session, Filters(), SETTINGS)

    assert answer["vacancies"] == 10
    assert answer["employer_count"] == 3
    assert answer["with_salary"] == 9
    assert answer["disclosure_rate"] == 0.9
    values = [100_000, 120_000, 150_000, 160_000, 180_000, net(230_000)]
    # 2.76M a year: 13% of 2.4M plus 15% of 0.36M = 366,000 tax a year.
    assert net(230_000) == 199_500.0
    salary = answer["salary"]
    assert salary["n"] == 6
    assert salary["low_confidence"] is True
    assert salary["mean"] == round(sum(values) / 6, 2)
    # Sorted: 100k 120k 150k 160k 180k 199.5k; P50 at index 2.5.
    assert salary["p50"] == 155_000.0
    assert salary["p25"] == 127_500.0
    assert salary["p10"] == 110_000.0
    assert salary["p90"] == 189_750.0
    assert salary["excluded"] == {
        "not_monthly": 1,
        "unknown_currency": 1,
        "implausible": 1,
    }
    assert salary["outside_russia"] == 0
    assert salary["histogram"]["edges"][0] == 0
    assert salary["histogram"]["edges"][-1] == 200_000
    assert sum(salary["histogram"]["counts"]) == 6
    assert answer["data"] == {
        "version": "v1",
        "refreshed_at": "2025-03-14T06:30:00Z",
        "dataset": "demo",
    }


def test_top_tables_and_distributions(db_session):
    add_reference_data(db_session)
    for number in range(6):
        add_vacancy(
            db_session,
            100 + number,
            salary=(100_000 + number * 10_000, None),
            gross=False,
            formats=("REMOTE", "HYBRID") if number % 2 else ("REMOTE",),
        )
    add_vacancy(db_session, 200, area=88, employer="20", experience="moreThan6")
    add_vacancy(db_session, 201, area=88, employer=None, experience="weird_new")
    publish(db_session, "v1")

    answer = get_stats(db_session, Filters(), SETTINGS)

    assert answer["top_areas"] == [
        {
            "id": 1,
            "name": "Москва",
            "vacancies": 6,
            "n": 6,
            "p25": 112_500.0,
            "p50": 125_000.0,
            "p75": 137_500.0,
        },
        {
            "id": 88,
            "name": "Казань",
            "vacancies": 2,
            "n": 0,
            "p25": None,
            "p50": None,
            "p75": None,
        },
    ]
    assert [(row["id"], row["vacancies"]) for row in answer["top_employers"]] == [
        ("10", 6),
        ("20", 1),
    ]
    assert [
        (row["id"], row["vacancies"], row["n"]) for row in answer["work_format"]
    ] == [
        ("ON_SITE", 0, 0),
        ("REMOTE", 6, 6),
        ("HYBRID", 3, 3),
        ("FIELD_WORK", 0, 0),
        ("unknown", 2, 0),
    ]
    assert [(row["id"], row["vacancies"]) for row in answer["experience"]] == [
        ("noExperience", 0),
        ("between1And3", 6),
        ("between3And6", 0),
        ("moreThan6", 1),
        ("weird_new", 1),
        ("unknown", 0),
    ]


def test_outside_russia_is_taken_as_published(db_session):
    add_reference_data(db_session)
    for number in range(5):
        add_vacancy(
            db_session,
            number + 1,
            area=160,
            salary=(500_000 + number * 50_000, None),
            currency="KZT",
            gross=True,
        )
    publish(db_session, "v1")

    answer = get_stats(db_session, Filters(area=(40,)), SETTINGS)

    assert answer["salary"]["outside_russia"] == 5
    # 600,000 KZT at 5 KZT per rouble, not taxed: 120,000 roubles.
    assert answer["salary"]["p50"] == 120_000.0


def test_weekly_groups_by_moscow_monday(db_session):
    add_reference_data(db_session)
    # Sunday 2025-03-09 21:30 UTC is Monday 00:30 in Moscow: the week of 03-10.
    add_vacancy(db_session, 1, published=datetime(2025, 3, 9, 21, 30))
    add_vacancy(db_session, 2, published=datetime(2025, 3, 9, 20, 30))
    add_vacancy(db_session, 3, published=datetime(2025, 3, 24, 8, 0))
    publish(db_session, "v1")

    weekly = get_stats(db_session, Filters(), SETTINGS)["weekly"]

    assert weekly == [
        {"week": "2025-03-03", "vacancies": 1, "n": 0, "p50": None},
        {"week": "2025-03-10", "vacancies": 1, "n": 0, "p50": None},
        {"week": "2025-03-17", "vacancies": 0, "n": 0, "p50": None},
        {"week": "2025-03-24", "vacancies": 1, "n": 0, "p50": None},
    ]


def test_unknown_ids_are_reported(db_session):
    add_reference_data(db_session)
    add_vacancy(db_session, 1, roles=(96,))
    publish(db_session, "v1")

    filters = Filters(area=(1, 999_999), employer=("10", "777"), role=(96, 5))
    answer = get_stats(db_session, filters, SETTINGS)

    assert answer["unknown_ids"] == {
        "area": [999_999],
        "employer": ["777"],
        "role": [5],
    }
    assert answer["vacancies"] == 1


def test_new_data_version_reloads(db_session):
    add_reference_data(db_session)
    add_vacancy(db_session, 1)
    publish(db_session, "v1")
    assert get_stats(db_session, Filters(), SETTINGS)["vacancies"] == 1

    add_vacancy(db_session, 2)
    publish(db_session, "v2")

    assert get_stats(db_session, Filters(), SETTINGS)["vacancies"] == 2


def test_download_rows(db_session):
    add_reference_data(db_session)
    add_vacancy(db_session, 5, salary=(100_000, 200_000), gross=False)
    add_vacancy(db_session, 6, published=datetime(2025, 3, 13, 9, 0), employer=None)
    add_vacancy(db_session, 7, area=88)
    publish(db_session, "v1")

    frame, truncated = get_filtered_vacancies(
        db_session, Filters(area=(1,)), SETTINGS, limit=1
    )

    assert truncated is True
    assert frame.to_dict("records") == [
        {
            "id": 6,
            "name": "Разработчик",
            "employer": "Аноним",
            "area": "Москва",
            "published_at": "2025-03-13T09:00:00Z",
            "experience": "between1And3",
            "salary_from": None,
            "salary_to": None,
            "currency": None,
            "gross": None,
            "mode": None,
            "monthly_rub": None,
            "url": "https://hh.ru/vacancy/6",
        }
    ]


# --- the fast path equals the plain pandas reading ------------------------------

WORDS = ("python", "java", "аналитик", "ёлка", "данных")
EXPERIENCES = (*stats.EXPERIENCE_ORDER, None, "newOne")
FORMS = ("FULL", "PART", "PROJECT", None)
FORMATS = ("ON_SITE", "REMOTE", "HYBRID", "FIELD_WORK")


def add_random_vacancies(session, generator: random.Random, count: int) -> None:
    area_ids = [i for i, _, _ in AREAS]
    for vacancy_id in range(1, count + 1):
        low = generator.choice([None, generator.randrange(3_000, 400_000, 500)])
        high = generator.choice(
            [None, (low or 20_000) + generator.randrange(0, 200_000)]
        )
        has_salary = generator.random() < 0.7 and (low or high)
        add_vacancy(
            session,
            vacancy_id,
            area=generator.choice(area_ids),
            employer=generator.choice(["10", "20", "30", None]),
            salary=(low, high) if has_salary else None,
            currency=generator.choice(["RUR", "RUR", "RUR", "USD", "KZT", "XYZ"]),
            gross=generator.choice([True, False, None]),
            mode=generator.choice(["MONTH"] * 6 + ["HOUR", "SHIFT"]),
            published=datetime(2025, 1, 1)
            + pd.Timedelta(hours=generator.randrange(2000)),
            experience=generator.choice(EXPERIENCES),
            employment_form=generator.choice(FORMS),
            formats=tuple(generator.sample(FORMATS, generator.randrange(3))),
            roles=tuple(generator.sample([96, 10, 3], generator.randrange(3))),
            closed=generator.random() < 0.2,
            name=" ".join(generator.sample(WORDS, 2)),
        )


def random_filters(generator: random.Random) -> Filters:
    def some(values, k=2):
        # Most dimensions stay unfiltered, so selections keep enough salaries.
        if generator.random() < 0.7:
            return ()
        return tuple(
            sorted(set(generator.choices(values, k=generator.randrange(k + 1))))
        )

    start = date(2025, 1, 1) + pd.Timedelta(days=generator.randrange(90))
    return Filters(
        area=some([113, 1, 1620, 40, 2019]),
        exclude_area=some([88, 160, 1], 1),
        employer=some(["10", "20", "30"], 1),
        experience=some([*stats.EXPERIENCE_ORDER, "unknown", "newOne"]),
        role=some([96, 10, 3], 1),
        employment_form=some(["FULL", "PART", "unknown"], 1),
        work_format=some([*FORMATS, "unknown"], 2),
        q=generator.choice(["", "", "", "", "python", "ЁЛКА", "дан py"]),
        published_from=generator.choice([None, start]),
        published_to=generator.choice([None, start + pd.Timedelta(days=40)]),
        only_with_salary=generator.random() < 0.3,
        status=generator.choice(["open", "closed", "all"]),
        accredited_it=generator.random() < 0.15,
        trusted=generator.random() < 0.15,
        basis=generator.choice(["net", "gross"]),
        view=generator.choice(["mid", "from", "to"]),
    )


def read_plain_frames(session) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    def frame(query):
        result = session.execute(query)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    vacancies = frame(
        select(
            *Vacancy.__table__.c,
            *[c for c in Salary.__table__.c if c.key != "vacancy_id"],
        ).outerjoin(Salary, Salary.vacancy_id == Vacancy.id)
    )
    formats = frame(select(*VacancyWorkFormat.__table__.c))
    roles = frame(select(*VacancyRole.__table__.c))
    for column in ("salary_from", "salary_to", "from_rub", "to_rub"):
        vacancies[column] = vacancies[column].astype(float)
    return vacancies, formats, roles


def subtree(root: int) -> set[int]:
    found = {root}
    for _ in AREAS:
        found |= {i for i, _, parent in AREAS if parent in found}
    return found


def plain_selection(vacancies, formats, roles, filters: Filters) -> pd.DataFrame:
    """The selection read plainly, one rule per line, straight from §6."""
    keep = pd.Series(True, index=vacancies.index)
    closed = vacancies["closed_at"].notna()
    if filters.status == "open":
        keep &= ~closed
    elif filters.status == "closed":
        keep &= closed
    if filters.area:
        keep &= vacancies["area_id"].isin(set().union(*map(subtree, filters.area)))
    if filters.exclude_area:
        gone = set().union(*map(subtree, filters.exclude_area))
        keep &= ~vacancies["area_id"].isin(gone)
    if filters.employer:
        keep &= vacancies["employer_id"].isin(filters.employer)
    if filters.experience:
        keep &= vacancies["experience"].fillna("unknown").isin(filters.experience)
    if filters.role:
        keep &= vacancies["id"].isin(
            roles[roles["role_id"].isin(filters.role)]["vacancy_id"]
        )
    if filters.employment_form:
        keep &= (
            vacancies["employment_form"].fillna("unknown").isin(filters.employment_form)
        )
    if filters.work_format:
        listed = formats[formats["work_format"].isin(filters.work_format)]["vacancy_id"]
        matches = vacancies["id"].isin(listed)
        if "unknown" in filters.work_format:
            matches |= ~vacancies["id"].isin(formats["vacancy_id"])
        keep &= matches
    words = normalise_text(filters.q).split()
    keep &= vacancies["search_text"].map(lambda text: all(w in text for w in words))
    moscow = vacancies["published_at"] + pd.Timedelta(hours=3)
    if filters.published_from:
        keep &= moscow.dt.date >= filters.published_from
    if filters.published_to:
        keep &= moscow.dt.date <= filters.published_to
    if filters.only_with_salary:
        keep &= vacancies["salary_from"].notna() | vacancies["salary_to"].notna()
    flags = {i: (a, t) for i, _, a, t in EMPLOYERS}
    if filters.accredited_it:
        keep &= vacancies["employer_id"].map(lambda e: flags.get(e, (False,))[0])
    if filters.trusted:
        keep &= vacancies["employer_id"].map(lambda e: flags.get(e, (0, False))[1])
    selected = vacancies[keep.astype(bool)].copy()
    selected["in_russia"] = selected["area_id"].isin(subtree(113))
    return selected


def test_fast_path_equals_plain_pandas_on_random_filters(db_session):
    generator = random.Random(20250314)
    add_reference_data(db_session)
    add_random_vacancies(db_session, generator, 400)
    publish(db_session, "v1")
    vacancies, formats, roles = read_plain_frames(db_session)
    area_names = {i: n for i, n, _ in AREAS}
    employer_names = {i: n for i, n, _, _ in EMPLOYERS}

    with_statistics = 0
    for _ in range(60):
        filters = random_filters(generator)
        answer = get_stats(db_session, filters, SETTINGS)
        selection = plain_selection(vacancies, formats, roles, filters)
        expected = stats.compute_selection_stats(
            selection,
            formats,
            filters.basis,
            filters.view,
            SETTINGS.salary_min_rub,
            SETTINGS.salary_max_rub,
            area_names,
            employer_names,
        )
        for key, value in expected.items():
            assert answer[key] == value, (filters, key)
        with_statistics += answer["salary"]["p50"] is not None

    # The random selections must exercise the statistics, not only empty ones.
    assert with_statistics >= 15


# Employer ids whose string order differs from their numeric order, so ties in
# the top table must break by the id as text; "78" and "779" are missing from
# the employers table and take the name their vacancies carry.
MANY_EMPLOYERS = tuple(str(i) for i in (1, 2, 9, 11, 19, 100, 101, 1000, 12, 3))
MISSING_EMPLOYERS = ("78", "779")
KAZAKH_TOWNS = tuple((5000 + i, f"Город {i}", 40) for i in range(26))
ODD_NAMES = ("python\tданных", "c:\\path java", "ёлка\nаналитик", "DATA  python")


def add_many_employers_and_areas(session, generator: random.Random) -> None:
    session.add_all(Area(id=i, name=n, parent_id=p) for i, n, p in KAZAKH_TOWNS)
    session.add_all(
        Employer(
            id=i, name=f"Компания {i}", accredited_it_employer=False, trusted=False
        )
        for i in MANY_EMPLOYERS
    )
    session.flush()
    areas = [i for i, _, _ in AREAS] + [i for i, _, _ in KAZAKH_TOWNS]
    employers = [*MANY_EMPLOYERS, *MISSING_EMPLOYERS, None]
    for vacancy_id in range(1, 301):
        low = generator.randrange(20_000, 300_000, 1_000)
        add_vacancy(
            session,
            vacancy_id,
            area=generator.choice(areas),
            employer=generator.choice(employers),
            salary=(low, low + 20_000) if generator.random() < 0.8 else None,
            gross=generator.choice([True, False, None]),
            experience=generator.choice(EXPERIENCES),
            closed=generator.random() < 0.1,
            name=generator.choice(ODD_NAMES + WORDS),
        )


def test_fast_path_equals_plain_pandas_with_many_employers_and_areas(db_session):
    generator = random.Random(20250315)
    add_reference_data(db_session)
    add_many_employers_and_areas(db_session, generator)
    publish(db_session, "v1")
    vacancies, formats, roles = read_plain_frames(db_session)
    area_names = {i: n for i, n, _ in (*AREAS, *KAZAKH_TOWNS)}
    employer_names = {i: f"Компания {i}" for i in MANY_EMPLOYERS}
    employer_names.update(
        {i: n for i, n, _, _ in EMPLOYERS} | dict.fromkeys(MISSING_EMPLOYERS, "Аноним")
    )

    for _ in range(25):
        filters = Filters(
            employer=tuple(generator.sample([*MANY_EMPLOYERS, *MISSING_EMPLOYERS], 2))
            if generator.random() < 0.3
            else (),
            experience=(generator.choice(EXPERIENCES) or "unknown",)
            if generator.random() < 0.3
            else (),
            q=generator.choice(["", "", "python", "\\", "ёлка ан", "data"]),
            status=generator.choice(["open", "all"]),
            basis=generator.choice(["net", "gross"]),
            view=generator.choice(["mid", "from", "to"]),
        )
        answer = get_stats(db_session, filters, SETTINGS)
        selection = plain_selection(vacancies, formats, roles, filters)
        expected = stats.compute_selection_stats(
            selection,
            formats,
            filters.basis,
            filters.view,
            SETTINGS.salary_min_rub,
            SETTINGS.salary_max_rub,
            area_names,
            employer_names,
        )
        for key, value in expected.items():
            assert answer[key] == value, (filters, key)

    unfiltered = get_stats(db_session, Filters(status="all"), SETTINGS)
    # More than twenty areas and employers: the tables are cut at twenty.
    assert len(unfiltered["top_areas"]) == 20
    assert len(unfiltered["top_employers"]) == 12

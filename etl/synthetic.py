"""Deterministic synthetic hh.ru search items with realistic distributions.

Items are made from `(seed, index)`: the fields a search filters on (publication
time, area, professional roles) come from a vectorised skeleton built chunk by
chunk, and everything else from a small per-item random generator. A million
items therefore never need to sit in memory, and the same seed always gives the
same items. Both schema generations of hh.ru are produced: 2026-style items with
`salary_range`, `work_format` and `employment_form`, 2024-style items with only the
legacy `salary`, `schedule` and `employment`, and pre-2021 items without
`experience` and `professional_roles`.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import numpy as np

MOSCOW_OFFSET = timezone(timedelta(hours=3))
FIRST_SYNTHETIC_ID = 9_000_000_000
CHUNK_SIZE = 10_000
MAX_ROLES_PER_ITEM = 2

# Moscow-hour weights of new publications: quiet nights, a morning peak.
HOURLY_PROFILE = (
    0.15, 0.08, 0.05, 0.04, 0.05, 0.10, 0.30, 0.60, 1.00, 1.45, 1.60, 1.55,
    1.40, 1.35, 1.40, 1.30, 1.15, 0.95, 0.70, 0.50, 0.40, 0.35, 0.28, 0.20,
)  # fmt: skip
# Monday first: employers publish on working days.
WEEKDAY_PROFILE = (1.10, 1.10, 1.05, 1.00, 0.95, 0.35, 0.30)

EXPERIENCE_NAMES = {
    "noExperience": "Нет опыта",
    "between1And3": "От 1 года до 3 лет",
    "between3And6": "От 3 до 6 лет",
    "moreThan6": "Более 6 лет",
}
SALARY_MODE_NAMES = {
    "MONTH": "За месяц",
    "HOUR": "За час",
    "SHIFT": "За смену",
    "SERVICE": "За услугу",
}
FREQUENCY_FOR_MODE = {
    "MONTH": ("TWICE_PER_MONTH", "Два раза в месяц"),
    "HOUR": ("WEEKLY", "Раз в неделю"),
    "SHIFT": ("DAILY", "Ежедневно"),
    "SERVICE": ("PER_PROJECT", "За проект"),
}
WORK_FORMAT_NAMES = {
    "ON_SITE": "На месте работодателя",
    "REMOTE": "Удалённо",
    "HYBRID": "Гибрид",
    "FIELD_WORK": "Разъездной",
}
EMPLOYMENT_FORMS = {
    "FULL": ("Полная", "full", "Полная занятость"),
    "PART": ("Частичная", "part", "Частичная занятость"),
    "PROJECT": ("Проект или разовое задание", "project", "Проектная работа"),
}
SCHEDULE_NAMES = {
    "fullDay": "Полный день",
    "shift": "Сменный график",
    "flexible": "Гибкий график",
    "remote": "Удаленная работа",
}
EMPLOYER_WORDS = (
    ("Альфа", "Вектор", "Гранит", "Север", "Орбита", "Радуга", "Сфера", "Меридиан"),
    ("Софт", "Логистик", "Торг", "Строй", "Финанс", "Медиа", "Систем", "Трейд"),
)
# IT roles get titles and snippets naming their technologies, so keyword
# searches such as "python" find what they would on hh.ru: (title, skills).
IT_TITLES: Mapping[int, tuple[tuple[str, str], ...]] = {
    96: (
        ("Python-разработчик", "Python, Django, PostgreSQL, Docker"),
        ("Senior Python developer (Django)", "Python 3, Django, Celery, Redis"),
        ("Backend-разработчик (Python, FastAPI)", "Python, FastAPI, asyncio, SQL"),
        ("Java-разработчик", "Java 17, Spring Boot, Kafka, PostgreSQL"),
        ("Senior Java developer", "Java, Spring, Hibernate, микросервисы"),
        ("Backend-разработчик (Go)", "Go, gRPC, PostgreSQL, Kubernetes"),
        ("Frontend-разработчик (React)", "JavaScript, TypeScript, React, Redux"),
        ("Frontend-разработчик (Vue.js)", "JavaScript, Vue.js, HTML, CSS"),
        ("Программист 1С", "1С:Предприятие 8.3, СКД, обмены данными"),
        ("Ведущий программист 1С", "1С:ERP, 1С:УТ, оптимизация запросов"),
        ("C++ разработчик", "C++17, STL, Qt, Linux"),
        ("PHP-разработчик", "PHP 8, Laravel, MySQL, Redis"),
        ("C#-разработчик (.NET)", "C#, .NET 8, ASP.NET Core, MS SQL"),
        ("Android-разработчик (Kotlin)", "Kotlin, Jetpack Compose, Coroutines"),
        ("iOS-разработчик (Swift)", "Swift, SwiftUI, UIKit"),
        ("Fullstack-разработчик (Node.js, React)", "Node.js, TypeScript, React"),
    ),
    124: (
        ("Тестировщик ПО", "ручное тестирование, SQL, Postman, Jira"),
        ("QA Automation Engineer (Python)", "Python, pytest, Selenium, Allure"),
        ("Инженер по автоматизации тестирования (Java)", "Java, Selenide, JUnit"),
        ("QA-инженер (мобильные приложения)", "Android, iOS, Charles, Jira"),
    ),
    10: (
        ("Аналитик данных", "SQL, Python, pandas, Power BI"),
        ("Data Scientist (Python)", "Python, scikit-learn, PyTorch, SQL"),
        ("Системный аналитик", "UML, BPMN, REST API, SQL"),
        ("Бизнес-аналитик", "BPMN, Excel, сбор требований"),
        ("Продуктовый аналитик", "SQL, A/B-тесты, Tableau"),
    ),
    160: (
        ("DevOps-инженер", "Kubernetes, Docker, Ansible, Bash"),
        ("SRE-инженер", "Linux, Prometheus, Grafana, Go"),
        ("DevOps engineer (Kubernetes)", "Kubernetes, Terraform, GitLab CI"),
    ),
}
IT_TITLE_WEIGHTS: Mapping[int, tuple[float, ...]] = {
    96: (5, 2, 2, 10, 3, 6, 9, 4, 10, 3, 5, 6, 6, 4, 3, 4),
    124: (5, 3, 2, 2),
    10: (4, 3, 4, 3, 2),
    160: (5, 2, 3),
}
# IT vacancies ask for more experience, allow remote work more often and pay
# more than the market as a whole.
IT_EXPERIENCE_WEIGHTS = (0.08, 0.40, 0.40, 0.12)
IT_WORK_FORMAT_WEIGHTS = (0.40, 0.35, 0.24, 0.01)
IT_SALARY_SHARE = 0.5
IT_SALARY_FACTOR = 1.6
WORK_FORMAT_WEIGHTS = (0.72, 0.13, 0.12, 0.03)

ANONYMOUS_EMPLOYERS = (
    "Крупная торговая компания",
    "Производственная компания",
    "IT-компания",
)


@dataclass(frozen=True)
class Distributions:
    """The shares synthetic items are drawn from; the defaults mimic hh.ru in 2026."""

    areas: tuple[tuple[int, str], ...] = (
        (1, "Москва"),
        (2, "Санкт-Петербург"),
        (3, "Екатеринбург"),
        (4, "Новосибирск"),
        (88, "Казань"),
        (66, "Нижний Новгород"),
        (76, "Ростов-на-Дону"),
        (53, "Краснодар"),
        (78, "Самара"),
        (54, "Красноярск"),
        (104, "Челябинск"),
        (99, "Уфа"),
        (26, "Воронеж"),
        (160, "Алматы"),
        (1002, "Минск"),
        (2759, "Ташкент"),
    )
    area_weights: tuple[float, ...] = (
        30, 11, 4, 3.5, 3, 3, 2.8, 2.8, 2.5, 2.2, 2.2, 2, 1.8, 1.5, 1.2, 0.6,
    )  # fmt: skip
    roles: tuple[tuple[int, str], ...] = (
        (96, "Программист, разработчик"),
        (70, "Менеджер по продажам, менеджер по работе с клиентами"),
        (97, "Продавец-консультант, продавец-кассир"),
        (58, "Курьер"),
        (21, "Водитель"),
        (18, "Бухгалтер"),
        (52, "Кладовщик"),
        (83, "Оператор call-центра, специалист контактного центра"),
        (124, "Тестировщик"),
        (10, "Аналитик"),
        (160, "DevOps-инженер"),
        (107, "Руководитель проектов"),
        (68, "Менеджер по маркетингу, интернет-маркетолог"),
        (40, "Другое"),
    )
    role_weights: tuple[float, ...] = (
        12, 14, 11, 8, 7, 5, 5, 5, 3, 4, 1.5, 3, 3, 6,
    )  # fmt: skip
    experience_shares: tuple[tuple[str, float], ...] = (
        ("noExperience", 0.28),
        ("between1And3", 0.42),
        ("between3And6", 0.24),
        ("moreThan6", 0.06),
    )
    # Median monthly salary in roubles by experience; bounds spread around it.
    salary_medians: Mapping[str, float] = field(
        default_factory=lambda: {
            "noExperience": 55_000,
            "between1And3": 80_000,
            "between3And6": 130_000,
            "moreThan6": 200_000,
        }
    )
    salary_share: float = 0.37
    # Units of the currency per 1 RUR, as in /dictionaries.
    currencies: tuple[tuple[str, float, float], ...] = (
        ("RUR", 0.93, 1.0),
        ("USD", 0.025, 0.0122),
        ("KZT", 0.02, 6.25),
        ("EUR", 0.01, 0.0105),
        ("BYR", 0.008, 0.0356),
        ("UZS", 0.004, 143.0),
        ("KGS", 0.003, 1.07),
    )
    modern_share: float = 0.8
    pre_2021_share: float = 0.03
    anonymous_share: float = 0.01
    second_role_share: float = 0.08
    non_monthly_share: float = 0.05

    @classmethod
    def from_items(
        cls, items: Iterable[Mapping], areas_tree: list | None = None
    ) -> Distributions:
        """Measure the shares from real search items; names come from `areas_tree`."""
        items = list(items)
        area_names = _area_names(areas_tree or [])
        areas = Counter()
        roles = Counter()
        role_names: dict[int, str] = {}
        experience = Counter()
        currencies = Counter()
        salaried = modern = anonymous = 0
        for item in items:
            area = item.get("area") or {}
            area_id = int(area.get("id", 0))
            areas[area_id] += 1
            area_names.setdefault(area_id, area.get("name", str(area_id)))
            for role in item.get("professional_roles") or ():
                roles[int(role["id"])] += 1
                role_names[int(role["id"])] = role.get("name", role["id"])
            if item.get("experience"):
                experience[item["experience"]["id"]] += 1
            salary = item.get("salary_range") or item.get("salary")
            if salary and (salary.get("from") or salary.get("to")):
                salaried += 1
                currencies[salary.get("currency") or "RUR"] += 1
            modern += "salary_range" in item
            anonymous += not (item.get("employer") or {}).get("id")
        defaults = cls()
        total = max(len(items), 1)
        return cls(
            areas=tuple((a, area_names[a]) for a, _ in areas.most_common()),
            area_weights=tuple(float(n) for _, n in areas.most_common()),
            roles=tuple((r, role_names[r]) for r, _ in roles.most_common())
            or defaults.roles,
            role_weights=tuple(float(n) for _, n in roles.most_common())
            or defaults.role_weights,
            experience_shares=tuple(
                (e, n / max(experience.total(), 1)) for e, n in experience.items()
            )
            or defaults.experience_shares,
            salary_medians=_measure_salary_medians(items, defaults.salary_medians),
            salary_share=salaried / total,
            currencies=_measure_currency_shares(currencies, defaults.currencies),
            modern_share=modern / total,
            anonymous_share=max(anonymous / total, 0.002),
        )


def _area_names(areas_tree: list) -> dict[int, str]:
    names: dict[int, str] = {}
    stack = list(areas_tree)
    while stack:
        node = stack.pop()
        names[int(node["id"])] = node["name"]
        stack.extend(node.get("areas") or ())
    return names


def _measure_salary_medians(
    items: list[Mapping], defaults: Mapping[str, float]
) -> dict[str, float]:
    by_experience: dict[str, list[float]] = {}
    for item in items:
        salary = item.get("salary_range") or item.get("salary") or {}
        mode = (salary.get("mode") or {}).get("id", "MONTH")
        if salary.get("currency") != "RUR" or mode != "MONTH":
            continue
        bounds = [b for b in (salary.get("from"), salary.get("to")) if b]
        experience = (item.get("experience") or {}).get("id")
        if bounds and experience:
            by_experience.setdefault(experience, []).append(sum(bounds) / len(bounds))
    medians = dict(defaults)
    for experience, values in by_experience.items():
        if len(values) >= 10:
            medians[experience] = float(np.median(values))
    return medians


def _measure_currency_shares(
    counts: Counter, defaults: tuple[tuple[str, float, float], ...]
) -> tuple[tuple[str, float, float], ...]:
    rates = {code: rate for code, _, rate in defaults}
    total = counts.total()
    if not total:
        return defaults
    return tuple(
        (code, n / total, rates.get(code, 1.0))
        for code, n in counts.most_common()
        if code in rates
    )


@dataclass(frozen=True)
class Skeleton:
    """The searchable fields of `count` items: epoch seconds, area and role ids."""

    published: np.ndarray
    area_ids: np.ndarray
    role_ids: np.ndarray  # shape (count, MAX_ROLES_PER_ITEM), -1 where absent


def make_publication_cdf(start: datetime, days: float) -> np.ndarray:
    """Cumulative share of publications per minute from `start`, daily and weekly."""
    minutes = np.arange(int(days * 24 * 60))
    moscow_start = start.astimezone(MOSCOW_OFFSET)
    first_minute = moscow_start.hour * 60 + moscow_start.minute
    minute_of_week = (moscow_start.weekday() * 1440 + first_minute + minutes) % 10080
    hourly = np.asarray(HOURLY_PROFILE)[(minute_of_week % 1440) // 60]
    weekly = np.asarray(WEEKDAY_PROFILE)[minute_of_week // 1440]
    cdf = np.cumsum(hourly * weekly)
    return cdf / cdf[-1]


def make_skeleton(
    count: int,
    seed: int,
    now: datetime,
    days: float = 30,
    distributions: Distributions | None = None,
) -> Skeleton:
    """Draw the searchable fields of items 0..count-1 (the same for any chunking)."""
    dist = distributions or Distributions()
    start = now - timedelta(days=days)
    cdf = make_publication_cdf(start, days)
    parts = [
        _make_skeleton_chunk(
            dist, cdf, start, seed, first, min(CHUNK_SIZE, count - first)
        )
        for first in range(0, count, CHUNK_SIZE)
    ]
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return Skeleton(empty, empty, np.zeros((0, MAX_ROLES_PER_ITEM), np.int64))
    return Skeleton(
        published=np.concatenate([p.published for p in parts]),
        area_ids=np.concatenate([p.area_ids for p in parts]),
        role_ids=np.concatenate([p.role_ids for p in parts]),
    )


def _make_skeleton_chunk(
    dist: Distributions,
    cdf: np.ndarray,
    start: datetime,
    seed: int,
    first: int,
    size: int,
) -> Skeleton:
    rng = np.random.default_rng([seed, first // CHUNK_SIZE])
    minute = np.searchsorted(cdf, rng.random(size))
    published = int(start.timestamp()) + minute * 60 + rng.integers(0, 60, size)

    area_ids = np.asarray([a for a, _ in dist.areas], dtype=np.int64)
    area_p = np.asarray(dist.area_weights) / sum(dist.area_weights)
    areas = area_ids[rng.choice(len(area_ids), size=size, p=area_p)]

    role_ids = np.asarray([r for r, _ in dist.roles], dtype=np.int64)
    role_p = np.asarray(dist.role_weights) / sum(dist.role_weights)
    roles = role_ids[rng.choice(len(role_ids), size=(size, 2), p=role_p)]
    single = rng.random(size) >= dist.second_role_share
    roles[single | (roles[:, 1] == roles[:, 0]), 1] = -1
    return Skeleton(published.astype(np.int64), areas, roles)


def make_items(
    count: int,
    seed: int = 0,
    id_start: int = FIRST_SYNTHETIC_ID,
    now: datetime | None = None,
    days: float = 30,
    distributions: Distributions | None = None,
) -> Iterator[dict]:
    """Yield `count` search items published over the `days` before `now`.

    Ids run from `id_start` up (9,000,000,000 by default, a range hh.ru does not
    use); items come chunk by chunk, so memory stays flat for any count.
    """
    dist = distributions or Distributions()
    now = now or datetime.now(MOSCOW_OFFSET)
    start = now - timedelta(days=days)
    cdf = make_publication_cdf(start, days)
    names = VacancyNames(dist)
    for first in range(0, count, CHUNK_SIZE):
        size = min(CHUNK_SIZE, count - first)
        chunk = _make_skeleton_chunk(dist, cdf, start, seed, first, size)
        for offset in range(size):
            index = first + offset
            yield build_item(
                seed,
                index,
                id_start + index,
                int(chunk.published[offset]),
                int(chunk.area_ids[offset]),
                [int(r) for r in chunk.role_ids[offset] if r >= 0],
                dist,
                names,
            )


class VacancyNames:
    """Lookups from ids to the names hh.ru would send, built once per generator."""

    def __init__(self, dist: Distributions) -> None:
        self.area = dict(dist.areas)
        self.role = dict(dist.roles)
        self.experience_ids = [e for e, _ in dist.experience_shares]
        self.experience_weights = [s for _, s in dist.experience_shares]
        self.currency_codes = [c for c, _, _ in dist.currencies]
        self.currency_weights = [s for _, s, _ in dist.currencies]
        self.currency_rates = {c: r for c, _, r in dist.currencies}


def build_item(
    seed: int,
    index: int,
    item_id: int,
    published: int,
    area_id: int,
    role_ids: list[int],
    dist: Distributions,
    names: VacancyNames,
) -> dict:
    """Build one search item; the same arguments always give the same item."""
    rnd = random.Random(seed * 1_000_003 + index)
    generation = _pick_generation(rnd, dist)
    published_at = datetime.fromtimestamp(published, MOSCOW_OFFSET)
    stamp = published_at.strftime("%Y-%m-%dT%H:%M:%S%z")
    role_name = names.role.get(role_ids[0], "Специалист") if role_ids else "Специалист"
    it_role = role_ids[0] if role_ids and role_ids[0] in IT_TITLES else None
    experience_weights = names.experience_weights
    if it_role is not None and len(experience_weights) == len(IT_EXPERIENCE_WEIGHTS):
        experience_weights = IT_EXPERIENCE_WEIGHTS
    experience = rnd.choices(names.experience_ids, experience_weights)[0]
    form = rnd.choices(("FULL", "PART", "PROJECT"), (0.86, 0.1, 0.04))[0]
    work_format = rnd.choices(
        tuple(WORK_FORMAT_NAMES),
        WORK_FORMAT_WEIGHTS if it_role is None else IT_WORK_FORMAT_WEIGHTS,
    )[0]
    title, skills = _pick_title(rnd, it_role, role_name, experience)

    item = {
        "id": str(item_id),
        "premium": False,
        "name": title,
        "department": None,
        "has_test": rnd.random() < 0.05,
        "response_letter_required": rnd.random() < 0.08,
        "area": {
            "id": str(area_id),
            "name": names.area.get(area_id, str(area_id)),
            "url": f"https://api.hh.ru/areas/{area_id}",
        },
        "salary": None,
        "type": {"id": "open", "name": "Открытая"},
        "address": None,
        "response_url": None,
        "sort_point_distance": None,
        "published_at": stamp,
        "created_at": stamp,
        "archived": False,
        "apply_alternate_url": (
            f"https://hh.ru/applicant/vacancy_response?vacancyId={item_id}"
        ),
        "insider_interview": None,
        "url": f"https://api.hh.ru/vacancies/{item_id}?host=hh.ru",
        "alternate_url": f"https://hh.ru/vacancy/{item_id}",
        "relations": [],
        "employer": _make_employer(rnd, dist),
        "snippet": _make_snippet(rnd, skills),
        "contacts": None,
        "schedule": None,
        "accept_incomplete_resumes": rnd.random() < 0.3,
        "employment": {
            "id": EMPLOYMENT_FORMS[form][1],
            "name": EMPLOYMENT_FORMS[form][2],
        },
    }
    if item["employer"].get("id") is None:
        item["type"] = {"id": "anonymous", "name": "Анонимная"}
    if generation != "pre_2021":
        item["experience"] = {"id": experience, "name": EXPERIENCE_NAMES[experience]}
        item["professional_roles"] = [
            {"id": str(r), "name": names.role.get(r, str(r))} for r in role_ids
        ]
    salary_share = dist.salary_share if it_role is None else IT_SALARY_SHARE
    if rnd.random() < salary_share:
        factor = 1.0 if it_role is None else IT_SALARY_FACTOR
        _add_salary(item, rnd, experience, generation, dist, names, factor)
    if generation == "modern":
        _add_modern_work_fields(item, rnd, form, work_format)
    else:
        schedule = (
            "remote"
            if work_format == "REMOTE"
            else rnd.choice(("fullDay", "fullDay", "shift", "flexible"))
        )
        item["schedule"] = {"id": schedule, "name": SCHEDULE_NAMES[schedule]}
    return item


def _pick_generation(rnd: random.Random, dist: Distributions) -> str:
    draw = rnd.random()
    if draw < dist.pre_2021_share:
        return "pre_2021"
    if draw < dist.pre_2021_share + dist.modern_share:
        return "modern"
    return "legacy"


def _pick_title(
    rnd: random.Random, it_role: int | None, role_name: str, experience: str
) -> tuple[str, str]:
    """The vacancy's title and the skills its snippet asks for."""
    if it_role is None:
        title = _vacancy_title(rnd, role_name, experience)
        return title, role_name.split(",")[0]
    return rnd.choices(IT_TITLES[it_role], IT_TITLE_WEIGHTS[it_role])[0]


def _vacancy_title(rnd: random.Random, role_name: str, experience: str) -> str:
    title = role_name.split(",")[0]
    if experience == "moreThan6" and rnd.random() < 0.5:
        return f"Ведущий {title.lower()}"
    if experience == "noExperience" and rnd.random() < 0.3:
        return f"{title} (без опыта)"
    return title


# A third of vacancies come from a few thousand large employers whose sizes fall
# off roughly as 1/rank; the rest from a long tail of small ones, as on hh.ru.
LARGE_EMPLOYER_SHARE = 0.35
LARGE_EMPLOYERS = 3_000
EMPLOYER_RANK_SHIFT = 20
ALL_EMPLOYERS = 250_000


def _draw_employer_number(rnd: random.Random) -> int:
    if rnd.random() < LARGE_EMPLOYER_SHARE:
        span = math.log((LARGE_EMPLOYERS + EMPLOYER_RANK_SHIFT) / EMPLOYER_RANK_SHIFT)
        rank = int(math.exp(rnd.random() * span) * EMPLOYER_RANK_SHIFT)
        return rank - EMPLOYER_RANK_SHIFT + 1
    return rnd.randrange(LARGE_EMPLOYERS + 1, ALL_EMPLOYERS)


def _make_employer(rnd: random.Random, dist: Distributions) -> dict:
    if rnd.random() < dist.anonymous_share:
        return {"name": rnd.choice(ANONYMOUS_EMPLOYERS), "trusted": True}
    number = _draw_employer_number(rnd)
    first, second = EMPLOYER_WORDS
    name = f"{first[number % len(first)]}{second[number // 8 % len(second)]}"
    if number >= 64:
        name = f"{name}-{number // 64}"
    return {
        "id": str(number),
        "name": name,
        "url": f"https://api.hh.ru/employers/{number}",
        "alternate_url": f"https://hh.ru/employer/{number}",
        "logo_urls": None,
        "vacancies_url": f"https://api.hh.ru/vacancies?employer_id={number}",
        "accredited_it_employer": number % 7 == 0,
        "trusted": number % 10 != 0,
    }


def _make_snippet(rnd: random.Random, skills: str) -> dict:
    requirement = None
    if rnd.random() < 0.9:
        requirement = (
            f"Опыт работы по направлению <highlighttext>{skills}"
            "</highlighttext>. Ответственность, внимательность..."
        )
    responsibility = "Выполнение задач отдела, работа с документацией."
    return {"requirement": requirement, "responsibility": responsibility}


def _add_salary(
    item: dict,
    rnd: random.Random,
    experience: str,
    generation: str,
    dist: Distributions,
    names: VacancyNames,
    factor: float = 1.0,
) -> None:
    currency = rnd.choices(names.currency_codes, names.currency_weights)[0]
    median = dist.salary_medians.get(experience, 80_000) * factor
    mode = "MONTH"
    if generation == "modern" and rnd.random() < dist.non_monthly_share:
        mode = rnd.choice(("HOUR", "SHIFT", "SERVICE"))
        median = {"HOUR": 450, "SHIFT": 3_500, "SERVICE": 20_000}[mode]
    amount = median * rnd.lognormvariate(0, 0.35) * names.currency_rates[currency]
    low = _round_salary(amount * rnd.uniform(0.8, 1.0))
    high = _round_salary(amount * rnd.uniform(1.0, 1.3))
    shape = rnd.random()
    salary_from = None if shape < 0.25 else low
    salary_to = None if 0.25 <= shape < 0.55 else high
    gross = rnd.random() < 0.4
    item["salary"] = {
        "from": salary_from,
        "to": salary_to,
        "currency": currency,
        "gross": gross,
    }
    if generation == "modern":
        frequency_id, frequency_name = FREQUENCY_FOR_MODE[mode]
        item["salary_range"] = {
            **item["salary"],
            "mode": {"id": mode, "name": SALARY_MODE_NAMES[mode]},
            "frequency": {"id": frequency_id, "name": frequency_name},
        }


def _round_salary(amount: float) -> int:
    step = 1_000 if amount >= 10_000 else 10
    return max(step, int(round(amount / step)) * step)


def _add_modern_work_fields(
    item: dict, rnd: random.Random, form: str, work_format: str
) -> None:
    item.setdefault("salary_range", None)
    item["employment_form"] = {"id": form, "name": EMPLOYMENT_FORMS[form][0]}
    item["work_format"] = [{"id": work_format, "name": WORK_FORMAT_NAMES[work_format]}]
    item["working_hours"] = [{"id": "HOURS_8", "name": "8 часов"}]
    item["work_schedule_by_days"] = [{"id": "FIVE_ON_TWO_OFF", "name": "5/2"}]
    item["working_days"] = []
    item["working_time_intervals"] = []
    item["working_time_modes"] = []
    item["fly_in_fly_out_duration"] = []
    item["night_shifts"] = False
    item["internship"] = False
    if rnd.random() < 0.15:
        schedule = "remote" if work_format == "REMOTE" else "fullDay"
        item["schedule"] = {"id": schedule, "name": SCHEDULE_NAMES[schedule]}

"""Staging, deduplication and the merge: closing, reopening, demo deletion."""

from __future__ import annotations

import gc
import signal
from datetime import datetime

import pytest
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.orm import Session

from etl.load import STAGING_GC_THRESHOLD
from etl.load import ClosingScope
from etl.load import StagingFile
from etl.load import collecting_garbage_rarely
from etl.load import open_staging
from etl.load import open_write_session
from etl.load import roll_back_final_write
from etl.load import save_staged_refresh
from etl.transform import RefreshContext
from etl.transform import StagedRows
from etl.transform import add_item_rows
from etl.validate import RejectTally
from etl.validate import check_item
from etl.validate import format_db_time
from services.schema import Employer
from services.schema import Salary
from services.schema import Vacancy
from services.schema import VacancyRole
from services.schema import VacancyWorkFormat

pytestmark = pytest.mark.db

FIRST = datetime(2026, 3, 10, 9, 0)
SECOND = datetime(2026, 3, 11, 9, 0)
THIRD = datetime(2026, 3, 12, 9, 0)
WHOLE_WINDOW = ClosingScope(
    role_ids=(), published_from=datetime(2000, 1, 1), published_to=datetime(2030, 1, 1)
)


def make_item(vacancy_id: int, area: int = 1, published: str = "10:00", **extra):
    return {
        "id": str(vacancy_id),
        "name": f"Вакансия {vacancy_id}",
        "area": {"id": str(area), "name": "Москва"},
        "published_at": f"2026-03-01T{published}:00+0300",
        "employer": {"id": "77", "name": "Работодатель", "trusted": True},
        "salary": {"from": 100_000, "to": None, "currency": "RUR", "gross": True},
        "professional_roles": [{"id": "96", "name": "Программист"}],
        **extra,
    }


def run_load(
    engine, tmp_path, items, now, closing=WHOLE_WINDOW, real=True, kind="native"
):
    """Stage `items` as a refresh does ("native": temporary tables on
    PostgreSQL) or through the staging file ("file"), then merge them."""
    if kind == "file":
        staging = StagingFile(tmp_path / "staging")
    else:
        staging = open_staging(engine, tmp_path / "staging")
    context = RefreshContext(rates={"RUR": 1.0}, now=format_db_time(now))
    rows = StagedRows()
    for seq, item in enumerate(items):
        add_item_rows(item, check_item(item, RejectTally()), seq, rows, context)
    staging.save_rows(rows)
    staging.save_labels(context.labels)
    staging.save_scope_areas([113, 1, 2])
    duplicates = staging.settle_duplicates()
    try:
        with open_write_session(engine, staging) as session:
            counts = save_staged_refresh(session, staging, now, closing, real)
            session.commit()
    finally:
        staging.close()
    return counts, duplicates


def get_vacancies(engine) -> dict[int, tuple]:
    with Session(engine) as session:
        rows = session.execute(
            select(Vacancy.id, Vacancy.name, Vacancy.first_seen_at,
                   Vacancy.last_seen_at, Vacancy.closed_at)
        )  # fmt: skip
        return {row.id: tuple(row)[1:] for row in rows}


def test_closing_and_reopening_across_refreshes(engine, tmp_path):
    run_load(engine, tmp_path, [make_item(1), make_item(2), make_item(3)], FIRST)
    counts, _ = run_load(engine, tmp_path, [make_item(1), make_item(2)], SECOND)

    assert counts.as_dict() == {
        "written": 2, "new": 0, "reopened": 0, "closed": 1, "demo_deleted": 0
    }  # fmt: skip
    assert get_vacancies(engine)[3] == ("Вакансия 3", FIRST, FIRST, SECOND)

    counts, _ = run_load(engine, tmp_path, [make_item(3, name="Снова")], THIRD)

    assert (counts.reopened, counts.closed) == (1, 2)
    assert get_vacancies(engine) == {
        1: ("Вакансия 1", FIRST, SECOND, THIRD),
        2: ("Вакансия 2", FIRST, SECOND, THIRD),
        3: ("Снова", FIRST, THIRD, None),
    }


def test_partial_refresh_closes_nothing(engine, tmp_path):
    run_load(engine, tmp_path, [make_item(1), make_item(2)], FIRST)
    counts, _ = run_load(engine, tmp_path, [make_item(1)], SECOND, closing=None)

    assert counts.closed == 0
    assert get_vacancies(engine)[2] == ("Вакансия 2", FIRST, FIRST, None)


def test_closing_stays_inside_the_scope(engine, tmp_path):
    outside_area = make_item(5, area=40)
    outside_window = make_item(6, published="12:00")
    run_load(engine, tmp_path, [make_item(1), outside_area, outside_window], FIRST)
    narrow = ClosingScope((), datetime(2026, 3, 1, 6, 0), datetime(2026, 3, 1, 8, 0))
    items = [make_item(1, published="09:30")]
    counts, _ = run_load(engine, tmp_path, items, SECOND, closing=narrow)

    assert counts.closed == 0
    assert {key: value[3] for key, value in get_vacancies(engine).items()} == {
        1: None, 5: None, 6: None
    }  # fmt: skip


def test_closing_by_role_only_touches_that_role(engine, tmp_path):
    analyst = make_item(2, professional_roles=[{"id": "10", "name": "Аналитик"}])
    run_load(engine, tmp_path, [make_item(1), analyst], FIRST)
    by_role = ClosingScope(
        (96,), WHOLE_WINDOW.published_from, WHOLE_WINDOW.published_to
    )
    counts, _ = run_load(engine, tmp_path, [], SECOND, closing=by_role)

    assert counts.closed == 1
    assert get_vacancies(engine)[2][3] is None


@pytest.mark.parametrize("kind", ["native", "file"])
def test_duplicates_latest_publication_wins_ties_go_first(engine, tmp_path, kind):
    items = [
        make_item(1, published="10:00", name="old"),
        make_item(1, published="11:00", name="republished"),
        make_item(2, published="10:00", name="first"),
        make_item(2, published="10:00", name="second"),
    ]
    counts, duplicates = run_load(engine, tmp_path, items, FIRST, kind=kind)

    assert (counts.written, duplicates) == (2, 2)
    names = {key: value[0] for key, value in get_vacancies(engine).items()}
    assert names == {1: "republished", 2: "first"}


def test_archived_item_is_loaded_closed(engine, tmp_path):
    run_load(engine, tmp_path, [make_item(1, archived=True)], FIRST)

    assert get_vacancies(engine)[1][3] == FIRST


def test_demo_rows_are_deleted_by_a_real_refresh(engine, tmp_path):
    demo = [make_item(9_000_000_001), make_item(9_000_000_002)]
    run_load(engine, tmp_path, demo, FIRST, closing=None, real=False)
    counts, _ = run_load(engine, tmp_path, [make_item(1)], SECOND, closing=None)

    assert counts.demo_deleted == 2
    assert set(get_vacancies(engine)) == {1}
    with Session(engine) as session:
        assert session.scalars(select(Salary.vacancy_id)).all() == [1]


def get_salaries_and_links(engine) -> tuple[dict, set, set]:
    with Session(engine) as session:
        salaries = {
            row.vacancy_id: (row.salary_from, row.currency, row.excluded)
            for row in session.execute(select(Salary)).scalars()
        }
        formats = set(
            session.execute(
                select(VacancyWorkFormat.vacancy_id, VacancyWorkFormat.work_format)
            )
        )
        roles = set(session.execute(select(VacancyRole.vacancy_id,
                                           VacancyRole.role_id)))  # fmt: skip
    return salaries, {tuple(f) for f in formats}, {tuple(r) for r in roles}


@pytest.mark.parametrize("kind", ["native", "file"])
def test_second_refresh_rewrites_what_changed_and_keeps_the_rest(
    engine, tmp_path, kind
):
    remote = [{"id": "REMOTE", "name": "Удалённо"}]
    first = [
        make_item(1, work_format=remote),
        make_item(2),
        make_item(3, professional_roles=[{"id": "10"}, {"id": "96"}]),
    ]
    run_load(engine, tmp_path, first, FIRST, kind=kind)
    second = [
        make_item(1),
        make_item(2, salary={"from": 120_000, "currency": "USD"}),
        make_item(3, professional_roles=[{"id": "10"}], salary=None),
    ]

    counts, _ = run_load(engine, tmp_path, second, SECOND, kind=kind)

    assert counts.as_dict() == {
        "written": 3, "new": 0, "reopened": 0, "closed": 0, "demo_deleted": 0
    }  # fmt: skip
    # Unchanged vacancies are seen again; changed content replaces the old.
    assert {key: value[2] for key, value in get_vacancies(engine).items()} == {
        1: SECOND, 2: SECOND, 3: SECOND
    }  # fmt: skip
    assert get_salaries_and_links(engine) == (
        {1: (100_000.0, "RUR", None), 2: (120_000.0, "USD", "unknown_currency")},
        set(),
        {(1, 96), (2, 96), (3, 10)},
    )


def test_rows_stored_without_a_content_hash_are_compared_in_full(engine, tmp_path):
    items = [make_item(1), make_item(2)]
    run_load(engine, tmp_path, items, FIRST)
    with Session(engine) as session:
        # As a database migrated from before the digest holds them.
        session.execute(update(Vacancy).values(content_hash=None))
        session.execute(delete(VacancyRole).where(VacancyRole.vacancy_id == 1))
        session.commit()

    run_load(engine, tmp_path, items, SECOND)

    assert get_salaries_and_links(engine)[2] == {(1, 96), (2, 96)}
    with Session(engine) as session:
        hashes = session.scalars(select(Vacancy.content_hash)).all()
    assert None not in hashes and len(set(hashes)) == 2


def test_database_staging_reuses_a_connection_the_file_staging_used(engine, tmp_path):
    # On PostgreSQL the pooled connection already holds temporary tables of
    # the file staging's merge: the database staging replaces them.
    run_load(engine, tmp_path, [make_item(1)], FIRST, kind="file")
    counts, _ = run_load(engine, tmp_path, [make_item(1), make_item(2)], SECOND)

    assert (counts.written, counts.new) == (2, 1)
    assert {key: value[2] for key, value in get_vacancies(engine).items()} == {
        1: SECOND, 2: SECOND
    }  # fmt: skip


def get_employers(engine) -> dict[str, tuple]:
    with Session(engine) as session:
        rows = session.execute(select(Employer.id, Employer.name, Employer.trusted))
        return {row.id: (row.name, row.trusted) for row in rows}


def test_employers_follow_their_vacancies(engine, tmp_path):
    run_load(engine, tmp_path, [make_item(1)], FIRST)
    untrusted = {"id": "77", "name": "Работодатель", "trusted": False}
    renamed = {"id": "78", "name": "Новое имя"}
    items = [make_item(1, employer=untrusted), make_item(2, employer=renamed)]

    run_load(engine, tmp_path, items, SECOND)

    assert get_employers(engine) == {
        "77": ("Работодатель", False), "78": ("Новое имя", False)
    }  # fmt: skip


@pytest.mark.parametrize("kind", ["native", "file"])
def test_an_employer_named_twice_keeps_the_name_first_in_plan_order(
    engine, tmp_path, kind
):
    first = {"id": "90", "name": "Первое имя", "trusted": True}
    second = {"id": "90", "name": "Второе имя", "trusted": False}
    items = [make_item(1, employer=first), make_item(2, employer=second)]

    run_load(engine, tmp_path, items, FIRST, kind=kind)

    assert get_employers(engine)["90"] == ("Первое имя", True)


@pytest.mark.parametrize("kind", ["native", "file"])
def test_link_ids_with_odd_characters_are_stored_as_sent(engine, tmp_path, kind):
    odd = [{"id": 'ON,"SITE"\\x'}, {"id": "ДОМА {1}"}]

    run_load(engine, tmp_path, [make_item(1, work_format=odd)], FIRST, kind=kind)

    with Session(engine) as session:
        stored = session.scalars(select(VacancyWorkFormat.work_format)).all()
    assert sorted(stored) == sorted(['ON,"SITE"\\x', "ДОМА {1}"])


class SignalInterruptError(Exception):
    """What a signal handler raises in the middle of a statement."""


def _raise_interrupted(signum, frame):
    raise SignalInterruptError()


def test_a_final_write_interrupted_inside_a_statement_is_rolled_back(engine, tmp_path):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite finishes a statement before Python sees a signal")
    run_load(engine, tmp_path, [make_item(1)], FIRST)
    staging = open_staging(engine, tmp_path / "staging")
    previous = signal.signal(signal.SIGALRM, _raise_interrupted)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        session = open_write_session(engine, staging)
        with pytest.raises(SignalInterruptError), session:
            try:
                session.execute(text("UPDATE vacancies SET name = 'half-written'"))
                session.execute(text("SELECT pg_sleep(10)"))
            except BaseException:
                roll_back_final_write(session, staging)
                raise
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        staging.close()

    # The interrupted transaction is gone: its row lock too.
    with Session(engine) as session:
        session.execute(text("SET lock_timeout = '3s'"))
        session.execute(text("UPDATE vacancies SET closed_at = NULL WHERE id = 1"))
        session.commit()
    assert get_vacancies(engine)[1][0] == "Вакансия 1"


def test_garbage_collection_is_restored_after_staging():
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()

    with collecting_garbage_rarely():
        assert gc.get_threshold()[0] == STAGING_GC_THRESHOLD
        assert gc.get_freeze_count() > frozen

    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == frozen


def test_garbage_collection_is_restored_when_staging_fails():
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()

    with pytest.raises(RuntimeError), collecting_garbage_rarely():
        raise RuntimeError("a page could not be staged")

    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == frozen

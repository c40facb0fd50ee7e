"""Downloads: statistics and vacancies, CSV with BOM and XLSX, the row cap."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import create_app
from dashboard.downloads import ROW_LIMIT_CONFIG
from services.db import session_scope
from services.schema import JournalEntry
from services.settings import Settings
from tests.browser.sample_data import add_sample_vacancies

pytestmark = pytest.mark.db

BOM = "\ufeff".encode()
FILES = ("stats.csv", "stats.xlsx", "vacancies.csv", "vacancies.xlsx")

# Design §7 names these columns; the test spells them out on purpose.
VACANCY_COLUMNS = (
    "id",
    "name",
    "employer",
    "area",
    "published_at",
    "experience",
    "salary_from",
    "salary_to",
    "currency",
    "gross",
    "mode",
    "monthly_rub",
    "url",
)


@pytest.fixture
def server(database_url, engine, tmp_path):
    with session_scope(engine) as session:
        add_sample_vacancies(session)
    settings = Settings(
        database_url=database_url, public_dashboard=True, instance_dir=tmp_path
    )
    return create_app(settings)


@pytest.fixture
def client(server):
    return server.test_client()


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body[len(BOM) :].decode("utf-8"))))


def read_xlsx(body: bytes) -> dict[str, list[tuple]]:
    workbook = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    return {
        sheet.title: list(sheet.iter_rows(values_only=True))
        for sheet in workbook.worksheets
    }


def test_vacancies_csv_has_bom_columns_and_the_selection(client):
    response = client.get("/download/vacancies.csv?area=1")

    rows = read_csv(response.data)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="vacancies.csv"'
    )
    assert response.headers["X-Download-Truncated"] == "false"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert rows[0] == list(VACANCY_COLUMNS)
    assert len(rows) == 1 + 6
    # Newest first: the first Moscow vacancy was published on 12 March.
    assert rows[1] == [
        "900000001",
        "Python-разработчик 900000001",
        "Яндекс",
        "Москва",
        "2025-03-12T09:00:00Z",
        "between1And3",
        "100000.0",
        "100000.0",
        "RUR",
        "False",
        "MONTH",
        "100000.0",
        "https://hh.ru/vacancy/900000001",
    ]


def test_vacancies_xlsx_is_readable_with_the_same_rows(client):
    response = client.get("/download/vacancies.xlsx?area=2")

    sheets = read_xlsx(response.data)
    assert list(sheets) == ["vacancies"]
    assert sheets["vacancies"][0] == VACANCY_COLUMNS
    assert [row[0] for row in sheets["vacancies"][1:]] == [
        900000007,
        900000008,
        900000009,
        900000010,
        900000011,
    ]


@pytest.mark.parametrize("file_name", ["vacancies.csv", "vacancies.xlsx"])
def test_vacancy_downloads_stop_at_the_row_limit_and_say_so(server, file_name):
    server.config[ROW_LIMIT_CONFIG] = 3

    response = server.test_client().get(f"/download/{file_name}")

    assert response.headers["X-Download-Truncated"] == "true"
    assert response.headers["X-Download-Rows"] == "3"
    note = (
        "# truncated: only the first 3 vacancies (newest first); "
        "narrow the filters to get the rest"
    )
    if file_name.endswith(".csv"):
        rows = read_csv(response.data)
        assert len(rows) == 1 + 3 + 1
        assert rows[-1] == [note]
    else:
        sheets = read_xlsx(response.data)
        assert len(sheets["vacancies"]) == 1 + 3
        assert sheets["note"] == [("note",), (note,)]


def test_stats_csv_lists_summary_and_breakdowns(client):
    response = client.get("/download/stats.csv?area=1")

    rows = read_csv(response.data)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert rows[0] == [
        "section", "id", "name", "vacancies", "n", "p25", "p50", "p75", "value"
    ]  # fmt: skip
    summary = {row[1]: row[8] for row in rows if row[0] == "summary"}
    assert all(row[2:8] == [""] * 6 for row in rows if row[0] == "summary")
    assert summary["vacancies"] == "6"
    assert summary["salary_p50"] == "125000.0"
    assert summary["salary_n"] == "6"
    top_areas = [row for row in rows if row[0] == "top_areas"]
    assert top_areas == [
        ["top_areas", "1", "Москва", "6", "6", "112500.0", "125000.0", "137500.0", ""]
    ]


def test_stats_xlsx_has_one_sheet_per_table(client):
    response = client.get("/download/stats.xlsx")

    sheets = read_xlsx(response.data)
    assert list(sheets) == [
        "summary",
        "experience",
        "employment_form",
        "work_format",
        "top_areas",
        "top_employers",
        "weekly",
        "histogram",
    ]
    assert sheets["top_employers"][1] == (
        "10",
        "Яндекс",
        6,
        6,
        112500,
        125000,
        137500,
    )


@pytest.mark.parametrize("file_name", FILES)
@pytest.mark.parametrize(
    ("query", "error"),
    [
        (
            "area=abc",
            {
                "param": "area",
                "value": "abc",
                "message": "'abc' is not a numeric hh.ru id",
            },
        ),
        (
            "status=open&status=all",
            {
                "param": "status",
                "value": "all",
                "message": "status is given 2 times; give it once",
            },
        ),
        (
            "published_from=0001-01-01",
            {
                "param": "published_from",
                "value": "0001-01-01",
                "message": "'0001-01-01' is outside 2000-01-01 .. 2100-12-31",
            },
        ),
    ],
    ids=["bad-id", "repeated-single", "date-out-of-range"],
)
def test_bad_parameters_answer_400_json(client, file_name, query, error):
    response = client.get(f"/download/{file_name}?{query}")

    assert response.status_code == 400
    assert response.get_json() == {"error": error}


@pytest.mark.parametrize("file_name", FILES)
def test_each_download_is_journalled_once_with_its_filters(server, engine, file_name):
    answer = server.test_client().get(f"/download/{file_name}?area=1&basis=gross")

    assert answer.status_code == 200
    with Session(engine) as session:
        rows = session.scalars(select(JournalEntry)).all()
    assert [(row.action, row.details) for row in rows] == [
        (
            "export",
            {"file": file_name, "filters": [["area", "1"], ["basis", "gross"]]},
        )
    ]

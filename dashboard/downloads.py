"""Downloads of the analytics page: statistics and vacancies, CSV and XLSX.

Every file takes the page's query parameters (design §6); a malformed one is
answered with 400 and the API's error object. CSV files are UTF-8 with a BOM
(so spreadsheet programs read Cyrillic correctly) and comma-separated. The
vacancy list stops at 100,000 rows: the `X-Download-Truncated` header says
so, and so does a last line of the CSV or a note sheet of the XLSX.
"""

from __future__ import annotations

import io
import logging

import pandas as pd
from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request
from flask import stream_with_context

from services.analytics import DOWNLOAD_COLUMNS
from services.analytics import get_filtered_vacancies
from services.analytics import get_stats
from services.filters import Filters
from services.filters import parse_filters
from services.runtime import current_settings
from services.runtime import request_session

logger = logging.getLogger(__name__)

DOWNLOAD_ROW_LIMIT = 100_000
ROW_LIMIT_CONFIG = "DOWNLOAD_ROW_LIMIT"
CSV_CHUNK_ROWS = 5_000
BOM = "\ufeff"
# Werkzeug appends "; charset=utf-8" to text types itself.
CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The columns of design §7, in the order the model returns them.
VACANCY_COLUMNS = DOWNLOAD_COLUMNS
STAT_COLUMNS = (
    "section", "id", "name", "vacancies", "n", "p25", "p50", "p75", "value"
)  # fmt: skip

downloads = Blueprint("downloads", __name__, url_prefix="/download")


def init_downloads(server) -> None:
    """Register the /download/* routes on the Flask server."""
    server.register_blueprint(downloads)


def _parse_or_error() -> tuple[Filters | None, Response | None]:
    filters, errors = parse_filters(request.args)
    if not errors:
        return filters, None
    first = errors[0]
    body = {
        "error": {"param": first.param, "value": first.value, "message": first.message}
    }
    return None, (jsonify(body), 400)


def _attachment(body, mimetype: str, file_name: str, **headers) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name}"'
    response.headers.update(headers)
    return response


# --- statistics ------------------------------------------------------------------


def make_stats_sheets(stats: dict) -> dict[str, pd.DataFrame]:
    """The statistics answer as named tables: a summary, then one per breakdown."""
    salary = stats["salary"]
    summary = {
        "vacancies": stats["vacancies"],
        "employer_count": stats["employer_count"],
        "with_salary": stats["with_salary"],
        "disclosure_rate": stats["disclosure_rate"],
        "basis": salary["basis"],
        "view": salary["view"],
        "salary_n": salary["n"],
        "salary_low_confidence": salary["low_confidence"],
        **{f"salary_{key}": salary[key] for key in _PERCENTILE_KEYS},
        **{f"excluded_{key}": value for key, value in salary["excluded"].items()},
        "outside_russia": salary["outside_russia"],
        "data_version": stats["data"]["version"],
        "refreshed_at": stats["data"]["refreshed_at"],
        "dataset": stats["data"]["dataset"],
    }
    sheets = {
        "summary": pd.DataFrame(
            {"metric": list(summary), "value": list(summary.values())}
        )
    }
    for section in _BREAKDOWNS:
        sheets[section] = _breakdown_frame(stats[section])
    sheets["weekly"] = pd.DataFrame(
        stats["weekly"], columns=["week", "vacancies", "n", "p50"]
    )
    sheets["histogram"] = _histogram_frame(salary["histogram"])
    return sheets


_PERCENTILE_KEYS = ("mean", "p10", "p25", "p50", "p75", "p90")
_BREAKDOWNS = (
    "experience",
    "employment_form",
    "work_format",
    "top_areas",
    "top_employers",
)


def _breakdown_frame(rows: list[dict]) -> pd.DataFrame:
    columns = ["id", "name", "vacancies", "n", "p25", "p50", "p75"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["name"] = frame["name"].where(frame["name"].notna(), frame["id"])
    return frame


def _histogram_frame(histogram: dict) -> pd.DataFrame:
    edges, counts = histogram["edges"], histogram["counts"]
    upper = [edges[i + 1] if i + 1 < len(edges) else None for i in range(len(counts))]
    if counts and len(edges) == len(counts) + 1:
        upper[-1] = None
    return pd.DataFrame(
        {"from_rub": edges[: len(counts)], "to_rub": upper, "vacancies": counts}
    )


def make_stats_csv(sheets: dict[str, pd.DataFrame]) -> str:
    """One CSV of every table, in long form with a `section` column."""
    parts = []
    for section, frame in sheets.items():
        if section in _BREAKDOWNS:
            parts.append(frame.assign(section=section))
    # A headline figure is a metric (id) and its value; breakdown rows leave
    # the value empty, and the summary rows the breakdown columns.
    long_form = pd.concat(parts, ignore_index=True).reindex(columns=STAT_COLUMNS)
    summary = sheets["summary"].rename(columns={"metric": "id"})
    summary = summary.assign(section="summary")
    text = pd.concat([summary, long_form], ignore_index=True)
    # Counts stay whole numbers although the summary rows leave them empty.
    text = text.astype({"vacancies": "Int64", "n": "Int64"})
    return BOM + text.loc[:, list(STAT_COLUMNS)].to_csv(index=False)


def make_xlsx(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An XLSX workbook with one sheet per table."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name[:31], index=False)
    return buffer.getvalue()


@downloads.get("/stats.csv")
def download_stats_csv():
    filters, error = _parse_or_error()
    if error:
        return error
    stats = get_stats(request_session(), filters, current_settings())
    body = make_stats_csv(make_stats_sheets(stats))
    return _attachment(body.encode("utf-8"), CSV_TYPE, "stats.csv")


@downloads.get("/stats.xlsx")
def download_stats_xlsx():
    filters, error = _parse_or_error()
    if error:
        return error
    stats = get_stats(request_session(), filters, current_settings())
    body = make_xlsx(make_stats_sheets(stats))
    return _attachment(body, XLSX_TYPE, "stats.xlsx")


# --- vacancies -------------------------------------------------------------------


def _row_limit() -> int:
    return int(current_app.config.get(ROW_LIMIT_CONFIG, DOWNLOAD_ROW_LIMIT))


def _get_vacancy_rows(file_name: str):
    filters, error = _parse_or_error()
    if error:
        return None, False, error
    limit = _row_limit()
    frame, truncated = get_filtered_vacancies(
        request_session(), filters, current_settings(), limit=limit
    )
    frame = frame.loc[:, list(VACANCY_COLUMNS)]
    logger.info(
        "download %s: %d rows%s",
        file_name,
        len(frame),
        " (truncated)" if truncated else "",
    )
    return frame, truncated, None


def truncation_note(limit: int) -> str:
    return (
        f"# truncated: only the first {limit} vacancies (newest first); "
        "narrow the filters to get the rest"
    )


def stream_vacancy_csv(frame: pd.DataFrame, truncated: bool, limit: int):
    """Yield the CSV in chunks: BOM and header, the rows, then any truncation note."""
    yield BOM + ",".join(VACANCY_COLUMNS) + "\n"
    for start in range(0, len(frame), CSV_CHUNK_ROWS):
        chunk = frame.iloc[start : start + CSV_CHUNK_ROWS]
        yield chunk.to_csv(header=False, index=False)
    if truncated:
        yield truncation_note(limit) + "\n"


def _truncation_headers(frame: pd.DataFrame, truncated: bool) -> dict[str, str]:
    return {
        "X-Download-Rows": str(len(frame)),
        "X-Download-Truncated": "true" if truncated else "false",
    }


@downloads.get("/vacancies.csv")
def download_vacancies_csv():
    frame, truncated, error = _get_vacancy_rows("vacancies.csv")
    if error:
        return error
    body = stream_vacancy_csv(frame, truncated, _row_limit())
    return _attachment(
        stream_with_context(_encode(body)),
        CSV_TYPE,
        "vacancies.csv",
        **_truncation_headers(frame, truncated),
    )


def _encode(chunks):
    for chunk in chunks:
        yield chunk.encode("utf-8")


@downloads.get("/vacancies.xlsx")
def download_vacancies_xlsx():
    frame, truncated, error = _get_vacancy_rows("vacancies.xlsx")
    if error:
        return error
    sheets = {"vacancies": frame}
    if truncated:
        sheets["note"] = pd.DataFrame({"note": [truncation_note(_row_limit())]})
    return _attachment(
        make_xlsx(sheets),
        XLSX_TYPE,
        "vacancies.xlsx",
        **_truncation_headers(frame, truncated),
    )

"""The admin's control of data refreshes: start, watch, cancel, mark the dead.

A refresh runs as its own process (`python -m etl.refresh`) in a new session,
so a web worker restart does not kill it; the run reports through its
`refresh_runs` row, which is all the admin page reads.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.users import AccountError
from dashboard.format import format_count
from dashboard.i18n import register_messages
from dashboard.i18n import request_language
from dashboard.i18n import translate
from services.schema import Area
from services.schema import RefreshRun
from services.settings import PROJECT_ROOT
from services.settings import Settings
from services.state import is_flag_stale
from services.timeutil import utc_now

logger = logging.getLogger(__name__)

MAX_SCOPE_IDS = 50
# hh.ru area and role ids fit a signed 32-bit integer, as do the columns that
# store them; anything larger is a typo and would crash the refresh later.
MAX_HH_ID = 2**31 - 1
MAX_DAYS = 3650
RUNS_SHOWN = 20
STALE_ERROR = "the refresh process stopped reporting (heartbeat lost); marked failed"
# What the next refresh writes in the row of a run whose process is gone.
DEAD_RUN_ERROR = "the refresh process stopped without finishing"

LOG_TAIL_LINES = 8
EXIT_CODES_KEPT = 20

# Popen handles of started refreshes, polled so finished children are reaped,
# and the exit codes of the last reaped ones by pid, for the admin page.
_children: list[subprocess.Popen] = []
_exit_codes: dict[int, int] = {}


class MissingUserAgentError(Exception):
    """A refresh cannot start: the settings have no HH_USER_AGENT."""


@dataclass(frozen=True)
class RefreshScope:
    """What an admin asked to refresh: areas, professional roles, last days."""

    areas: tuple[int, ...] = ()
    roles: tuple[int, ...] = ()
    days: int | None = None

    def to_arguments(self) -> list[str]:
        arguments: list[str] = []
        for area in self.areas:
            arguments += ["--area", str(area)]
        for role in self.roles:
            arguments += ["--role", str(role)]
        if self.days is not None:
            arguments += ["--days", str(self.days)]
        return arguments


def _read_ids(raw: str) -> tuple[int, ...]:
    parts = [part.strip() for part in (raw or "").replace(" ", ",").split(",")]
    ids = [part for part in parts if part]
    if len(ids) > MAX_SCOPE_IDS or not all(part.isdigit() for part in ids):
        raise AccountError("scope_invalid", f"bad id list {raw!r}")
    numbers = tuple(dict.fromkeys(int(part) for part in ids))
    if not all(is_hh_id(number) for number in numbers):
        raise AccountError("scope_id_range", f"id out of range in {raw!r}")
    return numbers


def is_hh_id(number: int) -> bool:
    """Whether a number can be an hh.ru area or professional role id."""
    return 1 <= number <= MAX_HH_ID


def parse_refresh_scope(areas: str, roles: str, days: str) -> RefreshScope:
    """Read the admin's form; raises AccountError for anything but ids and days."""
    days = (days or "").strip()
    if days and (not days.isdigit() or not 1 <= int(days) <= MAX_DAYS):
        raise AccountError("scope_invalid", f"bad number of days {days!r}")
    return RefreshScope(
        areas=_read_ids(areas),
        roles=_read_ids(roles),
        days=int(days) if days else None,
    )


def get_runs(session: Session, limit: int = RUNS_SHOWN) -> list[RefreshRun]:
    statement = select(RefreshRun).order_by(RefreshRun.id.desc()).limit(limit)
    return list(session.execute(statement).scalars())


def get_running_run(session: Session) -> RefreshRun | None:
    statement = (
        select(RefreshRun)
        .where(RefreshRun.status == "running")
        .order_by(RefreshRun.id.desc())
    )
    return session.execute(statement.limit(1)).scalar_one_or_none()


def save_stale_runs_failed(session: Session, stale_seconds: float) -> int:
    """Mark `running` rows whose heartbeat stopped as failed; returns how many."""
    now = utc_now()
    marked = 0
    statement = select(RefreshRun).where(RefreshRun.status == "running")
    for run in session.execute(statement).scalars():
        if is_flag_stale(run.heartbeat_at or run.started_at, stale_seconds, now):
            run.status = "failed"
            run.finished_at = now
            run.error = run.error or STALE_ERROR
            marked += 1
            logger.info("refresh run %s marked failed: heartbeat lost", run.id)
    return marked


def _refresh_environment(settings: Settings, started_by: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        INSTANCE_DIR=str(settings.instance_dir),
        HH_API_URL=settings.hh_api_url,
        HH_USER_AGENT=settings.hh_user_agent,
        HH_APP_TOKEN=settings.hh_app_token,
        HH_WORKERS=str(settings.hh_workers),
        HH_RATE=str(settings.hh_rate),
        HH_TIMEOUT=str(settings.hh_timeout),
        HH_RETRIES=str(settings.hh_retries),
        MAINTENANCE_STALE_SECONDS=str(settings.maintenance_stale_seconds),
        HH_REFRESH_TRIGGER="admin",
        HH_REFRESH_STARTED_BY=started_by,
    )
    return env


def reap_finished_refreshes() -> None:
    """Collect the exit codes of finished refreshes so none stays a zombie."""
    running = []
    for child in _children:
        code = child.poll()
        if code is None:
            running.append(child)
        else:
            _exit_codes[child.pid] = code
    _children[:] = running
    for pid in list(_exit_codes)[:-EXIT_CODES_KEPT]:
        del _exit_codes[pid]


def get_refresh_exit_code(pid: int) -> int | None:
    """The exit code of a refresh this process started, once it has exited.

    Reaps every finished child first, so none stays a zombie; None while the
    refresh runs or when this process did not start it.
    """
    reap_finished_refreshes()
    return _exit_codes.get(pid)


def get_refresh_log_tail(settings: Settings, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of `refresh.log`, or "" when there is none."""
    log_path = Path(settings.instance_dir) / "refresh.log"
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def get_run_of_process(session: Session, pid: int) -> RefreshRun | None:
    statement = select(RefreshRun).where(RefreshRun.pid == pid)
    return session.execute(statement.limit(1)).scalar_one_or_none()


def wait_for_started_refreshes(timeout: float) -> None:
    """Wait until every refresh this process started has exited, and reap it.

    Raises subprocess.TimeoutExpired when one is still running after `timeout`.
    """
    for child in _children:
        child.wait(timeout=timeout)
    reap_finished_refreshes()


def start_refresh_process(
    settings: Settings, scope: RefreshScope, started_by: str
) -> int:
    """Start `python -m etl.refresh` detached; returns its pid.

    Its output goes to `refresh.log` in the instance folder. Raises
    MissingUserAgentError without HH_USER_AGENT (hh.ru refuses requests
    without it) and OSError when the process cannot be started.
    """
    if not settings.hh_user_agent:
        raise MissingUserAgentError(
            "HH_USER_AGENT is not set; hh.ru refuses requests without it"
        )
    reap_finished_refreshes()
    log_path = Path(settings.instance_dir) / "refresh.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "etl.refresh", *scope.to_arguments()]
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=_refresh_environment(settings, started_by),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _children.append(child)
    logger.info("refresh started by %s: pid=%s %s", started_by, child.pid, command[3:])
    return child.pid


def is_refresh_process(pid: int) -> bool:
    """True when `pid` is alive and, where /proc tells, is an etl.refresh process."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        return b"etl.refresh" in cmdline.read_bytes()
    return True


def save_cancel_request(session: Session, run: RefreshRun) -> bool:
    """Ask a running refresh to stop; SIGTERM its process when it is alive.

    Returns True when a signal was sent. The run itself rolls back and
    records `cancelled`.
    """
    run.cancel_requested = True
    session.flush()
    if run.pid and is_refresh_process(run.pid):
        os.kill(run.pid, signal.SIGTERM)
        logger.info("refresh run %s: SIGTERM sent to pid %s", run.id, run.pid)
        return True
    return False


# --- what the pages show of a run ---------------------------------------------------

register_messages(
    {
        "refresh.status.running": ("идёт", "running"),
        "refresh.status.complete": ("завершено", "complete"),
        "refresh.status.partial": ("завершено частично", "partial"),
        "refresh.status.failed": ("ошибка", "failed"),
        "refresh.status.cancelled": ("отменено", "cancelled"),
        "refresh.error.interrupted": ("прервано", "interrupted"),
        "refresh.error.cancelled": ("отменено по запросу", "cancelled on request"),
        "refresh.error.heartbeat_lost": (
            "процесс обновления перестал отвечать; отмечено как ошибка",
            STALE_ERROR,
        ),
        "refresh.error.process_gone": (
            "процесс обновления завершился, не закончив работу",
            DEAD_RUN_ERROR,
        ),
        "refresh.progress.preparing": (
            "Подготовка: справочники и план запросов.",
            "Preparing: reference data and the request plan.",
        ),
        "refresh.progress.downloading": (
            "Загрузка: {vacancies} из {found} вакансий",
            "Downloading: {vacancies} of {found} vacancies",
        ),
        "refresh.progress.eta": (", осталось ~{eta}", ", ~{eta} left"),
        "refresh.progress.writing": (
            "Идёт запись новых данных, обычно несколько секунд.",
            "New data is being written; this usually takes a few seconds.",
        ),
        "refresh.progress.other": (
            "Идёт обновление данных.",
            "Data is being refreshed.",
        ),
        "refresh.seconds": ("{n} с", "{n} s"),
        "refresh.minutes": ("{n} мин", "{n} min"),
        "refresh.counts": (
            "Вакансий: {vacancies}; новых: {new}; снова открытых: {reopened}; "
            "закрытых: {closed}",
            "Vacancies: {vacancies}; new: {new}; reopened: {reopened}; "
            "closed: {closed}",
        ),
        "refresh.scope.all_areas": ("все регионы", "all areas"),
        "refresh.scope.all_roles": ("все роли", "all roles"),
        "refresh.scope.roles": ("роли {ids}", "roles {ids}"),
        "refresh.scope.all_time": ("весь период", "the whole period"),
        "refresh.scope.since": ("с {date}", "from {date}"),
        "refresh.scope.window": ("{date_from} — {date_to}", "{date_from} to {date_to}"),
    }
)


def describe_status(status: str) -> str:
    return translate(f"refresh.status.{status}")


# The errors the product itself writes without a detail, by message key.
KNOWN_ERRORS = {
    "interrupted": "refresh.error.interrupted",
    "cancelled": "refresh.error.cancelled",
    STALE_ERROR: "refresh.error.heartbeat_lost",
    DEAD_RUN_ERROR: "refresh.error.process_gone",
}


def describe_error(error: str | None) -> str:
    """A run's error as shown: the product's own are translated, others (hh.ru's
    or the database's words) are shown as they came."""
    if error in KNOWN_ERRORS:
        return translate(KNOWN_ERRORS[error])
    return error or ""


def describe_progress(progress: dict | None) -> str:
    """One sentence on where a running refresh is, in the page's language."""
    progress = progress or {}
    phase = progress.get("phase")
    if phase in ("reference", "planning"):
        return translate("refresh.progress.preparing")
    if phase == "writing":
        return translate("refresh.progress.writing")
    if phase != "downloading":
        return translate("refresh.progress.other")
    lang = request_language()
    sentence = translate(
        "refresh.progress.downloading",
        vacancies=format_count(progress.get("vacancies", 0), lang),
        found=format_count(progress.get("found", 0), lang),
    )
    eta = progress.get("eta_seconds")
    if eta is not None:
        sentence += translate("refresh.progress.eta", eta=_describe_duration(eta))
    return sentence + "."


def _describe_duration(seconds: float) -> str:
    if seconds < 60:
        return translate("refresh.seconds", n=max(math.ceil(seconds), 1))
    return translate("refresh.minutes", n=math.ceil(seconds / 60))


def describe_counts(counts: dict | None) -> str:
    """What a finished run wrote: vacancies, and new, reopened, closed ones."""
    counts = counts or {}
    if "vacancies" not in counts:
        return ""
    lang = request_language()
    numbers = {key: format_count(counts.get(key), lang)
               for key in ("vacancies", "new", "reopened", "closed")}  # fmt: skip
    return translate("refresh.counts", **numbers)


def describe_run_scope(scope: dict | None, area_names: dict[int, str]) -> str:
    """A run's scope for people: `Россия (113); все роли; весь период`."""
    scope = scope or {}
    areas = [
        f"{area_names[area]} ({area})" if area in area_names else str(area)
        for area in scope.get("areas") or []
    ]
    roles = scope.get("roles") or []
    parts = [
        ", ".join(areas) or translate("refresh.scope.all_areas"),
        translate("refresh.scope.roles", ids=", ".join(map(str, roles)))
        if roles
        else translate("refresh.scope.all_roles"),
        _describe_window(scope.get("date_from"), scope.get("date_to")),
    ]
    return "; ".join(parts)


def _describe_window(date_from: str | None, date_to: str | None) -> str:
    if date_from is None:
        return translate("refresh.scope.all_time")
    if date_to is None:
        return translate("refresh.scope.since", date=date_from[:10])
    return translate(
        "refresh.scope.window", date_from=date_from[:10], date_to=date_to[:10]
    )


def get_area_names(session: Session, runs: list[RefreshRun]) -> dict[int, str]:
    """Names of the areas the runs' scopes list, for those the database knows."""
    ids = {area for run in runs for area in (run.scope or {}).get("areas") or []}
    if not ids:
        return {}
    rows = session.execute(select(Area.id, Area.name).where(Area.id.in_(ids)))
    return {area_id: name for area_id, name in rows}

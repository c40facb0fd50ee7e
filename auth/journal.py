"""The journal: who did what, when and from which IP.

Inside a request, `record_event` queues a row that is written with the
request's session when the response is ready. Rows older than
`JOURNAL_RETENTION_DAYS` are deleted at most once an hour per process.
Never put passwords or tokens in `details`.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from dataclasses import dataclass
from datetime import date
from datetime import timedelta

from flask import g
from flask import has_request_context
from flask_login import current_user
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.runtime import current_settings
from services.runtime import request_session
from services.schema import JournalEntry
from services.timeutil import iso_utc
from services.timeutil import moscow_day_end_utc
from services.timeutil import moscow_day_start_utc
from services.timeutil import utc_now

logger = logging.getLogger(__name__)

ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "register",
    "password_change",
    "token_create",
    "token_revoke",
    "query",
    "export",
    "ban",
    "unban",
    "ban_enforced",
    "role_change",
    "refresh_start",
    "refresh_cancel",
    "refresh_end",
)
PAGE_SIZE = 50
PURGE_INTERVAL_SECONDS = 3600
SECRET_WORDS = ("password", "token", "secret")

_last_purge_at = 0.0


@dataclass(frozen=True)
class JournalQuery:
    """The moderator's filters; empty strings and None mean 'any'."""

    login: str = ""
    ip: str = ""
    action: str = ""
    day_from: date | None = None
    day_to: date | None = None


def _without_secrets(details: dict | None) -> dict | None:
    # A defence in depth: callers must not pass secrets, but if a key looks
    # like one its value never reaches the table.
    if not details:
        return details or None
    return {
        key: ("***" if any(word in key.lower() for word in SECRET_WORDS) else value)
        for key, value in details.items()
    }


def record_event(action: str, details: dict | None = None) -> None:
    """Journal `action` for the current request's user and IP.

    The row is written when the request's response is ready (same session,
    one commit). Outside a request this does nothing but log a warning: use
    `save_event` there.
    """
    if not has_request_context():
        logger.warning("record_event(%s) outside a request was ignored", action)
        return
    user = current_user if current_user.is_authenticated else None
    entry = JournalEntry(
        at=utc_now(),
        user_id=user.id if user else None,
        login=user.login if user else None,
        ip=g.get("client_ip"),
        action=action,
        details=_without_secrets(details),
    )
    g.setdefault("journal_entries", []).append(entry)


def record_event_as(login: str | None, user_id: int | None, action: str, details):
    """Journal `action` for a named account (a failed login, a new user)."""
    if not has_request_context():
        return
    entry = JournalEntry(
        at=utc_now(),
        user_id=user_id,
        login=login,
        ip=g.get("client_ip"),
        action=action,
        details=_without_secrets(details),
    )
    g.setdefault("journal_entries", []).append(entry)


def save_event(
    session: Session,
    action: str,
    details: dict | None = None,
    login: str | None = None,
    user_id: int | None = None,
    ip: str | None = None,
) -> None:
    """Add a journal row through `session` (outside requests, e.g. a refresh)."""
    session.add(
        JournalEntry(
            at=utc_now(),
            user_id=user_id,
            login=login,
            ip=ip,
            action=action,
            details=_without_secrets(details),
        )
    )


def save_queued_events() -> None:
    """Write the request's queued rows and, at most hourly, purge old ones."""
    entries = g.pop("journal_entries", None)
    if not entries:
        return
    session = request_session()
    session.add_all(entries)
    purge_due = time.monotonic() - _last_purge_at >= PURGE_INTERVAL_SECONDS
    if purge_due:
        delete_old_events(session, current_settings().journal_retention_days)
    session.commit()
    if purge_due:
        _mark_purged()


def _mark_purged() -> None:
    global _last_purge_at
    _last_purge_at = time.monotonic()


def delete_old_events(session: Session, retention_days: int) -> int:
    """Delete rows older than the retention period; returns how many."""
    cutoff = utc_now() - timedelta(days=retention_days)
    result = session.execute(delete(JournalEntry).where(JournalEntry.at < cutoff))
    if result.rowcount:
        logger.info(
            "journal: %d rows older than %d days deleted",
            result.rowcount,
            retention_days,
        )
    return result.rowcount or 0


def _filtered(statement, query: JournalQuery):
    if query.login:
        statement = statement.where(JournalEntry.login == query.login.strip().lower())
    if query.ip:
        statement = statement.where(JournalEntry.ip == query.ip.strip())
    if query.action:
        statement = statement.where(JournalEntry.action == query.action)
    if query.day_from:
        statement = statement.where(
            JournalEntry.at >= moscow_day_start_utc(query.day_from)
        )
    if query.day_to:
        statement = statement.where(JournalEntry.at < moscow_day_end_utc(query.day_to))
    return statement


def count_pages(total: int, page_size: int = PAGE_SIZE) -> int:
    """How many pages `total` rows fill; an empty journal still has one page."""
    return max((total + page_size - 1) // page_size, 1)


def get_journal_page(
    session: Session, query: JournalQuery, page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[list[JournalEntry], int]:
    """One page of matching rows, newest first, and the number of matching rows.

    A page past the last one gives the last page: a huge number would
    otherwise overflow the database's OFFSET.
    """
    total = session.execute(
        _filtered(select(func.count()).select_from(JournalEntry), query)
    ).scalar_one()
    page = min(max(page, 1), count_pages(total, page_size))
    rows = session.execute(
        _filtered(select(JournalEntry), query)
        .order_by(JournalEntry.at.desc(), JournalEntry.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).scalars()
    return list(rows), total


def make_journal_csv(session: Session, query: JournalQuery) -> str:
    """Every matching row as CSV (UTF-8 text with a BOM for spreadsheet apps)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(["at", "login", "ip", "action", "details"])
    rows = session.execute(
        _filtered(select(JournalEntry), query).order_by(
            JournalEntry.at.desc(), JournalEntry.id.desc()
        )
    ).scalars()
    for row in rows:
        writer.writerow(
            [
                iso_utc(row.at),
                row.login or "",
                row.ip or "",
                row.action,
                format_details(row.details),
            ]
        )
    return buffer.getvalue()


def format_details(details: dict | None) -> str:
    if not details:
        return ""
    parts = []
    for key, value in details.items():
        if isinstance(value, list | tuple):
            value = ", ".join(
                "=".join(map(str, item))
                if isinstance(item, list | tuple)
                else str(item)
                for item in value
            )
        parts.append(f"{key}: {value}")
    return "; ".join(parts)

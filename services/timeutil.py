"""Time helpers: the database keeps naive UTC, people read Moscow time."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")


def utc_now() -> datetime:
    """The current time as a naive UTC datetime, the form stored in the database."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_naive_utc(moment: datetime) -> datetime:
    """Convert an aware datetime to naive UTC; a naive one is taken as UTC."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def moscow_day_start_utc(day: date) -> datetime:
    """The first moment of a Moscow calendar day, as naive UTC."""
    return to_naive_utc(datetime.combine(day, time.min, tzinfo=MOSCOW))


def moscow_day_end_utc(day: date) -> datetime:
    """The first moment after a Moscow calendar day, as naive UTC (exclusive)."""
    return moscow_day_start_utc(day + timedelta(days=1))


def iso_utc(moment: datetime | None) -> str | None:
    """Format a stored naive UTC datetime as ISO 8601 with a `Z`."""
    if moment is None:
        return None
    return to_naive_utc(moment).isoformat(timespec="seconds") + "Z"

"""Numbers as the page shows them, in Russian or English conventions.

Russian groups digits with a narrow no-break space (U+202F) and writes the
rouble sign after the amount (`150 000 ₽`); English uses commas and puts the
sign first (`₽150,000`). A missing value is shown as a dash.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from decimal import ROUND_HALF_UP
from decimal import Decimal

from services.timeutil import MOSCOW
from services.timeutil import to_naive_utc

NARROW_NBSP = "\u202f"
MISSING = "—"
ROUBLE_SIGN = "₽"


def _round_half_up(value: float, digits: int = 0) -> Decimal:
    quantum = Decimal(1).scaleb(-digits)
    return Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)


def _group_digits(value: float, lang: str, digits: int = 0) -> str:
    rounded = _round_half_up(value, digits)
    text = f"{rounded:,.{digits}f}"
    if lang == "en":
        return text
    # Russian: narrow no-break space between groups, a comma before decimals.
    return text.replace(",", NARROW_NBSP).replace(".", ",")


def format_count(value: int | None, lang: str = "ru") -> str:
    """A whole number with grouped digits: `12 345` or `12,345`."""
    if value is None:
        return MISSING
    return _group_digits(value, lang)


def format_roubles(value: float | None, lang: str = "ru") -> str:
    """A rouble amount rounded to whole roubles: `150 000 ₽` or `₽150,000`."""
    if value is None:
        return MISSING
    amount = _group_digits(value, lang)
    if lang == "en":
        return f"{ROUBLE_SIGN}{amount}"
    return f"{amount}{NARROW_NBSP}{ROUBLE_SIGN}"


def format_rouble_range(low: float | None, high: float | None, lang: str) -> str:
    """An interquartile range, `120 000 – 180 000 ₽`, or a dash when unknown."""
    if low is None or high is None:
        return MISSING
    if lang == "en":
        return f"{format_roubles(low, lang)}–{format_roubles(high, lang)}"
    return f"{_group_digits(low, lang)} – {format_roubles(high, lang)}"


def format_percent(share: float | None, lang: str = "ru") -> str:
    """A share of one as a percentage with one decimal: `42,5 %` or `42.5%`."""
    if share is None:
        return MISSING
    number = _group_digits(share * 100, lang, digits=1)
    if lang == "en":
        return f"{number}%"
    return f"{number}{NARROW_NBSP}%"


def format_moscow_time(value: datetime | str | None, lang: str = "ru") -> str:
    """A UTC time (naive, aware or ISO text) in Moscow time: `31.12.2025 18:05 МСК`."""
    if value is None:
        return MISSING
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    moscow = to_naive_utc(value).replace(tzinfo=UTC).astimezone(MOSCOW)
    if lang == "en":
        return moscow.strftime("%Y-%m-%d %H:%M MSK")
    return moscow.strftime("%d.%m.%Y %H:%M МСК")

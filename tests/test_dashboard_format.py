"""Roubles, counts, shares and times as the page writes them."""

from __future__ import annotations

from datetime import datetime

import pytest

from dashboard.format import format_count
from dashboard.format import format_moscow_time
from dashboard.format import format_percent
from dashboard.format import format_rouble_range
from dashboard.format import format_roubles

NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("value", "lang", "expected"),
    [
        (150_000, "ru", f"150{NNBSP}000{NNBSP}₽"),
        (150_000, "en", "₽150,000"),
        (1_234_567.5, "ru", f"1{NNBSP}234{NNBSP}568{NNBSP}₽"),
        (1_234_567.49, "en", "₽1,234,567"),
        (999, "ru", f"999{NNBSP}₽"),
        (0, "en", "₽0"),
        (None, "ru", "—"),
    ],
    ids=["ru", "en", "ru-half-up", "en-round-down", "ru-small", "en-zero", "none"],
)
def test_format_roubles(value, lang, expected):
    assert format_roubles(value, lang) == expected


@pytest.mark.parametrize(
    ("value", "lang", "expected"),
    [
        (12_345, "ru", f"12{NNBSP}345"),
        (12_345, "en", "12,345"),
        (7, "ru", "7"),
        (None, "en", "—"),
    ],
    ids=["ru", "en", "small", "none"],
)
def test_format_count(value, lang, expected):
    assert format_count(value, lang) == expected


@pytest.mark.parametrize(
    ("share", "lang", "expected"),
    [
        (0.425, "ru", f"42,5{NNBSP}%"),
        (0.425, "en", "42.5%"),
        (1.0, "ru", f"100,0{NNBSP}%"),
        (None, "ru", "—"),
    ],
    ids=["ru", "en", "whole", "none"],
)
def test_format_percent(share, lang, expected):
    assert format_percent(share, lang) == expected


def test_rouble_range_in_both_languages():
    assert format_rouble_range(112_500, 137_500, "ru") == (
        f"112{NNBSP}500 – 137{NNBSP}500{NNBSP}₽"
    )
    assert format_rouble_range(112_500, 137_500, "en") == "₽112,500–₽137,500"
    assert format_rouble_range(None, 137_500, "en") == "—"


@pytest.mark.parametrize(
    ("moment", "lang", "expected"),
    [
        (datetime(2025, 12, 31, 21, 5), "ru", "01.01.2026 00:05 МСК"),
        ("2025-03-14T06:30:00Z", "en", "2025-03-14 09:30 MSK"),
        (None, "ru", "—"),
    ],
    ids=["naive-utc-crosses-new-year", "iso-text", "none"],
)
def test_format_moscow_time(moment, lang, expected):
    assert format_moscow_time(moment, lang) == expected

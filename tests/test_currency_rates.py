"""Currency rates read from /dictionaries for one refresh."""

import logging

from etl.reference import read_currency_rates


def test_rates_are_units_per_rouble_with_zero_rates_dropped():
    dictionaries = {
        "currency": [
            {"code": "USD", "rate": 0.0125},
            {"code": "BYR", "rate": 0},
            {"code": "RUR", "rate": 1},
        ]
    }

    assert read_currency_rates(dictionaries) == {"USD": 0.0125, "RUR": 1.0}


def test_a_dictionary_without_rates_warns_that_other_currencies_are_excluded(
    caplog,
):
    with caplog.at_level(logging.WARNING, logger="etl.reference"):
        rates = read_currency_rates({"currency": []})

    assert rates == {"RUR": 1.0}
    assert "excluded as unknown_currency" in caplog.text


def test_usable_rates_raise_no_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="etl.reference"):
        read_currency_rates({"currency": [{"code": "EUR", "rate": 0.011}]})

    assert caplog.text == ""

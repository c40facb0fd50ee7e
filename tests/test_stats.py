"""The statistics rules of design §5 on small frames, with numbers done by hand."""

from __future__ import annotations

from datetime import date
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from services import stats

NAN = float("nan")


def salary_frame(rows: list[dict]) -> pd.DataFrame:
    """Salary rows as the loader reads them; rates as in /dictionaries."""
    columns = {
        "salary_from": NAN,
        "salary_to": NAN,
        "from_rub": NAN,
        "to_rub": NAN,
        "mode": "MONTH",
        "excluded": None,
        "gross": True,
        "in_russia": True,
    }
    return pd.DataFrame([{**columns, **row} for row in rows])


def converted(amount_from, amount_to, rate: float, **extra) -> dict:
    """A salary range converted the ETL's way: amount / units per rouble."""
    return {
        "salary_from": amount_from,
        "salary_to": amount_to,
        "from_rub": NAN if amount_from is None else amount_from / rate,
        "to_rub": NAN if amount_to is None else amount_to / rate,
        **extra,
    }


# --- monthly value per view ------------------------------------------------------

VIEW_CASES = {
    "mid-both-bounds": ("mid", (100_000, 200_000), 150_000.0),
    "mid-lower-only": ("mid", (100_000, None), 100_000.0),
    "mid-upper-only": ("mid", (None, 120_000), 120_000.0),
    "from-lower": ("from", (100_000, 200_000), 100_000.0),
    "from-without-lower": ("from", (None, 120_000), None),
    "to-upper": ("to", (100_000, 200_000), 200_000.0),
    "to-without-upper": ("to", (100_000, None), None),
}


@pytest.mark.parametrize(
    ("view", "bounds", "expected"), VIEW_CASES.values(), ids=VIEW_CASES.keys()
)
def test_monthly_value_per_view(view, bounds, expected):
    frame = salary_frame([converted(*bounds, rate=1.0)])

    states = stats.compute_salary_states(frame, view)
    published = stats.compute_published_monthly(
        frame["from_rub"], frame["to_rub"], view
    )

    if expected is None:
        assert states[0] == stats.NOT_IN_VIEW
    else:
        assert states[0] == stats.MONTHLY
        assert published[0] == expected


CURRENCY_CASES = {
    # Units per rouble: BYR amounts are already new Belarusian roubles.
    "byr": ("BYR", 0.04, (2_000, 3_000), 62_500.0),
    "kzt": ("KZT", 5.0, (500_000, None), 100_000.0),
    "usd": ("USD", 0.0125, (None, 2_500), 200_000.0),
    "rur": ("RUR", 1.0, (80_000, None), 80_000.0),
}


@pytest.mark.parametrize(
    ("code", "rate", "bounds", "roubles"),
    CURRENCY_CASES.values(),
    ids=CURRENCY_CASES.keys(),
)
def test_converted_currencies_enter_as_roubles(code, rate, bounds, roubles):
    frame = salary_frame([converted(*bounds, rate=rate, gross=False)])

    included, excluded = stats.compute_salary_values(
        frame, "mid", "net", 5_000, 3_000_000
    )

    assert included["value"].tolist() == [roubles]
    assert excluded == {"not_monthly": 0, "unknown_currency": 0, "implausible": 0}


def test_unknown_currency_is_excluded_and_counted_not_taken_as_roubles():
    frame = salary_frame([{"salary_from": 100_000.0, "excluded": "unknown_currency"}])

    included, excluded = stats.compute_salary_values(
        frame, "mid", "net", 5_000, 3_000_000
    )

    assert included.empty
    assert excluded == {"not_monthly": 0, "unknown_currency": 1, "implausible": 0}


@pytest.mark.parametrize("mode", ["HOUR", "SHIFT", "SERVICE", "FLY_IN_FLY_OUT"])
def test_pay_that_is_not_monthly_is_counted_apart(mode):
    frame = salary_frame(
        [converted(500, 700, 1.0, mode=mode), converted(90_000, None, 1.0)]
    )

    included, excluded = stats.compute_salary_values(
        frame, "mid", "gross", 5_000, 3_000_000
    )

    assert included["value"].tolist() == [90_000.0]
    assert excluded["not_monthly"] == 1


def test_legacy_salary_without_mode_counts_as_monthly():
    frame = salary_frame([converted(90_000, None, 1.0, mode=None)])

    states = stats.compute_salary_states(frame, "mid")

    assert states.tolist() == [stats.MONTHLY]


PLAUSIBILITY_CASES = {
    "below-minimum": (4_999, False),
    "minimum": (5_000, True),
    "maximum": (3_000_000, True),
    "above-maximum": (3_000_001, False),
}


@pytest.mark.parametrize(
    ("amount", "kept"), PLAUSIBILITY_CASES.values(), ids=PLAUSIBILITY_CASES.keys()
)
def test_implausible_values_are_judged_before_the_basis(amount, kept):
    # Gross 3,000,000 becomes less on the net basis, yet n must not change.
    frame = salary_frame([converted(amount, None, 1.0, gross=True)])

    for basis in ("net", "gross"):
        included, excluded = stats.compute_salary_values(
            frame, "mid", basis, 5_000, 3_000_000
        )
        assert (len(included), excluded["implausible"]) == (int(kept), int(not kept))


# --- gross and net -------------------------------------------------------------------

TAX_CASES = {
    # monthly gross -> monthly net, by hand on the annual amount (x12).
    "first-bracket": (100_000, 87_000.0),
    "at-2.4M": (200_000, 174_000.0),
    "across-2.4M": (250_000, 216_500.0),
    "across-5M": (500_000, 426_500.0),
    "across-20M": (2_000_000, (2_088_000 + 2_210_000 + 12_300_000 + 3_200_000) / 12),
    "above-50M": (5_000_000, 48_398_000 / 12),
}


@pytest.mark.parametrize(("gross", "net"), TAX_CASES.values(), ids=TAX_CASES.keys())
def test_gross_to_net_and_back(gross, net):
    assert stats.compute_net_from_gross(np.array([gross]))[0] == pytest.approx(net)
    assert stats.compute_gross_from_net(np.array([net]))[0] == pytest.approx(gross)


def test_basis_conversion_follows_the_stated_flag_and_russia():
    published = pd.Series([250_000.0, 216_500.0, 250_000.0, 250_000.0])
    gross = pd.Series([True, False, None, True], dtype=object)
    in_russia = pd.Series([True, True, True, False])

    net = stats.compute_basis_salary(published, gross, in_russia, "net")
    gross_values = stats.compute_basis_salary(published, gross, in_russia, "gross")

    # An unknown flag is read as gross; outside Russia values stay as published.
    assert net.tolist() == pytest.approx([216_500, 216_500, 216_500, 250_000])
    assert gross_values.tolist() == pytest.approx([250_000, 250_000, 250_000, 250_000])


# --- aggregates ----------------------------------------------------------------------


def test_summary_of_five_salaries():
    summary = stats.compute_salary_summary([10_000, 20_000, 30_000, 40_000, 100_000])

    assert summary == {
        "n": 5,
        "low_confidence": True,
        "mean": 40_000.0,
        "p10": 14_000.0,
        "p25": 20_000.0,
        "p50": 30_000.0,
        "p75": 40_000.0,
        "p90": 76_000.0,
    }


@pytest.mark.parametrize("n", [0, 1, 4])
def test_fewer_than_five_salaries_give_only_n(n):
    summary = stats.compute_salary_summary([50_000] * n)

    assert summary == {
        "n": n,
        "low_confidence": True,
        "mean": None,
        "p10": None,
        "p25": None,
        "p50": None,
        "p75": None,
        "p90": None,
    }
    assert stats.compute_quartiles([50_000] * n) == {
        "n": n,
        "p25": None,
        "p50": None,
        "p75": None,
    }


@pytest.mark.parametrize(("n", "low"), [(29, True), (30, False)])
def test_low_confidence_below_thirty(n, low):
    summary = stats.compute_salary_summary(np.arange(1, n + 1) * 1_000.0)

    assert summary["low_confidence"] is low
    assert summary["p50"] == (n + 1) * 500.0


HISTOGRAM_CASES = {
    # P99 of 10k..50k is 49,600: five bins, 50,000 falls into the last.
    "last-bin-takes-the-top": (
        [10_000, 20_000, 30_000, 40_000, 50_000],
        list(range(0, 60_000, 10_000)),
        [0, 1, 1, 1, 2],
    ),
    # P99 of a hundred 15,000s and one 1,000,000 is 15,000: two bins.
    "outlier-above-p99": ([15_000] * 100 + [1_000_000], [0, 10_000, 20_000], [0, 101]),
    "too-few": ([10_000, 20_000], [], []),
}


@pytest.mark.parametrize(
    ("values", "edges", "counts"), HISTOGRAM_CASES.values(), ids=HISTOGRAM_CASES.keys()
)
def test_histogram(values, edges, counts):
    assert stats.compute_histogram(values) == {"edges": edges, "counts": counts}


def test_weekly_labels_are_moscow_mondays():
    published = pd.Series(
        [
            datetime(2025, 3, 9, 20, 59),  # Sunday 23:59 in Moscow
            datetime(2025, 3, 9, 21, 0),  # Monday 00:00 in Moscow
            datetime(2025, 3, 16, 20, 59),  # Sunday 23:59 in Moscow
        ]
    )

    weeks = stats.compute_week_starts(published)

    assert weeks.tolist() == [date(2025, 3, 3), date(2025, 3, 10), date(2025, 3, 10)]


# --- percentiles of pre-sorted salaries equal numpy's, bit for bit ---------------


def random_sorted_salaries(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Rounded amounts repeat, as real salaries do; ties test the interpolation.
    values = np.round(rng.lognormal(11.3, 0.7, n), -3 + seed % 4)
    return np.sort(values)


@pytest.mark.parametrize("n", [5, 6, 29, 30, 101, 2_000], ids=lambda n: f"n={n}")
@pytest.mark.parametrize("seed", range(6), ids=lambda seed: f"seed={seed}")
def test_sorted_percentiles_equal_numpy(seed, n):
    ordered = random_sorted_salaries(seed, n)

    got = stats.compute_sorted_percentiles(ordered, (10, 25, 50, 75, 90, 99))

    assert got.tolist() == np.percentile(ordered, (10, 25, 50, 75, 90, 99)).tolist()
    assert stats.compute_sorted_summary(ordered) == stats.compute_salary_summary(
        ordered
    )
    assert stats.compute_sorted_quartiles(ordered) == stats.compute_quartiles(ordered)
    assert stats.compute_sorted_median(ordered) == stats.compute_median(ordered)
    assert stats.compute_histogram(ordered, ordered=True) == stats.compute_histogram(
        ordered
    )


@pytest.mark.parametrize("n", [0, 1, 4], ids=lambda n: f"n={n}")
def test_sorted_statistics_of_small_groups_give_only_n(n):
    ordered = np.arange(n, dtype=float) * 1_000 + 50_000

    assert stats.compute_sorted_quartiles(ordered) == {
        "n": n,
        "p25": None,
        "p50": None,
        "p75": None,
    }
    assert stats.compute_sorted_median(ordered) is None


def test_sorted_percentiles_interpolate_between_neighbours():
    # n = 6: P25 sits at index 1.25, P50 at 2.5, P90 at 4.5.
    ordered = np.array([10.0, 20.0, 40.0, 80.0, 160.0, 320.0])

    got = stats.compute_sorted_percentiles(ordered, (25, 50, 90))

    assert got.tolist() == [25.0, 60.0, 240.0]

"""An independent, deliberately plain reading of the statistics rules.

It works on raw hh.ru items, not on the database, so the end-to-end test can
check the whole pipeline (fetch, transform, load, query, compute) against
numbers derived straight from the recorded JSON.
"""

from __future__ import annotations

import numpy as np

TAX_BRACKETS = [
    (2_400_000, 0.13),
    (5_000_000, 0.15),
    (20_000_000, 0.18),
    (50_000_000, 0.20),
    (float("inf"), 0.22),
]


def yearly_tax(annual_gross: float) -> float:
    tax, lower = 0.0, 0.0
    for upper, rate in TAX_BRACKETS:
        if annual_gross <= lower:
            break
        tax += (min(annual_gross, upper) - lower) * rate
        lower = upper
    return tax


def net_from_gross(monthly_gross: float) -> float:
    annual = monthly_gross * 12
    return (annual - yearly_tax(annual)) / 12


def gross_from_net(monthly_net: float) -> float:
    # Bisection keeps this reference independent of the product's inversion.
    low, high = monthly_net, monthly_net * 2
    for _ in range(200):
        middle = (low + high) / 2
        if net_from_gross(middle) < monthly_net:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def descendants(tree: list[dict], root_id: str) -> set[str]:
    """Ids of the area `root_id` and every area below it."""
    found: set[str] = set()

    def walk(nodes: list[dict], inside: bool) -> None:
        for node in nodes:
            here = inside or node["id"] == root_id
            if here:
                found.add(node["id"])
            walk(node.get("areas") or [], here)

    walk(tree, False)
    return found


def monthly_salary(item: dict, rates: dict[str, float], view: str) -> float | None:
    """The vacancy's published monthly rouble value for `view`, or None."""
    salary = item.get("salary_range") or item.get("salary")
    if not salary:
        return None
    mode = (salary.get("mode") or {}).get("id", "MONTH")
    if mode != "MONTH" or salary.get("currency") not in rates:
        return None
    rate = rates[salary["currency"]]
    low = salary.get("from") / rate if salary.get("from") is not None else None
    high = salary.get("to") / rate if salary.get("to") is not None else None
    if view == "from":
        return low
    if view == "to":
        return high
    if low is not None and high is not None:
        return (low + high) / 2
    return low if low is not None else high


def salary_on_basis(item: dict, value: float, basis: str, in_russia: bool) -> float:
    if not in_russia:
        return value
    salary = item.get("salary_range") or item.get("salary")
    stated_gross = salary.get("gross") is not False
    if basis == "net" and stated_gross:
        return net_from_gross(value)
    if basis == "gross" and not stated_gross:
        return gross_from_net(value)
    return value


def salary_quartiles(
    items: list[dict],
    area_ids: set[str],
    russia_ids: set[str],
    rates: dict[str, float],
    basis: str,
    view: str = "mid",
    low: float = 5_000,
    high: float = 3_000_000,
) -> dict:
    """n, P25, median and P75 of open vacancies in `area_ids`."""
    values = []
    for item in items:
        if item.get("archived") or item["area"]["id"] not in area_ids:
            continue
        value = monthly_salary(item, rates, view)
        if value is None or not low <= value <= high:
            continue
        in_russia = item["area"]["id"] in russia_ids
        values.append(salary_on_basis(item, value, basis, in_russia))
    p25, p50, p75 = np.percentile(values, [25, 50, 75])
    return {"n": len(values), "p25": p25, "p50": p50, "p75": p75}

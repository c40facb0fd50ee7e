"""Validation of search items (controller): which items may enter the database.

An item is rejected only when it cannot be keyed or placed: no usable id, no
usable area, or a publication date that does not parse. Everything else, salary
problems included, keeps the vacancy; `etl.transform` records those on the
salary row instead.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import NamedTuple

logger = logging.getLogger(__name__)

REJECT_NO_ID = "no_id"
REJECT_NO_AREA = "no_area"
REJECT_BAD_PUBLISHED_AT = "bad_published_at"

FIRST_IDS_KEPT = 5

# Vacancy ids are stored as bigint; area and role ids as integer.
MAX_VACANCY_ID = 2**63 - 1
MAX_REFERENCE_ID = 2**31 - 1


class AcceptedItem(NamedTuple):
    """The keys of an accepted item, already parsed for the transform."""

    vacancy_id: int
    area_id: int
    published_at: str


@dataclass
class RejectTally:
    """Items counted by reason, with the first few ids of each reason logged.

    `outcome` names what happened to them in the log: rejected items, or
    vacancies whose salary is excluded from statistics.
    """

    outcome: str = "rejected"
    counts: Counter = field(default_factory=Counter)
    first_ids: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, item_id: object) -> None:
        self.counts[reason] += 1
        examples = self.first_ids.setdefault(reason, [])
        if len(examples) < FIRST_IDS_KEPT:
            examples.append(str(item_id))
            logger.info("item %r %s: %s", item_id, self.outcome, reason)

    def merge(self, other: RejectTally) -> None:
        """Add another tally's counts; its first ids fill this one's free places
        and are logged as `add` logs them."""
        self.counts.update(other.counts)
        for reason, item_ids in other.first_ids.items():
            examples = self.first_ids.setdefault(reason, [])
            for item_id in item_ids[: FIRST_IDS_KEPT - len(examples)]:
                examples.append(item_id)
                logger.info("item %r %s: %s", item_id, self.outcome, reason)

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


def format_db_time(moment: datetime) -> str:
    """Naive UTC as the text both databases and the staging file store."""
    return moment.isoformat(sep=" ", timespec="microseconds")


def parse_published_at(value: object) -> str | None:
    """Parse hh.ru's `2025-04-23T18:55:44+0300` into stored naive-UTC text.

    Returns None when the value is missing or not a date with an offset.
    """
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    offset = moment.utcoffset()
    if offset is None:
        return None
    # Subtracting the offset is the cheap way to UTC, run for every item.
    return format_db_time(moment.replace(tzinfo=None) - offset)


def read_id(value: object, limit: int) -> int | None:
    """A positive id up to `limit`, sent as ASCII digits (as hh.ru does) or as a
    number; None otherwise, a boolean included. The limit is the widest value
    the database column holds, so an odd id is rejected, not fatal to a load."""
    if type(value) is str:
        if not (value.isascii() and value.isdigit()):
            return None
        value = int(value)
    elif not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if 0 < value <= limit else None


def check_item(item: object, rejects: RejectTally) -> AcceptedItem | None:
    """Return the parsed keys of `item`, or None after counting why it is rejected."""
    if not isinstance(item, dict):
        rejects.add(REJECT_NO_ID, None)
        return None
    vacancy_id = read_id(item.get("id"), MAX_VACANCY_ID)
    if vacancy_id is None:
        rejects.add(REJECT_NO_ID, item.get("id"))
        return None

    area = item.get("area")
    area_id = None
    if isinstance(area, dict):
        area_id = read_id(area.get("id"), MAX_REFERENCE_ID)
    if area_id is None:
        rejects.add(REJECT_NO_AREA, vacancy_id)
        return None

    published_at = parse_published_at(item.get("published_at"))
    if published_at is None:
        rejects.add(REJECT_BAD_PUBLISHED_AT, vacancy_id)
        return None
    return AcceptedItem(vacancy_id, area_id, published_at)

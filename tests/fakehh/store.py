"""The vacancies a fake hh.ru server searches: numpy columns, items built per page.

Only the searchable fields live in memory as arrays sorted by publication time,
so counting a slice of a million vacancies is two binary searches and a mask; an
item is turned into its JSON dict only when a page that shows it is served.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import numpy as np

from etl import synthetic

MAX_ROLES = synthetic.MAX_ROLES_PER_ITEM

# Synthetic vacancies the fake serves get ids of the size real hh.ru ids have,
# far below the loader's demo range (etl.load.DEMO_ID_FLOOR): a refresh treats
# demo rows as disposable, so ids in that range would vanish on the next run
# instead of showing closed and reopened vacancies.
FIRST_FAKE_ID = 120_000_000


class ItemStore:
    """Vacancies ordered by publication time, filtered by window, areas and roles."""

    def __init__(
        self,
        published: np.ndarray,
        area_ids: np.ndarray,
        role_ids: np.ndarray,
        build: Callable[[int], dict],
    ) -> None:
        # A stable sort keeps equal times in input order, so pages never reshuffle.
        self.order = np.argsort(published, kind="stable")
        self.published = np.asarray(published, dtype=np.int64)[self.order]
        self.area_list, area_codes = np.unique(area_ids, return_inverse=True)
        self.area_codes = area_codes[self.order]
        self.role_list, role_codes = np.unique(role_ids, return_inverse=True)
        self.role_codes = role_codes.reshape(role_ids.shape)[self.order]
        self._build = build

    def __len__(self) -> int:
        return len(self.published)

    def select(
        self,
        date_from: int | None = None,
        date_to: int | None = None,
        areas: frozenset[int] | None = None,
        roles: frozenset[int] | None = None,
    ) -> np.ndarray:
        """Positions of matching vacancies, newest first; bounds are inclusive."""
        low = 0 if date_from is None else np.searchsorted(self.published, date_from)
        high = len(self.published)
        if date_to is not None:
            high = np.searchsorted(self.published, date_to, side="right")
        mask = np.ones(max(high - low, 0), dtype=bool)
        if areas is not None:
            allowed = np.fromiter((int(a) in areas for a in self.area_list), bool)
            mask &= allowed[self.area_codes[low:high]]
        if roles is not None:
            allowed = np.fromiter((int(r) in roles for r in self.role_list), bool)
            mask &= allowed[self.role_codes[low:high]].any(axis=1)
        return (low + np.flatnonzero(mask))[::-1]

    def item_at(self, position: int) -> dict:
        """The search item at a sorted position, built on demand."""
        return self._build(int(self.order[position]))

    @classmethod
    def from_items(cls, items: Iterable[Mapping]) -> ItemStore:
        """A store over given search items; for a repeated id the newest copy wins."""
        newest: dict[str, Mapping] = {}
        for item in items:
            known = newest.get(item["id"])
            if known is None or parse_hh_time(item["published_at"]) >= parse_hh_time(
                known["published_at"]
            ):
                newest[item["id"]] = item
        kept = list(newest.values())
        published = np.asarray(
            [parse_hh_time(i["published_at"]) for i in kept], dtype=np.int64
        )
        areas = np.asarray([int(i["area"]["id"]) for i in kept], dtype=np.int64)
        roles = np.full((len(kept), MAX_ROLES), -1, dtype=np.int64)
        for row, item in enumerate(kept):
            ids = [int(r["id"]) for r in item.get("professional_roles") or ()]
            roles[row, : min(len(ids), MAX_ROLES)] = ids[:MAX_ROLES]
        return cls(published, areas, roles, kept.__getitem__)

    @classmethod
    def from_synthetic(
        cls,
        count: int,
        seed: int,
        now: datetime,
        distributions: synthetic.Distributions | None = None,
        days: float = 30,
    ) -> ItemStore:
        """A store of `count` synthetic vacancies published over `days` before `now`."""
        dist = distributions or synthetic.Distributions()
        skeleton = synthetic.make_skeleton(count, seed, now, days, dist)
        names = synthetic.VacancyNames(dist)

        def build(index: int) -> dict:
            roles = [int(r) for r in skeleton.role_ids[index] if r >= 0]
            return synthetic.build_item(
                seed,
                index,
                FIRST_FAKE_ID + index,
                int(skeleton.published[index]),
                int(skeleton.area_ids[index]),
                roles,
                dist,
                names,
            )

        return cls(skeleton.published, skeleton.area_ids, skeleton.role_ids, build)


def parse_hh_time(stamp: str) -> int:
    """Epoch seconds of an hh.ru time such as `2025-04-23T18:55:44+0300`."""
    return int(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z").timestamp())


def read_shared_items(shared_hh: Path) -> list[dict]:
    """Every search item of the shared `items/*.json.gz` files, in file order."""
    items: list[dict] = []
    for path in sorted((Path(shared_hh) / "items").glob("*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            items.extend(json.load(handle))
    return items


def load_shared_store(shared_hh: Path) -> ItemStore:
    """A store of both shared items files (ids do not overlap; newest would win)."""
    return ItemStore.from_items(read_shared_items(shared_hh))


def read_shared_reference(shared_hh: Path) -> tuple[list, dict, dict]:
    """The shared `/areas`, `/dictionaries` and `/professional_roles` answers."""
    folder = Path(shared_hh) / "reference"
    return tuple(
        json.loads((folder / name).read_text(encoding="utf-8"))
        for name in ("areas.json", "dictionaries.json", "professional_roles.json")
    )

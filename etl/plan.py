"""The crawl plan: cut a scope into slices of at most 2,000 vacancies (design §4.1).

hh.ru serves only the first 2,000 items of a query, so the scope is cut by
publication window first. Coarse windows are cut in equal parts and probed
together; a window of at most `SEGMENT_SIZE` vacancies is then swept from its
newest end in windows sized from the density just measured, so that leaves come
out close to `LEAF_TARGET`. A window down to hh.ru's 5-minute step that still
holds more than 2,000 is split by child areas, then by professional roles.

Every probe is a `per_page=100` first page, so a probe that lands on a leaf is
also that leaf's page 0 (`CrawlPlan.first_pages`). Every split is checked: parts
whose `found` add up to less than the whole by more than max(5, 0.5%) are
reported in `CrawlPlan.truncated`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import zlib
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import MutableMapping
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import orjson

from etl.client import HHClient

logger = logging.getLogger(__name__)

MOSCOW_OFFSET = timezone(timedelta(hours=3))
EARLIEST_PUBLICATION = datetime(2000, 1, 1, tzinfo=MOSCOW_OFFSET)
DEPTH_LIMIT = 2000
PER_PAGE = 100
STEP_SECONDS = 300
# Below the limit so that a density that rises within the window still fits.
LEAF_TARGET = 1800
SEGMENT_SIZE = 20_000
MAX_TIME_PARTS = 8
GAP_MIN = 5
GAP_SHARE = 0.005


@dataclass(frozen=True)
class Scope:
    areas: tuple[int, ...] = (113,)
    roles: tuple[int, ...] = ()
    date_from: datetime | None = None
    date_to: datetime | None = None


@dataclass(frozen=True)
class Slice:
    """A query over a publication window, areas (with sub-areas) and roles."""

    date_from: datetime
    date_to: datetime
    areas: tuple[int, ...]
    roles: tuple[int, ...]
    found: int = 0

    def params(self) -> list[tuple[str, str]]:
        """The `/vacancies` query parameters of this slice, newest first."""
        pairs = [
            ("order_by", "publication_time"),
            ("date_from", _format_hh_time(self.date_from)),
            ("date_to", _format_hh_time(self.date_to)),
        ]
        pairs += [("area", str(a)) for a in self.areas]
        pairs += [("professional_role", str(r)) for r in self.roles]
        return pairs

    def as_dict(self) -> dict:
        """The slice as plain JSON values, for reports and `refresh_runs`."""
        return {
            "date_from": _format_hh_time(self.date_from),
            "date_to": _format_hh_time(self.date_to),
            "areas": list(self.areas),
            "roles": list(self.roles),
            "found": self.found,
        }

    @property
    def seconds(self) -> int:
        return int((self.date_to - self.date_from).total_seconds())


class CompressedPages(MutableMapping):
    """Leaf index -> page-0 envelope, kept compressed: a full plan holds hundreds."""

    def __init__(self) -> None:
        self._pages: dict[int, bytes] = {}

    def __getitem__(self, index: int) -> dict:
        return orjson.loads(zlib.decompress(self._pages[index]))

    def __setitem__(self, index: int, envelope: dict) -> None:
        self._pages[index] = zlib.compress(orjson.dumps(envelope), 1)

    def __delitem__(self, index: int) -> None:
        del self._pages[index]

    def __iter__(self) -> Iterator[int]:
        return iter(self._pages)

    def __len__(self) -> int:
        return len(self._pages)


@dataclass
class CrawlPlan:
    leaves: list[Slice]
    probes: int
    expected: int
    scope_found: int
    truncated: list[dict]
    first_pages: MutableMapping[int, dict] = field(default_factory=CompressedPages)


@dataclass
class _Probed:
    """A probed slice, its page-0 envelope and its place in plan order."""

    key: tuple[int, ...]
    slice: Slice
    envelope: dict | None


def plan_crawl(
    client: HHClient,
    scope: Scope,
    area_children: Mapping[int, Sequence[int]],
    role_ids: Sequence[int],
    now: datetime | None = None,
) -> CrawlPlan:
    """Probe the scope and cut it into leaves of at most 2,000 vacancies."""
    started = time.monotonic()
    planner = _Planner(client, scope, area_children, role_ids)
    with ThreadPoolExecutor(max(client.config.workers, 1)) as pool:
        planner.pool = pool
        leaves, scope_found = planner.run(now or datetime.now(MOSCOW_OFFSET))
    plan = CrawlPlan(
        leaves=[p.slice for p in leaves],
        probes=planner.probes,
        expected=sum(min(p.slice.found, DEPTH_LIMIT) for p in leaves),
        scope_found=scope_found,
        truncated=planner.truncated,
    )
    for index, probed in enumerate(leaves):
        if probed.envelope is not None:
            plan.first_pages[index] = probed.envelope
    logger.info(
        "crawl plan: %d leaves, %d expected of %d found, %d probes, "
        "%d truncated splits, %.1f s",
        len(plan.leaves),
        plan.expected,
        scope_found,
        plan.probes,
        len(plan.truncated),
        time.monotonic() - started,
    )
    return plan


def iter_leaf_pages(client: HHClient, plan: CrawlPlan, index: int) -> Iterator[dict]:
    """Yield the search envelopes of leaf `index`, page 0 on, never past item 2,000."""
    leaf = plan.leaves[index]
    envelope = plan.first_pages.get(index)
    if envelope is None:
        envelope = client.fetch_search_page(leaf.params(), 0, PER_PAGE)
    yield envelope
    last_page = min(int(envelope.get("pages") or 0), DEPTH_LIMIT // PER_PAGE)
    page = 1
    while page < last_page and envelope.get("items"):
        envelope = client.fetch_search_page(leaf.params(), page, PER_PAGE)
        yield envelope
        page += 1


def estimate_requests(plan: CrawlPlan) -> int:
    """Requests still needed to fetch every leaf (the probes are already spent)."""
    total = 0
    for index, leaf in enumerate(plan.leaves):
        pages = max(math.ceil(min(leaf.found, DEPTH_LIMIT) / PER_PAGE), 1)
        total += pages - (1 if index in plan.first_pages else 0)
    return total


class _Planner:
    def __init__(
        self,
        client: HHClient,
        scope: Scope,
        area_children: Mapping[int, Sequence[int]],
        role_ids: Sequence[int],
    ) -> None:
        self.client = client
        self.scope = scope
        self.area_children = area_children
        self.role_ids = tuple(role_ids)
        self.pool: ThreadPoolExecutor | None = None
        self.probes = 0
        self.truncated: list[dict] = []
        self._lock = threading.Lock()

    def run(self, now: datetime) -> tuple[list[_Probed], int]:
        root = self.probe(
            Slice(
                _floor_to_step(self.scope.date_from or EARLIEST_PUBLICATION),
                _ceil_to_step(self.scope.date_to or now),
                tuple(self.scope.areas),
                tuple(self.scope.roles),
            )
        )
        root = _Probed((), root[0], root[1])
        leaves, segments, crowded = self.split_by_time([root])
        for swept_leaves, swept_crowded in self.pool.map(self.sweep, segments):
            leaves += swept_leaves
            crowded += swept_crowded
        leaves += self.split_by_dimension(crowded)
        leaves.sort(key=lambda p: p.key)
        return [p for p in leaves if p.slice.found > 0], root.slice.found

    # --- probing --------------------------------------------------------------

    def probe(self, piece: Slice) -> tuple[Slice, dict]:
        """The slice with its `found`, and its page 0 of 100 vacancies."""
        envelope = self.client.fetch_search_page(piece.params(), 0, PER_PAGE)
        with self._lock:
            self.probes += 1
        return replace(piece, found=int(envelope["found"])), envelope

    def probe_all(self, pieces: list[Slice]) -> list[tuple[Slice, dict]]:
        return list(self.pool.map(self.probe, pieces))

    def check_split(self, whole: Slice, parts: list[Slice]) -> None:
        """Report vacancies the parts cannot reach (a region's own node, no role)."""
        reached = sum(p.found for p in parts)
        gap = whole.found - reached
        if gap > max(GAP_MIN, GAP_SHARE * whole.found):
            logger.warning(
                "split of %s reaches %d of %d vacancies",
                whole.params(),
                reached,
                whole.found,
            )
            with self._lock:
                self.truncated.append(
                    {
                        "slice": whole.as_dict(),
                        "found": whole.found,
                        "parts": reached,
                        "gap": gap,
                    }
                )

    # --- by publication window ------------------------------------------------

    def split_by_time(
        self, frontier: list[_Probed]
    ) -> tuple[list[_Probed], list[_Probed], list[_Probed]]:
        """Cut big windows into equal parts until each is a leaf, segment or crowded."""
        leaves, segments, crowded = [], [], []
        while frontier:
            splitting = []
            for probed in frontier:
                piece = probed.slice
                if piece.found <= DEPTH_LIMIT:
                    leaves.append(probed)
                elif piece.seconds <= STEP_SECONDS:
                    crowded.append(probed)
                elif piece.found <= SEGMENT_SIZE:
                    segments.append(probed)
                else:
                    splitting.append(probed)
            frontier = self._probe_time_parts(splitting)
        return leaves, segments, crowded

    def _probe_time_parts(self, splitting: list[_Probed]) -> list[_Probed]:
        groups = [_equal_time_parts(p.slice) for p in splitting]
        probed = iter(self.probe_all([part for group in groups for part in group]))
        frontier = []
        for whole, group in zip(splitting, groups, strict=True):
            parts = [next(probed) for _ in group]
            self.check_split(whole.slice, [s for s, _ in parts])
            frontier += [
                _Probed(whole.key + (i,), s, e) for i, (s, e) in enumerate(parts)
            ]
        return frontier

    def sweep(self, segment: _Probed) -> tuple[list[_Probed], list[_Probed]]:
        """Cut a segment into leaves from its newest end, sized by measured density.

        `top` bounds the newest vacancy not yet in a leaf: a window's page 0
        shows where its vacancies start, so the empty stretch above is skipped
        when sizing the next window, and density is read near `top`.
        """
        piece = segment.slice
        end = piece.date_to
        top = _newest_shown(segment.envelope, end)
        density = _density_near_top(segment.envelope, top, piece)
        covered = 0
        leaves: list[_Probed] = []
        crowded: list[_Probed] = []
        previous_start = None
        found = piece.found
        while top > piece.date_from:
            remaining = piece.found - covered if previous_start is None else 2**31
            start = self._next_start(piece, top, density, remaining)
            if previous_start is not None:
                start = max(start, _shrunk_start(top, previous_start, found))
                start = min(start, top - timedelta(seconds=STEP_SECONDS))
            window, envelope = self.probe(replace(piece, date_from=start, date_to=end))
            found = window.found
            if not found:
                # Nothing here: keep `end` so the next, wider window absorbs it.
                top, density, previous_start = start, density / 2, None
                continue
            if found > DEPTH_LIMIT:
                top = _newest_shown(envelope, top)
                if top - start > timedelta(seconds=STEP_SECONDS):
                    density = _density_near_top(envelope, top, window)
                    previous_start = start
                    continue
            previous_start = None
            key = segment.key + (len(leaves) + len(crowded),)
            if found > DEPTH_LIMIT:
                crowded.append(_Probed(key, replace(window, date_to=top), envelope))
            else:
                leaves.append(_Probed(key, window, envelope))
            density = found / max((top - start).total_seconds(), STEP_SECONDS)
            covered += found
            end = top = start
        self.check_split(piece, [p.slice for p in leaves + crowded])
        return leaves, crowded

    def _next_start(
        self, piece: Slice, top: datetime, density: float, remaining: int
    ) -> datetime:
        if remaining <= LEAF_TARGET:
            return piece.date_from
        span = LEAF_TARGET / max(density, 1e-9)
        start = _floor_to_step(top - timedelta(seconds=span))
        start = min(start, top - timedelta(seconds=STEP_SECONDS))
        return max(start, piece.date_from)

    # --- by area, then by role ------------------------------------------------

    def split_by_dimension(self, frontier: list[_Probed]) -> list[_Probed]:
        """Split 5-minute windows over 2,000 by child areas, then by roles."""
        leaves = []
        while frontier:
            splitting = []
            for probed in frontier:
                parts = self._dimension_parts(probed.slice)
                if probed.slice.found <= DEPTH_LIMIT:
                    leaves.append(probed)
                elif not parts:
                    self._report_unsplittable(probed.slice)
                    leaves.append(probed)
                else:
                    splitting.append((probed, parts))
            probed_parts = iter(
                self.probe_all([part for _, parts in splitting for part in parts])
            )
            frontier = []
            for whole, parts in splitting:
                results = [next(probed_parts) for _ in parts]
                self.check_split(whole.slice, [s for s, _ in results])
                frontier += [
                    _Probed(whole.key + (i,), s, e) for i, (s, e) in enumerate(results)
                ]
        return leaves

    def _dimension_parts(self, piece: Slice) -> list[Slice]:
        if len(piece.areas) > 1:
            return [replace(piece, areas=(a,), found=0) for a in piece.areas]
        children = (
            tuple(self.area_children.get(piece.areas[0], ())) if piece.areas else ()
        )
        # Once roles are being split the area is final: it has no children left.
        if children and piece.roles == tuple(self.scope.roles):
            return [replace(piece, areas=(c,), found=0) for c in children]
        roles = piece.roles or self.role_ids
        if len(roles) < 2:
            return []
        middle = len(roles) // 2
        return [
            replace(piece, roles=roles[:middle], found=0),
            replace(piece, roles=roles[middle:], found=0),
        ]

    def _report_unsplittable(self, piece: Slice) -> None:
        logger.warning(
            "%s holds %d vacancies and cannot be split; only 2000 are reachable",
            piece.params(),
            piece.found,
        )
        with self._lock:
            self.truncated.append(
                {
                    "slice": piece.as_dict(),
                    "found": piece.found,
                    "parts": DEPTH_LIMIT,
                    "gap": piece.found - DEPTH_LIMIT,
                }
            )


def _equal_time_parts(piece: Slice) -> list[Slice]:
    """Cut a window into equal parts on the 5-minute grid, newest part first."""
    count = min(max(math.ceil(piece.found / SEGMENT_SIZE), 2), MAX_TIME_PARTS)
    steps = piece.seconds // STEP_SECONDS
    count = min(count, steps)
    cuts = sorted(
        {
            piece.date_from + timedelta(seconds=STEP_SECONDS * (steps * i // count))
            for i in range(count)
        }
        | {piece.date_to}
    )
    windows = zip(cuts[:-1], cuts[1:], strict=False)
    return [
        replace(piece, date_from=start, date_to=end, found=0)
        for start, end in reversed(list(windows))
    ]


def _newest_shown(envelope: dict | None, end: datetime) -> datetime:
    """`end`, lowered to the step after the newest vacancy that page 0 shows."""
    items = (envelope or {}).get("items") or []
    if not items:
        return end
    return min(end, _ceil_to_step(_parse_hh_time(items[0]["published_at"])))


def _density_near_top(envelope: dict | None, top: datetime, piece: Slice) -> float:
    """Vacancies per second just below `top`, read from page 0's publication times."""
    items = (envelope or {}).get("items") or []
    if len(items) >= PER_PAGE:
        oldest_shown = _parse_hh_time(items[-1]["published_at"])
        span = (top - oldest_shown).total_seconds()
        return len(items) / max(span, STEP_SECONDS)
    return piece.found / max(piece.seconds, 1)


def _shrunk_start(top: datetime, previous_start: datetime, found: int) -> datetime:
    """A start that shrinks an overfull window in proportion, so retries end."""
    span = (top - previous_start).total_seconds() * LEAF_TARGET / found
    return _ceil_to_step(top - timedelta(seconds=span))


def _floor_to_step(moment: datetime) -> datetime:
    moment = moment.astimezone(MOSCOW_OFFSET)
    seconds = int(moment.timestamp())
    return datetime.fromtimestamp(seconds - seconds % STEP_SECONDS, MOSCOW_OFFSET)


def _ceil_to_step(moment: datetime) -> datetime:
    moment = moment.astimezone(MOSCOW_OFFSET)
    seconds = math.ceil(moment.timestamp())
    return datetime.fromtimestamp(
        -(-seconds // STEP_SECONDS) * STEP_SECONDS, MOSCOW_OFFSET
    )


def _format_hh_time(moment: datetime) -> str:
    return moment.astimezone(MOSCOW_OFFSET).strftime("%Y-%m-%dT%H:%M:%S%z")


def _parse_hh_time(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z")

"""Serve a fake hh.ru API standalone: `python -m tests.fakehh --port 8765`."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from datetime import datetime
from pathlib import Path

from etl import synthetic
from tests.fakehh.fixtures import SMALL_AREAS
from tests.fakehh.fixtures import SMALL_ROLES
from tests.fakehh.server import FakeHH
from tests.fakehh.store import ItemStore
from tests.fakehh.store import read_shared_items
from tests.fakehh.store import read_shared_reference

logger = logging.getLogger(__name__)


def build_fake(args: argparse.Namespace) -> FakeHH:
    """The server the options describe: shared items, or N synthetic vacancies."""
    shared = Path(args.shared) if args.shared else None
    areas, dictionaries, roles = SMALL_AREAS, {"currency": []}, SMALL_ROLES
    if shared:
        areas, dictionaries, roles = read_shared_reference(shared)
    if args.synthetic is None:
        if not shared:
            raise SystemExit("Error: give --synthetic N or --shared PATH")
        store = ItemStore.from_items(read_shared_items(shared))
    else:
        dist = synthetic.Distributions()
        if shared:
            items = read_shared_items(shared)
            if args.area_root is not None:
                inside = area_subtree_ids(areas, args.area_root)
                items = [i for i in items if int(i["area"]["id"]) in inside]
            dist = synthetic.Distributions.from_items(items, areas)
        now = datetime.now(synthetic.MOSCOW_OFFSET)
        store = ItemStore.from_synthetic(
            args.synthetic, args.seed, now, dist, args.days
        )
    return FakeHH(store, areas, dictionaries, roles, port=args.port)


def area_subtree_ids(roots: list, root_id: int) -> set[int]:
    """Ids of an area and every area below it in the /areas tree."""
    inside: set[int] = set()
    stack = [(node, False) for node in roots]
    while stack:
        node, below = stack.pop()
        below = below or int(node["id"]) == root_id
        if below:
            inside.add(int(node["id"]))
        stack.extend((child, below) for child in node.get("areas") or ())
    return inside


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakehh")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--synthetic", type=int, metavar="N")
    parser.add_argument("--shared", metavar="PATH", help="folder of real responses")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument(
        "--area-root",
        type=int,
        metavar="ID",
        help="draw synthetic areas only from this area's subtree (e.g. 113)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")

    fake = build_fake(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(json.dumps({"url": fake.url, "vacancies": len(fake.store)}), flush=True)
    try:
        fake.serve_forever()
    except KeyboardInterrupt:
        logger.info("fake hh.ru stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())

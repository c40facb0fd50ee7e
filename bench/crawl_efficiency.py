"""How many requests a full crawl costs: 1,000,000 synthetic vacancies, one scope.

Serves the vacancies (distributions measured from the shared real items when
they are present) from the fake hh.ru server in a separate process, plans the
whole-Russia scope, fetches every page of every leaf, and reports requests per
100 vacancies and the distribution of leaf sizes. The figures are written to the
"Crawl efficiency" section of bench/RESULTS.md.

    .venv/bin/python -m bench.crawl_efficiency [--vacancies N] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import numpy as np

from etl.client import ClientConfig
from etl.client import HHClient
from etl.plan import CrawlPlan
from etl.plan import Scope
from etl.plan import estimate_requests
from etl.plan import iter_leaf_pages
from etl.plan import plan_crawl
from services.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

RESULTS = PROJECT_ROOT / "bench" / "RESULTS.md"
SHARED_HH = PROJECT_ROOT.parent / "shared" / "hh"
SECTION = "## Crawl efficiency"
TARGET_PER_100 = 1.25
DEADLINE_SECONDS = 540


class BenchTimeout(Exception):  # noqa: N818 - reads as the event it reports
    """The benchmark ran past its time budget."""


def start_fake_server(vacancies: int, seed: int) -> tuple[subprocess.Popen, str]:
    """Start `python -m tests.fakehh` on a free port; return the process and URL."""
    command = [sys.executable, "-m", "tests.fakehh", "--port", "0"]
    command += ["--synthetic", str(vacancies), "--seed", str(seed)]
    if SHARED_HH.is_dir():
        command += ["--shared", str(SHARED_HH), "--area-root", "113"]
    server = subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
    )
    first_line = server.stdout.readline()
    if not first_line:
        server.kill()
        raise RuntimeError("the fake hh.ru server did not start")
    return server, json.loads(first_line)["url"]


def fetch_area_children(client: HHClient) -> dict[int, tuple[int, ...]]:
    children: dict[int, tuple[int, ...]] = {}
    stack = list(client.fetch_areas())
    while stack:
        node = stack.pop()
        kids = node.get("areas") or []
        if kids:
            children[int(node["id"])] = tuple(int(k["id"]) for k in kids)
        stack.extend(kids)
    return children


def fetch_role_ids(client: HHClient) -> list[int]:
    roles = client.fetch_professional_roles()
    ids = {
        int(role["id"])
        for category in roles["categories"]
        for role in category["roles"]
        if not role.get("search_deprecated")
    }
    return sorted(ids)


def fetch_every_leaf(
    client: HHClient, plan: CrawlPlan, workers: int, deadline: float
) -> np.ndarray:
    """Fetch all pages of all leaves; return every vacancy id seen, repeats kept."""
    seen: list[np.ndarray] = []
    lock = threading.Lock()

    def fetch_leaf(index: int) -> None:
        for envelope in iter_leaf_pages(client, plan, index):
            ids = np.fromiter((int(i["id"]) for i in envelope["items"]), np.int64)
            with lock:
                seen.append(ids)
            if time.monotonic() > deadline:
                raise BenchTimeout("fetching ran past the time budget")

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(fetch_leaf, range(len(plan.leaves))))
    return np.concatenate(seen) if seen else np.zeros(0, np.int64)


def summarise(
    plan: CrawlPlan,
    fetched_ids: np.ndarray,
    requests_made: int,
    vacancies: int,
    seconds: dict[str, float],
) -> dict:
    sizes = np.asarray([leaf.found for leaf in plan.leaves])
    unique = len(np.unique(fetched_ids))
    return {
        "vacancies": vacancies,
        "scope_found": plan.scope_found,
        "fetched_unique": unique,
        "duplicates": len(fetched_ids) - unique,
        "coverage": unique / max(plan.scope_found, 1),
        "leaves": len(plan.leaves),
        "probes": plan.probes,
        "estimated_fetch_requests": estimate_requests(plan),
        "requests": requests_made,
        "per_100": 100 * requests_made / max(unique, 1),
        "truncated": len(plan.truncated),
        "leaf_sizes": {
            "min": int(sizes.min()),
            "p10": float(np.percentile(sizes, 10)),
            "p25": float(np.percentile(sizes, 25)),
            "median": float(np.median(sizes)),
            "p75": float(np.percentile(sizes, 75)),
            "p90": float(np.percentile(sizes, 90)),
            "max": int(sizes.max()),
            "mean": float(sizes.mean()),
            "share_1500_plus": float((sizes >= 1500).mean()),
        },
        "seconds": seconds,
    }


def format_section(result: dict, workers: int, source: str) -> str:
    sizes = result["leaf_sizes"]
    verdict = "meets" if result["per_100"] <= TARGET_PER_100 else "misses"
    rows = [
        ("vacancies served", f"{result['vacancies']:,}"),
        ("scope found (area 113, whole window)", f"{result['scope_found']:,}"),
        ("unique vacancies fetched", f"{result['fetched_unique']:,}"),
        ("coverage (unique / found)", f"{result['coverage']:.4%}"),
        ("repeats across leaf boundaries", f"{result['duplicates']:,}"),
        ("leaves", f"{result['leaves']:,}"),
        ("planning probes (per_page=100 page 0)", f"{result['probes']:,}"),
        ("requests in all (probes + pages)", f"{result['requests']:,}"),
        (
            "**requests per 100 vacancies**",
            f"**{result['per_100']:.3f}** ({verdict} the {TARGET_PER_100} target)",
        ),
        ("truncated splits", f"{result['truncated']}"),
        (
            "leaf size min / p10 / p25 / median",
            f"{sizes['min']} / {sizes['p10']:.0f} / {sizes['p25']:.0f} / "
            f"{sizes['median']:.0f}",
        ),
        (
            "leaf size p75 / p90 / max / mean",
            f"{sizes['p75']:.0f} / {sizes['p90']:.0f} / {sizes['max']} / "
            f"{sizes['mean']:.0f}",
        ),
        ("leaves of 1,500 or more", f"{sizes['share_1500_plus']:.1%}"),
        ("plan seconds", f"{result['seconds']['plan']:.1f}"),
        ("fetch seconds", f"{result['seconds']['fetch']:.1f}"),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return (
        f"{SECTION}\n\n"
        f"{date.today().isoformat()}, {platform.machine()} Linux, 2 cores shared "
        f"with other work; `python -m bench.crawl_efficiency` ({workers} workers, "
        f"no rate limit, fake hh.ru in a separate process). Vacancies are "
        f"synthetic over 30 days with daily and weekly cycles, distributions "
        f"{source}.\n\n| measure | value |\n|---|---|\n{table}\n"
    )


def write_section(section: str) -> None:
    """Replace this benchmark's section of RESULTS.md, keeping the others."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.crawl_efficiency")
    parser.add_argument("--vacancies", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
    deadline = time.monotonic() + DEADLINE_SECONDS

    server, url = start_fake_server(args.vacancies, args.seed)
    try:
        config = ClientConfig(
            url, "CrawlBench/1.0 (bench@example.org)", workers=args.workers,
            rate=0, timeout=60, retries=2, backoff_base=0.1,
        )  # fmt: skip
        client = HHClient(config)
        area_children = fetch_area_children(client)
        role_ids = fetch_role_ids(client)
        before = client.requests_made

        started = time.monotonic()
        plan = plan_crawl(client, Scope(), area_children, role_ids)
        planned = time.monotonic()
        fetched = fetch_every_leaf(client, plan, args.workers, deadline)
        seconds = {"plan": planned - started, "fetch": time.monotonic() - planned}
        requests_made = client.requests_made - before
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=30)

    result = summarise(plan, fetched, requests_made, args.vacancies, seconds)
    print(json.dumps(result, indent=2))
    source = "measured from the shared real items" if SHARED_HH.is_dir() else "built in"
    if not args.no_write:
        write_section(format_section(result, args.workers, source))
    return 0


if __name__ == "__main__":
    sys.exit(main())

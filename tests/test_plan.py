"""The crawl plan: leaves of at most 2,000, splits by time, area and role, gaps."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from etl.client import ClientConfig
from etl.client import HHClient
from etl.plan import CrawlPlan
from etl.plan import Scope
from etl.plan import Slice
from etl.plan import estimate_requests
from etl.plan import iter_leaf_pages
from etl.plan import plan_crawl
from etl.synthetic import MOSCOW_OFFSET
from tests.fakehh.fixtures import CROWDED_START
from tests.fakehh.fixtures import SMALL_AREA_CHILDREN
from tests.fakehh.fixtures import SMALL_ROLE_IDS
from tests.fakehh.fixtures import make_store

USER_AGENT = "PlanTest/1.0 (test@example.org)"
CROWDED_SCOPE = Scope(
    areas=(113,),
    date_from=CROWDED_START - timedelta(days=3),
    date_to=CROWDED_START + timedelta(days=1),
)
WINDOW = ("2026-03-02T12:00:00+0300", "2026-03-02T12:05:00+0300")


def make_client(fake) -> HHClient:
    return HHClient(ClientConfig(fake.url, USER_AGENT, rate=0, backoff_base=0.01))


def fetch_all_ids(client: HHClient, plan: CrawlPlan) -> set[str]:
    ids = set()
    for index in range(len(plan.leaves)):
        for envelope in iter_leaf_pages(client, plan, index):
            ids.update(item["id"] for item in envelope["items"])
    return ids


def leaf_rows(plan: CrawlPlan) -> list[tuple]:
    return [
        (s["date_from"], s["date_to"], tuple(s["areas"]), tuple(s["roles"]), s["found"])
        for s in (leaf.as_dict() for leaf in plan.leaves)
    ]


def assert_never_past_item_2000(fake) -> None:
    for logged in fake.search_requests():
        page, per_page = int(logged.param("page")), int(logged.param("per_page"))
        assert (page + 1) * per_page <= 2000, logged.params
        assert logged.status == 200


def test_crowded_window_is_split_by_area_then_role(make_fake_hh):
    fake = make_fake_hh()
    client = make_client(fake)

    plan = plan_crawl(client, CROWDED_SCOPE, SMALL_AREA_CHILDREN, SMALL_ROLE_IDS)

    assert leaf_rows(plan) == [
        (*WINDOW, (1,), (96,), 1200),
        (*WINDOW, (1,), (10, 70), 1100),
        (*WINDOW, (2,), (), 300),
        (*WINDOW, (3,), (), 1950),
        (*WINDOW, (1262,), (), 150),
        ("2026-02-27T12:00:00+0300", WINDOW[0], (113,), (), 419),
    ]
    assert (plan.scope_found, plan.expected) == (5163, 5119)


def test_region_node_vacancies_are_reported_as_truncated(make_fake_hh):
    fake = make_fake_hh()

    plan = plan_crawl(
        make_client(fake), CROWDED_SCOPE, SMALL_AREA_CHILDREN, SMALL_ROLE_IDS
    )

    # The 3 Moscow vacancies without a role are below max(5, 0.5%): churn.
    assert plan.truncated == [
        {
            "slice": {
                "date_from": WINDOW[0],
                "date_to": WINDOW[1],
                "areas": [1261],
                "roles": [],
                "found": 2160,
            },
            "found": 2160,
            "parts": 2100,
            "gap": 60,
        }
    ]


def test_fetching_the_plan_reaches_every_reachable_vacancy(make_fake_hh):
    fake = make_fake_hh()
    client = make_client(fake)
    plan = plan_crawl(client, CROWDED_SCOPE, SMALL_AREA_CHILDREN, SMALL_ROLE_IDS)
    planning_requests = client.requests_made

    ids = fetch_all_ids(client, plan)

    # 5,163 less 60 on the region node and 3 without a role, except the two of
    # them published at 12:00:00 sharp, which the earlier window also holds.
    assert len(ids) == 5102
    assert planning_requests == plan.probes
    assert client.requests_made - plan.probes == estimate_requests(plan) == 47
    assert_never_past_item_2000(fake)


def test_first_pages_are_reused_not_fetched_again(make_fake_hh):
    fake = make_fake_hh()
    client = make_client(fake)
    plan = plan_crawl(client, CROWDED_SCOPE, SMALL_AREA_CHILDREN, SMALL_ROLE_IDS)
    before = len(fake.search_requests())

    pages = list(iter_leaf_pages(client, plan, 2))

    assert [len(p["items"]) for p in pages] == [100, 100, 100]
    assert [r.param("page") for r in fake.search_requests()[before:]] == ["1", "2"]


def test_slice_that_cannot_be_split_is_capped_and_reported(make_fake_hh):
    start = int(CROWDED_START.timestamp())
    store = make_store(
        [start + n % 300 for n in range(2100)], [1] * 2100, [(96,)] * 2100
    )
    fake = make_fake_hh(store=store)
    client = make_client(fake)

    plan = plan_crawl(client, CROWDED_SCOPE, SMALL_AREA_CHILDREN, (96,))
    ids = fetch_all_ids(client, plan)

    assert leaf_rows(plan)[0] == (*WINDOW, (1,), (), 2100)
    assert [(t["found"], t["parts"], t["gap"]) for t in plan.truncated] == [
        (2100, 2000, 100)
    ]
    # 7 of them, published at 12:00:00 sharp, also sit in the earlier window.
    assert (plan.expected, len(ids)) == (2007, 2007)
    assert_never_past_item_2000(fake)


def test_several_scope_areas_are_split_one_by_one(make_fake_hh):
    fake = make_fake_hh()
    scope = Scope(
        areas=(2, 3), date_from=CROWDED_START, date_to=CROWDED_START + timedelta(0, 300)
    )

    plan = plan_crawl(make_client(fake), scope, SMALL_AREA_CHILDREN, SMALL_ROLE_IDS)

    assert leaf_rows(plan) == [(*WINDOW, (2,), (), 300), (*WINDOW, (3,), (), 1950)]
    assert plan.truncated == []


def test_small_scope_is_one_leaf_fetched_by_its_probe(make_fake_hh):
    fake = make_fake_hh()
    client = make_client(fake)
    scope = Scope(areas=(2,), roles=(96,))

    plan = plan_crawl(client, scope, SMALL_AREA_CHILDREN, SMALL_ROLE_IDS)

    assert [(leaf.areas, leaf.roles, leaf.found) for leaf in plan.leaves] == [
        ((2,), (96,), 433)
    ]
    assert (plan.probes, estimate_requests(plan), list(plan.first_pages)) == (1, 4, [0])
    assert plan.leaves[0].date_from == datetime(2000, 1, 1, tzinfo=MOSCOW_OFFSET)


def test_slice_params_are_hh_query_parameters():
    piece = Slice(
        datetime(2026, 3, 2, 12, 0, tzinfo=MOSCOW_OFFSET),
        datetime(2026, 3, 2, 9, 5, tzinfo=UTC),
        (1, 2),
        (96,),
    )

    assert piece.params() == [
        ("order_by", "publication_time"),
        ("date_from", "2026-03-02T12:00:00+0300"),
        ("date_to", "2026-03-02T12:05:00+0300"),
        ("area", "1"),
        ("area", "2"),
        ("professional_role", "96"),
    ]


@pytest.mark.parametrize(
    ("founds", "first_pages", "expected"),
    [((2000,), (0,), 19), ((2000,), (), 20), ((1, 101, 2500), (1,), 1 + 1 + 20)],
    ids=["full-leaf-probed", "full-leaf-unprobed", "mixed-and-capped"],
)
def test_estimate_counts_pages_still_to_fetch(founds, first_pages, expected):
    moment = datetime(2026, 3, 2, tzinfo=MOSCOW_OFFSET)
    plan = CrawlPlan(
        leaves=[Slice(moment, moment, (113,), (), n) for n in founds],
        probes=0,
        expected=0,
        scope_found=0,
        truncated=[],
    )
    for index in first_pages:
        plan.first_pages[index] = {"items": [], "pages": 1}

    assert estimate_requests(plan) == expected


def test_plan_over_shared_data_covers_the_scope_exactly(fake_hh_real, shared_hh):
    client = make_client(fake_hh_real)
    areas = client.fetch_areas()
    children = {
        int(node["id"]): tuple(int(c["id"]) for c in node["areas"])
        for node in walk(areas)
        if node["areas"]
    }
    now = datetime(2026, 12, 4, 12, 0, tzinfo=MOSCOW_OFFSET)

    plan = plan_crawl(client, Scope(areas=(113,)), children, (96,), now=now)
    ids = fetch_all_ids(client, plan)

    russia = {int(n["id"]) for n in walk([areas[0]])}
    in_russia = {
        item_id
        for item_id, area in shared_item_areas(fake_hh_real).items()
        if area in russia
    }
    windows = sorted((leaf.date_from, leaf.date_to) for leaf in plan.leaves)
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False))
    assert windows[0][0] == datetime(2000, 1, 1, tzinfo=MOSCOW_OFFSET)
    assert windows[-1][1] == now
    assert all(leaf.found <= 2000 for leaf in plan.leaves)
    assert ids == in_russia
    assert (plan.scope_found, len(in_russia), plan.truncated) == (5239, 5239, [])
    assert_never_past_item_2000(fake_hh_real)


def walk(nodes: list) -> list[dict]:
    found = []
    for node in nodes:
        found.append(node)
        found.extend(walk(node["areas"]))
    return found


def shared_item_areas(fake) -> dict[str, int]:
    store = fake.store
    return {
        store.item_at(p)["id"]: int(store.item_at(p)["area"]["id"])
        for p in range(len(store))
    }

"""The fake hh.ru server answers like the real API (hh-api.md §1, §4, §5)."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
import requests

from tests.fakehh.fixtures import SMALL_AREAS
from tests.fakehh.server import read_captcha_body

USER_AGENT = {"User-Agent": "FakeTest/1.0 (test@example.org)"}
CROWDED_DAY = "2026-03-02"


def search(fake, *params, headers=USER_AGENT, timeout=5):
    return requests.get(
        f"{fake.url}/vacancies", params=list(params), headers=headers, timeout=timeout
    )


def found(fake, *params) -> int:
    return search(fake, *params, ("per_page", "0")).json()["found"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ((), 5163),
        ((("area", "1261"),), 2293),
        ((("area", "3"),), 2083),
        ((("area", "1"), ("area", "2")), 2870),
        ((("area", "113"),), 5163),
        ((("professional_role", "70"),), 1250),
        ((("professional_role", "96"), ("professional_role", "10")), 3910),
        ((("date_from", CROWDED_DAY), ("date_to", CROWDED_DAY)), 4862),
        (
            (
                ("date_from", "2026-03-02T12:02:30+0300"),
                ("date_to", "2026-03-02T12:00:01+0300"),
            ),
            4763,
        ),
        (
            (
                ("date_from", "2026-03-02T11:55:00+0300"),
                ("date_to", "2026-03-02T12:00:00+0300"),
            ),
            19,
        ),
        (
            (
                ("date_from", "2026-03-02T12:05:00+0300"),
                ("date_to", "2026-03-02T12:10:00+0300"),
            ),
            0,
        ),
    ],
    ids=[
        "everything",
        "region-with-towns",
        "city",
        "two-areas",
        "country",
        "one-role",
        "two-roles",
        "bare-dates-whole-day",
        "bounds-rounded-outwards",
        "window-ending-on-boundary-overlaps",
        "empty-window",
    ],
)
def test_search_counts_filters_like_hh(make_fake_hh, params, expected):
    fake = make_fake_hh()

    assert found(fake, *params) == expected


def test_pages_are_newest_first_and_capped_at_item_2000(make_fake_hh):
    fake = make_fake_hh()

    first = search(fake, ("per_page", "100")).json()
    last = search(fake, ("per_page", "100"), ("page", "19")).json()

    assert (first["found"], first["pages"], first["page"], len(first["items"])) == (
        5163,
        20,
        0,
        100,
    )
    assert (last["page"], len(last["items"])) == (19, 100)
    times = [i["published_at"] for i in first["items"] + last["items"]]
    assert times == sorted(times, reverse=True)


def test_per_page_defaults_to_ten_and_one_gives_2000_pages(make_fake_hh):
    fake = make_fake_hh()

    default = search(fake).json()
    single = search(fake, ("per_page", "1")).json()
    probe = search(fake, ("per_page", "0")).json()

    assert (default["per_page"], len(default["items"]), default["pages"]) == (
        10,
        10,
        200,
    )
    assert (single["pages"], len(single["items"])) == (2000, 1)
    assert (probe["found"], probe["pages"], probe["items"]) == (5163, 0, [])


@pytest.mark.parametrize(
    ("page", "per_page"),
    [("20", "100"), ("200", "10"), ("2000", "1")],
    ids=["100-per-page", "10-per-page", "1-per-page"],
)
def test_request_past_item_2000_gets_hh_depth_error(make_fake_hh, page, per_page):
    fake = make_fake_hh()

    response = search(fake, ("page", page), ("per_page", per_page))

    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == [{"type": "bad_argument", "value": "page"}]
    assert body["description"] == "you can't look up more than 2000 items in the list"
    assert body["bad_argument"] == "page, per_page"


@pytest.mark.parametrize(
    ("params", "bad"),
    [
        ((("per_page", "101"),), "per_page"),
        ((("page", "x"),), "page"),
        ((("area", "Moscow"),), "area"),
        ((("date_from", "yesterday"),), "date_from"),
    ],
    ids=["per-page-over-100", "page-not-a-number", "area-not-an-id", "bad-date"],
)
def test_bad_arguments_get_400(make_fake_hh, params, bad):
    fake = make_fake_hh()

    response = search(fake, *params)

    assert response.status_code == 400
    assert response.json()["errors"] == [{"type": "bad_argument", "value": bad}]


def get_without_user_agent(fake, headers: dict) -> tuple[int, dict]:
    # requests and urllib3 always add a User-Agent; http.client sends only these.
    connection = http.client.HTTPConnection(urlsplit(fake.url).netloc, timeout=5)
    connection.request("GET", "/vacancies?per_page=0", headers=headers)
    response = connection.getresponse()
    answer = response.status, json.loads(response.read())
    connection.close()
    return answer


def test_missing_user_agent_is_refused_but_hh_user_agent_is_enough(make_fake_hh):
    fake = make_fake_hh()

    missing = get_without_user_agent(fake, {})
    hh_header = get_without_user_agent(fake, {"HH-User-Agent": "A/1 (a@b.org)"})

    assert missing == (400, {"errors": [{"type": "bad_user_agent", "value": "unset"}]})
    assert (hh_header[0], hh_header[1]["found"]) == (200, 5163)


def test_request_log_keeps_path_params_and_status(make_fake_hh):
    fake = make_fake_hh()

    search(fake, ("area", "1"), ("area", "2"), ("per_page", "5"))
    search(fake, ("per_page", "101"))

    logged = [(r.path, r.params, r.status) for r in fake.requests]
    assert logged == [
        ("/vacancies", [("area", "1"), ("area", "2"), ("per_page", "5")], 200),
        ("/vacancies", [("per_page", "101")], 400),
    ]


def test_reference_endpoints_serve_the_shared_files(fake_hh_real, shared_hh):
    areas = requests.get(f"{fake_hh_real.url}/areas", headers=USER_AGENT, timeout=5)
    region = requests.get(
        f"{fake_hh_real.url}/areas/1261", headers=USER_AGENT, timeout=5
    )
    roles = requests.get(
        f"{fake_hh_real.url}/professional_roles", headers=USER_AGENT, timeout=5
    )
    unknown = requests.get(
        f"{fake_hh_real.url}/areas/99999999", headers=USER_AGENT, timeout=5
    )

    expected = json.loads((shared_hh / "reference" / "areas.json").read_text())
    assert areas.json() == expected
    assert (region.json()["name"], len(region.json()["areas"])) == (
        "Свердловская область",
        237,
    )
    assert roles.json()["categories"][0]["id"] == "19"
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [((), 5485), ((("area", "1"),), 2216), ((("area", "2"),), 1912)],
    ids=["both-files", "moscow", "saint-petersburg"],
)
def test_shared_items_are_searchable(fake_hh_real, params, expected):
    assert found(fake_hh_real, *params) == expected


# --- faults ---------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after_every_nth(make_fake_hh):
    fake = make_fake_hh(rate_limit_every=2, retry_after="3")

    statuses = [search(fake) for _ in range(4)]

    assert [r.status_code for r in statuses] == [200, 429, 200, 429]
    assert statuses[1].headers["Retry-After"] == "3"


def test_outage_answers_503_for_the_next_requests(make_fake_hh):
    fake = make_fake_hh(unavailable_next=2)

    assert [search(fake).status_code for _ in range(3)] == [503, 503, 200]


def test_dropped_connection_gives_no_answer(make_fake_hh):
    fake = make_fake_hh(drop_next=1)

    with pytest.raises(requests.ConnectionError):
        search(fake)

    assert [r.status for r in fake.requests] == [None]
    assert search(fake).status_code == 200


def test_truncated_body_is_not_json(make_fake_hh):
    fake = make_fake_hh(truncate_next=1)

    response = search(fake)

    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_slow_answer_outlasts_a_short_timeout(make_fake_hh):
    fake = make_fake_hh(slow_next=1, slow_seconds=2.0)

    with pytest.raises(requests.Timeout):
        search(fake, timeout=0.2)


def test_repeated_item_has_a_second_version_on_page_one(make_fake_hh):
    fake = make_fake_hh(repeat_item=True)

    page0 = search(fake, ("per_page", "100")).json()["items"]
    page1 = search(fake, ("per_page", "100"), ("page", "1")).json()["items"]

    original, repeat = page0[0], page1[0]
    assert repeat["id"] == original["id"]
    assert (original["published_at"], repeat["published_at"]) == (
        "2026-03-02T12:04:59+0300",
        "2026-03-02T12:05:59+0300",
    )
    assert repeat["salary"] != original["salary"]


def test_captcha_after_n_requests_uses_the_real_body(make_fake_hh):
    fake = make_fake_hh(captcha_after=1)

    first, second = search(fake), search(fake)

    assert (first.status_code, second.status_code) == (200, 403)
    assert second.json() == read_captcha_body()
    assert second.json()["errors"][0]["type"] == "captcha_required"


def test_bad_token_gets_oauth_403(make_fake_hh):
    fake = make_fake_hh(bad_token="revoked")

    response = search(fake, headers={**USER_AGENT, "Authorization": "Bearer revoked"})

    assert response.status_code == 403
    assert response.json() == {
        "errors": [{"type": "oauth", "value": "bad_authorization"}]
    }


def test_faults_can_be_limited_to_one_path(make_fake_hh):
    fake = make_fake_hh(unavailable_every=1, only_path="/vacancies")

    areas = requests.get(f"{fake.url}/areas", headers=USER_AGENT, timeout=5)

    assert areas.status_code == 200
    assert areas.json() == SMALL_AREAS
    assert search(fake).status_code == 503

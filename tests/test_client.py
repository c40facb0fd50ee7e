"""The hh.ru client: retries, backoff, Retry-After, fatal refusals, rate limit."""

from __future__ import annotations

import threading

import pytest

from etl import client as client_module
from etl.client import ClientConfig
from etl.client import HHBadRequest
from etl.client import HHCancelled
from etl.client import HHClient
from etl.client import HHFatalError
from etl.client import HHRequestFailed
from etl.client import RateLimiter
from services.settings import Settings

USER_AGENT = "ClientTest/1.0 (test@example.org)"


def make_client(fake, **overrides) -> HHClient:
    values = {"rate": 0, "retries": 3, "backoff_base": 0.01, "timeout": 5.0}
    values.update(overrides)
    return HHClient(ClientConfig(fake.url, USER_AGENT, **values))


@pytest.fixture
def pauses(monkeypatch) -> list[float]:
    """Record the client's waits instead of sleeping; jitter is pinned to 1.0."""
    recorded: list[float] = []
    monkeypatch.setattr(client_module, "_pause", lambda s, _event: recorded.append(s))
    monkeypatch.setattr(client_module.random, "uniform", lambda low, high: high)
    return recorded


def test_empty_user_agent_is_refused_before_any_request(make_fake_hh):
    fake = make_fake_hh()

    with pytest.raises(HHFatalError, match="HH_USER_AGENT") as refused:
        HHClient(ClientConfig(fake.url, "  "))

    assert refused.value.kind == "bad_user_agent"
    assert fake.requests == []


def test_config_from_settings_takes_every_hh_setting():
    settings = Settings(
        hh_api_url="http://127.0.0.1:9",
        hh_user_agent=USER_AGENT,
        hh_app_token="secret",
        hh_workers=3,
        hh_rate=2.5,
        hh_timeout=7.0,
        hh_retries=4,
    )

    config = ClientConfig.from_settings(settings, workers=8, rate=None)

    assert config == ClientConfig(
        base_url="http://127.0.0.1:9",
        user_agent=USER_AGENT,
        app_token="secret",
        workers=8,
        rate=2.5,
        timeout=7.0,
        retries=4,
    )


def test_requests_carry_user_agent_and_bearer_token(make_fake_hh):
    fake = make_fake_hh()
    client = make_client(fake, app_token="app-token")

    assert client.fetch_found({"area": [1, 2]}) == 2870

    logged = fake.requests[0]
    assert logged.params == [
        ("area", "1"),
        ("area", "2"),
        ("page", "0"),
        ("per_page", "0"),
    ]
    assert logged.headers["user-agent"] == USER_AGENT
    assert logged.headers["hh-user-agent"] == USER_AGENT
    assert logged.headers["authorization"] == "Bearer app-token"


@pytest.mark.parametrize(
    "fault",
    [
        {"rate_limit_next": 1, "retry_after": None},
        {"unavailable_next": 1},
        {"drop_next": 1},
        {"truncate_next": 1},
        {"slow_next": 1, "slow_seconds": 3.0},
    ],
    ids=["429", "503", "dropped-connection", "truncated-json", "timeout"],
)
def test_transient_failures_are_retried(make_fake_hh, pauses, fault):
    fake = make_fake_hh(only_path="/vacancies", **fault)
    # Long enough for a healthy answer on a busy machine, short of the 3 s
    # the slow answer takes.
    client = make_client(fake, timeout=1.5)

    envelope = client.fetch_search_page({"area": 2}, page=0, per_page=100)

    assert (envelope["found"], len(envelope["items"])) == (433, 100)
    assert (client.requests_made, client.failed_requests) == (2, 0)
    assert pauses == [0.01]


def test_backoff_doubles_up_to_the_cap(make_fake_hh, pauses):
    fake = make_fake_hh(unavailable_next=4)
    client = make_client(fake, retries=5, backoff_base=10.0, backoff_cap=25.0)

    client.fetch_found({})

    assert pauses == [10.0, 20.0, 25.0, 25.0]


def test_retry_after_wins_over_backoff_and_is_capped(make_fake_hh, pauses):
    fake = make_fake_hh(rate_limit_next=2, retry_after="7")
    client = make_client(fake, backoff_cap=5.0)
    client.fetch_found({})
    fake.faults.rate_limit_next, fake.faults.retry_after = 1, "2"

    client.fetch_found({})

    assert pauses == [5.0, 5.0, 2.0]


def test_exhausted_retries_raise_and_count_a_failed_request(make_fake_hh, pauses):
    fake = make_fake_hh(unavailable_every=1)
    client = make_client(fake, retries=2)

    with pytest.raises(HHRequestFailed, match="after 3 attempts"):
        client.fetch_found({})

    assert (client.requests_made, client.failed_requests) == (3, 1)
    assert [r.status for r in fake.requests] == [503, 503, 503]


def test_bad_request_is_never_retried(make_fake_hh, pauses):
    fake = make_fake_hh()
    client = make_client(fake)

    with pytest.raises(HHBadRequest) as rejected:
        client.fetch_search_page({}, page=0, per_page=101)

    assert rejected.value.errors == [{"type": "bad_argument", "value": "per_page"}]
    assert (client.requests_made, pauses) == (1, [])


@pytest.mark.parametrize(
    ("fault", "token", "kind", "setting"),
    [
        ({"captcha_after": 0}, "", "captcha_required", "HH_APP_TOKEN"),
        ({"bad_token": "revoked"}, "revoked", "oauth", "HH_APP_TOKEN"),
        ({"blacklisted_user_agent": USER_AGENT}, "", "bad_user_agent", "HH_USER_AGENT"),
    ],
    ids=["captcha", "oauth", "blacklisted-user-agent"],
)
def test_refusals_are_fatal_and_name_the_setting(
    make_fake_hh, pauses, fault, token, kind, setting
):
    fake = make_fake_hh(**fault)
    client = make_client(fake, app_token=token)

    with pytest.raises(HHFatalError, match=setting) as refused:
        client.fetch_found({})

    assert refused.value.kind == kind
    assert (client.requests_made, pauses) == (1, [])


def test_cancel_stops_retrying(make_fake_hh):
    fake = make_fake_hh(unavailable_every=1)
    cancel = threading.Event()
    config = ClientConfig(fake.url, USER_AGENT, rate=0, retries=5, backoff_base=30)
    client = HHClient(
        config, on_request=lambda event: cancel.set(), cancel_event=cancel
    )

    with pytest.raises(HHCancelled):
        client.fetch_found({})

    assert client.requests_made == 1


def test_on_request_sees_every_attempt(make_fake_hh, pauses):
    fake = make_fake_hh(unavailable_next=1)
    events = []
    config = ClientConfig(fake.url, USER_AGENT, rate=0, backoff_base=0.01)
    client = HHClient(config, on_request=events.append)

    client.fetch_json("/areas")

    assert [(e.path, e.status, e.attempt) for e in events] == [
        ("/areas", 503, 0),
        ("/areas", 200, 1),
    ]


def test_rate_limiter_spaces_requests_of_all_threads():
    clock = [100.0]
    limiter = RateLimiter(rate=5.0, clock=lambda: clock[0])

    waits = [limiter.reserve() for _ in range(3)]
    clock[0] = 101.0
    later = limiter.reserve()

    assert waits == pytest.approx([0.0, 0.2, 0.4])
    assert later == 0.0


def test_reference_fetchers_return_the_shared_files(fake_hh_real):
    client = make_client(fake_hh_real)

    areas = client.fetch_areas()
    dictionaries = client.fetch_dictionaries()
    roles = client.fetch_professional_roles()

    assert [a["id"] for a in areas][:3] == ["113", "5", "40"]
    assert {"currency", "experience"} <= set(dictionaries)
    assert len(roles["categories"]) > 20

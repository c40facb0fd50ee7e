"""Sign-in, sessions, rate limits, CSRF, client IPs, tokens and the journal."""

from __future__ import annotations

import logging
import socket
import uuid

import pytest
import redis
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

import auth.ratelimit
import auth.users
from auth.clientip import get_client_ip
from dashboard.account import is_local_path
from services.schema import JournalEntry
from services.schema import LoginFailure
from tests.auth_support import PASSWORD
from tests.auth_support import add_ban
from tests.auth_support import add_token
from tests.auth_support import add_user
from tests.auth_support import csrf_of
from tests.auth_support import engine_of
from tests.auth_support import log_in
from tests.auth_support import make_app
from tests.auth_support import post_form

REDIS_URL = "redis://127.0.0.1:6379/11"


@pytest.fixture
def app(database_url, tmp_path):
    return make_app(database_url, tmp_path)


def journal_rows(app) -> list[tuple]:
    with Session(engine_of(app)) as session:
        rows = session.execute(select(JournalEntry).order_by(JournalEntry.id))
        return [(r.login, r.ip, r.action, r.details) for r in rows.scalars()]


@pytest.mark.parametrize(
    ("target", "local"),
    [
        ("/account", True),
        ("/?area=1&area=2", True),
        ("//evil.example", False),
        ("/\\evil.example", False),
        ("https:evil.example", False),
        ("https://evil.example/", False),
        ("javascript:alert(1)", False),
        ("/%0a//evil", True),
        ("/\t/evil.example", False),
        ("", False),
    ],
    ids=[
        "path",
        "query",
        "protocol-relative",
        "backslash",
        "scheme-no-slash",
        "absolute",
        "javascript",
        "encoded-newline",
        "tab",
        "empty",
    ],
)
def test_next_is_kept_only_when_it_is_a_local_path(target, local):
    assert is_local_path(target) is local


@pytest.mark.db
@pytest.mark.parametrize(
    ("next_value", "location"),
    [
        ("/account", "/account"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https:evil.example", "/"),
    ],
    ids=["local", "protocol-relative", "backslash", "scheme"],
)
def test_login_redirects_only_to_local_next(app, next_value, location):
    add_user(app, "alice")

    response = log_in(app.test_client(), "alice", next=next_value)

    assert response.status_code == 302
    assert response.headers["Location"] == location


@pytest.mark.parametrize(
    ("remote", "forwarded", "hops", "expected"),
    [
        ("10.0.0.1", None, 0, "10.0.0.1"),
        ("10.0.0.1", "203.0.113.5", 0, "10.0.0.1"),
        ("10.0.0.1", "203.0.113.5", 1, "203.0.113.5"),
        ("10.0.0.1", "1.2.3.4, 203.0.113.5", 1, "203.0.113.5"),
        ("10.0.0.1", "1.2.3.4, 203.0.113.5", 2, "1.2.3.4"),
        ("10.0.0.1", "203.0.113.5", 2, "10.0.0.1"),
        ("10.0.0.1", "not-an-ip", 1, "10.0.0.1"),
    ],
    ids=[
        "no-header",
        "untrusted-header",
        "one-hop",
        "forged-left-entry-ignored",
        "two-hops",
        "fewer-entries-than-hops",
        "garbage",
    ],
)
def test_client_ip_trusts_only_the_configured_hops(remote, forwarded, hops, expected):
    assert get_client_ip(remote, forwarded, hops) == expected


@pytest.mark.db
@pytest.mark.parametrize(
    ("hops", "forwarded", "status"),
    [
        (0, "203.0.113.5", 302),
        (1, "203.0.113.5", 403),
        (1, "203.0.113.5, 198.51.100.7", 302),
    ],
    ids=["forged-without-proxy", "through-trusted-proxy", "forged-before-proxy"],
)
def test_ip_ban_follows_the_trusted_forwarded_address(
    database_url, tmp_path, hops, forwarded, status
):
    app = make_app(database_url, tmp_path, trusted_proxies=hops)
    add_ban(app, "ip", "203.0.113.5")

    response = app.test_client().get("/", headers={"X-Forwarded-For": forwarded})

    assert response.status_code == status


@pytest.mark.db
def test_banned_ip_cannot_even_see_the_login_page(app):
    add_user(app, "alice")
    add_ban(app, "ip", "127.0.0.1")
    client = app.test_client()

    assert client.get("/login").status_code == 403
    assert client.post("/login", data={"login": "alice"}).status_code == 403


@pytest.mark.db
def test_registration_signs_in_and_is_journalled(app):
    client = app.test_client()
    token = csrf_of(client)

    response = client.post(
        "/register",
        data={
            "login": "Bob.K",
            "password": PASSWORD,
            "password_repeat": PASSWORD,
            "csrf_token": token,
        },
    )

    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert journal_rows(app) == [("bob.k", "127.0.0.1", "register", None)]


@pytest.mark.db
def test_a_signed_in_user_is_sent_from_registration_to_the_account(app):
    add_user(app, "alice")
    client = app.test_client()
    log_in(client, "alice")

    page = client.get("/register")
    form = post_form(
        client,
        "/register",
        {"login": "bob", "password": PASSWORD, "password_repeat": PASSWORD},
    )

    assert (page.status_code, page.headers["Location"]) == (302, "/account")
    assert (form.status_code, form.headers["Location"]) == (302, "/account")
    with Session(engine_of(app)) as session:
        from services.schema import User

        logins = session.execute(select(User.login)).scalars().all()
    assert logins == ["alice"]


@pytest.mark.db
@pytest.mark.parametrize(
    ("login", "password", "repeat", "error"),
    [
        ("ab", PASSWORD, PASSWORD, "login_invalid"),
        ("bob", "short-pw1", "short-pw1", "password_short"),
        ("bob", PASSWORD, PASSWORD + "x", "password_mismatch"),
        ("alice", PASSWORD, PASSWORD, "login_taken"),
    ],
    ids=["short-login", "short-password", "mismatch", "taken"],
)
def test_registration_refuses_bad_input(app, login, password, repeat, error):
    add_user(app, "alice")
    client = app.test_client()

    response = post_form(
        client,
        "/register",
        {"login": login, "password": password, "password_repeat": repeat},
    )

    assert response.status_code == 400
    assert f'data-error="{error}"' in response.get_data(as_text=True)


@pytest.mark.db
def test_closed_registration_is_not_found(database_url, tmp_path):
    app = make_app(database_url, tmp_path, registration_open=False)

    assert app.test_client().get("/register").status_code == 404


@pytest.mark.db
def test_login_rotates_the_session(app):
    add_user(app, "alice")
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by-attacker"
        old_token = session["csrf"]

    log_in(client, "alice")

    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["csrf"] != old_token
        assert session["epoch"] == 0


@pytest.mark.db
@pytest.mark.parametrize("ending", ["logout", "ban", "password"])
def test_an_old_session_cookie_dies_after_logout_ban_or_new_password(app, ending):
    add_user(app, "alice")
    add_user(app, "mod", "moderator")
    client = app.test_client()
    log_in(client, "alice")
    stolen = client.get_cookie("session").value

    if ending == "logout":
        assert post_form(client, "/logout").status_code == 302
    elif ending == "ban":
        add_ban(app, "login", "alice")
    else:
        response = post_form(
            client,
            "/account/password",
            {
                "current_password": PASSWORD,
                "password": "another-pass-1",
                "password_repeat": "another-pass-1",
            },
        )
        assert response.status_code == 200
    replay = app.test_client()
    replay.set_cookie("session", stolen)

    assert replay.get("/account").status_code == 302
    assert replay.get("/api/v1/stats").status_code == 401


@pytest.mark.db
def test_the_password_owner_keeps_their_own_session_after_changing_it(app):
    add_user(app, "alice")
    client = app.test_client()
    log_in(client, "alice")

    post_form(
        client,
        "/account/password",
        {
            "current_password": PASSWORD,
            "password": "another-pass-1",
            "password_repeat": "another-pass-1",
        },
    )

    assert client.get("/account").status_code == 200
    assert log_in(app.test_client(), "alice", "another-pass-1").status_code == 302


@pytest.mark.db
def test_failed_login_is_journalled_without_the_password(app):
    add_user(app, "alice")

    response = log_in(app.test_client(), "alice", "wrong-password-1")

    assert response.status_code == 401
    assert journal_rows(app) == [("alice", "127.0.0.1", "login_failed", None)]


@pytest.mark.db
@pytest.mark.parametrize(
    ("origin", "send_token", "status"),
    [
        (None, False, 400),
        ("https://evil.example", True, 400),
        (None, True, 302),
        ("http://localhost", True, 302),
    ],
    ids=["no-token", "foreign-origin", "token", "token-same-origin"],
)
def test_forms_need_the_session_token_and_a_local_origin(
    app, origin, send_token, status
):
    add_user(app, "alice")
    client = app.test_client()
    data = {"login": "alice", "password": PASSWORD}
    if send_token:
        data["csrf_token"] = csrf_of(client)
    headers = {"Origin": origin} if origin else {}

    assert client.post("/login", data=data, headers=headers).status_code == status


@pytest.mark.db
@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({}, True),
        ({"X-CSRFToken": "forged"}, True),
        ({"Origin": "https://evil.example"}, True),
        ({"Origin": "http://localhost"}, False),
        ("session-token", False),
    ],
    ids=["nothing", "forged-header", "foreign-origin", "same-origin", "header"],
)
def test_dash_callbacks_need_the_csrf_header_or_same_origin(app, headers, refused):
    add_user(app, "alice")
    client = app.test_client()
    log_in(client, "alice")
    client.get("/account")
    assert client.get_cookie("_csrf_token").value == csrf_of(client)
    if headers == "session-token":
        headers = {"X-CSRFToken": client.get_cookie("_csrf_token").value}

    response = client.post("/_dash-update-component", json={}, headers=headers)

    is_cross_site = response.status_code == 400 and (
        response.is_json and response.json["error"]["code"] == "cross_site"
    )
    assert is_cross_site is refused


def _fail_logins(client, login: str, times: int) -> list[int]:
    return [log_in(client, login, "wrong-password-1").status_code for _ in range(times)]


@pytest.mark.db
def test_ten_failures_lock_a_login_for_everyone_until_the_window_passes(app):
    add_user(app, "alice")
    client = app.test_client()

    statuses = _fail_logins(client, "alice", 10)

    assert statuses == [401] * 10
    locked = log_in(client, "alice")
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "900"
    assert log_in(client, "bob").status_code == 401


@pytest.mark.db
def test_database_counters_are_shared_by_two_app_instances(database_url, tmp_path):
    first = make_app(database_url, tmp_path)
    second = make_app(database_url, tmp_path)
    add_user(first, "alice")

    _fail_logins(first.test_client(), "alice", 6)
    _fail_logins(second.test_client(), "alice", 4)

    assert log_in(first.test_client(), "alice").status_code == 429


@pytest.fixture
def redis_prefix(monkeypatch):
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    prefix = f"test-auth-{uuid.uuid4().hex}:"
    monkeypatch.setattr(auth.ratelimit, "REDIS_PREFIX", prefix)
    yield prefix
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)


@pytest.mark.db
def test_redis_counters_are_shared_by_two_app_instances(
    database_url, tmp_path, redis_prefix
):
    first = make_app(database_url, tmp_path, redis_url=REDIS_URL)
    second = make_app(database_url, tmp_path, redis_url=REDIS_URL)
    add_user(first, "alice")

    _fail_logins(first.test_client(), "alice", 5)
    _fail_logins(second.test_client(), "alice", 5)

    assert log_in(first.test_client(), "alice").status_code == 429
    counted = redis.Redis.from_url(REDIS_URL).zcard(redis_prefix + "login:alice")
    assert counted == 10


def closed_local_port() -> int:
    """A 127.0.0.1 port that nothing listens on: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.db
def test_unreachable_redis_falls_back_to_database_counters_with_one_warning(
    database_url, tmp_path, caplog
):
    app = make_app(
        database_url, tmp_path, redis_url=f"redis://127.0.0.1:{closed_local_port()}/0"
    )
    add_user(app, "alice")
    client = app.test_client()

    with caplog.at_level(logging.WARNING, logger="auth.ratelimit"):
        statuses = _fail_logins(client, "alice", 10)
        locked = log_in(client, "alice")

    assert statuses == [401] * 10
    assert locked.status_code == 429
    with Session(engine_of(app)) as session:
        counted = session.execute(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.key == "login:alice")
        ).scalar_one()
    assert counted == 10
    warnings = [r for r in caplog.records if r.name == "auth.ratelimit"]
    assert [r.levelname for r in warnings] == ["WARNING"]
    assert "fall back to the database" in warnings[0].getMessage()


@pytest.mark.db
def test_fifty_failures_from_one_ip_lock_every_login(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    add_user(app, "alice")
    client = app.test_client()
    for index in range(5):
        _fail_logins(client, f"ghost{index}", 10)

    assert log_in(client, "alice").status_code == 429


@pytest.mark.db
def test_a_ban_reaches_a_second_app_instance(database_url, tmp_path):
    first = make_app(database_url, tmp_path)
    second = make_app(database_url, tmp_path)
    add_user(first, "alice")
    add_user(first, "mod", "moderator")
    alice = first.test_client()
    log_in(alice, "alice")
    moderator = second.test_client()
    log_in(moderator, "mod")

    response = post_form(
        moderator, "/moderator/bans", {"kind": "login", "value": "alice"}
    )

    assert response.status_code == 302
    assert alice.get("/account").status_code == 302
    assert log_in(alice, "alice").status_code == 403


@pytest.mark.db
def test_api_tokens_are_shown_once_stored_hashed_and_revocable(app):
    user_id = add_user(app, "alice")
    client = app.test_client()
    log_in(client, "alice")

    page = post_form(client, "/account/tokens", {"name": "script"})
    plain = page.get_data(as_text=True).split('id="account-new-token">')[1]
    plain = plain.split("<")[0]
    bearer = {"Authorization": f"Bearer {plain}"}

    assert app.test_client().get("/api/v1/stats", headers=bearer).status_code != 401
    assert plain not in client.get("/account").get_data(as_text=True)
    with Session(engine_of(app)) as session:
        from services.schema import ApiToken

        token = session.execute(select(ApiToken)).scalar_one()
        assert token.user_id == user_id
        assert token.token_hash != plain
        assert token.last_used_at is not None
    post_form(client, f"/account/tokens/{token.id}/revoke")
    assert app.test_client().get("/api/v1/stats", headers=bearer).status_code == 401


@pytest.mark.db
def test_unknown_token_is_refused(app):
    add_token(app, add_user(app, "alice"))
    bearer = {"Authorization": "Bearer hh_not-a-token"}

    response = app.test_client().get("/api/v1/stats", headers=bearer)

    assert response.status_code == 401
    assert response.json["error"]["code"] == "token_invalid"


@pytest.mark.db
def test_a_token_name_over_the_limit_is_refused_with_a_reason(app):
    add_user(app, "alice")
    client = app.test_client()
    log_in(client, "alice")

    response = post_form(client, "/account/tokens", {"name": "x" * 101})

    assert response.status_code == 400
    assert "длиннее 100 символов" in response.get_data(as_text=True)
    with Session(engine_of(app)) as session:
        from services.schema import ApiToken

        assert session.execute(select(func.count()).select_from(ApiToken)).scalar() == 0

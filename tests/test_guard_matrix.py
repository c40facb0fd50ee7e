"""Who may open what: every principal against every page, API and Dash route."""

from __future__ import annotations

import pytest

import auth.users
from tests.auth_support import CHEAP_HASH
from tests.auth_support import add_ban
from tests.auth_support import add_token
from tests.auth_support import add_user
from tests.auth_support import csrf_of
from tests.auth_support import log_in
from tests.auth_support import make_app
from tests.auth_support import set_maintenance

pytestmark = pytest.mark.db

PASS = "pass"
PRINCIPALS = [
    "anonymous",
    "user",
    "moderator",
    "admin",
    "banned_login",
    "banned_ip",
    "token",
]
PAGE_USER = {"anonymous": 302, "banned_login": 302, "banned_ip": 403, "token": 302}
PAGE_MOD = {**PAGE_USER, "user": 403}
PAGE_ADMIN = {**PAGE_MOD, "moderator": 403}
JSON_USER = {"anonymous": 401, "banned_login": 401, "banned_ip": 403}
DASH = {**JSON_USER, "token": 401}
LOGIN = {"banned_ip": 403}

ROUTES = [
    ("GET", "/", PAGE_USER),
    ("GET", "/methodology", PAGE_USER),
    ("GET", "/no-such-page", PAGE_USER),
    ("GET", "/account", PAGE_USER),
    ("GET", "/moderator", PAGE_MOD),
    ("GET", "/moderator/journal.csv", PAGE_MOD),
    ("GET", "/admin", PAGE_ADMIN),
    ("GET", "/login", LOGIN),
    ("GET", "/api/v1/stats", JSON_USER),
    ("GET", "/api/v1/areas", JSON_USER),
    ("GET", "/api/v1/employers", JSON_USER),
    ("GET", "/api/v1/unknown", JSON_USER),
    ("GET", "/download/stats.csv", JSON_USER),
    ("GET", "/download/stats.xlsx", JSON_USER),
    ("GET", "/download/vacancies.csv", JSON_USER),
    ("GET", "/download/vacancies.xlsx", JSON_USER),
    ("GET", "/_dash-layout", DASH),
    ("GET", "/_dash-dependencies", DASH),
    ("POST", "/_dash-update-component", DASH),
    ("GET", "/_dash-unknown", DASH),
]


@pytest.fixture(autouse=True)
def cheap_hash(monkeypatch):
    monkeypatch.setattr(auth.users, "PASSWORD_HASH_METHOD", CHEAP_HASH)


def client_as(app, principal: str):
    """A test client signed in as `principal`, plus headers to send."""
    client = app.test_client()
    if principal == "anonymous":
        return client, {}
    if principal == "banned_ip":
        add_ban(app, "ip", "127.0.0.0/8")
        return client, {}
    role = principal if principal in ("user", "moderator", "admin") else "user"
    user_id = add_user(app, f"{principal}-1", role)
    if principal == "token":
        return client, {"Authorization": f"Bearer {add_token(app, user_id)}"}
    assert log_in(client, f"{principal}-1").status_code == 302
    if principal == "banned_login":
        add_ban(app, "login", f"{principal}-1")
    return client, {"X-CSRFToken": csrf_of(client)}


def passed_guard(response) -> bool:
    if response.status_code in (302, 401, 403, 503):
        return False
    if response.status_code == 400 and response.is_json:
        return response.json["error"].get("code") != "cross_site"
    return True


def call(client, method: str, path: str, headers: dict):
    if method == "POST":
        return client.post(path, json={}, headers=headers)
    return client.get(path, headers=headers)


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_every_route_answers_each_principal_as_design_says(
    database_url, tmp_path, principal
):
    app = make_app(database_url, tmp_path)
    client, headers = client_as(app, principal)

    for method, path, table in ROUTES:
        expected = table.get(principal, PASS)
        response = call(client, method, path, headers)
        if expected == PASS:
            assert passed_guard(response), (path, response.status_code)
        else:
            assert response.status_code == expected, (path, response.status_code)
            if expected == 302:
                assert response.headers["Location"].startswith("/login?next=")
            if path.startswith(("/api/", "/download/", "/_dash-")):
                assert response.is_json


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_health_and_assets_answer_everyone(database_url, tmp_path, principal):
    app = make_app(database_url, tmp_path)
    client, headers = client_as(app, principal)

    assert client.get("/healthz", headers=headers).json == {"status": "ok"}
    with client.get("/assets/accounts.css", headers=headers) as asset:
        assert asset.status_code in (200, 404)


def test_anonymous_is_sent_to_login_with_the_full_path(database_url, tmp_path):
    app = make_app(database_url, tmp_path)

    response = app.test_client().get("/?area=1&area=2")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/?area%3D1%26area%3D2"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", PASS),
        ("/api/v1/stats", PASS),
        ("/_dash-layout", PASS),
        ("/download/stats.csv", PASS),
        ("/account", 302),
        ("/admin", 302),
    ],
    ids=["page", "api", "dash", "download", "account", "admin"],
)
def test_public_dashboard_opens_analytics_only(database_url, tmp_path, path, expected):
    app = make_app(database_url, tmp_path, public_dashboard=True)

    response = app.test_client().get(path)

    if expected == PASS:
        assert passed_guard(response)
    else:
        assert response.status_code == expected


@pytest.mark.parametrize(
    ("principal", "path", "expected"),
    [
        ("user", "/", 503),
        ("user", "/api/v1/stats", 503),
        ("user", "/download/stats.csv", 503),
        ("user", "/_dash-layout", 503),
        ("moderator", "/moderator", 503),
        ("anonymous", "/login", 200),
        ("admin", "/admin", 200),
        ("admin", "/", PASS),
    ],
    ids=lambda value: str(value).strip("/").replace("/", "-") or "root",
)
def test_maintenance_stops_everyone_but_admins(
    database_url, tmp_path, principal, path, expected
):
    app = make_app(database_url, tmp_path)
    client, headers = client_as(app, principal)
    set_maintenance(app, {"stage": "write", "vacancies": 1200})

    response = client.get(path, headers=headers)

    if expected == PASS:
        assert passed_guard(response)
        return
    assert response.status_code == expected
    if expected == 503:
        assert response.headers["Retry-After"] == "60"
        if response.is_json:
            assert response.json["error"]["progress"] == {
                "stage": "write",
                "vacancies": 1200,
            }
        else:
            assert "1200" in response.get_data(as_text=True)

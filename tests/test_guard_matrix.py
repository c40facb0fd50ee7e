"""Who may open what: every principal against every page, API and Dash route."""

from __future__ import annotations

import re

import pytest

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

# Every rule of the app's url_map must be reached by a row here or in
# OPEN_ROUTES (test_every_registered_route_is_in_the_matrix). POSTs carry
# harmless forms; /logout comes last because it ends the session.
ROUTES = [
    ("GET", "/", PAGE_USER),
    ("GET", "/methodology", PAGE_USER),
    ("GET", "/no-such-page", PAGE_USER),
    ("GET", "/_reload-hash", PAGE_USER),
    ("GET", "/account", PAGE_USER),
    ("POST", "/account/password", PAGE_USER),
    ("POST", "/account/tokens", PAGE_USER),
    ("POST", "/account/tokens/999/revoke", PAGE_USER),
    ("GET", "/moderator", PAGE_MOD),
    ("GET", "/moderator/journal.csv", PAGE_MOD),
    ("POST", "/moderator/bans", PAGE_MOD),
    ("POST", "/moderator/bans/999/lift", PAGE_MOD),
    ("GET", "/admin", PAGE_ADMIN),
    ("POST", "/admin/users/999/role", PAGE_ADMIN),
    ("POST", "/admin/refresh", PAGE_ADMIN),
    ("POST", "/admin/refresh/999/cancel", PAGE_ADMIN),
    ("GET", "/login", LOGIN),
    ("POST", "/login", LOGIN),
    ("GET", "/register", LOGIN),
    ("POST", "/register", LOGIN),
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
    ("POST", "/logout", LOGIN),
]
OPEN_ROUTES = [
    ("GET", "/healthz"),
    ("GET", "/assets/accounts.css"),
    ("GET", "/_dash-component-suites/dash/dcc/dash_core_components.js"),
    ("GET", "/_favicon.ico"),
]
GUARD_CODES = frozenset(
    {"login_required", "token_invalid", "role_too_low", "ip_banned", "maintenance",
     "cross_site"}
)  # fmt: skip
# A form no view acts on: an unknown role, a zero-day refresh, an empty ban.
HARMLESS_FORM = {"role": "no-such-role", "days": "0"}


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
    return client, {}


def passed_guard(response) -> bool:
    """False when the answer is one of the guard's refusals, True otherwise.

    A view's own 400/401/404 (an empty form, an unknown id) counts as passed.
    """
    if response.status_code == 302:
        return not response.headers["Location"].startswith("/login?next=")
    if response.is_json:
        body = response.json
        error = body.get("error") if isinstance(body, dict) else None
        return not (isinstance(error, dict) and error.get("code") in GUARD_CODES)
    if response.mimetype != "text/html":
        return True
    found = re.search(r'id="accounts-error" data-code="([a-z_]+)"', response.text)
    return not (found and found.group(1) in GUARD_CODES)


def call(client, method: str, path: str, headers: dict, principal: str):
    if method == "GET":
        return client.get(path, headers=headers)
    if principal != "banned_ip":
        # As a browser would: the token of the page the session holds now.
        headers = {**headers, "X-CSRFToken": csrf_of(client)}
    if path.startswith("/_dash-"):
        return client.post(path, json={}, headers=headers)
    return client.post(path, data=HARMLESS_FORM, headers=headers)


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_every_route_answers_each_principal_as_design_says(
    database_url, tmp_path, principal
):
    app = make_app(database_url, tmp_path)
    client, headers = client_as(app, principal)

    for method, path, table in ROUTES:
        expected = table.get(principal, PASS)
        response = call(client, method, path, headers, principal)
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
    for _method, path in OPEN_ROUTES:
        with client.get(path, headers=headers) as answer:
            assert answer.status_code in (200, 404), (path, answer.status_code)


def test_every_registered_route_is_in_the_matrix(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    adapter = app.url_map.bind("localhost")
    reached = set()
    for method, path, *_table in ROUTES + OPEN_ROUTES:
        rule, _values = adapter.match(path, method=method, return_rule=True)
        reached.add((method, rule.rule))

    registered = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }

    assert sorted(registered - reached) == []


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
    progress = {
        "phase": "downloading",
        "slices_total": 2,
        "slices_done": 0,
        "requests": 31,
        "vacancies": 2700,
        "found": 3055,
        "eta_seconds": 0.7,
    }
    set_maintenance(app, progress)  # fmt: skip

    response = client.get(path, headers=headers)

    if expected == PASS:
        assert passed_guard(response)
        return
    assert response.status_code == expected
    if expected == 503:
        assert response.headers["Retry-After"] == "60"
        if response.is_json:
            assert response.json["error"]["progress"] == progress
        else:
            page = response.get_data(as_text=True)
            assert "Загрузка: 2\u202f700 из 3\u202f055 вакансий, осталось ~1 с." in page
            assert "eta_seconds" not in page

"""API tokens in the Authorization header: the scheme and a banned owner."""

from __future__ import annotations

import pytest

from auth.tokens import read_bearer_token
from tests.auth_support import add_ban
from tests.auth_support import add_token
from tests.auth_support import add_user
from tests.auth_support import make_app


@pytest.fixture
def app(database_url, tmp_path):
    return make_app(database_url, tmp_path)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer hh_abc", "hh_abc"),
        ("bearer hh_abc", "hh_abc"),
        ("BEARER  hh_abc ", "hh_abc"),
        ("Basic hh_abc", None),
        ("Bearerhh_abc", None),
        ("", None),
        (None, None),
    ],
    ids=["canonical", "lower-case", "upper-case", "basic", "no-space", "empty", "none"],
)
def test_bearer_scheme_is_case_insensitive(header, token):
    assert read_bearer_token(header) == token


@pytest.mark.db
@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_a_token_works_whatever_the_scheme_case(app, scheme):
    plain = add_token(app, add_user(app, "alice"))

    response = app.test_client().get(
        "/api/v1/stats", headers={"Authorization": f"{scheme} {plain}"}
    )

    assert response.status_code == 200


@pytest.mark.db
def test_a_banned_owners_token_is_refused_as_banned(app):
    plain = add_token(app, add_user(app, "alice"))
    add_ban(app, "login", "alice")

    response = app.test_client().get(
        "/download/stats.csv", headers={"Authorization": f"Bearer {plain}"}
    )

    assert response.status_code == 403
    assert response.json["error"]["code"] == "login_banned"
    assert response.json["error"]["message"] == "This account is banned."

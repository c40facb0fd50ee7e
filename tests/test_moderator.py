"""The moderator's journal and bans."""

from __future__ import annotations

import ast
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from auth.journal import ACTIONS
from auth.journal import delete_old_events
from auth.journal import save_event
from dashboard.i18n import translate
from dashboard.moderator import action_label
from services.schema import JournalEntry
from tests.auth_support import add_user
from tests.auth_support import engine_of
from tests.auth_support import log_in
from tests.auth_support import make_app
from tests.auth_support import post_form

pytestmark = pytest.mark.db


@pytest.fixture
def app(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    add_user(app, "mod", "moderator")
    add_user(app, "boss", "admin")
    add_user(app, "alice")
    return app


@pytest.fixture
def moderator(app):
    client = app.test_client()
    log_in(client, "mod")
    return client


def add_entries(app, entries) -> None:
    with Session(engine_of(app)) as session:
        for at, login, ip, action in entries:
            session.add(JournalEntry(at=at, login=login, ip=ip, action=action))
        session.commit()


ENTRIES = [
    (datetime(2024, 3, 1, 9, 0), "alice", "10.0.0.1", "query"),
    (datetime(2024, 3, 1, 22, 0), "alice", "10.0.0.2", "export"),
    (datetime(2024, 3, 2, 9, 0), "bob", "10.0.0.1", "query"),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("login=alice", "2"),
        ("ip=10.0.0.1", "2"),
        ("action=export", "1"),
        ("from=2024-03-02&to=2024-03-02", "2"),
        ("to=2024-03-01", "1"),
        ("login=alice&action=query&ip=10.0.0.1", "1"),
    ],
    ids=["login", "ip", "action", "from-moscow-day", "to-moscow-day", "combined"],
)
def test_journal_filters(app, moderator, query, expected):
    # 22:00 UTC on March 1 is already March 2 in Moscow.
    add_entries(app, ENTRIES)

    response = moderator.get(f"/moderator?{query}&lang=en")

    assert f"Entries found: {expected}" in response.get_data(as_text=True)


def test_journal_pages_hold_fifty_rows(app, moderator):
    at = datetime(2024, 3, 1, 9, 0)
    add_entries(app, [(at, "alice", "10.0.0.1", "query")] * 51)

    second = moderator.get("/moderator?action=query&page=2&lang=en")

    assert "Page 2 of 2" in second.get_data(as_text=True)
    assert second.get_data(as_text=True).count('data-action="query"') == 1


@pytest.mark.parametrize(
    ("page", "shown"),
    [("99999999999999999999999", "1"), ("7", "2"), ("0", "1"), ("two", "1")],
    ids=["huge", "past-the-last", "zero", "word"],
)
def test_a_missing_page_number_shows_a_page_and_says_so(app, moderator, page, shown):
    at = datetime(2024, 3, 1, 9, 0)
    add_entries(app, [(at, "alice", "10.0.0.1", "query")] * 51)

    response = moderator.get(f"/moderator?action=query&page={page}&lang=en")

    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"There is no page &#39;{page}&#39;; page {shown} is shown." in text
    assert f"Page {shown} of 2" in text


@pytest.mark.parametrize("query", ["from=0001-01-01", "to=9999-12-31"])
def test_journal_dates_off_the_calendar_are_dropped_with_a_notice(
    app, moderator, query
):
    add_entries(app, ENTRIES)

    page = moderator.get(f"/moderator?login=alice&{query}&lang=en")
    csv_file = moderator.get(f"/moderator/journal.csv?{query}")

    text = page.get_data(as_text=True)
    assert "is malformed or outside 2000-01-01 .. 2100-12-31" in text
    assert "Entries found: 2" in text
    assert csv_file.status_code == 200


PROJECT = Path(__file__).resolve().parent.parent
# Where each journal writer takes the action code among its arguments.
ACTION_ARGUMENT = {"record_event": 0, "save_event": 1, "record_event_as": 2}


def recorded_actions() -> set[str]:
    """Every action code the product's code passes to a journal writer."""
    found = set()
    for folder in ("auth", "dashboard", "etl", "services"):
        for path in (PROJECT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                position = ACTION_ARGUMENT.get(name)
                if position is not None and len(node.args) > position:
                    argument = node.args[position]
                    if isinstance(argument, ast.Constant):
                        found.add(argument.value)
    return found


def test_every_recorded_action_is_listed_and_named_in_both_languages(app):
    recorded = recorded_actions()

    assert {"login_failed", "refresh_start", "refresh_end", "query"} <= recorded
    assert recorded <= set(ACTIONS)
    with app.test_request_context("/"):
        for action in ACTIONS:
            russian = translate(f"auth.action.{action}", "ru")
            english = translate(f"auth.action.{action}", "en")
            assert action_label(action, "ru") == russian != f"auth.action.{action}"
            assert action_label(action, "en") == english != russian


def test_an_unlisted_action_code_shows_as_it_is(app):
    with app.test_request_context("/"):
        assert action_label("something_old", "ru") == "something_old"


@pytest.mark.parametrize(
    ("lang", "label"),
    [("ru", "Неудачный вход"), ("en", "Failed sign-in")],
)
def test_journal_names_actions_and_keeps_their_codes(app, moderator, lang, label):
    add_entries(app, [(datetime(2024, 3, 1, 9, 0), "alice", None, "login_failed")])

    page = moderator.get(f"/moderator?lang={lang}").get_data(as_text=True)

    assert (
        '<td class="accounts-action" data-action="login_failed" '
        f'title="login_failed">{label}<code>login_failed</code></td>'
    ) in page
    assert f'<option value="login_failed" >{label}</option>' in page


def test_journal_csv_export_is_journalled(app, moderator):
    add_entries(app, ENTRIES)

    response = moderator.get("/moderator/journal.csv?login=bob")

    assert response.get_data(as_text=True).splitlines() == [
        "\ufeffat,login,ip,action,details",
        "2024-03-02T09:00:00Z,bob,10.0.0.1,query,",
    ]
    page = moderator.get("/moderator?action=export&lang=en").get_data(as_text=True)
    assert "file: journal.csv; filters: login=bob" in page


@pytest.mark.parametrize(
    ("kind", "value", "status"),
    [
        ("login", "alice", 302),
        ("login", "boss", 400),
        ("login", "mod", 400),
        ("ip", "10.1.0.0/16", 302),
        ("ip", "127.0.0.0/8", 400),
        ("ip", "10.1.0.999", 400),
        ("ip", "128.0.0.0/1", 400),
        ("ip", "10.0.0.0/15", 400),
        ("ip", "2001:db8::/32", 302),
        ("ip", "::/0", 400),
    ],
    ids=[
        "user",
        "admin",
        "self",
        "cidr",
        "own-ip",
        "bad-ip",
        "half-of-ipv4",
        "wider-than-16",
        "ipv6-32",
        "all-of-ipv6",
    ],
)
def test_moderator_bans_only_what_is_allowed(moderator, kind, value, status):
    response = post_form(
        moderator, "/moderator/bans", {"kind": kind, "value": value, "reason": "spam"}
    )

    assert response.status_code == status


def test_a_too_wide_range_is_refused_naming_the_limit(moderator):
    response = post_form(
        moderator, "/moderator/bans?lang=en", {"kind": "ip", "value": "::/0"}
    )

    assert response.status_code == 400
    assert "at most /16 for IPv4 and /32 for IPv6" in response.get_data(as_text=True)


@pytest.mark.parametrize("days", ["²", "0", "3651", "99999999999999999999"])
def test_a_ban_term_out_of_range_is_refused(moderator, days):
    response = post_form(
        moderator,
        "/moderator/bans",
        {"kind": "ip", "value": "10.1.0.0/16", "days": days},
    )

    assert response.status_code == 400


def test_lifting_a_ban_id_past_the_column_range_is_a_missing_ban(moderator):
    response = post_form(moderator, "/moderator/bans/99999999999999999999999/lift")

    assert response.status_code == 404


def test_moderator_cannot_ban_another_moderator(app, moderator):
    add_user(app, "mod2", "moderator")

    response = post_form(
        moderator, "/moderator/bans", {"kind": "login", "value": "mod2"}
    )

    assert response.status_code == 400


def test_an_unban_lets_the_login_back_in(app, moderator):
    post_form(moderator, "/moderator/bans", {"kind": "login", "value": "alice"})
    assert log_in(app.test_client(), "alice").status_code == 403

    post_form(moderator, "/moderator/bans/1/lift")

    assert log_in(app.test_client(), "alice").status_code == 302


def test_an_expired_ban_no_longer_applies(app, moderator):
    post_form(
        moderator, "/moderator/bans", {"kind": "login", "value": "alice", "days": "1"}
    )
    with Session(engine_of(app)) as session:
        from services.schema import Ban

        session.get(Ban, 1).expires_at = datetime(2000, 1, 1)
        session.commit()

    assert log_in(app.test_client(), "alice").status_code == 302


def test_old_journal_rows_are_deleted(app):
    with Session(engine_of(app)) as session:
        save_event(session, "query", login="old")
        session.flush()
        session.query(JournalEntry).update({"at": datetime(2000, 1, 1)})
        save_event(session, "query", login="new")
        assert delete_old_events(session, 365) == 1
        session.commit()
        logins = [row.login for row in session.query(JournalEntry)]

    assert logins == ["new"]


def test_secrets_never_reach_the_journal(app):
    with Session(engine_of(app)) as session:
        save_event(session, "login", {"password": "hunter2-long", "token": "hh_x"})
        session.commit()
        details = session.query(JournalEntry).one().details

    assert details == {"password": "***", "token": "***"}

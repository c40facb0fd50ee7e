"""Accounts, roles, bans, the journal and the guard in front of every request.

`init_auth(server)` attaches all of it to the Flask server; other parts of the
product only call `auth.journal.record_event` and read `auth.current_user`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import request
from flask import session
from flask_login import LoginManager
from flask_login import current_user

from auth.csrf import ensure_csrf_token
from auth.csrf import set_csrf_cookie
from auth.guard import accepts_token
from auth.guard import init_guard
from auth.guard import is_static_path
from auth.journal import record_event
from auth.journal import save_queued_events
from auth.ratelimit import make_login_limiter
from auth.tokens import get_token_user
from auth.tokens import read_bearer_token
from auth.users import AccountUser
from dashboard.i18n import LANGUAGE_COOKIE
from dashboard.i18n import LANGUAGES
from dashboard.i18n import request_language
from dashboard.i18n import translate
from services.runtime import request_session
from services.schema import User

__all__ = ["current_user", "init_auth", "record_event"]

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
SESSION_EPOCH_KEY = "epoch"
LANGUAGE_COOKIE_DAYS = 365


def _load_session_user(user_id: str) -> AccountUser | None:
    # A cookie is honoured only in the epoch it was issued in: logout, a new
    # password or a ban bump the account's epoch and kill older cookies.
    try:
        user = request_session().get(User, int(user_id))
    except ValueError:
        return None
    if user is None or session.get(SESSION_EPOCH_KEY) != user.session_epoch:
        return None
    return AccountUser.from_row(user)


def _load_token_user(incoming) -> AccountUser | None:
    plain = read_bearer_token(incoming.headers.get("Authorization"))
    if plain is None or not accepts_token(incoming.path):
        return None
    user = get_token_user(request_session(), plain)
    return AccountUser.from_row(user, via_token=True) if user else None


def _query_pairs() -> list[list[str]]:
    return [[key, value] for key, value in request.args.items(multi=True) if value]


def _journal_reads(response: Response) -> Response:
    # The API and the downloads are journalled here, by path, so their views
    # stay free of bookkeeping.
    if request.method == "GET" and response.status_code == 200:
        if request.path == "/api/v1/stats":
            record_event("query", {"source": "api", "filters": _query_pairs()})
        elif request.path.startswith("/download/"):
            name = request.path.rsplit("/", 1)[-1]
            record_event("export", {"file": name, "filters": _query_pairs()})
    save_queued_events()
    return response


def _remember_language(response: Response) -> Response:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES and request.cookies.get(LANGUAGE_COOKIE) != chosen:
        response.set_cookie(
            LANGUAGE_COOKIE,
            chosen,
            max_age=LANGUAGE_COOKIE_DAYS * 86400,
            samesite="Lax",
        )
    return response


def _finish_response(response: Response) -> Response:
    if is_static_path(request.path):
        return response
    _journal_reads(response)
    _remember_language(response)
    return set_csrf_cookie(response)


def _template_helpers() -> dict:
    return {
        "t": translate,
        "lang": request_language(),
        "csrf_token": ensure_csrf_token,
        "current_user": current_user,
    }


def _init_login_manager(server: Flask) -> None:
    manager = LoginManager()
    manager.session_protection = None
    manager.user_loader(_load_session_user)
    manager.request_loader(_load_token_user)
    manager.init_app(server)


def init_auth(server: Flask) -> None:
    """Attach accounts, the guard, the journal hooks and the account pages."""
    from auth.cli import create_admin_command
    from auth.messages import register_auth_messages
    from dashboard.account import account_pages
    from dashboard.admin import admin_pages
    from dashboard.moderator import moderator_pages

    settings = server.extensions["hh_settings"]
    register_auth_messages()
    _init_login_manager(server)
    server.extensions["hh_login_limiter"] = make_login_limiter(
        settings.redis_url, request_session
    )

    init_guard(server)
    server.after_request(_finish_response)
    server.context_processor(_template_helpers)
    server.register_blueprint(
        Blueprint("accounts_templates", __name__, template_folder=str(TEMPLATES))
    )
    server.register_blueprint(account_pages)
    server.register_blueprint(moderator_pages)
    server.register_blueprint(admin_pages)
    server.cli.add_command(create_admin_command)

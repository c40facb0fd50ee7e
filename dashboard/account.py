"""Sign-in, sign-up, sign-out and the account page (password, API tokens).

Server-rendered forms that work without JavaScript; the guard has already
checked bans, maintenance, roles and the CSRF token before these run.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user

from auth.bans import get_login_ban
from auth.csrf import ensure_csrf_token
from auth.journal import record_event
from auth.journal import record_event_as
from auth.tokens import MAX_TOKEN_NAME_LENGTH
from auth.tokens import MAX_TOKENS_PER_USER
from auth.tokens import count_live_tokens
from auth.tokens import get_tokens
from auth.tokens import save_new_token
from auth.tokens import save_revoked_token
from auth.users import AccountError
from auth.users import AccountUser
from auth.users import check_password
from auth.users import end_sessions
from auth.users import get_user_by_login
from auth.users import normalise_login
from auth.users import save_new_user
from auth.users import save_password
from dashboard.i18n import translate
from services.runtime import current_settings
from services.runtime import request_session
from services.schema import User
from services.timeutil import utc_now

logger = logging.getLogger(__name__)

account_pages = Blueprint("account", __name__)

RATE_LIMIT_RETRY_SECONDS = 15 * 60


def is_local_path(target: str | None) -> bool:
    """True for a path on this site; refuses `//host`, `/\\host` and schemes."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(char) < 32 for char in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None) -> str:
    return target if is_local_path(target) else "/"


def start_session(user: User) -> None:
    """Sign `user` in on a fresh session: nothing of the old cookie survives."""
    session.clear()
    login_user(AccountUser.from_row(user))
    session["epoch"] = user.session_epoch
    session["sid"] = secrets.token_urlsafe(16)
    ensure_csrf_token()


def _login_page(error: str | None = None, status: int = 200, login_value: str = ""):
    page = render_template(
        "accounts/login.html",
        error=error,
        login_value=login_value,
        next_url=safe_next(request.values.get("next")),
        registration_open=current_settings().registration_open,
    )
    return page, status


@account_pages.get("/login")
def login():
    return _login_page()


@account_pages.post("/login")
def login_submit():
    login_value = normalise_login(request.form.get("login", ""))
    password = request.form.get("password", "")
    limiter = current_app.extensions["hh_login_limiter"]
    db = request_session()

    if limiter.is_blocked(login_value, g.client_ip):
        page, _status = _login_page("rate_limited", login_value=login_value)
        return page, 429, {"Retry-After": str(RATE_LIMIT_RETRY_SECONDS)}

    user = get_user_by_login(db, login_value) if login_value else None
    if not check_password(user, password):
        limiter.record_failure(login_value, g.client_ip)
        record_event_as(login_value[:64], user.id if user else None, "login_failed", {})
        return _login_page("bad_credentials", 401, login_value)
    if get_login_ban(db, user.login):
        record_event_as(user.login, user.id, "login_failed", {"reason": "banned"})
        return _login_page("login_banned", 403, login_value)

    user.last_login_at = utc_now()
    db.commit()
    start_session(user)
    record_event("login")
    logger.info("user %s signed in", user.id)
    return redirect(safe_next(request.form.get("next")))


@account_pages.route("/register", methods=["GET", "POST"])
def register():
    if not current_settings().registration_open:
        abort(404)
    if current_user.is_authenticated:
        # A second account is made after signing out, not over a live session.
        return redirect("/account")
    if request.method == "GET":
        return render_template("accounts/register.html", error=None, login_value="")

    login_value = request.form.get("login", "")
    password = request.form.get("password", "")
    try:
        if password != request.form.get("password_repeat", ""):
            raise AccountError("password_mismatch", "the passwords differ")
        user = save_new_user(request_session(), login_value, password)
    except AccountError as error:
        page = render_template(
            "accounts/register.html", error=error.code, login_value=login_value
        )
        return page, 400

    request_session().commit()
    start_session(user)
    record_event("register")
    return redirect("/")


@account_pages.post("/logout")
def logout():
    if current_user.is_authenticated:
        user = request_session().get(User, current_user.id)
        if user is not None:
            end_sessions(user)
            request_session().commit()
        record_event("logout")
        logout_user()
    session.clear()
    return redirect("/login")


def _account_page(status: int = 200, **extra):
    tokens = get_tokens(request_session(), current_user.id)
    page = render_template("accounts/account.html", tokens=tokens, **extra)
    return page, status


@account_pages.get("/account")
def account():
    return _account_page()


@account_pages.post("/account/password")
def change_password():
    db = request_session()
    user = db.get(User, current_user.id)
    limiter = current_app.extensions["hh_login_limiter"]
    if limiter.is_blocked(user.login, g.client_ip):
        return _account_page(429, password_error="rate_limited")
    if not check_password(user, request.form.get("current_password", "")):
        limiter.record_failure(user.login, g.client_ip)
        return _account_page(400, password_error="bad_credentials")

    password = request.form.get("password", "")
    try:
        if password != request.form.get("password_repeat", ""):
            raise AccountError("password_mismatch", "the passwords differ")
        save_password(db, user, password)
    except AccountError as error:
        return _account_page(400, password_error=error.code)

    db.commit()
    start_session(user)
    record_event("password_change")
    notice = ("ok", translate("auth.account.password_changed"))
    return _account_page(notices=[notice])


@account_pages.post("/account/tokens")
def create_token():
    db = request_session()
    if count_live_tokens(db, current_user.id) >= MAX_TOKENS_PER_USER:
        return _account_page(
            400, notices=[("error", translate("auth.tokens.too_many"))]
        )
    name = request.form.get("name", "").strip()
    if len(name) > MAX_TOKEN_NAME_LENGTH:
        message = translate("auth.tokens.name_too_long", limit=MAX_TOKEN_NAME_LENGTH)
        return _account_page(400, notices=[("error", message)])
    user = db.get(User, current_user.id)
    token, plain = save_new_token(db, user, name)
    db.commit()
    record_event("token_create", {"id": token.id})
    return _account_page(new_token=plain)


@account_pages.post("/account/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    db = request_session()
    if not save_revoked_token(db, current_user.id, token_id):
        abort(404)
    db.commit()
    record_event("token_revoke", {"id": token_id})
    return _account_page(notices=[("ok", translate("auth.tokens.revoked"))])

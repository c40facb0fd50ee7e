"""The one guard that runs before every request, Dash's and the API's included.

Order of checks (design §8):
 1. `/healthz` and static assets pass untouched;
 2. the client IP is fixed (X-Forwarded-For only through trusted hops);
 3. a banned IP gets 403 (the page, also on /login; JSON elsewhere);
 4. the person is identified: the session cookie (its epoch must match the
    account's) or, on /api/ and /download/, a Bearer token; a bad token is 401;
    a banned login has its session ended and goes on as anonymous;
 5. during maintenance everyone but admins gets 503 (except /login, /logout);
 6. the path's role: anonymous -> 302 to /login?next=... or 401 JSON,
    too low -> 403;
 7. unsafe methods must prove they come from our pages (CSRF) -> else 400.
Rules hold for unknown paths too: the guard runs before routing.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask import Response
from flask import g
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_login import current_user
from flask_login import logout_user

from auth.bans import get_ip_ban
from auth.bans import get_login_ban
from auth.clientip import get_client_ip
from auth.csrf import ensure_csrf_token
from auth.csrf import is_cross_site_request
from auth.journal import record_event
from auth.refreshes import describe_progress
from auth.tokens import read_bearer_token
from dashboard.i18n import translate
from services.runtime import current_settings
from services.runtime import request_session
from services.state import get_maintenance

logger = logging.getLogger(__name__)

STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
STATIC_PATHS = frozenset({"/healthz", "/_favicon.ico", "/favicon.ico"})
ACCOUNT_PATHS = frozenset({"/login", "/register", "/logout"})
OPEN_DURING_MAINTENANCE = frozenset({"/login", "/logout"})
JSON_PREFIXES = ("/api/", "/download/", "/_dash-")
TOKEN_PREFIXES = ("/api/", "/download/")
RETRY_AFTER_SECONDS = 60


def is_static_path(path: str) -> bool:
    return path in STATIC_PATHS or path.startswith(STATIC_PREFIXES)


def wants_json(path: str) -> bool:
    return path.startswith(JSON_PREFIXES) or path in ("/api", "/download")


def accepts_token(path: str) -> bool:
    return path.startswith(TOKEN_PREFIXES)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


def required_role(path: str, public_dashboard: bool) -> str | None:
    """The least role a path needs; None when anonymous readers may open it."""
    if path in ACCOUNT_PATHS:
        return None
    if _under(path, "/admin"):
        return "admin"
    if _under(path, "/moderator"):
        return "moderator"
    if _under(path, "/account"):
        return "user"
    return None if public_dashboard else "user"


def refuse(status: int, code: str, **extra) -> Response:
    """A refusal in the form the path expects: a JSON error or an HTML page."""
    message = translate(f"auth.error.{code}", "en")
    if wants_json(request.path):
        response = jsonify(error={"code": code, "message": message, **extra})
    else:
        response = Response(
            render_template(
                "accounts/error.html", status=status, code=code, extra=extra
            ),
            mimetype="text/html",
        )
    response.status_code = status
    return response


def _login_redirect() -> Response:
    target = request.path
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    return redirect(url_for("account.login", next=target))


def _end_banned_session() -> None:
    record_event("ban_enforced", {"path": request.path})
    logger.info("session of banned user %s ended", current_user.id)
    logout_user()
    session.clear()


def _identify() -> Response | None:
    """Resolve the person behind the request; a refusal for a bad token."""
    has_bearer = read_bearer_token(request.headers.get("Authorization")) is not None
    user = current_user if current_user.is_authenticated else None
    if user is None and has_bearer and accepts_token(request.path):
        return refuse(401, "token_invalid")
    if user is None and "_user_id" in session:
        # A cookie from an ended session (logout elsewhere, new password).
        session.clear()
    if user is not None and get_login_ban(request_session(), user.login):
        if user.via_token:
            # A token has no session to end: say why it stopped working.
            return refuse(403, "login_banned")
        _end_banned_session()
    return None


def _maintenance_refusal(settings) -> Response | None:
    if request.path in OPEN_DURING_MAINTENANCE:
        return None
    if current_user.is_authenticated and current_user.role == "admin":
        return None
    window = get_maintenance(request_session(), settings.maintenance_stale_seconds)
    if window is None:
        return None
    # Programs get the run's progress as it is; people get a sentence.
    if wants_json(request.path):
        response = refuse(503, "maintenance", progress=window.progress)
    else:
        response = refuse(
            503, "maintenance", progress=describe_progress(window.progress)
        )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _role_refusal(settings) -> Response | None:
    role = required_role(request.path, settings.public_dashboard)
    if role is None:
        return None
    if not current_user.is_authenticated:
        if wants_json(request.path):
            return refuse(401, "login_required")
        return _login_redirect()
    if not current_user.has_role(role):
        return refuse(403, "role_too_low")
    return None


def guard_request() -> Response | None:
    """Refuse the request, or return None to let it reach its view."""
    path = request.path
    if is_static_path(path):
        return None
    settings = current_settings()
    g.client_ip = get_client_ip(
        request.remote_addr,
        request.headers.get("X-Forwarded-For"),
        settings.trusted_proxies,
    )

    if get_ip_ban(request_session(), g.client_ip):
        return refuse(403, "ip_banned")
    refusal = _identify() or _maintenance_refusal(settings) or _role_refusal(settings)
    if refusal is not None:
        return refusal

    via_token = current_user.is_authenticated and current_user.via_token
    if not via_token:
        ensure_csrf_token()
        if is_cross_site_request(is_dash_callback=path.startswith("/_dash-")):
            return refuse(400, "cross_site")
    return None


def init_guard(server: Flask) -> None:
    """Run the guard before every request, ahead of any other hook."""
    server.before_request_funcs.setdefault(None, []).insert(0, guard_request)

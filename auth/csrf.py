"""Cross-site request protection for forms and Dash callbacks.

Forms carry the session's token in a hidden field. Dash's renderer copies the
`_csrf_token` cookie into an `X-CSRFToken` header, so the server keeps that
cookie equal to the session's token. A browser always sends `Origin` on a
cross-site POST, so a foreign Origin is refused outright.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Response
from flask import request
from flask import session

CSRF_COOKIE = "_csrf_token"
CSRF_HEADER = "X-CSRFToken"
CSRF_FIELD = "csrf_token"
SESSION_KEY = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def ensure_csrf_token() -> str:
    """The session's token, created on first use (also the cookie's value)."""
    token = session.get(SESSION_KEY)
    if not token:
        token = session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def _matches_session(candidate: str | None) -> bool:
    expected = session.get(SESSION_KEY)
    if not candidate or not expected:
        return False
    return hmac.compare_digest(candidate.encode(), expected.encode())


def origin_verdict() -> bool | None:
    """True for a same-origin Origin (or Referer), False for a foreign one.

    None when the request names no origin at all.
    """
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source:
        return None
    if source == "null":
        return False
    return urlsplit(source).netloc.lower() == request.host.lower()


def is_cross_site_request(is_dash_callback: bool) -> bool:
    """True when an unsafe request lacks proof that it came from our own pages."""
    if request.method in SAFE_METHODS:
        return False
    same_origin = origin_verdict()
    if same_origin is False:
        return True
    header_ok = _matches_session(request.headers.get(CSRF_HEADER))
    if is_dash_callback:
        return not (header_ok or same_origin)
    return not (header_ok or _matches_session(request.form.get(CSRF_FIELD)))


def set_csrf_cookie(response: Response) -> Response:
    """Keep the `_csrf_token` cookie equal to the session's token."""
    token = session.get(SESSION_KEY)
    if token and request.cookies.get(CSRF_COOKIE) != token:
        # Readable by scripts on purpose: Dash's renderer copies it into a header.
        response.set_cookie(
            CSRF_COOKIE, token, samesite="Lax", secure=request.is_secure, httponly=False
        )
    return response

"""The moderator's page: the journal (filters, pages, CSV) and bans."""

from __future__ import annotations

import logging
import re
from datetime import date
from datetime import timedelta

from flask import Blueprint
from flask import Response
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask_login import current_user

from auth.bans import check_range_width
from auth.bans import get_active_bans
from auth.bans import save_ban
from auth.bans import save_unban
from auth.journal import ACTIONS
from auth.journal import JournalQuery
from auth.journal import count_pages
from auth.journal import format_details
from auth.journal import get_journal_page
from auth.journal import make_journal_csv
from auth.journal import record_event
from auth.users import AccountError
from dashboard.i18n import register_messages
from dashboard.i18n import translate
from services.filters import EARLIEST_DAY
from services.filters import LATEST_DAY
from services.runtime import request_session
from services.timeutil import utc_now

logger = logging.getLogger(__name__)

moderator_pages = Blueprint("moderator", __name__)

MAX_BAN_DAYS = 3650
FILTER_NAMES = ("login", "ip", "action", "from", "to")
DAY_FILTER_NAMES = ("from", "to")
# Nine digits are far more pages than a journal holds, and any such number
# stays within the database's integer range once multiplied by the page size.
_PAGE = re.compile(r"[0-9]{1,9}")
# ASCII digits only: str.isdigit() also passes "²", which int() refuses.
_BAN_DAYS = re.compile(r"[0-9]{1,4}")

register_messages(
    {
        "auth.mod.page_missing": (
            "Страницы «{value}» нет; показана страница {page}.",
            "There is no page '{value}'; page {page} is shown.",
        ),
        "auth.mod.day_dropped": (
            "Дата «{value}» не распознана или вне {earliest} .. {latest}; "
            "фильтр по ней пропущен.",
            "The date '{value}' is malformed or outside {earliest} .. {latest}; "
            "it was not applied.",
        ),
        "auth.error.ban_range_too_wide": (
            "Слишком широкий диапазон: для IPv4 — не шире /16, для IPv6 — не шире /32.",
            "The range is too wide: at most /16 for IPv4 and /32 for IPv6.",
        ),
    }
)


def _read_day(raw: str | None) -> date | None:
    try:
        day = date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    # A day at the ends of the calendar has no Moscow midnight in UTC.
    if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
        return None
    return day


def read_journal_query(args) -> JournalQuery:
    """The journal filters of a request; malformed or far-off dates are ignored."""
    action = args.get("action", "")
    return JournalQuery(
        login=args.get("login", "").strip(),
        ip=args.get("ip", "").strip(),
        action=action if action in ACTIONS else "",
        day_from=_read_day(args.get("from")),
        day_to=_read_day(args.get("to")),
    )


def action_label(action: str, lang: str | None = None) -> str:
    """A journal action's name in the UI language; an unlisted code as it is."""
    key = f"auth.action.{action}"
    text = translate(key, lang)
    return action if text == key else text


def _read_page(args) -> int | None:
    """The requested page number; None when it is not a sane page number."""
    raw = args.get("page", "").strip()
    if not raw:
        return 1
    if not _PAGE.fullmatch(raw) or int(raw) < 1:
        return None
    return int(raw)


def _dropped_filter_notices(args) -> list[tuple[str, str]]:
    notices = []
    for name in DAY_FILTER_NAMES:
        raw = args.get(name, "").strip()
        if raw and _read_day(raw) is None:
            notices.append(
                (
                    "error",
                    translate(
                        "auth.mod.day_dropped",
                        value=raw,
                        earliest=EARLIEST_DAY.isoformat(),
                        latest=LATEST_DAY.isoformat(),
                    ),
                )
            )
    return notices


def _moderator_page(status: int = 200, notices=()):
    args = request.args
    query = read_journal_query(args)
    notices = [*notices, *_dropped_filter_notices(args)]
    page = _read_page(args)
    rows, total = get_journal_page(request_session(), query, page or 1)
    pages = count_pages(total)
    if page is None or page > pages:
        shown = 1 if page is None else pages
        notices.append(
            (
                "error",
                translate("auth.mod.page_missing", value=args["page"], page=shown),
            )
        )
        page = shown
    filters = {name: args.get(name, "") for name in FILTER_NAMES}
    body = render_template(
        "accounts/moderator.html",
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        filters=filters,
        filter_query={key: value for key, value in filters.items() if value},
        actions=ACTIONS,
        action_label=action_label,
        bans=get_active_bans(request_session()),
        format_details=format_details,
        notices=notices,
    )
    return body, status


@moderator_pages.get("/moderator")
def moderator():
    done = {"ban": "auth.bans.saved", "unban": "auth.bans.lifted"}.get(
        request.args.get("done", "")
    )
    return _moderator_page(notices=[("ok", translate(done))] if done else ())


@moderator_pages.get("/moderator/journal.csv")
def journal_csv():
    query = read_journal_query(request.args)
    body = make_journal_csv(request_session(), query)
    filters = [
        [name, request.args[name]] for name in FILTER_NAMES if request.args.get(name)
    ]
    record_event("export", {"file": "journal.csv", "filters": filters})
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=journal.csv"},
    )


def _read_expiry(raw: str) -> object:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not _BAN_DAYS.fullmatch(raw) or not 1 <= int(raw) <= MAX_BAN_DAYS:
        raise AccountError("ban_days_invalid", "the term is 1-3650 days")
    return utc_now() + timedelta(days=int(raw))


@moderator_pages.post("/moderator/bans")
def ban():
    form = request.form
    db = request_session()
    try:
        expires_at = _read_expiry(form.get("days", ""))
        if form.get("kind") == "ip":
            check_range_width(form.get("value", ""))
        saved = save_ban(
            db,
            current_user,
            g.client_ip,
            form.get("kind", ""),
            form.get("value", ""),
            form.get("reason", ""),
            expires_at,
        )
    except AccountError as error:
        key = (
            "auth.bans.days_invalid"
            if error.code == "ban_days_invalid"
            else (f"auth.error.{error.code}")
        )
        return _moderator_page(400, [("error", translate(key))])

    db.commit()
    record_event(
        "ban",
        {
            "kind": saved.kind,
            "value": saved.value,
            "reason": saved.reason or "",
            "expires_at": saved.expires_at.isoformat() if saved.expires_at else None,
        },
    )
    return redirect("/moderator?done=ban")


@moderator_pages.post("/moderator/bans/<int:ban_id>/lift")
def unban(ban_id: int):
    db = request_session()
    try:
        lifted = save_unban(db, current_user, ban_id)
    except AccountError as error:
        return _moderator_page(404, [("error", translate(f"auth.error.{error.code}"))])
    db.commit()
    record_event("unban", {"kind": lifted.kind, "value": lifted.value})
    return redirect("/moderator?done=unban")

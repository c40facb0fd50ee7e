"""The admin's page: users and roles, data refreshes with live progress."""

from __future__ import annotations

import logging

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask_login import current_user

from auth.guard import refuse
from auth.journal import record_event
from auth.refreshes import MAX_HH_ID
from auth.refreshes import MissingUserAgentError
from auth.refreshes import describe_counts
from auth.refreshes import describe_error
from auth.refreshes import describe_progress
from auth.refreshes import describe_run_scope
from auth.refreshes import describe_status
from auth.refreshes import get_area_names
from auth.refreshes import get_refresh_exit_code
from auth.refreshes import get_refresh_log_tail
from auth.refreshes import get_run_of_process
from auth.refreshes import get_running_run
from auth.refreshes import get_runs
from auth.refreshes import is_refresh_process
from auth.refreshes import parse_refresh_scope
from auth.refreshes import reap_finished_refreshes
from auth.refreshes import save_cancel_request
from auth.refreshes import save_stale_runs_failed
from auth.refreshes import start_refresh_process
from auth.users import ROLES
from auth.users import AccountError
from auth.users import get_users
from auth.users import save_role
from dashboard.i18n import register_messages
from dashboard.i18n import translate
from services.runtime import current_settings
from services.runtime import request_session
from services.schema import RefreshRun
from services.schema import User
from services.state import get_maintenance

logger = logging.getLogger(__name__)

admin_pages = Blueprint("admin", __name__)

register_messages(
    {
        "auth.error.scope_id_range": (
            f"Охват: id регионов и профессиональных ролей — от 1 до {MAX_HH_ID}.",
            f"Scope: area and professional role ids go from 1 to {MAX_HH_ID}.",
        ),
        "auth.admin.no_user_agent": (
            "Обновление не запущено: не задан HH_USER_AGENT. hh.ru отклоняет "
            "запросы без него; задайте HH_USER_AGENT (например, "
            "«MyApp/1.0 (me@example.com)») и перезапустите приложение.",
            "The refresh was not started: HH_USER_AGENT is not set. hh.ru refuses "
            "requests without it; set HH_USER_AGENT (e.g. "
            "'MyApp/1.0 (me@example.com)') and restart the app.",
        ),
        "auth.admin.exited_early": (
            "Обновление (pid {pid}) завершилось с кодом {code}, не начав "
            "работу. Последние строки refresh.log:\n{log}",
            "The refresh (pid {pid}) exited with code {code} before it "
            "started. Last lines of refresh.log:\n{log}",
        ),
    }
)

DONE_NOTICES = {
    "cancel": "auth.admin.cancel_sent",
}


def _admin_page(status: int = 200, notices=(), starting: bool = False):
    # `starting`: a refresh this page started may not have its run row yet;
    # the page keeps reloading until the row shows its progress.
    db = request_session()
    settings = current_settings()
    reap_finished_refreshes()
    if save_stale_runs_failed(db, settings.maintenance_stale_seconds):
        db.commit()
    runs = get_runs(db)
    body = render_template(
        "accounts/admin.html",
        users=get_users(db),
        roles=ROLES,
        runs=runs,
        area_names=get_area_names(db, runs),
        describe_status=describe_status,
        describe_error=describe_error,
        describe_run_scope=describe_run_scope,
        describe_progress=describe_progress,
        describe_counts=describe_counts,
        running=starting or any(run.status == "running" for run in runs),
        # Started from this page, its process not yet past writing its row.
        pending=starting and not any(run.status == "running" for run in runs),
        maintenance=get_maintenance(db, settings.maintenance_stale_seconds),
        notices=list(notices),
    )
    return body, status


@admin_pages.get("/admin")
def admin():
    notices = []
    done = request.args.get("done", "")
    if done in DONE_NOTICES:
        notices.append(("ok", translate(DONE_NOTICES[done])))
    if done == "role":
        notices.append(
            (
                "ok",
                translate(
                    "auth.admin.role_saved",
                    login=request.args.get("login", ""),
                    role=request.args.get("role", ""),
                ),
            )
        )
    starting = False
    pid = request.args.get("pid", "")
    if done == "start" and pid.isdigit():
        failure = _early_exit_notice(int(pid))
        if failure is not None:
            return _admin_page(notices=[("error", failure)])
        notices.append(("ok", translate("auth.admin.started", pid=pid)))
        starting = is_refresh_process(int(pid))
    return _admin_page(notices=notices, starting=starting)


def _early_exit_notice(pid: int) -> str | None:
    # A refresh that dies before writing its run row (bad settings, import
    # errors) leaves its reason only in refresh.log, so the page shows it.
    code = get_refresh_exit_code(pid)
    if code is None or get_run_of_process(request_session(), pid) is not None:
        return None
    log_tail = get_refresh_log_tail(current_settings())
    return translate("auth.admin.exited_early", pid=pid, code=code, log=log_tail)


# The ids in these paths are read as text: with an `int` converter a path like
# /admin/users/abc/role falls through to Dash's GET-only page route and gets
# Flask's bare 405 instead of the product's own "not found" page.


def _get_row(model, raw_id: str):
    return request_session().get(model, int(raw_id)) if raw_id.isdigit() else None


@admin_pages.post("/admin/users/<user_id>/role")
def set_role(user_id: str):
    db = request_session()
    user = _get_row(User, user_id)
    if user is None:
        return refuse(404, "not_found")
    role = request.form.get("role", "")
    try:
        old_role = save_role(db, current_user, user, role)
    except AccountError as error:
        return _admin_page(400, [("error", translate(f"auth.error.{error.code}"))])

    db.commit()
    record_event("role_change", {"user": user.login, "from": old_role, "to": role})
    return redirect(f"/admin?done=role&login={user.login}&role={role}")


@admin_pages.post("/admin/refresh")
def start_refresh():
    db = request_session()
    settings = current_settings()
    save_stale_runs_failed(db, settings.maintenance_stale_seconds)
    db.commit()
    running = get_running_run(db)
    if running is not None:
        notice = translate("auth.admin.already_running", run=running.id)
        return _admin_page(409, [("error", notice)])
    try:
        scope = parse_refresh_scope(
            request.form.get("areas", ""),
            request.form.get("roles", ""),
            request.form.get("days", ""),
        )
        pid = start_refresh_process(settings, scope, current_user.login)
    except AccountError as error:
        return _admin_page(400, [("error", translate(f"auth.error.{error.code}"))])
    except MissingUserAgentError:
        return _admin_page(400, [("error", translate("auth.admin.no_user_agent"))])
    except OSError as error:
        notice = translate("auth.error.refresh_start_failed", reason=str(error))
        return _admin_page(500, [("error", notice)])

    details = {"areas": list(scope.areas), "roles": list(scope.roles),
               "days": scope.days, "pid": pid}  # fmt: skip
    # An empty list or None means "everything": left out, the journal reads
    # as the scope the admin actually narrowed.
    record_event(
        "refresh_start", {key: value for key, value in details.items() if value}
    )
    return redirect(f"/admin?done=start&pid={pid}")


@admin_pages.post("/admin/refresh/<run_id>/cancel")
def cancel_refresh(run_id: str):
    db = request_session()
    run = _get_row(RefreshRun, run_id)
    if run is None or run.status != "running":
        return refuse(404, "not_found")
    signalled = save_cancel_request(db, run)
    db.commit()
    record_event("refresh_cancel", {"run": run.id, "signalled": signalled})
    return redirect("/admin?done=cancel")

"""Helpers shared by the account, guard, moderator and admin tests."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app import create_app
from auth.bans import save_ban
from auth.tokens import save_new_token
from auth.users import AccountUser
from auth.users import save_new_user
from services.settings import Settings
from services.state import ensure_app_state
from services.timeutil import utc_now

PASSWORD = "correct-horse-42"
CHEAP_HASH = "pbkdf2:sha256:1000"
SYSTEM = AccountUser(id=0, login="system", role="admin")


def make_app(database_url: str, tmp_path, **overrides) -> Flask:
    values = {"secret_key": "test", "hh_api_url": "http://127.0.0.1:9", **overrides}
    settings = Settings(database_url=database_url, instance_dir=tmp_path, **values)
    return create_app(settings)


def engine_of(app: Flask):
    return app.extensions["hh_engine"]


def add_user(app: Flask, login: str, role: str = "user") -> int:
    with Session(engine_of(app)) as session:
        user = save_new_user(session, login, PASSWORD, role=role)
        session.commit()
        return user.id


def add_token(app: Flask, user_id: int) -> str:
    from services.schema import User

    with Session(engine_of(app)) as session:
        _token, plain = save_new_token(session, session.get(User, user_id), "test")
        session.commit()
        return plain


def add_ban(app: Flask, kind: str, value: str) -> None:
    with Session(engine_of(app)) as session:
        save_ban(session, SYSTEM, "192.0.2.250", kind, value, "test", None)
        session.commit()


def set_maintenance(app: Flask, progress: dict | None = None) -> None:
    from services.schema import RefreshRun

    with Session(engine_of(app)) as session:
        run = RefreshRun(
            started_at=utc_now(),
            heartbeat_at=utc_now(),
            status="running",
            trigger="cli",
            progress=progress or {"stage": "write"},
        )
        session.add(run)
        session.flush()
        state = ensure_app_state(session)
        state.maintenance = True
        state.maintenance_run_id = run.id
        state.maintenance_since = utc_now()
        state.maintenance_heartbeat_at = utc_now()
        session.commit()


def csrf_of(client: FlaskClient) -> str:
    """The CSRF token of the client's session, fetching a page to get one."""
    with client.session_transaction() as session:
        token = session.get("csrf")
    if token:
        return token
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def log_in(client: FlaskClient, login: str, password: str = PASSWORD, **extra):
    data = {"login": login, "password": password, "csrf_token": csrf_of(client)}
    data.update(extra)
    return client.post("/login", data=data)


def post_form(client: FlaskClient, path: str, data: dict | None = None):
    return client.post(path, data={"csrf_token": csrf_of(client), **(data or {})})

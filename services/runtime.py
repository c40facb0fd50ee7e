"""Access to the settings and database of the running web app.

The app factory stores them on the Flask app; request handlers, Dash
callbacks and the guard read them here. A request's database session is
opened on first use and closed when the request ends.
"""

from __future__ import annotations

from flask import current_app
from flask import g
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.settings import Settings


def current_settings() -> Settings:
    return current_app.extensions["hh_settings"]


def current_engine() -> Engine:
    return current_app.extensions["hh_engine"]


def request_session() -> Session:
    """The session of the current request; committed by whoever changes data."""
    session = g.get("db_session")
    if session is None:
        session = g.db_session = Session(current_engine(), expire_on_commit=False)
    return session


def close_request_session(_exc=None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()

"""The app factory: Flask server, accounts, the API, downloads and Dash pages.

`create_app()` builds a complete app from settings; gunicorn imports
`app:server`, which is built on first access so that importing this module
touches neither the database nor the network.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask import jsonify

from auth import init_auth
from dashboard.api import init_api
from dashboard.app import create_dash
from services.db import get_engine
from services.runtime import close_request_session
from services.settings import Settings

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask server with every part of the product attached."""
    settings = (settings or Settings.from_env()).with_secret_key()

    server = Flask(__name__, static_folder=None)
    server.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=1 * 1024 * 1024,
    )
    server.extensions["hh_settings"] = settings
    server.extensions["hh_engine"] = get_engine(settings.database_url)
    server.teardown_appcontext(close_request_session)

    server.add_url_rule("/healthz", "healthz", _healthz)
    init_auth(server)
    init_api(server)
    create_dash(server)
    return server


def _healthz():
    return jsonify(status="ok")


def configure_logging(level: int = logging.INFO) -> None:
    """Send log lines to stdout, once per process (entry points call this)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level)


def __getattr__(name: str):
    # gunicorn reads `app:server`; building it lazily keeps imports free of I/O.
    if name == "server":
        configure_logging()
        globals()["server"] = built = create_app()
        return built
    raise AttributeError(name)

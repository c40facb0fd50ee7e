"""Bring a database's schema up to date with the Alembic migrations."""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config

from services.settings import PROJECT_ROOT
from services.settings import normalise_database_url

logger = logging.getLogger(__name__)


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = normalise_database_url(database_url)
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Apply every migration up to `revision`; safe to run on a current database."""
    command.upgrade(alembic_config(database_url), revision)
    logger.info("database schema is at %s", revision)

"""`python -m etl.bootstrap [--migrate-only]`: get a database ready to serve.

Migrates; on an empty database loads data (a small live refresh when
HH_USER_AGENT is set, otherwise or on failure the demo data); then makes sure
an admin exists and prints a generated password once.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy.orm import Session

from etl.client import ClientConfig
from etl.demo import load_demo_data
from etl.plan import Scope
from etl.refresh import EXIT_COMPLETE
from etl.refresh import EXIT_PARTIAL
from etl.refresh import RefreshRunner
from services.db import get_engine
from services.migrate import upgrade_database
from services.schema import Vacancy
from services.settings import Settings
from services.timeutil import MOSCOW

logger = logging.getLogger(__name__)

FIRST_START_AREA = 1  # Moscow
FIRST_START_TIMEOUT = 5.0
FIRST_START_RETRIES = 1
HOW_TO_CONFIGURE = (
    "set HH_USER_AGENT='YourApp/1.0 (you@example.org)' and, for more than a few "
    "requests, HH_APP_TOKEN, then run `make refresh`"
)


def is_database_empty(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.execute(select(Vacancy.id).limit(1)).first() is None


def fetch_first_vacancies(settings: Settings) -> str | None:
    """A small live refresh (Moscow, the last day); None on success, else why not."""
    settings = replace(
        settings, hh_timeout=FIRST_START_TIMEOUT, hh_retries=FIRST_START_RETRIES
    )
    scope = Scope(
        areas=(FIRST_START_AREA,),
        date_from=datetime.now(MOSCOW) - timedelta(days=1),
    )
    config = ClientConfig.from_settings(settings, backoff_base=0.5, backoff_cap=2.0)
    outcome = RefreshRunner(
        settings, scope, trigger="first_start", client_config=config
    ).run()
    if outcome.exit_code in (EXIT_COMPLETE, EXIT_PARTIAL):
        return None
    return outcome.error or outcome.status


def ensure_first_data(engine: Engine, settings: Settings) -> str:
    """Load real or demo data into an empty database; return the dataset loaded."""
    if settings.hh_user_agent:
        reason = fetch_first_vacancies(settings)
        if reason is None:
            return "real"
        print(f"hh.ru refresh did not succeed ({reason}): loading demo data; "
              f"to retry, check the network or {HOW_TO_CONFIGURE}")  # fmt: skip
    else:
        print(f"HH_USER_AGENT is not set: loading demo data; to load real "
              f"vacancies, {HOW_TO_CONFIGURE}")  # fmt: skip
    load_demo_data(engine, settings)
    return "demo"


def ensure_admin(engine: Engine, settings: Settings) -> None:
    """Create the first admin when none exists; print a generated password once."""
    try:
        from auth.users import ensure_first_admin
    except ImportError:
        return
    with Session(engine, expire_on_commit=False) as session:
        password = ensure_first_admin(session, settings)
        session.commit()
    if password:
        print(
            f"Admin account {settings.admin_login!r} created with password: "
            f"{password} (shown once; change it on the account page)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    from app import configure_logging

    configure_logging()
    parser = argparse.ArgumentParser(prog="python -m etl.bootstrap")
    parser.add_argument("--migrate-only", action="store_true")
    args = parser.parse_args(argv)
    settings = Settings.from_env()

    upgrade_database(settings.database_url)
    if args.migrate_only:
        return 0
    engine = get_engine(settings.database_url)
    if is_database_empty(engine):
        dataset = ensure_first_data(engine, settings)
        logger.info("first start: %s data loaded", dataset)
    ensure_admin(engine, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())

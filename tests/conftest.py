"""Shared fixtures: databases on SQLite or PostgreSQL, the app, real hh.ru data.

`TEST_DATABASE=postgres` (set by `make test` for its second pass) makes every
database fixture use a fresh PostgreSQL database cloned from a migrated
template under `TEST_POSTGRES_URL`; otherwise each test gets its own SQLite file.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url

import auth.users
from services.dataset import clear_dataset_cache
from services.db import make_engine
from services.migrate import upgrade_database
from services.settings import PROJECT_ROOT
from services.settings import normalise_database_url
from tests.auth_support import CHEAP_HASH
from tests.fakehh.fixtures import fake_hh_real as fake_hh_real
from tests.fakehh.fixtures import make_fake_hh as make_fake_hh
from tests.fakehh.fixtures import shared_store as shared_store

SHARED_HH = PROJECT_ROOT.parent / "shared" / "hh"
IN_CI = os.environ.get("CI", "").lower() == "true"


def backend() -> str:
    return os.environ.get("TEST_DATABASE", "sqlite")


def pytest_sessionstart(session) -> None:
    # CI must never pass with the PostgreSQL half of the suite silently missing.
    if IN_CI and not os.environ.get("TEST_POSTGRES_URL"):
        pytest.exit("CI=true but TEST_POSTGRES_URL is not set", returncode=1)
    if backend() == "postgres" and not os.environ.get("TEST_POSTGRES_URL"):
        pytest.exit("TEST_DATABASE=postgres needs TEST_POSTGRES_URL", returncode=1)


# --- databases ----------------------------------------------------------------


def _admin_engine():
    url = normalise_database_url(os.environ["TEST_POSTGRES_URL"])
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _database_url_named(name: str) -> str:
    url = make_url(normalise_database_url(os.environ["TEST_POSTGRES_URL"]))
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory):
    """A migrated, empty database that each test's database is cloned from."""
    if backend() == "postgres":
        name = f"hhtpl_{uuid.uuid4().hex[:12]}"
        admin = _admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        upgrade_database(_database_url_named(name))
        yield name
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        return
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade_database(f"sqlite:///{path}")
    yield str(path)


@pytest.fixture
def database_url(migrated_template, tmp_path) -> str:
    """The URL of a fresh, migrated, empty database for this test alone."""
    if backend() == "postgres":
        name = f"hht_{uuid.uuid4().hex[:12]}"
        admin = _admin_engine()
        with admin.connect() as conn:
            conn.execute(
                text(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
            )
        yield _database_url_named(name)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        return
    path = tmp_path / "test.sqlite3"
    shutil.copyfile(migrated_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(engine):
    from sqlalchemy.orm import Session

    with Session(engine, expire_on_commit=False) as session:
        yield session


# --- shared real data -----------------------------------------------------------


@pytest.fixture(scope="session")
def shared_hh() -> Path:
    """The folder of real hh.ru responses beside the project."""
    if not SHARED_HH.is_dir():
        if IN_CI:
            pytest.fail(f"{SHARED_HH} is missing; CI must run with ../shared beside")
        pytest.skip(f"real hh.ru responses not found at {SHARED_HH}")
    return SHARED_HH


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    """Users made by tests get a cheap password hash: the production method
    would make hundreds of sign-ins take minutes, and no test is about it."""
    monkeypatch.setattr(auth.users, "PASSWORD_HASH_METHOD", CHEAP_HASH)


@pytest.fixture(autouse=True)
def fresh_dataset_cache():
    """Each test starts with no dataset loaded in this process: a dataset is
    keyed by database and data version, and test databases reuse both."""
    clear_dataset_cache()
    yield
    clear_dataset_cache()

"""Settings read from the environment, with defaults that are safe on a laptop.

Every setting the product knows is listed here and in `.env.example`. Nothing
else in the code reads `os.environ` for configuration.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"
DEFAULT_DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'hh.sqlite3'}"


class SettingsError(ValueError):
    """A setting has a value the product cannot use."""


def _read_bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean; use true or false")


def _read_number(env: dict[str, str], name: str, default: float, kind=float):
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{name}={raw!r} is not {what}") from None
    if value < 0:
        raise SettingsError(f"{name}={raw!r} must not be negative")
    return value


# The most stager processes a refresh may be asked for (`etl.stagers`).
MAX_REFRESH_STAGERS = 16


def _read_stager_count(env: dict[str, str]) -> int:
    count = _read_number(env, "REFRESH_STAGERS", 0, int)
    if count > MAX_REFRESH_STAGERS:
        raise SettingsError(
            f"REFRESH_STAGERS={count} is more than {MAX_REFRESH_STAGERS} processes"
        )
    return count


def normalise_database_url(url: str) -> str:
    """Return a SQLAlchemy URL, accepting the `postgres://` form PaaS hosts give."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _load_or_create_secret_key(instance_dir: Path) -> str:
    # Every gunicorn worker must sign sessions with the same key, so a generated
    # key is written once and then read by all of them.
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = ""
    instance_dir: Path = INSTANCE_DIR

    hh_api_url: str = "https://api.hh.ru"
    hh_user_agent: str = ""
    hh_app_token: str = ""
    hh_workers: int = 4
    hh_rate: float = 5.0
    hh_timeout: float = 10.0
    hh_retries: int = 5
    hh_backoff_base: float = 1.0
    # Processes that parse and normalise pages on PostgreSQL; 0: one per core.
    refresh_stagers: int = 0

    redis_url: str = ""
    trusted_proxies: int = 0
    public_dashboard: bool = False
    registration_open: bool = True
    admin_login: str = "admin"
    admin_password: str = field(default="", repr=False)

    salary_min_rub: float = 5_000.0
    salary_max_rub: float = 3_000_000.0
    maintenance_stale_seconds: float = 120.0
    journal_retention_days: int = 365

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read every setting from `env` (default: the process environment)."""
        env = dict(os.environ if env is None else env)
        instance_dir = Path(env.get("INSTANCE_DIR") or INSTANCE_DIR)
        database_url = env.get("DATABASE_URL") or (
            f"sqlite:///{instance_dir / 'hh.sqlite3'}"
        )
        return cls(
            database_url=normalise_database_url(database_url),
            secret_key=env.get("SECRET_KEY") or "",
            instance_dir=instance_dir,
            hh_api_url=(env.get("HH_API_URL") or cls.hh_api_url).rstrip("/"),
            hh_user_agent=env.get("HH_USER_AGENT", "").strip(),
            hh_app_token=env.get("HH_APP_TOKEN", "").strip(),
            hh_workers=_read_number(env, "HH_WORKERS", cls.hh_workers, int),
            hh_rate=_read_number(env, "HH_RATE", cls.hh_rate),
            hh_timeout=_read_number(env, "HH_TIMEOUT", cls.hh_timeout),
            hh_retries=_read_number(env, "HH_RETRIES", cls.hh_retries, int),
            hh_backoff_base=_read_number(env, "HH_BACKOFF_BASE", cls.hh_backoff_base),
            refresh_stagers=_read_stager_count(env),
            redis_url=env.get("REDIS_URL", "").strip(),
            trusted_proxies=_read_number(env, "TRUSTED_PROXIES", 0, int),
            public_dashboard=_read_bool(env, "PUBLIC_DASHBOARD", False),
            registration_open=_read_bool(env, "REGISTRATION_OPEN", True),
            admin_login=env.get("ADMIN_LOGIN", "").strip() or cls.admin_login,
            admin_password=env.get("ADMIN_PASSWORD", ""),
            salary_min_rub=_read_number(env, "SALARY_MIN_RUB", cls.salary_min_rub),
            salary_max_rub=_read_number(env, "SALARY_MAX_RUB", cls.salary_max_rub),
            maintenance_stale_seconds=_read_number(
                env, "MAINTENANCE_STALE_SECONDS", cls.maintenance_stale_seconds
            ),
            journal_retention_days=_read_number(
                env, "JOURNAL_RETENTION_DAYS", cls.journal_retention_days, int
            ),
        )

    def with_secret_key(self) -> Settings:
        """Return these settings with a secret key, generating a shared one if unset."""
        if self.secret_key:
            return self
        return replace(self, secret_key=_load_or_create_secret_key(self.instance_dir))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

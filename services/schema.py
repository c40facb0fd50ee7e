"""The database schema: hh.ru reference data, vacancies, accounts and app state.

Times are stored as naive UTC datetimes on both databases, so SQLite and
PostgreSQL compare and sort them the same way. Changes go through Alembic
migrations in `migrations/`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import DateTime
from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# --- hh.ru reference data -------------------------------------------------------


class Area(Base):
    """A node of hh.ru's area tree; never deleted, marked stale when it vanishes."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(Integer, index=True)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)


class Employer(Base):
    __tablename__ = "employers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    accredited_it_employer: Mapped[bool] = mapped_column(Boolean, default=False)
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)


class RoleCategory(Base):
    __tablename__ = "role_categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(Text)


class ProfessionalRole(Base):
    __tablename__ = "professional_roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(Text)
    search_deprecated: Mapped[bool] = mapped_column(Boolean, default=False)


class RoleCategoryLink(Base):
    """A role may sit in several categories."""

    __tablename__ = "role_category_links"

    role_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class CurrencyRate(Base):
    """Units of a currency per 1 RUR, as `/dictionaries` sent it."""

    __tablename__ = "currency_rates"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    rate: Mapped[float] = mapped_column(Float)
    name: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(DateTime)


class EnumLabel(Base):
    """Display names of hh.ru enum ids (experience, work_format, ...).

    Filled from `/dictionaries` and from the names items carry, so ids that
    hh.ru adds without notice still get a label.
    """

    __tablename__ = "enum_labels"

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)


# --- vacancies ------------------------------------------------------------------


class Vacancy(Base):
    __tablename__ = "vacancies"
    # A refresh rewrites nearly every vacancy of its window to mark it seen.
    # Half of each page left free holds the new versions of all its rows, so
    # those are heap-only updates, which write no index entries.
    __table_args__ = {"postgresql_with": {"fillfactor": 50}}

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    area_id: Mapped[int] = mapped_column(Integer, index=True)
    employer_id: Mapped[str | None] = mapped_column(String(32), index=True)
    employer_name: Mapped[str | None] = mapped_column(Text)
    experience: Mapped[str | None] = mapped_column(String(40))
    employment_form: Mapped[str | None] = mapped_column(String(40))
    schedule: Mapped[str | None] = mapped_column(String(40))
    employment: Mapped[str | None] = mapped_column(String(40))
    requirement: Mapped[str | None] = mapped_column(Text)
    responsibility: Mapped[str | None] = mapped_column(Text)
    # Name and snippets case-folded with ё -> е, so keyword search behaves the
    # same on SQLite and PostgreSQL.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # etl.transform's digest of the item's rows; the final write rewrites the
    # salary and links only of vacancies whose digest changed.
    content_hash: Mapped[int | None] = mapped_column(BigInteger)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)


class VacancyWorkFormat(Base):
    __tablename__ = "vacancy_work_formats"

    vacancy_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("vacancies.id", ondelete="CASCADE"), primary_key=True
    )
    work_format: Mapped[str] = mapped_column(String(40), primary_key=True)


class VacancyRole(Base):
    __tablename__ = "vacancy_roles"

    vacancy_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("vacancies.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class Salary(Base):
    """The salary range a vacancy states, as sent and converted to roubles.

    `excluded` names why the range cannot enter salary statistics at all
    (for example `unknown_currency`); `mode` separates monthly pay from hourly,
    per-shift and other pay. Implausible amounts are judged at query time.
    """

    __tablename__ = "salaries"

    vacancy_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("vacancies.id", ondelete="CASCADE"), primary_key=True
    )
    salary_from: Mapped[float | None] = mapped_column(Float)
    salary_to: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(8))
    gross: Mapped[bool | None] = mapped_column(Boolean)
    mode: Mapped[str] = mapped_column(String(40), default="MONTH")
    frequency: Mapped[str | None] = mapped_column(String(40))
    from_rub: Mapped[float | None] = mapped_column(Float)
    to_rub: Mapped[float | None] = mapped_column(Float)
    excluded: Mapped[str | None] = mapped_column(String(40))


Index("ix_vacancy_roles_role_id", VacancyRole.role_id)
Index("ix_vacancy_work_formats_work_format", VacancyWorkFormat.work_format)


# --- accounts ---------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16), default="user")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Bumped on logout, password change and ban, so old session cookies die.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class Ban(Base):
    __tablename__ = "bans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime)
    lifted_by: Mapped[int | None] = mapped_column(Integer)


class JournalEntry(Base):
    __tablename__ = "journal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    login: Mapped[str | None] = mapped_column(String(64), index=True)
    ip: Mapped[str | None] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    details: Mapped[dict | None] = mapped_column(JSON)


class LoginFailure(Base):
    """Failed logins, counted for rate limiting when Redis is not configured."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)


# --- refreshes and shared app state -------------------------------------------


class RefreshRun(Base):
    __tablename__ = "refresh_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), index=True)
    trigger: Mapped[str] = mapped_column(String(16), default="cli")
    scope: Mapped[dict | None] = mapped_column(JSON)
    counts: Mapped[dict | None] = mapped_column(JSON)
    progress: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    pid: Mapped[int | None] = mapped_column(Integer)
    started_by: Mapped[str | None] = mapped_column(String(64))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)


class AppState(Base):
    """One row (id 1) of state that every worker process must see."""

    __tablename__ = "app_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    maintenance: Mapped[bool] = mapped_column(Boolean, default=False)
    maintenance_run_id: Mapped[int | None] = mapped_column(Integer)
    maintenance_since: Mapped[datetime | None] = mapped_column(DateTime)
    maintenance_heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    data_version: Mapped[str] = mapped_column(String(64), default="0")
    dataset: Mapped[str | None] = mapped_column(String(8))
    last_refresh_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_run_id: Mapped[int | None] = mapped_column(Integer)
    # The SQLite stand-in for PostgreSQL's advisory lock: the holder's run and
    # its heartbeat, so a dead holder's lock can be taken over.
    lock_run_id: Mapped[int | None] = mapped_column(Integer)
    lock_heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Where the lock row's holder runs: a dead process on this host frees it.
    lock_host: Mapped[str | None] = mapped_column(String(255))
    lock_pid: Mapped[int | None] = mapped_column(Integer)

"""Accounts: logins, password hashes, roles and the first admin.

Functions receive a database session and never commit: the request or the
command that calls them owns the transaction.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass

from flask_login import UserMixin
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from services.schema import User
from services.settings import Settings
from services.timeutil import utc_now

logger = logging.getLogger(__name__)

ROLES = ("user", "moderator", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES, start=1)}
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")

# scrypt with werkzeug's default cost (N=2**15): about 50-100 ms per check on
# these machines. Tests swap in a cheap method through this name.
PASSWORD_HASH_METHOD = "scrypt"

# Checked against when the login is unknown, so that a missing account takes as
# long to refuse as a wrong password.
_DUMMY_HASH: dict[str, str] = {}


class AccountError(ValueError):
    """An account change was refused; `code` names the reason for the page."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class AccountUser(UserMixin):
    """The signed-in person as Flask-Login sees them for one request."""

    id: int
    login: str
    role: str
    via_token: bool = False

    def get_id(self) -> str:
        return str(self.id)

    def has_role(self, role: str) -> bool:
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK[role]

    @classmethod
    def from_row(cls, user: User, via_token: bool = False) -> AccountUser:
        return cls(id=user.id, login=user.login, role=user.role, via_token=via_token)


def normalise_login(login: str) -> str:
    return (login or "").strip().lower()


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_HASH_METHOD)


def check_password(user: User | None, password: str) -> bool:
    """True when `password` is the user's; spends the same effort for no user."""
    if user is None:
        dummy = _DUMMY_HASH.setdefault(
            PASSWORD_HASH_METHOD, hash_password(secrets.token_hex(8))
        )
        check_password_hash(dummy, password)
        return False
    return check_password_hash(user.password_hash, password)


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            "password_short",
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(
            "password_long",
            f"the password must have at most {MAX_PASSWORD_LENGTH} characters",
        )


def validate_login(login: str) -> str:
    """Return the normalised login, or raise AccountError when it is unusable."""
    login = normalise_login(login)
    if not LOGIN_PATTERN.match(login):
        raise AccountError(
            "login_invalid",
            "a login has 3-64 characters: latin letters, digits, '_', '.', '-'",
        )
    return login


def get_user_by_login(session: Session, login: str) -> User | None:
    return session.execute(
        select(User).where(User.login == normalise_login(login))
    ).scalar_one_or_none()


def get_users(session: Session) -> list[User]:
    return list(session.execute(select(User).order_by(User.login)).scalars())


def count_admins(session: Session) -> int:
    return session.execute(
        select(func.count()).select_from(User).where(User.role == "admin")
    ).scalar_one()


def save_new_user(
    session: Session, login: str, password: str, role: str = "user"
) -> User:
    """Create an account; raises AccountError for a taken login or weak password."""
    login = validate_login(login)
    validate_password(password)
    if role not in ROLES:
        raise AccountError("role_invalid", f"unknown role {role!r}")
    if get_user_by_login(session, login) is not None:
        raise AccountError("login_taken", f"the login {login!r} is already taken")

    user = User(
        login=login,
        password_hash=hash_password(password),
        role=role,
        created_at=utc_now(),
        session_epoch=0,
    )
    session.add(user)
    session.flush()
    logger.info("account created: id=%s role=%s", user.id, role)
    return user


def save_password(session: Session, user: User, password: str) -> None:
    """Set a new password and end every existing session of the account."""
    validate_password(password)
    user.password_hash = hash_password(password)
    end_sessions(user)


def end_sessions(user: User) -> None:
    # Session cookies carry the epoch they were issued in; bumping it makes
    # every older cookie worthless in every worker.
    user.session_epoch = (user.session_epoch or 0) + 1


def save_role(session: Session, actor: AccountUser, user: User, role: str) -> str:
    """Give `user` a role; returns the old one. The last admin keeps theirs."""
    if role not in ROLES:
        raise AccountError("role_invalid", f"unknown role {role!r}")
    old_role = user.role
    if old_role == "admin" and role != "admin" and count_admins(session) <= 1:
        raise AccountError(
            "last_admin",
            "the last admin cannot lose the admin role; make another admin first",
        )
    user.role = role
    session.flush()
    logger.info(
        "role changed: user=%s %s -> %s by %s", user.id, old_role, role, actor.id
    )
    return old_role


def ensure_first_admin(session: Session, settings: Settings) -> str | None:
    """Make sure an admin exists. Returns a generated password, or None.

    Only when no admin exists: creates (or promotes) `ADMIN_LOGIN` with
    `ADMIN_PASSWORD`, or with a generated password that is returned so the
    caller can show it once. Does not commit.
    """
    if count_admins(session) > 0:
        return None
    generated = None
    password = settings.admin_password
    if not password:
        password = generated = secrets.token_urlsafe(12)

    user = get_user_by_login(session, settings.admin_login)
    if user is None:
        save_new_user(session, settings.admin_login, password, role="admin")
    else:
        validate_password(password)
        user.role = "admin"
        save_password(session, user, password)
    logger.info("first admin ensured: login=%s", normalise_login(settings.admin_login))
    return generated

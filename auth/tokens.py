"""Personal API tokens: shown once, stored hashed, sent as `Bearer`."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.schema import ApiToken
from services.schema import User
from services.timeutil import utc_now

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "hh_"
BEARER_SCHEME = "bearer"
MAX_TOKENS_PER_USER = 20
MAX_TOKEN_NAME_LENGTH = 100
LAST_USED_STEP = timedelta(minutes=1)


def read_bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None.

    The scheme name is case-insensitive (RFC 7235), so `bearer` works too.
    """
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != BEARER_SCHEME:
        return None
    return token.strip()


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: there is nothing
    # to guess that a slow hash would protect.
    return hashlib.sha256(token.encode()).hexdigest()


def save_new_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the plain token (shown once)."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=(name or "").strip()[:MAX_TOKEN_NAME_LENGTH] or None,
        token_hash=hash_token(plain),
        created_at=utc_now(),
    )
    session.add(token)
    session.flush()
    logger.info("api token %s created for user %s", token.id, user.id)
    return token, plain


def get_tokens(session: Session, user_id: int) -> list[ApiToken]:
    statement = (
        select(ApiToken)
        .where(ApiToken.user_id == user_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return list(session.execute(statement).scalars())


def count_live_tokens(session: Session, user_id: int) -> int:
    return sum(1 for token in get_tokens(session, user_id) if token.revoked_at is None)


def save_revoked_token(session: Session, user_id: int, token_id: int) -> bool:
    """Revoke one of the user's tokens; False when it is not theirs or gone."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id or token.revoked_at is not None:
        return False
    token.revoked_at = utc_now()
    logger.info("api token %s revoked", token.id)
    return True


def get_token_user(session: Session, plain: str) -> User | None:
    """The owner of a live token, marking it used; None for an unknown token."""
    if not plain.startswith(TOKEN_PREFIX):
        return None
    token = session.execute(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(plain), ApiToken.revoked_at.is_(None)
        )
    ).scalar_one_or_none()
    if token is None:
        return None
    now = utc_now()
    # One write a minute is enough to answer "is this token still in use?".
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_STEP:
        token.last_used_at = now
        session.commit()
    return session.get(User, token.user_id)

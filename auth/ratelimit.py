"""Failed-login counters shared by every worker: Redis when set, else the database.

Only failures count. A login is refused with 429 once it has 10 failures, or
its IP 50, within the last 15 minutes; the refusal lasts until the oldest
counted failure leaves the window.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta

import redis
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.schema import LoginFailure
from services.timeutil import utc_now

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_LOGIN = 10
MAX_FAILURES_PER_IP = 50
REDIS_PREFIX = "hh:login-failures:"
REDIS_RETRY_SECONDS = 60.0


class RateLimiterError(RuntimeError):
    """The shared counter store cannot be reached."""


def failure_keys(login: str, ip: str) -> list[tuple[str, int]]:
    """The counters one attempt touches, with their limits."""
    return [
        (f"login:{login[:100]}", MAX_FAILURES_PER_LOGIN),
        (f"ip:{ip}", MAX_FAILURES_PER_IP),
    ]


class DatabaseFailureCounter:
    """Failures as rows of `login_failures`, which every worker reads."""

    def __init__(self, session_factory) -> None:
        self._session_factory = session_factory

    def count(self, key: str) -> int:
        since = utc_now() - timedelta(seconds=WINDOW_SECONDS)
        session: Session = self._session_factory()
        return session.execute(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.key == key, LoginFailure.at > since)
        ).scalar_one()

    def add(self, keys: list[str]) -> None:
        session: Session = self._session_factory()
        now = utc_now()
        session.add_all(LoginFailure(key=key, at=now) for key in keys)
        session.execute(
            delete(LoginFailure).where(
                LoginFailure.at <= now - timedelta(seconds=WINDOW_SECONDS)
            )
        )
        session.commit()


class RedisFailureCounter:
    """Failures as members of a sorted set per key, scored by time."""

    def __init__(self, url: str, prefix: str | None = None) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=2)
        self.prefix = prefix or REDIS_PREFIX

    def count(self, key: str) -> int:
        name = self.prefix + key
        try:
            pipe = self._redis.pipeline()
            pipe.zremrangebyscore(name, 0, time.time() - WINDOW_SECONDS)
            pipe.zcard(name)
            return int(pipe.execute()[1])
        except redis.RedisError as error:
            raise RateLimiterError(f"Redis is unreachable: {error}") from error

    def add(self, keys: list[str]) -> None:
        now = time.time()
        try:
            pipe = self._redis.pipeline()
            for key in keys:
                pipe.zadd(self.prefix + key, {uuid.uuid4().hex: now})
                pipe.expire(self.prefix + key, WINDOW_SECONDS)
            pipe.execute()
        except redis.RedisError as error:
            raise RateLimiterError(f"Redis is unreachable: {error}") from error


class FallbackFailureCounter:
    """Redis counters that fall back to the database while Redis is down.

    A login page must not answer 500 because the counter store is away: the
    first failure logs one WARNING and switches to database rows; Redis is
    tried again after `retry_seconds`, and its return is logged once.
    """

    def __init__(
        self,
        primary: RedisFailureCounter,
        fallback: DatabaseFailureCounter,
        retry_seconds: float = REDIS_RETRY_SECONDS,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.retry_seconds = retry_seconds
        self._redis_down = False
        self._retry_at = 0.0

    def count(self, key: str) -> int:
        return self._call("count", key)

    def add(self, keys: list[str]) -> None:
        self._call("add", keys)

    def _call(self, name: str, argument):
        if not self._redis_down or time.monotonic() >= self._retry_at:
            try:
                result = getattr(self.primary, name)(argument)
            except RateLimiterError as error:
                self._mark_redis_down(error)
            else:
                self._mark_redis_up()
                return result
        return getattr(self.fallback, name)(argument)

    def _mark_redis_down(self, error: RateLimiterError) -> None:
        self._retry_at = time.monotonic() + self.retry_seconds
        if self._redis_down:
            return
        self._redis_down = True
        logger.warning(
            "login counters fall back to the database: %s; retrying in %.0f s",
            error,
            self.retry_seconds,
        )

    def _mark_redis_up(self) -> None:
        if self._redis_down:
            self._redis_down = False
            logger.info("login counters are back on Redis")


class LoginLimiter:
    """Decides whether a login attempt may be checked at all."""

    def __init__(self, counter) -> None:
        self.counter = counter

    def is_blocked(self, login: str, ip: str) -> bool:
        return any(
            self.counter.count(key) >= limit for key, limit in failure_keys(login, ip)
        )

    def record_failure(self, login: str, ip: str) -> None:
        self.counter.add([key for key, _limit in failure_keys(login, ip)])


def make_login_limiter(redis_url: str, session_factory) -> LoginLimiter:
    """Redis counters when `redis_url` is set (database rows while Redis is
    down), database rows otherwise."""
    database = DatabaseFailureCounter(session_factory)
    if redis_url:
        return LoginLimiter(
            FallbackFailureCounter(RedisFailureCounter(redis_url), database)
        )
    return LoginLimiter(database)

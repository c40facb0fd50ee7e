"""The hh.ru API client: one rate limit for all threads, bounded concurrency, retries.

Retries follow design §4.2: 429, 5xx, timeouts, dropped connections and malformed
JSON are retried with exponential backoff and jitter (a `Retry-After` header
wins); a 400 is never retried. Refusals a retry cannot fix (no User-Agent,
captcha, a bad application token) raise `HHFatalError` naming the setting to fix.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import requests

logger = logging.getLogger(__name__)

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
SEARCH_PATH = "/vacancies"
TRANSIENT_ERRORS = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class HHError(Exception):
    """Any failure talking to hh.ru."""


class HHFatalError(HHError):
    """hh.ru refuses the client itself; retrying cannot help, a setting must change."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class HHBadRequest(HHError):  # noqa: N818 - the name is part of the ETL contract
    """hh.ru rejected the request's parameters (4xx); never retried."""

    def __init__(self, message: str, errors: list) -> None:
        super().__init__(message)
        self.errors = errors


class HHRequestFailed(HHError):  # noqa: N818 - the name is part of the ETL contract
    """A request still failed after every retry."""


class HHCancelled(HHError):  # noqa: N818 - the name is part of the ETL contract
    """The refresh was cancelled while a request was waiting or retrying."""


@dataclass(frozen=True)
class ClientConfig:
    base_url: str
    user_agent: str
    app_token: str = ""
    workers: int = 4
    rate: float = 5.0
    timeout: float = 10.0
    retries: int = 5
    backoff_base: float = 1.0
    backoff_cap: float = 60.0

    @classmethod
    def from_settings(cls, settings, **overrides) -> ClientConfig:
        """A config from `services.settings.Settings`; `overrides` replace fields."""
        values = {
            "base_url": settings.hh_api_url,
            "user_agent": settings.hh_user_agent,
            "app_token": settings.hh_app_token,
            "workers": settings.hh_workers,
            "rate": settings.hh_rate,
            "timeout": settings.hh_timeout,
            "retries": settings.hh_retries,
            "backoff_base": settings.hh_backoff_base,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass(frozen=True)
class RequestEvent:
    """One HTTP attempt: status None when no answer came back."""

    path: str
    params: list[tuple[str, str]]
    status: int | None
    seconds: float
    attempt: int
    error: str = ""


class RateLimiter:
    """A token bucket shared by all threads: `rate` requests per second, burst 1."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._clock = clock
        self._next_slot = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take the next free slot; return how many seconds to wait for it."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        return slot - now

    def wait(self, cancel_event: threading.Event | None = None) -> None:
        delay = self.reserve()
        if delay > 0:
            _pause(delay, cancel_event)


class HHClient:
    """Fetches hh.ru JSON with the shared rate limit, `workers` in flight at most."""

    def __init__(
        self,
        config: ClientConfig,
        on_request: Callable[[RequestEvent], None] | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        if not config.user_agent.strip():
            raise HHFatalError(
                "bad_user_agent",
                "No User-Agent for hh.ru: set HH_USER_AGENT to your app name and "
                "contact e-mail, e.g. 'MyAnalytics/1.0 (me@example.org)'",
            )
        self.config = config
        self.on_request = on_request
        self.cancel_event = cancel_event
        self.requests_made = 0
        self.failed_requests = 0
        self._counter_lock = threading.Lock()
        self._limiter = RateLimiter(config.rate)
        self._in_flight = threading.BoundedSemaphore(max(config.workers, 1))
        self._sessions = threading.local()
        self._all_sessions: list[requests.Session] = []

    def fetch_json(
        self, path: str, params: list[tuple[str, str]] | dict | None = None
    ) -> Any:
        """The decoded JSON answer of GET `path`, retried as design §4.2 says.

        Raises HHFatalError, HHBadRequest, HHRequestFailed or HHCancelled.
        """
        pairs = _as_pairs(params)
        for attempt in range(self.config.retries + 1):
            self._raise_if_cancelled()
            outcome, delay = self._attempt(path, pairs, attempt)
            if outcome is not _RETRY:
                return outcome
            if attempt < self.config.retries:
                _pause(delay, self.cancel_event)
        with self._counter_lock:
            self.failed_requests += 1
        raise HHRequestFailed(
            f"GET {path} failed after {self.config.retries + 1} attempts; "
            "hh.ru may be overloaded: lower --rate or raise --retries"
        )

    def fetch_search_page(
        self, params: Mapping[str, Any] | list, page: int, per_page: int = 100
    ) -> dict:
        """One `/vacancies` envelope of a slice (page 0-based)."""
        pairs = [p for p in _as_pairs(params) if p[0] not in ("page", "per_page")]
        pairs += [("page", str(page)), ("per_page", str(per_page))]
        return self.fetch_json(SEARCH_PATH, pairs)

    def fetch_found(self, params: Mapping[str, Any] | list) -> int:
        """How many vacancies a slice holds, from a `per_page=0` probe."""
        return int(self.fetch_search_page(params, 0, per_page=0)["found"])

    def fetch_areas(self) -> list[dict]:
        return self.fetch_json("/areas")

    def fetch_dictionaries(self) -> dict:
        return self.fetch_json("/dictionaries")

    def fetch_professional_roles(self) -> dict:
        return self.fetch_json("/professional_roles")

    def close(self) -> None:
        for session in self._all_sessions:
            session.close()

    # --- one attempt ----------------------------------------------------------

    def _attempt(
        self, path: str, pairs: list[tuple[str, str]], attempt: int
    ) -> tuple[Any, float]:
        self._limiter.wait(self.cancel_event)
        started = time.monotonic()
        status = None
        error = ""
        try:
            with self._in_flight:
                response = self._session().get(
                    self.config.base_url + path,
                    params=pairs,
                    timeout=self.config.timeout,
                )
            status = response.status_code
            return self._read_answer(path, response, attempt)
        except TRANSIENT_ERRORS as failure:
            error = type(failure).__name__
            return _RETRY, self._backoff(attempt)
        except ValueError:
            error = "malformed JSON"
            return _RETRY, self._backoff(attempt)
        finally:
            self._record(path, pairs, status, started, attempt, error)

    def _read_answer(
        self, path: str, response: requests.Response, attempt: int
    ) -> tuple[Any, float]:
        status = response.status_code
        if status in RETRIED_STATUSES or status >= 500:
            retry_after = _read_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None:
                return _RETRY, min(retry_after, self.config.backoff_cap)
            return _RETRY, self._backoff(attempt)
        if status >= 400:
            raise _refusal(path, status, _read_errors(response))
        # orjson parses a 350 KB search page about twice as fast as json.
        return orjson.loads(response.content), 0.0

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.config.backoff_cap, self.config.backoff_base * 2**attempt)
        return ceiling * random.uniform(0.5, 1.0)

    def _record(
        self,
        path: str,
        pairs: list[tuple[str, str]],
        status: int | None,
        started: float,
        attempt: int,
        error: str,
    ) -> None:
        seconds = time.monotonic() - started
        with self._counter_lock:
            self.requests_made += 1
        logger.debug(
            "GET %s %s -> %s in %.3f s (attempt %d)%s",
            path,
            "&".join(f"{k}={v}" for k, v in pairs),
            status if status is not None else "no answer",
            seconds,
            attempt + 1,
            f" {error}" if error else "",
        )
        if self.on_request is not None:
            self.on_request(RequestEvent(path, pairs, status, seconds, attempt, error))

    def _session(self) -> requests.Session:
        session = getattr(self._sessions, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = self.config.user_agent
            session.headers["HH-User-Agent"] = self.config.user_agent
            if self.config.app_token:
                session.headers["Authorization"] = f"Bearer {self.config.app_token}"
            self._sessions.session = session
            with self._counter_lock:
                self._all_sessions.append(session)
        return session

    def _raise_if_cancelled(self) -> None:
        if self.cancel_event is not None and self.cancel_event.is_set():
            raise HHCancelled("the refresh was cancelled")


_RETRY = object()


def _as_pairs(params: list[tuple[str, str]] | Mapping | None) -> list[tuple[str, str]]:
    if params is None:
        return []
    if isinstance(params, Mapping):
        pairs = []
        for key, value in params.items():
            values = value if isinstance(value, list | tuple) else [value]
            pairs.extend((key, str(v)) for v in values)
        return pairs
    return [(str(k), str(v)) for k, v in params]


def _pause(seconds: float, cancel_event: threading.Event | None) -> None:
    if seconds <= 0:
        return
    if cancel_event is None:
        time.sleep(seconds)
    elif cancel_event.wait(seconds):
        raise HHCancelled("the refresh was cancelled")


def _read_retry_after(raw: str | None) -> float | None:
    try:
        return max(float(raw), 0.0) if raw else None
    except ValueError:
        return None


def _read_errors(response: requests.Response) -> list:
    try:
        body = response.json()
    except ValueError:
        return []
    return body.get("errors", []) if isinstance(body, dict) else []


def _refusal(path: str, status: int, errors: list) -> HHError:
    """The exception for a 4xx answer, fatal when a setting must change."""
    types = {e.get("type") for e in errors if isinstance(e, dict)}
    if "bad_user_agent" in types:
        return HHFatalError(
            "bad_user_agent",
            "hh.ru refused the User-Agent: set HH_USER_AGENT to your app name and "
            "contact e-mail, e.g. 'MyAnalytics/1.0 (me@example.org)'",
        )
    if "captcha_required" in types:
        return HHFatalError(
            "captcha_required",
            "hh.ru asks for a captcha: register an application at dev.hh.ru and "
            "set HH_APP_TOKEN to its token",
        )
    if "oauth" in types:
        return HHFatalError(
            "oauth",
            "hh.ru rejected the application token: check HH_APP_TOKEN "
            "(it is revoked when a new one is requested)",
        )
    if status == 403:
        return HHFatalError(
            "forbidden",
            f"hh.ru forbids GET {path} (403): set HH_APP_TOKEN to an application "
            "token, and check that this address is not blocked",
        )
    return HHBadRequest(f"hh.ru rejected GET {path} ({status}): {errors}", errors)

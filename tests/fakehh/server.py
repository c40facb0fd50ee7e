"""A fake hh.ru API on 127.0.0.1 that behaves like the real one where it matters.

It serves `/vacancies` (area with sub-areas, professional_role, a publication
window rounded to 5-minute steps, newest first, the 2,000-item depth limit with
hh.ru's own 400 body), the reference dictionaries, the User-Agent rule, a request
log, and faults a test switches on: rate limiting, outages, slow answers, dropped
connections, truncated JSON, a vacancy repeated across pages, captcha and oauth.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qsl
from urllib.parse import urlsplit

import orjson

from etl.synthetic import MOSCOW_OFFSET
from services.settings import PROJECT_ROOT
from tests.fakehh.store import ItemStore

DEPTH_LIMIT = 2000
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 10
ROUNDING_SECONDS = 300
SHARED_ERRORS = PROJECT_ROOT.parent / "shared" / "hh" / "errors"
FALLBACK_CAPTCHA = {
    "errors": [
        {
            "value": "captcha_required",
            "captcha_url": "https://hh.ru/account/captcha?state=fake",
            "type": "captcha_required",
        }
    ],
    "request_id": "fakehh-captcha",
}
FAULT_KINDS = ("rate_limit", "unavailable", "slow", "drop", "truncate")


@dataclass
class Faults:
    """Faults to inject; `<kind>_next` hits the next N requests, `_every` each Nth.

    Kinds: rate_limit (429 with `Retry-After`), unavailable (503), slow (answer
    after `slow_seconds`), drop (close without answering), truncate (half a JSON
    body). Requests are counted only when their path starts with `only_path`.
    """

    rate_limit_every: int = 0
    rate_limit_next: int = 0
    retry_after: str | None = "1"
    unavailable_every: int = 0
    unavailable_next: int = 0
    slow_every: int = 0
    slow_next: int = 0
    slow_seconds: float = 0.0
    drop_every: int = 0
    drop_next: int = 0
    truncate_every: int = 0
    truncate_next: int = 0
    # Page 1 of every search starts with page 0's first vacancy, republished a
    # minute later with a higher salary: the second version of one id.
    repeat_item: bool = False
    captcha_after: int | None = None
    bad_token: str | None = None
    blacklisted_user_agent: str | None = None
    only_path: str | None = None
    counted: int = 0


@dataclass(frozen=True)
class RequestLog:
    """One request the fake server answered (status None: connection dropped)."""

    path: str
    params: list[tuple[str, str]]
    status: int | None
    at: float
    headers: dict[str, str] = field(default_factory=dict)

    def param(self, name: str, default: str | None = None) -> str | None:
        return next((v for k, v in self.params if k == name), default)


class BadArgumentError(Exception):
    """A query parameter hh.ru would refuse with 400 bad_argument."""

    def __init__(self, name: str, body: dict | None = None) -> None:
        super().__init__(name)
        self.body = body or {
            "errors": [{"type": "bad_argument", "value": name}],
            "bad_argument": name,
            "request_id": "fakehh",
        }


class FakeHH:
    """A fake hh.ru server on a free port of 127.0.0.1; use it as a context manager."""

    def __init__(
        self,
        store: ItemStore,
        areas: list | None = None,
        dictionaries: dict | None = None,
        professional_roles: dict | None = None,
        port: int = 0,
    ) -> None:
        self.store = store
        self.areas = areas or []
        self.dictionaries = dictionaries or {}
        self.professional_roles = professional_roles or {"categories": []}
        self.faults = Faults()
        self.requests: list[RequestLog] = []
        # Arrival times and the most requests answered at once, to check the
        # client's rate limit and concurrency bound from the server's side.
        self.arrivals: list[float] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._nodes = _index_area_tree(self.areas)
        self._descendants: dict[tuple[int, ...], frozenset[int]] = {}
        self._server = _QuietServer(("127.0.0.1", port), _make_handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeHH:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def search_requests(self) -> list[RequestLog]:
        """The logged `/vacancies` requests, in arrival order."""
        return [r for r in self.requests if r.path == "/vacancies"]

    # --- answering ------------------------------------------------------------

    def answer(
        self, path: str, params: list[tuple[str, str]], headers: dict[str, str]
    ) -> tuple[int, dict | None, dict[str, str], str]:
        """Status, JSON body, extra headers and fault action for one request."""
        user_agent = headers.get("hh-user-agent") or headers.get("user-agent")
        if not user_agent:
            body = {"errors": [{"type": "bad_user_agent", "value": "unset"}]}
            return 400, body, {}, ""
        if user_agent == self.faults.blacklisted_user_agent:
            body = {"errors": [{"type": "bad_user_agent", "value": "blacklisted"}]}
            return 400, body, {}, ""
        token = headers.get("authorization", "")
        if self.faults.bad_token and token == f"Bearer {self.faults.bad_token}":
            body = {"errors": [{"type": "oauth", "value": "bad_authorization"}]}
            return 403, body, {}, ""

        action = self._next_fault(path)
        if action == "captcha":
            return 403, read_captcha_body(), {}, ""
        if action == "rate_limit":
            extra = {"Retry-After": self.faults.retry_after}
            return 429, None, {k: v for k, v in extra.items() if v}, ""
        if action == "unavailable":
            body = {"errors": [{"type": "service_unavailable"}]}
            return 503, body, {}, ""

        try:
            status, body = self._route(path, params)
        except BadArgumentError as error:
            status, body = 400, error.body
        return status, body, {}, action

    def _next_fault(self, path: str) -> str:
        faults = self.faults
        if faults.only_path and not path.startswith(faults.only_path):
            return ""
        with self._lock:
            faults.counted += 1
            number = faults.counted
            if faults.captcha_after is not None and number > faults.captcha_after:
                return "captcha"
            for kind in FAULT_KINDS:
                pending = getattr(faults, f"{kind}_next")
                every = getattr(faults, f"{kind}_every")
                if pending > 0:
                    setattr(faults, f"{kind}_next", pending - 1)
                    return kind
                if every and number % every == 0:
                    return kind
        return ""

    def _route(self, path: str, params: list[tuple[str, str]]) -> tuple[int, dict]:
        if path == "/vacancies":
            return 200, self.search(params)
        if path == "/areas":
            return 200, self.areas
        if path.startswith("/areas/") and path[len("/areas/") :] in self._nodes:
            return 200, self._nodes[path[len("/areas/") :]]
        if path == "/dictionaries":
            return 200, self.dictionaries
        if path == "/professional_roles":
            return 200, self.professional_roles
        return 404, {"errors": [{"type": "not_found"}], "request_id": "fakehh"}

    def search(self, params: list[tuple[str, str]]) -> dict:
        """The `/vacancies` envelope for the given query parameters."""
        per_page = _read_int(params, "per_page", DEFAULT_PER_PAGE)
        page = _read_int(params, "page", 0)
        if per_page > MAX_PER_PAGE:
            raise BadArgumentError("per_page")
        if (page + 1) * per_page > DEPTH_LIMIT:
            raise BadArgumentError("page", depth_limit_body())

        positions = self.store.select(
            _read_time(params, "date_from", upper=False),
            _read_time(params, "date_to", upper=True),
            self._areas_with_descendants(_read_ids(params, "area")),
            frozenset(_read_ids(params, "professional_role")) or None,
        )
        found = len(positions)
        shown = positions[page * per_page : (page + 1) * per_page]
        items = [self.store.item_at(p) for p in shown]
        if self.faults.repeat_item and page == 1 and items and found:
            items[0] = republished(self.store.item_at(positions[0]))
        pages = (
            0 if per_page == 0 else min(math.ceil(found / per_page), 2000 // per_page)
        )
        return {
            "items": items,
            "found": found,
            "pages": pages,
            "page": page,
            "per_page": per_page,
            "clusters": None,
            "arguments": None,
            "fixes": None,
            "suggests": None,
            "alternate_url": "https://hh.ru/search/vacancy?enable_snippets=true",
        }

    def _areas_with_descendants(self, area_ids: list[int]) -> frozenset[int] | None:
        if not area_ids:
            return None
        key = tuple(sorted(area_ids))
        if key not in self._descendants:
            found: set[int] = set()
            stack = [self._nodes[str(a)] for a in key if str(a) in self._nodes]
            found.update(area_ids)
            while stack:
                node = stack.pop()
                found.add(int(node["id"]))
                stack.extend(node.get("areas") or ())
            self._descendants[key] = frozenset(found)
        return self._descendants[key]

    def log(self, entry: RequestLog) -> None:
        with self._lock:
            self.requests.append(entry)

    def note_arrival(self, started: bool) -> None:
        """Count a request in (`started`) or out of flight."""
        with self._lock:
            if started:
                self.arrivals.append(time.monotonic())
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            else:
                self.in_flight -= 1


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A client that timed out or was dropped on purpose is not a server error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def depth_limit_body() -> dict:
    """hh.ru's 400 body for a request past the 2,000th item."""
    return {
        "errors": [{"type": "bad_argument", "value": "page"}],
        "description": "you can't look up more than 2000 items in the list",
        "bad_argument": "page, per_page",
        "bad_arguments": [
            {"name": "page", "description": "page * per_page must be < 2000"}
        ],
        "request_id": "fakehh",
    }


def read_captcha_body() -> dict:
    """A real captcha_required body from the shared data, else one of its shape."""
    path = SHARED_ERRORS / "captcha_required-1.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return FALLBACK_CAPTCHA


def republished(item: dict) -> dict:
    """The same vacancy republished a minute later with a salary 1,000 higher."""
    copy = json.loads(json.dumps(item))
    moment = datetime.strptime(copy["published_at"], "%Y-%m-%dT%H:%M:%S%z")
    copy["published_at"] = (moment + timedelta(minutes=1)).strftime(
        "%Y-%m-%dT%H:%M:%S%z"
    )
    for key in ("salary", "salary_range"):
        if copy.get(key) and copy[key].get("from"):
            copy[key]["from"] += 1000
    if not copy.get("salary"):
        copy["salary"] = {"from": 1000, "to": None, "currency": "RUR", "gross": False}
    return copy


def _index_area_tree(roots: list) -> dict[str, dict]:
    nodes: dict[str, dict] = {}
    stack = list(roots)
    while stack:
        node = stack.pop()
        nodes[str(node["id"])] = node
        stack.extend(node.get("areas") or ())
    return nodes


def _read_int(params: list[tuple[str, str]], name: str, default: int) -> int:
    raw = next((v for k, v in params if k == name), None)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise BadArgumentError(name)
    return int(raw)


def _read_ids(params: list[tuple[str, str]], name: str) -> list[int]:
    values = [v for k, v in params if k == name and v != ""]
    if not all(v.isdigit() for v in values):
        raise BadArgumentError(name)
    return [int(v) for v in values]


def _read_time(params: list[tuple[str, str]], name: str, upper: bool) -> int | None:
    """Epoch seconds of a window bound, rounded outwards to a 5-minute step."""
    raw = next((v for k, v in params if k == name), None)
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=MOSCOW_OFFSET)
            # A bare date_to means the whole of that Moscow day.
            moment = day + timedelta(days=1) - timedelta(seconds=1) if upper else day
        else:
            moment = datetime.strptime(raw, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        raise BadArgumentError(name) from None
    seconds = int(moment.timestamp())
    if upper:
        return -(-seconds // ROUNDING_SECONDS) * ROUNDING_SECONDS
    return seconds // ROUNDING_SECONDS * ROUNDING_SECONDS


def _make_handler(fake: FakeHH) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
            fake.note_arrival(started=True)
            try:
                self._answer()
            finally:
                fake.note_arrival(started=False)

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            params = parse_qsl(parts.query, keep_blank_values=True)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body, extra, action = fake.answer(parts.path, params, headers)
            if action == "drop":
                fake.log(RequestLog(parts.path, params, None, time.time(), headers))
                self.close_connection = True
                return
            if action == "slow":
                fake._closing.wait(fake.faults.slow_seconds)
            payload = b"" if body is None else orjson.dumps(body)
            if action == "truncate":
                payload = payload[: len(payload) // 2]
            fake.log(RequestLog(parts.path, params, status, time.time(), headers))
            self._send(status, payload, extra)

        def _send(self, status: int, payload: bytes, extra: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            return

    return Handler

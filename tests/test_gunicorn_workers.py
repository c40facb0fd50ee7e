"""Bans and login limits across real gunicorn workers sharing one database.

Each test starts `gunicorn --workers 2 app:server` (no preload) on a free
127.0.0.1 port. Requests go one at a time without keep-alive. On an idle
machine the kernel tends to hand every connection to the same worker, so
every other request is sent while an unfinished request holds the worker
that accepts first: the other worker must answer it. The access log
(tests/gunicorn_test_conf.py) names the pid that answered each one, and a
test keeps asking until both workers have answered.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.schema import LoginFailure
from services.settings import PROJECT_ROOT
from tests.auth_support import PASSWORD
from tests.auth_support import add_user
from tests.auth_support import engine_of
from tests.auth_support import make_app

pytestmark = [pytest.mark.db, pytest.mark.slow]

REDIS_URL = "redis://127.0.0.1:6379/12"
WORKERS = 2
MAX_REQUESTS = 200
EVENT_WAIT_SECONDS = 60
SETTING_NAMES = frozenset(
    {"DATABASE_URL", "SECRET_KEY", "INSTANCE_DIR", "REDIS_URL", "TRUSTED_PROXIES",
     "PUBLIC_DASHBOARD", "REGISTRATION_OPEN", "ADMIN_LOGIN", "ADMIN_PASSWORD"}
)  # fmt: skip
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
NO_KEEP_ALIVE = {"Connection": "close"}
SPARE_LOGINS = ("bob", "carol", "dave")


@dataclass(frozen=True)
class Answer:
    """One response as the test sees it: which worker, what status, where to."""

    worker: str
    status: int
    location: str


@dataclass
class Gunicorn:
    url: str
    access_log: Path
    answered: int = 0

    def request(
        self, method: str, path: str, cookies: dict, data=None, elsewhere=False
    ) -> Answer:
        """Send one request without keep-alive; the answer names its worker.

        With `elsewhere`, the worker that accepts first is held, so another
        one answers.
        """
        with self.holding_one_worker() if elsewhere else nullcontext():
            response = self._send(method, path, cookies, data)
        self.answered += 1
        worker = self._worker_of_line(self.answered)
        self.last_response = response
        return Answer(worker, response.status_code, response.headers.get("Location"))

    @contextmanager
    def holding_one_worker(self):
        """Keep a sync worker reading an unfinished request until the block ends.

        The connection is closed without finishing the request, so gunicorn
        drops it quietly and writes no access line for it.
        """
        host, port = self.url.removeprefix("http://").split(":")
        blocker = socket.create_connection((host, int(port)))
        try:
            blocker.sendall(b"GET /healthz HTTP/1.1\r\nHost: " + host.encode())
            yield
        finally:
            blocker.close()

    def _send(self, method: str, path: str, cookies: dict, data):
        return requests.request(
            method,
            self.url + path,
            cookies=cookies,
            data=data,
            headers=NO_KEEP_ALIVE,
            allow_redirects=False,
            timeout=EVENT_WAIT_SECONDS,
        )

    def _worker_of_line(self, number: int) -> str:
        # The worker writes its access line right after the response, so the
        # line may trail the answer by a moment: wait for it, not for a time.
        deadline = time.monotonic() + EVENT_WAIT_SECONDS
        while time.monotonic() < deadline:
            lines = self.access_log.read_text().splitlines()
            if len(lines) >= number:
                return lines[number - 1].split()[0]
            time.sleep(0.02)
        raise AssertionError(f"access log never reached line {number}")

    def until_every_worker_answers(self, method, path, cookies, data=None):
        """Repeat one request until each worker has answered it at least once."""
        answers = []
        while len({answer.worker for answer in answers}) < WORKERS:
            assert len(answers) < MAX_REQUESTS, f"one worker took all of {answers}"
            elsewhere = len(answers) % 2 == 1
            answers.append(self.request(method, path, cookies, data, elsewhere))
        return answers


def _server_environment(database_url: str, tmp_path: Path, extra: dict) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("HH_") and key not in SETTING_NAMES
    }
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY="gunicorn-test-secret",
        INSTANCE_DIR=str(tmp_path / "instance"),
        HH_API_URL="http://127.0.0.1:9",
        TEST_ACCESS_LOG=str(tmp_path / "access.log"),
        PYTHONPATH=str(PROJECT_ROOT),
        **extra,
    )
    return env


def _wait_for_port(log_path: Path, process: subprocess.Popen) -> int:
    deadline = time.monotonic() + EVENT_WAIT_SECONDS
    while time.monotonic() < deadline:
        found = re.search(
            r"Listening at: http://127\.0\.0\.1:(\d+)", log_path.read_text()
        )
        if found:
            return int(found.group(1))
        assert process.poll() is None, log_path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"gunicorn did not start: {log_path.read_text()}")


@pytest.fixture
def start_gunicorn(database_url, tmp_path):
    """A factory: start_gunicorn(**env) runs two workers and returns a Gunicorn."""
    started: list[subprocess.Popen] = []

    def start(**extra_env) -> Gunicorn:
        log_path = tmp_path / "gunicorn.log"
        (tmp_path / "access.log").touch()
        command = [
            sys.executable, "-m", "gunicorn", "app:server",
            "--workers", str(WORKERS), "--bind", "127.0.0.1:0",
            "--config", str(PROJECT_ROOT / "tests" / "gunicorn_test_conf.py"),
        ]  # fmt: skip
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=_server_environment(database_url, tmp_path, extra_env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        server = Gunicorn(
            f"http://127.0.0.1:{_wait_for_port(log_path, process)}",
            tmp_path / "access.log",
        )
        # Both workers must be up before a test counts on them taking turns.
        booted = server.until_every_worker_answers("GET", "/healthz", {})
        assert {answer.status for answer in booted} == {200}
        return server

    yield start
    for process in started:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=EVENT_WAIT_SECONDS)


@pytest.fixture
def accounts(database_url, tmp_path):
    """alice (user) and mod (moderator) in the test database; returns the app."""
    app = make_app(database_url, tmp_path)
    for login in ("alice", *SPARE_LOGINS):
        add_user(app, login)
    add_user(app, "mod", "moderator")
    return app


@pytest.fixture
def redis_prefix():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    prefix = f"test-gunicorn-{uuid.uuid4().hex}:"
    yield prefix
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)


def csrf_token_of(server: Gunicorn) -> str:
    return CSRF_FIELD.search(server.last_response.text).group(1)


def sign_in(server: Gunicorn, login: str) -> dict:
    """Sign `login` in through the form; returns the session's cookies."""
    server.request("GET", "/login", {})
    cookies = dict(server.last_response.cookies)
    form = {"login": login, "password": PASSWORD, "csrf_token": csrf_token_of(server)}
    assert server.request("POST", "/login", cookies, form).status == 302
    return {**cookies, **dict(server.last_response.cookies)}


def ban_login_through_moderator_page(server: Gunicorn, login: str) -> None:
    cookies = sign_in(server, "mod")
    assert server.request("GET", "/moderator", cookies).status == 200
    cookies.update(dict(server.last_response.cookies))
    form = {
        "kind": "login",
        "value": login,
        "reason": "spam",
        "days": "",
        "csrf_token": csrf_token_of(server),
    }
    answer = server.request("POST", "/moderator/bans", cookies, form)
    assert (answer.status, answer.location) == (302, "/moderator?done=ban")


def test_a_ban_ends_the_session_on_the_next_request_in_every_worker(
    accounts, start_gunicorn
):
    server = start_gunicorn()
    alice = sign_in(server, "alice")
    before = server.until_every_worker_answers("GET", "/account", alice)

    ban_login_through_moderator_page(server, "alice")
    # The same cookie is replayed on purpose: a worker must refuse it by the
    # ban, not because an earlier answer cleared it.
    first = server.request("GET", "/account", alice)
    after = server.until_every_worker_answers("GET", "/account", alice)

    assert {answer.status for answer in before} == {200}
    assert (first.status, first.location) == (302, "/login?next=/account")
    assert {(a.status, a.location) for a in after} == {(302, "/login?next=/account")}


def count_database_failures(app, key: str) -> int:
    with Session(engine_of(app)) as session:
        return session.execute(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.key == key)
        ).scalar_one()


def fail_ten_times_on_both_workers(server: Gunicorn, cookies: dict, csrf: str):
    """Ten failed sign-ins of one login, answered by both workers.

    Every other attempt goes to a worker other than the first to accept;
    should one worker still take all ten, that login proves nothing about
    sharing and the next one is tried.
    """
    for login in ("alice", *SPARE_LOGINS):
        form = {"login": login, "password": "wrong-password-1", "csrf_token": csrf}
        failures = [
            server.request("POST", "/login", cookies, form, elsewhere=n % 2 == 1)
            for n in range(10)
        ]
        if len({answer.worker for answer in failures}) == WORKERS:
            return form, failures
    raise AssertionError("one worker answered every failed sign-in of every login")


@pytest.mark.parametrize("store", ["database", "redis"])
def test_failed_logins_on_both_workers_reach_the_limit_of_ten(
    accounts, start_gunicorn, request, store
):
    extra = {}
    if store == "redis":
        prefix = request.getfixturevalue("redis_prefix")
        extra = {"REDIS_URL": REDIS_URL, "TEST_REDIS_PREFIX": prefix}
    server = start_gunicorn(**extra)
    server.request("GET", "/login", {})
    cookies = dict(server.last_response.cookies)

    form, failures = fail_ten_times_on_both_workers(
        server, cookies, csrf_token_of(server)
    )
    refused = server.until_every_worker_answers("POST", "/login", cookies, form)

    # Neither worker saw ten failures itself: the limit came from shared counters.
    assert [answer.status for answer in failures] == [401] * 10
    assert {answer.status for answer in refused} == {429}
    key = f"login:{form['login']}"
    in_database = count_database_failures(accounts, key)
    if store == "redis":
        counted = redis.Redis.from_url(REDIS_URL).zcard(prefix + key)
        assert (counted, in_database) == (10, 0)
    else:
        assert in_database == 10

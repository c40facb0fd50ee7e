"""Load test on loopback: logged-in users changing filters on the analytics page.

gunicorn serves a copy of the benchmark database with 2 workers on
127.0.0.1. Each user logs in through /login and, after an exponential think
time (5 s on average), changes the selection by calling the analytics page's
statistics callback at /_dash-update-component with the payload the browser
sends (built from /_dash-dependencies). Phase one is steady load; phase two is
the same load while `python -m etl.refresh` writes data fetched from a local
fake hh.ru. A 503 maintenance answer is counted apart from errors.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import requests
from sqlalchemy.orm import Session

from auth.users import save_new_user
from bench.build_dataset import SHARED_HH
from bench.build_dataset import clone_postgres_database
from bench.build_dataset import drop_postgres_database
from bench.filter_mix import MixEntry
from bench.stats_speed import get_process_rss_mb
from services.db import make_engine
from services.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

USER_PASSWORD = "bench-Load-2026-pass"
STATS_OUTPUT = "analytics-cards.children"
THINK_SECONDS = 5.0
REQUEST_TIMEOUT = 60
# The first request of a worker loads the dataset: minutes at 1M on a busy
# machine. gunicorn must not kill that worker, nor the client give up.
COLD_TIMEOUT = 900
READY_TIMEOUT = 180
REFRESH_TIMEOUT = 900
AFTER_REFRESH_SECONDS = 15


class LoadTestError(Exception):
    """The load test could not start: server, login or callback discovery."""


@dataclass
class Sample:
    phase: str
    seconds: float
    status: int
    outcome: str  # ok, maintenance or error


@dataclass
class LoadReport:
    """What the load test saw, per phase, plus the workers' memory."""

    users: int
    access: str
    route: str
    cold_first_seconds: float
    samples: list[Sample] = field(default_factory=list)
    worker_rss_mb: list[float] = field(default_factory=list)
    refresh_exit: int | None = None
    refresh_seconds: float = 0.0
    error_examples: list[str] = field(default_factory=list)

    def phase_samples(self, phase: str) -> list[Sample]:
        return [s for s in self.samples if s.phase == phase]

    def latency(self, phase: str, q: float) -> float | None:
        ok = [s.seconds for s in self.phase_samples(phase) if s.outcome == "ok"]
        return float(np.percentile(ok, q)) if ok else None

    def count(self, phase: str, outcome: str) -> int:
        return sum(1 for s in self.phase_samples(phase) if s.outcome == outcome)


# --- processes ----------------------------------------------------------------------


def find_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(url: str, instance_dir: Path, hh_url: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        INSTANCE_DIR=str(instance_dir),
        SECRET_KEY="bench-load-secret",
        HH_API_URL=hh_url,
        PUBLIC_DASHBOARD="false",
        REGISTRATION_OPEN="false",
        HH_USER_AGENT="HHBench/1.0 (bench@example.org)",
    )
    return env


def start_gunicorn(env: dict, port: int, log_path: Path) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--timeout",
        str(COLD_TIMEOUT),
        "app:server",
    ]
    log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - owned by the child
    return subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def wait_until_ready(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise LoadTestError(f"gunicorn exited with {server.returncode}")
        try:
            if requests.get(f"{base}/healthz", timeout=10).status_code == 200:
                return
        except requests.RequestException:
            # Workers still importing the app: keep waiting.
            pass
        time.sleep(0.5)
    raise LoadTestError(f"gunicorn did not answer /healthz within {READY_TIMEOUT} s")


def start_fake_hh(vacancies: int, days: int) -> tuple[subprocess.Popen, str]:
    """A fake hh.ru on a free loopback port serving `vacancies` synthetic items."""
    command = [sys.executable, "-m", "tests.fakehh", "--port", "0"]
    command += ["--synthetic", str(vacancies), "--days", str(days), "--seed", "3"]
    if SHARED_HH.is_dir():
        command += ["--shared", str(SHARED_HH)]
    fake = subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
    )
    first_line = fake.stdout.readline()
    if not first_line:
        raise LoadTestError("the fake hh.ru server did not start")
    return fake, json.loads(first_line)["url"]


def stop_process(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def get_worker_pids(master_pid: int) -> list[int]:
    """gunicorn's workers: the processes whose parent is the master."""
    workers = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == master_pid:
            workers.append(int(entry.name))
    return sorted(workers)


# --- users --------------------------------------------------------------------------


def save_bench_users(url: str, count: int) -> list[str]:
    """Create `count` user accounts in the load database; return their logins."""
    engine = make_engine(url)
    logins = [f"bench_user_{n:02d}" for n in range(count)]
    try:
        with Session(engine) as session:
            for login in logins:
                save_new_user(session, login, USER_PASSWORD)
            session.commit()
    finally:
        engine.dispose()
    return logins


def log_in(base: str, login: str) -> requests.Session:
    """A browser-like session logged in through the login form."""
    client = requests.Session()
    page = client.get(f"{base}/login", timeout=REQUEST_TIMEOUT)
    token = client.cookies.get("_csrf_token")
    if token is None:
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        token = found.group(1) if found else ""
    answer = client.post(
        f"{base}/login",
        data={"login": login, "password": USER_PASSWORD, "csrf_token": token},
        headers={"Origin": base},
        timeout=REQUEST_TIMEOUT,
        allow_redirects=False,
    )
    if answer.status_code not in (302, 303):
        raise LoadTestError(f"login of {login} answered {answer.status_code}")
    client.headers.update({"Origin": base, "Referer": f"{base}/"})
    return client


@dataclass(frozen=True)
class StatsCallback:
    """The statistics callback of the analytics page as Dash declares it."""

    output: str
    outputs: list[dict]

    def payload(self, filters_search: str) -> dict:
        return {
            "output": self.output,
            "outputs": self.outputs,
            "inputs": [
                {"id": "app-url", "property": "search", "value": filters_search}
            ],
            "state": [{"id": "app-theme", "property": "data", "value": "light"}],
            "changedPropIds": ["app-url.search"],
        }


def get_stats_callback(base: str, client: requests.Session) -> StatsCallback:
    """Find the callback that fills the analytics cards in /_dash-dependencies."""
    answer = client.get(f"{base}/_dash-dependencies", timeout=REQUEST_TIMEOUT)
    answer.raise_for_status()
    for dependency in answer.json():
        output = dependency["output"]
        if STATS_OUTPUT in output:
            parts = output.strip(".").split("...")
            outputs = [
                {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
                for part in parts
            ]
            return StatsCallback(output, outputs)
    raise LoadTestError(f"no Dash callback outputs {STATS_OUTPUT}")


def post_selection(
    base: str,
    client: requests.Session,
    callback: StatsCallback,
    entry: MixEntry,
    timeout: float = REQUEST_TIMEOUT,
) -> tuple[float, int, str]:
    """One filter change; returns seconds, HTTP status and its outcome."""
    search = "?" + urlencode(entry.filters.to_query())
    headers = {"X-CSRFToken": client.cookies.get("_csrf_token") or ""}
    started = time.perf_counter()
    try:
        answer = client.post(
            f"{base}/_dash-update-component",
            json=callback.payload(search),
            headers=headers,
            timeout=timeout,
        )
    except requests.RequestException as error:
        return time.perf_counter() - started, 0, f"error: {error}"
    seconds = time.perf_counter() - started
    if answer.status_code == 200 and '"response"' in answer.text[:200]:
        return seconds, 200, "ok"
    if answer.status_code == 503 and "maintenance" in answer.text:
        return seconds, 503, "maintenance"
    return seconds, answer.status_code, f"error: {answer.text[:200]}"


# --- the run ------------------------------------------------------------------------


@dataclass
class UserLoop:
    """One user's filter changes until `stop` is set or `limit` is reached."""

    base: str
    client: requests.Session
    callback: StatsCallback
    mix: list[MixEntry]
    seed: int
    report: LoadReport
    lock: threading.Lock
    phase: list[str]
    stop: threading.Event
    limit: int

    def run(self) -> None:
        rnd = random.Random(self.seed)
        for _ in range(self.limit):
            if self.stop.wait(rnd.expovariate(1 / THINK_SECONDS)):
                return
            phase = self.phase[0]
            seconds, status, outcome = post_selection(
                self.base, self.client, self.callback, rnd.choice(self.mix)
            )
            kind = outcome if outcome in ("ok", "maintenance") else "error"
            with self.lock:
                self.report.samples.append(Sample(phase, seconds, status, kind))
                if kind == "error" and len(self.report.error_examples) < 5:
                    self.report.error_examples.append(f"{status} {outcome}")


def run_load_test(
    source_database: str,
    mix: list[MixEntry],
    users: int,
    steady_seconds: float,
    refresh_vacancies: int,
    work_dir: Path,
) -> LoadReport:
    """Both phases on a copy of `source_database`; the copy is dropped after."""
    work_dir.mkdir(parents=True, exist_ok=True)
    load_database = f"{source_database}_load"
    url = clone_postgres_database(source_database, load_database)
    fake = server = None
    try:
        logins = save_bench_users(url, users)
        fake, hh_url = start_fake_hh(refresh_vacancies, days=2)
        env = server_environment(url, work_dir, hh_url)
        port = find_free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_gunicorn(env, port, work_dir / "gunicorn.log")
        wait_until_ready(base, server)
        clients = [log_in(base, login) for login in logins]
        callback = get_stats_callback(base, clients[0])

        report = LoadReport(
            users=users,
            access="logged-in users (PUBLIC_DASHBOARD=false)",
            route="/_dash-update-component (analytics statistics callback)",
            cold_first_seconds=_warm_up(base, clients, callback, mix),
        )
        _run_phases(base, clients, callback, mix, report, env, steady_seconds)
        report.worker_rss_mb = [
            get_process_rss_mb(p) for p in get_worker_pids(server.pid)
        ]
        return report
    finally:
        stop_process(server)
        stop_process(fake)
        drop_postgres_database(load_database)


def _warm_up(base, clients, callback, mix) -> float:
    """The first request is cold (the worker loads the dataset); then warm both."""
    seconds, status, outcome = post_selection(
        base, clients[0], callback, mix[0], COLD_TIMEOUT
    )
    if outcome != "ok":
        raise LoadTestError(f"the first statistics request failed: {outcome}")
    threads = [
        threading.Thread(
            target=post_selection, args=(base, c, callback, mix[0], COLD_TIMEOUT)
        )
        for c in clients[:6]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seconds


def _run_phases(base, clients, callback, mix, report, env, steady_seconds) -> None:
    stop = threading.Event()
    phase = ["steady"]
    lock = threading.Lock()
    loops = [
        UserLoop(base, c, callback, mix, n, report, lock, phase, stop, limit=10_000)
        for n, c in enumerate(clients)
    ]
    threads = [threading.Thread(target=loop.run, daemon=True) for loop in loops]
    for thread in threads:
        thread.start()

    time.sleep(steady_seconds)
    phase[0] = "refresh"
    started = time.monotonic()
    log = open(Path(env["INSTANCE_DIR"]) / "refresh.log", "w", encoding="utf-8")  # noqa: SIM115
    refresh = subprocess.Popen(
        [sys.executable, "-m", "etl.refresh", "--days", "2", "--rate", "200"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        report.refresh_exit = refresh.wait(timeout=REFRESH_TIMEOUT)
    except subprocess.TimeoutExpired:
        stop_process(refresh)
        report.refresh_exit = None
    report.refresh_seconds = time.monotonic() - started
    time.sleep(AFTER_REFRESH_SECONDS)
    stop.set()
    for thread in threads:
        thread.join(timeout=REQUEST_TIMEOUT + 5)

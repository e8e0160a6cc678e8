"""Real-browser fixtures: the demo course served by ``python app.py`` (eventlet) in a
subprocess, Debian's Chromium driven by Playwright, one browser context per person.

Nothing here imports eventlet: the server runs in its own process, started the way
``make run`` starts it, and is stopped by its own PID.

When Chromium or Playwright is missing the tests skip and say what is missing; under
``CI=true`` they fail instead, so a CI machine cannot silently run without them.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.live_server import copy_of_demo_database

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "test-results"
HOST = "127.0.0.1"
DEBIAN_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
]
TIMEOUT_MS = 15_000
SERVER_START_SECONDS = 60


def missing(what: str):
    """Skip the test naming what is missing; under CI=true, fail instead."""
    message = f"browser tests need {what}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def chromium_path() -> str | None:
    """Debian's Chromium; without root (where it cannot be installed) one found on the PATH."""
    if os.path.exists(DEBIAN_CHROMIUM):
        return DEBIAN_CHROMIUM
    if os.geteuid() != 0:
        for name in ("chromium", "chromium-browser", "google-chrome"):
            found = shutil.which(name)
            if found:
                return found
    return None


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log_path: Path
    database: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def query(self, sql: str, *params) -> list[tuple]:
        """Read the server's database file directly (ground truth for ids and stored rows)."""
        with sqlite3.connect(self.database) as connection:
            return connection.execute(sql, params).fetchall()

    def one(self, sql: str, *params):
        """The single value a query returns."""
        rows = self.query(sql, *params)
        assert len(rows) == 1 and len(rows[0]) == 1, rows
        return rows[0][0]


def server_env(database: Path, port: int) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        SECRET_KEY="e2e-secret-key-for-the-browser-tests-only",
        COLLOQUY_ENV="development",
        SOCKETIO_ASYNC_MODE="eventlet",
        SOCKETIO_MESSAGE_QUEUE="",
        HOST=HOST,
        PORT=str(port),
        LOGIN_RATE_LIMIT="10000 per minute",
        PYTHONUNBUFFERED="1",
    )
    return env


def _wait_until_serving(server: LiveServer) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited with {server.process.returncode}:\n{server.log()}", pytrace=False)
        try:
            with urllib.request.urlopen(server.url + "/login", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    pytest.fail(f"the server did not answer /login within {SERVER_START_SECONDS} s:\n{server.log()}", pytrace=False)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """``python app.py`` with eventlet on a free loopback port, serving the demo course."""
    workdir = tmp_path_factory.mktemp("e2e-server")
    database = workdir / "colloquy.sqlite3"
    log_path = workdir / "server.log"
    port = free_port()
    env = server_env(database, port)
    copy_of_demo_database(database)  # as ``make db`` leaves it: migrated, the demo course loaded
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    server = LiveServer(f"http://{HOST}:{port}", process, log_path, database)
    try:
        _wait_until_serving(server)
        yield server
    finally:
        _stop(process)


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium through Playwright's sync API (no browser download)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright Python package (pip install -r requirements-dev.txt)")
    executable = chromium_path()
    if executable is None:
        missing(f"Chromium at {DEBIAN_CHROMIUM} (make system-test-deps installs it)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Person:
    """One person in their own browser context, with what went wrong in their pages."""

    email: str
    base_url: str
    page: object
    shots: Path
    problems: list[str] = field(default_factory=list)
    expected_errors: set[str] = field(default_factory=set)

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, path: str):
        """Open a page of the app and wait until it has loaded."""
        return self.page.goto(self.url(path), wait_until="load")

    def expect_error_at(self, path: str) -> None:
        """The test opens ``path`` expecting an error status: not a problem for this page."""
        self.expected_errors.add(self.url(path))

    def screenshot(self, name: str) -> Path:
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{self.email.split('@')[0]}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def assert_no_problems(self) -> None:
        assert not self.problems, f"{self.email}: " + "\n".join(self.problems)

    # -- collectors

    def _expected(self, url: str) -> bool:
        return url.split("#")[0] in self.expected_errors

    def on_console(self, message) -> None:
        """Console errors include CSP violations and resources that failed to load."""
        if message.type == "error" and not self._expected(message.location.get("url", "")):
            self.problems.append(f"console error: {message.text} ({message.location.get('url')})")

    def on_page_error(self, error) -> None:
        self.problems.append(f"uncaught script error: {error}")

    def on_request_failed(self, request) -> None:
        # ERR_ABORTED: the page moved on (a click) before a request of the old page finished.
        if not self._expected(request.url) and "ERR_ABORTED" not in (request.failure or ""):
            self.problems.append(f"request failed: {request.method} {request.url} {request.failure}")

    def on_response(self, response) -> None:
        if response.status >= 400 and not self._expected(response.url):
            self.problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")


def _watch(person: Person) -> None:
    page = person.page
    page.on("console", person.on_console)
    page.on("pageerror", person.on_page_error)
    page.on("requestfailed", person.on_request_failed)
    page.on("response", person.on_response)


def log_in(person: Person, password: str) -> None:
    """Log in through the form, as a person would."""
    page = person.page
    person.goto("/login")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def new_person(browser, live_server, request):
    """``new_person(email)`` → a logged-in Person in a fresh browser context (own cookies).

    At the end of the test every person's pages must have had no console errors, no failed
    requests and no error answers the test did not ask for.
    """
    from demo import course as demo

    people: list[Person] = []
    contexts = []
    shots = RESULTS / re.sub(r"[^\w.-]+", "_", request.node.name)

    def make(email: str, password: str = demo.DEMO_PASSWORD) -> Person:
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        person = Person(email=email, base_url=live_server.url, page=context.new_page(), shots=shots)
        _watch(person)
        log_in(person, password)
        people.append(person)
        return person

    yield make
    for context in contexts:
        context.close()
    problems = [p for person in people for p in person.problems]
    call = getattr(request.node, "rep_call", None)
    if problems and call is not None and call.passed:
        pytest.fail("problems in the browser:\n" + "\n".join(problems), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so teardown knows whether the test passed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)

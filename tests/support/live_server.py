"""Real servers for tests: ``python app.py`` in a subprocess on a migrated temporary SQLite
database, HTTP logins through the real form, and python-socketio clients in namespace /panel.

Nothing here imports eventlet or gevent: each server picks its async mode in its own process.
"""
from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import closing, contextmanager
from functools import cache
from pathlib import Path

import pytest
import requests
import socketio

ROOT = Path(__file__).resolve().parents[2]
NS = "/panel"
PASSWORD = "restart test password"
WAIT = 20  # seconds: the bound on every wait against a real server
PUBLIC = ("queued", "live", "answered")

# One course with an instructor, a presenting author and three critics; prints the room id and e-mails.
SETUP = r"""
import json, sys
from datetime import timedelta
from app import create_app
from core.extensions import db
from models import *
from core.passwords import hash_password
from core.timeutil import now_utc
from domain.panel.commands import room_for

app = create_app()
with app.app_context():
    pw = hash_password(sys.argv[1])
    course = Course(code="CS700", title="Serving Seminar")
    db.session.add(course)
    people = {}
    for key, name, role in [("mod", "Mona Moderator", "instructor"), ("author", "Abe Author", "student"),
                            ("c1", "Cora Critic", "student"), ("c2", "Cyd Critic", "student"),
                            ("c3", "Cal Critic", "student")]:
        user = User(email=key + "@example.edu", display_name=name, password_hash=pw)
        db.session.add(user)
        db.session.add(Enrollment(user=user, course=course, role=role))
        people[key] = user
    paper = Paper(course=course, title="Paged attention")
    session = ClassSession(course=course, starts_at=now_utc() + timedelta(days=1))
    db.session.add_all([paper, session])
    db.session.flush()
    p = Presentation(course=course, session=session, paper=paper, slot=1,
                     review_deadline=now_utc() + timedelta(hours=1))
    db.session.add(p)
    db.session.flush()
    db.session.add(PresentationMember(course_id=course.id, presentation=p, user=people["author"],
                                      kind="presenting", seat=1))
    db.session.commit()
    room = room_for(p)
    db.session.commit()
    print(json.dumps({"room_id": room.id, "course_id": course.id, "presentation_id": p.id,
                      "emails": {k: u.email for k, u in people.items()},
                      "ids": {k: u.id for k, u in people.items()}}))
"""


def missing(what: str):
    """Skip the test naming what is missing; under CI=true, fail instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing (scripts/install_test_system_deps.sh installs it)", pytrace=False)
    pytest.skip(f"{what} is missing: install it (scripts/install_test_system_deps.sh) to run this test")


def program(name: str) -> str:
    """The path of a program on the PATH, or skip (fail under CI) naming it."""
    path = shutil.which(name)
    if path is None:
        missing(name)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def server_env(database: Path, **overrides: str) -> dict:
    """Environment for the app on this SQLite file; add PORT and SOCKETIO_ASYNC_MODE per server."""
    return {
        **os.environ,
        "COLLOQUY_ENV": "development",
        "SECRET_KEY": "restart-test-secret-key-0123456789",
        "DATABASE_URL": f"sqlite:///{database}",
        "HOST": "127.0.0.1",
        "SOCKETIO_MESSAGE_QUEUE": "",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "QUESTION_RATE": "100/60",
        "VOTE_RATE": "100/60",
        "PYTHONUNBUFFERED": "1",
        **overrides,
    }


def _flask(cli_env: dict, *args: str) -> None:
    """``flask --app app <args>`` in a subprocess; its output is the failure's message."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=cli_env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}"


@cache
def _migrated_sqlite_file() -> Path:
    """A SQLite file that ``flask db upgrade`` brought from empty to head, made once per test process."""
    folder = Path(tempfile.mkdtemp(prefix="colloquy-migrated-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "migrated.sqlite3"
    _flask(server_env(path, SOCKETIO_ASYNC_MODE="threading"), "db", "upgrade")
    _fold_wal(path)
    return path


@cache
def _demo_sqlite_file() -> Path:
    """A SQLite file prepared as ``make db`` prepares one (migrated, the demo course loaded),
    made once per test process."""
    folder = Path(tempfile.mkdtemp(prefix="colloquy-demo-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "demo.sqlite3"
    env = server_env(path, SOCKETIO_ASYNC_MODE="threading")
    _flask(env, "db", "upgrade")
    _flask(env, "seed-demo", "--if-empty")
    _fold_wal(path)
    return path


def copy_of_demo_database(path: Path) -> Path:
    """A new SQLite file at ``path`` holding the migrated schema and the demo course."""
    shutil.copyfile(_demo_sqlite_file(), path)
    return path


def _fold_wal(path: Path) -> None:
    """Checkpoint the WAL into the database file, so the file can be copied alone."""
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _new_sqlite_file(env: dict) -> Path | None:
    """The SQLite file of ``env``'s DATABASE_URL when it does not exist yet, else None."""
    url = env["DATABASE_URL"]
    if not url.startswith("sqlite:///"):
        return None
    path = Path(url.removeprefix("sqlite:///"))
    return None if path.exists() else path


def prepare_database(env: dict) -> dict:
    """``flask db upgrade`` (a copy of its result, on a new SQLite file) and the SETUP cast;
    returns room_id, course_id, presentation_id, emails, ids."""
    cli_env = {**env, "SOCKETIO_ASYNC_MODE": "threading", "SOCKETIO_MESSAGE_QUEUE": ""}
    new_file = _new_sqlite_file(env)
    if new_file is None:
        _flask(cli_env, "db", "upgrade")
    else:
        shutil.copyfile(_migrated_sqlite_file(), new_file)
    setup = subprocess.run([sys.executable, "-c", SETUP, PASSWORD], cwd=ROOT, env=cli_env, check=True,
                           capture_output=True, text=True, timeout=120)
    return json.loads(setup.stdout.strip().splitlines()[-1])


class Server:
    """``python app.py`` in a subprocess on a fixed port and database."""

    def __init__(self, env: dict, log: Path):
        self.env, self.log, self.proc = env, log, None
        self.base = f"http://127.0.0.1:{env['PORT']}"

    def start(self):
        self.launch()
        self.wait_up()

    def launch(self):
        """Start the process without waiting (several servers can then boot at once)."""
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT)

    def wait_up(self, timeout: float = 40):
        wait_until(self._up, f"the server on {self.base} (log: {self.log})", timeout=timeout)

    def _up(self):
        if self.proc.poll() is not None:
            raise AssertionError("server exited:\n" + self.log.read_text()[-3000:])
        try:
            return requests.get(self.base + "/login", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def kill(self):
        """kill -9: no shutdown handler runs."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=WAIT)


@contextmanager
def serving(tmp_path: Path, async_mode: str):
    """One server on a fresh database with the SETUP cast (as ``server.data``), killed afterwards."""
    env = server_env(tmp_path / "panel.sqlite3", PORT=str(free_port()), SOCKETIO_ASYNC_MODE=async_mode)
    server = Server(env, tmp_path / "server.log")
    server.data = prepare_database(env)
    try:
        server.start()
        yield server
    finally:
        server.kill()


def csrf_token(http: requests.Session, url: str) -> str:
    """The CSRF token of the form on the page at ``url``."""
    page = http.get(url, timeout=WAIT)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)


def login(base: str, email: str) -> requests.Session:
    """Log in through the real form, with its CSRF token."""
    http = requests.Session()
    token = csrf_token(http, base + "/login")
    resp = http.post(base + "/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                     allow_redirects=False, timeout=WAIT)
    assert resp.status_code == 302, resp.text[:500]
    return http


def cookie_header(http: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


class Participant:
    """A python-socketio client keeping the room state it was told about, and every event in order."""

    def __init__(self, base: str, http: requests.Session, room_id: int):
        self.base, self.http, self.room_id = base, http, room_id
        self.questions: dict[int, dict] = {}
        self.updated_at: dict[int, int] = {}
        self.seq = 0
        self.snapshots = 0
        self.log: list[tuple[str, object]] = []
        self.lock = threading.Lock()
        self.client = None

    def connect(self):
        self.client = socketio.Client(reconnection=False, http_session=self.http)
        self.client.on("snapshot", self._snapshot, namespace=NS)
        self.client.on("question", self._question, namespace=NS)
        self.client.on("question_removed", self._removed, namespace=NS)
        self.client.on("*", self._other, namespace=NS)
        self.client.connect(self.base, namespaces=[NS], transports=["websocket"],
                            headers={"Cookie": cookie_header(self.http)}, wait_timeout=WAIT)
        ack = self.call("join", {"room_id": self.room_id, "last_seq": self.seq or None})
        assert ack["ok"], ack
        return ack

    def call(self, event: str, payload: dict):
        return self.client.call(event, payload, namespace=NS, timeout=WAIT)

    def act(self, event: str, cid: str | None = None, **payload):
        return self.call(event, {"room_id": self.room_id, "cid": cid or uuid.uuid4().hex, **payload})

    def close(self):
        if self.client is not None:
            try:
                self.client.disconnect()
            except Exception:
                pass

    def events(self, name: str) -> list:
        """Payloads of one event received so far, oldest first."""
        with self.lock:
            return [data for event, data in self.log if event == name]

    def question_events(self, question_id: int) -> list[dict]:
        """The ``question`` events about one question received so far."""
        return [e for e in self.events("question") if e["question"]["id"] == question_id]

    def _record(self, event: str, data) -> None:
        self.log.append((event, data))

    def _other(self, event, data=None):
        with self.lock:
            self._record(event, data)

    def _snapshot(self, data):
        with self.lock:
            self._record("snapshot", data)
            self.questions = {q["id"]: q for q in data["questions"]}
            self.updated_at = {q["id"]: data["seq"] for q in data["questions"]}
            self.seq = max(self.seq, data["seq"]) if self.snapshots else data["seq"]
            self.snapshots += 1

    def _question(self, data):
        q = data["question"]
        with self.lock:
            self._record("question", data)
            if data["seq"] >= self.updated_at.get(q["id"], 0):
                self.questions[q["id"]] = {**self.questions.get(q["id"], {}), **q}
                self.updated_at[q["id"]] = data["seq"]
            self.seq = max(self.seq, data["seq"])

    def _removed(self, data):
        with self.lock:
            self._record("question_removed", data)
            self.questions.pop(data["question_id"], None)
            self.seq = max(self.seq, data["seq"])

    def public_view(self):
        """What every critic must agree on: the public questions, their text, state and votes."""
        with self.lock:
            return sorted(
                (q["id"], q["text"], q["state"], q["votes"]) for q in self.questions.values() if q["state"] in PUBLIC
            )

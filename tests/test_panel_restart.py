"""Restart safety: a real eventlet server is killed mid-panel and restarted; clients converge.

The server runs as ``python app.py`` in a subprocess (eventlet never enters this process), on a
temporary SQLite database migrated with ``flask db upgrade``. Clients are python-socketio
clients carrying the session cookies of an HTTP login (through the real form and CSRF token).
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
import socketio

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NS = "/panel"
PASSWORD = "restart test password"
WAIT = 20  # seconds: the bound on every wait in this file
PUBLIC = ("queued", "live", "answered")

SETUP = r"""
import json, sys
from datetime import timedelta
from app import create_app
from extensions import db
from models import *
from passwords import hash_password
from timeutil import now_utc
from blueprints.panel.service import room_for

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
    print(json.dumps({"room_id": room.id, "emails": {k: u.email for k, u in people.items()}}))
"""


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


class Server:
    """``python app.py`` in a subprocess on a fixed port and database."""

    def __init__(self, env: dict, log: Path):
        self.env, self.log, self.proc = env, log, None
        self.base = f"http://127.0.0.1:{env['PORT']}"

    def start(self):
        out = open(self.log, "ab")
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=self.env,
                                     stdout=out, stderr=subprocess.STDOUT)
        wait_until(self._up, f"the server on {self.base} (log: {self.log})", timeout=40)

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


def login(base: str, email: str) -> requests.Session:
    """Log in through the real form, with its CSRF token."""
    http = requests.Session()
    page = http.get(base + "/login", timeout=WAIT)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    resp = http.post(base + "/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                     allow_redirects=False, timeout=WAIT)
    assert resp.status_code == 302, resp.text[:500]
    return http


class Participant:
    """A python-socketio client keeping the room state it was told about."""

    def __init__(self, base: str, http: requests.Session, room_id: int):
        self.base, self.http, self.room_id = base, http, room_id
        self.questions: dict[int, dict] = {}
        self.updated_at: dict[int, int] = {}
        self.seq = 0
        self.snapshots = 0
        self.lock = threading.Lock()
        self.client = None

    def connect(self):
        self.client = socketio.Client(reconnection=False, http_session=self.http)
        self.client.on("snapshot", self._snapshot, namespace=NS)
        self.client.on("question", self._question, namespace=NS)
        self.client.on("question_removed", self._removed, namespace=NS)
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        self.client.connect(self.base, namespaces=[NS], transports=["websocket"],
                            headers={"Cookie": cookie}, wait_timeout=WAIT)
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

    def _snapshot(self, data):
        with self.lock:
            self.questions = {q["id"]: q for q in data["questions"]}
            self.updated_at = {q["id"]: data["seq"] for q in data["questions"]}
            self.seq = max(self.seq, data["seq"]) if self.snapshots else data["seq"]
            self.snapshots += 1

    def _question(self, data):
        q = data["question"]
        with self.lock:
            if data["seq"] >= self.updated_at.get(q["id"], 0):
                self.questions[q["id"]] = {**self.questions.get(q["id"], {}), **q}
                self.updated_at[q["id"]] = data["seq"]
            self.seq = max(self.seq, data["seq"])

    def _removed(self, data):
        with self.lock:
            self.questions.pop(data["question_id"], None)
            self.seq = max(self.seq, data["seq"])

    def public_view(self):
        """What every critic must agree on: the public questions, their text, state and votes."""
        with self.lock:
            return sorted(
                (q["id"], q["text"], q["state"], q["votes"]) for q in self.questions.values() if q["state"] in PUBLIC
            )


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "COLLOQUY_ENV": "development",
        "SECRET_KEY": "restart-test-secret-key-0123456789",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'panel.sqlite3'}",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "QUESTION_RATE": "100/60",
        "VOTE_RATE": "100/60",
        "PYTHONUNBUFFERED": "1",
    }
    cli_env = {**env, "SOCKETIO_ASYNC_MODE": "threading"}
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=cli_env,
                   check=True, capture_output=True, timeout=120)
    setup = subprocess.run([sys.executable, "-c", SETUP, PASSWORD], cwd=ROOT, env=cli_env, check=True,
                           capture_output=True, text=True, timeout=120)
    data = json.loads(setup.stdout.strip().splitlines()[-1])
    srv = Server({**env, "SOCKETIO_ASYNC_MODE": "eventlet"}, tmp_path / "server.log")
    srv.data = data
    srv.start()
    yield srv
    srv.kill()


def test_kill_and_restart_clients_converge(server):
    room_id, emails = server.data["room_id"], server.data["emails"]
    sessions = {key: login(server.base, email) for key, email in emails.items()}
    people = {key: Participant(server.base, http, room_id) for key, http in sessions.items()}
    try:
        for p in people.values():
            p.connect()
        mod, c1, c2, c3 = people["mod"], people["c1"], people["c2"], people["c3"]

        # part of a panel
        assert mod.act("phase", phase="panel")["ok"]
        asked = [c.act("ask", text=f"Question {n} from {k}?")["question_id"]
                 for n, (k, c) in enumerate([("c1", c1), ("c2", c2), ("c3", c3)])]
        for qid in asked[:2]:
            assert mod.act("approve", question_id=qid, version=1)["ok"]
        for voter in (c2, c3, people["author"]):
            assert voter.act("vote", question_id=asked[0])["ok"]
        assert mod.act("set_live", question_id=asked[1], version=2)["ok"]
        retried_cid = "ask-before-the-crash"
        first_ack = c3.act("ask", cid=retried_cid, text="Asked right before the crash?")
        assert first_ack["ok"]
        wait_until(lambda: c1.public_view() == c2.public_view() == c3.public_view(), "critics to agree")
        before = c1.public_view()
        assert len(before) == 2

        server.kill()
        wait_until(lambda: not any(p.client.connected for p in people.values()), "clients to notice")
        server.start()

        # the moderator is back first and changes things the critics have not seen yet
        mod.connect()
        assert mod.act("approve", question_id=asked[2], version=1)["ok"]
        assert mod.act("approve", question_id=first_ack["question_id"], version=1)["ok"]
        assert mod.act("mark_answered", question_id=asked[1], version=3)["ok"]

        # the critics reconnect with the last seq they saw, and c3 retries the lost-ack ask
        for key in ("c1", "c2", "c3", "author"):
            ack = people[key].connect()
            assert ack["seq"] > people[key].seq or people[key].snapshots >= 2
        again = c3.act("ask", cid=retried_cid, text="Asked right before the crash?")
        assert again == first_ack

        for key in ("c1", "c2", "c3", "author"):
            wait_until(lambda key=key: people[key].snapshots >= 2, f"{key}'s snapshot after the restart")
        # one more change after reconnection reaches everyone live
        assert c1.act("vote", question_id=asked[2])["ok"]
        expected = wait_until(
            lambda: c1.public_view() if c1.public_view() == c2.public_view() == c3.public_view()
            == people["author"].public_view() and any(v == 1 for _, _, s, v in c1.public_view() if s == "queued")
            else None,
            "critics and authors to converge",
        )
        late = Participant(server.base, sessions["c2"], room_id)
        late.connect()
        wait_until(lambda: late.snapshots == 1, "a fresh snapshot")
        assert late.public_view() == expected

        texts = [text for _, text, _, _ in expected]
        assert texts.count("Asked right before the crash?") == 1  # not lost, not duplicated
        assert {qid: state for qid, _, state, _ in expected} == {
            asked[0]: "queued", asked[1]: "answered", asked[2]: "queued", first_ack["question_id"]: "queued"}
        assert {qid: votes for qid, _, _, votes in expected}[asked[0]] == 3
        late.close()
        assert "Traceback" not in server.log.read_text()
    finally:
        for p in people.values():
            p.close()


def test_real_server_refuses_foreign_origins_and_survives_hostile_payloads(server):
    room_id, emails = server.data["room_id"], server.data["emails"]
    http = login(server.base, emails["c1"])
    url = server.base + "/socket.io/?EIO=4&transport=polling"
    assert requests.get(url, headers={"Origin": "https://evil.example"}, timeout=WAIT).status_code == 400
    assert requests.get(url, headers={"Origin": server.base}, timeout=WAIT).status_code == 200

    hostile, bystander = Participant(server.base, http, room_id), Participant(
        server.base, login(server.base, emails["c2"]), room_id)
    try:
        hostile.connect()
        bystander.connect()
        mod = Participant(server.base, login(server.base, emails["mod"]), room_id)
        mod.connect()
        assert mod.act("phase", phase="panel")["ok"]
        assert hostile.act("ask", text="x" * 501)["error"] == "invalid"
        assert hostile.call("vote", "not an object")["error"] == "invalid"
        assert hostile.act("approve", question_id=1, version=1)["error"] in ("forbidden", "not_found")
        # above the engine's limit: the server closes that connection (or answers too_large)
        try:
            ack = hostile.act("ask", text="Why?", padding="y" * 100_000)
            assert ack["error"] == "too_large"
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
            wait_until(lambda: not hostile.client.connected, "the oversized sender to be cut off")
        # everyone else is still served
        assert bystander.act("ask", text="Still working?")["ok"]
        mod.close()
        assert "Traceback" not in server.log.read_text()
    finally:
        hostile.close()
        bystander.close()

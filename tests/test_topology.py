"""The production topology of SPEC §8, end to end: PostgreSQL, Redis, three app processes and
nginx with the repository's own site file (``deploy/nginx/colloquy.conf``).

Every part is a real server started on 127.0.0.1 and stopped by its PID: the test session's
throwaway PostgreSQL cluster (tests/support/pg.py, with a database of this module's own), ``redis-server`` (the Socket.IO queue in db 0, the
rate limits in db 1), three ``python app.py`` processes (eventlet, ``TRUSTED_PROXIES=1``) and
nginx in front of them. Every HTTP request and socket goes through nginx; a client is pinned to
a process by the route cookie the site file hashes (the access log says which process served
which route; it logs a websocket when it closes). The python-socketio client sends the Origin a browser would, so a socket is only
accepted when nginx passes the browser's Host on.

Without redis-server, nginx or PostgreSQL's binaries the tests skip and say so; under CI=true
they fail.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import socketio

from tests.support.live_server import (
    PASSWORD,
    ROOT,
    WAIT,
    Participant,
    Server,
    csrf_token,
    missing,
    prepare_database,
    server_env,
    wait_until,
)
from tests.support.panel import RedisServer
from tests.support.topology import ROUTE_COOKIE, Nginx, free_port, nginx_binary, redis_binary

pytestmark = pytest.mark.slow

PROCESSES = ("a", "b", "c")
CLASS_SIZE = 15
LOGIN_LIMIT = 10
OUTAGE_SECONDS = 5
# After a part comes back, how long a client may take to show the stored state.
CONVERGE_SECONDS = 10
# Three processes importing at once on a busy 2-core machine.
START_SECONDS = 120

# Students beyond SETUP's cast: a class that logs in at once, and one account a guesser attacks.
STUDENTS = r"""
import json, sys
from app import create_app
from core.extensions import db
from core.passwords import hash_password
from models import Course, Enrollment, User

app = create_app()
with app.app_context():
    course = db.session.get(Course, int(sys.argv[2]))
    pw = hash_password(sys.argv[1])
    emails = []
    for n in range(int(sys.argv[3])):
        user = User(email=f"s{n:02d}@example.edu", display_name=f"Student {n:02d}", password_hash=pw)
        db.session.add_all([user, Enrollment(user=user, course=course, role="student")])
        emails.append(user.email)
    db.session.commit()
    print(json.dumps(emails))
"""


def pinned(http: requests.Session, topology: "Topology", process: str) -> requests.Session:
    """A copy of ``http``'s cookies whose requests go to ``process``."""
    copy = requests.Session()
    for cookie in http.cookies:
        if cookie.name != ROUTE_COOKIE:
            copy.cookies.set(cookie.name, cookie.value)
    copy.cookies.set(ROUTE_COOKIE, topology.routes[process])
    return copy


class Topology:
    """The started parts, the SETUP cast, and the route cookie value that reaches each process."""

    def __init__(self, cluster, redis, servers, nginx, data, students):
        self.cluster, self.redis, self.servers, self.nginx = cluster, redis, servers, nginx
        self.data, self.students = data, students
        self.base = nginx.base
        self.routes: dict[str, str] = {}
        self._sessions: dict[str, requests.Session] = {}

    def discover_routes(self) -> None:
        """A route cookie value for each process, read from nginx's access log."""
        by_address = {f"127.0.0.1:{server.env['PORT']}": name for name, server in self.servers.items()}
        for n in range(200):
            route, marker = f"probe{n}", f"probe={uuid.uuid4().hex}"
            requests.get(f"{self.base}/login?{marker}", cookies={ROUTE_COOKIE: route}, timeout=WAIT)
            name = by_address.get(wait_until(lambda: self.nginx.upstream_of(marker), "nginx to log the probe"))
            if name and name not in self.routes:
                self.routes[name] = route
            if len(self.routes) == len(self.servers):
                return
        raise AssertionError(f"no route cookie reaches every process: {self.routes}")

    def log_in(self, key: str, process: str) -> requests.Session:
        """``key`` of the cast logged in through nginx now, on ``process``."""
        http = requests.Session()
        http.cookies.set(ROUTE_COOKIE, self.routes[process])
        token = csrf_token(http, self.base + "/login")
        resp = http.post(self.base + "/login", data={"email": self.data["emails"][key], "password": PASSWORD,
                                                     "csrf_token": token}, allow_redirects=False, timeout=WAIT)
        assert resp.status_code == 302, (resp.status_code, resp.text[:500])
        return http

    def session(self, key: str, process: str) -> requests.Session:
        """``key``'s session (logged in once for the module, so only the tests about logging in
        spend login attempts), its requests pinned to ``process``."""
        if key not in self._sessions:
            self._sessions[key] = self.log_in(key, process)
        return pinned(self._sessions[key], self, process)

    def reaches(self, process: str) -> bool:
        """Whether a request on this process's route is answered by it now (read from that very
        request's access-log line, once nginx has written it)."""
        marker = f"probe={uuid.uuid4().hex}"
        requests.get(f"{self.base}/login?{marker}", cookies={ROUTE_COOKIE: self.routes[process]}, timeout=WAIT)
        upstream = wait_until(lambda: self.nginx.upstream_of(marker), "nginx to log the probe")
        return upstream == self.address(process)

    def served(self, process: str) -> bool:
        """Whether nginx's latest request on this process's route was answered by it, waiting
        briefly for the line (nginx logs a request after answering it)."""
        try:
            wait_until(lambda: self.nginx.served_by().get(self.routes[process]) == self.address(process),
                       f"the latest request on {process}'s route to be logged as served by it", 3)
        except AssertionError:
            return False
        return True

    def address(self, process: str) -> str:
        return f"127.0.0.1:{self.servers[process].env['PORT']}"


def _program(name: str, path: str | None) -> str:
    if path is None:
        missing(name)
    return path


@pytest.fixture(scope="module")
def topology(tmp_path_factory, pg_database):
    """PostgreSQL (this module's database in the session's server), Redis, processes a, b and c,
    and nginx in front; stopped by PID afterwards."""
    redis_path = _program("redis-server", redis_binary())
    nginx_path = _program("nginx", nginx_binary())
    directory = tmp_path_factory.mktemp("topology")
    cluster = pg_database
    redis = servers = proxy = None
    try:
        redis = RedisServer(redis_path, free_port(), tmp_path_factory.mktemp("redis")).start()
        env = server_env(
            directory / "unused.sqlite3",
            DATABASE_URL=cluster.url(),
            SOCKETIO_ASYNC_MODE="eventlet",
            SOCKETIO_MESSAGE_QUEUE=redis.url(0),
            RATELIMIT_STORAGE_URI=redis.url(1),
            TRUSTED_PROXIES="1",
            LOGIN_RATE_LIMIT=f"{LOGIN_LIMIT} per minute",
        )
        data = prepare_database(env)
        added = subprocess.run([sys.executable, "-c", STUDENTS, PASSWORD, str(data["course_id"]), str(CLASS_SIZE + 1)],
                               cwd=ROOT, env={**env, "SOCKETIO_ASYNC_MODE": "threading"}, check=True,
                               capture_output=True, text=True, timeout=120)
        students = json.loads(added.stdout.strip().splitlines()[-1])
        servers = {name: Server({**env, "PORT": str(free_port())}, directory / f"server-{name}.log")
                   for name in PROCESSES}
        for server in servers.values():
            server.launch()
        for server in servers.values():
            server.wait_up(START_SECONDS)
        proxy = Nginx(nginx_path, directory / "nginx", [int(s.env["PORT"]) for s in servers.values()]).start()
        world = Topology(cluster, redis, servers, proxy, data, students)
        world.discover_routes()
        yield world
    finally:
        if proxy is not None:
            proxy.stop()
        for server in (servers or {}).values():
            server.kill()
        if redis is not None:
            redis.kill()


@pytest.fixture
def people(topology):
    """``people(key, process)``: ``key`` logged in and joined to the room through nginx, on ``process``."""
    opened = []

    def connect(key: str, process: str, http: requests.Session | None = None) -> Participant:
        participant = Participant(topology.base, http or topology.session(key, process), topology.data["room_id"])
        participant.connect()
        # nginx logs a websocket when it closes; a request on the same route says where it went.
        assert topology.reaches(process), f"{key}'s route does not reach process {process}"
        opened.append(participant)
        return participant

    yield connect
    for participant in opened:
        participant.close()


def _ask(participant: Participant, text: str) -> dict:
    ack = participant.act("ask", text=text)
    assert ack["ok"], ack
    return ack


def _approve(mod: Participant, question_id: int) -> dict:
    pending = wait_until(lambda: mod.questions.get(question_id), f"question {question_id} at the moderator")
    ack = mod.act("approve", question_id=question_id, version=pending["version"])
    assert ack["ok"], ack
    return ack


def _converged(participants: list[Participant], reference: Participant, timeout: float = CONVERGE_SECONDS):
    """Every participant shows the reference's public questions (text, state, votes)."""
    def same():
        expected = reference.public_view()
        return all(p.public_view() == expected for p in participants)

    try:
        wait_until(same, "every client to show the stored state", timeout=timeout)
    except AssertionError:
        views = {id(p): p.public_view() for p in participants}
        raise AssertionError(f"not converged: reference {reference.public_view()}, clients {views}") from None


def _fresh_view(topology: Topology, process: str) -> Participant:
    """A new moderator socket's snapshot: the room as stored."""
    fresh = Participant(topology.base, topology.session("mod", process), topology.data["room_id"])
    fresh.connect()
    return fresh


def test_a_panel_across_processes_through_nginx(topology, people):
    mod, c1, c2 = people("mod", "a"), people("c1", "b"), people("c2", "c")
    assert mod.act("phase", phase="panel")["ok"]

    asked = _ask(c2, "Does a route cookie keep polling on one process?")
    approved = _approve(mod, asked["question_id"])
    voted = c1.act("vote", question_id=asked["question_id"], up=True)
    assert voted["ok"] and voted["votes"] == 1, voted
    _converged([c1, c2], mod)
    assert c2.questions[asked["question_id"]]["votes"] == 1
    assert approved["seq"] < voted["seq"]

    # The proxy gives a browser without a route cookie one of its own, and keeps every request of
    # that session on one process: Socket.IO's polling transport fails otherwise.
    http = requests.Session()
    assert http.get(topology.base + "/login", timeout=WAIT).status_code == 200
    route = http.cookies.get(ROUTE_COOKIE)
    assert route, "nginx set no route cookie"
    token = csrf_token(http, topology.base + "/login")
    resp = http.post(topology.base + "/login", data={"email": topology.data["emails"]["c3"], "password": PASSWORD,
                                                     "csrf_token": token}, allow_redirects=False, timeout=WAIT)
    assert resp.status_code == 302 and resp.headers.get("Set-Cookie", "").count(ROUTE_COOKIE) == 0
    poller = socketio.Client(reconnection=False, http_session=http)
    received = []
    poller.on("snapshot", received.append, namespace="/panel")
    try:
        poller.connect(topology.base, namespaces=["/panel"], transports=["polling"], wait_timeout=WAIT)
        ack = poller.call("join", {"room_id": topology.data["room_id"]}, namespace="/panel", timeout=WAIT)
        assert ack["ok"], ack
        wait_until(lambda: received, "the polling client's snapshot")
        assert asked["question_id"] in {q["id"] for q in received[-1]["questions"]}
    finally:
        poller.disconnect()
    served = {line for line in topology.nginx.access_log.read_text().splitlines() if f"route={route} " in line}
    assert len(served) >= 4
    assert len({line.split('upstream="')[1].split('"')[0] for line in served}) == 1, served


def test_presence_counts_the_room_across_processes(topology, people):
    mod = people("mod", "a")
    critics = [people("c1", "b"), people("c2", "c"), people("c3", "b")]

    def counted():
        latest = (mod.events("presence") or mod.events("snapshot"))[-1]
        return latest["presence"]["critic"] == len(critics) and latest

    latest = wait_until(counted, "the moderator to count every critic, on every process")
    names = {entry["name"] for entry in latest["presence_names"]}
    assert {"Cora Critic", "Cyd Critic", "Cal Critic", "Mona Moderator"} <= names
    critics[1].close()
    wait_until(lambda: mod.events("presence") and mod.events("presence")[-1]["presence"]["critic"] == 2,
               "the moderator to see a critic on another process leave")


def test_logout_on_one_process_closes_the_socket_on_another(topology, people):
    http = topology.log_in("author", "a")
    victim, bystander = people("author", "b", pinned(http, topology, "b")), people("c1", "c")

    resp = http.post(topology.base + "/logout", data={"csrf_token": csrf_token(http, topology.base + "/")},
                     allow_redirects=False, timeout=WAIT)
    assert resp.status_code == 302, resp.text[:500]
    assert topology.served("a")

    assert wait_until(lambda: victim.events("forced_logout"), "forced_logout on process b") == [{}]
    wait_until(lambda: not victim.client.connected, "process b to close the logged-out socket")
    assert bystander.client.connected and not bystander.events("forced_logout")
    assert bystander.call("join", {"room_id": topology.data["room_id"]})["ok"]


def test_a_class_logs_in_at_once_through_the_proxy(topology):
    """Fifteen students behind one address (the proxy, a campus NAT) log in within a minute; a
    guesser at one account is still stopped."""
    def log_in(email: str) -> int:
        http = requests.Session()
        token = csrf_token(http, topology.base + "/login")
        return http.post(topology.base + "/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                         allow_redirects=False, timeout=WAIT).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(5) as pool:
        statuses = list(pool.map(log_in, topology.students[:CLASS_SIZE]))
    assert time.monotonic() - started < 60
    assert statuses == [302] * CLASS_SIZE

    guesser = requests.Session()
    token = csrf_token(guesser, topology.base + "/login")
    target = topology.students[CLASS_SIZE]
    attempts = [guesser.post(topology.base + "/login", data={"email": target, "password": "wrong guess",
                                                              "csrf_token": token},
                             allow_redirects=False, timeout=WAIT).status_code for _ in range(LOGIN_LIMIT + 1)]
    assert attempts == [200] * LOGIN_LIMIT + [429]


def test_kill_9_of_one_process_mid_panel(topology, people):
    mod = people("mod", "a")
    on_b, on_c = [people("c1", "b")], [people("c2", "c"), people("c3", "c")]
    assert mod.act("phase", phase="panel")["ok"]
    before = _ask(on_c[0], "Asked before process c dies?")
    _approve(mod, before["question_id"])
    _converged(on_b + on_c, mod)

    victim = topology.servers["c"]
    try:
        victim.kill()
        for participant in on_c:
            wait_until(lambda participant=participant: not participant.client.connected,
                       "the sockets on the killed process to drop")
        after = _ask(on_b[0], "Asked while process c is gone?")
        _approve(mod, after["question_id"])
        # Each client reconnects as the browser does, through nginx with the same route cookie,
        # joining with the last seq it saw; nginx skips the dead process.
        for participant in on_c:
            participant.connect()
        _converged(on_b + on_c, mod)
        assert {before["question_id"], after["question_id"]} <= set(on_c[1].questions)
        assert not topology.reaches("c")
    finally:
        victim.launch()
        victim.wait_up(START_SECONDS)
        wait_until(lambda: topology.reaches("c"), "nginx to send process c's route to it again")


def test_redis_stopped_for_five_seconds_mid_panel(topology, people):
    mod = people("mod", "a")
    clients = [people("c1", "b"), people("c2", "c"), people("c3", "b")]
    assert mod.act("phase", phase="panel")["ok"]
    first = _ask(clients[0], "Queued before Redis stops?")
    _approve(mod, first["question_id"])
    _converged(clients, mod)

    topology.redis.kill()
    try:
        # Logins and pages keep working on every process while Redis is away.
        for process in PROCESSES:
            topology.log_in("c3", process)
        queued = mod.questions[first["question_id"]]
        live = mod.act("set_live", question_id=first["question_id"], version=queued["version"])
        assert live["ok"], live
        during = clients[1].act("ask", text="Asked while Redis is away?")
        assert during["ok"], during
        voted = clients[0].act("vote", question_id=first["question_id"], up=True)
        assert voted["ok"], voted
        time.sleep(OUTAGE_SECONDS)
    finally:
        topology.redis.start()

    # Without any action from the clients, each shows the stored state within a few seconds.
    stored = _fresh_view(topology, "c")
    try:
        assert stored.questions[first["question_id"]]["state"] == "live"
        assert during["question_id"] in stored.questions
        _converged([mod, *clients], stored)
        assert all(p.questions[first["question_id"]]["votes"] == 1 for p in clients)
        wait_until(lambda: during["question_id"] in mod.questions, "the moderator to see the question asked meanwhile",
                   timeout=CONVERGE_SECONDS)
    finally:
        stored.close()


def test_postgres_stopped_for_five_seconds_loses_and_duplicates_no_question(topology, people):
    mod = people("mod", "a")
    askers = [people("c1", "b"), people("c2", "c")]
    assert mod.act("phase", phase="panel")["ok"]
    texts = [f"Question {n} of asker {k} across a database restart?" for k in range(len(askers)) for n in range(6)]
    results: dict[str, dict] = {}

    def ask_until_stored(asker: Participant, mine: list[str]) -> None:
        """Ask each question, retrying with the same cid (as the client does) until acknowledged."""
        for text in mine:
            cid = uuid.uuid4().hex
            deadline = time.monotonic() + OUTAGE_SECONDS + 30
            while time.monotonic() < deadline:
                try:
                    ack = asker.client.call("ask", {"room_id": asker.room_id, "cid": cid, "text": text},
                                            namespace="/panel", timeout=3)
                except socketio.exceptions.TimeoutError:
                    continue
                if ack.get("ok"):
                    results[text] = ack
                    break
                assert ack.get("error") == "server_error", ack
                time.sleep(0.3)
            time.sleep(0.5)

    threads = [threading.Thread(target=ask_until_stored, args=(asker, texts[k * 6:(k + 1) * 6]))
               for k, asker in enumerate(askers)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    topology.cluster.stop_server()
    try:
        time.sleep(OUTAGE_SECONDS)
    finally:
        topology.cluster.start_server()
    for thread in threads:
        thread.join(OUTAGE_SECONDS + 60)
    assert sorted(results) == sorted(texts), f"never acknowledged: {set(texts) - set(results)}"

    import psycopg

    with psycopg.connect(topology.cluster.url(), connect_timeout=10) as connection:
        rows = connection.execute("SELECT text, count(*) FROM questions WHERE text = ANY(%s) GROUP BY text",
                                  (texts,)).fetchall()
    assert dict(rows) == {text: 1 for text in texts}
    wait_until(lambda: {q["text"] for q in mod.questions.values()} >= set(texts),
               "the moderator to see every question", timeout=CONVERGE_SECONDS)
    assert sorted(q["text"] for q in mod.questions.values() if q["text"] in texts) == sorted(texts)
    assert {results[text]["question_id"] for text in texts} == {q["id"] for q in mod.questions.values()
                                                                  if q["text"] in texts}

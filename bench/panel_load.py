"""Load benchmark of the live panel room, measured beside the bare Flask-SocketIO stack.

    .venv/bin/python bench/panel_load.py --clients 500 [--mode eventlet|gevent] [--events 100] [--rate 5]
    .venv/bin/python bench/panel_load.py --clients 500 --processes 2 --proxy [--database postgresql]
    .venv/bin/python bench/panel_load.py --clients 3000 --rounds 3

For Colloquy: a temporary SQLite database is migrated and filled (one course, one presentation,
one moderator, N critics); the app is served as ``make run`` serves it (``python app.py``); the
accounts are logged in beforehand; N Socket.IO clients connect over websocket at once from
worker processes and join the room in their connect requests, as the browser does
(``joined_s`` = start → the last snapshot received); then
critics ask questions at a steady rate and the moderator approves each one. Fan-out latency is
approve → the last client received the queued question; ``lost`` counts deliveries that never
arrived. The same clients then measure ``bench/bare_server.py`` in the same run, paced the same
way: each broadcast follows an acknowledged ``ask``, so neither server's backlog is hidden from
or added to the latency. The server is pinned to CPU 0, every client to CPU 1. The last line of
stdout is one JSON object.

With ``--processes P`` (P > 1) both stacks run as P processes joined by one ``redis-server``
message queue, as in production; with
``--proxy`` the clients reach them through nginx running ``deploy/nginx/colloquy.conf`` (without
it, each client worker talks to one process directly, in turn). Server processes are then pinned
to the CPUs in turn and the clients are not pinned: they share the machine with the servers, so
their CPU is reported beside the ratios, with nginx's and Redis's. ``--ramp R`` connects R
clients a second instead of all at once; ``--profile FILE`` samples the (first) app server's
join burst with ``bench/sampler.py`` (``--profile-phase events``: the events and their fan-out).
``--rounds K`` measures both stacks K times, alternating which goes first, and reports each
figure's median over the rounds, the ratios as the median of each round's pair (each round's
listed too) and ``lost`` summed: on a machine whose load changes from minute to minute, one
pair of runs can be minutes and a different load apart.

What it takes to drive 5,000 clients on two cores: the clients keep their websocket until the
server stops answering (python-engineio's client gave up writing after pingInterval + 5 s with
nothing to send, so a first ping delayed by a join burst dropped it from the room, where a
browser stays); nginx gets three connections per client (at twice the class it wrote
"worker_connections are not enough" and refused about 1%); a worker waits only for the snapshots
of clients that connected; the bare stack sends a socket's own answers on its process, as
Colloquy does (through the queue every process decoded every joining socket's snapshot); the
panel's opening, which notifies every member, has its own bound, and the notification e-mails go
to the run's folder, sent by no sender inside the servers measured. The app runs on SQLite
(each process its own pool; joins only read), or with ``--database postgresql`` on a PostgreSQL
server started for the run as the tests start theirs (on 127.0.0.1, fsync off), as production
runs.

Measured on the shared 2-core machine, eventlet, with the figures beside the load average
(other people's test suites ran at the same time; the bare figures of the same run are the
yardstick: the bare stack's own join CPU ranged from 0.87 to 1.62 ms between runs of one day).

(a) ``--clients 5000 --processes 2 --proxy`` (2026-12-03 12:07 UTC, load 0.5 at the start)::

    {"clients": 5000, "processes": 2, "proxy": true, "mode": "eventlet", "database": "sqlite",
     "joined_s": 11.47, "lost": 0, "p50_ms": 1253.5, "p95_ms": 2035.8, "p99_ms": 2288.6,
     "bare_p50_ms": 695.4, "bare_p99_ms": 1043.4, "ratio_p99": 2.19, "bare_joined_s": 7.18,
     "server_cpu_ms_per_join": 1.74, "bare_server_cpu_ms_per_join": 0.89, "proxy_cpu_ms_per_join": 0.18,
     "bare_proxy_cpu_ms_per_join": 0.13, "queue_cpu_ms_per_join": 0.01, "client_cpu_ms_per_join": 1.12,
     "bare_client_cpu_ms_per_join": 0.84, "client_cpu_busy": 0.62, "bare_client_cpu_busy": 0.62,
     "rss_per_conn_kb": 77.8, "bare_rss_per_conn_kb": 69.3}

Every client joined and every delivery arrived; the join took 1.60× as long as the bare
stack's and p99 was 2.19× (earlier runs of the same command: 1.14, 1.77, 2.1, 2.17, 2.26). A
delivery costs the app 61 µs of server CPU beside the bare stack's 52, but at 5 events a
second to 2,500 sockets a process, with the clients on the same two cores, the machine is
nearly saturated, and there a small difference in CPU becomes a large one in queueing delay.
The same command with ``--rounds 3`` (13:51 UTC, load 2.9, then 9.7 and 7.5 at the second and
third rounds): the rounds' ratio_p99 0.41, 0.27 and 1.98, joined_s 1.24, 1.14 and 1.39× the
bare stack's, server CPU a join 1.61, 1.41 and 1.84×; lost 0. In the first two rounds the
bare stack's p50 was 3.8 s at a lower CPU a delivery (37 µs) than in the third (48 µs, p50
0.64 s): the clients, starved by the host's other load, read late. On this machine a single
p99 ratio says more about the load of its minute than about either server.
Again at 15:58 UTC (load 0.1 at the start, 6.7 and 5.8 at rounds 2 and 3; the host's steal time
rising): ratio_p99 2.88, 0.38 and 0.26 (median 0.38); joined_s 1.50, 1.46 and 1.41×; server CPU a
join 2.00, 1.93 and 1.79× (3.20 ms beside 1.60, where the 13:51 run gave 1.58 beside 0.98, and
every client's CPU a join rose with it, 2.04 ms beside 1.00); lost 0.

(a') The same with ``--database postgresql`` (12:51 UTC, load 3.1): joined in 22.74 s beside
the bare stack's 7.43, 2.76 ms of app CPU a join (the PostgreSQL server's own CPU, on the same
cores, not counted), lost 0, p99 1936 ms. Before ``core.green`` psycopg waited for every answer
in C, stopping the whole process: 24.47 s and 3.16 ms (p99 2745); with psycopg's selector wait,
30.42 s and 3.78 ms; waiting on eventlet's hub gives the figures above.

(b) ``--clients 3000 --events 50`` (one process, no proxy, SQLite): 2.57 ms a join beside the
bare stack's 1.26 (11:35 UTC, idle machine), 2.48 beside 1.24 (11:37), 1.44 beside 0.87 (12:55,
load 4.7): 1.66–2.04×, lost 0, ratio_p99 0.54–2.58. (The day's earlier figure of 1.76 beside 1.31
was not repeated on an idle machine.) With ``--rounds 3`` (13:55 UTC, load 11.4, 5.5 and 6.6
at the three rounds): 1.34 ms beside 0.92, the rounds 1.45, 1.43 and 1.51×; joined_s
1.40–1.48×; ratio_p99 0.54, 1.45 and 0.84.
Again at 14:51 UTC (load 0.0, 5.8 and 5.1): 2.01 ms beside 1.46, the rounds 1.69, 1.44 and 1.38×;
ratio_p99 1.97, 0.91 and 1.16 (median 1.16).

Where a join's server CPU went (``--profile``, 3,000 clients, one process, 2026-12-03 07:11 UTC,
before the session's signing serializer was cached and log records stopped collecting the
caller, thread and process): the shared stack (Engine.IO, the websocket, Socket.IO's packets)
about half, as in the bare stack; then the request context Flask-SocketIO pushes for the event
(~15%: opening the session cookie ~6%, a quarter of it building the signing serializer, and
closing the database session ~3%); reading the session's user (~11%, a third of it the first
statement's connection and transaction), the room with the viewer's role, authorship and mute
(~9%) and the viewer's votes and questions (~6%), each one Core statement on the session's
connection; building and sending the snapshot and ``joined`` (~6%); the access-log line (~4%, a
third of it the caller and green thread each record looked up). The bare stack reads nothing
and checks nothing. Timed apart (one process, warm caches, the demo database): the join's three
reads cost 159 µs through the session, 98 µs on a Core connection of their own and 27 µs straight
through sqlite3, whose queries take 5–9 µs each: most of their cost is SQLAlchemy's execution
path, which the app keeps.

Where the events' server CPU went (``--only app --profile-phase events``, 3,000 clients, one
process, 13:15 UTC; 42.7 µs a delivery that run): the shared stack's sending (Engine.IO's
writer, eventlet's websocket) about 57%, and the emits of the approvals 12%; the ask and
approve handlers themselves (checks, the write, the commit, building each audience's events)
about 6% beyond those emits.
"""
from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from common import HOST, NAMESPACE, PYTHON, ROOT, say  # noqa: E402

sys.path.insert(0, str(ROOT))
from tests.support import pg, topology  # noqa: E402  (PostgreSQL and nginx, as the tests run them)

PASSWORD = "bench-password-123"
ASKERS = 10
HTTP_LOGIN_MAX = 200
PER_WORKER = 250
ACK_TIMEOUT = 10  # seconds


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, required=True, help="critics connected at once")
    parser.add_argument("--mode", choices=("eventlet", "gevent"), default="eventlet")
    parser.add_argument("--events", type=int, default=100, help="questions asked and approved")
    parser.add_argument("--rate", type=float, default=5.0, help="questions per second")
    parser.add_argument(
        "--login", choices=("auto", "http", "mint"), default="auto",
        help="http: every account logs in through the login form; mint: session cookies signed "
             "with the app's SECRET_KEY (moderator and askers still log in over HTTP); "
             f"auto: http up to {HTTP_LOGIN_MAX} clients",
    )
    parser.add_argument("--per-worker", type=int, default=PER_WORKER, help="clients per worker process")
    parser.add_argument("--ramp", type=float, default=0,
                        help="clients a second connecting (spread over every worker); 0: all at once")
    parser.add_argument("--drain", type=float,
                        help="seconds to wait after the last event (default 3, and 2 more per 1,000 clients)")
    parser.add_argument("--only", choices=("both", "app", "bare"), default="both")
    parser.add_argument("--processes", type=int, default=1,
                        help="server processes of each stack, joined by a Redis message queue when more than one")
    parser.add_argument("--proxy", action="store_true",
                        help="clients reach the servers through nginx with deploy/nginx/colloquy.conf")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="the app's database: a SQLite file, or a PostgreSQL server of its own started "
                             "for the run (as the PostgreSQL tests start one: fsync off)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure both stacks this many times, alternating which goes first; the "
                             "figures are the rounds' medians (ratios: of each round's pair), lost their sum")
    parser.add_argument("--profile-phase", choices=("join", "events"), default="join",
                        help="what --profile samples: the join burst, or the events and their fan-out")
    parser.add_argument("--profile", type=Path,
                        help="write collapsed stacks of the (first) app server's join burst here "
                             "(bench/sampler.py, sampled every 2 ms of its CPU time)")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 5000 or not 1 <= args.events <= 10000 or not 0.1 <= args.rate <= 200:
        parser.error("clients 1–5000, events 1–10000, rate 0.1–200")
    if args.drain is None:
        args.drain = 3.0 + 2.0 * args.clients / 1000
    if args.ramp < 0:
        parser.error("ramp: clients a second, 0 for all at once")
    if not 1 <= args.rounds <= 9:
        parser.error("rounds 1–9")
    if args.rounds > 1 and (args.profile or args.only != "both"):
        parser.error("--rounds compares both stacks, without --profile")
    if not 1 <= args.processes <= 8:
        parser.error("processes 1–8")
    if args.processes > 1 and topology.redis_binary() is None:
        parser.error("--processes needs redis-server (scripts/install_test_system_deps.sh installs it)")
    if args.database == "postgresql" and pg.server_bin_dir() is None:
        parser.error("--database postgresql needs PostgreSQL's server (scripts/install_test_system_deps.sh installs it)")
    if args.proxy and topology.nginx_binary() is None:
        parser.error("--proxy needs nginx (scripts/install_test_system_deps.sh installs it)")
    return args


# --------------------------------------------------------------------------- app set-up


def app_env(database_url: str, workdir: Path, port: int, mode: str, secret: str,
            redis: "tests.support.panel.RedisServer | None" = None, proxied: bool = False) -> dict:
    """The environment ``make run`` would see, on the run's temporary database, with limits
    raised; with ``redis``, joined to the other processes through its message queue (db 0; the
    limits, raised out of the way, stay in each process's memory); ``proxied``: behind nginx (one
    trusted proxy)."""
    env = dict(os.environ)
    env.update(
        COLLOQUY_ENV="development",
        DATABASE_URL=database_url,
        SECRET_KEY=secret,
        HOST=HOST,
        PORT=str(port),
        SOCKETIO_ASYNC_MODE=mode,
        LOGIN_RATE_LIMIT="100000 per minute",
        LOGIN_ADDRESS_RATE_LIMIT="100000 per minute",
        QUESTION_RATE="100000/60",
        VOTE_RATE="100000/60",
        PYTHONUNBUFFERED="1",
        # Opening the panel notifies every member: their e-mails go to the run's own folder, and
        # are sent by `flask notify run-due`, not by a sender in the servers measured.
        MAIL_DIR=str(workdir / "mail"),
        NOTIFY_SENDER_IN_SERVER="0",
    )
    env.pop("SOCKETIO_MESSAGE_QUEUE", None)
    if redis is not None:
        env["SOCKETIO_MESSAGE_QUEUE"] = redis.url(0)
    if proxied:
        env["TRUSTED_PROXIES"] = "1"
    return env


def prepare_database(env: dict, workdir: Path, clients: int, mint: bool) -> dict:
    """``flask db upgrade`` and the set-up script, both in subprocesses; returns the set-up facts."""
    cli_env = dict(env, SOCKETIO_ASYNC_MODE="threading")
    subprocess.run([PYTHON, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=cli_env,
                   check=True, capture_output=True, timeout=120)
    out = workdir / "setup.json"
    argv = [PYTHON, str(Path(__file__).resolve()), "setup", str(clients), str(out)]
    if mint:
        argv.append("--mint")
    subprocess.run(argv, cwd=ROOT, env=cli_env, check=True, timeout=300)
    import json

    return json.loads(out.read_text())


def setup_main(clients: int, out: str, mint: bool) -> None:
    """Create the course, the presentation, the moderator and the critics (run in a subprocess)."""
    import json
    from datetime import timedelta

    from flask.sessions import SecureCookieSessionInterface

    from app import create_app
    from core.extensions import db
    from models import (
        MEMBER_PRESENTING, ROLE_INSTRUCTOR, ROLE_STUDENT, ClassSession, Course, Enrollment, Paper,
        Presentation, PresentationMember, User,
    )
    from core.passwords import hash_password
    from core.timeutil import now_utc

    app = create_app()
    with app.app_context():
        pw = hash_password(PASSWORD)
        course = Course(code="BENCH", title="Benchmark seminar", timezone="UTC")
        paper = Paper(course=course, title="Serving at scale")
        session = ClassSession(course=course, starts_at=now_utc() + timedelta(hours=1))
        presentation = Presentation(course=course, session=session, paper=paper, slot=1,
                                    review_deadline=now_utc() - timedelta(days=1))

        def account(email, name, role):
            user = User(email=email, display_name=name, password_hash=pw)
            db.session.add(Enrollment(user=user, course=course, role=role))
            return user

        moderator = account("moderator@bench.test", "Moderator", ROLE_INSTRUCTOR)
        author = account("author@bench.test", "Presenter", ROLE_STUDENT)
        critics = [account(f"critic{i:04d}@bench.test", f"Critic {i}", ROLE_STUDENT) for i in range(clients)]
        db.session.add_all([course, paper, session, presentation, moderator, author, *critics])
        db.session.flush()
        db.session.add(PresentationMember(course_id=course.id, presentation=presentation, user=author,
                                          kind=MEMBER_PRESENTING, seat=1))
        db.session.commit()
        facts = {
            "course_id": course.id,
            "presentation_id": presentation.id,
            "moderator": moderator.email,
            "critics": [c.email for c in critics],
            "minted": [],
        }
        if mint:
            signer = SecureCookieSessionInterface().get_signing_serializer(app)
            name = app.config["SESSION_COOKIE_NAME"]
            facts["minted"] = [
                f"{name}={signer.dumps({'_user_id': c.session_token, '_fresh': False})}" for c in critics
            ]
    Path(out).write_text(json.dumps(facts))


def http_login(base: str, email: str) -> str:
    """Log in through the real login form (CSRF token from the page); returns the Cookie header."""
    import requests

    with requests.Session() as s:
        page = s.get(f"{base}/login", timeout=30)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
        resp = s.post(f"{base}/login", data={"csrf_token": token, "email": email, "password": PASSWORD},
                      allow_redirects=False, timeout=30)
        if resp.status_code != 302:
            raise RuntimeError(f"login of {email} answered {resp.status_code}")
        return "; ".join(f"{k}={v}" for k, v in s.cookies.items())


def login_all(base: str, emails: list[str], workers: int = 8) -> tuple[list[str], float]:
    """Log every account in over HTTP, a few at a time; returns (cookies, seconds)."""
    from concurrent.futures import ThreadPoolExecutor

    t = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        cookies = list(pool.map(lambda e: http_login(base, e), emails))
    return cookies, time.monotonic() - t


def room_id_from_page(base: str, cookie: str, path: str) -> int:
    """Open a room page (which creates the room on first visit) and read its room id."""
    import requests

    resp = requests.get(base + path, headers={"Cookie": cookie}, timeout=30)
    if resp.status_code != 200:
        raise RuntimeError(f"{path} answered {resp.status_code}")
    return int(re.search(r'data-room-id="(\d+)"', resp.text).group(1))


# --------------------------------------------------------------------------- socket helpers


def connect(base: str, cookie: str | None = None):
    """A threaded Socket.IO client in this process, connected over websocket to ``/panel``."""
    import socketio

    sio = socketio.Client(reconnection=False, request_timeout=10)
    sio.connect(base, headers={"Cookie": cookie} if cookie else {}, transports=["websocket"],
                namespaces=[NAMESPACE], wait_timeout=10)
    return sio


def call(sio, event: str, payload: dict, fatal: bool = False, timeout: float = ACK_TIMEOUT) -> dict | None:
    """Emit and wait for the acknowledgement (bounded: None, or with ``fatal`` an error, when
    the server does not answer in time; a saturated server's events are counted as failed)."""
    import socketio

    try:
        return sio.call(event, payload, namespace=NAMESPACE, timeout=timeout)
    except socketio.exceptions.TimeoutError:
        if fatal:
            raise
        say(f"  {event} not acknowledged within {timeout} s")
        return None


def cid() -> str:
    return secrets.token_hex(8)


class Stack:
    """The servers of one run: ``--processes`` processes (joined by Redis when more than one) and,
    with ``--proxy``, nginx with ``deploy/nginx/colloquy.conf`` in front of them."""

    def __init__(self, args, workdir: Path, name: str, redis: "tests.support.panel.RedisServer | None"):
        self.args, self.workdir, self.name, self.redis = args, workdir, name, redis
        self.ports = [common.free_port() for _ in range(args.processes)]
        self.procs: list = []
        self.nginx = None

    def start(self, command, health: str) -> "Stack":
        """Start a process per port (``command(port) -> (argv, env)``), each pinned to a CPU in
        turn, then nginx; wait until each answers ``health``."""
        for i, port in enumerate(self.ports):
            argv, env = command(port)
            self.procs.append(common.start_server(argv, env, self.workdir / f"{self.name}-{i}.log", cpu=i))
        for port, proc in zip(self.ports, self.procs):
            common.wait_http(f"http://{HOST}:{port}{health}", proc, timeout=120)
        if self.args.proxy:
            # Each websocket holds two of nginx's connections (client and upstream): with twice
            # the class and a little more, nginx wrote "worker_connections are not enough" at
            # 5,000 clients and refused about 1% of them.
            self.nginx = topology.Nginx(topology.nginx_binary(), self.workdir / f"{self.name}-nginx", self.ports,
                                        connections=self.args.clients * 3 + 1024).start()
            common.wait_http(self.nginx.base + health, self.nginx.proc)
        return self

    @property
    def bases(self) -> list[str]:
        """Where clients connect: nginx, or each process in turn."""
        if self.nginx is not None:
            return [self.nginx.base]
        return [f"http://{HOST}:{port}" for port in self.ports]

    @property
    def base(self) -> str:
        return self.bases[0]

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self.procs]

    def proxy_pids(self) -> list[int]:
        """nginx's master and workers."""
        if self.nginx is None or self.nginx.proc is None:
            return []
        return [self.nginx.proc.pid, *common.children(self.nginx.proc.pid)]

    def queue_pids(self) -> list[int]:
        return [self.redis.proc.pid] if self.redis is not None and self.redis.proc is not None else []

    def stop(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
        for proc in self.procs:
            common.stop(proc)


def _cpu(pids: list[int]) -> float:
    return sum(common.cpu_seconds(pid) for pid in pids)


def _sys(pids: list[int]) -> float:
    return sum(common.cpu_times(pid)[1] for pid in pids)


def measure(stack: Stack, room_id: int, cookies: list[str], args, fire, prepare,
            profile: Path | None = None) -> dict:
    """Connect the clients at once, wait for every snapshot, run ``prepare()``, fire
    ``args.events`` events at ``args.rate`` through ``fire(k) -> (event id, emit time) | None``,
    and gather the figures (server CPU summed over the stack's processes; nginx's and Redis's
    apart)."""
    n = len(cookies)
    pids, proxy_pids, queue_pids = stack.pids, stack.proxy_pids(), stack.queue_pids()
    rss_before = sum(common.rss_kb(pid) for pid in pids)
    join_cpu_before, join_sys_before = _cpu(pids), _sys(pids)
    helpers_before = _cpu(proxy_pids), _cpu(queue_pids)
    join_timeout = 30 + n / 20 + (n / args.ramp if args.ramp else 0)
    run_limit = join_timeout + args.events / args.rate + args.drain + 60
    procs, pipes, start_at = common.start_workers(
        stack.bases, room_id, cookies, args.per_worker, timeout=join_timeout, max_run_s=run_limit,
        cpu=1 if args.processes == 1 else None, ramp=args.ramp)
    profile_join = profile is not None and args.profile_phase == "join"
    profile_events = profile is not None and args.profile_phase == "events"
    if profile_join:
        os.kill(pids[0], signal.SIGUSR1)  # bench/sampler.py starts sampling
    try:
        reports = common.collect(pipes, join_timeout + 30)
        if profile_join:
            os.kill(pids[0], signal.SIGUSR2)  # … and writes the stacks
        joined = [t for r in reports for t in r["joined"]]
        missing = n - sum(1 for t in joined if t is not None)
        for r in reports:
            if r["error_count"]:
                say(f"  {r['error_count']} clients failed to connect, e.g. {r['errors'][:2]}")
        joined_s = max((t for t in joined if t is not None), default=start_at) - start_at
        client_join_cpu_ms = sum(r["join_cpu_s"] for r in reports) * 1000
        time.sleep(0.5)
        rss_after = sum(common.rss_kb(pid) for pid in pids)
        join_cpu_ms = (_cpu(pids) - join_cpu_before) * 1000
        join_sys_ms = (_sys(pids) - join_sys_before) * 1000
        proxy_join_ms = (_cpu(proxy_pids) - helpers_before[0]) * 1000
        queue_join_ms = (_cpu(queue_pids) - helpers_before[1]) * 1000
        say(f"  joined: {n - missing}/{n} in {joined_s:.2f} s, server CPU {join_cpu_ms / n:.2f} ms a client "
            f"({join_sys_ms / n:.2f} of it in the kernel; nginx {proxy_join_ms / n:.2f}, Redis {queue_join_ms / n:.2f}, clients {client_join_cpu_ms / n:.2f}); "
            f"RSS {rss_before} → {rss_after} kB")
        prepare()

        sent, failures = {}, 0
        if profile_events:
            os.kill(pids[0], signal.SIGUSR1)
        cpu_before = _cpu(pids)
        begin = time.monotonic() + 0.5
        for k in range(args.events):
            delay = begin + k / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            fired = fire(k)
            if fired is None:
                failures += 1
            else:
                sent[fired[0]] = fired[1]
        time.sleep(args.drain)
        cpu_used = _cpu(pids) - cpu_before
        if profile_events:
            os.kill(pids[0], signal.SIGUSR2)
        common.tell_stop(pipes)
        events_s = time.monotonic() - begin
        reports = common.collect(pipes, 60)
        received = [r for rep in reports for r in rep["received"]]
        client_busy = sum(rep["cpu_s"] for rep in reports) / events_s
    finally:
        common.tell_stop(pipes)
        common.end_workers(procs)
    figures = common.fanout_figures(sent, received + [{}] * (n - len(received)), n)
    if failures:
        say(f"  {failures} events could not be fired")
    delivered = sum(len(r) for r in received)
    figures.update(
        server_cpu_us_per_delivery=round(cpu_used / delivered * 1e6, 1) if delivered else None,
        joined_s=round(joined_s, 2),
        server_cpu_ms_per_join=round(join_cpu_ms / n, 2),
        proxy_cpu_ms_per_join=round(proxy_join_ms / n, 2) if proxy_pids else None,
        queue_cpu_ms_per_join=round(queue_join_ms / n, 2) if queue_pids else None,
        client_cpu_ms_per_join=round(client_join_cpu_ms / n, 2),
        not_joined=missing,
        failed_events=failures,
        rss_per_conn_kb=round((rss_after - rss_before) / n, 1),
        client_cpu_busy=round(client_busy, 2),
    )
    return figures


# --------------------------------------------------------------------------- the two runs


def run_app(args, workdir: Path, redis: "tests.support.panel.RedisServer | None", database_url: str) -> dict:
    """Measure Colloquy's panel room, on the database at ``database_url``."""
    secret = secrets.token_hex(32)
    use_http = args.login == "http" or (args.login == "auto" and args.clients <= HTTP_LOGIN_MAX)
    say(f"app: preparing the database for {args.clients} critics")
    facts = prepare_database(app_env(database_url, workdir, 0, args.mode, secret), workdir, args.clients,
                             mint=not use_http)
    stack = Stack(args, workdir, "app", redis)
    sockets = []
    try:
        server = [PYTHON, "bench/sampler.py", str(args.profile.resolve()), "app.py"] if args.profile else [PYTHON, "app.py"]
        stack.start(lambda port: (server, app_env(database_url, workdir, port, args.mode, secret, redis, args.proxy)),
                    "/login")
        base = stack.base
        askers = facts["critics"][:ASKERS]
        (moderator_cookie, *asker_cookies), login_s = login_all(base, [facts["moderator"], *askers])
        if use_http:
            critic_cookies, more_s = login_all(base, facts["critics"])
            login_s, logged = login_s + more_s, 1 + len(askers) + len(facts["critics"])
        else:
            critic_cookies, logged = facts["minted"], 1 + len(askers)
        say(f"app: {logged} HTTP logins took {login_s:.1f} s ({login_s / logged * 1000:.0f} ms each, 8 at a time)"
            + ("" if use_http else f"; {len(critic_cookies)} critic sessions minted with the SECRET_KEY"))
        panel = f"/courses/{facts['course_id']}/presentations/{facts['presentation_id']}/panel"
        room_id = room_id_from_page(base, moderator_cookie, panel + "/moderate")
        if room_id_from_page(base, critic_cookies[-1], panel) != room_id:
            raise RuntimeError("critic and moderator see different rooms")

        opener = connect(base, moderator_cookie)
        ack = call(opener, "phase", {"room_id": room_id, "cid": cid(), "phase": "panel", "minutes": 60}, fatal=True,
                   timeout=60 + args.clients / 50)  # opening the panel notifies every member
        opener.disconnect()
        if not ack.get("ok"):
            raise RuntimeError(f"phase change refused: {ack}")
        moderator, asker_socks = None, []

        def prepare():
            # Connected after the class has joined: a long join burst would starve their pings.
            # Through the proxy each lands on a process of its own route: approvals and asks
            # cross processes as a real room's do.
            nonlocal moderator
            moderator = connect(base, moderator_cookie)
            asker_socks.extend(connect(stack.bases[k % len(stack.bases)], c) for k, c in enumerate(asker_cookies))
            sockets.extend([moderator, *asker_socks])
            for s in sockets:
                if not call(s, "join", {"room_id": room_id}, fatal=True).get("ok"):
                    raise RuntimeError("the moderator or an asker could not join")

        def fire(k):
            asked = call(asker_socks[k % len(asker_socks)], "ask",
                         {"room_id": room_id, "cid": cid(), "text": f"Question {k}: how does it scale?",
                          "anonymous": k % 2 == 1})
            if asked is None:
                return None
            if not asked.get("ok"):
                say(f"  ask {k} refused: {asked}")
                return None
            # A new question is at version 1 (the ack carries its id and state only).
            t0 = time.monotonic()
            moderator.emit("approve", {"room_id": room_id, "cid": cid(), "question_id": asked["question_id"],
                                       "version": 1}, namespace=NAMESPACE,
                           callback=lambda ack: acks.append((time.monotonic() - t0) * 1000 if ack.get("ok") else None))
            return asked["question_id"], t0

        acks: list = []

        say(f"app: {args.clients} clients join, then {args.events} questions at {args.rate}/s")
        figures = measure(stack, room_id, critic_cookies, args, fire, prepare, args.profile)
        done = [a for a in acks if a is not None]
        say(f"  {len(done)} approvals acknowledged OK; ack after "
            f"p50 {common.percentile(done, 50):.1f} ms, p99 {common.percentile(done, 99):.1f} ms")
        return figures
    finally:
        for s in sockets:
            s.disconnect()
        stack.stop()


def run_bare(args, workdir: Path, redis: "tests.support.panel.RedisServer | None") -> dict:
    """Measure the bare Flask-SocketIO stack with the same clients, the same event rate, and the
    same processes, queue and proxy."""
    env = dict(os.environ, SOCKETIO_ASYNC_MODE=args.mode)
    queue = ["--queue", redis.url(0)] if redis is not None else []
    stack = Stack(args, workdir, "bare", redis)
    sockets = []
    try:
        stack.start(lambda port: ([PYTHON, "bench/bare_server.py", "--port", str(port), "--mode", args.mode, *queue],
                                  env), "/health")

        def prepare():
            sockets.append(connect(stack.base))
            call(sockets[0], "join", {"room_id": 1}, fatal=True)

        def fire(k):
            if call(sockets[0], "ask", {"id": k + 1}) is None:
                return None
            t0 = time.monotonic()
            sockets[0].emit("broadcast", {"id": k + 1}, namespace=NAMESPACE)
            return k + 1, t0

        say(f"bare: {args.clients} clients join, then {args.events} broadcasts at {args.rate}/s")
        return measure(stack, 1, [""] * args.clients, args, fire, prepare)
    finally:
        for s in sockets:
            s.disconnect()
        stack.stop()


FIGURES = ("joined_s", "p50_ms", "p95_ms", "p99_ms", "server_cpu_ms_per_join", "proxy_cpu_ms_per_join",
           "queue_cpu_ms_per_join", "client_cpu_ms_per_join", "client_cpu_busy", "rss_per_conn_kb",
           "server_cpu_us_per_delivery")


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 2) if values else None


def _ratios(apps: list[dict], bares: list[dict], key: str) -> list[float]:
    """App ÷ bare for ``key`` in each round that measured both."""
    return [round(a[key] / b[key], 2) for a, b in zip(apps, bares) if a.get(key) and b.get(key)]


def summary(args, apps: list[dict], bares: list[dict]) -> dict:
    """The run's figures: each stack's medians over the rounds; ``lost`` summed; ``ratio_p99`` the
    median of each round's app ÷ bare p99 (with several rounds, each round's ratios listed)."""
    app = {key: _median([r.get(key) for r in apps]) for key in FIGURES} if apps else {}
    bare = {key: _median([r.get(key) for r in bares]) for key in FIGURES} if bares else {}
    p99_ratios = _ratios(apps, bares, "p99_ms")
    out = {
        "clients": args.clients,
        "processes": args.processes,
        "proxy": args.proxy,
        "mode": args.mode,
        "database": args.database,
        "rounds": args.rounds,
        "joined_s": app.get("joined_s"),
        "lost": sum(r.get("lost") or 0 for r in apps) if apps else None,
        "p50_ms": app.get("p50_ms"),
        "p95_ms": app.get("p95_ms"),
        "p99_ms": app.get("p99_ms"),
        "bare_p50_ms": bare.get("p50_ms"),
        "bare_p99_ms": bare.get("p99_ms"),
        "ratio_p99": _median(p99_ratios),
        "bare_joined_s": bare.get("joined_s"),
        "server_cpu_ms_per_join": app.get("server_cpu_ms_per_join"),
        "bare_server_cpu_ms_per_join": bare.get("server_cpu_ms_per_join"),
        "proxy_cpu_ms_per_join": app.get("proxy_cpu_ms_per_join"),
        "bare_proxy_cpu_ms_per_join": bare.get("proxy_cpu_ms_per_join"),
        "queue_cpu_ms_per_join": app.get("queue_cpu_ms_per_join"),
        "client_cpu_ms_per_join": app.get("client_cpu_ms_per_join"),
        "bare_client_cpu_ms_per_join": bare.get("client_cpu_ms_per_join"),
        "client_cpu_busy": app.get("client_cpu_busy"),
        "bare_client_cpu_busy": bare.get("client_cpu_busy"),
        "rss_per_conn_kb": app.get("rss_per_conn_kb"),
        "bare_rss_per_conn_kb": bare.get("rss_per_conn_kb"),
    }
    if args.rounds > 1:
        out["rounds_ratio_p99"] = p99_ratios
        out["rounds_ratio_joined_s"] = _ratios(apps, bares, "joined_s")
        out["rounds_ratio_server_cpu_per_join"] = _ratios(apps, bares, "server_cpu_ms_per_join")
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    common.pin(0, 1)
    # One process (or nginx) may hold every client's socket, and with the proxy two of them.
    open_files = common.raise_open_files(3 * args.clients + 1024)
    if open_files < 2 * args.clients + 256:
        say(f"  open files are limited to {open_files} (ulimit -n): connections beyond will be refused")
    say(f"load average before the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"on {os.cpu_count()} CPUs (other processes share them: compare with the bare figures)")
    workdir = Path(tempfile.mkdtemp(prefix="colloquy-bench-"))
    apps, bares = [], []
    redis = cluster = None
    try:
        if args.processes > 1:
            # Imported here, not at the top: every client worker imports this module, and
            # tests.support.panel brings the app's extensions with it.
            from tests.support.panel import RedisServer

            (workdir / "redis").mkdir()
            redis = RedisServer(topology.redis_binary(), common.free_port(), workdir / "redis").start()
        if args.database == "postgresql" and args.only != "bare":
            cluster = pg.Cluster(pg.server_bin_dir()).start()
        for n in range(args.rounds):
            if args.rounds > 1:
                say(f"round {n + 1} of {args.rounds}, load average {os.getloadavg()[0]:.1f}")
            # Alternate which stack goes first, so a change in the machine's load during the
            # rounds weighs on both alike.
            for stack in (("app", "bare") if n % 2 == 0 else ("bare", "app")):
                if stack == "app" and args.only in ("both", "app"):
                    database_url = (cluster.create_database(f"bench{n}") if cluster is not None
                                    else f"sqlite:///{workdir / f'bench{n}.sqlite3'}")
                    apps.append(run_app(args, workdir, redis, database_url))
                    say("app:", common.dump(apps[-1]))
                elif stack == "bare" and args.only in ("both", "bare"):
                    bares.append(run_bare(args, workdir, redis))
                    say("bare:", common.dump(bares[-1]))
    except Exception:
        for log in sorted(workdir.glob("*.log")) + sorted(workdir.glob("*-nginx/error.log")):
            say(f"--- {log.relative_to(workdir)} (last lines)\n" + "\n".join(log.read_text().splitlines()[-30:]))
        raise
    finally:
        if redis is not None:
            redis.kill()
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(common.dump(summary(args, apps, bares)))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "setup":
        os.chdir(ROOT)
        sys.path.insert(0, str(ROOT))
        setup_main(int(sys.argv[2]), sys.argv[3], mint="--mint" in sys.argv)
    else:
        sys.exit(main())

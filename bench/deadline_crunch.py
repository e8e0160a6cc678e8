"""Deadline crunch: a whole class submits its reviews in the last seconds before the deadline.

``python bench/deadline_crunch.py [--students 300] [--window 10]``

1. A temporary SQLite database is migrated (``flask db upgrade``) and filled by this script's
   ``--setup`` mode: one course, one presentation whose review deadline is open, N students
   (one password hash shared by all).
2. The server starts as ``make run`` starts it (``python app.py``: eventlet, SQLite), pinned
   to CPU 0; this process, which plays the class, runs on CPU 1.
3. Every student logs in over HTTP beforehand (a ``requests.Session`` each, CSRF token from
   the login page) and opens the review form for its CSRF token.
4. All N submissions are sent within the same window, spread uniformly, one thread each.
   Accepted = a redirect to the stored review; afterwards the database file is read with
   ``sqlite3`` and every accepted submission must be there as a submitted review.
5. The same crunch is run against ``bench/bare_insert_server.py`` (bare Flask + SQLite insert,
   served the same way) in the same run, so the ratio holds on a noisy machine.

The last line printed is one JSON object with the figures. Besides latencies it gives each
server's CPU time per submission during the crunch (from ``/proc``; unlike latencies, hardly
moved by other processes) and the load average before and after, so a noisy machine shows.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import HOST, ROOT, cpu_seconds, free_port, percentile, pin, say, start_profiler, stop_profiler  # noqa: E402

PASSWORD = "deadline-crunch-password"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ANSWERS = {
    "summary": "The paper moves the prefill and decode phases onto separate GPU pools. " * 4,
    "strengths": "Clear measurements of interference between the phases; practical placement. " * 3,
    "weaknesses": "The cost of moving the cache across nodes is only sketched for slow links. " * 3,
    "questions": "How does goodput change with PCIe only?\nWhen is chunked prefill better?",
}
SERVER_START_SECONDS = 60
REQUEST_TIMEOUT = 120


# --------------------------------------------------------------------------- setup mode


def setup_database(students: int) -> dict:
    """Create the course, the open presentation and the students (run in a subprocess)."""
    os.environ["SOCKETIO_ASYNC_MODE"] = "threading"
    sys.path.insert(0, str(ROOT))
    from datetime import timedelta

    from app import create_app
    from core.extensions import db
    from models import ROLE_STUDENT, ClassSession, Course, Enrollment, Paper, Presentation, User
    from core.passwords import hash_password
    from core.timeutil import now_utc

    app = create_app()
    with app.app_context():
        course = Course(code="BENCH 1", title="Deadline crunch", timezone="America/Chicago")
        session = ClassSession(course=course, starts_at=now_utc() + timedelta(days=2), room="Hall", slots=1)
        paper = Paper(course=course, title="DistServe", abstract="Disaggregated serving.", topic="Scheduling")
        presentation = Presentation(
            course=course, session=session, slot=1, paper=paper, review_deadline=now_utc() + timedelta(days=1)
        )
        password_hash = hash_password(PASSWORD)
        for n in range(1, students + 1):
            user = User(email=student_email(n), display_name=f"Student {n}", password_hash=password_hash)
            db.session.add(Enrollment(user=user, course=course, role=ROLE_STUDENT))
        db.session.add(presentation)
        db.session.commit()
        return {"course_id": course.id, "presentation_id": presentation.id}


def student_email(n: int) -> str:
    return f"bench{n:03d}@colloquy.test"


# --------------------------------------------------------------------------- processes


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path


def start_server(argv: list[str], env: dict, log_path: Path, ready_path: str) -> Server:
    """Start a server on CPU 0 and wait until ``ready_path`` answers."""
    import requests

    with open(log_path, "ab") as log:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    pin(process.pid, 0)
    server = Server(f"http://{HOST}:{env['PORT']}", process, log_path)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{argv[-1]} exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if requests.get(server.url + ready_path, timeout=2).ok:
                return server
        except requests.RequestException:
            time.sleep(0.2)
    stop(server)
    raise RuntimeError(f"{argv[-1]} did not answer {ready_path} within {SERVER_START_SECONDS} s")


def stop(server: Server) -> None:
    """Terminate the server we started, by its own PID."""
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def run_checked(argv: list[str], env: dict) -> str:
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def server_env(port: int, **extra) -> dict:
    env = dict(os.environ)
    env.update(
        HOST=HOST,
        PORT=str(port),
        SECRET_KEY="deadline-crunch-secret-key-0123456789",
        COLLOQUY_ENV="development",
        SOCKETIO_ASYNC_MODE="eventlet",
        SOCKETIO_MESSAGE_QUEUE="",
        LOGIN_RATE_LIMIT="1000000 per minute",
        LOGIN_ADDRESS_RATE_LIMIT="1000000 per minute",
        PYTHONWARNINGS="ignore",
        **extra,
    )
    return env


# --------------------------------------------------------------------------- the crunch


@dataclass
class Outcome:
    status: int = 0  # 0: no answer (connection error or timeout)
    sent_at: float = 0.0
    latency_ms: float = 0.0
    error: str = ""


@dataclass
class Figures:
    outcomes: list[Outcome] = field(default_factory=list)
    accepted_users: list[int] = field(default_factory=list)

    @property
    def sent_span_s(self) -> float:
        times = [o.sent_at for o in self.outcomes]
        return max(times) - min(times)


def crunch(count: int, window: float, send, accepted) -> Figures:
    """Call ``send(i)`` for i in 0…count-1, spread uniformly over ``window`` seconds.

    ``send`` returns a ``requests.Response``; ``accepted(i, response)`` says whether it is an
    acceptance of submission i.
    """
    figures = Figures(outcomes=[Outcome() for _ in range(count)])
    start = [0.0]

    def set_start() -> None:
        start[0] = time.monotonic() + 0.5

    # Every thread is running before the clock starts, so none is late for its moment.
    barrier = threading.Barrier(count + 1, action=set_start)

    def one(i: int) -> None:
        barrier.wait()
        at = start[0] + window * i / count
        time.sleep(max(0.0, at - time.monotonic()))
        outcome = figures.outcomes[i]
        outcome.sent_at = time.monotonic()
        sent = time.perf_counter()
        try:
            response = send(i)
        except Exception as exc:  # a lost connection or a timeout counts as no answer
            outcome.error = type(exc).__name__
            outcome.latency_ms = (time.perf_counter() - sent) * 1000
            return
        outcome.latency_ms = (time.perf_counter() - sent) * 1000
        outcome.status = response.status_code
        if accepted(i, response):
            figures.accepted_users.append(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(one, i) for i in range(count)]
        barrier.wait()
        for future in futures:
            future.result()
    return figures


def summarise(figures: Figures, stored: set[str], server_cpu_s: float) -> dict:
    """The figures of one crunch; ``stored`` holds the e-mails found in the database after it,
    ``server_cpu_s`` the CPU time the server used during it."""
    latencies = [o.latency_ms for o in figures.outcomes if o.status]
    return {
        "cpu_ms_per_request": round(server_cpu_s * 1000 / len(figures.outcomes), 2),
        "sent": len(figures.outcomes),
        "accepted": len(figures.accepted_users),
        "errors_5xx": sum(1 for o in figures.outcomes if o.status >= 500),
        "errors_4xx": sum(1 for o in figures.outcomes if 400 <= o.status < 500),
        "no_answer": sum(1 for o in figures.outcomes if not o.status),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies, default=float("nan")), 1),
        "sent_over_s": round(figures.sent_span_s, 2),
        "stored": len(stored),
        "lost": sum(1 for i in figures.accepted_users if student_email(i + 1) not in stored),
    }


def pool_map(fn, items, workers: int = 8) -> list:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    if match is None:
        raise RuntimeError("no csrf_token field in the page")
    return match.group(1)


# --------------------------------------------------------------------------- Colloquy


def log_in(url: str, email: str):
    """A ``requests.Session`` logged in through the login form."""
    import requests

    session = requests.Session()
    token = csrf_token(session.get(url + "/login", timeout=REQUEST_TIMEOUT).text)
    response = session.post(
        url + "/login",
        data={"csrf_token": token, "email": email, "password": PASSWORD},
        allow_redirects=False,
        timeout=REQUEST_TIMEOUT,
    )
    if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
        raise RuntimeError(f"login of {email} failed: HTTP {response.status_code}")
    return session


def run_app(workdir: Path, students: int, window: float, profile: Path | None = None) -> dict:
    """The crunch against Colloquy itself (sampled by py-spy into ``profile`` when given)."""
    database = workdir / "colloquy.sqlite3"
    env = server_env(free_port(), DATABASE_URL=f"sqlite:///{database}")
    run_checked([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], env)
    ids = json.loads(run_checked([sys.executable, __file__, "--setup", str(students)], env).splitlines()[-1])
    form_path = f"/courses/{ids['course_id']}/presentations/{ids['presentation_id']}/review"
    server = start_server([sys.executable, "app.py"], env, workdir / "app.log", "/login")
    try:
        say(f"app: logging in {students} students")
        sessions = pool_map(lambda n: log_in(server.url, student_email(n)), range(1, students + 1))
        tokens = pool_map(lambda s: csrf_token(s.get(server.url + form_path, timeout=REQUEST_TIMEOUT).text), sessions)
        say(f"app: {students} submissions within {window:g} s")
        spy = start_profiler(server.process.pid, profile) if profile else None

        def send(i):
            data = {"csrf_token": tokens[i], "score": "4", "confidence": "3", "pledge": "y"}
            data.update({f"answer_{k}": f"{v} (student {i + 1})" for k, v in ANSWERS.items()})
            return sessions[i].post(server.url + form_path, data=data, allow_redirects=False, timeout=REQUEST_TIMEOUT)

        def accepted(i, response):
            return response.status_code in (302, 303) and "/reviews/" in response.headers.get("Location", "")

        cpu_before = cpu_seconds(server.process.pid)
        figures = crunch(students, window, send, accepted)
        server_cpu_s = cpu_seconds(server.process.pid) - cpu_before
        stop_profiler(spy)
    finally:
        stop(server)
    return summarise(figures, stored_submissions(database, ids["presentation_id"]), server_cpu_s)


def stored_submissions(database: Path, presentation_id: int) -> set[str]:
    """E-mails of the students with a submitted review, read straight from the file."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT users.email FROM reviews JOIN users ON users.id = reviews.author_id "
            "WHERE reviews.presentation_id = ? AND reviews.status = 'submitted'",
            (presentation_id,),
        ).fetchall()
    return {email for (email,) in rows}


# --------------------------------------------------------------------------- bare stack


def run_bare(workdir: Path, students: int, window: float) -> dict:
    """The same crunch against the bare Flask + SQLite insert server."""
    import requests

    database = workdir / "bare.sqlite3"
    env = server_env(free_port(), BARE_DATABASE=str(database))
    server = start_server([sys.executable, "bench/bare_insert_server.py"], env, workdir / "bare.log", "/form")
    try:
        sessions = [requests.Session() for _ in range(students)]
        pool_map(lambda s: s.get(server.url + "/form", timeout=REQUEST_TIMEOUT), sessions)
        say(f"bare: {students} submissions within {window:g} s")

        def send(i):
            data = {"user": student_email(i + 1), "score": "4", "confidence": "3"}
            data.update({k: f"{v} (student {i + 1})" for k, v in ANSWERS.items()})
            return sessions[i].post(server.url + "/submit", data=data, allow_redirects=False, timeout=REQUEST_TIMEOUT)

        def accepted(i, response):
            return response.status_code in (302, 303) and "/done/" in response.headers.get("Location", "")

        cpu_before = cpu_seconds(server.process.pid)
        figures = crunch(students, window, send, accepted)
        server_cpu_s = cpu_seconds(server.process.pid) - cpu_before
    finally:
        stop(server)
    with sqlite3.connect(database) as connection:
        stored = {user for (user,) in connection.execute("SELECT user FROM reviews")}
    return summarise(figures, stored, server_cpu_s)


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--window", type=float, default=10.0, help="seconds over which all submit")
    parser.add_argument("--profile", type=Path, help="write py-spy's collapsed stacks of the app here")
    parser.add_argument("--setup", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        print(json.dumps(setup_database(args.setup)))
        return
    pin(0, 1)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="deadline-crunch-") as tmp:
        app = run_app(Path(tmp), args.students, args.window, args.profile)
        say("app:", json.dumps(app))
        bare = run_bare(Path(tmp), args.students, args.window)
        say("bare:", json.dumps(bare))
    result = {
        "students": args.students,
        "window_s": args.window,
        **{k: app[k] for k in ("accepted", "lost", "errors_5xx", "errors_4xx", "no_answer", "p50_ms", "p99_ms", "max_ms")},
        "bare_p50_ms": bare["p50_ms"],
        "bare_p99_ms": bare["p99_ms"],
        "bare_lost": bare["lost"],
        "ratio_p99": round(app["p99_ms"] / bare["p99_ms"], 2) if bare["p99_ms"] else None,
        "cpu_ms_per_submit": app["cpu_ms_per_request"],
        "bare_cpu_ms_per_submit": bare["cpu_ms_per_request"],
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

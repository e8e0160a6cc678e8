"""In-process cost of one review submission: milliseconds and SQL statements per request.

``python bench/submit_cost.py [--students 200] [--profile out.prof]``

Serves nothing: Flask's test client posts the review form (CSRF on, as in production) for N
logged-in students of one open presentation on a temporary SQLite file, the way the deadline
crunch does over HTTP, and reports the median and p90 time per submission (wall clock, and the
median CPU time of this thread, which other processes on a busy machine disturb less) and the SQL
statements each one ran (split into reads and writes). ``--profile`` writes cProfile stats of
the submissions. The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "submit-cost-password"
ANSWERS = {
    "summary": "The paper moves the prefill and decode phases onto separate GPU pools. " * 4,
    "strengths": "Clear measurements of interference between the phases; practical placement. " * 3,
    "weaknesses": "The cost of moving the cache across nodes is only sketched for slow links. " * 3,
    "questions": "How does goodput change with PCIe only?\nWhen is chunked prefill better?",
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


def build(tmp: Path, students: int):
    """The app on a fresh SQLite file with one course, one open presentation and the students."""
    os.environ.update(SOCKETIO_ASYNC_MODE="threading", DATABASE_URL=f"sqlite:///{tmp / 'cost.sqlite3'}")
    sys.path.insert(0, str(ROOT))
    from argon2 import PasswordHasher

    from core import passwords
    from app import create_app
    from core.extensions import db
    from models import ROLE_STUDENT, ClassSession, Course, Enrollment, Paper, Presentation, User
    from core.timeutil import now_utc

    # Logging in hundreds of students is not what is measured: hash at the lowest cost.
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    app = create_app({"SECRET_KEY": "submit-cost-secret-key-0123456789", "LOGIN_RATE_LIMIT": "1000000 per minute",
                      "LOGIN_ADDRESS_RATE_LIMIT": "1000000 per minute"})
    with app.app_context():
        db.create_all()
        course = Course(code="COST 1", title="Submission cost", timezone="America/Chicago")
        session = ClassSession(course=course, starts_at=now_utc() + timedelta(days=2), room="Hall", slots=1)
        paper = Paper(course=course, title="DistServe", abstract="Disaggregated serving.", topic="Scheduling")
        presentation = Presentation(
            course=course, session=session, slot=1, paper=paper, review_deadline=now_utc() + timedelta(days=1)
        )
        password_hash = passwords.hash_password(PASSWORD)
        for n in range(1, students + 1):
            user = User(email=f"cost{n:03d}@colloquy.test", display_name=f"Student {n}", password_hash=password_hash)
            db.session.add(Enrollment(user=user, course=course, role=ROLE_STUDENT))
        db.session.add(presentation)
        db.session.commit()
        path = f"/courses/{course.id}/presentations/{presentation.id}/review"
    return app, db, path


def log_in(app, email: str):
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the submissions here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="submit-cost-") as tmp:
        app, db, path = build(Path(tmp), args.students)
        from sqlalchemy import event

        clients = [log_in(app, f"cost{n:03d}@colloquy.test") for n in range(1, args.students + 1)]
        tokens = [CSRF.search(c.get(path).get_data(as_text=True)).group(1) for c in clients]
        with app.app_context():
            engine = db.engine
        statements: list[str] = []

        def note(conn, cursor, statement, *rest):
            statements.append(statement.split(None, 1)[0].upper())

        event.listen(engine, "before_cursor_execute", note)
        timings, cpu, counts = [], [], []
        profiler = cProfile.Profile() if args.profile else None
        for i, client in enumerate(clients):
            data = {"csrf_token": tokens[i], "score": "4", "confidence": "3", "pledge": "y"}
            data.update({f"answer_{k}": v for k, v in ANSWERS.items()})
            del statements[:]
            if profiler:
                profiler.enable()
            started, started_cpu = time.perf_counter(), time.thread_time()
            response = client.post(path, data=data)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
            if profiler:
                profiler.disable()
            assert response.status_code == 302 and "/reviews/" in response.headers["Location"], response.status_code
            counts.append(Counter(statements))
        event.remove(engine, "before_cursor_execute", note)
        if profiler:
            profiler.dump_stats(args.profile)
    last = counts[-1]
    result = {
        "students": args.students,
        "median_ms": round(percentile(timings, 50), 2),
        "p90_ms": round(percentile(timings, 90), 2),
        "cpu_median_ms": round(percentile(cpu, 50), 2),
        "statements": sum(last.values()),
        "reads": last.get("SELECT", 0),
        "writes": sum(v for k, v in last.items() if k in ("INSERT", "UPDATE", "DELETE")),
        "by_kind": dict(last),
        "load_average": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""The gradebook at the size of a full term: the staff grid and the CSV export, their time and
their SQL statements, against a bare query of the same rows in the same run.

``python bench/gradebook.py [--students 300] [--check 100] [--repeats 15] [--profile out.prof]``

1. A temporary SQLite file is migrated (``flask db upgrade``, in-process) and filled with bulk
   inserts: one course with N students and an instructor, 40 presentations (two presenters
   each) whose review deadlines have passed, a review from every other student on each (some
   late, some missing, some extended, half of them graded on the review page), 12 panels of 100
   questions with votes and verdicts, project groups of two with every milestone submitted (some
   twice, some late, some extended), and grades on the rubric for the other reviews, the
   presentation, the discussion and every project item; half of the items are posted. The
   gradebook's own rows (categories, rubrics, items) come from ``domain.grades.setup``.
2. The server's steady state is set up as ``core.server.serve`` and its checkpointer keep it:
   the write-ahead log copied into the database file (``core.sqlite_checkpoint.checkpoint``;
   left in the log, every read of the freshly built course walks it: the grid took 160 ms of CPU
   instead of 110) and the collector tuned (``core.server.tune_gc``: start-up frozen, young
   collections rarer; at Python's defaults a full collection over the built course lands in some
   requests). Then the instructor logs in through the form and Flask's test client GETs the grid
   page and the CSV export: a few warm-up requests, then ``--repeats`` rounds in which the grid,
   the CSV and the bare read of step 3 take turns (a busy spell of the machine falls on all
   three alike); the median of each is reported, and the SQL statements of one request (a
   ``before_cursor_execute`` counter on the engine).
3. The bare figure, in the same run: the same rows the grid is made of (students, items,
   grades, reviews, extensions, presenters, groups, milestone submissions), read with one
   plain ``sqlite3`` query per kind of row and turned into tuples, no ORM, no arithmetic, no
   template (``bare_ms``). ``ratio`` is ``grid_ms / bare_ms``; ``book_ms`` is the gradebook's
   read model alone (``read_book``, every cell computed, nothing rendered), to tell the
   loading's share from the page's.
4. The same course with ``--check`` students is built too and its statement counts are
   compared: a constant number of statements means the same count at both sizes.

The last line printed is one JSON object with ``students``, ``grid_ms``, ``csv_ms``,
``queries``, ``bare_ms``, ``ratio`` and the supporting figures.

Figures on the shared 2-core machine, 300 students, 19 statements per request at 100 and 300
students throughout:
- before the read model and grid were tuned (load about 2): grid_ms 1177.8, csv_ms 791.3,
  bare_ms 94.2, ratio 12.5; after a first tuning: grid_ms 552.3, csv_ms 385.5, bare_ms 80.9,
  ratio 6.83 (the log unchecked and the collector at its defaults, as this benchmark then ran);
- with the read model built column by column, rows fetched at once, no comments read for the
  grid and CSV, figures written through a by-value cache, and the steady state of step 2
  (9 repeats, load 5.2 from other work): grid_ms 146.8, csv_ms 127.5, bare_ms 53.2, ratio 2.76,
  CPU 110.3 / 103.0 / 40.0 ms (cpu_ratio 2.76);
- the same with the three taking turns (15 rounds, load 1.5–1.8, one other test run on the
  second core), three runs back to back: ratio 2.40 / 2.59 / 2.41, csv_ratio 2.32 / 2.50 / 2.39,
  e.g. grid_ms 156.1, csv_ms 151.1, bare_ms 65.1 (cpu_ratio 2.21). Without the turns, runs at the
  same load gave ratio 1.91 and 3.33: whichever spell each figure's repeats fell in.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "gradebook-bench-password"
INSTRUCTOR = "instructor@gradebook.test"
PRESENTATIONS = 40
PRESENTERS = 2
PANELS = 12
QUESTIONS_PER_PANEL = 100
WARMUP = 2


def student_email(n: int) -> str:
    return f"student{n:04d}@gradebook.test"


# --------------------------------------------------------------------------- the course


def build(database: Path, students: int):
    """The app on ``database`` (migrated) with the course filled; returns (app, course id)."""
    os.environ.update(SOCKETIO_ASYNC_MODE="threading", DATABASE_URL=f"sqlite:///{database}")
    sys.path.insert(0, str(ROOT))
    from argon2 import PasswordHasher
    from flask_migrate import upgrade

    from app import create_app
    from core import passwords
    from core.extensions import db

    # Logging in is not what is measured: hash at the lowest cost.
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    app = create_app({"SECRET_KEY": "gradebook-bench-secret-key-0123456789",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                      "LOGIN_RATE_LIMIT": "1000000 per minute"})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        course_id = fill(db, students)
    return app, course_id


def fill(db, students: int) -> int:
    """Bulk-insert the term (see the module's docstring) and return the course id."""
    from sqlalchemy import insert, select

    from core import passwords
    from core.timeutil import now_utc
    from domain.grades.setup import ensure_gradebook, settings_for
    from models import (
        MEMBER_PRESENTING,
        MILESTONE_KINDS,
        REVIEW_SUBMITTED,
        ROLE_INSTRUCTOR,
        ROLE_STUDENT,
        ClassSession,
        Course,
        Enrollment,
        Extension,
        Grade,
        GradeItem,
        Milestone,
        MilestoneExtension,
        MilestoneSubmission,
        PanelRoom,
        Paper,
        Presentation,
        PresentationMember,
        ProjectGroup,
        ProjectMember,
        Question,
        Review,
        Rubric,
        User,
        VerdictVote,
        Vote,
    )

    now = now_utc()
    term_start = now - timedelta(days=100)
    s = db.session
    course = Course(code="GB 300", title="Gradebook at scale", timezone="America/Chicago",
                    late_policy="accept", late_penalty_per_day=10.0, grace_minutes=15)
    s.add(course)
    s.flush()
    cid = course.id
    password_hash = passwords.hash_password(PASSWORD)

    def bulk(model, rows):
        if rows:
            s.execute(insert(model), rows)

    # People.
    bulk(User, [{"email": INSTRUCTOR, "display_name": "Ida Instructor", "password_hash": password_hash,
                 "session_token": "gb-instructor", "calendar_token": "gb-instructor-cal"}]
         + [{"email": student_email(n), "display_name": f"Student {n:04d}", "password_hash": password_hash,
             "session_token": f"gb-{n}", "calendar_token": f"gb-cal-{n}"} for n in range(1, students + 1)])
    ids = dict(s.execute(select(User.email, User.id)).all())
    instructor = ids[INSTRUCTOR]
    student_ids = [ids[student_email(n)] for n in range(1, students + 1)]
    bulk(Enrollment, [{"user_id": instructor, "course_id": cid, "role": ROLE_INSTRUCTOR}]
         + [{"user_id": u, "course_id": cid, "role": ROLE_STUDENT} for u in student_ids])

    # Forty presentations in twenty sessions, two presenters each, deadlines passed.
    sessions = []
    for k in range(PRESENTATIONS // 2):
        starts = term_start + timedelta(days=3 * k + 1)
        sessions.append(ClassSession(course_id=cid, starts_at=starts, room="Hall", slots=2))
    s.add_all(sessions)
    papers = [Paper(course_id=cid, title=f"Paper {k + 1}: serving at scale", abstract="Serving.", topic="Serving")
              for k in range(PRESENTATIONS)]
    s.add_all(papers)
    s.flush()
    presentations = []
    for k in range(PRESENTATIONS):
        session = sessions[k // 2]
        presentations.append(Presentation(course_id=cid, session_id=session.id, slot=k % 2 + 1, paper_id=papers[k].id,
                                          review_deadline=session.starts_at - timedelta(hours=12)))
    s.add_all(presentations)
    s.flush()
    presenters = {}
    members = []
    for k, p in enumerate(presentations):
        for seat in range(PRESENTERS):
            uid = student_ids[(k * PRESENTERS + seat) % students]
            if uid in presenters:
                continue
            presenters[uid] = p.id
            members.append({"course_id": cid, "presentation_id": p.id, "user_id": uid, "kind": MEMBER_PRESENTING,
                            "seat": seat + 1})
    bulk(PresentationMember, members)

    # Reviews: every other student on every presentation; 5% late, 3% missing, 1% extended.
    reviews, extensions = [], []
    for k, p in enumerate(presentations):
        number = 0
        for j, uid in enumerate(student_ids):
            if presenters.get(uid) == p.id:
                continue
            tick = (j * 7 + k * 3) % 100
            if tick < 3:
                continue
            if tick == 3:
                extensions.append({"course_id": cid, "presentation_id": p.id, "user_id": uid,
                                   "deadline": p.review_deadline + timedelta(days=2), "reason": "Ill"})
            late = 4 <= tick < 9
            at = p.review_deadline + (timedelta(hours=5 + tick) if late else -timedelta(hours=2 + tick % 20))
            number += 1
            reviews.append({
                "presentation_id": p.id, "author_id": uid, "status": REVIEW_SUBMITTED, "pledge": True,
                "answers": {"summary": "A summary.", "strengths": "Clear.", "weaknesses": "Few baselines.",
                            "questions": "Why this workload?"},
                "score": 3, "confidence": 3, "submitted_at": at, "is_late": late, "pseudonym_no": number,
                "grade": float(5 + (j + k) % 6) if k % 2 == 0 else None,
                "feedback": "Good critique." if k % 2 == 0 else "",
            })
    bulk(Review, reviews)
    bulk(Extension, extensions)

    # Twelve panels of a hundred questions, with votes and verdicts.
    rooms = [PanelRoom(presentation_id=p.id, phase="closed", seq=QUESTIONS_PER_PANEL * 3)
             for p in presentations[:PANELS]]
    s.add_all(rooms)
    s.flush()
    states = ("answered", "answered", "dismissed", "queued", "merged")
    bulk(Question, [
        {"room_id": room.id, "asker_id": student_ids[(r * 37 + q) % students], "client_id": f"gb-{room.id}-{q}",
         "text": f"Question {q} on panel {r}", "state": states[q % len(states)],
         "outcome": ("rebutted", "conceded", "deferred")[q % 3] if q % len(states) < 2 else None,
         "from_review": q % 4 == 0, "created_at": term_start}
        for r, room in enumerate(rooms) for q in range(QUESTIONS_PER_PANEL)
    ])
    questions = s.execute(select(Question.id, Question.asker_id)).all()
    bulk(Vote, [{"question_id": qid, "user_id": student_ids[(qid * 13 + v * 17) % students]}
                for qid, asker in questions for v in range(5)
                if student_ids[(qid * 13 + v * 17) % students] != asker])
    bulk(VerdictVote, [{"room_id": room.id, "user_id": uid, "verdict": ("accept", "revise", "reject")[j % 3]}
                       for room in rooms for j, uid in enumerate(student_ids) if j % 3 != 1])

    # The project: groups of two, every milestone submitted (a tenth twice, a tenth late, some extended).
    groups = [ProjectGroup(course_id=cid, name=f"Group {g + 1}", topic_status="approved")
              for g in range((students + 1) // 2)]
    s.add_all(groups)
    s.flush()
    bulk(ProjectMember, [{"course_id": cid, "group_id": groups[j // 2].id, "user_id": uid, "seat": j % 2 + 1}
                         for j, uid in enumerate(student_ids)])
    milestones = [Milestone(course_id=cid, kind=kind, title=str(kind).title(),
                            deadline=term_start + timedelta(days=20 * (m + 1)))
                  for m, kind in enumerate(MILESTONE_KINDS)]
    s.add_all(milestones)
    s.flush()
    submissions, milestone_extensions = [], []
    for m in milestones:
        for g, group in enumerate(groups):
            late = g % 10 == 1
            first = m.deadline + (timedelta(hours=30) if late else -timedelta(days=1))
            submissions.append({"milestone_id": m.id, "group_id": group.id, "version": 1, "title": "Our project",
                                "submitted_at": first, "late": late, "confirmations": {"original": True}})
            if g % 10 == 2:
                submissions.append({"milestone_id": m.id, "group_id": group.id, "version": 2, "title": "Revised",
                                    "submitted_at": m.deadline - timedelta(hours=1), "confirmations": {}})
            if g % 25 == 1:
                milestone_extensions.append({"milestone_id": m.id, "group_id": group.id,
                                             "deadline": m.deadline + timedelta(days=2), "reason": "Cluster down"})
    bulk(MilestoneSubmission, submissions)
    bulk(MilestoneExtension, milestone_extensions)
    s.flush()

    # The gradebook's own rows through its setup, then grades on the rubric for most items.
    ensure_gradebook(course)
    settings_for(course)
    s.flush()
    rubrics = {r.kind: r.criteria for r in s.scalars(select(Rubric).where(Rubric.course_id == cid))}
    items = list(s.scalars(select(GradeItem).where(GradeItem.course_id == cid)))
    written = {(r["presentation_id"], r["author_id"]): r for r in reviews}
    grades = []
    for n, item in enumerate(items):
        criteria = rubrics.get(item.rubric_kind) if item.rubric_kind else None
        for j, uid in enumerate(student_ids):
            if item.presentation_id is not None:
                review = written.get((item.presentation_id, uid))
                # Even presentations keep their review-page grade; the others are graded here.
                if review is None or review["grade"] is not None:
                    continue
            elif item.key == "presentation" and uid not in presenters:
                continue
            elif (j + n) % 11 == 0:
                continue  # not graded yet
            late = item.presentation_id is not None and written[(item.presentation_id, uid)]["is_late"]
            if criteria:
                points = {c["key"]: float(c["points"]) * ((j + n) % 5 + 1) / 5 for c in criteria}
                score = 100.0 * sum(points.values()) / sum(float(c["points"]) for c in criteria)
            else:
                points, score = {}, float(60 + (j * 3 + n) % 41)
            grades.append({"course_id": cid, "item_id": item.id, "student_id": uid, "rubric_points": points,
                           "score": score, "comment": "Well argued; tighten the evaluation." if j % 3 == 0 else "",
                           "late_seconds": 18000 if late else 0, "penalty_percent": 10.0 if late else 0.0,
                           "penalty_waived": late and j % 4 == 0, "waive_reason": "Illness" if late and j % 4 == 0 else "",
                           "graded_by_id": instructor})
    bulk(Grade, grades)
    for n, item in enumerate(items):
        if n % 2 == 0:
            item.posted_at, item.posted_by_id = now - timedelta(days=1), instructor
    s.commit()
    return cid


# --------------------------------------------------------------------------- measuring


class Counter:
    """SQL statements sent on an engine while ``on``."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.on, self.count = False, 0
        event.listen(engine, "before_cursor_execute", self._note)

    def _note(self, *args):
        if self.on:
            self.count += 1

    def around(self, fn):
        self.count, self.on = 0, True
        try:
            fn()
        finally:
            self.on = False
        return self.count


def log_in(app):
    """A test client logged in as the instructor through the login form (CSRF on)."""
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"csrf_token": token, "email": INSTRUCTOR, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median wall-clock and CPU (this thread's) milliseconds of ``fn`` over ``repeats`` calls,
    after the warm-up; CPU time is the figure other processes on a busy machine disturb less."""
    return interleaved({"fn": fn}, repeats)["fn"]


def interleaved(fns: dict, repeats: int, profiler=None, profiled=()) -> dict:
    """``timed`` for several functions taking turns, one call of each per round, so that a
    busier or quieter spell of a shared machine falls on all of them alike; the calls of the
    names in ``profiled`` run under ``profiler``."""
    for _ in range(WARMUP):
        for fn in fns.values():
            fn()
    times: dict = {name: [] for name in fns}
    cpu: dict = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            profiling = profiler is not None and name in profiled
            if profiling:
                profiler.enable()
            started, started_cpu = time.perf_counter(), time.thread_time()
            fn()
            times[name].append((time.perf_counter() - started) * 1000)
            cpu[name].append((time.thread_time() - started_cpu) * 1000)
            if profiling:
                profiler.disable()
    return {name: (statistics.median(times[name]), statistics.median(cpu[name])) for name in fns}


BARE_QUERIES = (
    "SELECT users.id, users.display_name, users.email FROM users JOIN enrollments ON enrollments.user_id = users.id "
    "WHERE enrollments.course_id = ? AND enrollments.role = 'student' ORDER BY users.display_name, users.id",
    "SELECT * FROM grade_items WHERE course_id = ? ORDER BY position, id",
    "SELECT * FROM grades WHERE course_id = ?",
    "SELECT reviews.presentation_id, reviews.author_id, reviews.status, reviews.submitted_at, reviews.grade, "
    "reviews.feedback, presentations.review_deadline FROM reviews "
    "JOIN presentations ON presentations.id = reviews.presentation_id WHERE presentations.course_id = ?",
    "SELECT presentation_id, user_id, deadline FROM extensions WHERE course_id = ?",
    "SELECT presentation_id, user_id, kind FROM presentation_members WHERE course_id = ?",
    "SELECT user_id, group_id FROM project_members WHERE course_id = ?",
    "SELECT milestones.kind, milestones.deadline, milestone_submissions.group_id, milestone_submissions.submitted_at, "
    "milestone_extensions.deadline FROM milestones "
    "LEFT JOIN milestone_submissions ON milestone_submissions.milestone_id = milestones.id "
    "LEFT JOIN milestone_extensions ON milestone_extensions.milestone_id = milestones.id "
    "AND milestone_extensions.group_id = milestone_submissions.group_id WHERE milestones.course_id = ?",
)


def bare_read(database: Path, course_id: int) -> int:
    """The grid's rows read with plain sqlite3 (a fresh connection, as a request gets one)."""
    connection = sqlite3.connect(database)
    try:
        return sum(len(connection.execute(sql, (course_id,)).fetchall()) for sql in BARE_QUERIES)
    finally:
        connection.close()


def measure(students: int, repeats: int, profile: Path | None = None) -> dict:
    """Build the course with ``students`` and measure the grid, the CSV and the bare read."""
    with tempfile.TemporaryDirectory(prefix="gradebook-bench-") as tmp:
        database = Path(tmp) / "gradebook.sqlite3"
        started = time.perf_counter()
        app, course_id = build(database, students)
        print(f"{students} students: built in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
        from core.extensions import db
        from core.server import tune_gc
        from core.sqlite_checkpoint import checkpoint

        with app.app_context():
            engine = db.engine
            rows = {t: n for t, n in db.session.execute(db.text(
                "SELECT 'grades', count(*) FROM grades UNION ALL SELECT 'reviews', count(*) FROM reviews "
                "UNION ALL SELECT 'questions', count(*) FROM questions "
                "UNION ALL SELECT 'items', count(*) FROM grade_items "
                "UNION ALL SELECT 'submissions', count(*) FROM milestone_submissions"))}
            db.session.remove()
        # The log copied into the database file, as the server's checkpointer
        # (``core.sqlite_checkpoint``) keeps it between requests.
        checkpoint(str(database))
        # The collector as the server runs it (``core.server.serve``): what start-up and the build
        # allocated frozen, young collections rarer. Left at Python's defaults, a full collection
        # over the built course lands in some requests and not others.
        tune_gc()
        client = log_in(app)
        counter = Counter(engine)
        grid_path = f"/courses/{course_id}/gradebook"
        csv_path = f"/courses/{course_id}/gradebook/export.csv"

        def get(path):
            def run():
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                return response
            return run

        size = len(get(grid_path)().data)
        lines = get(csv_path)().get_data(as_text=True).count("\n")
        assert lines == students + 1, lines
        grid_queries = counter.around(get(grid_path))
        csv_queries = counter.around(get(csv_path))
        bare_rows = bare_read(database, course_id)
        profiler = cProfile.Profile() if profile else None
        measured = interleaved({"grid": get(grid_path), "csv": get(csv_path),
                                "bare": lambda: bare_read(database, course_id)},
                               repeats, profiler, profiled=("grid", "csv"))
        (grid_ms, grid_cpu_ms), (csv_ms, csv_cpu_ms), (bare_ms, bare_cpu_ms) = (
            measured["grid"], measured["csv"], measured["bare"])
        if profiler:
            profiler.dump_stats(profile)
        with app.app_context():
            from core.timeutil import now_utc
            from domain.grades.gradebook import read_book
            from models import Course

            course = db.session.get(Course, course_id)

            def book():
                db.session.expire_all()
                read_book(course, now_utc())

            book_ms, book_cpu_ms = timed(book, repeats)
            db.session.rollback()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return {"students": students, "grid_ms": round(grid_ms, 1), "csv_ms": round(csv_ms, 1),
            "grid_queries": grid_queries, "csv_queries": csv_queries, "bare_ms": round(bare_ms, 1),
            "book_ms": round(book_ms, 1), "book_cpu_ms": round(book_cpu_ms, 1),
            "grid_cpu_ms": round(grid_cpu_ms, 1), "csv_cpu_ms": round(csv_cpu_ms, 1), "bare_cpu_ms": round(bare_cpu_ms, 1),
            "bare_rows": bare_rows, "grid_kb": round(size / 1024), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--check", type=int, default=100, help="also count statements at this size (0: skip)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the measured requests here")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    small = measure(args.check, 1) if args.check else None
    if small:
        print("check:", json.dumps(small), file=sys.stderr, flush=True)
    big = measure(args.students, args.repeats, args.profile)
    print("full:", json.dumps(big), file=sys.stderr, flush=True)
    result = {
        "students": args.students,
        "grid_ms": big["grid_ms"],
        "csv_ms": big["csv_ms"],
        "queries": big["grid_queries"],
        "csv_queries": big["csv_queries"],
        "bare_ms": big["bare_ms"],
        "ratio": round(big["grid_ms"] / big["bare_ms"], 2) if big["bare_ms"] else None,
        "csv_ratio": round(big["csv_ms"] / big["bare_ms"], 2) if big["bare_ms"] else None,
        "book_ms": big["book_ms"],
        "grid_cpu_ms": big["grid_cpu_ms"],
        "csv_cpu_ms": big["csv_cpu_ms"],
        "bare_cpu_ms": big["bare_cpu_ms"],
        "cpu_ratio": round(big["grid_cpu_ms"] / big["bare_cpu_ms"], 2) if big["bare_cpu_ms"] else None,
        "queries_at": ({str(args.check): [small["grid_queries"], small["csv_queries"]]} if small else {})
        | {str(args.students): [big["grid_queries"], big["csv_queries"]]},
        "constant_queries": (small["grid_queries"] == big["grid_queries"]
                             and small["csv_queries"] == big["csv_queries"]) if small else None,
        "bare_rows": big["bare_rows"],
        "rows": big["rows"],
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""The production database path: PostgreSQL through DATABASE_URL, on a server the tests start.

The migrations build, check and remove the schema, and the demo loads, through the ``flask``
commands as ``make db`` runs them. The races the SQLite suite proves (sign-up, review
pseudonyms, two moderators in a panel room) run again here, where concurrent writers really
overlap and only row locks and unique indexes keep them apart.

``app`` is overridden in this module, so conftest's ``make``, ``login_as`` and ``client`` work
against PostgreSQL; each test starts on empty tables.
"""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from core.timeutil import now_utc
from domain.panel import commands
from core.config import load_config
from tests.support.apps import postgres_app
from tests.support.factories import ROLE_STUDENT, T0
from core.extensions import db
from models import MEMBER_PRESENTING, MEMBER_SUMMARY, ClassSession, PresentationMember, Question, Review, User
from test_leak_matrix import _get_paths, world  # noqa: F401  (world is a fixture)
from test_panel_socket import approved, cast, question  # noqa: F401  (cast is a fixture)
from test_reviews import GOOD
# The sign-up races of tests/test_signup_race.py, imported so they are collected again here and
# run on this module's PostgreSQL ``app``.
from test_signup_race import (  # noqa: F401  (fixtures and tests)
    course,
    post,
    run_together,
    session,
    test_claim_in_two_app_contexts_same_paper,
    test_double_submit_by_one_student_gives_one_presentation,
    test_last_seat_of_a_group_at_the_same_instant,
    test_same_paper_at_the_same_instant,
    test_same_paper_past_the_checks_database_decides,
    test_same_slot_different_papers_at_the_same_instant,
    test_same_slot_past_the_checks_database_decides,
)
from tests.support.panel import new_cid
from tests.support.pg import SERVER_TIMEZONE

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
UTC = timezone.utc


@pytest.fixture
def app(pg_url, tmp_path, monkeypatch):
    """The test app on PostgreSQL, its database settings read from DATABASE_URL as in production."""
    with postgres_app(monkeypatch, pg_url, tmp_path) as app:
        yield app


# --------------------------------------------------------------------------- migrations and demo


def flask_command(url: str, *args: str) -> subprocess.CompletedProcess:
    """``flask --app app <args>`` in a subprocess configured by DATABASE_URL, as ``make db`` runs it."""
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": url,
        "SECRET_KEY": "postgres-test-secret-key-123456",
        "SOCKETIO_ASYNC_MODE": "threading",
    }
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, f"flask {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done


def load_config_url(url: str) -> str:
    """The SQLAlchemy URL config.py makes of a DATABASE_URL."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", url)
        mp.setenv("SECRET_KEY", "postgres-test-secret-key-123456")
        return load_config("/nonexistent")["SQLALCHEMY_DATABASE_URI"]


def test_migrations_demo_and_downgrade_on_postgres(pg_cluster):
    url = pg_cluster.create_database("migrations")
    engine = create_engine(load_config_url(url))
    try:
        flask_command(url, "db", "upgrade")
        tables = set(inspect(engine).get_table_names())
        assert {"users", "courses", "reviews", "panel_rooms", "alembic_version"} <= tables
        [index] = [i for i in inspect(engine).get_indexes("presentation_members")
                   if i["name"] == "uq_one_presentation_per_student"]
        assert index["unique"] and "presenting" in index["dialect_options"]["postgresql_where"]

        check = flask_command(url, "db", "check")
        assert "No new upgrade operations detected" in check.stdout + check.stderr

        assert "Demo course loaded" in flask_command(url, "seed-demo", "--if-empty").stdout
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM users")) >= 14
            assert connection.scalar(text("SELECT count(*) FROM reviews WHERE pseudonym_no IS NOT NULL")) > 0

        flask_command(url, "db", "downgrade", "-x", "force_drop_all=yes", "base")  # forced: see test_migrations
        engine.dispose()
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM alembic_version")) == 0
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- every page


@pytest.mark.parametrize("viewer_name", ["instructor", "critic_submitted"])
def test_every_get_path_answers_on_postgres(app, world, viewer_name, login_as):
    """Every GET path of the leak matrix's world, in HTML and JSON, answers without a server error."""
    viewer = world["viewers"][viewer_name]
    client = login_as(viewer)
    paths = _get_paths(app, world, viewer)
    assert len(paths) > 30
    failures = []
    for path in paths:
        for accept in ("text/html", "application/json"):
            resp = client.get(path, headers={"Accept": accept})
            if path == "/readyz":
                # The readiness probe's 503 is its answer, not a failure: this schema was made by
                # create_all, so the migrations check says so; the database check passes.
                assert resp.get_json()["checks"]["database"] == "ok", resp.get_json()
                assert resp.status_code == 200 or resp.get_json()["checks"]["migrations"] != "current"
            elif resp.status_code >= 500:
                failures.append((path, accept, resp.status_code))
    assert not failures


# --------------------------------------------------------------------------- one presentation per student


def test_one_presenting_membership_per_student_and_course(course, session, make):
    """The partial unique index refuses a second presenting role; other memberships are free."""
    student = make.member(course, ROLE_STUDENT)
    first = make.presentation(course, session=session, presenters=[student])
    second = make.presentation(course, session=session)

    db.session.add(PresentationMember(course_id=course.id, presentation=second, user=student,
                                      kind=MEMBER_PRESENTING, seat=1))
    with pytest.raises(IntegrityError, match="uq_one_presentation_per_student"):
        db.session.commit()
    db.session.rollback()

    # Writing the other presentation's summary, or presenting in another course, is allowed.
    db.session.add(PresentationMember(course_id=course.id, presentation_id=second.id, user_id=student.id,
                                      kind=MEMBER_SUMMARY, seat=1))
    db.session.commit()
    other_course = make.course()
    make.enroll(student, other_course)
    make.presentation(other_course, presenters=[student])
    kinds = sorted(m.kind for m in db.session.scalars(select(PresentationMember).filter_by(user_id=student.id)))
    assert kinds == [MEMBER_PRESENTING, MEMBER_PRESENTING, MEMBER_SUMMARY]
    assert first.member_ids(MEMBER_PRESENTING) == {student.id}


# --------------------------------------------------------------------------- reviews


def test_drafts_submitted_at_once_get_distinct_pseudonyms(make, login_as, clock):
    course = make.course()
    critics = [make.member(course, ROLE_STUDENT) for _ in range(4)]
    presentation = make.presentation(course, review_deadline=T0 + timedelta(days=1))
    form = f"/courses/{course.id}/presentations/{presentation.id}/review"
    clients = [login_as(critic) for critic in critics]
    for client in clients[:3]:  # three write drafts first, the fourth submits straight away
        resp = client.post(form + "/draft", json={"answer_summary": "Draft thoughts.", "score": "3"})
        assert resp.status_code == 200, resp.data[:300]
    assert db.session.scalar(select(func.count(Review.id)).where(Review.status == "draft")) == 3

    results = run_together(*(post(client, form, {**GOOD, "action": "submit"}) for client in clients))
    assert [code for code, _ in results] == [302] * len(clients), [page[:300] for _, page in results]
    db.session.expire_all()
    reviews = db.session.scalars(select(Review).where(Review.presentation_id == presentation.id)).all()
    assert sorted(r.author_id for r in reviews) == sorted(c.id for c in critics)
    assert all(r.status == "submitted" and r.submitted_at == T0 for r in reviews)
    assert sorted(r.pseudonym_no for r in reviews) == [1, 2, 3, 4]


# --------------------------------------------------------------------------- time


def test_aware_datetimes_round_trip_as_utc(make):
    assert db.session.scalar(text("SHOW TimeZone")) == SERVER_TIMEZONE  # far from UTC on purpose
    course = make.course()
    # 01:30 in New York on the night clocks spring forward (EST, UTC-5).
    new_york = datetime(2026, 3, 8, 1, 30, tzinfo=ZoneInfo("America/New_York"))
    in_utc = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
    session_id = make.session(course, starts_at=new_york).id
    db.session.expire_all()

    stored = db.session.get(ClassSession, session_id)
    assert stored.starts_at == in_utc and stored.starts_at.tzinfo is UTC
    raw = db.session.scalar(text("SELECT starts_at FROM class_sessions WHERE id = :id"), {"id": session_id})
    assert raw == in_utc.replace(tzinfo=None)  # UTC wall time, whatever the server's zone
    assert db.session.scalar(select(ClassSession.id).where(ClassSession.starts_at > in_utc - timedelta(seconds=1),
                                                           ClassSession.starts_at < in_utc + timedelta(seconds=1)))

    with pytest.raises(StatementError, match="naive datetime"):
        make.session(course, starts_at=datetime(2026, 3, 8, 6, 30))
    db.session.rollback()


# --------------------------------------------------------------------------- panel room


def moderator_action(app, room_id: int, user_id: int, event: str, args: dict):
    """One moderator's action in its own app context (own session and connection); its ack."""

    def call():
        with app.app_context():
            user = db.session.get(User, user_id)
            try:
                change = commands.apply(event, room_id, user, new_cid(), args, now_utc())
                db.session.commit()
                return change.ack
            except commands.PanelError as exc:
                return {"ok": False, "error": exc.code}

    return call


def test_concurrent_set_live_leaves_exactly_one_live(app, cast):
    ids = [approved(cast, cast.critics[n % 3], f"Question {n}?") for n in range(6)]
    room, ines, theo = cast.room.id, cast.instructor.id, cast.ta.id
    for a, b in zip(ids[0::2], ids[1::2]):
        acks = run_together(
            moderator_action(app, room, ines, "set_live", {"question_id": a, "version": question(a).version}),
            moderator_action(app, room, theo, "set_live", {"question_id": b, "version": question(b).version}),
        )
        assert all(ack["ok"] for ack in acks), acks
        db.session.expire_all()
        live = db.session.scalars(select(Question.id).where(Question.state == "live")).all()
        assert len(live) == 1 and live[0] in (a, b)
        assert len({ack["seq"] for ack in acks}) == 2  # the room's writers were serialised


def test_concurrent_set_live_on_one_question_one_conflict(app, cast):
    qid = approved(cast, cast.critics[0])
    args = {"question_id": qid, "version": 2}
    acks = run_together(
        moderator_action(app, cast.room.id, cast.instructor.id, "set_live", args),
        moderator_action(app, cast.room.id, cast.ta.id, "set_live", args),
    )
    assert sorted(ack.get("error", "ok") for ack in acks) == ["conflict", "ok"]
    assert question(qid).state == "live" and question(qid).version == 3

"""The demo course: what `make run` loads so a newcomer sees every feature at once."""
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

from demo import course as demo
from domain import policy
from core.extensions import db
from models import (
    PAPER_APPROVED,
    PAPER_PROPOSED,
    Q_ANSWERED,
    ROLE_INSTRUCTOR,
    ROLE_STUDENT,
    ROLE_TA,
    AuditEvent,
    ClassSession,
    Course,
    Enrollment,
    Extension,
    PanelRoom,
    Paper,
    Presentation,
    Question,
    Review,
    User,
    VerdictVote,
)
from tests.support.factories import login
from core.timeutil import local, now_utc

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def course(app):
    return demo.load_demo()


def _presentations(course):
    return db.session.scalars(
        select(Presentation).where(Presentation.course_id == course.id).order_by(Presentation.review_deadline)
    ).all()


def _released(course):
    now = now_utc()
    released = [p for p in _presentations(course) if policy.is_released(p, now)]
    assert len(released) == 1
    return released[0]


def _open(course):
    """The presentation whose review deadline is the next one still open."""
    now = now_utc()
    upcoming = [p for p in _presentations(course) if not policy.is_released(p, now)]
    return upcoming[0]


def _reviews(presentation):
    return db.session.scalars(select(Review).where(Review.presentation_id == presentation.id)).all()


def _critics(presentation):
    enrolled = db.session.scalars(
        select(Enrollment.user_id).where(
            Enrollment.course_id == presentation.course_id, Enrollment.role == ROLE_STUDENT
        )
    ).all()
    return set(enrolled) - presentation.member_ids()


def test_one_course_with_its_people_and_papers(course):
    assert db.session.scalar(select(func.count(Course.id))) == 1
    assert course.timezone == "America/Chicago"
    roles = [e.role for e in db.session.scalars(select(Enrollment))]
    assert len(roles) == 14
    assert roles.count(ROLE_INSTRUCTOR) == 1 and roles.count(ROLE_TA) == 1
    assert roles.count(ROLE_STUDENT) == 12
    assert sorted(u.email for u in db.session.scalars(select(User))) == sorted(demo.login_emails())

    approved = db.session.scalars(select(Paper).where(Paper.status == PAPER_APPROVED)).all()
    assert 12 <= len(approved) <= 14
    assert len({p.topic for p in approved}) >= 6
    assert all(p.abstract and p.url.startswith("https://") and p.venue and p.year for p in approved)
    proposed = db.session.scalars(select(Paper).where(Paper.status == PAPER_PROPOSED)).all()
    assert len(proposed) == 1 and proposed[0].proposed_by.email == "student09@colloquy.test"


def test_demo_accounts_log_in_with_the_demo_password(course, client):
    student = db.session.scalar(select(User).where(User.email == "student01@colloquy.test"))
    login(client, student, demo.DEMO_PASSWORD)
    assert course.title.encode() in client.get("/").data


def test_every_student_presents_at_most_once_and_free_slots_remain(course):
    presentations = _presentations(course)
    presenters = [uid for p in presentations for uid in p.member_ids("presenting")]
    assert len(presenters) == len(set(presenters)) == len(presentations)
    assert all(len(p.member_ids("presenting")) == course.presentation_group_size for p in presentations)
    assert all(1 <= len(p.member_ids("summary")) <= 2 for p in presentations)
    later = db.session.scalars(select(ClassSession).where(ClassSession.starts_at > now_utc())).all()
    assert sum(s.slots - len(s.presentations) for s in later) >= 4


def test_released_presentation_has_on_time_late_and_missing_reviews(course):
    released = _released(course)
    assert released.session.starts_at < now_utc()
    reviews = _reviews(released)
    on_time = [r for r in reviews if r.is_submitted and not r.is_late]
    late = [r for r in reviews if r.is_submitted and r.is_late]
    assert len(on_time) == 7 and len(late) == 1
    assert all(r.submitted_at <= released.review_deadline for r in on_time)
    assert late[0].submitted_at > released.review_deadline
    assert all(r.pledge for r in on_time + late)
    missing = _critics(released) - {r.author_id for r in reviews}
    assert len(missing) == 1
    assert len({r.text_for_comparison() for r in reviews}) == len(reviews)
    assert sorted(r.pseudonym_no for r in reviews) == list(range(1, len(reviews) + 1))
    assert any(r.kind == "edit" for r in reviews for r in r.revisions)
    assert released.summary_submitted_at and released.summary_text


def test_open_presentation_has_drafts_submissions_and_an_extension(course):
    upcoming = _open(course)
    now = now_utc()
    assert upcoming.review_deadline > now
    assert now < upcoming.session.starts_at < now + timedelta(days=5)
    reviews = _reviews(upcoming)
    assert sum(r.is_submitted for r in reviews) == 2
    assert sum(not r.is_submitted for r in reviews) >= 2
    assert all(r.submitted_at is None or r.submitted_at <= now for r in reviews)
    extensions = db.session.scalars(select(Extension).where(Extension.presentation_id == upcoming.id)).all()
    assert len(extensions) == 1 and extensions[0].deadline > upcoming.review_deadline
    not_started = _critics(upcoming) - {r.author_id for r in reviews} - {e.user_id for e in extensions}
    assert len(not_started) >= 3
    # Nothing of it is released: a critic who submitted still sees no other review.
    submitter = reviews[0].author if reviews[0].is_submitted else reviews[1].author
    assert policy.visible_reviews(submitter, upcoming, now) == []


def test_submissions_and_the_extension_are_in_the_audit_log(course):
    kinds = [e.kind for e in db.session.scalars(select(AuditEvent))]
    submitted = db.session.scalar(select(func.count(Review.id)).where(Review.status == "submitted"))
    assert kinds.count("review.submit") + kinds.count("review.late_submit") == submitted
    assert "review.edit" in kinds and "extension.grant" in kinds
    assert all(e.created_at <= now_utc() for e in db.session.scalars(select(AuditEvent)))


def test_the_released_panel_is_closed_with_answers_and_verdicts(course):
    room = db.session.scalar(select(PanelRoom).where(PanelRoom.presentation_id == _released(course).id))
    assert room.phase == "closed"
    questions = db.session.scalars(select(Question).where(Question.room_id == room.id)).all()
    assert len(questions) >= 3
    assert all(q.state == Q_ANSWERED and q.answer_text and q.outcome for q in questions)
    assert db.session.scalar(select(func.count(VerdictVote.id)).where(VerdictVote.room_id == room.id)) >= 2


def test_the_near_copy_pair_is_flagged_and_nothing_else(course):
    similarity = pytest.importorskip("domain.similarity")
    flags = similarity.flag_pairs(_released(course))
    assert len(flags) == 1
    pair = {flags[0].left.author.email, flags[0].right.author.email}
    assert pair == {"student05@colloquy.test", "student07@colloquy.test"}
    assert any(segment.shared for segment in flags[0].left_segments)


def test_loading_twice_is_refused(course):
    with pytest.raises(demo.DemoAlreadyLoaded):
        demo.load_demo()
    assert db.session.scalar(select(func.count(Course.id))) == 1


def test_logins_text_names_every_account_and_the_password(app):
    text = demo.logins_text()
    assert demo.DEMO_PASSWORD in text
    assert all(email in text for email in demo.login_emails())
    assert len(demo.login_emails()) == 14


@pytest.mark.slow
def test_make_run_path_migrates_and_seeds_only_an_empty_database(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "SECRET_KEY": "demo-test-secret-key-1234567890",
        "SOCKETIO_ASYNC_MODE": "threading",
    }
    flask = [sys.executable, "-m", "flask", "--app", "app"]

    def run(*args):
        done = subprocess.run(flask + list(args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    run("db", "upgrade")
    first = run("seed-demo", "--if-empty")
    assert "Demo course loaded" in first
    second = run("seed-demo", "--if-empty")
    assert "already has data" in second


@pytest.mark.parametrize("weekday", range(7))
def test_sessions_fall_on_weekdays_with_one_released_and_one_open(app, weekday):
    # 18:00 UTC on each day of one week (2 March 2026 is a Monday).
    with time_machine.travel(datetime(2026, 3, 2 + weekday, 18, 0, tzinfo=timezone.utc), tick=False):
        course = demo.load_demo()
        now = now_utc()
        sessions = db.session.scalars(select(ClassSession)).all()
        assert all(local(s.starts_at, course.timezone).weekday() < 5 for s in sessions)
        assert sum(policy.is_released(p, now) for p in _presentations(course)) == 1
        upcoming = _open(course)
        assert now < upcoming.review_deadline
        assert upcoming.session.starts_at < now + timedelta(days=5)

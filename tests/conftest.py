"""Shared fixtures: an app on a temporary SQLite file, factories, logged-in clients, a clock."""
from __future__ import annotations

import itertools
import os
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from flask import g, has_app_context
from flask.testing import FlaskClient

os.environ.setdefault("COLLOQUY_ENV", "development")

from app import create_app  # noqa: E402
from core.extensions import db, limiter  # noqa: E402
from models import (  # noqa: E402
    MEMBER_PRESENTING,
    MEMBER_SUMMARY,
    ROLE_INSTRUCTOR,
    ROLE_STUDENT,
    ROLE_TA,
    ClassSession,
    Course,
    Enrollment,
    Extension,
    Paper,
    Presentation,
    PresentationMember,
    Review,
    User,
)
from core import passwords  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from core.passwords import hash_password  # noqa: E402

# argon2id with production parameters costs ~50–500 ms a login on a loaded 2-core machine;
# the suite logs in thousands of times, so it hashes with argon2id at the lowest cost.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
passwords._DUMMY_HASH = passwords._hasher.hash("colloquy-timing-equaliser")

PASSWORD = "correct horse battery"
_PASSWORD_HASH = hash_password(PASSWORD)
_seq = itertools.count(1)

# A fixed "now" for tests: Monday 2 March 2026, 12:00 UTC.
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


class FreshRequestClient(FlaskClient):
    """A test client whose every request starts with an empty ``g``, as in production.

    The ``app`` fixture keeps an app context open for the whole test and Flask reuses it for
    requests, so without this ``g`` would carry Flask-Login's cached user and Flask-WTF's
    ``csrf_valid`` mark from one request (and one client) to the next.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            for key in list(g):
                g.pop(key)
        return super().open(*args, **kwargs)


def app_config(database_path, **overrides) -> dict:
    """The test configuration on the given SQLite file (CSRF off), with ``overrides`` applied."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production-use",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database_path}",
        "WTF_CSRF_ENABLED": False,
        "SOCKETIO_ASYNC_MODE": "threading",
        "SOCKETIO_MESSAGE_QUEUE": None,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
        **overrides,
    }


@contextmanager
def fresh_tables(app):
    """Inside ``app``'s context with every table created empty; dropped again on leaving."""
    with app.app_context():
        db.create_all()
        limiter.reset()
        yield app
        db.session.remove()
        db.drop_all()


@pytest.fixture
def app(tmp_path):
    """A fresh application on its own SQLite file, CSRF off (tests/test_security.py turns it on)."""
    app = create_app(app_config(tmp_path / "test.sqlite3"))
    app.test_client_class = FreshRequestClient
    with fresh_tables(app):
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_app(tmp_path):
    """``make_app(**overrides)`` → another app with the test config plus overrides, on its own
    SQLite file with the tables created (push ``app.app_context()`` to add data to it)."""
    counter = itertools.count(1)

    def _make(**overrides):
        other = create_app(app_config(tmp_path / f"other-{next(counter)}.sqlite3", **overrides))
        other.test_client_class = FreshRequestClient
        with other.app_context():
            db.create_all()
            limiter.reset()
        return other

    return _make


@pytest.fixture
def clock():
    """Move time for integration tests: ``clock.to(dt)``; starts at T0."""

    class Clock:
        def __init__(self):
            self._traveller = None

        def to(self, when: datetime):
            if self._traveller is not None:
                self._traveller.stop()
            self._traveller = time_machine.travel(when, tick=False)
            self._traveller.start()
            return when

        def stop(self):
            if self._traveller is not None:
                self._traveller.stop()
                self._traveller = None

    c = Clock()
    c.to(T0)
    yield c
    c.stop()


# --------------------------------------------------------------------------- factories


class Factory:
    """Builds consistent course data with sensible defaults; every method commits."""

    def user(self, name: str | None = None, email: str | None = None) -> User:
        n = next(_seq)
        name = name or f"User {n}"
        user = User(
            email=email or f"user{n}@example.edu",
            display_name=name,
            password_hash=_PASSWORD_HASH,
        )
        db.session.add(user)
        db.session.commit()
        return user

    def course(self, **kw) -> Course:
        n = next(_seq)
        kw.setdefault("code", f"CS{n}")
        kw.setdefault("title", f"Seminar {n}")
        kw.setdefault("timezone", "America/New_York")
        course = Course(**kw)
        db.session.add(course)
        db.session.commit()
        return course

    def enroll(self, user: User, course: Course, role: str = ROLE_STUDENT) -> Enrollment:
        e = Enrollment(user=user, course=course, role=role)
        db.session.add(e)
        db.session.commit()
        return e

    def member(self, course: Course, role: str = ROLE_STUDENT, name: str | None = None) -> User:
        user = self.user(name)
        self.enroll(user, course, role)
        return user

    def paper(self, course: Course, **kw) -> Paper:
        n = next(_seq)
        kw.setdefault("title", f"Paper {n}")
        kw.setdefault("authors", "A. Author, B. Author")
        kw.setdefault("abstract", f"Abstract of paper {n} about serving large models.")
        kw.setdefault("topic", "Batching")
        kw.setdefault("venue", "OSDI")
        kw.setdefault("year", 2024)
        paper = Paper(course=course, **kw)
        db.session.add(paper)
        db.session.commit()
        return paper

    def session(self, course: Course, starts_at: datetime | None = None, **kw) -> ClassSession:
        s = ClassSession(
            course=course, starts_at=starts_at or (T0 + timedelta(days=7)), room="Room 101", **kw
        )
        db.session.add(s)
        db.session.commit()
        return s

    def presentation(
        self,
        course: Course,
        review_deadline: datetime | None = None,
        presenters: list[User] = (),
        summarizers: list[User] = (),
        session: ClassSession | None = None,
        paper: Paper | None = None,
    ) -> Presentation:
        session = session or self.session(course)
        slot = len(session.presentations) + 1
        p = Presentation(
            course=course,
            session=session,
            slot=slot,
            paper=paper or self.paper(course),
            review_deadline=review_deadline or (T0 + timedelta(days=1)),
        )
        db.session.add(p)
        db.session.flush()
        for i, u in enumerate(presenters, 1):
            db.session.add(
                PresentationMember(course_id=course.id, presentation=p, user=u, kind=MEMBER_PRESENTING, seat=i)
            )
        for i, u in enumerate(summarizers, 1):
            db.session.add(
                PresentationMember(course_id=course.id, presentation=p, user=u, kind=MEMBER_SUMMARY, seat=i)
            )
        db.session.commit()
        return p

    def review(
        self,
        presentation: Presentation,
        author: User,
        submitted_at: datetime | None = None,
        text: str = "A careful review.",
        score: int = 3,
        confidence: int = 3,
        late: bool = False,
    ) -> Review:
        """A review; submitted when ``submitted_at`` is given, else a draft."""
        r = Review(
            presentation=presentation,
            author=author,
            answers={"summary": text, "strengths": "Clear writing.", "weaknesses": "Few baselines.", "questions": ""},
            score=score,
            confidence=confidence,
        )
        if submitted_at is not None:
            count = sum(1 for x in presentation_reviews(presentation) if x.pseudonym_no)
            r.status = "submitted"
            r.pledge = True
            r.submitted_at = submitted_at
            r.is_late = late
            r.pseudonym_no = count + 1
        db.session.add(r)
        db.session.commit()
        return r

    def extension(self, presentation: Presentation, user: User, deadline: datetime) -> Extension:
        e = Extension(course_id=presentation.course_id, presentation=presentation, user=user, deadline=deadline)
        db.session.add(e)
        db.session.commit()
        return e


def presentation_reviews(presentation: Presentation) -> list[Review]:
    return db.session.query(Review).filter_by(presentation_id=presentation.id).all()


@pytest.fixture
def make(app) -> Factory:
    return Factory()


def login(client, user: User, password: str = PASSWORD):
    """Log a test client in through the real login form."""
    resp = client.post("/login", data={"email": user.email, "password": password})
    assert resp.status_code == 302, resp.data[:500]
    return resp


@pytest.fixture
def login_as(app):
    """``login_as(user)`` → a new logged-in test client for that user."""

    def _login(user: User):
        c = app.test_client()
        login(c, user)
        return c

    return _login


__all__ = [
    "ROLE_INSTRUCTOR",
    "ROLE_STUDENT",
    "ROLE_TA",
    "T0",
    "PASSWORD",
    "login",
]


# A course in a DST-observing zone with one instructor and one student, for feature tests.
@pytest.fixture
def course(make):
    return make.course(timezone="America/New_York")


@pytest.fixture
def staff(make, course):
    return make.member(course, ROLE_INSTRUCTOR, name="Ida Instructor")


@pytest.fixture
def student(make, course):
    return make.member(course, ROLE_STUDENT, name="Sam Student")

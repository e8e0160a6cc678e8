"""Test data: the fixed clock T0, the shared password, the roles, and ``Factory`` for course data."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher

from core import passwords
from core.extensions import db
from models import (
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

__all__ = [
    "PASSWORD",
    "ROLE_INSTRUCTOR",
    "ROLE_STUDENT",
    "ROLE_TA",
    "T0",
    "Factory",
    "login",
    "presentation_reviews",
]

# argon2id with production parameters costs ~50–500 ms a login on a loaded 2-core machine;
# the suite logs in thousands of times, so it hashes with argon2id at the lowest cost.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
passwords._DUMMY_HASH = passwords._hasher.hash("colloquy-timing-equaliser")

PASSWORD = "correct horse battery"
_PASSWORD_HASH = passwords.hash_password(PASSWORD)
_seq = itertools.count(1)

# A fixed "now" for tests: Monday 2 March 2026, 12:00 UTC.
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


class Factory:
    """Builds consistent course data with sensible defaults; every method commits."""

    def user(self, name: str | None = None, email: str | None = None, instructor: bool = False) -> User:
        n = next(_seq)
        name = name or f"User {n}"
        user = User(
            email=email or f"user{n}@example.edu",
            display_name=name,
            password_hash=_PASSWORD_HASH,
            is_instructor=instructor,
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


def login(client, user: User, password: str = PASSWORD):
    """Log a test client in through the real login form."""
    resp = client.post("/login", data={"email": user.email, "password": password})
    assert resp.status_code == 302, resp.data[:500]
    return resp

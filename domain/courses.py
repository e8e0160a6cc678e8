"""Courses: creating one, the settings an instructor changes, and what a course's home page
shows (the student's reviews still to write, the next sessions)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.extensions import db
from domain import policy
from models import ROLE_INSTRUCTOR, ClassSession, Course, Enrollment, Presentation

UPCOMING_SESSIONS = 5

# The course columns the settings form may change, besides title, term, zone and review form.
SETTINGS_FIELDS = (
    "join_enabled",
    "presentation_group_size",
    "project_group_max",
    "talk_minutes",
    "qa_minutes",
    "late_policy",
    "late_penalty_per_day",
    "grace_minutes",
    "name_reviewers",
    "similarity_threshold",
)


def courses_of(user_id: int) -> list[tuple[Course, str]]:
    """The user's courses with their role, by title."""
    return list(
        db.session.execute(
            select(Course, Enrollment.role)
            .join(Enrollment, Enrollment.course_id == Course.id)
            .where(Enrollment.user_id == user_id)
            .order_by(Course.title)
        ).tuples()
    )


def create_course(creator_id: int, code: str, title: str, term: str, timezone: str) -> Course:
    """A new course whose creator is its instructor."""
    course = Course(code=code.strip(), title=title.strip(), term=(term or "").strip(), timezone=timezone.strip())
    db.session.add(course)
    db.session.add(Enrollment(user_id=creator_id, course=course, role=ROLE_INSTRUCTOR))
    db.session.flush()
    return course


def apply_settings(course: Course, title: str, term: str, timezone: str, review_form: list, **settings: Any) -> None:
    """Store validated settings: the basics, the review form's fields and ``SETTINGS_FIELDS``."""
    unknown = set(settings) - set(SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"not a course setting: {', '.join(sorted(unknown))}")
    course.title = title.strip()
    course.term = (term or "").strip()
    course.timezone = timezone.strip()
    for name, value in settings.items():
        setattr(course, name, value)
    course.review_form = review_form
    db.session.flush()


@dataclass(frozen=True)
class ReviewToDo:
    """A review the student still has to write, with their own deadline."""

    presentation: Presentation
    deadline: Optional[datetime]
    late: bool
    has_draft: bool


def review_todo(user, course: Course, now: datetime) -> list[ReviewToDo]:
    """The reviews a student still has to write and may still submit at ``now``."""
    if not policy.is_student(user, course.id):
        return []
    presentations = db.session.scalars(
        select(Presentation)
        .where(Presentation.course_id == course.id)
        .options(selectinload(Presentation.paper))
        .order_by(Presentation.review_deadline)
    )
    todo = []
    for presentation in presentations:
        if not policy.must_review(user, presentation):
            continue
        mine = policy.own_review(user, presentation)
        if mine is not None and mine.is_submitted:
            continue
        window = policy.submission_window(user.id, presentation, now)
        if window == "closed":
            continue
        todo.append(
            ReviewToDo(
                presentation=presentation,
                deadline=policy.personal_deadline(user.id, presentation),
                late=window == "late",
                has_draft=mine is not None,
            )
        )
    return todo


def upcoming_sessions(course: Course, now: datetime) -> list[ClassSession]:
    """The next few class sessions (including one under way), with their presentations' papers."""
    sessions = db.session.scalars(
        select(ClassSession)
        .where(ClassSession.course_id == course.id, ClassSession.starts_at >= now - timedelta(days=1))
        .options(selectinload(ClassSession.presentations).selectinload(Presentation.paper))
        .order_by(ClassSession.starts_at)
        .limit(UPCOMING_SESSIONS + 5)
    )
    running = [s for s in sessions if s.starts_at + timedelta(minutes=s.duration_minutes) > now]
    return running[:UPCOMING_SESSIONS]

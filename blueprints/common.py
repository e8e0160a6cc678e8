"""Helpers shared by the feature blueprints: fetch-or-404 with the policy's permission."""
from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

import policy
from extensions import db
from models import ClassSession, Course, Presentation


def course_or_404(course_id: int, need: str = "member") -> Course:
    """The course if the current user is enrolled; 404 for strangers, 403 for too low a role.

    ``need`` is 'member', 'staff' or 'instructor'.
    """
    course = db.session.get(Course, course_id)
    if course is None or not policy.is_member(current_user, course_id):
        abort(404)
    if need == "staff" and not policy.is_staff(current_user, course_id):
        abort(403)
    if need == "instructor" and not policy.is_instructor(current_user, course_id):
        abort(403)
    return course


def presentation_or_404(course: Course, presentation_id: int) -> Presentation:
    """A presentation of this course, or 404."""
    presentation = db.session.get(Presentation, presentation_id)
    if presentation is None or presentation.course_id != course.id:
        abort(404)
    return presentation


def course_presentations(course: Course) -> list[Presentation]:
    """The course's presentations in schedule order, with their papers and sessions loaded."""
    return list(
        db.session.scalars(
            select(Presentation)
            .join(ClassSession, ClassSession.id == Presentation.session_id)
            .where(Presentation.course_id == course.id)
            .order_by(ClassSession.starts_at, Presentation.slot, Presentation.id)
            .options(selectinload(Presentation.paper), selectinload(Presentation.session))
        )
    )

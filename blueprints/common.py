"""Helpers shared by the feature blueprints: fetch-or-404 with the policy's permission."""
from __future__ import annotations

from flask import abort
from flask_login import current_user

import policy
from extensions import db
from models import Course, Presentation


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

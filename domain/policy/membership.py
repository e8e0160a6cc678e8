"""Who someone is in a course: enrolment, role, authorship of a presentation; the per-request memo the rules read through."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import bindparam, select

from core.extensions import db
from core.memo import memo
from models import (
    ROLE_INSTRUCTOR,
    ROLE_STUDENT,
    STAFF_ROLES,
    Enrollment,
    Presentation,
    PresentationMember,
    User,
)

# --------------------------------------------------------------------------- per-request memo


def _read(statement, **params):
    """The first value the prebuilt ``statement`` selects for ``params``, read once per request
    or event (statements built once also skip SQLAlchemy's per-call construction and cache key)."""
    held = memo()
    if held is None:
        return db.session.scalar(statement, params)
    key = (id(statement), *params.values())
    if key not in held:
        held[key] = db.session.scalar(statement, params)
    return held[key]


def _remember(value, statement, **params) -> None:
    """Store what ``_read(statement, **params)`` would read, when it was read along with
    other facts in one query (parameters in the order ``_read`` is called with)."""
    held = memo()
    if held is not None:
        held[(id(statement), *params.values())] = value


# --------------------------------------------------------------------------- membership


def _user_id(user) -> Optional[int]:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.id


def _role_in(course_id, user_id):
    return select(Enrollment.role).where(Enrollment.user_id == user_id, Enrollment.course_id == course_id)


_ROLE = _role_in(bindparam("course_id"), bindparam("user_id"))


def course_role(user, course_id: int) -> Optional[str]:
    """The user's role in the course, or None when not enrolled (or not logged in)."""
    uid = _user_id(user)
    if uid is None:
        return None
    return _read(_ROLE, user_id=uid, course_id=course_id)


def is_member(user, course_id: int) -> bool:
    """Enrolled in the course in any role."""
    return course_role(user, course_id) is not None


def is_staff(user, course_id: int) -> bool:
    """Instructor or TA of the course."""
    return course_role(user, course_id) in STAFF_ROLES


def is_instructor(user, course_id: int) -> bool:
    """Instructor of the course (settings, grade weights, roster roles)."""
    return course_role(user, course_id) == ROLE_INSTRUCTOR


def is_student(user, course_id: int) -> bool:
    """Enrolled as a student."""
    return course_role(user, course_id) == ROLE_STUDENT


def _membership(presentation_id, user_id):
    return select(PresentationMember.id).where(
        PresentationMember.presentation_id == presentation_id, PresentationMember.user_id == user_id
    )


_AUTHOR = _membership(bindparam("presentation_id"), bindparam("user_id"))


def is_author(user, presentation: Presentation) -> bool:
    """Member of the presentation's presenting or summary-writing group."""
    return authored(user, presentation.id)


def authored(user, presentation_id: int) -> bool:
    """``is_author`` of the presentation with this id."""
    uid = _user_id(user)
    if uid is None:
        return False
    return _read(_AUTHOR, presentation_id=presentation_id, user_id=uid) is not None


def can_manage_course(user, course_id: int) -> bool:
    """Course settings, grade weights and roster roles: the instructor only."""
    return is_instructor(user, course_id)


def can_edit_schedule(user, course_id: int) -> bool:
    """Papers, sessions, presentations, groups, deadlines, extensions: staff."""
    return is_staff(user, course_id)


def can_create_course(user) -> bool:
    """Creating a course: accounts holding the site-level instructor permission."""
    return _user_id(user) is not None and bool(user.is_instructor)




def students_except(course_id: int, excluded_user_ids) -> list[User]:
    """The course's students outside ``excluded_user_ids`` (a select of user ids), by name: who
    must review a presentation or give feedback on a talk, for a whole class."""
    return list(
        db.session.scalars(
            select(User)
            .join(Enrollment, Enrollment.user_id == User.id)
            .where(
                Enrollment.course_id == course_id,
                Enrollment.role == ROLE_STUDENT,
                User.id.not_in(excluded_user_ids),
            )
            .order_by(User.display_name, User.id)
        )
    )

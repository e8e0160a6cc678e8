"""Grades: rules G1–G4 (SPEC §6) and who may change the gradebook.

- G1 a student sees only their own grades, and only once their item is posted — on the review
  page too: a review's grade and feedback reach its writer once the review's gradebook item is
  posted (``can_view_review_grade``);
- G2 staff see all grades at any time;
- G3 class statistics of an item reach students only where the course allows, after posting,
  and never for fewer than five grades;
- G4 every grade change is audited: the operations of ``domain.grades`` record who, when,
  old → new and the reason (``grade_change`` builds the record); only the roles below may make one.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import bindparam, select

from domain.policy.membership import _read, _user_id, is_instructor, is_staff, is_student
from models import GradeItem

MIN_GRADES_FOR_STATISTICS = 5


def is_posted(item, now: datetime) -> bool:
    """An item is posted from the moment staff posted it."""
    return item.posted_at is not None and item.posted_at <= now


def can_view_grade(user, item, student_id: int, now: datetime) -> bool:
    """G1 and G2: staff any grade at any time; a student their own, once the item is posted."""
    if is_staff(user, item.course_id):
        return True
    return _user_id(user) == student_id and is_student(user, item.course_id) and is_posted(item, now)


_REVIEW_ITEM = select(GradeItem).where(GradeItem.presentation_id == bindparam("presentation_id"))


def review_grade_item(presentation_id: int) -> Optional[GradeItem]:
    """The gradebook item a presentation's reviews are graded in (None before the gradebook has one)."""
    return _read(_REVIEW_ITEM, presentation_id=presentation_id)


def can_view_review_grade(user, review, now: datetime) -> bool:
    """G1 and G2 on the review page: a review's grade, rubric lines and feedback reach staff at any
    time and its writer only once the review's gradebook item is posted (nothing before it exists)."""
    if is_staff(user, review.presentation.course_id):
        return True
    if _user_id(user) != review.author_id:
        return False
    item = review_grade_item(review.presentation_id)
    return item is not None and can_view_grade(user, item, review.author_id, now)


def can_view_statistics(user, item, grade_count: int, stats_allowed: bool, now: datetime) -> bool:
    """G3: staff always; students only where the course allows, after posting, five grades or more."""
    if is_staff(user, item.course_id):
        return True
    return (
        is_student(user, item.course_id)
        and stats_allowed
        and is_posted(item, now)
        and grade_count >= MIN_GRADES_FOR_STATISTICS
    )


def can_view_gradebook(user, course_id: int) -> bool:
    """The grid, per-student pages, grade entry, evidence and exports: staff."""
    return is_staff(user, course_id)


def can_enter_grades(user, course_id: int) -> bool:
    """Grading items, posting them and accepting the discussion proposal: staff (instructor and TAs)."""
    return is_staff(user, course_id)


def can_set_weights(user, course_id: int) -> bool:
    """Category and item weights, drops, late cap and floor, statistics, formula: the instructor only."""
    return is_instructor(user, course_id)


def can_edit_rubric(user, course_id: int) -> bool:
    """Rubrics (which re-score everyone graded on them): the instructor only."""
    return is_instructor(user, course_id)


def can_waive_penalty(user, course_id: int) -> bool:
    """Waiving a late penalty, with a reason: the instructor only."""
    return is_instructor(user, course_id)


def grade_change(old: Optional[float], new: Optional[float], reason: str) -> dict:
    """G4: what an audit record of a grade change holds besides its actor and time."""
    return {"old": old, "new": new, "reason": reason}

"""Late adjustments: how late a piece of work was against its reference deadline, the course's
penalty for it, and the instructor's waiver.

The reference deadline is the last on-time instant (``extension_moves``): a student's review
extension or a group's milestone extension replaces the deadline, and the course's grace period
follows it, as the submission windows of ``domain.policy`` decide. A grade stores the lateness
measured when it was entered; moving the deadline afterwards re-measures it
(``grading.reapply_lateness``)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import select

from core.extensions import db
from domain import policy
from domain.grades.arithmetic import late_penalty
from models import (
    REVIEW_SUBMITTED,
    Course,
    Grade,
    GradebookSettings,
    GradeItem,
    Milestone,
    MilestoneExtension,
    MilestoneSubmission,
    ProjectMember,
    Review,
)


def seconds_late(submitted_at: Optional[datetime], closes_at: Optional[datetime]) -> int:
    """Whole seconds after the last on-time instant (0 when on time or nothing was submitted)."""
    if submitted_at is None or closes_at is None or submitted_at <= closes_at:
        return 0
    return int((submitted_at - closes_at).total_seconds())


def penalty_for(course: Course, settings: GradebookSettings, late_seconds: int) -> float:
    """The course's late penalty in percent for this lateness (per day or part day, capped)."""
    return late_penalty(late_seconds, course.late_penalty_per_day or 0.0, settings.late_cap_percent)


def milestone_lateness(submissions: list[tuple[datetime, datetime]]) -> int:
    """Lateness of a group's milestone from its versions' (submitted_at, reference deadline):
    the latest on-time version counts (not late); without one, the earliest late version."""
    if not submissions:
        return 0
    if any(at <= deadline for at, deadline in submissions):
        return 0
    return min(seconds_late(at, deadline) for at, deadline in submissions)


def lateness_for(item: GradeItem, student_id: int) -> int:
    """How late the student's work on the item was, in seconds, against their own deadline."""
    if item.presentation_id is not None:
        review = db.session.scalar(
            select(Review).where(Review.presentation_id == item.presentation_id, Review.author_id == student_id)
        )
        if review is None or review.status != REVIEW_SUBMITTED:
            return 0
        extension = policy.extension_for(student_id, item.presentation)
        closes_at = extension_moves(item.presentation.review_deadline, extension.deadline if extension else None,
                                    item.presentation.course.grace_minutes)
        return seconds_late(review.submitted_at, closes_at)
    if item.milestone_kind is not None:
        group_id = db.session.scalar(
            select(ProjectMember.group_id).where(ProjectMember.course_id == item.course_id,
                                                 ProjectMember.user_id == student_id)
        )
        if group_id is None:
            return 0
        rows = db.session.execute(
            select(MilestoneSubmission.submitted_at, Milestone.deadline, MilestoneExtension.deadline)
            .join(Milestone, Milestone.id == MilestoneSubmission.milestone_id)
            .outerjoin(MilestoneExtension, (MilestoneExtension.milestone_id == Milestone.id)
                       & (MilestoneExtension.group_id == MilestoneSubmission.group_id))
            .where(Milestone.course_id == item.course_id, Milestone.kind == item.milestone_kind,
                   MilestoneSubmission.group_id == group_id)
        ).all()
        grace = db.session.get(Course, item.course_id).grace_minutes
        return milestone_lateness([(at, extension_moves(deadline, extended, grace)) for at, deadline, extended in rows])
    return 0


def extension_moves(deadline: datetime, extension: Optional[datetime], grace_minutes: int) -> datetime:
    """The last on-time instant: an extension replaces the deadline; the grace period follows it."""
    return (extension or deadline) + timedelta(minutes=grace_minutes or 0)

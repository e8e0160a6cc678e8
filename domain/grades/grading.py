"""Entering grades: rubric points or a score, a comment, the stored late adjustment, waivers.

Every change is audited (G4) with who, when, the old and new adjusted score and the reason.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import select

from core.extensions import db
from domain import audit, policy
from domain.errors import Invalid
from domain.grades.arithmetic import adjusted_score, rubric_score
from domain.grades.penalties import lateness_for, penalty_for
from domain.grades.setup import settings_for
from models import RUBRIC_MILESTONE, Course, Grade, GradebookSettings, GradeItem, ProjectGroup, ProjectMember, Rubric

MAX_COMMENT = 5000


def effective_score(grade: Grade, settings: GradebookSettings) -> Optional[float]:
    """The grade's percent after its stored late adjustment (or without it, when waived)."""
    return adjusted_score(grade.score, grade.penalty_percent, settings.late_floor_percent, grade.penalty_waived)


def rubric_of(item: GradeItem) -> Optional[Rubric]:
    """The rubric the item is graded on, if any."""
    if item.rubric_kind is None:
        return None
    return db.session.scalar(select(Rubric).where(Rubric.course_id == item.course_id, Rubric.kind == item.rubric_kind))


def _clean_points(rubric: Rubric, points: dict) -> dict:
    cleaned = {}
    for criterion in rubric.criteria:
        value = points.get(criterion["key"])
        if value in (None, ""):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise Invalid(f"Give a number for “{criterion['label']}”.")
        if not 0 <= number <= float(criterion["points"]):
            raise Invalid(f"“{criterion['label']}” takes 0 to {criterion['points']} points.")
        cleaned[criterion["key"]] = number
    return cleaned


def record_grade(
    course: Course,
    item: GradeItem,
    student_id: int,
    actor_id: int,
    now: datetime,
    *,
    rubric_points: Optional[dict] = None,
    score: Optional[float] = None,
    comment: str = "",
    reason: str = "",
) -> Optional[Grade]:
    """Store a student's grade on the item from rubric points (rubric items) or a percent score,
    with the late adjustment their work carries; audited. Nothing entered: nothing changes."""
    settings = settings_for(course)
    grade = db.session.scalar(select(Grade).where(Grade.item_id == item.id, Grade.student_id == student_id))
    rubric = rubric_of(item)
    points: dict = {}
    if rubric is not None and rubric_points is not None:
        points = _clean_points(rubric, rubric_points)
        score = rubric_score(rubric.criteria, points) if points else None
    elif score is not None and not 0 <= score <= 100:
        raise Invalid("Give a score from 0 to 100 percent.")
    comment = (comment or "").strip()[:MAX_COMMENT]
    if grade is None and score is None and not comment:
        return None
    old = effective_score(grade, settings) if grade is not None else None
    old_comment = grade.comment if grade is not None else ""
    if grade is None:
        grade = Grade(course_id=course.id, item=item, student_id=student_id, penalty_waived=False, waive_reason="")
        db.session.add(grade)
    late = lateness_for(item, student_id)
    grade.rubric_points = points
    grade.score = score
    grade.comment = comment
    grade.late_seconds = late
    grade.penalty_percent = penalty_for(course, settings, late)
    grade.graded_by_id = actor_id
    grade.updated_at = now
    new = effective_score(grade, settings)
    if new != old or comment != old_comment:
        audit.record("grade.change", course.id, actor_id, subject_id=student_id, item=item.key,
                     comment_changed=comment != old_comment, **policy.grade_change(old, new, reason.strip()))
    db.session.flush()
    return grade


def is_group_item(item: GradeItem) -> bool:
    """Project work graded on the milestone rubric (proposal, checkpoint, final report, final
    talk) may be graded a whole group at once."""
    return item.rubric_kind == RUBRIC_MILESTONE


def project_groups(course: Course) -> list[tuple[ProjectGroup, list[int]]]:
    """The course's project groups with their members' ids, by group name, in two queries."""
    groups = db.session.scalars(select(ProjectGroup).where(ProjectGroup.course_id == course.id)
                                .order_by(ProjectGroup.name, ProjectGroup.id)).all()
    members: dict[int, list[int]] = {}
    for group_id, user_id in db.session.execute(
        select(ProjectMember.group_id, ProjectMember.user_id)
        .where(ProjectMember.course_id == course.id).order_by(ProjectMember.seat)
    ):
        members.setdefault(group_id, []).append(user_id)
    return [(g, members.get(g.id, [])) for g in groups]


def record_group_grade(
    course: Course,
    item: GradeItem,
    group: ProjectGroup,
    actor_id: int,
    now: datetime,
    *,
    rubric_points: dict,
    comment: str = "",
    reason: str = "",
) -> list[Grade]:
    """One entry for a whole project group: the same rubric points and comment stored for
    every member, each with their own late adjustment and their own audit record (G4); each
    member's grade can then be adjusted on its own."""
    if not is_group_item(item) or group.course_id != course.id or item.course_id != course.id:
        raise Invalid("Only project work is graded a group at once.")
    member_ids = db.session.scalars(select(ProjectMember.user_id).where(ProjectMember.group_id == group.id)
                                    .order_by(ProjectMember.seat)).all()
    if not member_ids:
        raise Invalid("The group has no members to grade.")
    if not any(v not in (None, "") for v in rubric_points.values()):
        raise Invalid("Enter the group's rubric points to grade its members.")
    why = f"group grade ({group.name})" + (f": {reason.strip()}" if reason.strip() else "")
    grades = [record_grade(course, item, uid, actor_id, now, rubric_points=rubric_points, comment=comment, reason=why)
              for uid in member_ids]
    return [g for g in grades if g is not None]


def waive_penalty(course: Course, grade: Grade, reason: str, actor_id: int, now: datetime, waived: bool = True) -> None:
    """Waive (or restore) a grade's late penalty; a reason is required; audited with old → new."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Give a reason for waiving or restoring the penalty.")
    if grade.penalty_waived == waived:
        return
    settings = settings_for(course)
    old = effective_score(grade, settings)
    grade.penalty_waived = waived
    grade.waive_reason = reason[:500] if waived else ""
    grade.updated_at = now
    audit.record("grade.penalty_waived" if waived else "grade.penalty_restored", course.id, actor_id,
                 subject_id=grade.student_id, item=grade.item.key, penalty=grade.penalty_percent,
                 **policy.grade_change(old, effective_score(grade, settings), reason))
    db.session.flush()


def reapply_lateness(course: Course, student_ids, actor_id: int, now: datetime, reason: str, *,
                     presentation_id: Optional[int] = None, milestone_kind: Optional[str] = None) -> int:
    """Re-measure the stored late adjustment of the students' grades on the review of
    ``presentation_id`` or the items of ``milestone_kind`` once their reference deadline moved
    (an extension granted, changed or revoked); returns how many grades changed, each audited (G4)."""
    if (presentation_id is None) == (milestone_kind is None):
        raise ValueError("name a presentation or a milestone kind")
    where = (GradeItem.presentation_id == presentation_id if presentation_id is not None
             else GradeItem.milestone_kind == milestone_kind)
    grades = db.session.scalars(
        select(Grade).join(GradeItem, GradeItem.id == Grade.item_id)
        .where(GradeItem.course_id == course.id, where, Grade.student_id.in_(list(student_ids)))
    ).all()
    settings = settings_for(course)
    changed = 0
    for grade in grades:
        late = lateness_for(grade.item, grade.student_id)
        if late == grade.late_seconds:
            continue
        old = effective_score(grade, settings)
        grade.late_seconds = late
        grade.penalty_percent = penalty_for(course, settings, late)
        grade.updated_at = now
        changed += 1
        audit.record("grade.change", course.id, actor_id, subject_id=grade.student_id, item=grade.item.key,
                     late_seconds=late, **policy.grade_change(old, effective_score(grade, settings), reason))
    db.session.flush()
    return changed

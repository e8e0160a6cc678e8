"""Rubrics edited by the instructor as text, one criterion a line (``key | Label | points``);
saving a rubric re-scores everyone graded on it, each change audited."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from core.extensions import db
from domain import audit, policy
from domain.errors import Invalid
from domain.grades.arithmetic import rubric_score
from domain.grades.grading import effective_score
from domain.grades.setup import settings_for
from models import Course, Grade, GradeItem, Rubric

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
MAX_CRITERIA = 20


def rubric_text(rubric: Rubric) -> str:
    """The rubric as the instructor edits it."""
    return "\n".join(f"{c['key']} | {c['label']} | {c['points']:g}" for c in rubric.criteria)


def parse_rubric(text: str) -> list[dict]:
    """Criteria from the edited text; a clear error for a malformed line, a repeated key or no points."""
    criteria, seen = [], set()
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3:
            raise Invalid(f"Line {number}: write key | Label | points.")
        key, label, points = parts
        if not _KEY.match(key) or key in seen:
            raise Invalid(f"Line {number}: the key must be unique, lower case letters, digits or _.")
        try:
            value = float(points)
        except ValueError:
            raise Invalid(f"Line {number}: points must be a number.")
        if not 0 < value <= 100 or not label:
            raise Invalid(f"Line {number}: give a label and 0 to 100 points.")
        seen.add(key)
        criteria.append({"key": key, "label": label[:120], "points": value})
    if not criteria or len(criteria) > MAX_CRITERIA:
        raise Invalid(f"A rubric has 1 to {MAX_CRITERIA} criteria.")
    return criteria


def edit_rubric(course: Course, rubric: Rubric, text: str, actor_id: int, now: datetime, reason: str = "") -> int:
    """Replace the rubric's criteria and re-score every grade given on it; returns how many
    grades changed. The rubric edit and each changed grade are audited."""
    criteria = parse_rubric(text)
    old_criteria = rubric.criteria
    rubric.criteria = criteria
    rubric.updated_at = now
    audit.record("grade.rubric_edited", course.id, actor_id, rubric=rubric.kind, old=old_criteria, new=criteria,
                 reason=reason)
    settings = settings_for(course)
    changed = 0
    grades = db.session.scalars(
        select(Grade).join(GradeItem, GradeItem.id == Grade.item_id)
        .where(GradeItem.course_id == course.id, GradeItem.rubric_kind == rubric.kind)
    )
    for grade in grades:
        if not grade.rubric_points:
            continue
        old = effective_score(grade, settings)
        kept = {k: v for k, v in grade.rubric_points.items() if any(c["key"] == k for c in criteria)}
        grade.rubric_points = {k: min(v, next(c["points"] for c in criteria if c["key"] == k)) for k, v in kept.items()}
        grade.score = rubric_score(criteria, grade.rubric_points)
        new = effective_score(grade, settings)
        if new != old:
            changed += 1
            grade.updated_at = now
            audit.record("grade.change", course.id, actor_id, subject_id=grade.student_id, item=grade.item.key,
                         **policy.grade_change(old, new, reason or f"rubric “{rubric.kind}” edited"))
    db.session.flush()
    return changed

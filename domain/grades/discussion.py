"""The in-class discussion grade proposed from the room (SPEC §4.7, §6).

The formula, a course setting (``GradebookSettings.discussion_formula``) over these defaults:
every figure of a student summed over all panels of the term, each times its points —

    asked 1 · approved 2 · answered 3 · votes received 0.5 · votes cast 0.2 · follow-ups 1 ·
    verdicts cast 1 · questions pushed from one's own review 1 · and for authors, questions
    their group answered in their own panel: rebutted 2, conceded 1, deferred 0.5

— and the proposal is ``min(100, 100 × points / target)`` with ``target`` 40 points. Staff see
each panel's figures beside the proposal and accept it or enter another grade with a reason.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from sqlalchemy import select

from core.extensions import db
from domain.errors import Invalid
from domain.grades import grading
from models import (
    MEMBER_PRESENTING,
    Q_ANSWERED,
    Course,
    GradeItem,
    PanelRoom,
    Paper,
    Presentation,
    PresentationMember,
    Question,
    VerdictVote,
    Vote,
)

DEFAULT_FORMULA = {
    "asked": 1.0,
    "approved": 2.0,
    "answered": 3.0,
    "votes_received": 0.5,
    "votes_cast": 0.2,
    "follow_ups": 1.0,
    "verdicts": 1.0,
    "from_review": 1.0,
    "rebutted": 2.0,
    "conceded": 1.0,
    "deferred": 0.5,
    "target": 40.0,
}
FIGURES = tuple(k for k in DEFAULT_FORMULA if k != "target")


def formula_of(settings) -> dict[str, float]:
    """The course's formula: its own points where set, the defaults elsewhere."""
    return {**DEFAULT_FORMULA, **{k: float(v) for k, v in (settings.discussion_formula or {}).items()
                                  if k in DEFAULT_FORMULA}}


@dataclass
class Evidence:
    """A student's figures, per panel (room id → figure → count) and in total."""

    per_panel: dict[int, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))

    def totals(self) -> dict[str, int]:
        out = {k: 0 for k in FIGURES}
        for figures in self.per_panel.values():
            for k, v in figures.items():
                out[k] += v
        return out


def evidence(course: Course) -> tuple[dict[int, str], dict[int, Evidence]]:
    """(room id → panel title, student id → Evidence) from the stored questions, votes and verdicts
    of every panel of the course, four queries in all."""
    rooms = dict(db.session.execute(
        select(PanelRoom.id, Paper.title)
        .join(Presentation, Presentation.id == PanelRoom.presentation_id)
        .join(Paper, Paper.id == Presentation.paper_id)
        .where(Presentation.course_id == course.id)
        .order_by(PanelRoom.id)
    ).all())
    by_student: dict[int, Evidence] = defaultdict(Evidence)
    if not rooms:
        return rooms, {}
    questions = db.session.execute(
        select(Question.id, Question.room_id, Question.asker_id, Question.state, Question.approved_at,
               Question.parent_id, Question.from_review, Question.outcome)
        .where(Question.room_id.in_(rooms))
    ).all()
    asker_of = {}
    answered_in: dict[int, list[str]] = defaultdict(list)
    for q in questions:
        figures = by_student[q.asker_id].per_panel[q.room_id]
        asker_of[q.id] = (q.asker_id, q.room_id)
        figures["asked"] += 1
        figures["approved"] += q.approved_at is not None
        figures["answered"] += q.state == Q_ANSWERED
        figures["follow_ups"] += q.parent_id is not None
        figures["from_review"] += bool(q.from_review)
        if q.state == Q_ANSWERED and q.outcome:
            answered_in[q.room_id].append(q.outcome)
    for question_id, voter_id in db.session.execute(
        select(Vote.question_id, Vote.user_id).join(Question, Question.id == Vote.question_id)
        .where(Question.room_id.in_(rooms))
    ):
        asker_id, room_id = asker_of[question_id]
        by_student[asker_id].per_panel[room_id]["votes_received"] += 1
        by_student[voter_id].per_panel[room_id]["votes_cast"] += 1
    for room_id, user_id in db.session.execute(
        select(VerdictVote.room_id, VerdictVote.user_id).where(VerdictVote.room_id.in_(rooms))
    ):
        by_student[user_id].per_panel[room_id]["verdicts"] += 1
    for room_id, user_id in db.session.execute(
        select(PanelRoom.id, PresentationMember.user_id)
        .join(PresentationMember, PresentationMember.presentation_id == PanelRoom.presentation_id)
        .where(PanelRoom.id.in_(rooms), PresentationMember.kind == MEMBER_PRESENTING)
    ):
        for outcome in answered_in[room_id]:
            by_student[user_id].per_panel[room_id][outcome] += 1
    return rooms, dict(by_student)


def points(figures: dict[str, int], formula: dict[str, float]) -> float:
    """The formula's points for a student's figures."""
    return sum(figures.get(k, 0) * formula[k] for k in FIGURES)


def proposal(figures: dict[str, int], formula: dict[str, float]) -> float:
    """The proposed percent: points against the target, at most 100."""
    target = formula["target"] if formula["target"] > 0 else DEFAULT_FORMULA["target"]
    return min(100.0, 100.0 * points(figures, formula) / target)


def accept(course: Course, item: GradeItem, student_id: int, proposed: float, grade: Optional[float], reason: str,
           actor_id: int, now: datetime):
    """Store the discussion grade: the proposal as it stands, or another grade with a reason."""
    reason = (reason or "").strip()
    if grade is None:
        return grading.record_grade(course, item, student_id, actor_id, now, score=proposed,
                                    reason=reason or "accepted the proposal from the room")
    if not reason:
        raise Invalid("Give a reason when the grade differs from the proposal.")
    return grading.record_grade(course, item, student_id, actor_id, now, score=grade, reason=reason)

"""The peer-feedback item of the project (SPEC §5.3, §6), proposed from the stored feedback.

For every project talk whose feedback window has closed, each student outside the presenting
group owed one piece. A piece counts as given on time when it was submitted by the window's
close and not held back by staff. Where the course counts quality
(``GradebookSettings.feedback_quality``), the presenting groups' "helpful" marks on the
student's counted pieces make ``FEEDBACK_QUALITY_SHARE`` percent of the item (see
``arithmetic.peer_feedback_percent``). Staff see each student's figures and the proposal, and
enter the proposals as grades (audited, with the figures as the reason).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import select

from core.extensions import db
from domain.grades import grading
from domain.grades.arithmetic import FEEDBACK_QUALITY_SHARE, peer_feedback_percent
from models import (
    FEEDBACK_SUBMITTED,
    ROLE_STUDENT,
    Course,
    Enrollment,
    Grade,
    GradebookSettings,
    GradeItem,
    PeerFeedback,
    ProjectMember,
    ProjectTalk,
)

FEEDBACK_ITEM_KEY = "project:feedback"


def is_feedback_item(item: GradeItem) -> bool:
    """The project's "peer feedback given" item, proposed from the stored feedback."""
    return item.key == FEEDBACK_ITEM_KEY


@dataclass
class FeedbackFigures:
    """A student's peer feedback on the talks whose window has closed."""

    owed: int = 0
    on_time: int = 0
    marked: int = 0
    helpful: int = 0

    def proposal(self, quality: bool) -> Optional[float]:
        """The proposed percent (None while nothing is owed)."""
        return peer_feedback_percent(self.owed, self.on_time, self.marked, self.helpful, quality)

    def explained(self, quality: bool) -> str:
        """The figures in words, as the grade's audit reason and the staff page give them."""
        text = f"peer feedback: {self.on_time} of {self.owed} on time"
        if quality:
            text += (f"; {self.helpful} of {self.marked} marked helpful ({FEEDBACK_QUALITY_SHARE:g}% of the item)"
                     if self.marked else "; none marked yet")
        return text


def figures(course: Course, now: datetime) -> dict[int, FeedbackFigures]:
    """Student id → figures, from the talks closed by ``now``, in four queries."""
    talks = db.session.execute(
        select(ProjectTalk.id, ProjectTalk.group_id, ProjectTalk.feedback_closes_at)
        .where(ProjectTalk.course_id == course.id, ProjectTalk.feedback_closes_at <= now)
    ).all()
    students = db.session.scalars(
        select(Enrollment.user_id).where(Enrollment.course_id == course.id, Enrollment.role == ROLE_STUDENT)
    ).all()
    group_of = dict(db.session.execute(
        select(ProjectMember.user_id, ProjectMember.group_id).where(ProjectMember.course_id == course.id)
    ).all())
    out = {uid: FeedbackFigures() for uid in students}
    if not talks:
        return out
    closes = {t.id: t.feedback_closes_at for t in talks}
    pieces = {
        (p.talk_id, p.author_id): p
        for p in db.session.execute(
            select(PeerFeedback.talk_id, PeerFeedback.author_id, PeerFeedback.status, PeerFeedback.submitted_at,
                   PeerFeedback.held_back, PeerFeedback.helpful)
            .where(PeerFeedback.talk_id.in_(list(closes)))
        )
    }
    for uid, fig in out.items():
        for talk in talks:
            if group_of.get(uid) == talk.group_id:
                continue
            fig.owed += 1
            piece = pieces.get((talk.id, uid))
            if (piece is None or piece.status != FEEDBACK_SUBMITTED or piece.held_back
                    or piece.submitted_at is None or piece.submitted_at > closes[talk.id]):
                continue
            fig.on_time += 1
            if piece.helpful is not None:
                fig.marked += 1
                fig.helpful += bool(piece.helpful)
    return out


def enter_proposals(course: Course, item: GradeItem, settings: GradebookSettings, actor_id: int, now: datetime) -> int:
    """Store every owed student's proposal as their grade on the item, the figures as the reason
    and any comment kept (each change audited by ``grading.record_grade``); returns how many
    students were graded."""
    comments = dict(db.session.execute(select(Grade.student_id, Grade.comment).where(Grade.item_id == item.id)).all())
    graded = 0
    for student_id, fig in figures(course, now).items():
        percent = fig.proposal(settings.feedback_quality)
        if percent is None:
            continue
        grading.record_grade(course, item, student_id, actor_id, now, score=percent,
                             comment=comments.get(student_id, ""), reason=fig.explained(settings.feedback_quality))
        graded += 1
    return graded

"""After the panel: the transcript of a room, and each student's participation in a course
(read by the staff's CSV export and the gradebook)."""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import case, func, select

from core.extensions import db
from domain import policy
from domain.panel.state import verdict_counts, vote_counts
from models import (
    Q_ANSWERED, ROLE_STUDENT, VERDICTS, Course, Enrollment, PanelRoom, Phase, Presentation, Question, User, Vote,
)


def verdict(presentation: Presentation, viewer) -> Optional[dict[str, int]]:
    """The verdict poll's counts as the viewer may see them (staff at any time, the class once
    the room is closed); None when they are not shown. A room nobody has opened yet counts as
    one not started, with no votes, so that opening it changes nothing here."""
    role = policy.room_role(viewer, presentation)
    room = db.session.scalar(select(PanelRoom).where(PanelRoom.presentation_id == presentation.id))
    if role is None or not policy.audience_sees_verdict(role, room or PanelRoom(phase=Phase.SCHEDULED)):
        return None
    return verdict_counts(room) if room is not None else dict.fromkeys(VERDICTS, 0)


def transcript(room: PanelRoom, viewer) -> list[dict[str, Any]]:
    """Answered questions in answer order, with answers, outcomes, times and the asker as the
    viewer may see them (``policy.asker_label``); for staff, whether each came from a review."""
    votes = vote_counts(room.id)
    staff = policy.can_moderate(viewer, room)
    answered = db.session.scalars(
        select(Question)
        .where(Question.room_id == room.id, Question.state == Q_ANSWERED)
        .order_by(Question.answered_at, Question.id)
    ).all()
    return [
        {
            "id": q.id,
            "text": q.text,
            "asker": policy.asker_label(viewer, q),
            "anonymous": q.anonymous,
            "parent_id": q.parent_id,
            "votes": votes.get(q.id, 0),
            "answer_text": q.answer_text,
            "outcome": q.outcome,
            "answered_by": q.claimed_by.display_name if q.claimed_by else None,
            "asked_at": q.created_at,
            "live_at": q.live_at,
            "answered_at": q.answered_at,
            **({"from_review": q.from_review} if staff else {}),
        }
        for q in answered
    ]


def participation(course: Course) -> list[dict[str, Any]]:
    """Per student of the course: questions asked, approved, answered, votes received and cast."""
    course_questions = (
        select(Question.id, Question.asker_id, Question.state, Question.approved_at)
        .join(PanelRoom, PanelRoom.id == Question.room_id)
        .join(Presentation, Presentation.id == PanelRoom.presentation_id)
        .where(Presentation.course_id == course.id)
        .subquery()
    )
    asked = (
        select(
            course_questions.c.asker_id.label("uid"),
            func.count().label("asked"),
            func.count(course_questions.c.approved_at).label("approved"),
            func.sum(case((course_questions.c.state == Q_ANSWERED, 1), else_=0)).label("answered"),
        )
        .group_by(course_questions.c.asker_id)
    )
    received = (
        select(course_questions.c.asker_id, func.count(Vote.id))
        .join(Vote, Vote.question_id == course_questions.c.id)
        .group_by(course_questions.c.asker_id)
    )
    cast = (
        select(Vote.user_id, func.count(Vote.id))
        .join(course_questions, course_questions.c.id == Vote.question_id)
        .group_by(Vote.user_id)
    )
    asked_by = {row.uid: row for row in db.session.execute(asked)}
    received_by = dict(db.session.execute(received).all())
    cast_by = dict(db.session.execute(cast).all())
    students = db.session.scalars(
        select(User)
        .join(Enrollment, Enrollment.user_id == User.id)
        .where(Enrollment.course_id == course.id, Enrollment.role == ROLE_STUDENT)
        .order_by(User.display_name, User.id)
    )
    rows = []
    for student in students:
        mine = asked_by.get(student.id)
        rows.append(
            {
                "user_id": student.id,
                "name": student.display_name,
                "email": student.email,
                "asked": mine.asked if mine else 0,
                "approved": mine.approved if mine else 0,
                "answered": int(mine.answered or 0) if mine else 0,
                "votes_received": received_by.get(student.id, 0),
                "votes_cast": cast_by.get(student.id, 0),
            }
        )
    return rows

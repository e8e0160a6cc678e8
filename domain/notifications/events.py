"""The events that notify, each called in one line from the operation where it happens (same
transaction): who receives it, and what makes two of them the same event."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import select

from core.extensions import db
from core.timeutil import iso
from domain.notifications.outbox import notify
from models import ClassSession, Enrollment, Extension, Grade, GradeItem, PanelRoom, Phase, Presentation, ProjectGroup


def extension_granted(presentation: Presentation, user_id: int, deadline: datetime, now: datetime) -> None:
    """The student hears of their new deadline."""
    notify([user_id], "extension_granted", presentation.id, presentation.course_id, now, dedupe_key=iso(deadline))


def extension_revoked(extension: Extension, now: datetime) -> None:
    """The student hears that the presentation's deadline applies again."""
    notify([extension.user_id], "extension_revoked", extension.presentation_id, extension.course_id, now,
           dedupe_key=iso(extension.deadline))


def proposal_decided(group: ProjectGroup, course_id: int, decision_id: int, now: datetime) -> None:
    """The group hears the decision on its proposal."""
    notify(group.member_ids(), "proposal_decided", group.id, course_id, now, dedupe_key=str(decision_id))


def grades_posted(item: GradeItem, now: datetime) -> None:
    """Each student with a grade on the item hears it is posted."""
    students = db.session.scalars(select(Grade.student_id).where(Grade.item_id == item.id))
    notify(students, "grades_posted", item.id, item.course_id, now)


def room_opened(room: PanelRoom, previous_phase: str, actor_id: int, now: datetime) -> None:
    """The class hears that a panel room opened (the first phase after 'scheduled')."""
    if previous_phase != Phase.SCHEDULED or room.phase in (Phase.SCHEDULED, Phase.CLOSED):
        return
    course_id = room.presentation.course_id
    members = db.session.scalars(select(Enrollment.user_id).where(Enrollment.course_id == course_id))
    notify([uid for uid in members if uid != actor_id], "room_opened", room.id, course_id, now)


def presentation_moved(presentation: Presentation, actor_id: Optional[int], now: datetime) -> None:
    """Its presenting and summary groups hear where the presentation is now."""
    session = db.session.get(ClassSession, presentation.session_id)
    key = f"{presentation.session_id}.{presentation.slot}@{iso(session.starts_at)}"
    members = [uid for uid in presentation.member_ids() if uid != actor_id]
    notify(members, "presentation_moved", presentation.id, presentation.course_id, now, dedupe_key=key)


def session_moved(session: ClassSession, now: datetime, actor_id: Optional[int] = None) -> None:
    """Every presentation of a session that moved in time."""
    for presentation in session.presentations:
        presentation_moved(presentation, actor_id, now)

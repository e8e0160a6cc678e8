"""Staff announcements to a course: an in-app notice to every member, and an e-mail that an
important one sends whatever each person chose."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core.extensions import db
from domain import policy
from domain.errors import Forbidden
from domain.notifications.outbox import notify
from models import Announcement, Course, Enrollment


def announce(course: Course, actor, title: str, body: str, important: bool, now: datetime) -> Announcement:
    """Post an announcement to the course's members (flushed; the caller commits)."""
    if not policy.is_staff(actor, course.id):
        raise Forbidden("Only staff make announcements.")
    item = Announcement(course_id=course.id, author_id=actor.id, title=title.strip(), body=(body or "").strip(),
                        important=bool(important), created_at=now)
    db.session.add(item)
    db.session.flush()
    members = db.session.scalars(select(Enrollment.user_id).where(Enrollment.course_id == course.id))
    notify([uid for uid in members if uid != actor.id], "announcement", item.id, course.id, now, important=item.important)
    return item

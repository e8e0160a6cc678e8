"""Posting grades: held until staff post an item (or a whole category); unposting holds them again."""
from __future__ import annotations

from datetime import datetime

from core.extensions import db
from domain import audit
from domain.notifications import events as notifications
from models import GradeCategory, GradeItem


def post_items(items: list[GradeItem], actor_id: int, now: datetime, posted: bool = True) -> int:
    """Post (or hold again) the items; returns how many changed. Audited per item."""
    changed = 0
    for item in items:
        if (item.posted_at is not None) == posted:
            continue
        item.posted_at = now if posted else None
        item.posted_by_id = actor_id if posted else None
        audit.record("grade.posted" if posted else "grade.held", item.course_id, actor_id, item=item.key)
        if posted:
            notifications.grades_posted(item, now)
        changed += 1
    db.session.flush()
    return changed


def post_category(category: GradeCategory, actor_id: int, now: datetime, posted: bool = True) -> int:
    """Post (or hold) every item of a category."""
    return post_items(list(category.items), actor_id, now, posted)

"""Writing notifications with the change that causes them, and dispatching them when due.

``notify`` adds rows to the caller's transaction (the caller commits): one per recipient and
(kind, subject, dedupe key), so the same event written twice is one row. A second event of the
same kind on the same subject before the first was dispatched (a deadline changed twice in a
minute) merges into the first: one message, saying what holds when it is sent.

``dispatch_due`` takes the notifications whose merge window has passed, asks the policy what
each may say now, shows it in-app, and queues its e-mail (now, or in the next daily digest) or
cancels it when the policy has nothing left to say.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Optional

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from domain.notifications import preferences
from domain.notifications.kinds import KINDS
from domain.policy.notifications import notice_for
from models import (
    Course,
    DeliveryState,
    EmailDelivery,
    Notification,
    NoticeState,
    NotifyChannel,
    NotifyMode,
    User,
)

# Changes to one subject inside this window are one message.
MERGE_WINDOW = timedelta(minutes=1)


def _user_ids(recipients: Iterable) -> list[int]:
    ids = {r if isinstance(r, int) else r.id for r in recipients}
    return sorted(ids)


def notify(recipients: Iterable, kind: str, subject_id: int, course_id: Optional[int],
           now: datetime, dedupe_key: str = "", params: Optional[dict] = None,
           important: bool = False) -> list[Notification]:
    """Add one notification per recipient to the current transaction (the caller commits).

    ``now`` is the moment of the change. Returns the rows written or merged into; an event already written is left as it is.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    subject_type = KINDS[kind].subject_type
    written = []
    for user_id in _user_ids(recipients):
        row = _existing(user_id, kind, subject_type, subject_id, dedupe_key)
        if row is None:
            row = _pending(user_id, kind, subject_type, subject_id)
            if row is not None:  # merge into the notice not yet dispatched
                row.dedupe_key, row.updated_at = dedupe_key, now
                row.due_at = now + MERGE_WINDOW
                row.params, row.important = dict(params or {}), row.important or important
            else:
                row = Notification(
                    user_id=user_id, course_id=course_id, kind=kind, subject_type=subject_type,
                    subject_id=subject_id, dedupe_key=dedupe_key, params=dict(params or {}),
                    important=important, created_at=now, updated_at=now, due_at=now + MERGE_WINDOW,
                )
                db.session.add(row)
        written.append(row)
    db.session.flush()
    return written


def _existing(user_id, kind, subject_type, subject_id, dedupe_key) -> Optional[Notification]:
    return db.session.scalar(
        select(Notification).where(
            Notification.user_id == user_id, Notification.kind == kind, Notification.subject_type == subject_type,
            Notification.subject_id == subject_id, Notification.dedupe_key == dedupe_key,
        )
    )


def _pending(user_id, kind, subject_type, subject_id) -> Optional[Notification]:
    return db.session.scalar(
        select(Notification).where(
            Notification.user_id == user_id, Notification.kind == kind, Notification.subject_type == subject_type,
            Notification.subject_id == subject_id, Notification.state == NoticeState.QUEUED,
        ).limit(1)
    )


def notify_once(recipients: Iterable, kind: str, subject_id: int, course_id: Optional[int], now: datetime,
                dedupe_key: str = "", params: Optional[dict] = None) -> int:
    """``notify`` for events computed from data (reminders, releases): only recipients who do
    not have this exact event yet; returns how many were added."""
    subject_type = KINDS[kind].subject_type
    fresh = [uid for uid in _user_ids(recipients) if _existing(uid, kind, subject_type, subject_id, dedupe_key) is None]
    if fresh:
        notify(fresh, kind, subject_id, course_id, now, dedupe_key, params)
    return len(fresh)


# --------------------------------------------------------------------------- dispatch


def _lockable(statement):
    """``FOR UPDATE SKIP LOCKED`` where the database has it: two senders never take one row."""
    if db.session.get_bind().dialect.name == "postgresql":
        return statement.with_for_update(skip_locked=True)
    return statement


def dispatch_due(now: datetime, limit: int = 200) -> dict[str, int]:
    """Dispatch the notifications due at ``now`` (flushed; the caller commits)."""
    rows = db.session.scalars(
        _lockable(
            select(Notification)
            .where(Notification.state == NoticeState.QUEUED, Notification.due_at <= now)
            .order_by(Notification.id)
            .limit(limit)
        )
    ).all()
    counts = {"delivered": 0, "cancelled": 0, "emails": 0}
    for row in rows:
        user = db.session.get(User, row.user_id)
        notice = notice_for(user, row, now)
        row.dispatched_at = now
        if notice is None:
            row.state = NoticeState.CANCELLED
            counts["cancelled"] += 1
            continue
        row.state = NoticeState.DELIVERED
        row.shown_in_app = preferences.mode_for(user.id, row.kind, NotifyChannel.IN_APP) != NotifyMode.OFF
        counts["delivered"] += 1
        mode = NotifyMode.NOW if row.important else preferences.mode_for(user.id, row.kind, NotifyChannel.EMAIL)
        if mode != NotifyMode.OFF:
            row.delivery = _delivery_for(row, mode, now)
            counts["emails"] += 1
    db.session.flush()
    return counts


def _delivery_for(row: Notification, mode: str, now: datetime) -> EmailDelivery:
    if mode == NotifyMode.NOW:
        return _get_or_add_delivery(row.user_id, row.course_id, row.kind, f"n{row.id}", now)
    course = db.session.get(Course, row.course_id) if row.course_id else None
    zone_name = preferences.digest_zone(row.user_id, course.timezone if course else None)
    day, at = preferences.next_digest(now, preferences.settings_of(row.user_id).digest_hour, zone_name)
    return _get_or_add_delivery(row.user_id, None, "digest", f"digest:{day.isoformat()}", at)


def _get_or_add_delivery(user_id, course_id, kind, key, due_at) -> EmailDelivery:
    found = db.session.scalar(select(EmailDelivery).where(EmailDelivery.user_id == user_id, EmailDelivery.key == key))
    if found is not None:
        return found
    delivery = EmailDelivery(user_id=user_id, course_id=course_id, kind=kind, key=key, due_at=due_at,
                             state=DeliveryState.PENDING)
    try:
        with db.session.begin_nested():
            db.session.add(delivery)
    except IntegrityError:  # another sender added the same digest a moment ago
        return db.session.scalar(select(EmailDelivery).where(EmailDelivery.user_id == user_id, EmailDelivery.key == key))
    return delivery


# --------------------------------------------------------------------------- the in-app list


def inbox_query(user_id: int):
    """The person's dispatched in-app notifications, newest first."""
    return (
        select(Notification)
        .where(Notification.user_id == user_id, Notification.state == NoticeState.DELIVERED,
               Notification.shown_in_app.is_(True))
        .order_by(Notification.dispatched_at.desc(), Notification.id.desc())
    )


def unread_count(user_id: int) -> int:
    """How many of the person's in-app notifications are unread."""
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user_id, Notification.state == NoticeState.DELIVERED,
            Notification.shown_in_app.is_(True), Notification.read_at.is_(None),
        )
    ) or 0


def mark_read(user_id: int, notification_id: Optional[int], now: datetime) -> int:
    """Mark one of the person's notifications (or all, with None) read; returns how many."""
    query = select(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None),
                                       Notification.state == NoticeState.DELIVERED)
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    rows = db.session.scalars(query).all()
    for row in rows:
        row.read_at = now
    db.session.flush()
    return len(rows)

"""The e-mail outbox: claiming due e-mails, composing them at sending time, recording outcomes.

A sender claims due rows in a short transaction of its own (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two senders never claim one row; SQLite has the one process), commits, sends,
then records the outcome and commits again.

The guarantee: **recorded once, sent at most twice.** A claim holds a lease. A sender that dies
after the SMTP server accepted a message but before recording it leaves the row claimed; when
the lease lapses another sender takes it over once (``reclaimed``) and sends it again (the
Message-ID is the same, so mail systems can fold the two). If that claim lapses too, the row is
given up as failed ("outcome unknown") instead of being sent a third time. Transient SMTP
failures (4xx, a dropped connection) are retried with exponential back-off up to the attempt
limit; permanent ones (5xx) fail at once; a refused recipient is recorded as bounced.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import or_, select

from core.extensions import db
from domain.notifications.outbox import _lockable
from domain.policy.notifications import Notice, notice_for
from models import DeliveryAttempt, DeliveryState, EmailDelivery, Notification, NoticeState, User

LEASE = timedelta(minutes=10)
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)


@dataclass(frozen=True)
class Composed:
    """An e-mail as its recipient may read it now: one notice, or a digest of several."""

    delivery: EmailDelivery
    user: User
    notices: tuple[tuple[Notification, Notice], ...]

    @property
    def is_digest(self) -> bool:
        return self.delivery.kind == "digest"


def claim(now: datetime, worker: str, limit: int = 50) -> list[EmailDelivery]:
    """Claim the e-mails due at ``now`` for ``worker`` (flushed; the caller commits at once).

    A claim whose lease lapsed is taken over once; a second lapse is given up as failed."""
    rows = db.session.scalars(
        _lockable(
            select(EmailDelivery)
            .where(or_(
                (EmailDelivery.state == DeliveryState.PENDING) & (EmailDelivery.due_at <= now),
                (EmailDelivery.state == DeliveryState.SENDING) & (EmailDelivery.claimed_at <= now - LEASE),
            ))
            .order_by(EmailDelivery.due_at, EmailDelivery.id)
            .limit(limit)
        )
    ).all()
    claimed = []
    for row in rows:
        if row.state == DeliveryState.SENDING:
            if row.reclaimed:
                _attempt(row, now, "permanent", "claim lapsed twice: outcome unknown, not sent again")
                row.state, row.last_error = DeliveryState.FAILED, "outcome unknown after two lapsed claims"
                continue
            _attempt(row, row.claimed_at, "crashed", f"claim by {row.claimed_by} lapsed without an outcome")
            row.reclaimed = True
        row.state, row.claimed_at, row.claimed_by = DeliveryState.SENDING, now, worker
        row.attempts += 1
        claimed.append(row)
    db.session.flush()
    return claimed


def compose(delivery: EmailDelivery, now: datetime) -> Optional[Composed]:
    """The e-mail's notices rendered through the policy at ``now``; None when none is left."""
    user = db.session.get(User, delivery.user_id)
    notices = []
    for notification in delivery.notifications:
        if notification.state != NoticeState.DELIVERED:
            continue
        notice = notice_for(user, notification, now)
        if notice is not None:
            notices.append((notification, notice))
    return Composed(delivery, user, tuple(notices)) if notices else None


def _attempt(row: EmailDelivery, started: datetime, outcome: str, error: str = "") -> None:
    db.session.add(DeliveryAttempt(delivery_id=row.id, worker=row.claimed_by, started_at=started,
                                   outcome=outcome, error=error[:2000]))


def _still_ours(row: EmailDelivery, worker: str) -> bool:
    db.session.refresh(row)
    return row.state == DeliveryState.SENDING and row.claimed_by == worker


def record_sent(row: EmailDelivery, worker: str, now: datetime, message_id: str) -> bool:
    """Record the e-mail as sent (once: a row another sender took over is left to it)."""
    if not _still_ours(row, worker):
        return False
    _attempt(row, now, "sent")
    row.state, row.sent_at, row.message_id, row.last_error = DeliveryState.SENT, now, message_id, ""
    db.session.flush()
    return True


def record_skipped(row: EmailDelivery, worker: str, now: datetime, why: str) -> None:
    """Nothing left to say when it was due: not sent, and why."""
    if _still_ours(row, worker):
        row.state, row.last_error = DeliveryState.SKIPPED, why
        db.session.flush()


def backoff(attempts: int) -> timedelta:
    """The wait before the next try after ``attempts`` tries: 1, 2, 4 … minutes, at most an hour."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def record_failure(row: EmailDelivery, worker: str, now: datetime, error: str, outcome: str,
                   max_attempts: int) -> str:
    """Record a failed try: ``transient`` is retried with back-off until ``max_attempts``,
    ``permanent`` fails, ``bounced`` is a refused recipient. Returns the row's new state."""
    if not _still_ours(row, worker):
        return row.state
    _attempt(row, now, outcome, error)
    row.last_error = error[:2000]
    if outcome == "transient" and row.attempts < max_attempts:
        row.state, row.due_at = DeliveryState.PENDING, now + backoff(row.attempts)
    elif outcome == "bounced":
        row.state = DeliveryState.BOUNCED
    else:
        row.state = DeliveryState.FAILED
        if outcome == "transient":
            row.last_error = f"gave up after {row.attempts} attempts: {error}"[:2000]
    db.session.flush()
    return row.state


def resend(row: EmailDelivery, now: datetime) -> None:
    """Staff's resend of a failed, bounced or skipped e-mail: due again now, with fresh attempts."""
    row.state, row.due_at, row.attempts, row.reclaimed = DeliveryState.PENDING, now, 0, False
    row.claimed_at, row.claimed_by = None, ""
    db.session.flush()


def delivery_log(course_id: int, kind: Optional[str] = None, limit: int = 200) -> list[EmailDelivery]:
    """The course's e-mails, newest first, for staff (one type, or all)."""
    query = select(EmailDelivery).where(EmailDelivery.course_id == course_id)
    if kind:
        query = query.where(EmailDelivery.kind == kind)
    return list(db.session.scalars(query.order_by(EmailDelivery.id.desc()).limit(limit)))

"""The demo's notifications: a welcome announcement, the reminders and releases the demo's
dates call for, and those the loading operations wrote (extension, decisions, posted grades),
dispatched at once so the demo logins find them in their lists. Their e-mails are left in the
outbox: the server's sender writes them to instance/mail/ when ``make run`` starts."""
from __future__ import annotations

from datetime import datetime

from core.timeutil import now_utc
from domain.notifications import reminders
from domain.notifications.announcements import announce
from domain.notifications.outbox import MERGE_WINDOW, dispatch_due
from models import Course

WELCOME = ("Welcome to the seminar", "Reviews are sealed until each deadline; the panel room opens at the start of "
           "each session. Choose how notifications reach you under Notifications.")


def load_notifications(course: Course, people: dict, now: datetime) -> None:
    """Announce, compute what is due, and dispatch it (flushed; the loader commits)."""
    announce(course, people["instructor"], *WELCOME, important=False, now=now)
    reminders.queue_due(now)
    dispatch_due(now_utc() + MERGE_WINDOW)  # the operations above stamped their notices with the clock

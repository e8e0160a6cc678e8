"""Notifications (SPEC §7): written with the change that causes them, dispatched and e-mailed
once, their text decided by the policy when they are sent (``domain/policy/notifications.py``).

Operations call ``notify(recipients, kind, subject_id, course_id, now, ...)`` in their own
transaction; the sender (``flask notify run-due``, or the server's background task) runs
``reminders.queue_due``, ``outbox.dispatch_due`` and the ``delivery`` steps.
"""
from domain.notifications.kinds import KINDS  # noqa: F401
from domain.notifications.outbox import notify  # noqa: F401

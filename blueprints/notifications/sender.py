"""The sender: compute reminders, dispatch due notifications, and e-mail the due deliveries.

Each step commits on its own: the claim is committed before anything is sent, and each outcome
right after its message (the guarantee is in ``domain/notifications/delivery.py``). Links are
absolute (``NOTIFY_BASE_URL``), and every message carries a signed one-click unsubscribe link
for the types it contains.
"""
from __future__ import annotations

import logging
import os
import socket
from datetime import datetime
from typing import Optional

from flask import Flask, current_app, render_template, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import IntegrityError, OperationalError

from core import mail
from core.extensions import db, socketio
from core.logging import event_context
from core.timeutil import now_utc
from domain.notifications import delivery, outbox, reminders
from domain.notifications.kinds import KINDS

log = logging.getLogger(__name__)
UNSUBSCRIBE_SALT = "colloquy-unsubscribe"


def worker_name() -> str:
    """This process, as claims and delivery attempts name it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user_id: int, kinds: list[str]) -> str:
    """A signed token that turns these e-mail types off for this person."""
    return _serializer().dumps({"u": user_id, "k": sorted(set(kinds))})


def read_unsubscribe_token(token: str) -> Optional[tuple[int, list[str]]]:
    """The person and types of a token, or None when it was not signed by us."""
    try:
        data = _serializer().loads(token)
        return int(data["u"]), [k for k in data["k"] if k in KINDS]
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def _link(notice) -> str:
    return url_for(notice.endpoint, _external=True, **notice.values)


def build_email(composed: delivery.Composed) -> mail.Email:
    """The message for a composed delivery: plain text and HTML from the notices, with headers."""
    kinds = [n.kind for n, _ in composed.notices]
    token = unsubscribe_token(composed.user.id, kinds)
    unsubscribe = url_for("notifications.unsubscribe", token=token, _external=True)
    items = [{"notice": notice, "link": _link(notice)} for _, notice in composed.notices]
    if composed.is_digest:
        subject = f"Colloquy daily digest: {len(items)} update{'s' if len(items) != 1 else ''}"
    else:
        notice = items[0]["notice"]
        subject = f"[{notice.course_title}] {notice.title}" if notice.course_title else notice.title
    context = dict(user=composed.user, items=items, digest=composed.is_digest, unsubscribe=unsubscribe,
                   preferences=url_for("notifications.preferences", _external=True))
    host = current_app.config["NOTIFY_BASE_URL"].split("://")[-1].split("/")[0].split(":")[0] or "colloquy"
    return mail.Email(
        to=composed.user.email, subject=subject,
        text=render_template("notifications/email.txt", **context),
        html=render_template("notifications/email.html", **context),
        message_id=f"<colloquy.{composed.delivery.id}.{composed.delivery.key.replace(':', '.')}@{host}>",
        headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                 "Auto-Submitted": "auto-generated"},
    )


def _send_one(row, worker: str, now: datetime) -> str:
    composed = delivery.compose(row, now)
    if composed is None:
        delivery.record_skipped(row, worker, now, "nothing left to tell the recipient when it was due")
        db.session.commit()
        return "skipped"
    email = build_email(composed)
    try:
        mail.send(email)
    except mail.SendFailed as failure:
        state = delivery.record_failure(row, worker, now, str(failure), failure.outcome,
                                        current_app.config["NOTIFY_MAX_ATTEMPTS"])
        db.session.commit()
        log.warning("e-mail %s to user %s: %s (%s)", row.id, row.user_id, failure, state)
        return state
    delivery.record_sent(row, worker, now, email.message_id)
    db.session.commit()
    return "sent"


def send_due(now: datetime, worker: Optional[str] = None, batch: int = 50) -> dict[str, int]:
    """Claim up to ``batch`` due e-mails (committed), then send each and commit its outcome."""
    worker = worker or worker_name()
    claimed = delivery.claim(now, worker, batch)
    db.session.commit()
    counts: dict[str, int] = {}
    for row in claimed:
        outcome = _send_one(row, worker, now)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _committed_step(step, now: datetime):
    try:
        result = step(now)
        db.session.commit()
        return result
    except (IntegrityError, OperationalError):
        # Another process wrote the same event or held the rows: the next run catches up.
        db.session.rollback()
        log.info("notification step %s deferred to the next run", step.__name__)
        return None


def run_due(now: Optional[datetime] = None, worker: Optional[str] = None, batch: int = 50) -> dict:
    """One run of the sender at ``now``: reminders, dispatch, e-mails (in an app context)."""
    now = now or now_utc()
    with current_app.test_request_context(base_url=current_app.config["NOTIFY_BASE_URL"]):
        queued = _committed_step(reminders.queue_due, now)
        dispatched = _committed_step(outbox.dispatch_due, now)
        emails = send_due(now, worker, batch)
    return {"queued": queued or 0, "dispatched": dispatched or {}, "emails": emails}


def _loop(app: Flask) -> None:
    """Run the sender every NOTIFY_INTERVAL seconds for as long as the server runs."""
    while True:
        with app.app_context(), event_context("notify.run_due"):
            try:
                run_due()
            except Exception:  # a bad run must not stop the loop; it is logged and retried
                db.session.rollback()
                log.exception("notification run failed")
            finally:
                db.session.remove()
        socketio.sleep(app.config["NOTIFY_INTERVAL"])


def start_in_server(app: Flask) -> bool:
    """Start the sender as the server's background task unless NOTIFY_SENDER_IN_SERVER is off."""
    if not app.config["NOTIFY_SENDER_IN_SERVER"]:
        return False
    socketio.start_background_task(_loop, app)
    return True

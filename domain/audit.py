"""Recording integrity-relevant events (SPEC §3.4) for the staff audit log."""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import insert

from core.extensions import db
from models import AuditEvent

_INSERT = insert(AuditEvent.__table__)


def _columns(kind, course_id, actor_id, subject_id, presentation_id, detail) -> dict[str, Any]:
    return {
        "kind": kind,
        "course_id": course_id,
        "actor_id": actor_id,
        "subject_id": subject_id if subject_id is not None else actor_id,
        "presentation_id": presentation_id,
        "detail": detail,
    }


def record(
    kind: str,
    course_id: int,
    actor_id: Optional[int],
    subject_id: Optional[int] = None,
    presentation_id: Optional[int] = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits)."""
    event = AuditEvent(**_columns(kind, course_id, actor_id, subject_id, presentation_id, detail))
    db.session.add(event)
    return event


def record_now(
    kind: str,
    course_id: int,
    actor_id: Optional[int],
    subject_id: Optional[int] = None,
    presentation_id: Optional[int] = None,
    **detail: Any,
) -> None:
    """``record`` as one INSERT run at once in the current transaction (the caller commits), with
    no ORM object: where nothing else is flushed, this spares the unit of work's flush."""
    db.session.execute(_INSERT, _columns(kind, course_id, actor_id, subject_id, presentation_id, detail))

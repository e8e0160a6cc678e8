"""Recording integrity-relevant events (SPEC §3.4) for the staff audit log."""
from __future__ import annotations

from typing import Any, Optional

from extensions import db
from models import AuditEvent


def record(
    kind: str,
    course_id: int,
    actor_id: Optional[int],
    subject_id: Optional[int] = None,
    presentation_id: Optional[int] = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits)."""
    event = AuditEvent(
        kind=kind,
        course_id=course_id,
        actor_id=actor_id,
        subject_id=subject_id if subject_id is not None else actor_id,
        presentation_id=presentation_id,
        detail=detail,
    )
    db.session.add(event)
    return event

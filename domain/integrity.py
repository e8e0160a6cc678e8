"""What staff read on the integrity pages (SPEC §3.4): each critic's status, counts and
similarity flags per presentation, and the course's audit log. Drafts stay private even here
(V1): a critic with only a draft counts as not submitted."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from core.extensions import db
from core.timeutil import format_local
from domain import policy, reviewing, similarity
from models import AuditEvent, Course, Enrollment, Presentation, User

ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")


# --------------------------------------------------------------------------- status of critics


def status_label(row: reviewing.CriticRow, presentation: Presentation, now: datetime) -> str:
    """How staff read a critic's status: on time, late, missing, or not yet due."""
    if row.status == reviewing.STATUS_SUBMITTED:
        return "Submitted on time"
    if row.status == reviewing.STATUS_LATE:
        return "Late"
    if policy.submission_window(row.user.id, presentation, now) == "open":
        return "Not submitted yet"
    return "Missing"


@dataclass(frozen=True)
class PresentationSummary:
    """One row of the overview: a presentation with its status counts and flags."""

    presentation: Presentation
    critics: int
    on_time: int
    late: int
    not_submitted: int
    extensions: int
    flags: int


def summarise(presentation: Presentation, viewer, now: datetime) -> PresentationSummary:
    """Counts of the presentation's critics by status, extensions and similarity flags."""
    rows = reviewing.critic_rows(presentation)
    counts = reviewing.status_counts(rows)
    return PresentationSummary(
        presentation=presentation,
        critics=len(rows),
        on_time=counts[reviewing.STATUS_SUBMITTED],
        late=counts[reviewing.STATUS_LATE],
        not_submitted=counts[reviewing.STATUS_NOT_SUBMITTED],
        extensions=sum(1 for row in rows if row.extended),
        flags=len(similarity.flag_pairs(presentation, viewer=viewer, now=now)),
    )


# --------------------------------------------------------------------------- audit log


def course_members(course: Course) -> list[tuple[User, str]]:
    """Everyone enrolled in the course with their role, by name."""
    return list(
        db.session.execute(
            select(User, Enrollment.role)
            .join(Enrollment, Enrollment.user_id == User.id)
            .where(Enrollment.course_id == course.id)
            .order_by(User.display_name, User.id)
        ).tuples()
    )


def audit_kinds(course: Course) -> list[str]:
    """The kinds of event recorded in the course so far."""
    return list(
        db.session.scalars(
            select(AuditEvent.kind)
            .where(AuditEvent.course_id == course.id)
            .distinct()
            .order_by(AuditEvent.kind)
        )
    )


def audit_query(course: Course, person_id: int, kind: str):
    """The course's audit events, newest first, narrowed to a person and a kind when given."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.course_id == course.id)
        .options(
            selectinload(AuditEvent.actor),
            selectinload(AuditEvent.subject),
            selectinload(AuditEvent.presentation).selectinload(Presentation.paper),
        )
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    if person_id:
        stmt = stmt.where(or_(AuditEvent.subject_id == person_id, AuditEvent.actor_id == person_id))
    if kind:
        stmt = stmt.where(AuditEvent.kind == kind)
    return stmt


def detail_value(value: Any, course: Course) -> str:
    """An audit detail value as people read it: times in the course's zone, lists joined."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(detail_value(v, course) for v in value)
    if isinstance(value, str) and ISO_INSTANT.fullmatch(value):
        return format_local(datetime.fromisoformat(value.replace("Z", "+00:00")), course.timezone)
    return str(value)


def detail_items(event: AuditEvent, course: Course) -> list[tuple[str, str]]:
    """The event's detail as (label, text) pairs, sorted by label."""
    return [
        (key.replace("_", " "), detail_value(value, course))
        for key, value in sorted((event.detail or {}).items())
    ]

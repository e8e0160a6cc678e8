"""Integrity pages for staff (SPEC §3.4): submission status, similarity flags, the audit log.

Every page here is staff only (``course_or_404(need="staff")``: 403 for students, 404 for
strangers) and carries review text or its traces, so it is sent with ``no_store``. Drafts stay
private even here (V1): a critic with only a draft counts as not submitted.
"""
from __future__ import annotations

from dataclasses import dataclass
import re
from datetime import datetime
from typing import Any

from flask import Blueprint, make_response, render_template, request
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from wtforms import SelectField

from domain import policy
from domain import reviewing
from domain import similarity
from blueprints.common import course_or_404, course_presentations, presentation_or_404
from core.extensions import db
from models import AuditEvent, Course, Enrollment, Presentation, User
from core.security import no_store
from core.timeutil import format_local, now_utc

bp = Blueprint("integrity", __name__)

AUDIT_PER_PAGE = 50
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


def _staff_page(template: str, **context):
    return no_store(make_response(render_template(template, **context)))


@bp.route("/courses/<int:course_id>/integrity")
@login_required
def overview(course_id):
    """Per presentation: who submitted, late or not, extensions and similarity flags."""
    course = course_or_404(course_id, need="staff")
    now = now_utc()
    summaries = [summarise(p, current_user, now) for p in course_presentations(course)]
    return _staff_page("integrity/overview.html", course=course, summaries=summaries)


@bp.route("/courses/<int:course_id>/integrity/presentations/<int:presentation_id>")
@login_required
def presentation(course_id, presentation_id):
    """Every critic's status, deadline, pledge and revisions; flagged pairs side by side."""
    course = course_or_404(course_id, need="staff")
    pres = presentation_or_404(course, presentation_id)
    now = now_utc()
    rows = [(row, status_label(row, pres, now)) for row in reviewing.critic_rows(pres)]
    return _staff_page(
        "integrity/presentation.html",
        course=course,
        presentation=pres,
        rows=rows,
        flags=similarity.flag_pairs(pres, viewer=current_user, now=now),
        threshold=similarity.threshold_for(course),
    )


# --------------------------------------------------------------------------- audit log


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing

    person = SelectField(
        "Student or staff member",
        coerce=int,
        default=0,
        description="Events this person did, or that concern them.",
    )
    kind = SelectField("Kind of event", default="")


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


def audit_filter_form(course: Course) -> AuditFilterForm:
    """The filter form bound to the query string, with the course's people and event kinds."""
    form = AuditFilterForm(formdata=request.args)
    form.person.choices = [(0, "Everyone")] + [
        (user.id, f"{user.display_name} ({role})") for user, role in course_members(course)
    ]
    form.kind.choices = [("", "All kinds")] + [(k, k) for k in audit_kinds(course)]
    return form


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


@bp.route("/courses/<int:course_id>/integrity/audit")
@login_required
def audit_log(course_id):
    """The course's audit log, newest first, filtered by person and kind, 50 a page."""
    course = course_or_404(course_id, need="staff")
    form = audit_filter_form(course)
    valid = form.validate()
    person_id = form.person.data if valid else 0
    kind = form.kind.data if valid else ""
    page = db.paginate(
        audit_query(course, person_id, kind),
        page=max(request.args.get("page", 1, type=int), 1),
        per_page=AUDIT_PER_PAGE,
        error_out=False,
    )
    params = {"course_id": course.id}
    if person_id:
        params["person"] = person_id
    if kind:
        params["kind"] = kind
    return _staff_page(
        "integrity/audit.html",
        course=course,
        form=form,
        page=page,
        params=params,
        details={event.id: detail_items(event, course) for event in page.items},
    )

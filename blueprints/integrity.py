"""Integrity pages for staff (SPEC §3.4): submission status, similarity flags, the audit log.

Every page here is staff only (``course_or_404(need="staff")``: 403 for students, 404 for
strangers) and carries review text or its traces, so it is sent with ``no_store``.
"""
from __future__ import annotations

from flask import Blueprint, make_response, render_template, request
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField

from blueprints.common import course_or_404, presentation_or_404
from core.extensions import db
from core.security import no_store
from core.timeutil import now_utc
from domain import integrity, policy, reviewing, similarity
from domain.schedule import course_presentations
from models import Course

bp = Blueprint("integrity", __name__)

AUDIT_PER_PAGE = 50


def _staff_page(template: str, **context):
    return no_store(make_response(render_template(template, **context)))


@bp.route("/courses/<int:course_id>/integrity")
@login_required
def overview(course_id):
    """Per presentation: who submitted, late or not, extensions and similarity flags."""
    course = course_or_404(course_id, need="staff")
    now = now_utc()
    summaries = [integrity.summarise(p, current_user, now) for p in course_presentations(course)]
    return _staff_page("integrity/overview.html", course=course, summaries=summaries)


@bp.route("/courses/<int:course_id>/integrity/presentations/<int:presentation_id>")
@login_required
def presentation(course_id, presentation_id):
    """Every critic's status, deadline, pledge and revisions; flagged pairs side by side."""
    course = course_or_404(course_id, need="staff")
    pres = presentation_or_404(course, presentation_id)
    now = now_utc()
    rows = [(row, integrity.status_label(row, pres, now)) for row in reviewing.critic_rows(pres)]
    flags = similarity.flag_pairs(pres, viewer=current_user, now=now)
    return _staff_page(
        "integrity/presentation.html",
        course=course,
        presentation=pres,
        rows=rows,
        flags=flags,
        labels=policy.reviewer_labels(
            current_user, [f.left for f in flags] + [f.right for f in flags if not f.against_abstract]
        ),
        release_at=policy.release_at(pres),
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


def audit_filter_form(course: Course) -> AuditFilterForm:
    """The filter form bound to the query string, with the course's people and event kinds."""
    form = AuditFilterForm(formdata=request.args)
    form.person.choices = [(0, "Everyone")] + [
        (user.id, f"{user.display_name} ({role})") for user, role in integrity.course_members(course)
    ]
    form.kind.choices = [("", "All kinds")] + [(k, k) for k in integrity.audit_kinds(course)]
    return form


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
        integrity.audit_query(course, person_id, kind),
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
        details={event.id: integrity.detail_items(event, course) for event in page.items},
    )

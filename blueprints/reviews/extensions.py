"""Staff: personal review deadlines (extensions) granted and revoked."""
from __future__ import annotations

from flask import (
    flash,
    redirect,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from blueprints.common import (
    course_and_presentation_or_404,
    found_or_404,
    permitted_or_403,
)
from blueprints.reviews import bp
from blueprints.reviews.forms import (
    ExtensionForm,
)
from blueprints.reviews.responses import (
    page,
)
from core.extensions import db
from core.timeutil import format_local, now_utc, parse_local_input
from domain import policy, reviewing
from domain.grades import grading
from models import Course, Extension, Presentation, User

# --------------------------------------------------------------------------- extensions


def _extension_manager_or_403(course_id: int, presentation_id: int) -> tuple[Course, Presentation]:
    course, presentation = course_and_presentation_or_404(course_id, presentation_id)
    permitted_or_403(policy.can_edit_schedule(current_user, course.id))
    return course, presentation


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/extensions", methods=["GET", "POST"])
@login_required
def extensions(course_id, presentation_id):
    """Staff: grant or change a student's personal review deadline (course time)."""
    course, presentation = _extension_manager_or_403(course_id, presentation_id)
    form = ExtensionForm()
    critics = policy.reviewers_of(presentation)
    form.student.choices = [SelectChoice(0, "Choose a student")] + [
        SelectChoice(u.id, u.display_name) for u in critics
    ]
    status = 200
    if form.validate_on_submit():
        if _grant_extension(course, presentation, form, {u.id for u in critics}):
            return redirect(url_for(".extensions", course_id=course.id, presentation_id=presentation.id))
        status = 400
    elif request.method == "POST":
        status = 400
    granted = db.session.scalars(
        select(Extension).where(Extension.presentation_id == presentation.id).order_by(Extension.deadline)
    ).all()
    return page(
        "reviews/extensions.html", status, course=course, presentation=presentation, form=form, granted=granted
    )


def _grant_extension(course, presentation, form, critic_ids: set[int]) -> bool:
    """Validate and store the extension; False (with field errors) when it cannot be granted."""
    if form.student.data not in critic_ids:
        form.student.errors.append("Choose a student who reviews this presentation.")
        return False
    deadline = parse_local_input(form.deadline.data.isoformat(), course.timezone)
    if deadline <= presentation.review_deadline:
        form.deadline.errors.append(
            "An extension must end after the presentation's deadline, "
            f"{format_local(presentation.review_deadline, course.timezone)}."
        )
        return False
    student = db.session.get(User, form.student.data)
    if reviewing.could_read_unsubmitted(student, presentation, now_utc()) and not form.confirm_read.data:
        form.confirm_read.errors.append(
            "This student's deadline has passed with submission closed, so the released reviews "
            "are already open to them. Tick the box to grant the extension anyway."
        )
        return False
    now = now_utc()
    reviewing.grant_extension(presentation, student.id, deadline, form.reason.data, current_user.id, now)
    grading.reapply_lateness(course, [student.id], current_user.id, now, "extension granted: the deadline moved",
                             presentation_id=presentation.id)
    db.session.commit()
    flash(f"{student.display_name} may now submit until {format_local(deadline, course.timezone)}.", "success")
    return True


@bp.route(
    "/courses/<int:course_id>/presentations/<int:presentation_id>/extensions/<int:extension_id>/revoke",
    methods=["POST"],
)
@login_required
def revoke_extension(course_id, presentation_id, extension_id):
    """Staff: take an extension back; the presentation's deadline applies again."""
    course, presentation = _extension_manager_or_403(course_id, presentation_id)
    extension = found_or_404(db.session.get(Extension, extension_id), lambda e: e.presentation_id == presentation.id)
    name = extension.user.display_name
    student_id = extension.user_id
    now = now_utc()
    reviewing.revoke_extension(extension, current_user.id, now)
    grading.reapply_lateness(course, [student_id], current_user.id, now, "extension revoked",
                             presentation_id=presentation.id)
    db.session.commit()
    flash(f"The extension of {name} was revoked.", "success")
    return redirect(url_for(".extensions", course_id=course.id, presentation_id=presentation.id))

"""Staff: the list of critics, grading a review and the CSV exports."""
from __future__ import annotations

import csv
import io

from flask import (
    Response,
    flash,
    redirect,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from blueprints.common import (
    course_or_404,
    permitted_or_403,
    presentation_or_404,
)
from blueprints.reviews import bp
from blueprints.reviews.forms import (
    GradeForm,
)
from blueprints.reviews.responses import (
    detail_page,
    page,
    review_in_course_or_404,
)
from core.extensions import db
from core.security import no_store
from core.timeutil import now_utc
from domain import policy, reviewing
from domain.review_form import review_form_fields
from models import Presentation

# --------------------------------------------------------------------------- staff


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/reviews/staff")
@login_required
def staff_list(course_id, presentation_id):
    """Staff: every critic of a presentation with status, times, late flags, grades."""
    course = course_or_404(course_id, need="staff")
    presentation = presentation_or_404(course, presentation_id)
    rows = reviewing.critic_rows(presentation)
    return page(
        "reviews/staff_list.html",
        course=course,
        presentation=presentation,
        rows=rows,
        counts=reviewing.status_counts(rows),
        pseudonyms={row.review.id: policy.pseudonym(row.review.pseudonym_no) for row in rows if row.review},
    )


@bp.route("/courses/<int:course_id>/reviews/<int:review_id>/grade", methods=["POST"])
@login_required
def grade(course_id, review_id):
    """Staff: store a review's rubric grade and feedback to its writer (V7)."""
    course = course_or_404(course_id)
    review = review_in_course_or_404(course, review_id)
    permitted_or_403(policy.can_grade_review(current_user, review))
    form = GradeForm()
    if not form.validate():
        return detail_page(course, review, form, now_utc(), status=400)
    reviewing.grade(review, form.grade.data, form.feedback.data, current_user.id)
    db.session.commit()
    flash("Grade and feedback saved.", "success")
    return redirect(url_for(".detail", course_id=course.id, review_id=review.id))


def _csv_response(rows: list[list], filename: str) -> Response:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return no_store(response)


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/reviews.csv")
@login_required
def export_presentation(course_id, presentation_id):
    """Staff: the submitted reviews of one presentation as CSV (enrolled students get 403)."""
    course = course_or_404(course_id, need="staff")
    presentation = presentation_or_404(course, presentation_id)
    rows = reviewing.export_rows(course, [presentation], review_form_fields(course))
    return _csv_response(rows, f"reviews-{course.code}-presentation-{presentation.id}.csv")


@bp.route("/courses/<int:course_id>/reviews.csv")
@login_required
def export_course(course_id):
    """Staff: every submitted review of the course as CSV (enrolled students get 403)."""
    course = course_or_404(course_id, need="staff")
    presentations = db.session.scalars(
        select(Presentation).where(Presentation.course_id == course.id).order_by(Presentation.review_deadline)
    ).all()
    rows = reviewing.export_rows(course, presentations, review_form_fields(course))
    return _csv_response(rows, f"reviews-{course.code}.csv")

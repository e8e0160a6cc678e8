"""Writing one's review: the form, drafts (with autosave), submission and edits."""
from __future__ import annotations

from typing import Callable, TypeVar

from flask import (
    Response,
    flash,
    redirect,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict

from blueprints.common import (
    course_and_presentation_or_404,
)
from blueprints.reviews import bp
from blueprints.reviews.forms import (
    review_form,
    review_input,
    show_submission_errors,
)
from blueprints.reviews.responses import (
    json_answer,
    page,
)
from core.extensions import db
from core.timeutil import format_local, iso, now_utc
from domain import policy, reviewing
from domain.review_form import review_form_fields

T = TypeVar("T")


class _Incomplete(Exception):
    """The submission misses required fields; the form shows them."""


SAVE_ATTEMPTS = 4


def _committed(operation: Callable[[], T]) -> T:
    """Run a save or submission and commit it once; a lost race (a concurrent first save on the
    unique key, a draft another request already submitted) is rolled back and run again on fresh
    data. A refusal is committed too, keeping the audit event of the refused attempt."""
    for _ in range(SAVE_ATTEMPTS):
        try:
            result = operation()
            db.session.commit()
            return result
        except reviewing.ReviewRefused:
            db.session.commit()
            raise
        except (IntegrityError, StaleDataError, reviewing.Conflict):
            db.session.rollback()
    raise RuntimeError("the review could not be saved: too many concurrent changes")




# --------------------------------------------------------------------------- writing


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/review", methods=["GET", "POST"])
@login_required
def write(course_id, presentation_id):
    """Write one's review: save a draft, submit it, or edit it until the deadline."""
    course, presentation = course_and_presentation_or_404(course_id, presentation_id)
    now = now_utc()
    not_reviewer = reviewing.reviewer_refusal(current_user, presentation)
    if not_reviewer is not None:
        if request.method == "POST":
            reviewing.record_refused_attempt(not_reviewer, current_user, presentation)
            db.session.commit()
        return page(
            "reviews/not_reviewer.html", 403, course=course, presentation=presentation, refusal=not_reviewer,
            access=policy.review_access(current_user, presentation, now),
        )
    review = policy.own_review(current_user, presentation)
    form = review_form(course, review)
    status, refusal = 200, None
    if request.method == "POST" and form.validate():
        data = review_input(form, course)
        try:
            if request.form.get("action") == "draft":
                return _after_draft(course, presentation, data, now)
            return _after_submit(course, presentation, form, data, now)
        except reviewing.ReviewRefused as exc:
            status, refusal = 403, exc
        except _Incomplete:
            status = 200
    elif request.method == "POST":
        status = 400
    return _form_page(course, presentation, form, now, status, refusal)


def _after_draft(course, presentation, data, now) -> Response:
    review = _committed(lambda: reviewing.save_draft(current_user, presentation, review_form_fields(course), data, now))
    flash(reviewing.saved_at_text(review) + ".", "success")
    return redirect(url_for(".write", course_id=course.id, presentation_id=presentation.id))


def _after_submit(course, presentation, form, data, now) -> Response:
    fields = review_form_fields(course)
    errors = reviewing.submission_errors(fields, data)
    if errors:
        show_submission_errors(form, errors)
        raise _Incomplete()
    course_id, timezone = course.id, course.timezone  # the commit expires the course
    result = _committed(lambda: reviewing.submit(current_user, presentation, fields, data, now))
    flash(_submit_message(result, timezone), "success")
    return redirect(url_for(".detail", course_id=course_id, review_id=result.review_id))


def _submit_message(result: reviewing.SubmitResult, timezone: str) -> str:
    """What the writer is told after a submission or edit (from values copied before the commit)."""
    if result.kind is None:
        return "Nothing changed: your submitted review is as it was."
    when = format_local(result.at, timezone)
    if result.kind == reviewing.KIND_EDIT:
        return f"Your changes were saved at {when}."
    message = f"Your review was submitted at {when}"
    if result.is_late:
        message += " (late)"
    if result.is_final:
        message += ". It is final: reviews of this paper are already released, so it cannot be edited"
    return message + "."


def _form_page(course, presentation, form, now, status=200, refusal=None) -> Response:
    review = policy.own_review(current_user, presentation)
    return page(
        "reviews/form.html",
        status,
        course=course,
        presentation=presentation,
        form=form,
        fields=review_form_fields(course),
        review=review,
        refusal=refusal or reviewing.write_refusal(current_user, presentation, now),
        deadline=policy.personal_deadline(current_user.id, presentation),
        closes_at=policy.submission_closes_at(current_user.id, presentation),
        is_released=policy.is_released(presentation, now),
        extension=policy.extension_for(current_user.id, presentation),
        window=policy.submission_window(current_user.id, presentation, now),
    )


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/review/draft", methods=["POST"])
@login_required
def save_draft(course_id, presentation_id):
    """Autosave the draft posted as JSON by review_form.js; answers with the time saved."""
    course, presentation = course_and_presentation_or_404(course_id, presentation_id)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not all(isinstance(v, str) for v in payload.values()):
        return json_answer({"error": "Bad Request", "message": "Send the form fields as a JSON object of strings."}, 400)
    form = review_form(course, None, formdata=MultiDict(payload))
    if not form.validate():
        return json_answer({"error": "Bad Request", "message": "Some fields are not valid.", "errors": form.errors}, 400)
    try:
        fields, data, now = review_form_fields(course), review_input(form, course), now_utc()
        review = _committed(lambda: reviewing.save_draft(current_user, presentation, fields, data, now))
    except reviewing.ReviewRefused as exc:
        status = 409 if exc.reason == "submitted" else 403
        return json_answer({"error": "Refused", "reason": exc.reason, "message": exc.message}, status)
    return json_answer({"saved_at": iso(review.updated_at), "message": reviewing.saved_at_text(review)})

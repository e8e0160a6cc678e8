"""Reviews: write (with autosave), submit and edit; read released reviews; staff lists, grades,
exports and extensions (SPEC §3). Every access decision is asked of ``policy``; the workflow
itself lives in ``reviewing``. Every response that carries review data is sent ``no-store``.
"""
from __future__ import annotations

import csv
import io
from functools import lru_cache
from statistics import mean
from typing import Callable, Optional, TypeVar

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, DateTimeLocalField, FloatField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional as OptionalValue

from domain import policy
from domain import reviewing
from blueprints.common import (
    course_and_presentation_or_404,
    course_or_404,
    found_or_404,
    permitted_or_403,
    presentation_or_404,
)
from core.extensions import db
from models import Course, Extension, Presentation, Review, User
from domain.review_form import review_form_fields
from core.security import no_store
from core.timeutil import format_local, iso, now_utc, parse_local_input

bp = Blueprint("reviews", __name__)
T = TypeVar("T")

ANSWER_PREFIX = "answer_"
PLEDGE_TEXT = (
    "I wrote this review on my own and have not seen any other student's review of this paper"
)
SCORE_CHOICES = [
    SelectChoice("", "Choose a score"),
    SelectChoice("1", "1 — strong reject"),
    SelectChoice("2", "2 — weak reject"),
    SelectChoice("3", "3 — borderline"),
    SelectChoice("4", "4 — weak accept"),
    SelectChoice("5", "5 — strong accept"),
]
CONFIDENCE_CHOICES = [
    SelectChoice("", "Choose your confidence"),
    SelectChoice("1", "1 — educated guess"),
    SelectChoice("2", "2 — somewhat unsure"),
    SelectChoice("3", "3 — fairly confident"),
    SelectChoice("4", "4 — confident"),
    SelectChoice("5", "5 — certain, I know the area well"),
]

# --------------------------------------------------------------------------- forms


def review_form(course: Course, review: Optional[Review], formdata=None) -> FlaskForm:
    """The course's review form, filled from the request, else from the stored review."""
    definition = tuple((f["key"], f["label"], f["help"], f["required"]) for f in review_form_fields(course))
    kwargs = {} if formdata is None else {"formdata": formdata}
    return _review_form_class(definition)(data=_stored_data(review), **kwargs)


@lru_cache(maxsize=128)
def _review_form_class(definition: tuple[tuple[str, str, str, bool], ...]) -> type[FlaskForm]:
    """The form class for one review-form definition (key, label, help, required), built once."""

    class ReviewForm(FlaskForm):
        pass

    for key, label, help_text, required in definition:
        setattr(
            ReviewForm,
            ANSWER_PREFIX + key,
            TextAreaField(
                label + ("" if required else " (optional)"),
                description=help_text,
                validators=[Length(max=reviewing.MAX_ANSWER)],
            ),
        )
    ReviewForm.score = SelectField("Overall score", choices=SCORE_CHOICES, default="")
    ReviewForm.confidence = SelectField("Confidence", choices=CONFIDENCE_CHOICES, default="")
    ReviewForm.pledge = BooleanField(PLEDGE_TEXT)
    return ReviewForm


def _stored_data(review: Optional[Review]) -> dict:
    if review is None:
        return {}
    data = {ANSWER_PREFIX + k: v for k, v in (review.answers or {}).items()}
    data["score"] = str(review.score or "")
    data["confidence"] = str(review.confidence or "")
    return data


def _int_or_none(value: Optional[str]) -> Optional[int]:
    return int(value) if value else None


def review_input(form: FlaskForm, course: Course) -> reviewing.ReviewInput:
    """What the writer entered, as the workflow takes it (unknown fields never reach it)."""
    return reviewing.ReviewInput(
        answers={f["key"]: form[ANSWER_PREFIX + f["key"]].data or "" for f in review_form_fields(course)},
        score=_int_or_none(form.score.data),
        confidence=_int_or_none(form.confidence.data),
        pledge=bool(form.pledge.data),
    )


def _show_submission_errors(form: FlaskForm, errors: dict[str, str]) -> None:
    for key, message in errors.items():
        name = key if key in ("score", "confidence", "pledge") else ANSWER_PREFIX + key
        form[name].errors = list(form[name].errors) + [message]


class GradeForm(FlaskForm):
    grade = FloatField(
        "Grade (0–10)",
        validators=[OptionalValue(), NumberRange(min=0, max=10, message="Give a grade from 0 to 10.")],
        description="Rubric points out of 10; leave empty for no grade yet.",
    )
    feedback = TextAreaField(
        "Feedback to the writer",
        validators=[Length(max=5000)],
        description="Only the writer and staff see this feedback.",
    )


class ExtensionForm(FlaskForm):
    student = SelectField("Student", coerce=int, validators=[DataRequired(message="Choose a student.")])
    deadline = DateTimeLocalField(
        "New personal deadline",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired(message="Give the new deadline as a date and time.")],
    )
    reason = StringField("Reason (staff only)", validators=[Length(max=300)])
    confirm_read = BooleanField(
        "Grant it anyway: I know this student could already read the released reviews"
    )


# --------------------------------------------------------------------------- helpers


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


def _review_in_course_or_404(course: Course, review_id: int) -> Review:
    return found_or_404(
        policy.visible_review(current_user, review_id, now_utc()),
        lambda review: review.presentation.course_id == course.id,
    )


def _page(template: str, status: int = 200, **context) -> Response:
    """Render a page that carries review data, never to be stored."""
    return no_store(make_response(render_template(template, **context), status))


def _json(body: dict, status: int = 200) -> Response:
    """A JSON answer about review data, never to be stored."""
    response = jsonify(body)
    response.status_code = status
    return no_store(response)


def _mean_score(reviews: list[Review]) -> Optional[float]:
    scores = [r.score for r in reviews if r.score is not None]
    return round(mean(scores), 2) if scores else None


def _review_json(review: Review) -> dict:
    """A review as this viewer may see it (the caller has checked it is visible)."""
    data = {
        "id": review.id,
        "presentation_id": review.presentation_id,
        "reviewer": policy.reviewer_label(current_user, review),
        "status": review.status,
        "answers": review.answers,
        "score": review.score,
        "confidence": review.confidence,
    }
    if policy.is_staff(current_user, review.presentation.course_id) or review.author_id == current_user.id:
        data.update(submitted_at=iso(review.submitted_at), is_late=review.is_late, is_final=review.is_final)
    if policy.can_view_feedback(current_user, review):
        data.update(grade=review.grade, feedback=review.feedback)
    return data


def _note_view_of_other(review: Review) -> None:
    if review.author_id != current_user.id:
        reviewing.record_view_of_others(current_user, review.presentation, review_id=review.id)
        db.session.commit()


# --------------------------------------------------------------------------- overview


@bp.route("/courses/<int:course_id>/reviews")
@login_required
def mine(course_id):
    """The reviews a student must write, or for staff every presentation's submission counts."""
    course = course_or_404(course_id)
    presentations = db.session.scalars(
        select(Presentation)
        .where(Presentation.course_id == course.id)
        .order_by(Presentation.review_deadline, Presentation.id)
    ).all()
    if policy.is_staff(current_user, course.id):
        rows = [(p, reviewing.status_counts(reviewing.critic_rows(p))) for p in presentations]
        return _page("reviews/staff_overview.html", course=course, rows=rows)
    now = now_utc()
    boxes = [reviewing.review_box(current_user, p, now) for p in presentations]
    return _page(
        "reviews/mine.html",
        course=course,
        to_review=[box for box in boxes if box.access.must_review],
        authored=[box for box in boxes if box.access.is_author],
    )


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
        return _page(
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
        _show_submission_errors(form, errors)
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
    return _page(
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
        return _json({"error": "Bad Request", "message": "Send the form fields as a JSON object of strings."}, 400)
    form = review_form(course, None, formdata=MultiDict(payload))
    if not form.validate():
        return _json({"error": "Bad Request", "message": "Some fields are not valid.", "errors": form.errors}, 400)
    try:
        fields, data, now = review_form_fields(course), review_input(form, course), now_utc()
        review = _committed(lambda: reviewing.save_draft(current_user, presentation, fields, data, now))
    except reviewing.ReviewRefused as exc:
        status = 409 if exc.reason == "submitted" else 403
        return _json({"error": "Refused", "reason": exc.reason, "message": exc.message}, status)
    return _json({"saved_at": iso(review.updated_at), "message": reviewing.saved_at_text(review)})


# --------------------------------------------------------------------------- reading


def _others_for_viewer(course_id: int, presentation_id: int, via: str):
    """The other reviews this viewer may read (audited), or why they may not read them yet."""
    course, presentation = course_and_presentation_or_404(course_id, presentation_id)
    now = now_utc()
    if not policy.can_read_others(current_user, presentation, now):
        return course, presentation, None, reviewing.read_block_message(current_user, presentation, now)
    reviews = policy.visible_reviews(current_user, presentation, now)
    reviewing.record_view_of_others(current_user, presentation, count=len(reviews), via=via)
    db.session.commit()
    return course, presentation, reviews, None


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/reviews")
@login_required
def presentation_reviews(course_id, presentation_id):
    """The other reviews of a presentation, once the policy lets this viewer read them."""
    course, presentation, reviews, blocked = _others_for_viewer(course_id, presentation_id, "page")
    if blocked:
        return _page("reviews/list.html", course=course, presentation=presentation, blocked=blocked)
    return _page(
        "reviews/list.html",
        course=course,
        presentation=presentation,
        reviews=reviews,
        labels=policy.reviewer_labels(current_user, reviews),
        statuses={r.id: reviewing.review_status(r) for r in reviews},
        is_staff=policy.is_staff(current_user, course.id),
        mean_score=_mean_score(reviews),
        fields=review_form_fields(course),
        own=policy.own_review(current_user, presentation),
    )


@bp.route("/courses/<int:course_id>/reviews/<int:review_id>")
@login_required
def detail(course_id, review_id):
    """One review; a hidden review answers exactly like a missing one (V8)."""
    course = course_or_404(course_id)
    review = _review_in_course_or_404(course, review_id)
    _note_view_of_other(review)
    now = now_utc()
    grade_form = GradeForm(obj=review) if policy.can_grade_review(current_user, review) else None
    return _detail_page(course, review, grade_form, now)


def _detail_page(course, review, grade_form, now, status=200) -> Response:
    return _page(
        "reviews/detail.html",
        status,
        course=course,
        review=review,
        presentation=review.presentation,
        fields=review_form_fields(course),
        grade_form=grade_form,
        can_edit=policy.can_write_review(current_user, review.presentation, now)
        and review.author_id == current_user.id,
        is_staff=policy.is_staff(current_user, course.id),
        reviewer_label=policy.reviewer_label(current_user, review),
        review_status=reviewing.review_status(review),
        show_revisions=policy.can_view_revisions(current_user, review),
        can_read_others=policy.can_read_others(current_user, review.presentation, now),
        show_feedback=policy.can_view_feedback(current_user, review),
    )


@bp.route("/courses/<int:course_id>/reviews/<int:review_id>/revisions")
@login_required
def revisions(course_id, review_id):
    """The submission and every edit of a review, with their times (writer and staff)."""
    course = course_or_404(course_id)
    review = _review_in_course_or_404(course, review_id)
    found_or_404(review, lambda r: policy.can_view_revisions(current_user, r))
    return _page(
        "reviews/revisions.html",
        course=course,
        review=review,
        reviewer_label=policy.reviewer_label(current_user, review),
        presentation=review.presentation,
        fields=review_form_fields(course),
    )


@bp.route("/api/courses/<int:course_id>/presentations/<int:presentation_id>/reviews")
@login_required
def api_presentation_reviews(course_id, presentation_id):
    """JSON: the other reviews of a presentation under the same rules as the page."""
    course, presentation, reviews, blocked = _others_for_viewer(course_id, presentation_id, "api")
    if blocked:
        return _json({"presentation_id": presentation.id, "readable": False, "message": blocked})
    return _json(
        {
            "presentation_id": presentation.id,
            "readable": True,
            "reviews": [_review_json(r) for r in reviews],
            "mean_score": _mean_score(reviews),
        }
    )


@bp.route("/api/courses/<int:course_id>/reviews/<int:review_id>")
@login_required
def api_detail(course_id, review_id):
    """JSON: one review; a hidden review answers exactly like a missing one (V8)."""
    course = course_or_404(course_id)
    review = _review_in_course_or_404(course, review_id)
    _note_view_of_other(review)
    return _json(_review_json(review))


# --------------------------------------------------------------------------- staff


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/reviews/staff")
@login_required
def staff_list(course_id, presentation_id):
    """Staff: every critic of a presentation with status, times, late flags, grades."""
    course = course_or_404(course_id, need="staff")
    presentation = presentation_or_404(course, presentation_id)
    rows = reviewing.critic_rows(presentation)
    return _page(
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
    review = _review_in_course_or_404(course, review_id)
    permitted_or_403(policy.can_grade_review(current_user, review))
    form = GradeForm()
    if not form.validate():
        return _detail_page(course, review, form, now_utc(), status=400)
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
    return _page(
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
    reviewing.grant_extension(presentation, student.id, deadline, form.reason.data, current_user.id)
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
    reviewing.revoke_extension(extension, current_user.id)
    db.session.commit()
    flash(f"The extension of {name} was revoked.", "success")
    return redirect(url_for(".extensions", course_id=course.id, presentation_id=presentation.id))


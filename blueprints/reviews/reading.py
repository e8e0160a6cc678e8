"""Reading reviews: one's list, a presentation's released reviews, one review and its history, as pages and JSON."""
from __future__ import annotations

from flask_login import current_user, login_required
from sqlalchemy import select

from blueprints.common import (
    course_and_presentation_or_404,
    course_or_404,
    found_or_404,
)
from blueprints.reviews import bp
from blueprints.reviews.forms import (
    GradeForm,
)
from blueprints.reviews.responses import (
    detail_page,
    json_answer,
    mean_score,
    opened_review_or_404,
    page,
    review_in_course_or_404,
    review_json,
)
from core.extensions import db
from core.timeutil import now_utc
from domain import policy, reviewing
from domain.panel import reports as panel_reports
from domain.review_form import review_form_fields
from models import Presentation

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
        return page("reviews/staff_overview.html", course=course, rows=rows)
    now = now_utc()
    boxes = [reviewing.review_box(current_user, p, now) for p in presentations]
    return page(
        "reviews/mine.html",
        course=course,
        to_review=[box for box in boxes if box.access.must_review],
        authored=[box for box in boxes if box.access.is_author],
    )



# --------------------------------------------------------------------------- reading


def _others_for_viewer(course_id: int, presentation_id: int, via: str):
    """The other reviews this viewer may read (audited), or why they may not read them yet."""
    course, presentation = course_and_presentation_or_404(course_id, presentation_id)
    now = now_utc()
    reviews = reviewing.others_reviews_opened(current_user, presentation, now, via)
    if reviews is None:
        return course, presentation, None, reviewing.read_block_message(current_user, presentation, now)
    db.session.commit()
    return course, presentation, reviews, None


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/reviews")
@login_required
def presentation_reviews(course_id, presentation_id):
    """The other reviews of a presentation, once the policy lets this viewer read them."""
    course, presentation, reviews, blocked = _others_for_viewer(course_id, presentation_id, "page")
    if blocked:
        return page("reviews/list.html", course=course, presentation=presentation, blocked=blocked)
    return page(
        "reviews/list.html",
        course=course,
        presentation=presentation,
        reviews=reviews,
        labels=policy.reviewer_labels(current_user, reviews),
        statuses={r.id: reviewing.review_status(r) for r in reviews},
        is_staff=policy.is_staff(current_user, course.id),
        mean_score=mean_score(reviews),
        verdict=panel_reports.verdict(presentation, current_user),
        fields=review_form_fields(course),
        own=policy.own_review(current_user, presentation),
    )


@bp.route("/courses/<int:course_id>/reviews/<int:review_id>")
@login_required
def detail(course_id, review_id):
    """One review; a hidden review answers exactly like a missing one (V8)."""
    course, review = opened_review_or_404(course_id, review_id)
    now = now_utc()
    grade_form = GradeForm(obj=review) if policy.can_grade_review(current_user, review) else None
    response = detail_page(course, review, grade_form, now)
    db.session.commit()  # the audit event, and the gradebook the grade is read from if set up just now
    return response


@bp.route("/courses/<int:course_id>/reviews/<int:review_id>/revisions")
@login_required
def revisions(course_id, review_id):
    """The submission and every edit of a review, with their times (writer and staff)."""
    course = course_or_404(course_id)
    review = review_in_course_or_404(course, review_id)
    found_or_404(review, lambda r: policy.can_view_revisions(current_user, r))
    return page(
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
    now = now_utc()
    if blocked:
        return json_answer({"presentation_id": presentation.id, "readable": False, "message": blocked})
    return json_answer(
        {
            "presentation_id": presentation.id,
            "readable": True,
            "reviews": [review_json(r, now) for r in reviews],
            "mean_score": mean_score(reviews),
            "verdict": panel_reports.verdict(presentation, current_user),
        }
    )


@bp.route("/api/courses/<int:course_id>/reviews/<int:review_id>")
@login_required
def api_detail(course_id, review_id):
    """JSON: one review; a hidden review answers exactly like a missing one (V8)."""
    _course, review = opened_review_or_404(course_id, review_id)
    response = json_answer(review_json(review, now_utc()))
    db.session.commit()  # the audit event
    return response

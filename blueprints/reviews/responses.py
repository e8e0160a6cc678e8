"""Answers that carry review data (pages and JSON, never stored) and the shared lookups."""
from __future__ import annotations

from statistics import mean
from typing import Optional

from flask import (
    Response,
    jsonify,
    make_response,
    render_template,
)
from flask_login import current_user

from blueprints.common import (
    course_or_404,
    found_or_404,
)
from core.security import no_store
from core.timeutil import iso, now_utc
from domain import policy, reviewing
from domain.grades.gradebook import student_cell
from domain.review_form import review_form_fields
from models import Course, Review


def review_in_course_or_404(course: Course, review_id: int) -> Review:
    """The review if this viewer may see it and it belongs to the course; else 404 (V8)."""
    return found_or_404(
        policy.visible_review(current_user, review_id, now_utc()),
        lambda review: review.presentation.course_id == course.id,
    )


def opened_review_or_404(course_id: int, review_id: int) -> tuple[Course, Review]:
    """The course and a review of it this viewer may read, else 404 (V8); opening another
    student's review is audited (the view commits once it has built its answer)."""
    course = course_or_404(course_id)
    review = review_in_course_or_404(course, review_id)
    if review.author_id != current_user.id:
        reviewing.record_view_of_others(current_user, review.presentation, review_id=review.id)
    return course, review


def page(template: str, status: int = 200, **context) -> Response:
    """Render a page that carries review data, never to be stored."""
    return no_store(make_response(render_template(template, **context), status))


def json_answer(body: dict, status: int = 200) -> Response:
    """A JSON answer about review data, never to be stored."""
    response = jsonify(body)
    response.status_code = status
    return no_store(response)


def mean_score(reviews: list[Review]) -> Optional[float]:
    scores = [r.score for r in reviews if r.score is not None]
    return round(mean(scores), 2) if scores else None


def review_json(review: Review, now) -> dict:
    """A review as this viewer may see it at ``now`` (the caller has checked it is visible); its
    grade and feedback only where the review page would show them (V7, G1)."""
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
    if policy.can_view_feedback(current_user, review) and policy.can_view_review_grade(current_user, review, now):
        data.update(grade=review.grade, feedback=review.feedback)
    return data



def review_grade(course, review, now) -> dict:
    """What the review page shows of the review's grade (G1): for staff and, once the review's
    gradebook item is posted, for its writer, the grade as the gradebook counts it; else nothing."""
    shown = policy.can_view_feedback(current_user, review) and policy.can_view_review_grade(current_user, review, now)
    item = policy.review_grade_item(review.presentation_id) if shown else None
    book, cell = (None, None)
    if item is not None:
        book, cell = student_cell(course, item, review.author_id, now,
                                  posted_only=not policy.can_view_gradebook(current_user, course.id))
    return {"show_feedback": shown, "grade_item": item, "grade_book": book, "grade_cell": cell,
            "grade_posted": item is not None and policy.is_posted(item, now)}


def detail_page(course, review, grade_form, now, status=200) -> Response:
    return page(
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
        **review_grade(course, review, now),
    )

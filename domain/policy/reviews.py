"""Reviews and their deadlines: rules V1–V9 (SPEC §3.3)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import bindparam, select

from core.extensions import db
from domain.policy.membership import _read, _user_id, is_author, is_staff, is_student, students_except
from models import (
    Extension,
    Presentation,
    PresentationMember,
    Review,
    User,
)

# --------------------------------------------------------------------------- deadlines


_EXTENSION = select(Extension).where(
    Extension.presentation_id == bindparam("presentation_id"), Extension.user_id == bindparam("user_id")
)


def extension_for(user_id: int, presentation: Presentation) -> Optional[Extension]:
    """The student's extension on this presentation's review, if one was granted."""
    return _read(_EXTENSION, presentation_id=presentation.id, user_id=user_id)


def _grace(presentation: Presentation) -> timedelta:
    return timedelta(minutes=presentation.course.grace_minutes or 0)


def release_at(presentation: Presentation) -> datetime:
    """The instant after which the reviews of the presentation are released (V3)."""
    return presentation.review_deadline + _grace(presentation)


def is_released(presentation: Presentation, now: datetime) -> bool:
    """Released strictly after the deadline: a submission at the deadline is still on time."""
    return now > release_at(presentation)


def personal_deadline(user_id: int, presentation: Presentation) -> datetime:
    """The student's own review deadline: an extension if granted, else the presentation's."""
    ext = extension_for(user_id, presentation)
    return ext.deadline if ext is not None else presentation.review_deadline


def submission_closes_at(user_id: int, presentation: Presentation) -> datetime:
    """The student's last on-time instant: their deadline plus the course's grace period."""
    return personal_deadline(user_id, presentation) + _grace(presentation)


def submission_window(user_id: int, presentation: Presentation, now: datetime) -> str:
    """'open' (on time), 'late' (accepted, marked late) or 'closed' for this student now."""
    if now <= submission_closes_at(user_id, presentation):
        return "open"
    if presentation.course.late_policy == "accept":
        return "late"
    return "closed"


# --------------------------------------------------------------------------- reviews


_OWN_REVIEW = select(Review).where(
    Review.presentation_id == bindparam("presentation_id"), Review.author_id == bindparam("author_id")
)


def own_review(user, presentation: Presentation) -> Optional[Review]:
    """The user's own review (draft or submitted) of the presentation, if any."""
    uid = _user_id(user)
    if uid is None:
        return None
    return _read(_OWN_REVIEW, presentation_id=presentation.id, author_id=uid)


def must_review(user, presentation: Presentation) -> bool:
    """Students who are critics of the presentation write a review; authors do not (V6)."""
    return is_student(user, presentation.course_id) and not is_author(user, presentation)


def can_write_review(user, presentation: Presentation, now: datetime) -> bool:
    """May create or save a draft and submit it now."""
    if not must_review(user, presentation):
        return False
    review = own_review(user, presentation)
    if review is not None and review.is_submitted:
        return can_edit_submitted(user, review, now)
    return submission_window(user.id, presentation, now) != "closed"


def can_edit_submitted(user, review: Review, now: datetime) -> bool:
    """A submitted review may be edited until its writer's deadline, never after release (V5)."""
    if _user_id(user) != review.author_id or not review.is_submitted or review.is_final:
        return False
    presentation = review.presentation
    if is_released(presentation, now):
        return False
    return submission_window(review.author_id, presentation, now) == "open"


def can_read_others(user, presentation: Presentation, now: datetime) -> bool:
    """Whether the user may read other students' submitted reviews of the presentation."""
    if is_staff(user, presentation.course_id):
        return True  # V2
    if not is_student(user, presentation.course_id):
        return False
    if not is_released(presentation, now):
        return False  # V3
    if is_author(user, presentation):
        return True  # V6
    mine = own_review(user, presentation)
    if mine is not None and mine.is_submitted:
        return True  # V4, and V5 once their own is in
    return submission_window(user.id, presentation, now) == "closed"  # V5


def can_view_review(user, review: Review, now: datetime) -> bool:
    """The single answer to 'may this user see this review (text, scores, existence)?'."""
    uid = _user_id(user)
    if uid is None:
        return False
    if review.author_id == uid:
        return True  # V1: own draft or submission
    if not review.is_submitted:
        return False  # V1: drafts are private, staff included
    return can_read_others(user, review.presentation, now)


def visible_reviews(user, presentation: Presentation, now: datetime) -> list[Review]:
    """Other students' submitted reviews the user may read, in pseudonym order."""
    if not can_read_others(user, presentation, now):
        return []
    reviews = db.session.scalars(
        select(Review)
        .where(Review.presentation_id == presentation.id, Review.status == "submitted")
        .order_by(Review.pseudonym_no, Review.id)
    ).all()
    return [r for r in reviews if r.author_id != user.id]


def visible_review_count(user, presentation: Presentation, now: datetime) -> Optional[int]:
    """How many submitted reviews the user may know of; None when even the count is hidden."""
    if not can_read_others(user, presentation, now):
        return None
    return len(visible_reviews(user, presentation, now))


def visible_review(user, review_id: int, now: datetime) -> Optional[Review]:
    """The review if the user may see it, else None: hidden and missing are one answer (V8)."""
    review = db.session.get(Review, review_id)
    if review is None or not can_view_review(user, review, now):
        return None
    return review


def pseudonym(number: Optional[int]) -> str:
    """'Reviewer A' for 1, …, 'Reviewer Z', then 'Reviewer AA'."""
    if not number:
        return "Reviewer"
    letters = ""
    n = number
    while n > 0:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return f"Reviewer {letters}"


def reviewer_label(user, review: Review) -> str:
    """How the review's writer is shown to this viewer: name for staff, pseudonym for students."""
    if _user_id(user) == review.author_id:
        return "You"
    course = review.presentation.course
    if is_staff(user, course.id) or course.name_reviewers:
        return review.author.display_name
    return pseudonym(review.pseudonym_no)


def can_view_feedback(user, review: Review) -> bool:
    """Instructor feedback and a review's grade: its writer and staff only (V7)."""
    return _user_id(user) == review.author_id or is_staff(user, review.presentation.course_id)


def can_grade_review(user, review: Review) -> bool:
    """Staff grade reviews and leave feedback."""
    return is_staff(user, review.presentation.course_id)


def reviewers_of(presentation: Presentation) -> list[User]:
    """Everyone who must review the presentation (``must_review`` for a whole class, V6)."""
    authors = select(PresentationMember.user_id).where(
        PresentationMember.presentation_id == presentation.id
    )
    return students_except(presentation.course_id, authors)


def can_view_revisions(user, review: Review) -> bool:
    """A review's revision history: its writer, and staff once it is submitted (V1, V2)."""
    if _user_id(user) == review.author_id:
        return True
    return review.is_submitted and is_staff(user, review.presentation.course_id)


# --------------------------------------------------------------------------- what a page shows


@dataclass(frozen=True)
class ReviewAccess:
    """Everything a review page or box shows about one viewer and one presentation at ``now``."""

    is_staff: bool
    is_author: bool
    must_review: bool
    own: Optional[Review]
    personal_deadline: Optional[datetime]
    closes_at: Optional[datetime]
    can_write: bool
    can_read_others: bool
    is_released: bool
    release_at: datetime


def review_access(user, presentation: Presentation, now: datetime) -> ReviewAccess:
    """The viewer's standing on a presentation's reviews, decided once for a page."""
    critic = must_review(user, presentation)
    return ReviewAccess(
        is_staff=is_staff(user, presentation.course_id),
        is_author=is_author(user, presentation),
        must_review=critic,
        own=own_review(user, presentation),
        personal_deadline=personal_deadline(user.id, presentation) if critic else None,
        closes_at=submission_closes_at(user.id, presentation) if critic else None,
        can_write=can_write_review(user, presentation, now),
        can_read_others=can_read_others(user, presentation, now),
        is_released=is_released(presentation, now),
        release_at=release_at(presentation),
    )


def reviewer_labels(user, reviews) -> dict[int, str]:
    """Each review's writer as this viewer sees them, by review id."""
    return {review.id: reviewer_label(user, review) for review in reviews}

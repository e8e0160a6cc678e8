"""The review workflow (SPEC §3.1–3.2): drafts, submission, edits, revisions, pseudonyms, late marking.

Views parse a form into a ``ReviewInput`` and call ``save_draft`` or ``submit``. Every
permission question is put to ``policy``; this module carries out what the policy allows and
explains, in words for the writer, what it refuses. ``now`` is always a parameter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Optional

from sqlalchemy import Insert, Update, bindparam, func, insert, select, update

from domain import audit
from domain import policy
from domain.notifications import events as notifications
from core.extensions import db
from models import REVIEW_DRAFT, REVIEW_SUBMITTED, Course, Extension, Presentation, Review, ReviewRevision
from core.timeutil import format_local, iso, local

SCORE_RANGE = range(1, 6)
MAX_ANSWER = 20_000

STATUS_NOT_STARTED = "not started"
STATUS_DRAFT = "draft"
STATUS_SUBMITTED = "submitted"
STATUS_LATE = "late"
STATUS_NOT_SUBMITTED = "not submitted"

KIND_SUBMIT = "submit"
KIND_EDIT = "edit"
KIND_LATE_SUBMIT = "late-submit"


@dataclass(frozen=True)
class ReviewInput:
    """What the writer entered: the course's text fields, scores and the pledge."""

    answers: dict[str, str] = field(default_factory=dict)
    score: Optional[int] = None
    confidence: Optional[int] = None
    pledge: bool = False


@dataclass(frozen=True)
class SubmitResult:
    """What a submission stored, as plain values (reporting it reads nothing again).

    ``kind`` is the revision kind written (None when nothing changed); ``at`` is when the review
    was submitted, or changed by this edit.
    """

    review_id: int
    kind: Optional[str]
    at: Optional[datetime]
    is_late: bool
    is_final: bool


class ReviewRefused(Exception):
    """The policy refuses the save or submission now; ``message`` tells the writer why."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


class Conflict(Exception):
    """Another request changed the review first: the caller rolls back and runs the operation
    again on fresh data (as it does for an IntegrityError at a flush or commit)."""


# --------------------------------------------------------------------------- status


def review_status(review: Optional[Review]) -> str:
    """The writer's own view of their review: not started, draft, submitted or late."""
    if review is None:
        return STATUS_NOT_STARTED
    if not review.is_submitted:
        return STATUS_DRAFT
    return STATUS_LATE if review.is_late else STATUS_SUBMITTED


def staff_status(review: Optional[Review]) -> str:
    """The status staff see: drafts are private (V1), so a draft counts as not submitted."""
    if review is None or not review.is_submitted:
        return STATUS_NOT_SUBMITTED
    return review_status(review)


def saved_at_text(review: Review) -> str:
    """'Draft saved at HH:MM' in the course's zone, for the autosave status line."""
    when = local(review.updated_at, review.presentation.course.timezone)
    return f"Draft saved at {when:%H:%M}"


# --------------------------------------------------------------------------- refusals

STAFF_MESSAGE = "Staff do not write reviews. Use the staff list to read the submitted reviews."
AUTHOR_MESSAGE = (
    "You are an author of this presentation (presenting or summary group): "
    "authors do not review their own presentation."
)
NOT_REVIEWER_MESSAGE = "You do not review this presentation."
FINAL_MESSAGE = (
    "Your review is final: it was submitted after the reviews of this paper were released, "
    "so it can no longer be changed."
)
RELEASED_MESSAGE = (
    "The reviews of this paper have been released, so submitted reviews can no longer be edited."
)
SUBMITTED_DRAFT_MESSAGE = (
    "Your review is already submitted; drafts no longer apply. Use “Save changes” to edit it."
)


def reviewer_refusal(user, presentation: Presentation) -> Optional[ReviewRefused]:
    """Why the user does not review this presentation at all (staff, author); None for critics."""
    if policy.must_review(user, presentation):
        return None
    if policy.is_staff(user, presentation.course_id):
        return ReviewRefused("staff", STAFF_MESSAGE)
    if policy.is_author(user, presentation):
        return ReviewRefused("author", AUTHOR_MESSAGE)
    return ReviewRefused("not-reviewer", NOT_REVIEWER_MESSAGE)


def write_refusal(user, presentation: Presentation, now: datetime) -> Optional[ReviewRefused]:
    """Why the user may not save or submit their review now; None when the policy allows it."""
    if policy.can_write_review(user, presentation, now):
        return None
    refusal = reviewer_refusal(user, presentation)
    if refusal is not None:
        return refusal
    review = policy.own_review(user, presentation)
    deadline = format_local(
        policy.personal_deadline(user.id, presentation), presentation.course.timezone
    )
    if review is not None and review.is_submitted:
        if review.is_final:
            return ReviewRefused("final", FINAL_MESSAGE)
        if policy.is_released(presentation, now):
            return ReviewRefused("released", RELEASED_MESSAGE)
        return ReviewRefused(
            "deadline",
            f"Your deadline ({deadline}) has passed, so your submitted review can no longer be edited.",
        )
    return ReviewRefused(
        "closed",
        f"Your deadline ({deadline}) has passed and this course does not accept late reviews. "
        "Your draft is kept, but it can no longer be submitted.",
    )


def read_block_message(user, presentation: Presentation, now: datetime) -> str:
    """Why the other reviews are not readable yet; never depends on whether any exist (V3)."""
    release = format_local(policy.release_at(presentation), presentation.course.timezone)
    if not policy.is_released(presentation, now):
        return f"Reviews of this paper are released after the review deadline ({release})."
    return (
        "Reviews of this paper were released after the review deadline. You can read them once "
        "your own review is submitted or your deadline has passed."
    )


@dataclass(frozen=True)
class ReviewBox:
    """A presentation's review box for one viewer: the policy's answers, the own review's
    status and, when the others are closed to the viewer, why."""

    presentation: Presentation
    access: policy.ReviewAccess
    status: str
    read_block: Optional[str]


def review_box(user, presentation: Presentation, now: datetime) -> ReviewBox:
    """What a page shows of the viewer's review of a presentation at ``now``."""
    access = policy.review_access(user, presentation, now)
    blocked = None if access.can_read_others else read_block_message(user, presentation, now)
    return ReviewBox(presentation, access, review_status(access.own), blocked)


# --------------------------------------------------------------------------- validation


def submission_errors(fields: list[dict], data: ReviewInput) -> dict[str, str]:
    """What is missing for a submission: required fields, scores, the pledge (keyed by name)."""
    errors = {
        f["key"]: f"{f['label']} is required to submit."
        for f in fields
        if f["required"] and not data.answers.get(f["key"], "").strip()
    }
    if data.score not in SCORE_RANGE:
        errors["score"] = "Choose an overall score from 1 to 5."
    if data.confidence not in SCORE_RANGE:
        errors["confidence"] = "Choose your confidence from 1 to 5."
    if not data.pledge:
        errors["pledge"] = "Tick the integrity pledge to submit your review."
    return errors


def _clean_answers(fields: list[dict], answers: dict[str, str]) -> dict[str, str]:
    """Only the course's fields are stored, trimmed; unknown keys are dropped."""
    return {f["key"]: (answers.get(f["key"]) or "").strip()[:MAX_ANSWER] for f in fields}


# --------------------------------------------------------------------------- saving


def _own_or_new(user, presentation: Presentation, now: datetime) -> Review:
    review = policy.own_review(user, presentation)
    if review is None:
        review = Review(presentation=presentation, author_id=user.id, created_at=now)
        db.session.add(review)
        db.session.flush()  # a concurrent first save of the same writer fails here and retries
    return review


def _content(fields: list[dict], data: ReviewInput, now: datetime) -> dict:
    """The review's stored columns for what the writer entered (scores out of range dropped)."""
    return {
        "answers": _clean_answers(fields, data.answers),
        "score": data.score if data.score in SCORE_RANGE else None,
        "confidence": data.confidence if data.confidence in SCORE_RANGE else None,
        "updated_at": now,
    }


def _apply(review: Review, content: dict) -> None:
    for column, value in content.items():
        setattr(review, column, value)


def save_draft(user, presentation: Presentation, fields: list[dict], data: ReviewInput, now: datetime) -> Review:
    """Save the writer's draft (private, V1). A submitted review is changed only by ``submit``.

    Raises ``Conflict`` (or IntegrityError) when a concurrent request got there first.
    """
    existing = policy.own_review(user, presentation)
    if existing is not None and existing.is_submitted:
        raise ReviewRefused("submitted", SUBMITTED_DRAFT_MESSAGE)
    refusal = write_refusal(user, presentation, now)
    if refusal is not None:
        raise refusal
    review = _own_or_new(user, presentation, now)
    # Written only while still a draft: an autosave racing a submission never overwrites it.
    saved = db.session.execute(
        update(Review)
        .where(Review.id == review.id, Review.status == REVIEW_DRAFT)
        .values(**_content(fields, data, now))
    ).rowcount
    if saved != 1:
        raise Conflict()
    return review


def submit(user, presentation: Presentation, fields: list[dict], data: ReviewInput, now: datetime) -> SubmitResult:
    """Submit or edit the writer's review, keeping a revision of each change.

    The caller has checked ``submission_errors``. A first submission gets the next pseudonym
    number and is marked late or final as the policy says; a repeated identical submission
    (a double click) changes nothing. A refusal is audited before it is raised, so the caller
    commits that event too; ``Conflict`` (or IntegrityError) means a concurrent request won.
    """
    missing = submission_errors(fields, data)
    if missing:
        raise ValueError(f"incomplete review: {sorted(missing)}")
    refusal = write_refusal(user, presentation, now)
    if refusal is not None:
        _record_refusal(refusal, user, presentation)
        raise refusal
    review = policy.own_review(user, presentation)
    if review is not None and review.is_submitted:
        return _edit(review, fields, data, now)
    return _first_submission(user, presentation, review, fields, data, now)


def _first_submission(
    user, presentation: Presentation, draft: Optional[Review], fields: list[dict], data: ReviewInput, now: datetime
) -> SubmitResult:
    """Store the submission in one statement (the draft becomes it, or it is inserted), then its
    revision and audit event: three INSERTs or UPDATEs and no unit-of-work flush."""
    late = policy.submission_window(user.id, presentation, now) == "late"
    in_grace = not late and now > policy.personal_deadline(user.id, presentation)
    final = policy.is_released(presentation, now)  # V5: no "stub, read, rewrite"
    content = _content(fields, data, now)
    row = {
        **content,
        "status": REVIEW_SUBMITTED,
        "pledge": True,
        "submitted_at": now,
        "is_late": late,
        "is_final": final,
    }
    insert_new, claim_draft = _storing(_next_pseudonym(presentation.id))
    if draft is None:
        # A concurrent first save of the same writer fails on the unique key and retries.
        new = {"presentation_id": presentation.id, "author_id": user.id, "created_at": now}
        review_id = db.session.execute(insert_new, {**row, **new}).inserted_primary_key[0]
    else:
        # Only one request turns the draft into a submission; a concurrent one retries as an edit.
        if db.session.execute(claim_draft, {**row, "draft_id": draft.id}).rowcount != 1:
            raise Conflict()
        review_id = draft.id
    kind = KIND_LATE_SUBMIT if late else KIND_SUBMIT
    _add_revision(review_id, content, kind, now)
    detail = {"review_id": review_id, "final": final}
    if in_grace:
        detail["in_grace"] = True
    _record_event("review.late_submit" if late else "review.submit", presentation, user.id, **detail)
    return SubmitResult(review_id, kind, now, late, final)


def _edit(review: Review, fields: list[dict], data: ReviewInput, now: datetime) -> SubmitResult:
    answers = _clean_answers(fields, data.answers)
    if (answers, data.score, data.confidence) == (review.answers, review.score, review.confidence):
        return SubmitResult(review.id, None, review.submitted_at, review.is_late, review.is_final)
    presentation = review.presentation
    in_grace = now > policy.personal_deadline(review.author_id, presentation)
    content = _content(fields, data, now)
    _apply(review, content)
    review.pledge = True
    _add_revision(review.id, content, KIND_EDIT, now)
    kind = "review.late_edit" if in_grace else "review.edit"
    _record_event(kind, presentation, review.author_id, review_id=review.id)
    return SubmitResult(review.id, KIND_EDIT, now, review.is_late, review.is_final)


_REVIEWS = Review.__table__
_OTHER_REVIEWS = _REVIEWS.alias("other_reviews")
_INSERT_REVISION = insert(ReviewRevision.__table__)


@lru_cache(maxsize=256)
def _next_pseudonym(presentation_id: int):
    """The number to store: one more than the highest given in this presentation, computed by
    the storing statement itself; the unique key settles the races that remain. Built once per
    presentation (building SQL costs more than running it)."""
    return (
        select(func.coalesce(func.max(_OTHER_REVIEWS.c.pseudonym_no), 0) + 1)
        .where(_OTHER_REVIEWS.c.presentation_id == presentation_id)
        .scalar_subquery()
    )


@lru_cache(maxsize=256)
def _storing(pseudonym) -> tuple[Insert, Update]:
    """The INSERT of a new submission and the UPDATE that claims a draft, both numbering it with
    ``pseudonym`` (built once per number source)."""
    return (
        insert(_REVIEWS).values(pseudonym_no=pseudonym),
        update(_REVIEWS)
        .where(_REVIEWS.c.id == bindparam("draft_id"), _REVIEWS.c.status == REVIEW_DRAFT)
        .values(pseudonym_no=pseudonym),
    )


def _add_revision(review_id: int, content: dict, kind: str, now: datetime) -> None:
    """Keep what was stored as a revision (one INSERT, run at once in the transaction)."""
    db.session.execute(
        _INSERT_REVISION,
        {
            "review_id": review_id,
            "answers": content["answers"],
            "score": content["score"],
            "confidence": content["confidence"],
            "kind": kind,
            "created_at": now,
        },
    )


def _record_event(kind: str, presentation: Presentation, author_id: int, **detail) -> None:
    audit.record_now(kind, presentation.course_id, author_id, presentation_id=presentation.id, **detail)


def _record_refusal(refusal: ReviewRefused, user, presentation: Presentation) -> None:
    audit.record(
        "review.refused",
        presentation.course_id,
        user.id,
        presentation_id=presentation.id,
        reason=refusal.reason,
    )


def record_refused_attempt(refusal: ReviewRefused, user, presentation: Presentation) -> None:
    """Audit a submission attempt refused before the workflow (an author, staff)."""
    _record_refusal(refusal, user, presentation)


def record_view_of_others(user, presentation: Presentation, **detail) -> None:
    """Audit a student opening other students' reviews (staff reading is not logged)."""
    if policy.is_student(user, presentation.course_id):
        audit.record(
            "review.view_others",
            presentation.course_id,
            user.id,
            presentation_id=presentation.id,
            **detail,
        )


def others_reviews_opened(user, presentation: Presentation, now: datetime, via: str) -> Optional[list[Review]]:
    """The other students' reviews of the presentation the user may read at ``now``, their
    opening audited once (``via`` names the page or path; the caller commits), or None while the
    policy keeps them closed to this user."""
    if not policy.can_read_others(user, presentation, now):
        return None
    reviews = policy.visible_reviews(user, presentation, now)
    record_view_of_others(user, presentation, count=len(reviews), via=via)
    return reviews


# --------------------------------------------------------------------------- staff


def grade(review: Review, grade_value: Optional[float], feedback: str, grader_id: int) -> None:
    """Store a review's rubric grade (0–10) and feedback (V7: writer and staff see them)."""
    review.grade = grade_value
    review.feedback = (feedback or "").strip()
    audit.record(
        "review.grade",
        review.presentation.course_id,
        grader_id,
        subject_id=review.author_id,
        presentation_id=review.presentation_id,
        review_id=review.id,
        grade=grade_value,
    )
    db.session.flush()


def submitted_reviews(presentation: Presentation) -> dict[int, Review]:
    """Submitted reviews of the presentation by writer id (drafts are never listed, V1)."""
    reviews = db.session.scalars(
        select(Review).where(
            Review.presentation_id == presentation.id, Review.status == REVIEW_SUBMITTED
        )
    )
    return {r.author_id: r for r in reviews}


@dataclass(frozen=True)
class CriticRow:
    """One critic of a presentation as staff see them."""

    user: object
    review: Optional[Review]
    deadline: datetime
    extended: bool

    @property
    def status(self) -> str:
        return staff_status(self.review)


def critic_rows(presentation: Presentation) -> list[CriticRow]:
    """Every critic of the presentation with their submitted review (if any) and deadline."""
    reviews = submitted_reviews(presentation)
    return [
        CriticRow(
            user=user,
            review=reviews.get(user.id),
            deadline=policy.personal_deadline(user.id, presentation),
            extended=policy.extension_for(user.id, presentation) is not None,
        )
        for user in policy.reviewers_of(presentation)
    ]


def status_counts(rows: list[CriticRow]) -> dict[str, int]:
    """How many critics submitted on time, late, or not at all."""
    counts = {STATUS_SUBMITTED: 0, STATUS_LATE: 0, STATUS_NOT_SUBMITTED: 0}
    for row in rows:
        counts[row.status] += 1
    return counts


def _csv_cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_rows(course: Course, presentations: list[Presentation], fields: list[dict]) -> list[list[str]]:
    """Staff CSV: a header, then one row per submitted review with the writer's name (V2)."""
    header = [
        "presentation_id", "paper", "reviewer", "email", "status", "submitted_at_local",
        "submitted_at_utc", "late", "final", "pledge", "pseudonym", "score", "confidence",
        "grade", "feedback", "revisions",
    ] + [f["label"] for f in fields]
    rows = [header]
    for presentation in presentations:
        reviews = sorted(submitted_reviews(presentation).values(), key=lambda r: r.pseudonym_no or 0)
        for r in reviews:
            row = [
                presentation.id, presentation.paper.title, r.author.display_name, r.author.email,
                review_status(r), format_local(r.submitted_at, course.timezone), iso(r.submitted_at),
                "yes" if r.is_late else "no", "yes" if r.is_final else "no", "yes" if r.pledge else "no",
                policy.pseudonym(r.pseudonym_no), r.score, r.confidence, r.grade, r.feedback,
                len(r.revisions),
            ] + [(r.answers or {}).get(f["key"], "") for f in fields]
            rows.append([_csv_cell(v) for v in row])
    return rows


# --------------------------------------------------------------------------- extensions


def could_read_unsubmitted(student, presentation: Presentation, now: datetime) -> bool:
    """True when the student has not submitted yet the released reviews are already open to them.

    An extension for such a student would let them write after reading others (V5), so staff
    are asked to confirm it.
    """
    review = policy.own_review(student, presentation)
    submitted = review is not None and review.is_submitted
    return not submitted and policy.can_read_others(student, presentation, now)


def grant_extension(presentation: Presentation, user_id: int, deadline: datetime, reason: str, granted_by: int,
                    now: datetime) -> Extension:
    """Give a student a personal deadline, or move the one they have (audited)."""
    extension = policy.extension_for(user_id, presentation)
    previous = extension.deadline if extension is not None else None
    if extension is None:
        extension = Extension(course_id=presentation.course_id, presentation_id=presentation.id, user_id=user_id)
        db.session.add(extension)
    extension.deadline = deadline
    extension.reason = (reason or "").strip()
    extension.granted_by_id = granted_by
    audit.record(
        "extension.grant",
        presentation.course_id,
        granted_by,
        subject_id=user_id,
        presentation_id=presentation.id,
        deadline=iso(deadline),
        previous=iso(previous),
        reason=extension.reason,
    )
    notifications.extension_granted(presentation, user_id, deadline, now)
    db.session.flush()
    return extension


def revoke_extension(extension: Extension, revoked_by: int, now: datetime) -> None:
    """Take an extension back: the presentation's deadline applies to the student again."""
    audit.record(
        "extension.revoke",
        extension.course_id,
        revoked_by,
        subject_id=extension.user_id,
        presentation_id=extension.presentation_id,
        deadline=iso(extension.deadline),
    )
    notifications.extension_revoked(extension, now)
    db.session.delete(extension)
    db.session.flush()

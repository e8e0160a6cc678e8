"""Peer feedback on project talks (SPEC §5.3): drafts, submission and edits while the window is
open, staff holding back abusive or empty pieces before release, the group's helpful marks, and
who gave none. Visibility is decided in ``domain.policy.feedback``; operations flush, never commit."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from domain import audit, policy
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from domain.review_form import form_fields, format_review_form, parse_review_form
from models import (
    FEEDBACK_DRAFT,
    FEEDBACK_SUBMITTED,
    Course,
    PeerFeedback,
    ProjectMember,
    ProjectTalk,
    User,
)

DEFAULT_FEEDBACK_FORM: tuple[dict[str, Any], ...] = (
    {"key": "worked", "label": "What worked", "help": "What the group did well in the talk.", "required": True},
    {"key": "improve", "label": "What to improve", "help": "One or two concrete suggestions.", "required": True},
    {"key": "question", "label": "One question", "help": "A question you would ask the group.", "required": False},
)
RATING_RANGE = range(1, 6)
MAX_ANSWER = 5_000
MAX_REASON = 500

CLOSED_MESSAGE = "The feedback window of this talk is not open."
NOT_GIVER_MESSAGE = "You do not give feedback on this talk."


def feedback_form_fields(course: Course) -> list[dict[str, Any]]:
    """The course's peer-feedback form (the default form when none is set)."""
    return form_fields(course.feedback_form, DEFAULT_FEEDBACK_FORM)


def format_feedback_form(course: Course) -> str:
    """The feedback form as its settings textarea shows it."""
    return format_review_form(feedback_form_fields(course))


def parse_feedback_form(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The settings textarea as feedback-form fields; returns ``(fields, errors)``."""
    return parse_review_form(text, what="feedback form")


@dataclass(frozen=True)
class FeedbackInput:
    """What the writer entered: one text per form field and a 1–5 rating."""

    answers: dict[str, str] = field(default_factory=dict)
    rating: Optional[int] = None


def submission_errors(fields: list[dict], data: FeedbackInput) -> dict[str, str]:
    """What a submission still misses, keyed by field key (and 'rating')."""
    errors = {
        f["key"]: "This field is required."
        for f in fields
        if f["required"] and not (data.answers.get(f["key"]) or "").strip()
    }
    if data.rating not in RATING_RANGE:
        errors["rating"] = "Choose a rating from 1 to 5."
    return errors


def _content(fields: list[dict], data: FeedbackInput, now: datetime) -> dict:
    answers = {f["key"]: (data.answers.get(f["key"]) or "")[:MAX_ANSWER] for f in fields}
    rating = data.rating if data.rating in RATING_RANGE else None
    return {"answers": answers, "rating": rating, "updated_at": now}


def _writable(user, talk: ProjectTalk, now: datetime) -> PeerFeedback:
    """The writer's own piece (created as a draft when new), once the policy lets them write."""
    if not policy.must_give_feedback(user, talk):
        raise Forbidden(NOT_GIVER_MESSAGE, code="not_giver")
    if not policy.can_write_feedback(user, talk, now):
        raise Forbidden(CLOSED_MESSAGE, code="closed")
    feedback = policy.own_feedback(user, talk)
    if feedback is None:
        feedback = PeerFeedback(talk=talk, author_id=user.id, status=FEEDBACK_DRAFT, updated_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(feedback)
        except IntegrityError:
            # The same writer's first save in another request won: carry on with that row.
            db.session.expire_all()
            feedback = db.session.scalar(
                select(PeerFeedback).where(PeerFeedback.talk_id == talk.id, PeerFeedback.author_id == user.id)
            )
    return feedback


def save_draft(user, talk: ProjectTalk, fields: list[dict], data: FeedbackInput, now: datetime) -> PeerFeedback:
    """Save the writer's private draft (F1); a submitted piece is changed only by ``submit``."""
    feedback = _writable(user, talk, now)
    if feedback.status == FEEDBACK_SUBMITTED:
        raise Conflict("Your feedback is already submitted; change it with “Save changes”.", code="submitted")
    for column, value in _content(fields, data, now).items():
        setattr(feedback, column, value)
    db.session.flush()
    return feedback


def submit(user, talk: ProjectTalk, fields: list[dict], data: FeedbackInput, now: datetime) -> PeerFeedback:
    """Submit (or edit a submitted piece) while the window is open; the close instant is on time."""
    errors = submission_errors(fields, data)
    if errors:
        raise Invalid("Fill in the required fields and choose a rating.", code="incomplete")
    feedback = _writable(user, talk, now)
    for column, value in _content(fields, data, now).items():
        setattr(feedback, column, value)
    if feedback.status != FEEDBACK_SUBMITTED:
        feedback.status = FEEDBACK_SUBMITTED
        feedback.submitted_at = now
    db.session.flush()
    return feedback


def hold_back(actor, feedback: PeerFeedback, reason: str, now: datetime) -> None:
    """Staff hold back an abusive or empty piece before release (F6), audited with the reason."""
    reason = (reason or "").strip()
    if not policy.f6_can_hold_back(actor, feedback, now):
        raise Forbidden("Feedback can be held back only before its release.", code="released")
    if not reason:
        raise Invalid("Say why the feedback is held back (the group never sees the reason).")
    feedback.held_back, feedback.held_back_reason = True, reason[:MAX_REASON]
    audit.record(
        "feedback_held_back", feedback.talk.course_id, actor.id, subject_id=feedback.author_id,
        talk_id=feedback.talk_id, feedback_id=feedback.id, reason=feedback.held_back_reason,
    )
    db.session.flush()


def restore(actor, feedback: PeerFeedback, now: datetime) -> None:
    """Undo a hold-back before release (audited)."""
    if not policy.f6_can_hold_back(actor, feedback, now):
        raise Forbidden("Feedback can be restored only before its release.", code="released")
    feedback.held_back, feedback.held_back_reason = False, ""
    audit.record(
        "feedback_restored", feedback.talk.course_id, actor.id, subject_id=feedback.author_id,
        talk_id=feedback.talk_id, feedback_id=feedback.id,
    )
    db.session.flush()


def mark_helpful(user, feedback: PeerFeedback, helpful: Optional[bool], now: datetime) -> None:
    """The presenting group marks a released comment helpful, not helpful, or unmarked."""
    if not policy.can_mark_helpful(user, feedback, now):
        raise NotFound()
    feedback.helpful = helpful
    db.session.flush()


def feedback_givers(talk: ProjectTalk) -> list[User]:
    """Every student who must give feedback on the talk (``must_give_feedback`` for a class)."""
    presenters = select(ProjectMember.user_id).where(ProjectMember.group_id == talk.group_id)
    return policy.students_except(talk.course_id, presenters)


def missing_feedback(talk: ProjectTalk) -> list[User]:
    """Students who owe feedback and have submitted none by the close (staff only)."""
    submitted = select(PeerFeedback.author_id).where(
        PeerFeedback.talk_id == talk.id,
        PeerFeedback.status == FEEDBACK_SUBMITTED,
        PeerFeedback.submitted_at <= talk.feedback_closes_at,
    )
    done = set(db.session.scalars(submitted))
    return [u for u in feedback_givers(talk) if u.id not in done]

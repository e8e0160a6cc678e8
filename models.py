"""Typed SQLAlchemy models for Colloquy.

Every timestamp is stored as naive UTC and read back as an aware UTC datetime
(``UTCDateTime``), so comparisons never mix naive and aware values.

States and kinds are ``StrEnum``s stored as their string values; a member equals its string, so
rows read back as plain strings compare equal to it. The older module-level names
(``Q_LIVE``, ``PHASES``, ``ROLE_STUDENT`` …) are the same members.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any, Optional

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
    types,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.timeutil import now_utc


class UTCDateTime(types.TypeDecorator):
    """Stores naive UTC, returns aware UTC; refuses naive input to catch mistakes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


# --------------------------------------------------------------------------- roles

class Role(StrEnum):
    """A member's role in a course (``Enrollment.role``)."""

    INSTRUCTOR = "instructor"
    TA = "ta"
    STUDENT = "student"


ROLE_INSTRUCTOR = Role.INSTRUCTOR
ROLE_TA = Role.TA
ROLE_STUDENT = Role.STUDENT
ROLES = tuple(Role)
STAFF_ROLES = (Role.INSTRUCTOR, Role.TA)


class LatePolicy(StrEnum):
    """What a course does with a review submitted after its deadline (``Course.late_policy``)."""

    REFUSE = "refuse"  # no submission after one's deadline
    ACCEPT = "accept"  # accepted and marked late


def new_token(nbytes: int = 24) -> str:
    """A URL-safe random token."""
    return secrets.token_urlsafe(nbytes)


def new_join_code() -> str:
    """A short join code students can type (no ambiguous characters)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(8))


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Rotated on logout: the session stores it, so an old cookie stops working.
    session_token: Mapped[str] = mapped_column(String(64), default=new_token, unique=True)
    # Secret part of the personal calendar feed URL (calendar apps cannot log in).
    calendar_token: Mapped[str] = mapped_column(String(64), default=new_token, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # Site-level permission to create courses (the first account, or granted on the command line).
    is_instructor: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # A temporary password was handed out: every page leads to the password form until it is changed.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    enrollments: Mapped[list["Enrollment"]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    def get_id(self) -> str:
        """Flask-Login identity: the session token, not the primary key."""
        return self.session_token

    def rotate_session_token(self) -> None:
        """Invalidate every session (and socket) that holds the current token."""
        self.session_token = new_token()

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Course(db.Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    term: Mapped[str] = mapped_column(String(60), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    join_code: Mapped[str] = mapped_column(String(16), unique=True, default=new_join_code)
    join_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    presentation_group_size: Mapped[int] = mapped_column(Integer, default=1)
    project_group_max: Mapped[int] = mapped_column(Integer, default=2)
    talk_minutes: Mapped[int] = mapped_column(Integer, default=30)
    qa_minutes: Mapped[int] = mapped_column(Integer, default=15)
    # "refuse": no submission after one's deadline; "accept": accepted and marked late.
    late_policy: Mapped[str] = mapped_column(String(10), default=LatePolicy.REFUSE)
    late_penalty_per_day: Mapped[float] = mapped_column(Float, default=0.0)
    grace_minutes: Mapped[int] = mapped_column(Integer, default=0)
    name_reviewers: Mapped[bool] = mapped_column(Boolean, default=False)
    similarity_threshold: Mapped[float] = mapped_column(Float, default=0.35)
    # The term project (SPEC §5): the area proposals must be on, document limits, feedback window.
    project_area: Mapped[str] = mapped_column(String(200), default="model serving for generative AI")
    project_page_limit: Mapped[int] = mapped_column(Integer, default=12)
    project_upload_mb: Mapped[int] = mapped_column(Integer, default=10)
    feedback_window_hours: Mapped[int] = mapped_column(Integer, default=48)
    # List of {"key", "label", "help", "required"} text fields of the peer-feedback form.
    feedback_form: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # List of {"key", "label", "help", "required"} text fields of the review form.
    review_form: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    enrollments: Mapped[list["Enrollment"]] = relationship(
        back_populates="course", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Course {self.code}>"


class Enrollment(db.Model):
    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    user: Mapped[User] = relationship(back_populates="enrollments")
    course: Mapped[Course] = relationship(back_populates="enrollments")

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


# --------------------------------------------------------------------------- papers

class PaperStatus(StrEnum):
    """A paper on the course's list, or a student's proposal and the instructor's decision."""

    APPROVED = "approved"
    PROPOSED = "proposed"
    REJECTED = "rejected"


PAPER_APPROVED = PaperStatus.APPROVED
PAPER_PROPOSED = PaperStatus.PROPOSED
PAPER_REJECTED = PaperStatus.REJECTED


class Paper(db.Model):
    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    authors: Mapped[str] = mapped_column(String(500), default="")
    venue: Mapped[str] = mapped_column(String(120), default="")
    year: Mapped[Optional[int]] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(500), default="")
    abstract: Mapped[str] = mapped_column(Text, default="")
    topic: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(10), default=PAPER_APPROVED)
    proposed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_note: Mapped[str] = mapped_column(String(500), default="")
    # An approved proposal is kept for its proposer at sign-up until they release it.
    reservation_released: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    course: Mapped[Course] = relationship()
    proposed_by: Mapped[Optional[User]] = relationship()


# --------------------------------------------------------------------------- schedule

class ClassSession(db.Model):
    __tablename__ = "class_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=90)
    room: Mapped[str] = mapped_column(String(120), default="")
    title: Mapped[str] = mapped_column(String(200), default="")
    slots: Mapped[int] = mapped_column(Integer, default=2)

    course: Mapped[Course] = relationship()
    presentations: Mapped[list["Presentation"]] = relationship(
        back_populates="session", order_by="Presentation.slot"
    )


class Presentation(db.Model):
    __tablename__ = "presentations"
    __table_args__ = (
        # One presentation per paper and one per slot: the database refuses double-booking.
        UniqueConstraint("course_id", "paper_id", name="uq_presentation_paper"),
        UniqueConstraint("session_id", "slot", name="uq_presentation_slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id", ondelete="RESTRICT"))
    slot: Mapped[int] = mapped_column(Integer, default=1)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="RESTRICT"))
    talk_minutes: Mapped[int] = mapped_column(Integer, default=30)
    qa_minutes: Mapped[int] = mapped_column(Integer, default=15)
    review_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    summary_deadline: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    slides_url: Mapped[str] = mapped_column(String(500), default="")
    # Generated name of uploaded slides under instance/uploads/<course>/<presentation>/.
    slides_file: Mapped[str] = mapped_column(String(200), default="")
    slides_reused: Mapped[bool] = mapped_column(Boolean, default=False)
    slides_attribution: Mapped[str] = mapped_column(String(500), default="")
    summary_text: Mapped[str] = mapped_column(Text, default="")
    summary_submitted_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    course: Mapped[Course] = relationship()
    session: Mapped[ClassSession] = relationship(back_populates="presentations")
    paper: Mapped[Paper] = relationship()
    members: Mapped[list["PresentationMember"]] = relationship(
        back_populates="presentation", cascade="all, delete-orphan"
    )

    def member_ids(self, kind: Optional[str] = None) -> set[int]:
        """User ids of the presenting and/or summary-writing group."""
        return {m.user_id for m in self.members if kind is None or m.kind == kind}


class MemberKind(StrEnum):
    """The group a presentation member belongs to (``PresentationMember.kind``)."""

    PRESENTING = "presenting"
    SUMMARY = "summary"


MEMBER_PRESENTING = MemberKind.PRESENTING
MEMBER_SUMMARY = MemberKind.SUMMARY


class PresentationMember(db.Model):
    __tablename__ = "presentation_members"
    __table_args__ = (
        UniqueConstraint("presentation_id", "user_id"),
        UniqueConstraint("presentation_id", "kind", "seat", name="uq_member_seat"),
        # Each student presents exactly one paper per course.
        Index(
            "uq_one_presentation_per_student",
            "course_id",
            "user_id",
            unique=True,
            sqlite_where=text("kind = 'presenting'"),
            postgresql_where=text("kind = 'presenting'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    presentation_id: Mapped[int] = mapped_column(
        ForeignKey("presentations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    seat: Mapped[int] = mapped_column(Integer, default=1)

    presentation: Mapped[Presentation] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


# --------------------------------------------------------------------------- reviews

class ReviewStatus(StrEnum):
    """A review is the writer's private draft until it is submitted (``Review.status``)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"


REVIEW_DRAFT = ReviewStatus.DRAFT
REVIEW_SUBMITTED = ReviewStatus.SUBMITTED


class Review(db.Model):
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("presentation_id", "author_id"),
        # Two reviews submitted at once cannot get the same "Reviewer X" label.
        UniqueConstraint("presentation_id", "pseudonym_no", name="uq_review_pseudonym"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    presentation_id: Mapped[int] = mapped_column(
        ForeignKey("presentations.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=REVIEW_DRAFT)
    answers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    score: Mapped[Optional[int]] = mapped_column(Integer)
    confidence: Mapped[Optional[int]] = mapped_column(Integer)
    pledge: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    is_late: Mapped[bool] = mapped_column(Boolean, default=False)
    # Stable pseudonym number ("Reviewer A" = 1), assigned at first submission.
    pseudonym_no: Mapped[Optional[int]] = mapped_column(Integer)
    # Set when the writer could already read released reviews: no edits afterwards (V5).
    is_final: Mapped[bool] = mapped_column(Boolean, default=False)
    feedback: Mapped[str] = mapped_column(Text, default="")
    grade: Mapped[Optional[float]] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    presentation: Mapped[Presentation] = relationship()
    author: Mapped[User] = relationship()
    revisions: Mapped[list["ReviewRevision"]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="ReviewRevision.id"
    )

    @property
    def is_submitted(self) -> bool:
        return self.status == REVIEW_SUBMITTED

    def text_for_comparison(self) -> str:
        """All free-text answers joined, as compared by the similarity check."""
        return "\n".join(v for v in (self.answers or {}).values() if v)


class ReviewRevision(db.Model):
    __tablename__ = "review_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    answers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    score: Mapped[Optional[int]] = mapped_column(Integer)
    confidence: Mapped[Optional[int]] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))  # submit | edit | late-submit
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    review: Mapped[Review] = relationship(back_populates="revisions")


class Extension(db.Model):
    """A personal deadline for one student on one presentation's review."""

    __tablename__ = "extensions"
    __table_args__ = (UniqueConstraint("presentation_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    presentation_id: Mapped[int] = mapped_column(ForeignKey("presentations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(300), default="")
    granted_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    presentation: Mapped[Presentation] = relationship()


class AuditEvent(db.Model):
    """An integrity-relevant event, readable by staff only."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    presentation_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("presentations.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)

    actor: Mapped[Optional[User]] = relationship(foreign_keys=[actor_id])
    subject: Mapped[Optional[User]] = relationship(foreign_keys=[subject_id])
    presentation: Mapped[Optional[Presentation]] = relationship()


# --------------------------------------------------------------------------- panel room

class Phase(StrEnum):
    """A panel room's phase, in the order a presentation goes through them."""

    SCHEDULED = "scheduled"
    PRESENTING = "presenting"
    PANEL = "panel"
    CLOSED = "closed"


class QuestionState(StrEnum):
    """Where a question stands: awaiting a moderator, in the queue, on screen, or done."""

    PENDING = "pending"
    QUEUED = "queued"
    LIVE = "live"
    ANSWERED = "answered"
    DISMISSED = "dismissed"
    MERGED = "merged"


class Outcome(StrEnum):
    """How the presenters' answer to a question went (``Question.outcome``)."""

    REBUTTED = "rebutted"
    CONCEDED = "conceded"
    DEFERRED = "deferred"


class Verdict(StrEnum):
    """A critic's verdict on the paper at the end of the panel."""

    ACCEPT = "accept"
    REVISE = "revise"
    REJECT = "reject"


PHASES = tuple(Phase)

Q_PENDING = QuestionState.PENDING
Q_QUEUED = QuestionState.QUEUED
Q_LIVE = QuestionState.LIVE
Q_ANSWERED = QuestionState.ANSWERED
Q_DISMISSED = QuestionState.DISMISSED
Q_MERGED = QuestionState.MERGED
QUESTION_STATES = tuple(QuestionState)
OUTCOMES = tuple(Outcome)
VERDICTS = tuple(Verdict)


class PanelRoom(db.Model):
    """The live panel of one presentation; all of its state lives in the database."""

    __tablename__ = "panel_rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    presentation_id: Mapped[int] = mapped_column(
        ForeignKey("presentations.id", ondelete="CASCADE"), unique=True
    )
    phase: Mapped[str] = mapped_column(String(12), default=Phase.SCHEDULED)
    # Sequence number of the last event broadcast in this room.
    seq: Mapped[int] = mapped_column(Integer, default=0)
    moderated: Mapped[bool] = mapped_column(Boolean, default=True)
    follow_ups_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    phase_started_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    phase_ends_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    presentation: Mapped[Presentation] = relationship()


class Question(db.Model):
    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("asker_id", "client_id", name="uq_question_client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("panel_rooms.id", ondelete="CASCADE"), index=True)
    asker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    original_text: Mapped[str] = mapped_column(Text, default="")
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    # Pushed by a critic from their review's "questions for the authors" (shown to staff).
    from_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    state: Mapped[str] = mapped_column(String(12), default=Q_PENDING)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    # Manual order set by a moderator; lower comes first among equals.
    manual_rank: Mapped[Optional[float]] = mapped_column(Float)
    merged_into_id: Mapped[Optional[int]] = mapped_column(ForeignKey("questions.id", ondelete="SET NULL"))
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("questions.id", ondelete="SET NULL"))
    dismiss_reason: Mapped[str] = mapped_column(String(300), default="")
    claimed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    answer_text: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[Optional[str]] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    approved_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    live_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    answered_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # Optimistic concurrency: two moderators acting at once, one wins.
    version: Mapped[int] = mapped_column(Integer, default=1)

    room: Mapped[PanelRoom] = relationship()
    asker: Mapped[User] = relationship(foreign_keys=[asker_id])
    claimed_by: Mapped[Optional[User]] = relationship(foreign_keys=[claimed_by_id])

    __mapper_args__ = {"version_id_col": version}


class Vote(db.Model):
    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("question_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class RoomMute(db.Model):
    __tablename__ = "room_mutes"
    __table_args__ = (UniqueConstraint("room_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("panel_rooms.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    muted_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class VerdictVote(db.Model):
    __tablename__ = "verdict_votes"
    __table_args__ = (UniqueConstraint("room_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("panel_rooms.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    verdict: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class ClientAction(db.Model):
    """A client-made action id already applied, with the acknowledgement it got."""

    __tablename__ = "client_actions"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


# --------------------------------------------------------------------------- the term project (SPEC §5)

class MilestoneKind(StrEnum):
    """The project's milestones, in order."""

    PROPOSAL = "proposal"
    CHECKPOINT = "checkpoint"
    FINAL = "final"


class InvitationStatus(StrEnum):
    """An invitation to join a project group."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class TopicStatus(StrEnum):
    """A group's topic, decided on its latest proposal."""

    NONE = "none"  # no proposal submitted yet
    PENDING = "pending"  # submitted, awaiting the instructor
    APPROVED = "approved"
    REVISE = "revise"  # sent back with a comment; the group resubmits
    REJECTED = "rejected"


class TalkKind(StrEnum):
    """The project talks a group gives."""

    PITCH = "pitch"
    CHECKPOINT = "checkpoint"
    FINAL = "final"


class FeedbackStatus(StrEnum):
    """Peer feedback on a talk is the writer's draft until submitted."""

    DRAFT = "draft"
    SUBMITTED = "submitted"


MILESTONE_PROPOSAL = MilestoneKind.PROPOSAL
MILESTONE_CHECKPOINT = MilestoneKind.CHECKPOINT
MILESTONE_FINAL = MilestoneKind.FINAL
MILESTONE_KINDS = tuple(MilestoneKind)

INVITATION_PENDING = InvitationStatus.PENDING
INVITATION_ACCEPTED = InvitationStatus.ACCEPTED
INVITATION_DECLINED = InvitationStatus.DECLINED
INVITATION_WITHDRAWN = InvitationStatus.WITHDRAWN

TOPIC_NONE = TopicStatus.NONE
TOPIC_PENDING = TopicStatus.PENDING
TOPIC_APPROVED = TopicStatus.APPROVED
TOPIC_REVISE = TopicStatus.REVISE
TOPIC_REJECTED = TopicStatus.REJECTED

TALK_PITCH = TalkKind.PITCH
TALK_CHECKPOINT = TalkKind.CHECKPOINT
TALK_FINAL = TalkKind.FINAL
TALK_KINDS = tuple(TalkKind)

FEEDBACK_DRAFT = FeedbackStatus.DRAFT
FEEDBACK_SUBMITTED = FeedbackStatus.SUBMITTED


class ProjectGroup(db.Model):
    """A project group of 1 to ``Course.project_group_max`` students."""

    __tablename__ = "project_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # A group of one is an explicit choice, not a leftover.
    solo: Mapped[bool] = mapped_column(Boolean, default=False)
    topic_status: Mapped[str] = mapped_column(String(10), default=TOPIC_NONE)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    course: Mapped[Course] = relationship()
    members: Mapped[list["ProjectMember"]] = relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="ProjectMember.seat"
    )

    def member_ids(self) -> set[int]:
        """User ids of the group's members."""
        return {m.user_id for m in self.members}


class ProjectMember(db.Model):
    """A student's place in a group; the database allows one group per student per course."""

    __tablename__ = "project_members"
    __table_args__ = (
        UniqueConstraint("course_id", "user_id", name="uq_one_project_group_per_student"),
        # Two acceptances at the same instant cannot both take the last seat.
        UniqueConstraint("group_id", "seat", name="uq_project_member_seat"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("project_groups.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    seat: Mapped[int] = mapped_column(Integer, default=1)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    group: Mapped[ProjectGroup] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class ProjectInvitation(db.Model):
    """A group's invitation to a classmate, accepted or declined by the invitee."""

    __tablename__ = "project_invitations"
    __table_args__ = (UniqueConstraint("group_id", "invitee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("project_groups.id", ondelete="CASCADE"))
    invitee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    inviter_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default=INVITATION_PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    decided_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    group: Mapped[ProjectGroup] = relationship()
    invitee: Mapped[User] = relationship(foreign_keys=[invitee_id])
    inviter: Mapped[Optional[User]] = relationship(foreign_keys=[inviter_id])


class Milestone(db.Model):
    """One of the project's milestones (proposal, checkpoint, final) with its deadline."""

    __tablename__ = "milestones"
    __table_args__ = (UniqueConstraint("course_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(120))
    instructions: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)

    course: Mapped[Course] = relationship()


class MilestoneExtension(db.Model):
    """A group's own deadline for one milestone."""

    __tablename__ = "milestone_extensions"
    __table_args__ = (UniqueConstraint("milestone_id", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("project_groups.id", ondelete="CASCADE"), index=True)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500), default="")
    granted_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class ProjectDocument(db.Model):
    """An uploaded PDF, checked on arrival and stored outside static/ under a generated name."""

    __tablename__ = "project_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("project_groups.id", ondelete="CASCADE"), index=True)
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer)
    page_count: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class MilestoneSubmission(db.Model):
    """One version of a group's submission to a milestone; every version is kept."""

    __tablename__ = "milestone_submissions"
    __table_args__ = (UniqueConstraint("milestone_id", "group_id", "version", name="uq_submission_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("project_groups.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300), default="")
    abstract: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # The form's confirmations as ticked, e.g. {"on_area": true, "original": true, ...}.
    confirmations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    document_id: Mapped[Optional[int]] = mapped_column(ForeignKey("project_documents.id", ondelete="RESTRICT"))
    submitted_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    late: Mapped[bool] = mapped_column(Boolean, default=False)

    milestone: Mapped[Milestone] = relationship()
    group: Mapped[ProjectGroup] = relationship()
    document: Mapped[Optional[ProjectDocument]] = relationship()


class ProposalDecision(db.Model):
    """The instructor's decision on a proposal version: approved, revise (with a comment), rejected."""

    __tablename__ = "proposal_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("milestone_submissions.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("project_groups.id", ondelete="CASCADE"), index=True)
    decision: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class ProjectTalk(db.Model):
    """A group's project talk (pitch, checkpoint or final) in a class session, with its feedback window."""

    __tablename__ = "project_talks"
    __table_args__ = (UniqueConstraint("group_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("project_groups.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    order: Mapped[int] = mapped_column(Integer, default=1)
    minutes: Mapped[int] = mapped_column(Integer, default=10)
    # The window opens at the session's start unless staff opened it earlier; it closes here.
    feedback_opened_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    feedback_closes_at: Mapped[datetime] = mapped_column(UTCDateTime)

    group: Mapped[ProjectGroup] = relationship()
    session: Mapped[ClassSession] = relationship()


class PeerFeedback(db.Model):
    """A student's written feedback on another group's project talk (sealed until the window closes)."""

    __tablename__ = "peer_feedback"
    __table_args__ = (UniqueConstraint("talk_id", "author_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    talk_id: Mapped[int] = mapped_column(ForeignKey("project_talks.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=FEEDBACK_DRAFT)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rating: Mapped[Optional[int]] = mapped_column(Integer)
    submitted_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # A random key: released feedback is listed in this order, which reveals nothing.
    release_key: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))
    held_back: Mapped[bool] = mapped_column(Boolean, default=False)
    held_back_reason: Mapped[str] = mapped_column(String(500), default="")
    # The presenting group's mark on a released comment: None (unmarked), True, False.
    helpful: Mapped[Optional[bool]] = mapped_column(Boolean)

    talk: Mapped[ProjectTalk] = relationship()
    author: Mapped[User] = relationship()

    @property
    def is_submitted(self) -> bool:
        return self.status == FEEDBACK_SUBMITTED


# --------------------------------------------------------------------------- the gradebook (SPEC §6)

CATEGORY_DISCUSSION = "discussion"
CATEGORY_REVIEWS = "reviews"
CATEGORY_PRESENTATION = "presentation"
CATEGORY_PROJECT = "project"
CATEGORY_KEYS = (CATEGORY_DISCUSSION, CATEGORY_REVIEWS, CATEGORY_PRESENTATION, CATEGORY_PROJECT)

RUBRIC_REVIEW = "review"
RUBRIC_PRESENTATION = "presentation"
RUBRIC_MILESTONE = "milestone"
RUBRIC_KINDS = (RUBRIC_REVIEW, RUBRIC_PRESENTATION, RUBRIC_MILESTONE)


class GradebookSettings(db.Model):
    """A course's gradebook settings beside ``Course.late_penalty_per_day``: cap, floor, statistics."""

    __tablename__ = "gradebook_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), unique=True)
    # The late penalty never exceeds this many percent (None: up to 100).
    late_cap_percent: Mapped[Optional[float]] = mapped_column(Float)
    # A late grade never falls below this percent of full marks (unless it was lower before).
    late_floor_percent: Mapped[float] = mapped_column(Float, default=0.0)
    # Whether students see class statistics of posted items (never under five grades: G3).
    stats_to_students: Mapped[bool] = mapped_column(Boolean, default=False)
    # Points per figure of the discussion proposal, e.g. {"asked": 1, "answered": 3, ...}.
    discussion_formula: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Whether the presenting group's "helpful" marks count in the peer-feedback item.
    feedback_quality: Mapped[bool] = mapped_column(Boolean, default=False)


class GradeCategory(db.Model):
    """One of a course's grade categories with its weight in the total (weights sum to 100)."""

    __tablename__ = "grade_categories"
    __table_args__ = (UniqueConstraint("course_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(80))
    weight: Mapped[float] = mapped_column(Float)
    # Drop the lowest N graded items of the category (reviews).
    drop_lowest: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)

    items: Mapped[list["GradeItem"]] = relationship(
        back_populates="category", order_by="GradeItem.position, GradeItem.id"
    )


class GradeItem(db.Model):
    """A graded thing within a category (a review, the presentation, a milestone…), posted or held."""

    __tablename__ = "grade_items"
    __table_args__ = (UniqueConstraint("course_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("grade_categories.id", ondelete="CASCADE"), index=True)
    # "review:<presentation id>", "presentation", "project:proposal", "discussion", …
    key: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    rubric_kind: Mapped[Optional[str]] = mapped_column(String(12))
    presentation_id: Mapped[Optional[int]] = mapped_column(ForeignKey("presentations.id", ondelete="CASCADE"))
    milestone_kind: Mapped[Optional[str]] = mapped_column(String(12))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Held until staff post: nothing of the item reaches a student before (G1).
    posted_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    posted_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    category: Mapped[GradeCategory] = relationship(back_populates="items")
    presentation: Mapped[Optional[Presentation]] = relationship()


class Rubric(db.Model):
    """The instructor's criteria for one kind of item: a list of {"key", "label", "points"}."""

    __tablename__ = "rubrics"
    __table_args__ = (UniqueConstraint("course_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class Grade(db.Model):
    """One student's grade on one item: rubric points or a score, comment, and the late adjustment."""

    __tablename__ = "grades"
    __table_args__ = (UniqueConstraint("item_id", "student_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("grade_items.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Points per rubric criterion key; empty when the score was entered directly.
    rubric_points: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The percent before any late adjustment (from the rubric, or entered).
    score: Mapped[Optional[float]] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    # The stored late adjustment: how late against the reference deadline, and the penalty.
    late_seconds: Mapped[int] = mapped_column(Integer, default=0)
    penalty_percent: Mapped[float] = mapped_column(Float, default=0.0)
    penalty_waived: Mapped[bool] = mapped_column(Boolean, default=False)
    waive_reason: Mapped[str] = mapped_column(String(500), default="")
    graded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    item: Mapped[GradeItem] = relationship()
    student: Mapped[User] = relationship(foreign_keys=[student_id])


# --------------------------------------------------------------------------- one-time credentials


class IssuedCredential(db.Model):
    """A temporary password handed out for a new account, kept until staff download it once
    (or its owner sets their own password)."""

    __tablename__ = "issued_credentials"
    __table_args__ = (UniqueConstraint("course_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    password: Mapped[str] = mapped_column(String(64))
    issued_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


# --------------------------------------------------------------------------- notifications (SPEC §7)

class NotifyMode(StrEnum):
    """How a person wants one type of notification on one channel."""

    NOW = "now"
    DIGEST = "digest"
    OFF = "off"


class NotifyChannel(StrEnum):
    """Where a notification reaches its recipient."""

    IN_APP = "in_app"
    EMAIL = "email"


class NoticeState(StrEnum):
    """A notification is queued until dispatched, then shown in-app, or cancelled by the policy."""

    QUEUED = "queued"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class DeliveryState(StrEnum):
    """An e-mail in the outbox: due, claimed by a sender, and its outcome."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"
    SKIPPED = "skipped"  # nothing left to say when it was due (the policy or the preferences)


class Announcement(db.Model):
    """A staff announcement to a course; an important one always goes by e-mail."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    important: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class EmailDelivery(db.Model):
    """One e-mail in the outbox (a single notice or a daily digest), claimed and sent once."""

    __tablename__ = "email_deliveries"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_email_delivery_key"),
        Index("ix_email_deliveries_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[Optional[int]] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    # The notification type for the staff log, or "digest".
    kind: Mapped[str] = mapped_column(String(40))
    # "n<notification id>.<arm>" for a single notice, "digest:<local date>" for a digest.
    key: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(10), default=DeliveryState.PENDING)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str] = mapped_column(String(80), default="")
    # A claim that outlived its lease was taken over once; a second lapse gives up (at most twice sent).
    reclaimed: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    message_id: Mapped[str] = mapped_column(String(200), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    user: Mapped[User] = relationship()
    notifications: Mapped[list["Notification"]] = relationship(back_populates="delivery", order_by="Notification.id")


class Notification(db.Model):
    """One event for one recipient (the outbox row written with the change that caused it)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "subject_type", "subject_id", "dedupe_key", name="uq_notification_event"),
        Index("ix_notifications_due", "state", "due_at"),
        Index("ix_notifications_inbox", "user_id", "state", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[Optional[int]] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int] = mapped_column(Integer)
    # What distinguishes two events of one kind on one subject (a reminder's window and deadline).
    dedupe_key: Mapped[str] = mapped_column(String(120), default="")
    # Only ids and labels of the event itself; the text is rendered through the policy when sent.
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    important: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(10), default=NoticeState.QUEUED)
    # Not dispatched before this: a second change inside the merge window pushes it on.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    dispatched_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    shown_in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    read_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    delivery_id: Mapped[Optional[int]] = mapped_column(ForeignKey("email_deliveries.id", ondelete="SET NULL"), index=True)

    user: Mapped[User] = relationship()
    course: Mapped[Optional[Course]] = relationship()
    delivery: Mapped[Optional[EmailDelivery]] = relationship(back_populates="notifications")


class DeliveryAttempt(db.Model):
    """One try at sending an e-mail: who tried, when, and how it went."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("email_deliveries.id", ondelete="CASCADE"), index=True)
    worker: Mapped[str] = mapped_column(String(80), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(12))  # sent | transient | permanent | bounced
    error: Mapped[str] = mapped_column(Text, default="")


class NotificationPreference(db.Model):
    """A person's choice for one notification type on one channel (absent: the type's default)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind", "channel", name="uq_notification_preference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(10), default=NotifyMode.NOW)


class NotificationSettings(db.Model):
    """A person's digest hour and zone (empty zone: their course's)."""

    __tablename__ = "notification_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    digest_hour: Mapped[int] = mapped_column(Integer, default=8)
    timezone: Mapped[str] = mapped_column(String(64), default="")

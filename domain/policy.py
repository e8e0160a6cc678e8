"""The one place that decides who may see and do what (SPEC §3.3, rules V1–V9, and §4).

Every page, JSON endpoint, export, calendar feed, count, search and Socket.IO handler asks
here. Functions read the database (no caching across requests), so a change of group, role or
extension takes effect on the next request or event (V9). Within one HTTP request or Socket.IO
event the same membership, authorship, mute, extension or own-review question is read once
(``_read``); any write, flush, commit or rollback forgets those answers. Time is always a
parameter: ``now`` is passed in, so tests are plain tables of viewer × moment × expected.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import bindparam, select
from sqlalchemy.orm import contains_eager

from core.extensions import db
from core.memo import memo
from models import (
    Q_ANSWERED,
    Q_LIVE,
    Q_QUEUED,
    ROLE_INSTRUCTOR,
    ROLE_STUDENT,
    STAFF_ROLES,
    Enrollment,
    Extension,
    PanelRoom,
    Presentation,
    PresentationMember,
    Question,
    Review,
    RoomMute,
    User,
)

# --------------------------------------------------------------------------- per-request memo


def _read(statement, **params):
    """The first value the prebuilt ``statement`` selects for ``params``, read once per request
    or event (statements built once also skip SQLAlchemy's per-call construction and cache key)."""
    held = memo()
    if held is None:
        return db.session.scalar(statement, params)
    key = (id(statement), *params.values())
    if key not in held:
        held[key] = db.session.scalar(statement, params)
    return held[key]


def _remember(value, statement, **params) -> None:
    """Store what ``_read(statement, **params)`` would read, when it was read along with
    other facts in one query (parameters in the order ``_read`` is called with)."""
    held = memo()
    if held is not None:
        held[(id(statement), *params.values())] = value


# --------------------------------------------------------------------------- membership


def _user_id(user) -> Optional[int]:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.id


def _role_in(course_id, user_id):
    return select(Enrollment.role).where(Enrollment.user_id == user_id, Enrollment.course_id == course_id)


_ROLE = _role_in(bindparam("course_id"), bindparam("user_id"))


def course_role(user, course_id: int) -> Optional[str]:
    """The user's role in the course, or None when not enrolled (or not logged in)."""
    uid = _user_id(user)
    if uid is None:
        return None
    return _read(_ROLE, user_id=uid, course_id=course_id)


def is_member(user, course_id: int) -> bool:
    """Enrolled in the course in any role."""
    return course_role(user, course_id) is not None


def is_staff(user, course_id: int) -> bool:
    """Instructor or TA of the course."""
    return course_role(user, course_id) in STAFF_ROLES


def is_instructor(user, course_id: int) -> bool:
    """Instructor of the course (settings, grade weights, roster roles)."""
    return course_role(user, course_id) == ROLE_INSTRUCTOR


def is_student(user, course_id: int) -> bool:
    """Enrolled as a student."""
    return course_role(user, course_id) == ROLE_STUDENT


def _membership(presentation_id, user_id):
    return select(PresentationMember.id).where(
        PresentationMember.presentation_id == presentation_id, PresentationMember.user_id == user_id
    )


_AUTHOR = _membership(bindparam("presentation_id"), bindparam("user_id"))


def is_author(user, presentation: Presentation) -> bool:
    """Member of the presentation's presenting or summary-writing group."""
    uid = _user_id(user)
    if uid is None:
        return False
    return _read(_AUTHOR, presentation_id=presentation.id, user_id=uid) is not None


def can_manage_course(user, course_id: int) -> bool:
    """Course settings, grade weights and roster roles: the instructor only."""
    return is_instructor(user, course_id)


def can_edit_schedule(user, course_id: int) -> bool:
    """Papers, sessions, presentations, groups, deadlines, extensions: staff."""
    return is_staff(user, course_id)


def can_view_integrity(user, course_id: int) -> bool:
    """Integrity view, similarity flags and the audit log: staff only."""
    return is_staff(user, course_id)


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
    return list(
        db.session.scalars(
            select(User)
            .join(Enrollment, Enrollment.user_id == User.id)
            .where(
                Enrollment.course_id == presentation.course_id,
                Enrollment.role == ROLE_STUDENT,
                User.id.not_in(authors),
            )
            .order_by(User.display_name, User.id)
        )
    )


def can_view_revisions(user, review: Review) -> bool:
    """A review's revision history: its writer, and staff once it is submitted (V1, V2)."""
    if _user_id(user) == review.author_id:
        return True
    return review.is_submitted and is_staff(user, review.presentation.course_id)


# --------------------------------------------------------------------------- panel room

ROOM_MODERATOR = "moderator"
ROOM_AUTHOR = "author"
ROOM_CRITIC = "critic"
PUBLIC_QUESTION_STATES = (Q_QUEUED, Q_LIVE, Q_ANSWERED)
ASK_PHASES = ("presenting", "panel")
VERDICT_PHASES = ("panel", "closed")


def room_role(user, presentation: Presentation) -> Optional[str]:
    """'moderator', 'author', 'critic', or None when the user may not enter the room."""
    role = course_role(user, presentation.course_id)
    if role is None:
        return None
    if role in STAFF_ROLES:
        return ROOM_MODERATOR
    return ROOM_AUTHOR if is_author(user, presentation) else ROOM_CRITIC


def _mute(room_id, user_id):
    return select(RoomMute.id).where(RoomMute.room_id == room_id, RoomMute.user_id == user_id)


_MUTED = _mute(bindparam("room_id"), bindparam("user_id"))


def is_muted(user, room: PanelRoom) -> bool:
    """Muted by a moderator for the rest of the session."""
    uid = _user_id(user)
    return uid is not None and _read(_MUTED, room_id=room.id, user_id=uid) is not None


def _first(statement):
    """``statement`` (one column) as a correlated scalar subquery."""
    return statement.limit(1).scalar_subquery()


_ROOM_FACTS = (
    select(
        PanelRoom,
        Presentation,
        _first(_role_in(Presentation.course_id, bindparam("user_id"))),
        _first(_membership(Presentation.id, bindparam("user_id"))),
        _first(_mute(PanelRoom.id, bindparam("user_id"))),
    )
    .join(PanelRoom.presentation)
    .options(contains_eager(PanelRoom.presentation))
    .where(PanelRoom.id == bindparam("room_id"))
    .execution_options(populate_existing=True)
)


def load_room(user, room_id: int) -> Optional[PanelRoom]:
    """The room (and its presentation) read now, with the user's course role, authorship and
    mute read in the same query and remembered for this request or event; None if missing."""
    uid = _user_id(user)
    if uid is None:
        return db.session.get(PanelRoom, room_id, populate_existing=True)
    row = db.session.execute(_ROOM_FACTS, {"room_id": room_id, "user_id": uid}).first()
    if row is None:
        return None
    room, presentation, role, member_id, mute_id = row
    _remember(role, _ROLE, user_id=uid, course_id=presentation.course_id)
    _remember(member_id, _AUTHOR, presentation_id=presentation.id, user_id=uid)
    _remember(mute_id, _MUTED, room_id=room.id, user_id=uid)
    return room


def can_moderate(user, room: PanelRoom) -> bool:
    """Moderators are the course's staff."""
    return room_role(user, room.presentation) == ROOM_MODERATOR


def can_ask(user, room: PanelRoom) -> bool:
    """Critics ask while the room is open for questions, unless muted; authors answer."""
    return (
        room_role(user, room.presentation) == ROOM_CRITIC
        and room.phase in ASK_PHASES
        and not is_muted(user, room)
    )


def can_vote(user, room: PanelRoom) -> bool:
    """Every participant may vote while the room is not closed, unless muted."""
    return (
        room_role(user, room.presentation) is not None
        and room.phase != "closed"
        and not is_muted(user, room)
    )


def can_answer(user, room: PanelRoom) -> bool:
    """The author group claims and answers questions."""
    return room_role(user, room.presentation) == ROOM_AUTHOR


def can_see_question(user, question: Question) -> bool:
    """Pending, dismissed and merged questions reach only their asker and moderators."""
    if question.state in PUBLIC_QUESTION_STATES:
        return room_role(user, question.room.presentation) is not None
    return _user_id(user) == question.asker_id or can_moderate(user, question.room)


def asker_label(user, question: Question) -> Optional[str]:
    """The asker's name as this viewer may see it; None for anonymous-to-class questions."""
    if _user_id(user) == question.asker_id:
        return "You"
    if question.anonymous and not can_moderate(user, question.room):
        return None
    return question.asker.display_name


def can_view_transcript(user, presentation: Presentation) -> bool:
    """The transcript follows the room: everyone enrolled in the course."""
    return room_role(user, presentation) is not None


def can_cast_verdict(user, room: PanelRoom) -> bool:
    """Critics vote on the paper's verdict once the panel has begun (changeable until the end)."""
    return room_role(user, room.presentation) == ROOM_CRITIC and room.phase in VERDICT_PHASES


def can_follow_up(user, question: Question) -> bool:
    """One follow-up on an answered question, by its asker, when the room allows follow-ups."""
    return (
        question.room.follow_ups_allowed
        and question.state == Q_ANSWERED
        and _user_id(user) == question.asker_id
        and can_ask(user, question.room)
    )


def audience_sees_question(audience: str, question: Question) -> bool:
    """What a whole audience of the room (moderator/author/critic) is shown, for broadcasts."""
    return audience == ROOM_MODERATOR or question.state in PUBLIC_QUESTION_STATES


def audience_asker_label(audience: str, question: Question) -> Optional[str]:
    """The asker's name as broadcast to an audience; None for anonymous questions outside staff."""
    if question.anonymous and audience != ROOM_MODERATOR:
        return None
    return question.asker.display_name


def audience_sees_verdict(audience: str, room: PanelRoom) -> bool:
    """Verdict counts: moderators at any time, everyone else once the room is closed."""
    return audience == ROOM_MODERATOR or room.phase == "closed"


def role_sees_question(user, role: str, question: Question) -> bool:
    """``can_see_question`` for a member whose room role is already known (a whole snapshot)."""
    return _user_id(user) == question.asker_id or audience_sees_question(role, question)


# --------------------------------------------------------------------------- slides, summary, sign-up


def can_sign_up(user, course_id: int) -> bool:
    """Students claim a paper and a slot themselves; staff place people through the schedule."""
    return is_student(user, course_id)


def can_edit_slides(user, presentation: Presentation) -> bool:
    """The presenting group attaches slides; staff may fix them."""
    uid = _user_id(user)
    return uid is not None and (
        uid in presentation.member_ids("presenting") or is_staff(user, presentation.course_id)
    )


def is_summary_open(presentation: Presentation, now: datetime) -> bool:
    """A summary is accepted at or before its deadline; without a deadline it stays open."""
    return presentation.summary_deadline is None or now <= presentation.summary_deadline


def can_write_summary(user, presentation: Presentation, now: datetime) -> bool:
    """The summary-writing group submits or updates the summary until its deadline."""
    uid = _user_id(user)
    return (
        uid is not None
        and uid in presentation.member_ids("summary")
        and is_summary_open(presentation, now)
    )


def can_view_summary(user, presentation: Presentation) -> bool:
    """The class reads a presentation's summary once it has been submitted."""
    return presentation.summary_submitted_at is not None and is_member(user, presentation.course_id)

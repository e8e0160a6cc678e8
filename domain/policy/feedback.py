"""Peer feedback on project talks: the feedback window and rules F1–F7 (SPEC §5.3).

Every piece of feedback is sealed until its talk's window closes: before then only staff and
its writer learn anything of it (text, rating, existence, count). After the close the presenting
group reads the released pieces without names, in ``release_key`` order. ``now`` is always a
parameter; "closed" is strictly after ``feedback_closes_at``, so feedback submitted at the close
instant is on time, as a review at its deadline is.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import bindparam, select
from sqlalchemy.orm import selectinload

from core.extensions import db
from domain.policy.membership import _read, _user_id, is_staff, is_student
from models import (
    FEEDBACK_SUBMITTED,
    ClassSession,
    Course,
    PeerFeedback,
    ProjectMember,
    ProjectTalk,
)

# --------------------------------------------------------------------------- the window


def default_feedback_close(session: ClassSession, course: Course) -> datetime:
    """Where a talk's window closes unless staff set another time: the session's end plus the
    course's feedback window."""
    return session.starts_at + timedelta(minutes=session.duration_minutes, hours=course.feedback_window_hours)


def feedback_opens_at(talk: ProjectTalk) -> datetime:
    """The window opens at the session's start, or earlier when staff opened it."""
    start = talk.session.starts_at
    opened = talk.feedback_opened_at
    return opened if opened is not None and opened < start else start


def is_feedback_open(talk: ProjectTalk, now: datetime) -> bool:
    """Feedback can be written and submitted now (the close instant itself is still open)."""
    return feedback_opens_at(talk) <= now <= talk.feedback_closes_at


def is_feedback_released(talk: ProjectTalk, now: datetime) -> bool:
    """The window is closed, strictly after its close: the group may read what was released."""
    return now > talk.feedback_closes_at


def feedback_phase(talk: ProjectTalk, now: datetime) -> str:
    """'upcoming', 'open' or 'released'."""
    if is_feedback_released(talk, now):
        return "released"
    return "open" if is_feedback_open(talk, now) else "upcoming"


# --------------------------------------------------------------------------- who is who


_GROUP_MEMBER = select(ProjectMember.id).where(
    ProjectMember.group_id == bindparam("group_id"), ProjectMember.user_id == bindparam("user_id")
)


def is_presenting(user, talk: ProjectTalk) -> bool:
    """Member of the group giving the talk."""
    uid = _user_id(user)
    return uid is not None and _read(_GROUP_MEMBER, group_id=talk.group_id, user_id=uid) is not None


def must_give_feedback(user, talk: ProjectTalk) -> bool:
    """Every student of the course not in the presenting group gives feedback on the talk."""
    return is_student(user, talk.course_id) and not is_presenting(user, talk)


def can_write_feedback(user, talk: ProjectTalk, now: datetime) -> bool:
    """Save a draft, submit, or edit a submitted piece: a feedback-giver while the window is open."""
    return must_give_feedback(user, talk) and is_feedback_open(talk, now)


_OWN_FEEDBACK = select(PeerFeedback).where(
    PeerFeedback.talk_id == bindparam("talk_id"), PeerFeedback.author_id == bindparam("author_id")
)


def own_feedback(user, talk: ProjectTalk) -> Optional[PeerFeedback]:
    """The user's own feedback (draft or submitted) on the talk, if any."""
    uid = _user_id(user)
    if uid is None:
        return None
    return _read(_OWN_FEEDBACK, talk_id=talk.id, author_id=uid)


def is_feedback_writer(user, feedback: PeerFeedback) -> bool:
    """The user wrote this piece of feedback."""
    uid = _user_id(user)
    return uid is not None and uid == feedback.author_id


# --------------------------------------------------------------------------- F1–F7


def f1_draft_visible(user, feedback: PeerFeedback) -> bool:
    """F1: a draft is visible to its writer only (staff included among those who may not)."""
    return is_feedback_writer(user, feedback)


def f2_staff_see_submitted(user, feedback: PeerFeedback) -> bool:
    """F2: staff see every submitted piece of feedback, with its writer's name, at any time."""
    return feedback.status == FEEDBACK_SUBMITTED and is_staff(user, feedback.talk.course_id)


def f3_sealed(user, feedback: PeerFeedback, now: datetime) -> bool:
    """F3: before the window closes nobody but staff and the writer learns anything of it."""
    if is_feedback_released(feedback.talk, now):
        return False
    return not (is_feedback_writer(user, feedback) or is_staff(user, feedback.talk.course_id))


def is_released_feedback(feedback: PeerFeedback, now: datetime) -> bool:
    """Released: submitted, not held back by staff, and its window closed."""
    return (
        feedback.status == FEEDBACK_SUBMITTED
        and not feedback.held_back
        and is_feedback_released(feedback.talk, now)
    )


def f4_group_sees_released(user, feedback: PeerFeedback, now: datetime) -> bool:
    """F4: after the close the presenting group sees released feedback (without names, in
    release_key order: ``visible_peer_feedback_list``)."""
    return is_released_feedback(feedback, now) and is_presenting(user, feedback.talk)


def f5_outside_group(user, feedback: PeerFeedback) -> bool:
    """F5: a student who is not in the presenting group never sees others' feedback on it."""
    return not is_feedback_writer(user, feedback) and not is_presenting(user, feedback.talk)


def f6_can_hold_back(user, feedback: PeerFeedback, now: datetime) -> bool:
    """F6: staff may hold back (or restore) submitted feedback before its release."""
    return (
        feedback.status == FEEDBACK_SUBMITTED
        and is_staff(user, feedback.talk.course_id)
        and not is_feedback_released(feedback.talk, now)
    )


def can_view_peer_feedback(user, feedback: PeerFeedback, now: datetime) -> bool:
    """The single answer to 'may this user learn anything of this piece of feedback?'."""
    if _user_id(user) is None:
        return False
    if is_feedback_writer(user, feedback):
        return True  # a student sees their own feedback always
    if feedback.status != FEEDBACK_SUBMITTED:
        return f1_draft_visible(user, feedback)
    if f2_staff_see_submitted(user, feedback):
        return True
    if f3_sealed(user, feedback, now) or f5_outside_group(user, feedback):
        return False
    return f4_group_sees_released(user, feedback, now)


def f7_visible_peer_feedback(user, feedback_id: int, now: datetime) -> Optional[PeerFeedback]:
    """F7: the feedback if the user may see it, else None: hidden and missing are one answer."""
    feedback = db.session.get(PeerFeedback, feedback_id)
    if feedback is None or not can_view_peer_feedback(user, feedback, now):
        return None
    return feedback


def can_read_talk_feedback(user, talk: ProjectTalk, now: datetime) -> bool:
    """May read others' feedback on the talk as a list: staff (F2), the group after release (F4)."""
    if is_staff(user, talk.course_id):
        return True
    return is_feedback_released(talk, now) and is_presenting(user, talk)


def visible_peer_feedback_list(user, talk: ProjectTalk, now: datetime) -> list[PeerFeedback]:
    """Others' feedback on the talk the user may read: staff every submitted piece by writer's
    name (F2); the presenting group after the close the released pieces by release_key (F4)."""
    if not can_read_talk_feedback(user, talk, now):
        return []
    statement = (
        select(PeerFeedback)
        .where(PeerFeedback.talk_id == talk.id, PeerFeedback.status == FEEDBACK_SUBMITTED)
        .options(selectinload(PeerFeedback.author))
    )
    if is_staff(user, talk.course_id):
        pieces = list(db.session.scalars(statement))
        return sorted(pieces, key=lambda f: (f.author.display_name.casefold(), f.author_id))
    statement = statement.where(PeerFeedback.held_back.is_(False)).order_by(PeerFeedback.release_key)
    return [f for f in db.session.scalars(statement) if f4_group_sees_released(user, f, now)]


def visible_peer_feedback_count(user, talk: ProjectTalk, now: datetime) -> Optional[int]:
    """How many pieces the user may know of; None when even the count is sealed (F3)."""
    if not can_read_talk_feedback(user, talk, now):
        return None
    return len(visible_peer_feedback_list(user, talk, now))


def feedback_writer_label(user, feedback: PeerFeedback) -> str:
    """How a piece's writer is shown: 'You' to the writer, the name to staff (F2), to the
    group no name at all (F4)."""
    if is_feedback_writer(user, feedback):
        return "You"
    if is_staff(user, feedback.talk.course_id):
        return feedback.author.display_name
    return "A classmate"


def can_mark_helpful(user, feedback: PeerFeedback, now: datetime) -> bool:
    """The presenting group marks each released comment helpful or not."""
    return f4_group_sees_released(user, feedback, now)


def can_manage_talks(user, course_id: int) -> bool:
    """Adding, changing and opening project talks, and holding feedback back: staff."""
    return is_staff(user, course_id)

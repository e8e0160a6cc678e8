"""Claiming a paper and a session slot, and joining a presenting group (SPEC §2.2).

The database's unique constraints make double-booking impossible: one presentation per paper,
one per slot, one seat per group member and one presenting role per student. The checks made
before an insert only turn the usual cases into clear messages. When two students submit at
the same instant, both pass the checks, one commit fails with an IntegrityError, and the loser
is told, after the rollback, what the winner took (``claim_problem`` / ``join_problem`` asked
again, or ``CHANGED_MEANWHILE``). Operations here add rows; the request commits.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import and_, func, not_, select

from core.extensions import db
from core.timeutil import default_review_deadline
from domain import policy
from domain.errors import Conflict
from models import (
    MEMBER_PRESENTING,
    PAPER_APPROVED,
    ROLE_STUDENT,
    ClassSession,
    Course,
    Enrollment,
    Paper,
    Presentation,
    PresentationMember,
)

NOT_A_STUDENT = "Only students of this course sign up to present."
ALREADY_PRESENTING = "You already present a paper in this course; each student presents one paper."
NO_SUCH_PAPER = "That paper is not on the approved list."
PAPER_TAKEN = "That paper was just taken by someone else. Pick another paper."
NO_SUCH_SLOT = "That session slot does not exist."
SLOT_TAKEN = "That slot was just taken by someone else. Pick another slot."
SESSION_PAST = "That session has already started; pick a later one."
GROUPS_OFF = "Presentations in this course are given alone; pick your own paper."
GROUP_FULL = "That presenting group was just filled. Pick another group or paper."
WRITES_SUMMARY = "You write this presentation's summary, so you cannot also present it."
PAPER_RESERVED = "That paper is reserved for the student who proposed it. Pick another paper."
NOT_YOUR_RESERVATION = "Only the student who proposed the paper can release its reservation."
CHANGED_MEANWHILE = "Someone else changed the schedule at the same moment. Check it and try again."


class SignupError(Conflict):
    """A claim or join that cannot be made; ``message`` is what the student is shown."""


# --------------------------------------------------------------------------- what is taken


def _exists(*conditions) -> bool:
    return db.session.scalar(select(Presentation.id).where(*conditions).limit(1)) is not None


def paper_taken(course_id: int, paper_id: int, except_id: Optional[int] = None) -> bool:
    """The paper already has a presentation (other than ``except_id``)."""
    return _exists(
        Presentation.course_id == course_id,
        Presentation.paper_id == paper_id,
        Presentation.id != (except_id or 0),
    )


def slot_taken(session_id: int, slot: int, except_id: Optional[int] = None) -> bool:
    """The session's slot already holds a presentation (other than ``except_id``)."""
    return _exists(
        Presentation.session_id == session_id,
        Presentation.slot == slot,
        Presentation.id != (except_id or 0),
    )


def presenting_in(course_id: int, user_id: int) -> Optional[Presentation]:
    """The presentation the student presents in this course, if any."""
    return db.session.scalar(
        select(Presentation)
        .join(PresentationMember, PresentationMember.presentation_id == Presentation.id)
        .where(
            PresentationMember.course_id == course_id,
            PresentationMember.user_id == user_id,
            PresentationMember.kind == MEMBER_PRESENTING,
        )
    )


def free_seat(presentation: Presentation, group_size: int, kind: str = MEMBER_PRESENTING) -> Optional[int]:
    """The lowest seat still free in the presentation's group of ``kind`` (presenting unless
    told), read now, or None when it is full. Seats are unique within a group, so two requests
    taking the last seat at once cannot both have it."""
    taken = set(
        db.session.scalars(
            select(PresentationMember.seat).where(
                PresentationMember.presentation_id == presentation.id,
                PresentationMember.kind == kind,
            )
        )
    )
    return next((seat for seat in range(1, group_size + 1) if seat not in taken), None)


def open_groups(course: Course, now: datetime) -> list[Presentation]:
    """Presentations of upcoming sessions whose presenting group still has a free seat."""
    if course.presentation_group_size < 2:
        return []
    presenting = (
        select(func.count(PresentationMember.id))
        .where(
            PresentationMember.presentation_id == Presentation.id,
            PresentationMember.kind == MEMBER_PRESENTING,
        )
        .scalar_subquery()
    )
    return list(
        db.session.scalars(
            select(Presentation)
            .join(ClassSession, ClassSession.id == Presentation.session_id)
            .where(
                Presentation.course_id == course.id,
                ClassSession.starts_at > now,
                presenting < course.presentation_group_size,
            )
            .order_by(ClassSession.starts_at, Presentation.slot)
        )
    )


def free_slots(course: Course, now: datetime) -> list[tuple[ClassSession, list[int]]]:
    """Each upcoming session with the slot numbers still free in it."""
    sessions = db.session.scalars(
        select(ClassSession)
        .where(ClassSession.course_id == course.id, ClassSession.starts_at > now)
        .order_by(ClassSession.starts_at)
    )
    result = []
    for session in sessions:
        used = {p.slot for p in session.presentations}
        free = [n for n in range(1, session.slots + 1) if n not in used]
        if free:
            result.append((session, free))
    return result


def _holding_reservation(course_id: int):
    """The ids of students enrolled in the course who present nothing yet: a proposer's
    reservation lasts while they are such a student (and until they release it)."""
    presenting = select(PresentationMember.user_id).where(
        PresentationMember.course_id == course_id, PresentationMember.kind == MEMBER_PRESENTING
    )
    return select(Enrollment.user_id).where(
        Enrollment.course_id == course_id, Enrollment.role == ROLE_STUDENT, Enrollment.user_id.not_in(presenting)
    )


def reserved_for(paper: Paper) -> Optional[int]:
    """The student an approved proposal is kept for at sign-up, or None when anyone may take it.

    A student who proposed a paper and got it approved presents it if they want: the paper is
    theirs until they release it, sign up for another one, or leave the course.
    """
    if paper.status != PAPER_APPROVED or paper.proposed_by_id is None or paper.reservation_released:
        return None
    holder = db.session.scalar(
        _holding_reservation(paper.course_id).where(Enrollment.user_id == paper.proposed_by_id)
    )
    return holder


def reservation_of(course: Course, user_id: int) -> Optional[Paper]:
    """The unclaimed approved paper the student proposed and still has reserved, if any."""
    for paper in db.session.scalars(
        select(Paper)
        .where(Paper.course_id == course.id, Paper.proposed_by_id == user_id)
        .order_by(Paper.title, Paper.id)
    ):
        if reserved_for(paper) == user_id and not paper_taken(course.id, paper.id):
            return paper
    return None


def release_reservation(paper: Paper, user) -> None:
    """The proposer gives their reserved paper to the class; anyone may claim it from now on."""
    if reserved_for(paper) != user.id:
        raise SignupError(NOT_YOUR_RESERVATION)
    paper.reservation_released = True
    db.session.flush()


def unclaimed_papers(course: Course, user_id: Optional[int] = None) -> list[Paper]:
    """Approved papers nobody presents yet, by title, without the ones reserved for someone
    other than ``user_id``."""
    claimed = select(Presentation.paper_id).where(Presentation.course_id == course.id)
    reserved_elsewhere = and_(
        Paper.proposed_by_id.is_not(None),
        Paper.reservation_released.is_(False),
        Paper.proposed_by_id.in_(_holding_reservation(course.id)),
        Paper.proposed_by_id != (user_id or 0),
    )
    return list(
        db.session.scalars(
            select(Paper)
            .where(
                Paper.course_id == course.id,
                Paper.status == PAPER_APPROVED,
                Paper.id.not_in(claimed),
                not_(reserved_elsewhere),
            )
            .order_by(Paper.title)
        )
    )


# --------------------------------------------------------------------------- claim and join


def claim_problem(course: Course, user, paper_id: int, session_id: int, slot: int, now: datetime) -> Optional[str]:
    """Why this student cannot claim this paper and slot now, or None when they can."""
    if not policy.can_sign_up(user, course.id):
        return NOT_A_STUDENT
    if presenting_in(course.id, user.id) is not None:
        return ALREADY_PRESENTING
    paper = db.session.get(Paper, paper_id)
    if paper is None or paper.course_id != course.id or paper.status != PAPER_APPROVED:
        return NO_SUCH_PAPER
    if reserved_for(paper) not in (None, user.id):
        return PAPER_RESERVED
    session = db.session.get(ClassSession, session_id)
    if session is None or session.course_id != course.id or not 1 <= slot <= session.slots:
        return NO_SUCH_SLOT
    if session.starts_at <= now:
        return SESSION_PAST
    if paper_taken(course.id, paper_id):
        return PAPER_TAKEN
    if slot_taken(session_id, slot):
        return SLOT_TAKEN
    return None


def claim(course: Course, user, paper_id: int, session_id: int, slot: int, now: datetime) -> Presentation:
    """Add the student's presentation of a paper in a free slot, or raise SignupError."""
    _refuse_if(claim_problem(course, user, paper_id, session_id, slot, now))
    session = db.session.get(ClassSession, session_id)
    presentation = Presentation(
        course_id=course.id,
        session_id=session_id,
        slot=slot,
        paper_id=paper_id,
        talk_minutes=course.talk_minutes,
        qa_minutes=course.qa_minutes,
        review_deadline=default_review_deadline(session.starts_at, course.timezone),
    )
    presentation.members.append(
        PresentationMember(course_id=course.id, user_id=user.id, kind=MEMBER_PRESENTING, seat=1)
    )
    db.session.add(presentation)
    return presentation


def join_problem(course: Course, user, presentation: Presentation, now: datetime) -> Optional[str]:
    """Why this student cannot join the presentation's presenting group now, or None."""
    if not policy.can_sign_up(user, course.id):
        return NOT_A_STUDENT
    if course.presentation_group_size < 2:
        return GROUPS_OFF
    if presenting_in(course.id, user.id) is not None:
        return ALREADY_PRESENTING
    if presentation.session.starts_at <= now:
        return SESSION_PAST
    if user.id in presentation.member_ids():
        return WRITES_SUMMARY
    if free_seat(presentation, course.presentation_group_size) is None:
        return GROUP_FULL
    return None


def join(course: Course, user, presentation: Presentation, now: datetime) -> PresentationMember:
    """Add the student to the presenting group in its next free seat, or raise SignupError."""
    _refuse_if(join_problem(course, user, presentation, now))
    member = PresentationMember(
        course_id=course.id,
        presentation_id=presentation.id,
        user_id=user.id,
        kind=MEMBER_PRESENTING,
        seat=free_seat(presentation, course.presentation_group_size),
    )
    db.session.add(member)
    return member


def _refuse_if(problem: Optional[str]) -> None:
    if problem:
        raise SignupError(problem)

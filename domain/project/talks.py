"""Project talks in the schedule (SPEC §5.3): staff add a group's pitch, checkpoint or final talk
to a class session; each talk carries its feedback window. Operations flush, never commit."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from icalendar import Event
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from core.extensions import db
from domain import audit, policy
from domain.errors import Conflict, Invalid
from models import (
    TALK_KINDS,
    ClassSession,
    Course,
    Milestone,
    MilestoneExtension,
    ProjectGroup,
    ProjectMember,
    ProjectTalk,
)

TALK_LABELS = {"pitch": "Proposal pitch", "checkpoint": "Checkpoint talk", "final": "Final talk"}
MAX_MINUTES = 120


def talk_label(talk: ProjectTalk) -> str:
    """'Checkpoint talk' and the like."""
    return TALK_LABELS.get(talk.kind, talk.kind)


def _check(course: Course, group: ProjectGroup, session: ClassSession, kind: str, minutes: int, order: int) -> None:
    if group.course_id != course.id or session.course_id != course.id:
        raise Invalid("Choose a group and a session of this course.")
    if kind not in TALK_KINDS:
        raise Invalid("Choose a pitch, a checkpoint talk or a final talk.")
    if not 1 <= minutes <= MAX_MINUTES:
        raise Invalid(f"A talk lasts 1 to {MAX_MINUTES} minutes.")
    if order < 1:
        raise Invalid("The order in the session starts at 1.")


def add_talk(
    course: Course,
    group: ProjectGroup,
    session: ClassSession,
    kind: str,
    actor_id: Optional[int],
    order: int = 1,
    minutes: int = 10,
    closes_at: Optional[datetime] = None,
) -> ProjectTalk:
    """Put a group's talk in a session; its window closes at the session's end plus the course's
    feedback window unless ``closes_at`` says otherwise. A group gives each kind of talk once."""
    _check(course, group, session, kind, minutes, order)
    talk = ProjectTalk(
        course_id=course.id,
        group=group,
        session=session,
        kind=kind,
        order=order,
        minutes=minutes,
        feedback_closes_at=closes_at or policy.default_feedback_close(session, course),
    )
    try:
        with db.session.begin_nested():  # the savepoint flushes what came before, then the talk
            db.session.add(talk)
    except IntegrityError:
        raise Conflict(f"{group.name} already has a {TALK_LABELS[kind].lower()}.") from None
    audit.record("talk_added", course.id, actor_id, talk_id=talk.id, group_id=group.id, talk_kind=kind)
    return talk


def update_talk(
    talk: ProjectTalk,
    session: ClassSession,
    order: int,
    minutes: int,
    closes_at: datetime,
    actor_id: Optional[int],
) -> None:
    """Move a talk, change its length, or set another close for its window (audited)."""
    course = db.session.get(Course, talk.course_id)
    _check(course, talk.group, session, talk.kind, minutes, order)
    old_close = talk.feedback_closes_at
    talk.session, talk.order, talk.minutes, talk.feedback_closes_at = session, order, minutes, closes_at
    if old_close != closes_at:
        audit.record(
            "feedback_close_changed", course.id, actor_id, talk_id=talk.id,
            old=old_close.isoformat(), new=closes_at.isoformat(),
        )
    db.session.flush()


def open_feedback_now(talk: ProjectTalk, now: datetime, actor_id: Optional[int]) -> None:
    """Staff open the window before the session starts (audited); a window already open stays."""
    if policy.is_feedback_open(talk, now) or policy.is_feedback_released(talk, now):
        raise Conflict("The feedback window is already open or closed.")
    talk.feedback_opened_at = now
    audit.record("feedback_opened", talk.course_id, actor_id, talk_id=talk.id)
    db.session.flush()


def _talks():
    return select(ProjectTalk).options(
        selectinload(ProjectTalk.group).selectinload(ProjectGroup.members).selectinload(ProjectMember.user),
        selectinload(ProjectTalk.session),
    )


def session_talks(session: ClassSession) -> list[ProjectTalk]:
    """A session's project talks in their order."""
    return list(
        db.session.scalars(_talks().where(ProjectTalk.session_id == session.id).order_by(ProjectTalk.order, ProjectTalk.id))
    )


def course_talks(course: Course) -> list[ProjectTalk]:
    """The course's project talks in schedule order."""
    return list(
        db.session.scalars(
            _talks()
            .join(ClassSession, ClassSession.id == ProjectTalk.session_id)
            .where(ProjectTalk.course_id == course.id)
            .order_by(ClassSession.starts_at, ProjectTalk.order, ProjectTalk.id)
        )
    )


def course_groups(course: Course) -> list[ProjectGroup]:
    """The course's project groups by name, members loaded (for the talk form's choices)."""
    return list(
        db.session.scalars(
            select(ProjectGroup)
            .where(ProjectGroup.course_id == course.id)
            .order_by(ProjectGroup.name, ProjectGroup.id)
            .options(selectinload(ProjectGroup.members).selectinload(ProjectMember.user))
        )
    )


def group_names(group: ProjectGroup) -> str:
    """The members' names, as the schedule shows a group."""
    return ", ".join(m.user.display_name for m in group.members) or "—"


def calendar_events(user, course: Course, stamp: datetime, uid, url: str) -> list:
    """The course's project talks for the user's calendar feed, the user's own feedback-due
    moments, and the milestone deadlines (the group's extension where it has one); no feedback.
    ``uid`` makes an event id from a key, ``url`` is the page the events point to."""
    def event(key: str, summary: str, start: datetime, end: Optional[datetime] = None) -> Event:
        e = Event()
        e.add("uid", uid(key))
        e.add("dtstamp", stamp)
        e.add("dtstart", start)
        if end is not None:
            e.add("dtend", end)
        e.add("summary", f"{course.code}: {summary}")
        e.add("url", url)
        return e

    events = []
    for talk in course_talks(course):
        events.append(event(f"talk-{talk.id}", f"{talk_label(talk)} — {talk.group.name}", talk.session.starts_at,
                            talk.session.starts_at + timedelta(minutes=talk.session.duration_minutes)))
        if policy.must_give_feedback(user, talk):
            events.append(event(f"talk-feedback-{talk.id}", f"feedback due — {talk.group.name}", talk.feedback_closes_at))
    group_id = db.session.scalar(
        select(ProjectMember.group_id).where(ProjectMember.course_id == course.id, ProjectMember.user_id == user.id)
    )
    extensions = dict(
        db.session.execute(
            select(MilestoneExtension.milestone_id, MilestoneExtension.deadline).where(MilestoneExtension.group_id == group_id)
        ).all()
    ) if group_id is not None else {}
    for milestone in db.session.scalars(select(Milestone).where(Milestone.course_id == course.id).order_by(Milestone.deadline)):
        due = extensions.get(milestone.id, milestone.deadline)
        events.append(event(f"milestone-{milestone.id}", f"{milestone.title} due", due))
    return events

"""Courses: creating one, the settings an instructor changes (a time zone change keeps either
the local times or the moments of what is still ahead), and what a course's home page shows
(the student's reviews still to write, the next sessions)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Optional

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.extensions import db
from core.timeutil import format_local, local, zone
from domain import audit, policy
from models import (
    MEMBER_PRESENTING,
    REVIEW_DRAFT,
    ROLE_INSTRUCTOR,
    ClassSession,
    Course,
    Enrollment,
    Extension,
    Milestone,
    MilestoneExtension,
    Presentation,
    ProjectGroup,
    ProjectTalk,
    PresentationMember,
    Review,
    User,
)

UPCOMING_SESSIONS = 5

# The course columns the settings form may change, besides title, term, zone and review form.
SETTINGS_FIELDS = (
    "join_enabled",
    "presentation_group_size",
    "project_group_max",
    "talk_minutes",
    "qa_minutes",
    "late_policy",
    "late_penalty_per_day",
    "grace_minutes",
    "name_reviewers",
    "similarity_threshold",
)


def courses_of(user_id: int) -> list[tuple[Course, str]]:
    """The user's courses with their role, by title."""
    return list(
        db.session.execute(
            select(Course, Enrollment.role)
            .join(Enrollment, Enrollment.course_id == Course.id)
            .where(Enrollment.user_id == user_id)
            .order_by(Course.title)
        ).tuples()
    )


def create_course(creator_id: int, code: str, title: str, term: str, timezone: str) -> Course:
    """A new course whose creator is its instructor."""
    course = Course(code=code.strip(), title=title.strip(), term=(term or "").strip(), timezone=timezone.strip())
    db.session.add(course)
    db.session.add(Enrollment(user_id=creator_id, course=course, role=ROLE_INSTRUCTOR))
    db.session.flush()
    return course


# --------------------------------------------------------------------------- changing the time zone

KEEP_LOCAL_TIMES = "local"
KEEP_INSTANTS = "instants"
ZONE_CHANGE_CHOICES = (KEEP_LOCAL_TIMES, KEEP_INSTANTS)


@dataclass(frozen=True)
class _Slot:
    """One stored instant of the course's schedule, and how to set it."""

    label: str
    at: datetime
    store: Callable[[datetime], None]


def _setter(obj, attribute: str) -> Callable[[datetime], None]:
    return lambda value: setattr(obj, attribute, value)


def _schedule_slots(course: Course, now: datetime) -> Iterator[_Slot]:
    """Every session start and deadline of the course still ahead at ``now``, in time order."""
    slots: list[_Slot] = []

    def add(label: str, obj, attribute: str) -> None:
        at = getattr(obj, attribute)
        if at is not None and at >= now:
            slots.append(_Slot(label, at, _setter(obj, attribute)))

    for session in db.session.scalars(select(ClassSession).where(ClassSession.course_id == course.id)):
        add(f"Class session{' — ' + session.title if session.title else ''}", session, "starts_at")
    presentations = db.session.scalars(
        select(Presentation).where(Presentation.course_id == course.id).options(selectinload(Presentation.paper))
    )
    for presentation in presentations:
        add(f"Review deadline — {presentation.paper.title}", presentation, "review_deadline")
        add(f"Summary deadline — {presentation.paper.title}", presentation, "summary_deadline")
    extensions = db.session.execute(
        select(Extension, User.display_name, Presentation)
        .join(User, User.id == Extension.user_id)
        .join(Presentation, Presentation.id == Extension.presentation_id)
        .where(Extension.course_id == course.id)
        .options(selectinload(Presentation.paper))
    )
    for extension, name, presentation in extensions:
        add(f"Extension for {name} — {presentation.paper.title}", extension, "deadline")
    for milestone in db.session.scalars(select(Milestone).where(Milestone.course_id == course.id)):
        add(f"Project deadline — {milestone.title}", milestone, "deadline")
    group_extensions = db.session.execute(
        select(MilestoneExtension, Milestone.title, ProjectGroup.name)
        .join(Milestone, Milestone.id == MilestoneExtension.milestone_id)
        .join(ProjectGroup, ProjectGroup.id == MilestoneExtension.group_id)
        .where(Milestone.course_id == course.id)
    )
    for extension, title, group in group_extensions:
        add(f"Extension for {group} — {title}", extension, "deadline")
    talks = db.session.execute(
        select(ProjectTalk, ProjectGroup.name)
        .join(ProjectGroup, ProjectGroup.id == ProjectTalk.group_id)
        .where(ProjectTalk.course_id == course.id)
    )
    for talk, group in talks:
        add(f"Feedback opens — {group}'s {talk.kind} talk", talk, "feedback_opened_at")
        add(f"Feedback closes — {group}'s {talk.kind} talk", talk, "feedback_closes_at")
    return iter(sorted(slots, key=lambda slot: (slot.at, slot.label)))


def same_local_time(at: datetime, old_zone: str, new_zone: str) -> datetime:
    """The instant that shows in ``new_zone`` the wall-clock time ``at`` shows in ``old_zone``."""
    wall = local(at, old_zone).replace(tzinfo=None)
    return wall.replace(tzinfo=zone(new_zone)).astimezone(timezone.utc)


def _shift_text(before: datetime, after: datetime) -> str:
    minutes = round((after - before).total_seconds() / 60)
    if minutes == 0:
        return "does not move"
    hours, rest = divmod(abs(minutes), 60)
    amount = f"{hours} h" + (f" {rest} min" if rest else "") if hours else f"{rest} min"
    return f"moves {amount} {'later' if minutes > 0 else 'earlier'}"


@dataclass(frozen=True)
class ZoneMove:
    """What one session or deadline becomes under each choice, as people read it."""

    label: str
    now_shown: str
    keeping_local_times: str
    local_times_shift: str
    keeping_instants: str


def zone_change_preview(course: Course, new_zone: str, now: datetime) -> list[ZoneMove]:
    """Every session and deadline still ahead, shown now, and after a change to ``new_zone``
    that keeps the local times (the moment moves) or keeps the moments (the shown hour moves)."""
    moves = []
    for slot in _schedule_slots(course, now):
        kept = same_local_time(slot.at, course.timezone, new_zone)
        moves.append(
            ZoneMove(
                label=slot.label,
                now_shown=format_local(slot.at, course.timezone),
                keeping_local_times=format_local(kept, new_zone),
                local_times_shift=_shift_text(slot.at, kept),
                keeping_instants=format_local(slot.at, new_zone),
            )
        )
    return moves


def change_timezone(course: Course, new_zone: str, keep: str, actor_id: Optional[int], now: datetime) -> int:
    """Move the course to ``new_zone``. With ``KEEP_LOCAL_TIMES`` every session and deadline
    still ahead keeps its wall-clock time (its stored moment moves); with ``KEEP_INSTANTS``
    nothing stored moves and pages show other hours. Past times stay as they happened.
    Audited; returns how many times moved."""
    if keep not in ZONE_CHANGE_CHOICES:
        raise ValueError(f"not a time zone change choice: {keep}")
    old_zone = course.timezone
    if new_zone == old_zone:
        return 0
    moved = 0
    if keep == KEEP_LOCAL_TIMES:
        for slot in _schedule_slots(course, now):
            new_at = same_local_time(slot.at, old_zone, new_zone)
            if new_at != slot.at:
                slot.store(new_at)
                moved += 1
    course.timezone = new_zone
    audit.record("course.timezone_changed", course.id, actor_id, old=old_zone, new=new_zone, kept=keep, moved=moved)
    db.session.flush()
    return moved


def apply_settings(course: Course, title: str, term: str, timezone: str, review_form: list, **settings: Any) -> None:
    """Store validated settings: the basics, the review form's fields and ``SETTINGS_FIELDS``."""
    unknown = set(settings) - set(SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"not a course setting: {', '.join(sorted(unknown))}")
    course.title = title.strip()
    course.term = (term or "").strip()
    course.timezone = timezone.strip()
    for name, value in settings.items():
        setattr(course, name, value)
    course.review_form = review_form
    db.session.flush()


@dataclass(frozen=True)
class ReviewToDo:
    """A review the student still has to write, with their own deadline."""

    presentation: Presentation
    deadline: Optional[datetime]
    late: bool
    has_draft: bool


def review_todo(user, course: Course, now: datetime) -> list[ReviewToDo]:
    """The reviews a student still has to write and may still submit at ``now``."""
    if not policy.is_student(user, course.id):
        return []
    presentations = db.session.scalars(
        select(Presentation)
        .where(Presentation.course_id == course.id)
        .options(selectinload(Presentation.paper))
        .order_by(Presentation.review_deadline)
    )
    todo = []
    for presentation in presentations:
        if not policy.must_review(user, presentation):
            continue
        mine = policy.own_review(user, presentation)
        if mine is not None and mine.is_submitted:
            continue
        window = policy.submission_window(user.id, presentation, now)
        if window == "closed":
            continue
        todo.append(
            ReviewToDo(
                presentation=presentation,
                deadline=policy.personal_deadline(user.id, presentation),
                late=window == "late",
                has_draft=mine is not None,
            )
        )
    return todo


def upcoming_sessions(course: Course, now: datetime) -> list[ClassSession]:
    """The next few class sessions (including one under way), with their presentations' papers."""
    sessions = db.session.scalars(
        select(ClassSession)
        .where(ClassSession.course_id == course.id, ClassSession.starts_at >= now - timedelta(days=1))
        .options(selectinload(ClassSession.presentations).selectinload(Presentation.paper))
        .order_by(ClassSession.starts_at)
        .limit(UPCOMING_SESSIONS + 5)
    )
    running = [s for s in sessions if s.starts_at + timedelta(minutes=s.duration_minutes) > now]
    return running[:UPCOMING_SESSIONS]


# --------------------------------------------------------------------------- reviews hidden by a group move


@dataclass(frozen=True)
class HiddenReview:
    """A review its writer no longer sees because they were moved into the presentation's
    presenting or summary group (authors do not review their own presentation)."""

    course: Course
    presentation: Presentation
    kind: str
    draft: bool

    @property
    def message(self) -> str:
        """What the writer is told about it."""
        group = "presenting" if self.kind == MEMBER_PRESENTING else "summary-writing"
        what = "draft review" if self.draft else "review"
        return (
            f"{self.course.code}: your {what} of “{self.presentation.paper.title}” is hidden, because you are "
            f"now in its {group} group and authors do not review their own presentation. It is kept, not "
            f"deleted, and comes back if you leave the group; you do not need to submit it."
        )


def reviews_hidden_by_groups(user_id: int) -> list[HiddenReview]:
    """The user's reviews of presentations whose presenting or summary group they are now in."""
    rows = db.session.execute(
        select(Review.status, PresentationMember.kind, Presentation, Course)
        .join(Presentation, Presentation.id == Review.presentation_id)
        .join(Course, Course.id == Presentation.course_id)
        .join(
            PresentationMember,
            (PresentationMember.presentation_id == Review.presentation_id)
            & (PresentationMember.user_id == Review.author_id),
        )
        .where(Review.author_id == user_id)
        .options(selectinload(Presentation.paper))
        .order_by(Course.title, Presentation.review_deadline)
    )
    return [
        HiddenReview(course=course, presentation=presentation, kind=kind, draft=status == REVIEW_DRAFT)
        for status, kind, presentation, course in rows
    ]

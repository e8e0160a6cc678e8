"""Class sessions, presentations placed by staff, their groups (summary groups assigned in one
place or by volunteers) and summaries (SPEC §2.2–2.4).

Operations add and flush; the request commits. The database's unique keys (one presentation per
paper and per slot, one presenting role per student) stay the last word: a plan that passes
``presentation_problems`` can still lose a race at commit, and the caller asks again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core.extensions import db
from core.timeutil import default_review_deadline, format_local, local_to_utc
from domain import audit, policy, signup
from domain.notifications import events as notifications
from models import (
    MEMBER_PRESENTING,
    MEMBER_SUMMARY,
    PAPER_APPROVED,
    REVIEW_DRAFT,
    ROLE_STUDENT,
    ClassSession,
    Course,
    Enrollment,
    Paper,
    Presentation,
    PresentationMember,
    Review,
    User,
)

SESSION_HOLDS_PRESENTATIONS = "This session holds presentations; move or delete them first."
PRESENTATION_HAS_REVIEWS = "Students have written reviews of this presentation; move it instead of deleting it."
PRESENTS_IT = "{name} presents this paper, so cannot also write its summary."
VOLUNTEER_PRESENTS = "You present this paper, so you cannot also write its summary."
VOLUNTEER_ALREADY = "You already write this presentation's summary."
VOLUNTEER_FULL = "This summary group is full. Pick another presentation."
VOLUNTEER_PAST = "This presentation's session has already started."
VOLUNTEER_NOT_STUDENT = "Only students of this course write summaries."


# --------------------------------------------------------------------------- reading the schedule


def group_members(presentation: Presentation, kind: str) -> list[User]:
    """The users of a presentation's presenting or summary group, in seat order."""
    return [m.user for m in sorted(presentation.members, key=lambda m: m.seat) if m.kind == kind]


def member_names(presentation: Presentation, kind: str) -> str:
    """A group's names as one line, or a dash for an empty group."""
    return ", ".join(u.display_name for u in group_members(presentation, kind)) or "—"


def session_label(session: ClassSession, course: Course) -> str:
    """A session as people read it in a list."""
    title = f" — {session.title}" if session.title else ""
    return f"{format_local(session.starts_at, course.timezone)}{title}"


def course_sessions(course: Course) -> list[ClassSession]:
    """The course's sessions in date order, with their presentations, papers and groups loaded."""
    return list(
        db.session.scalars(
            select(ClassSession)
            .where(ClassSession.course_id == course.id)
            .order_by(ClassSession.starts_at, ClassSession.id)
            .options(
                selectinload(ClassSession.presentations).joinedload(Presentation.paper),
                selectinload(ClassSession.presentations)
                .selectinload(Presentation.members)
                .joinedload(PresentationMember.user),
            )
        )
    )


def _presentations_in_schedule_order(course: Course):
    """The query of the course's presentations in schedule order, with papers and sessions loaded."""
    return (
        select(Presentation)
        .join(ClassSession, ClassSession.id == Presentation.session_id)
        .where(Presentation.course_id == course.id)
        .order_by(ClassSession.starts_at, Presentation.slot, Presentation.id)
        .options(selectinload(Presentation.paper), selectinload(Presentation.session))
    )


def course_presentations(course: Course) -> list[Presentation]:
    """The course's presentations in schedule order, with their papers and sessions loaded."""
    return list(db.session.scalars(_presentations_in_schedule_order(course)))


def enrolled_students(course: Course) -> list[User]:
    """The course's students by name."""
    return list(
        db.session.scalars(
            select(User)
            .join(Enrollment, Enrollment.user_id == User.id)
            .where(Enrollment.course_id == course.id, Enrollment.role == ROLE_STUDENT)
            .order_by(User.display_name, User.id)
        )
    )


def approved_papers(course: Course) -> list[Paper]:
    """The course's paper list (approved papers), by title."""
    return list(
        db.session.scalars(
            select(Paper)
            .where(Paper.course_id == course.id, Paper.status == PAPER_APPROVED)
            .order_by(Paper.title, Paper.id)
        )
    )


# --------------------------------------------------------------------------- class sessions


def slots_problem(session: ClassSession, slots: int) -> Optional[str]:
    """Why the session cannot shrink to ``slots`` slots, or None."""
    highest = max((p.slot for p in session.presentations), default=0)
    if slots < highest:
        return f"Slot {highest} holds a presentation; move it before removing the slot."
    return None


def save_session(
    course: Course,
    session: ClassSession,
    day: date,
    start: time,
    *,
    duration_minutes: int,
    room: str,
    title: str,
    slots: int,
    now: datetime,
) -> ClassSession:
    """Set the session's course-local date and time, length, room, title and slots."""
    moved = session.id is not None and session.starts_at != local_to_utc(day, start, course.timezone)
    session.starts_at = local_to_utc(day, start, course.timezone)
    session.duration_minutes = duration_minutes
    session.room = room
    session.title = title
    session.slots = slots
    db.session.add(session)
    db.session.flush()
    if moved:
        notifications.session_moved(session, now)
    return session


def session_delete_blocker(session: ClassSession) -> Optional[str]:
    """Why the session must stay, or None when it may be deleted."""
    return SESSION_HOLDS_PRESENTATIONS if session.presentations else None


# --------------------------------------------------------------------------- presentations


@dataclass(frozen=True)
class PresentationPlan:
    """What staff ask of a presentation: paper, slot, both groups (in seat order), timing and
    deadlines (``review_deadline`` None means the course's default for the session)."""

    paper_id: int
    session_id: int
    slot: int
    presenters: tuple[int, ...]
    summarizers: tuple[int, ...]
    talk_minutes: int
    qa_minutes: int
    review_deadline: Optional[datetime]
    summary_deadline: Optional[datetime]


def new_presentation(course: Course) -> Presentation:
    """An unsaved presentation with the course's default timing."""
    return Presentation(course_id=course.id, talk_minutes=course.talk_minutes, qa_minutes=course.qa_minutes)


def presentation_problems(course: Course, presentation: Presentation, plan: PresentationPlan) -> dict[str, str]:
    """What in the plan clashes with the rest of the schedule, by field name."""
    problems = {}
    if signup.paper_taken(course.id, plan.paper_id, except_id=presentation.id):
        problems["paper_id"] = "That paper already has a presentation."
    if signup.slot_taken(plan.session_id, plan.slot, except_id=presentation.id):
        problems["placement"] = "That slot already holds a presentation."
    for user_id in plan.presenters:
        other = signup.presenting_in(course.id, user_id)
        if other is not None and other.id != presentation.id:
            name = db.session.get(User, user_id).display_name
            problems["presenters"] = f"{name} already presents “{other.paper.title}”."
    return problems


def save_presentation(course: Course, presentation: Presentation, plan: PresentationPlan, actor_id: int,
                      now: datetime) -> Presentation:
    """Place the presentation as planned and set its groups (a group change is audited)."""
    session = db.session.get(ClassSession, plan.session_id)
    moved = presentation.id is not None and (presentation.session_id, presentation.slot) != (plan.session_id, plan.slot)
    presentation.paper_id = plan.paper_id
    presentation.session_id = plan.session_id
    presentation.slot = plan.slot
    presentation.talk_minutes = plan.talk_minutes
    presentation.qa_minutes = plan.qa_minutes
    presentation.review_deadline = plan.review_deadline or default_review_deadline(session.starts_at, course.timezone)
    presentation.summary_deadline = plan.summary_deadline
    db.session.add(presentation)
    db.session.flush()
    wanted = [(uid, MEMBER_PRESENTING, seat) for seat, uid in enumerate(plan.presenters, 1)]
    wanted += [(uid, MEMBER_SUMMARY, seat) for seat, uid in enumerate(plan.summarizers, 1)]
    if sorted(wanted) != sorted((m.user_id, m.kind, m.seat) for m in presentation.members):
        _replace_members(presentation, wanted, actor_id)
    if moved:
        notifications.presentation_moved(presentation, actor_id, now)
    return presentation


def _replace_members(presentation: Presentation, wanted: list[tuple[int, str, int]], actor_id: int) -> None:
    """Set both groups; group changes move review visibility, so they go to the audit log."""
    presentation.members.clear()
    db.session.flush()
    for user_id, kind, seat in wanted:
        presentation.members.append(
            PresentationMember(course_id=presentation.course_id, user_id=user_id, kind=kind, seat=seat)
        )
    db.session.flush()
    audit.record(
        "groups_changed",
        presentation.course_id,
        actor_id,
        presentation_id=presentation.id,
        presenting=[w[0] for w in wanted if w[1] == MEMBER_PRESENTING],
        summary=[w[0] for w in wanted if w[1] == MEMBER_SUMMARY],
    )


def hidden_review_notes(presentation: Presentation, user_ids) -> list[str]:
    """For staff, before a group change: what becomes of the reviews of the people joining one
    of the presentation's groups. Their drafts are told of alike whether one exists or not (a
    draft is its writer's alone, V1); submitted reviews, which staff see (V2), are named."""
    if presentation.id is None:
        return []  # a new presentation has no reviews yet
    joining = set(user_ids) - presentation.member_ids()
    if not joining:
        return []
    people = list(
        db.session.execute(
            select(User.id, User.display_name).where(User.id.in_(joining)).order_by(User.display_name, User.id)
        )
    )
    names = ", ".join(name for _, name in people)
    notes = [
        f"{names} no longer review{'s' if len(people) == 1 else ''} this presentation: any draft review "
        f"started of it is hidden from its writer (kept, not deleted, and back if they leave the group), "
        f"and their dashboard tells them so."
    ]
    submitted = db.session.scalars(
        select(User.display_name)
        .join(Review, Review.author_id == User.id)
        .where(Review.presentation_id == presentation.id, Review.status != REVIEW_DRAFT, User.id.in_(joining))
        .order_by(User.display_name, User.id)
    )
    notes += [
        f"{name} had submitted a review of this presentation: it is kept and staff still see it; "
        f"their dashboard tells them it is hidden from them while they are in the group."
        for name in submitted
    ]
    return notes


def presentation_delete_blocker(presentation: Presentation) -> Optional[str]:
    """Why the presentation must stay (someone reviewed it), or None when it may be deleted."""
    has_reviews = db.session.scalar(select(func.count(Review.id)).where(Review.presentation_id == presentation.id))
    return PRESENTATION_HAS_REVIEWS if has_reviews else None


# --------------------------------------------------------------------------- summary groups


def summary_groups(course: Course) -> list[Presentation]:
    """The course's presentations in schedule order with both groups loaded (for the one page
    where staff see which lack a summary group and assign them)."""
    return list(
        db.session.scalars(
            _presentations_in_schedule_order(course).options(
                selectinload(Presentation.members).joinedload(PresentationMember.user)
            )
        )
    )


def lacks_summary_group(presentation: Presentation) -> bool:
    """Nobody writes the presentation's summary yet."""
    return not presentation.member_ids(MEMBER_SUMMARY)


def summary_group_problem(presentation: Presentation, user_ids) -> Optional[str]:
    """Why these students cannot be the presentation's summary group, or None."""
    presenting = presentation.member_ids(MEMBER_PRESENTING) & set(user_ids)
    if presenting:
        return PRESENTS_IT.format(name=db.session.get(User, min(presenting)).display_name)
    return None


def set_summary_group(presentation: Presentation, user_ids, actor_id: int) -> bool:
    """Make these students (in this order) the summary group, keeping the presenters; the
    change is audited. False when nothing changed."""
    wanted_summary = list(dict.fromkeys(user_ids))
    if wanted_summary == [u.id for u in group_members(presentation, MEMBER_SUMMARY)]:
        return False
    wanted = [
        (m.user_id, MEMBER_PRESENTING, m.seat) for m in presentation.members if m.kind == MEMBER_PRESENTING
    ]
    wanted += [(uid, MEMBER_SUMMARY, seat) for seat, uid in enumerate(wanted_summary, 1)]
    _replace_members(presentation, wanted, actor_id)
    return True


def volunteer_problem(course: Course, user, presentation: Presentation, now: datetime) -> Optional[str]:
    """Why the student cannot volunteer for the presentation's summary group now, or None (a
    group takes as many writers as a presenting group)."""
    if not policy.is_student(user, course.id):
        return VOLUNTEER_NOT_STUDENT
    if user.id in presentation.member_ids(MEMBER_PRESENTING):
        return VOLUNTEER_PRESENTS
    if user.id in presentation.member_ids(MEMBER_SUMMARY):
        return VOLUNTEER_ALREADY
    if presentation.session.starts_at <= now:
        return VOLUNTEER_PAST
    if len(presentation.member_ids(MEMBER_SUMMARY)) >= max(course.presentation_group_size, 1):
        return VOLUNTEER_FULL
    return None


def open_summary_groups(course: Course, user, now: datetime) -> list[Presentation]:
    """Presentations of upcoming sessions the student may volunteer to summarise."""
    return [p for p in summary_groups(course) if volunteer_problem(course, user, p, now) is None]


def volunteer_for_summary(course: Course, user, presentation: Presentation, now: datetime) -> PresentationMember:
    """Add the student to the summary group in its next seat (audited), or raise Conflict."""
    problem = volunteer_problem(course, user, presentation, now)
    if problem:
        raise signup.SignupError(problem)
    # The seat is read now and bounded by the group's size: a volunteer who passed the check
    # while another took the last seat finds none (or the same one, which the unique seat refuses).
    seat = signup.free_seat(presentation, max(course.presentation_group_size, 1), MEMBER_SUMMARY)
    if seat is None:
        raise signup.SignupError(VOLUNTEER_FULL)
    member = PresentationMember(course_id=course.id, user_id=user.id, kind=MEMBER_SUMMARY, seat=seat)
    presentation.members.append(member)
    db.session.flush()
    audit.record(
        "summary_volunteer",
        course.id,
        user.id,
        presentation_id=presentation.id,
        summary=[u.id for u in group_members(presentation, MEMBER_SUMMARY)],
    )
    return member


# --------------------------------------------------------------------------- summary


def submit_summary(presentation: Presentation, text: str, now: datetime) -> None:
    """Store the summary-writing group's text as submitted at ``now`` (the class reads it then)."""
    presentation.summary_text = text.strip()
    presentation.summary_submitted_at = now
    db.session.flush()

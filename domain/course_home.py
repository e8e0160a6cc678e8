"""What a course's home page puts first, decided for one viewer at one moment.

For staff: what needs them now (proposals awaiting a decision, upcoming presentations without a
summary-writing group, the next session's reviews still missing or late, similarity flags, rooms
live now). For a student: what is due next with its deadline, their own presentation, and the
room that is live now. Everything a student is shown is their own work or the schedule: never a
count of classmates' reviews or feedback, nor anything else the policy hides.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.extensions import db
from domain import courses, papers, policy, reviewing, similarity
from domain.project import milestones as project_milestones
from domain.project import proposals as project_proposals
from domain.project import talks as project_talks
from domain.schedule import course_presentations
from models import (
    MEMBER_PRESENTING,
    MEMBER_SUMMARY,
    TOPIC_PENDING,
    ClassSession,
    Course,
    Milestone,
    MilestoneSubmission,
    PanelRoom,
    Paper,
    Phase,
    Presentation,
    ProjectGroup,
    ProjectTalk,
)

# A room is live while the talk or the panel runs.
LIVE_PHASES = (Phase.PRESENTING, Phase.PANEL)

DUE_REVIEW = "review"
DUE_SUMMARY = "summary"
DUE_MILESTONE = "milestone"
DUE_FEEDBACK = "feedback"


# --------------------------------------------------------------------------- shared


@dataclass(frozen=True)
class LiveRoom:
    """A panel room that is live now, with the viewer's role in it."""

    presentation: Presentation
    phase: str
    role: str


def live_rooms(viewer, course: Course) -> list[LiveRoom]:
    """The course's rooms in their talk or panel now that the viewer may enter."""
    rooms = db.session.scalars(
        select(PanelRoom)
        .join(Presentation, Presentation.id == PanelRoom.presentation_id)
        .where(Presentation.course_id == course.id, PanelRoom.phase.in_(LIVE_PHASES))
        .options(selectinload(PanelRoom.presentation).selectinload(Presentation.paper))
        .order_by(Presentation.id)
    )
    found = []
    for room in rooms:
        role = policy.room_role(viewer, room.presentation)
        if role is not None:
            found.append(LiveRoom(presentation=room.presentation, phase=room.phase, role=role))
    return found


def _upcoming_presentations(course: Course, now: datetime) -> list[Presentation]:
    """Presentations whose session has not ended yet, in schedule order."""
    return [
        p
        for p in course_presentations(course)
        if p.session.starts_at + timedelta(minutes=p.session.duration_minutes) > now
    ]


def next_session(course: Course, now: datetime) -> Optional[ClassSession]:
    """The session under way or the next one that holds presentations."""
    for session in courses.upcoming_sessions(course, now):
        if session.presentations:
            return session
    return None


# --------------------------------------------------------------------------- staff


@dataclass(frozen=True)
class ReviewGap:
    """A presentation of the next session whose critics have not all reviewed it on time."""

    presentation: Presentation
    critics: int
    missing: int  # no submitted review yet
    late: int
    deadline_passed: bool


@dataclass(frozen=True)
class FlaggedPresentation:
    """A presentation with pairs of reviews the similarity check flagged."""

    presentation: Presentation
    flags: int


@dataclass(frozen=True)
class StaffHome:
    """What needs staff now, each list empty when nothing does."""

    paper_proposals: list[Paper] = field(default_factory=list)
    topic_proposals: list[tuple[ProjectGroup, MilestoneSubmission]] = field(default_factory=list)
    without_summary_group: list[Presentation] = field(default_factory=list)
    next_session: Optional[ClassSession] = None
    review_gaps: list[ReviewGap] = field(default_factory=list)
    flagged: list[FlaggedPresentation] = field(default_factory=list)
    live: list[LiveRoom] = field(default_factory=list)

    @property
    def nothing_needed(self) -> bool:
        """True when no list holds anything."""
        return not (
            self.paper_proposals or self.topic_proposals or self.without_summary_group
            or self.review_gaps or self.flagged or self.live
        )


def review_gaps(session: Optional[ClassSession], now: datetime) -> list[ReviewGap]:
    """The session's presentations with reviews missing or late (drafts count as missing, V1)."""
    if session is None:
        return []
    gaps = []
    for presentation in sorted(session.presentations, key=lambda p: p.slot):
        rows = reviewing.critic_rows(presentation)
        counts = reviewing.status_counts(rows)
        missing, late = counts[reviewing.STATUS_NOT_SUBMITTED], counts[reviewing.STATUS_LATE]
        if missing or late:
            gaps.append(
                ReviewGap(
                    presentation=presentation,
                    critics=len(rows),
                    missing=missing,
                    late=late,
                    deadline_passed=now > presentation.review_deadline,
                )
            )
    return gaps


def flagged_presentations(viewer, course: Course, now: datetime) -> list[FlaggedPresentation]:
    """Presentations with similarity flags, as the integrity overview counts them for ``viewer``."""
    found = []
    for presentation in course_presentations(course):
        flags = similarity.flag_pairs(presentation, viewer=viewer, now=now)
        if flags:
            found.append(FlaggedPresentation(presentation=presentation, flags=len(flags)))
    return found


def staff_home(viewer, course: Course, now: datetime) -> StaffHome:
    """What needs the staff member now; empty for anyone who is not staff of the course."""
    if not policy.is_staff(viewer, course.id):
        return StaffHome()
    session = next_session(course, now)
    topics = []
    if policy.can_decide_proposal(viewer, course.id):
        topics = [
            (group, submission)
            for group, submission in project_proposals.proposals_to_review(course)
            if group.topic_status == TOPIC_PENDING
        ]
    return StaffHome(
        paper_proposals=papers.proposals_for(course, viewer.id, sees_all=policy.can_decide_proposals(viewer, course.id)),
        topic_proposals=topics,
        without_summary_group=[
            p for p in _upcoming_presentations(course, now) if not p.member_ids(MEMBER_SUMMARY)
        ],
        next_session=session,
        review_gaps=review_gaps(session, now),
        flagged=flagged_presentations(viewer, course, now),
        live=live_rooms(viewer, course),
    )


# --------------------------------------------------------------------------- student


@dataclass(frozen=True)
class DueItem:
    """One piece of the student's own work that is due, with their own deadline.

    ``subject`` is what the item's page is about: the presentation (a review or a summary), the
    milestone, or the project talk (peer feedback)."""

    kind: str
    title: str
    deadline: datetime
    late: bool
    started: bool
    subject: Presentation | Milestone | ProjectTalk


@dataclass(frozen=True)
class MyPresentation:
    """A presentation the student is an author of, as presenter or summary writer."""

    presentation: Presentation
    kind: str
    needs_slides: bool
    needs_summary: bool


@dataclass(frozen=True)
class StudentHome:
    """The student's next deadlines (soonest first), their presentations and the live rooms."""

    due: list[DueItem] = field(default_factory=list)
    mine: list[MyPresentation] = field(default_factory=list)
    live: list[LiveRoom] = field(default_factory=list)


def _review_items(viewer, course: Course, now: datetime) -> list[DueItem]:
    return [
        DueItem(DUE_REVIEW, item.presentation.paper.title, item.deadline, item.late, item.has_draft, item.presentation)
        for item in courses.review_todo(viewer, course, now)
        if item.deadline is not None
    ]


def _summary_items(viewer, presentations: list[Presentation], now: datetime) -> list[DueItem]:
    return [
        DueItem(DUE_SUMMARY, p.paper.title, p.summary_deadline, False, bool(p.summary_text), p)
        for p in presentations
        if p.summary_deadline is not None
        and p.summary_submitted_at is None
        and policy.can_write_summary(viewer, p, now)
    ]


def _milestone_items(viewer, course: Course, now: datetime) -> list[DueItem]:
    group = policy.group_of(viewer, course.id)
    milestone = project_milestones.due_next(group, project_milestones.course_milestones(course), now)
    if milestone is None:
        return []
    if group is None:
        return [DueItem(DUE_MILESTONE, milestone.title, milestone.deadline, False, False, milestone)]
    late = policy.milestone_window(milestone, group, now) == "late"
    started = project_milestones.latest_version(group, milestone) is not None
    return [DueItem(DUE_MILESTONE, milestone.title, policy.group_deadline(milestone, group), late, started, milestone)]


def _feedback_items(viewer, course: Course, now: datetime) -> list[DueItem]:
    items = []
    for talk in project_talks.course_talks(course):
        if not policy.can_write_feedback(viewer, talk, now):
            continue
        mine = policy.own_feedback(viewer, talk)
        if mine is not None and mine.submitted_at is not None:
            continue
        title = f"{project_talks.talk_label(talk)}: {talk.group.name}"
        items.append(DueItem(DUE_FEEDBACK, title, talk.feedback_closes_at, False, mine is not None, talk))
    return items


def my_presentations(viewer, presentations: list[Presentation]) -> list[MyPresentation]:
    """The presentations the student presents or writes the summary of."""
    mine = []
    for p in presentations:
        presenting = viewer.id in p.member_ids(MEMBER_PRESENTING)
        if presenting or policy.is_summary_writer(viewer, p):
            mine.append(
                MyPresentation(
                    presentation=p,
                    kind=MEMBER_PRESENTING if presenting else MEMBER_SUMMARY,
                    needs_slides=presenting and not (p.slides_url or p.slides_file),
                    needs_summary=not presenting and p.summary_submitted_at is None,
                )
            )
    return mine


def student_home(viewer, course: Course, now: datetime) -> StudentHome:
    """The student's own deadlines, presentations and live rooms; empty for anyone else."""
    if not policy.is_student(viewer, course.id):
        return StudentHome()
    presentations = course_presentations(course)
    due = (
        _review_items(viewer, course, now)
        + _summary_items(viewer, presentations, now)
        + _milestone_items(viewer, course, now)
        + _feedback_items(viewer, course, now)
    )
    due.sort(key=lambda item: item.deadline)
    return StudentHome(due=due, mine=my_presentations(viewer, presentations), live=live_rooms(viewer, course))

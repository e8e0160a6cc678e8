"""Milestones and their submissions (SPEC §5.2): staff set deadlines and per-group extensions;
a group submits versions, every one kept with its time and marked late when the course accepts
late work; the latest on-time version is the one graded.

Two submissions at the same instant get version numbers from the same count; the unique
(milestone, group, version) constraint refuses the second, which the web layer answers with
``SUBMITTED_TWICE``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from sqlalchemy import func, select

from core.extensions import db
from domain import audit, policy
from domain.errors import Forbidden, Invalid
from models import (
    MILESTONE_CHECKPOINT,
    MILESTONE_FINAL,
    MILESTONE_KINDS,
    MILESTONE_PROPOSAL,
    TOPIC_PENDING,
    Course,
    Milestone,
    MilestoneExtension,
    MilestoneSubmission,
    ProjectDocument,
    ProjectGroup,
)

SUBMITTED_TWICE = "This version was submitted twice at the same moment; the first one was kept. Reload to see it."

DEFAULT_TITLES = {
    MILESTONE_PROPOSAL: "Project proposal",
    MILESTONE_CHECKPOINT: "Mid-term checkpoint",
    MILESTONE_FINAL: "Final report",
}

ORIGINALITY = "Ideas from others are cited: this report is our own work and credits every source it builds on."


def confirmations_for(course: Course, kind: str) -> list[tuple[str, str]]:
    """The confirmations a group ticks on the milestone's form, as (key, text)."""
    if kind == MILESTONE_PROPOSAL:
        return [
            ("on_area", f"The topic is on the course's area: {course.project_area}."),
            ("original", "The topic is original: our own question, not a reproduction of one paper."),
            ("not_survey", "It is not a survey, but the proposal includes a survey of background and related work."),
        ]
    if kind == MILESTONE_FINAL:
        return [("originality", ORIGINALITY)]
    return []


@dataclass
class SubmissionInput:
    """What a group hands in: text fields, the ticked confirmations and the checked document."""

    title: str = ""
    abstract: str = ""
    notes: str = ""
    confirmations: dict[str, bool] = field(default_factory=dict)
    document: Optional[ProjectDocument] = None


def course_milestones(course: Course) -> list[Milestone]:
    """The course's milestones in their order (proposal, checkpoint, final)."""
    rows = db.session.scalars(select(Milestone).where(Milestone.course_id == course.id)).all()
    return sorted(rows, key=lambda m: MILESTONE_KINDS.index(m.kind))


def set_milestone(course: Course, actor, kind: str, deadline: datetime, title: str = "", instructions: str = "") -> Milestone:
    """Staff create or change a milestone's deadline, title and instructions."""
    if not policy.can_manage_groups(actor, course.id):
        raise Forbidden()
    if kind not in MILESTONE_KINDS:
        raise Invalid("Unknown milestone.")
    milestone = policy.milestone_of(course.id, kind)
    if milestone is None:
        milestone = Milestone(course_id=course.id, kind=kind)
        db.session.add(milestone)
    milestone.title = (title or "").strip()[:120] or DEFAULT_TITLES[kind]
    milestone.instructions = instructions or ""
    milestone.deadline = deadline
    db.session.flush()
    return milestone


def grant_extension(milestone: Milestone, group: ProjectGroup, actor, deadline: datetime, reason: str = "") -> MilestoneExtension:
    """Staff give a group its own deadline for a milestone (replacing an earlier one); audited."""
    if not policy.can_manage_groups(actor, milestone.course_id) or group.course_id != milestone.course_id:
        raise Forbidden()
    extension = policy.milestone_extension(milestone, group)
    if extension is None:
        extension = MilestoneExtension(milestone_id=milestone.id, group_id=group.id)
        db.session.add(extension)
    extension.deadline, extension.reason, extension.granted_by_id = deadline, (reason or "")[:500], actor.id
    audit.record(
        "project_extension", milestone.course_id, actor.id, subject_id=min(group.member_ids(), default=None),
        group_id=group.id, milestone=milestone.kind, deadline=deadline.isoformat(),
    )
    db.session.flush()
    return extension


def check_input(course: Course, kind: str, data: SubmissionInput) -> dict[str, bool]:
    """The ticked confirmations, or ``Invalid`` when a required field or confirmation is missing
    (the document is checked apart, on arrival)."""
    if kind == MILESTONE_PROPOSAL:
        if not data.title.strip():
            raise Invalid("Give the proposal a title.")
        if not data.abstract.strip():
            raise Invalid("Write the proposal's abstract.")
    ticked = {key: bool(data.confirmations.get(key)) for key, _ in confirmations_for(course, kind)}
    if not all(ticked.values()):
        raise Invalid("Tick every confirmation on the form; each one is a condition of the project.")
    return ticked


def submit(group: ProjectGroup, milestone: Milestone, user, data: SubmissionInput, now: datetime) -> MilestoneSubmission:
    """Add the group's next version of the milestone, marked late when after the group's
    deadline (accepted only when the course accepts late work); a proposal awaits a decision."""
    block = policy.milestone_block(user, group, milestone, now)
    if block:
        raise Forbidden(block)
    ticked = check_input(milestone.course, milestone.kind, data)
    if data.document is None:
        raise Invalid("Attach the document as a PDF.")
    if data.document.group_id != group.id:
        raise Invalid("Attach a document of your own group.")
    late = policy.milestone_window(milestone, group, now) == "late"
    version = (
        db.session.scalar(
            select(func.max(MilestoneSubmission.version)).where(
                MilestoneSubmission.milestone_id == milestone.id, MilestoneSubmission.group_id == group.id
            )
        )
        or 0
    ) + 1
    submission = MilestoneSubmission(
        milestone_id=milestone.id,
        group_id=group.id,
        version=version,
        title=data.title.strip()[:300],
        abstract=data.abstract.strip(),
        notes=data.notes.strip(),
        confirmations=ticked,
        document_id=data.document.id,
        submitted_by_id=user.id,
        submitted_at=now,
        late=late,
    )
    db.session.add(submission)
    if milestone.kind == MILESTONE_PROPOSAL:
        group.topic_status = TOPIC_PENDING
    db.session.flush()
    return submission


def versions(group: ProjectGroup, milestone: Milestone) -> list[MilestoneSubmission]:
    """Every version the group submitted to the milestone, newest first."""
    return list(
        db.session.scalars(
            select(MilestoneSubmission)
            .where(MilestoneSubmission.milestone_id == milestone.id, MilestoneSubmission.group_id == group.id)
            .order_by(MilestoneSubmission.version.desc())
        )
    )


def latest_version(group: ProjectGroup, milestone: Milestone) -> Optional[MilestoneSubmission]:
    """The group's newest version of the milestone, on time or not."""
    found = versions(group, milestone)
    return found[0] if found else None


def graded_version(group: ProjectGroup, milestone: Milestone) -> Optional[MilestoneSubmission]:
    """The version that is graded: the latest on-time one; when every version is late, the
    latest late one (the gradebook applies the late penalty); None when nothing was submitted."""
    found = versions(group, milestone)
    on_time = [s for s in found if not s.late]
    if on_time:
        return on_time[0]
    return found[0] if found else None


def milestone_status(group: ProjectGroup, milestone: Milestone, now: datetime) -> str:
    """'on time', 'late', 'missing' (deadline passed, nothing in) or 'not due' (still open)."""
    graded = graded_version(group, milestone)
    if graded is not None:
        return "late" if graded.late else "on time"
    return "missing" if now > policy.milestone_closes_at(milestone, group) else "not due"


def due_next(group: Optional[ProjectGroup], milestones: list[Milestone], now: datetime) -> Optional[Milestone]:
    """The first milestone whose (group's) deadline is still ahead and that has nothing in yet."""
    for milestone in milestones:
        closes = policy.milestone_closes_at(milestone, group) if group is not None else milestone.deadline
        if now <= closes and (group is None or graded_version(group, milestone) is None):
            return milestone
    return None

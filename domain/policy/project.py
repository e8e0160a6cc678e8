"""The term project's groups, milestones and documents (SPEC §5.1–5.2).

A student is in at most one group per course; groups lock for students strictly after the
proposal milestone's deadline (staff may still change them). A milestone's deadline is the
group's extension if one was granted, else the milestone's, plus the course's grace period; a
submission at that instant is on time. A document is seen by its group and by staff; to anyone
else it answers like a missing one (F7). ``now`` is always a parameter.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import bindparam, select

from domain.policy.membership import _read, _user_id, is_instructor, is_staff, is_student
from models import (
    MILESTONE_PROPOSAL,
    TOPIC_APPROVED,
    TOPIC_NONE,
    TOPIC_PENDING,
    TOPIC_REVISE,
    Course,
    Milestone,
    MilestoneExtension,
    ProjectDocument,
    ProjectGroup,
    ProjectMember,
)

# --------------------------------------------------------------------------- groups


_GROUP_OF = (
    select(ProjectGroup)
    .join(ProjectMember, ProjectMember.group_id == ProjectGroup.id)
    .where(ProjectMember.course_id == bindparam("course_id"), ProjectMember.user_id == bindparam("user_id"))
)


def group_of(user, course_id: int) -> Optional[ProjectGroup]:
    """The user's project group in the course, or None."""
    uid = _user_id(user)
    if uid is None:
        return None
    return _read(_GROUP_OF, course_id=course_id, user_id=uid)


def in_group(user, group: ProjectGroup) -> bool:
    """Member of this project group."""
    mine = group_of(user, group.course_id)
    return mine is not None and mine.id == group.id


_MILESTONE = select(Milestone).where(Milestone.course_id == bindparam("course_id"), Milestone.kind == bindparam("kind"))


def milestone_of(course_id: int, kind: str) -> Optional[Milestone]:
    """The course's milestone of this kind (proposal, checkpoint, final), if staff set it."""
    return _read(_MILESTONE, course_id=course_id, kind=kind)


def groups_lock_at(course: Course) -> Optional[datetime]:
    """When groups lock for students: the proposal milestone's deadline (None: not set yet)."""
    proposal = milestone_of(course.id, MILESTONE_PROPOSAL)
    return proposal.deadline if proposal is not None else None


def are_groups_locked(course: Course, now: datetime) -> bool:
    """Locked strictly after the proposal deadline: a change at the deadline instant still counts."""
    lock = groups_lock_at(course)
    return lock is not None and now > lock


def can_form_own_group(user, course: Course, now: datetime) -> bool:
    """A student creates, joins or leaves a group only until the groups lock."""
    return is_student(user, course.id) and not are_groups_locked(course, now)


def can_join_group(user, course: Course, now: datetime) -> bool:
    """A student not yet in a group may create one or accept an invitation while groups are open."""
    return can_form_own_group(user, course, now) and group_of(user, course.id) is None


def can_manage_groups(user, course_id: int) -> bool:
    """Staff form, change and dissolve groups at any time (audited), set milestones and extensions."""
    return is_staff(user, course_id)


def can_decide_proposal(user, course_id: int) -> bool:
    """Proposals are decided by the instructor (SPEC §5.2), not by TAs."""
    return is_instructor(user, course_id)


# --------------------------------------------------------------------------- milestone deadlines


_GROUP_EXTENSION = select(MilestoneExtension).where(
    MilestoneExtension.milestone_id == bindparam("milestone_id"), MilestoneExtension.group_id == bindparam("group_id")
)


def milestone_extension(milestone: Milestone, group: ProjectGroup) -> Optional[MilestoneExtension]:
    """The group's extension on this milestone, if one was granted."""
    return _read(_GROUP_EXTENSION, milestone_id=milestone.id, group_id=group.id)


def group_deadline(milestone: Milestone, group: ProjectGroup) -> datetime:
    """The group's own deadline: its extension if granted, else the milestone's."""
    extension = milestone_extension(milestone, group)
    return extension.deadline if extension is not None else milestone.deadline


def milestone_closes_at(milestone: Milestone, group: ProjectGroup) -> datetime:
    """The group's last on-time instant: its deadline plus the course's grace period."""
    return group_deadline(milestone, group) + timedelta(minutes=milestone.course.grace_minutes or 0)


def milestone_window(milestone: Milestone, group: ProjectGroup, now: datetime) -> str:
    """'open' (on time), 'late' (accepted, marked late) or 'closed' for the group now.

    A proposal sent back for revision is open to its resubmission whatever the time: the
    instructor asked for it."""
    if milestone.kind == MILESTONE_PROPOSAL and group.topic_status == TOPIC_REVISE:
        return "open"
    if now <= milestone_closes_at(milestone, group):
        return "open"
    return "late" if milestone.course.late_policy == "accept" else "closed"


def milestone_block(user, group: Optional[ProjectGroup], milestone: Milestone, now: datetime) -> Optional[str]:
    """Why the user cannot submit to the milestone for their group now, or None when they can."""
    if group is None or not is_student(user, milestone.course_id) or not in_group(user, group):
        return "Join or create a project group first."
    if milestone.kind == MILESTONE_PROPOSAL:
        if group.topic_status not in (TOPIC_NONE, TOPIC_PENDING, TOPIC_REVISE):
            return "The proposal has been decided; it cannot be changed."
    elif group.topic_status != TOPIC_APPROVED:
        return "Work after the proposal opens once your group's topic is approved."
    if milestone_window(milestone, group, now) == "closed":
        return "The deadline has passed and this course does not accept late submissions."
    return None




# --------------------------------------------------------------------------- documents


def can_view_document(user, document: ProjectDocument) -> bool:
    """A document is the group's and staff's; to everyone else it does not exist (F7)."""
    if is_staff(user, document.course_id):
        return True
    mine = group_of(user, document.course_id)
    return mine is not None and mine.id == document.group_id and is_student(user, document.course_id)


def can_view_group_work(user, group: ProjectGroup) -> bool:
    """A group's submissions, decisions and history: its members and staff."""
    return is_staff(user, group.course_id) or (is_student(user, group.course_id) and in_group(user, group))

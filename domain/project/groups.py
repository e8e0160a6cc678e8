"""Project groups (SPEC §5.1): create (or work alone), invite, accept or decline, leave; staff
form, change and dissolve groups, audited.

One group per student per course and one student per seat are database constraints, so two
acceptances at the same instant cannot both succeed: the second flush or commit raises
``IntegrityError``, which the web layer answers with ``SEAT_TAKEN``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, Optional

from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from core.extensions import db
from domain import audit, policy
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from models import (
    INVITATION_ACCEPTED,
    INVITATION_DECLINED,
    INVITATION_PENDING,
    INVITATION_WITHDRAWN,
    ROLE_STUDENT,
    Course,
    Enrollment,
    MilestoneExtension,
    MilestoneSubmission,
    ProjectGroup,
    ProjectInvitation,
    ProjectMember,
    User,
)

group_of = policy.group_of

SEAT_TAKEN = (
    "Someone joined at the same moment: that student is already in a group, or the group is full. "
    "Reload the page to see the groups as they are now."
)
LOCKED = "Groups are locked since the proposal deadline; ask the course staff to change your group."


def _open_for(user, course: Course, now: datetime) -> None:
    if not policy.is_student(user, course.id):
        raise Forbidden("Only students of the course are in project groups.")
    if policy.are_groups_locked(course, now):
        raise Forbidden(LOCKED)


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("Give the group a name.")
    if len(name) > 120:
        raise Invalid("A group name has at most 120 characters.")
    return name


def members_of(group: ProjectGroup) -> list[User]:
    """The group's members in seat order."""
    return [m.user for m in group.members]


def _next_seat(group: ProjectGroup) -> int:
    taken = db.session.scalar(select(func.max(ProjectMember.seat)).where(ProjectMember.group_id == group.id))
    return (taken or 0) + 1


def _seat(group: ProjectGroup, user_id: int, now: datetime) -> ProjectMember:
    if len(group.members) >= group.course.project_group_max:
        raise Conflict(f"The group is full: at most {group.course.project_group_max} students.")
    member = ProjectMember(
        course_id=group.course_id, group_id=group.id, user_id=user_id, seat=_next_seat(group), joined_at=now
    )
    group.members.append(member)
    return member


def create_group(course: Course, user, name: str, solo: bool, now: datetime) -> ProjectGroup:
    """A student creates a group with themselves in the first seat; ``solo`` is the explicit
    choice to work alone (no invitations)."""
    _open_for(user, course, now)
    if policy.group_of(user, course.id) is not None:
        raise Conflict("You are already in a project group in this course.")
    group = ProjectGroup(course_id=course.id, name=_clean_name(name), solo=bool(solo), created_by_id=user.id, created_at=now)
    db.session.add(group)
    db.session.flush()
    _seat(group, user.id, now)
    _withdraw_pending_to(course.id, user.id, now)
    db.session.flush()
    return group


def ungrouped_students(course: Course) -> list[User]:
    """Students of the course in no group yet, by name."""
    grouped = select(ProjectMember.user_id).where(ProjectMember.course_id == course.id)
    return policy.students_except(course.id, grouped)


def classmates_to_invite(course: Course, group: ProjectGroup) -> list[User]:
    """Students in no group yet and without a pending invitation from this group."""
    invited = {i.invitee_id for i in pending_invitations_from(group)}
    return [u for u in ungrouped_students(course) if u.id not in invited]


def invite(group: ProjectGroup, inviter, invitee_id: int, now: datetime) -> ProjectInvitation:
    """A member invites a classmate who is a student of the course and in no group."""
    course = group.course
    _open_for(inviter, course, now)
    if not policy.in_group(inviter, group):
        raise NotFound()
    if group.solo:
        raise Invalid("Your group is a group of one; change that choice before inviting someone.")
    if len(group.members) >= course.project_group_max:
        raise Conflict(f"The group is full: at most {course.project_group_max} students.")
    if invitee_id not in {u.id for u in classmates_to_invite(course, group)}:
        raise Invalid("Choose a classmate who is a student of the course and not yet in a group.")
    invitation = db.session.scalar(
        select(ProjectInvitation).where(ProjectInvitation.group_id == group.id, ProjectInvitation.invitee_id == invitee_id)
    )
    if invitation is None:
        invitation = ProjectInvitation(course_id=course.id, group_id=group.id, invitee_id=invitee_id)
        db.session.add(invitation)
    invitation.inviter_id, invitation.status = inviter.id, INVITATION_PENDING
    invitation.created_at, invitation.decided_at = now, None
    db.session.flush()
    return invitation


def pending_invitations_for(user, course_id: int) -> list[ProjectInvitation]:
    """Invitations waiting for the user's answer."""
    return list(
        db.session.scalars(
            select(ProjectInvitation)
            .where(
                ProjectInvitation.course_id == course_id,
                ProjectInvitation.invitee_id == user.id,
                ProjectInvitation.status == INVITATION_PENDING,
            )
            .order_by(ProjectInvitation.created_at, ProjectInvitation.id)
        )
    )


def pending_invitations_from(group: ProjectGroup) -> list[ProjectInvitation]:
    """The group's invitations not yet answered."""
    return list(
        db.session.scalars(
            select(ProjectInvitation)
            .where(ProjectInvitation.group_id == group.id, ProjectInvitation.status == INVITATION_PENDING)
            .order_by(ProjectInvitation.id)
        )
    )


def _own_pending(invitation: Optional[ProjectInvitation], user) -> ProjectInvitation:
    if invitation is None or invitation.invitee_id != getattr(user, "id", None):
        raise NotFound()
    if invitation.status != INVITATION_PENDING:
        raise Conflict("This invitation was already answered or withdrawn.")
    return invitation


def accept(invitation: Optional[ProjectInvitation], user, now: datetime) -> ProjectMember:
    """The invitee takes the group's next seat; their other pending invitations are withdrawn."""
    invitation = _own_pending(invitation, user)
    course = invitation.group.course
    _open_for(user, course, now)
    if policy.group_of(user, course.id) is not None:
        raise Conflict("You are already in a project group in this course.")
    member = _seat(invitation.group, user.id, now)
    invitation.status, invitation.decided_at = INVITATION_ACCEPTED, now
    _withdraw_pending_to(course.id, user.id, now)
    db.session.flush()
    return member


def decline(invitation: Optional[ProjectInvitation], user, now: datetime) -> None:
    """The invitee says no."""
    invitation = _own_pending(invitation, user)
    invitation.status, invitation.decided_at = INVITATION_DECLINED, now
    db.session.flush()


def _withdraw_pending_to(course_id: int, user_id: int, now: datetime) -> None:
    for other in db.session.scalars(
        select(ProjectInvitation).where(
            ProjectInvitation.course_id == course_id,
            ProjectInvitation.invitee_id == user_id,
            ProjectInvitation.status == INVITATION_PENDING,
        )
    ):
        other.status, other.decided_at = INVITATION_WITHDRAWN, now


def _has_submissions(group: ProjectGroup) -> bool:
    return db.session.scalar(select(MilestoneSubmission.id).where(MilestoneSubmission.group_id == group.id).limit(1)) is not None


def leave(course: Course, user, now: datetime) -> None:
    """A student leaves their group while groups are open; the last member's leaving removes
    an empty group that has submitted nothing."""
    _open_for(user, course, now)
    group = policy.group_of(user, course.id)
    if group is None:
        raise Conflict("You are not in a project group.")
    _remove_member(group, user.id)


def _remove_member(group: ProjectGroup, user_id: int) -> None:
    member = next((m for m in group.members if m.user_id == user_id), None)
    if member is None:
        raise Invalid("That student is not in this group.")
    group.members.remove(member)
    db.session.flush()
    if not group.members and not _has_submissions(group):
        _delete_group(group)


# --------------------------------------------------------------------------- staff


def _course_students(course: Course, user_ids: Iterable[int]) -> list[int]:
    ids = sorted(set(user_ids))
    students = set(
        db.session.scalars(
            select(Enrollment.user_id).where(
                Enrollment.course_id == course.id, Enrollment.role == ROLE_STUDENT, Enrollment.user_id.in_(ids)
            )
        )
    )
    if not ids or students != set(ids):
        raise Invalid("Choose students of this course.")
    return ids


def staff_form_group(course: Course, actor, name: str, user_ids: Iterable[int], now: datetime) -> ProjectGroup:
    """Staff form a group of these students (none of them in a group yet), at any time; audited."""
    if not policy.can_manage_groups(actor, course.id):
        raise Forbidden()
    ids = _course_students(course, user_ids)
    if len(ids) > course.project_group_max:
        raise Invalid(f"A group has at most {course.project_group_max} students.")
    grouped = db.session.scalars(
        select(ProjectMember.user_id).where(ProjectMember.course_id == course.id, ProjectMember.user_id.in_(ids))
    ).all()
    if grouped:
        raise Conflict("A chosen student is already in a group; remove them from it first.")
    group = ProjectGroup(course_id=course.id, name=_clean_name(name), solo=len(ids) == 1, created_by_id=actor.id, created_at=now)
    db.session.add(group)
    db.session.flush()
    for user_id in ids:
        _seat(group, user_id, now)
        _withdraw_pending_to(course.id, user_id, now)
    audit.record("project_group_formed", course.id, actor.id, subject_id=ids[0], group_id=group.id, members=ids)
    db.session.flush()
    return group


def staff_add_member(group: ProjectGroup, actor, user_id: int, now: datetime) -> ProjectMember:
    """Staff put a student who is in no group into this one; audited."""
    course = group.course
    if not policy.can_manage_groups(actor, course.id):
        raise Forbidden()
    _course_students(course, [user_id])
    if db.session.scalar(
        select(ProjectMember.id).where(ProjectMember.course_id == course.id, ProjectMember.user_id == user_id)
    ) is not None:
        raise Conflict("That student is already in a group; remove them from it first.")
    member = _seat(group, user_id, now)
    group.solo = False
    _withdraw_pending_to(course.id, user_id, now)
    audit.record("project_group_changed", course.id, actor.id, subject_id=user_id, group_id=group.id, added=user_id)
    db.session.flush()
    return member


def staff_remove_member(group: ProjectGroup, actor, user_id: int) -> None:
    """Staff take a student out of a group; audited."""
    if not policy.can_manage_groups(actor, group.course_id):
        raise Forbidden()
    course_id, group_id = group.course_id, group.id
    _remove_member(group, user_id)
    audit.record("project_group_changed", course_id, actor.id, subject_id=user_id, group_id=group_id, removed=user_id)
    db.session.flush()


def dissolve(group: ProjectGroup, actor) -> None:
    """Staff dissolve a group: its members are free to join others; a group that has
    submitted work keeps its history and is refused (remove members instead)."""
    if not policy.can_manage_groups(actor, group.course_id):
        raise Forbidden()
    if _has_submissions(group):
        raise Conflict("This group has submitted work; remove its members instead, so the history stays.")
    members = sorted(group.member_ids())
    audit.record(
        "project_group_dissolved", group.course_id, actor.id, subject_id=members[0] if members else None,
        group_id=group.id, name=group.name, members=members,
    )
    _delete_group(group)


def _delete_group(group: ProjectGroup) -> None:
    db.session.execute(delete(ProjectInvitation).where(ProjectInvitation.group_id == group.id))
    db.session.execute(delete(MilestoneExtension).where(MilestoneExtension.group_id == group.id))
    db.session.delete(group)
    db.session.flush()


def course_groups(course: Course) -> list[ProjectGroup]:
    """Every group of the course in creation order, with members loaded."""
    return list(
        db.session.scalars(
            select(ProjectGroup)
            .where(ProjectGroup.course_id == course.id)
            .order_by(ProjectGroup.id)
            .options(selectinload(ProjectGroup.members).selectinload(ProjectMember.user))
        )
    )

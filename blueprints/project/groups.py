"""The student's project page and group actions: create (or work alone), invite, accept,
decline, leave (SPEC §5.1)."""
from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from blueprints.common import applied_or_flashed, course_or_404, of_course_or_404
from blueprints.project import bp
from core.timeutil import now_utc
from domain import policy
from domain.project import groups, milestones, proposals
from models import ProjectInvitation


def _home(course_id: int):
    return redirect(url_for("project.home", course_id=course_id))


@bp.route("/courses/<int:course_id>/project")
@login_required
def home(course_id):
    """The project page: a student's group, invitations, milestones with status and countdowns,
    what is due next; staff are sent to the overview."""
    course = course_or_404(course_id)
    if policy.is_staff(current_user, course.id):
        return redirect(url_for("project.overview", course_id=course.id))
    now = now_utc()
    group = policy.group_of(current_user, course.id)
    all_milestones = milestones.course_milestones(course)
    rows = []
    for milestone in all_milestones:
        if group is None:
            rows.append({"milestone": milestone, "deadline": milestone.deadline, "status": None, "versions": [],
                         "block": policy.milestone_block(current_user, None, milestone, now), "extended": False})
            continue
        rows.append({
            "milestone": milestone,
            "deadline": policy.group_deadline(milestone, group),
            "extended": policy.milestone_extension(milestone, group) is not None,
            "status": milestones.milestone_status(group, milestone, now),
            "versions": milestones.versions(group, milestone),
            "graded": milestones.graded_version(group, milestone),
            "block": policy.milestone_block(current_user, group, milestone, now),
            "window": policy.milestone_window(milestone, group, now),
        })
    return render_template(
        "project/home.html",
        course=course,
        group=group,
        members=groups.members_of(group) if group else [],
        invitations=groups.pending_invitations_for(current_user, course.id),
        sent=groups.pending_invitations_from(group) if group else [],
        classmates=groups.classmates_to_invite(course, group) if group and not group.solo else [],
        group_full=bool(group) and len(group.members) >= course.project_group_max,
        can_form=policy.can_form_own_group(current_user, course, now),
        can_join=policy.can_join_group(current_user, course, now),
        is_student=policy.is_student(current_user, course.id),
        lock_at=policy.groups_lock_at(course),
        rows=rows,
        due_next=milestones.due_next(group, all_milestones, now),
        decision=proposals.last_decision(group) if group else None,
    )


@bp.route("/courses/<int:course_id>/project/groups", methods=["POST"])
@login_required
def create_group(course_id):
    """A student creates a group, or chooses to work alone."""
    course = course_or_404(course_id)
    solo = request.form.get("solo") == "1"
    name = request.form.get("name", "") or (f"{current_user.display_name} (solo)" if solo else "")
    applied_or_flashed(lambda: groups.create_group(course, current_user, name, solo, now_utc()),
                    "You work alone on the project." if solo else "Group created. Invite a classmate.", groups.SEAT_TAKEN)
    return _home(course.id)


@bp.route("/courses/<int:course_id>/project/invite", methods=["POST"])
@login_required
def invite(course_id):
    """A group member invites a classmate in no group."""
    course = course_or_404(course_id)
    group = policy.group_of(current_user, course.id)
    if group is None:
        abort(404)
    try:
        invitee_id = int(request.form.get("invitee_id", ""))
    except ValueError:
        invitee_id = 0
    applied_or_flashed(lambda: groups.invite(group, current_user, invitee_id, now_utc()), "Invitation sent.", groups.SEAT_TAKEN)
    return _home(course.id)


def _invitation_or_404(course, invitation_id) -> ProjectInvitation:
    invitation = of_course_or_404(ProjectInvitation, course, invitation_id)
    if invitation.invitee_id != current_user.id:
        abort(404)
    return invitation


@bp.route("/courses/<int:course_id>/project/invitations/<int:invitation_id>/accept", methods=["POST"])
@login_required
def accept(course_id, invitation_id):
    """The invitee accepts and takes the group's next seat (one wins a race; the other is told)."""
    course = course_or_404(course_id)
    invitation = _invitation_or_404(course, invitation_id)
    applied_or_flashed(lambda: groups.accept(invitation, current_user, now_utc()), "You joined the group.", groups.SEAT_TAKEN)
    return _home(course.id)


@bp.route("/courses/<int:course_id>/project/invitations/<int:invitation_id>/decline", methods=["POST"])
@login_required
def decline(course_id, invitation_id):
    """The invitee declines."""
    course = course_or_404(course_id)
    invitation = _invitation_or_404(course, invitation_id)
    applied_or_flashed(lambda: groups.decline(invitation, current_user, now_utc()), "Invitation declined.", groups.SEAT_TAKEN)
    return _home(course.id)


@bp.route("/courses/<int:course_id>/project/leave", methods=["POST"])
@login_required
def leave(course_id):
    """A student leaves their group while groups are open."""
    course = course_or_404(course_id)
    applied_or_flashed(lambda: groups.leave(course, current_user, now_utc()), "You left the group.", groups.SEAT_TAKEN)
    return _home(course.id)

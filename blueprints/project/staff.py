"""Staff pages of the term project: the overview of every group × milestone with filters and
its CSV, milestone deadlines, group extensions, forming and changing groups (audited), and the
instructor's proposal review (SPEC §5)."""
from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from blueprints.common import RACE, applied_or_flashed, course_or_404, found_or_404, of_course_or_404, permitted_or_403
from blueprints.project import bp
from core.extensions import db
from core.security import no_store
from core.timeutil import now_utc, parse_local_input, to_local_input
from domain import policy
from domain.grades import grading
from domain.project import documents, groups, milestones, overview as project_overview, proposals
from models import MILESTONE_KINDS, MilestoneSubmission, ProjectGroup



def _staff_course(course_id):
    course = course_or_404(course_id, need="staff")
    permitted_or_403(policy.can_manage_groups(current_user, course.id))
    return course


def _overview(course_id):
    return redirect(url_for("project.overview", course_id=course_id))


def _ids(values) -> list[int]:
    return [int(v) for v in values if str(v).isdigit()]


def _instant(course, value: str):
    try:
        return parse_local_input(value, course.timezone)
    except (TypeError, ValueError):
        return None


@bp.route("/courses/<int:course_id>/project/overview")
@login_required
def overview(course_id):
    """Staff: every group × milestone (on time, late, missing, extension, approval), filtered."""
    course = _staff_course(course_id)
    state, topic = request.args.get("state", ""), request.args.get("topic", "")
    kinds, rows = project_overview.status_grid(course, now_utc(), state=state, topic=topic)
    return no_store(Response(render_template(
        "project/overview.html", course=course, milestones=kinds, rows=rows, state=state, topic=topic,
        states=project_overview.STATES, ungrouped=groups.ungrouped_students(course), kinds=MILESTONE_KINDS,
        is_instructor=policy.can_decide_proposal(current_user, course.id),
    )))


@bp.route("/courses/<int:course_id>/project/overview.csv")
@login_required
def overview_csv(course_id):
    """Staff: groups and milestone status as CSV."""
    course = _staff_course(course_id)
    response = Response(project_overview.status_csv(course, now_utc()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="project-status-{course.id}.csv"'
    return no_store(response)


@bp.route("/courses/<int:course_id>/project/milestones", methods=["GET", "POST"])
@login_required
def milestone_settings(course_id):
    """Staff: each milestone's title, deadline (course time zone) and instructions."""
    course = _staff_course(course_id)
    if request.method == "POST":
        kind = request.form.get("kind", "")
        deadline = _instant(course, request.form.get("deadline", ""))
        if deadline is None:
            flash("Give the deadline as a date and time.", "error")
        else:
            applied_or_flashed(
                lambda: milestones.set_milestone(course, current_user, kind, deadline,
                                                 request.form.get("title", ""), request.form.get("instructions", "")),
                "Milestone saved.", RACE,
            )
        return redirect(url_for("project.milestone_settings", course_id=course.id))
    existing = {m.kind: m for m in milestones.course_milestones(course)}
    forms = [
        {"kind": kind, "milestone": existing.get(kind), "title": existing[kind].title if kind in existing else milestones.DEFAULT_TITLES[kind],
         "deadline": to_local_input(existing[kind].deadline, course.timezone) if kind in existing else ""}
        for kind in MILESTONE_KINDS
    ]
    return render_template("project/milestones.html", course=course, forms=forms)


def _group_or_404(course, group_id) -> ProjectGroup:
    return of_course_or_404(ProjectGroup, course, group_id)


@bp.route("/courses/<int:course_id>/project/groups/form", methods=["POST"])
@login_required
def staff_form(course_id):
    """Staff: form a group of chosen students (audited)."""
    course = _staff_course(course_id)
    ids = _ids(request.form.getlist("user_ids"))
    applied_or_flashed(lambda: groups.staff_form_group(course, current_user, request.form.get("name", ""), ids, now_utc()),
                    "Group formed.", groups.SEAT_TAKEN)
    return _overview(course.id)


@bp.route("/courses/<int:course_id>/project/groups/<int:group_id>/change", methods=["POST"])
@login_required
def staff_change(course_id, group_id):
    """Staff: add a student to, or remove one from, a group (audited)."""
    course = _staff_course(course_id)
    group = _group_or_404(course, group_id)
    add, remove = _ids([request.form.get("add", "")]), _ids([request.form.get("remove", "")])
    if add:
        applied_or_flashed(lambda: groups.staff_add_member(group, current_user, add[0], now_utc()), "Student added.", groups.SEAT_TAKEN)
    elif remove:
        applied_or_flashed(lambda: groups.staff_remove_member(group, current_user, remove[0]), "Student removed.", groups.SEAT_TAKEN)
    return _overview(course.id)


@bp.route("/courses/<int:course_id>/project/groups/<int:group_id>/dissolve", methods=["POST"])
@login_required
def staff_dissolve(course_id, group_id):
    """Staff: dissolve a group that has submitted nothing (audited)."""
    course = _staff_course(course_id)
    group = _group_or_404(course, group_id)
    applied_or_flashed(lambda: groups.dissolve(group, current_user), "Group dissolved.", RACE)
    return _overview(course.id)


@bp.route("/courses/<int:course_id>/project/groups/<int:group_id>/extension", methods=["POST"])
@login_required
def staff_extension(course_id, group_id):
    """Staff: give a group its own deadline for a milestone (audited)."""
    course = _staff_course(course_id)
    group = _group_or_404(course, group_id)
    milestone = found_or_404(policy.milestone_of(course.id, request.form.get("kind", "")))
    deadline = _instant(course, request.form.get("deadline", ""))
    if deadline is None:
        flash("Give the new deadline as a date and time.", "error")
    else:
        def grant():
            milestones.grant_extension(milestone, group, current_user, deadline, request.form.get("reason", ""))
            # The group's stored late adjustments follow the moved deadline.
            grading.reapply_lateness(course, group.member_ids(), current_user.id, now_utc(),
                                     "extension granted: the deadline moved", milestone_kind=milestone.kind)

        applied_or_flashed(grant, "Extension granted.", RACE)
    return _overview(course.id)


@bp.route("/courses/<int:course_id>/project/proposals")
@login_required
def proposal_review(course_id):
    """The instructor's proposal review: each group's latest proposal, awaiting ones first."""
    course = course_or_404(course_id, need="instructor")
    pairs = proposals.proposals_to_review(course)
    return no_store(Response(render_template(
        "project/proposals.html", course=course, pairs=pairs,
        decisions={g.id: proposals.decisions_of(g) for g, _ in pairs},
        megabytes=documents.megabytes,
    )))


@bp.route("/courses/<int:course_id>/project/proposals/<int:submission_id>/decide", methods=["POST"])
@login_required
def decide(course_id, submission_id):
    """The instructor approves, asks for a revision (with a comment) or rejects a proposal."""
    course = course_or_404(course_id, need="instructor")
    submission = found_or_404(db.session.get(MilestoneSubmission, submission_id), lambda s: s.group.course_id == course.id)
    applied_or_flashed(
        lambda: proposals.decide(submission, current_user, request.form.get("decision", ""),
                                 request.form.get("comment", ""), now_utc()),
        "Decision recorded.", RACE,
    )
    return redirect(url_for("project.proposal_review", course_id=course.id))

"""Summary-writing groups: staff see which presentations lack one and assign them all on one
page; students volunteer for a group that still has room."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from blueprints.common import attempted, course_or_404
from blueprints.schedule import bp
from blueprints.schedule.signup import take_seat
from domain import schedule, signup
from models import Course

FIELD = "summary-{}"
SHOWN = "shown"


def _chosen(presentation, student_ids: set[int]) -> list[int]:
    """The students picked for one presentation's summary group (unknown ids are ignored)."""
    picked = []
    for raw in request.form.getlist(FIELD.format(presentation.id)):
        if raw.isdigit() and int(raw) in student_ids:
            picked.append(int(raw))
    return picked


def _render(course: Course, presentations, students, problems=None, status=200):
    """The summary groups page, with the problems of a refused save by presentation id."""
    return (
        render_template(
            "schedule/summary_groups.html",
            course=course,
            presentations=presentations,
            missing=[p for p in presentations if schedule.lacks_summary_group(p)],
            students=students,
            problems=problems or {},
            field_name=FIELD,
            shown_name=SHOWN,
            form=FlaskForm(),
        ),
        status,
    )


@bp.route("/courses/<int:course_id>/summary-groups", methods=["GET", "POST"])
@login_required
def summary_groups(course_id):
    """Staff see which presentations lack a summary group and assign every group in one place."""
    course = course_or_404(course_id, need="staff")
    presentations = schedule.summary_groups(course)
    students = schedule.enrolled_students(course)
    if request.method == "GET":
        return _render(course, presentations, students)
    if not FlaskForm().validate_on_submit():
        abort(400)
    student_ids = {u.id for u in students}
    # Only the presentations the page showed: one scheduled since keeps its group.
    shown = set(request.form.getlist(SHOWN))
    presentations = [p for p in presentations if str(p.id) in shown]
    plans = {p.id: _chosen(p, student_ids) for p in presentations}
    problems = {
        p.id: problem for p in presentations if (problem := schedule.summary_group_problem(p, plans[p.id]))
    }
    if problems:
        return _render(course, schedule.summary_groups(course), students, problems, status=400)
    notes = [note for p in presentations for note in schedule.hidden_review_notes(p, plans[p.id])]

    count, problem = attempted(
        lambda: sum(schedule.set_summary_group(p, plans[p.id], current_user.id) for p in presentations),
        signup.CHANGED_MEANWHILE,
    )
    if problem:
        flash(problem, "error")
        return redirect(url_for("schedule.summary_groups", course_id=course.id))
    flash(f"Summary groups saved ({count} changed); the class sees them now.", "success")
    for note in notes:
        flash(note, "warning")
    return redirect(url_for("schedule.summary_groups", course_id=course.id))


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/summary/volunteer", methods=["POST"])
@login_required
def summary_volunteer(course_id, presentation_id):
    """A student volunteers to write a presentation's summary while its group has room."""
    return take_seat(
        course_id,
        presentation_id,
        schedule.volunteer_for_summary,
        schedule.volunteer_problem,
        "You write the summary of “{title}”.",
    )

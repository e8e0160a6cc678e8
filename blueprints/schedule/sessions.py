"""The schedule page and the class sessions staff add, edit and delete."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from blueprints.common import course_or_404, delete_unless, of_course_or_404
from blueprints.schedule import bp
from blueprints.schedule.forms import SessionForm
from core.extensions import db
from core.timeutil import local, now_utc
from domain import policy, schedule
from models import ClassSession, Course


@bp.route("/courses/<int:course_id>/schedule")
@login_required
def index(course_id):
    """The class sessions in date order with their presentations, times in the course's zone."""
    course = course_or_404(course_id)
    return render_template(
        "schedule/index.html",
        course=course,
        sessions=schedule.course_sessions(course),
        is_staff=policy.can_edit_schedule(current_user, course.id),
        can_sign_up=policy.can_sign_up(current_user, course.id),
        now=now_utc(),
    )


@bp.route("/courses/<int:course_id>/sessions/new", methods=["GET", "POST"])
@login_required
def session_new(course_id):
    """Staff add a class session."""
    course = course_or_404(course_id, need="staff")
    return _save_session_form(course, ClassSession(course_id=course.id), "Add a class session")


@bp.route("/courses/<int:course_id>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@login_required
def session_edit(course_id, session_id):
    """Staff edit a class session's date, time, room, title and slots."""
    course = course_or_404(course_id, need="staff")
    return _save_session_form(course, of_course_or_404(ClassSession, course, session_id), "Edit class session")


def _save_session_form(course: Course, session: ClassSession, heading: str):
    """Show the session form; on valid input save the session and go back to the schedule."""
    start = local(session.starts_at, course.timezone) if session.starts_at else None
    form = SessionForm(obj=session, day=start and start.date(), start=start and start.time())
    if form.validate_on_submit():
        problem = schedule.slots_problem(session, form.slots.data)
        if problem:
            form.slots.errors.append(problem)
        else:
            schedule.save_session(
                course,
                session,
                form.day.data,
                form.start.data,
                duration_minutes=form.duration_minutes.data,
                room=form.room.data,
                title=form.title.data,
                slots=form.slots.data,
                now=now_utc(),
            )
            db.session.commit()
            flash("Class session saved.", "success")
            return redirect(url_for("schedule.index", course_id=course.id))
    return render_template("schedule/session_form.html", course=course, form=form, heading=heading)


@bp.route("/courses/<int:course_id>/sessions/<int:session_id>/delete", methods=["POST"])
@login_required
def session_delete(course_id, session_id):
    """Staff delete a class session that holds no presentation."""
    course = course_or_404(course_id, need="staff")
    session = of_course_or_404(ClassSession, course, session_id)
    if delete_unless(session, schedule.session_delete_blocker(session), "Class session deleted."):
        db.session.commit()
    return redirect(url_for("schedule.index", course_id=course.id))

"""A course's home page, and joining with the code."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from blueprints.common import committed, course_or_404
from blueprints.courses import bp
from blueprints.courses.forms import JoinForm
from core.timeutil import now_utc
from domain import accounts, course_home, courses, policy, roster


@bp.route("/courses/<int:course_id>")
@login_required
def home(course_id):
    """Course home: what needs staff now, or the student's next deadlines, presentation and live room."""
    course = course_or_404(course_id)
    now = now_utc()
    return render_template(
        "courses/home.html",
        course=course,
        staff=course_home.staff_home(current_user, course, now),
        student=course_home.student_home(current_user, course, now),
        sessions=courses.upcoming_sessions(course, now),
        is_staff=policy.is_staff(current_user, course.id),
        can_manage=policy.can_manage_course(current_user, course.id),
    )


@bp.route("/join", methods=["GET", "POST"])
@login_required
def join():
    """Join a course as a student with its join code."""
    form = JoinForm()
    if form.validate_on_submit():
        course = accounts.course_by_join_code(form.join_code.data)
        problem = roster.join_problem(course, current_user)
        if problem is None:
            roster.join_as_student(course, current_user)
            if committed():
                flash(f"Welcome to {course.title}.", "success")
                return redirect(url_for("courses.home", course_id=course.id))
            problem = roster.join_problem(course, current_user) or "Something changed meanwhile; please try again."
        form.join_code.errors.append(problem)
    return render_template("courses/join.html", form=form)

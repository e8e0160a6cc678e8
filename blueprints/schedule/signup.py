"""Students sign up to present: claim a paper and a free slot, or join a presenting group."""
from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from blueprints.common import committed, course_or_404, presentation_or_404
from blueprints.schedule import bp
from blueprints.schedule.forms import SignupForm, parse_placement, placement_value
from core.timeutil import now_utc
from domain import policy, signup
from domain.schedule import session_label
from models import Course


@bp.route("/courses/<int:course_id>/signup", methods=["GET", "POST"], endpoint="signup")
@login_required
def signup_page(course_id):
    """A student claims an approved, unclaimed paper and a free slot, or joins a group."""
    course = course_or_404(course_id)
    now = now_utc()
    may_sign_up = policy.can_sign_up(current_user, course.id)
    mine = signup.presenting_in(course.id, current_user.id)
    form = SignupForm()
    status = 200
    if may_sign_up and mine is None and form.validate_on_submit():
        session_id, slot = parse_placement(form.placement.data)
        try:
            presentation = signup.claim(course, current_user, form.paper_id.data, session_id, slot, now)
            if not committed():
                problem = signup.claim_problem(course, current_user, form.paper_id.data, session_id, slot, now)
                raise signup.SignupError(problem or signup.CHANGED_MEANWHILE)
        except signup.SignupError as exc:
            form.form_errors.append(exc.message)
            status = 409
        else:
            flash(f"You present “{presentation.paper.title}”. See you there!", "success")
            return redirect(url_for("schedule.presentation", course_id=course.id, presentation_id=presentation.id))
    _fill_signup_choices(form, course, now)
    return (
        render_template(
            "schedule/signup.html",
            course=course,
            form=form,
            mine=mine,
            groups=signup.open_groups(course, now) if mine is None else [],
            can_sign_up=may_sign_up,
        ),
        status,
    )


def _fill_signup_choices(form: SignupForm, course: Course, now: datetime) -> None:
    """What is still free: unclaimed approved papers and free slots of upcoming sessions."""
    form.paper_id.choices = [(0, "Choose a paper…")] + [
        (p.id, f"{p.title} ({p.topic})" if p.topic else p.title) for p in signup.unclaimed_papers(course)
    ]
    form.placement.choices = [("", "Choose a slot…")] + [
        (placement_value(s, n), f"{session_label(s, course)} — slot {n}")
        for s, free in signup.free_slots(course, now)
        for n in free
    ]


@bp.route("/courses/<int:course_id>/signup/join/<int:presentation_id>", methods=["POST"])
@login_required
def join(course_id, presentation_id):
    """A student joins a presenting group that still has a free seat."""
    course = course_or_404(course_id)
    presentation = presentation_or_404(course, presentation_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    now = now_utc()
    try:
        signup.join(course, current_user, presentation, now)
        if not committed():
            raise signup.SignupError(signup.join_problem(course, current_user, presentation, now) or signup.CHANGED_MEANWHILE)
    except signup.SignupError as exc:
        flash(exc.message, "error")
        return redirect(url_for("schedule.signup", course_id=course.id))
    flash(f"You joined the group presenting “{presentation.paper.title}”.", "success")
    return redirect(url_for("schedule.presentation", course_id=course.id, presentation_id=presentation.id))

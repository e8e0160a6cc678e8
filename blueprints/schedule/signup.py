"""Students sign up to present: claim a paper and a free slot, or join a presenting group (the
way a student takes a seat in a group, which volunteering for a summary shares)."""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Optional

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from blueprints.common import applied_or_flashed, attempted, course_or_404, of_course_or_404, presentation_or_404
from blueprints.schedule import bp
from blueprints.schedule.forms import SignupForm, parse_placement, placement_value
from core.timeutil import now_utc
from domain import policy, schedule, signup
from domain.schedule import session_label
from models import Course, Paper


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
        presentation, problem = attempted(
            lambda: signup.claim(course, current_user, form.paper_id.data, session_id, slot, now),
            asked_again(lambda: signup.claim_problem(course, current_user, form.paper_id.data, session_id, slot, now)),
        )
        if problem:
            form.form_errors.append(problem)
            status = 409
        else:
            flash(f"You present “{presentation.paper.title}”. See you there!", "success")
            return redirect(url_for("schedule.presentation", course_id=course.id, presentation_id=presentation.id))
    reserved = signup.reservation_of(course, current_user.id) if may_sign_up and mine is None else None
    _fill_signup_choices(form, course, now, reserved)
    return (
        render_template(
            "schedule/signup.html",
            course=course,
            form=form,
            mine=mine,
            reserved=reserved,
            summary_openings=schedule.open_summary_groups(course, current_user, now) if may_sign_up else [],
            groups=signup.open_groups(course, now) if mine is None else [],
            can_sign_up=may_sign_up,
        ),
        status,
    )


def _paper_choice(paper: Paper, reserved) -> tuple[int, str]:
    label = f"{paper.title} ({paper.topic})" if paper.topic else paper.title
    return paper.id, f"{label} — reserved for you" if reserved is not None and paper.id == reserved.id else label


def _fill_signup_choices(form: SignupForm, course: Course, now: datetime, reserved=None) -> None:
    """What is still free: unclaimed approved papers (without others' reservations, with the
    student's own first) and free slots of upcoming sessions."""
    papers = signup.unclaimed_papers(course, current_user.id)
    papers.sort(key=lambda p: reserved is None or p.id != reserved.id)
    form.paper_id.choices = [(0, "Choose a paper…")] + [_paper_choice(p, reserved) for p in papers]
    if reserved is not None and not form.paper_id.raw_data:
        form.paper_id.data = reserved.id
    form.placement.choices = [("", "Choose a slot…")] + [
        (placement_value(s, n), f"{session_label(s, course)} — slot {n}")
        for s, free in signup.free_slots(course, now)
        for n in free
    ]


def asked_again(problem: Callable[[], Optional[str]]) -> Callable[[], str]:
    """What a student who lost a sign-up race is told: what the winner took (the check asked
    again once rolled back), or that the schedule changed meanwhile."""
    return lambda: problem() or signup.CHANGED_MEANWHILE


def take_seat(course_id: int, presentation_id: int, take: Callable[..., object],
              problem: Callable[..., Optional[str]], done: str):
    """A student takes a seat in one of a presentation's groups on a valid POST:
    ``take(course, student, presentation, now)`` committed (then to the presentation, ``done``
    flashed with its paper's ``title``), or refused with what ``problem`` (same arguments) says
    (then back to sign-up)."""
    course = course_or_404(course_id)
    presentation = presentation_or_404(course, presentation_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    now = now_utc()
    if applied_or_flashed(
        lambda: take(course, current_user, presentation, now),
        done.format(title=presentation.paper.title),
        asked_again(lambda: problem(course, current_user, presentation, now)),
    ):
        return redirect(url_for("schedule.presentation", course_id=course.id, presentation_id=presentation.id))
    return redirect(url_for("schedule.signup", course_id=course.id))


@bp.route("/courses/<int:course_id>/signup/join/<int:presentation_id>", methods=["POST"])
@login_required
def join(course_id, presentation_id):
    """A student joins a presenting group that still has a free seat."""
    return take_seat(
        course_id, presentation_id, signup.join, signup.join_problem, "You joined the group presenting “{title}”."
    )


@bp.route("/courses/<int:course_id>/signup/release/<int:paper_id>", methods=["POST"])
@login_required
def release(course_id, paper_id):
    """The student who proposed an approved paper releases its reservation to the class."""
    course = course_or_404(course_id)
    paper = of_course_or_404(Paper, course, paper_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    applied_or_flashed(
        lambda: signup.release_reservation(paper, current_user),
        f"“{paper.title}” is no longer reserved for you: anyone may sign up for it now.",
    )
    return redirect(url_for("schedule.signup", course_id=course.id))

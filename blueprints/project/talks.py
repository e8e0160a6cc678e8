"""Project talks in the schedule: the course's talks by session, a session's talks, and staff
adding, changing and opening a talk's feedback window (SPEC §5.3)."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateTimeLocalField, IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, Optional as Opt

from blueprints.common import applied_or_flashed, course_or_404, of_course_or_404
from blueprints.project import bp
from core.extensions import db
from core.timeutil import format_local, now_utc, parse_local_input, to_local_input
from domain import policy
from domain.project import talks
from models import TALK_KINDS, ClassSession, ProjectGroup, ProjectTalk

LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class TalkForm(FlaskForm):
    group_id = SelectField("Group", coerce=int, validators=[InputRequired("Choose a group.")])
    kind = SelectField("Kind", choices=[SelectChoice(k, talks.TALK_LABELS[k]) for k in TALK_KINDS])
    session_id = SelectField("Class session", coerce=int, validators=[InputRequired("Choose a session.")])
    order = IntegerField("Order in the session", default=1, validators=[InputRequired(), NumberRange(1, 50)])
    minutes = IntegerField("Length (minutes)", default=10, validators=[InputRequired(), NumberRange(1, talks.MAX_MINUTES)])
    closes_at = DateTimeLocalField(
        "Feedback closes",
        format=LOCAL_FORMATS,
        validators=[Opt()],
        description="Course time. Leave empty for the session's end plus the course's feedback window.",
    )


def _sessions(course) -> list[ClassSession]:
    return list(
        db.session.scalars(
            select(ClassSession).where(ClassSession.course_id == course.id).order_by(ClassSession.starts_at, ClassSession.id)
        )
    )


def _fill_choices(form: TalkForm, course) -> None:
    form.group_id.choices = [SelectChoice(g.id, f"{g.name} ({talks.group_names(g)})") for g in talks.course_groups(course)]
    form.session_id.choices = [
        SelectChoice(s.id, format_local(s.starts_at, course.timezone) + (f" — {s.title}" if s.title else ""))
        for s in _sessions(course)
    ]


def _closes_at(form: TalkForm, course):
    raw = request.form.get(form.closes_at.name, "").strip()
    return parse_local_input(raw, course.timezone) if raw else None


def talk_or_404(course, talk_id: int) -> ProjectTalk:
    """A project talk of this course, or 404 (talks are part of the course's public schedule)."""
    return of_course_or_404(ProjectTalk, course, talk_id)


@bp.route("/courses/<int:course_id>/project/talks")
@login_required
def talks_index(course_id):
    """The course's project talks by session, each with its feedback window."""
    course = course_or_404(course_id)
    now = now_utc()
    rows = [(t, policy.feedback_phase(t, now), policy.must_give_feedback(current_user, t)) for t in talks.course_talks(course)]
    return render_template(
        "project/talk_index.html",
        course=course,
        rows=rows,
        can_manage=policy.can_manage_talks(current_user, course.id),
        label=talks.talk_label,
        names=talks.group_names,
    )


@bp.route("/courses/<int:course_id>/project/sessions/<int:session_id>/talks")
@login_required
def session_talks(course_id, session_id):
    """One class session's project talks in their order."""
    course = course_or_404(course_id)
    session = of_course_or_404(ClassSession, course, session_id)
    now = now_utc()
    rows = [(t, policy.feedback_phase(t, now), policy.must_give_feedback(current_user, t)) for t in talks.session_talks(session)]
    return render_template(
        "project/talk_session.html",
        course=course,
        session=session,
        rows=rows,
        can_manage=policy.can_manage_talks(current_user, course.id),
        label=talks.talk_label,
        names=talks.group_names,
    )


@bp.route("/courses/<int:course_id>/project/talks/new", methods=["GET", "POST"])
@login_required
def talk_new(course_id):
    """Staff put a group's pitch, checkpoint or final talk in a class session."""
    course = course_or_404(course_id, need="staff")
    form = TalkForm()
    _fill_choices(form, course)
    if form.validate_on_submit():
        group = of_course_or_404(ProjectGroup, course, form.group_id.data)
        session = of_course_or_404(ClassSession, course, form.session_id.data)
        added = applied_or_flashed(lambda: talks.add_talk(
            course, group, session, form.kind.data, current_user.id,
            order=form.order.data, minutes=form.minutes.data, closes_at=_closes_at(form, course),
        ), "The talk is in the schedule.")
        if added:
            return redirect(url_for(".session_talks", course_id=course_id, session_id=form.session_id.data))
    return render_template("project/talk_form.html", course=course, form=form, heading="Add a project talk", talk=None)


@bp.route("/courses/<int:course_id>/project/talks/<int:talk_id>/edit", methods=["GET", "POST"])
@login_required
def talk_edit(course_id, talk_id):
    """Staff move a talk, change its length, or set another close for its feedback window."""
    course = course_or_404(course_id, need="staff")
    talk = talk_or_404(course, talk_id)
    form = TalkForm(obj=talk) if request.method == "GET" else TalkForm()
    _fill_choices(form, course)
    form.group_id.data, form.kind.data = talk.group_id, talk.kind
    if request.method == "GET":
        form.closes_at.data = None
    if form.validate_on_submit():
        session = of_course_or_404(ClassSession, course, form.session_id.data)
        closes_at = _closes_at(form, course) or policy.default_feedback_close(session, course)
        if applied_or_flashed(lambda: talks.update_talk(talk, session, form.order.data, form.minutes.data, closes_at,
                                               current_user.id), "The talk was saved."):
            return redirect(url_for(".talks_index", course_id=course_id))
    return render_template(
        "project/talk_form.html",
        course=course,
        form=form,
        heading=f"Edit {talks.talk_label(talk).lower()} of {talk.group.name}",
        talk=talk,
        closes_local=to_local_input(talk.feedback_closes_at, course.timezone),
    )


@bp.route("/courses/<int:course_id>/project/talks/<int:talk_id>/open", methods=["POST"])
@login_required
def talk_open(course_id, talk_id):
    """Staff open a talk's feedback window before its session starts."""
    course = course_or_404(course_id, need="staff")
    talk = talk_or_404(course, talk_id)
    if FlaskForm().validate_on_submit():
        applied_or_flashed(lambda: talks.open_feedback_now(talk, now_utc(), current_user.id), "The feedback window is open.")
    return redirect(url_for(".talks_index", course_id=course_id))

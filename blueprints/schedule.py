"""Schedule: class sessions, presentation sign-up, presentations with slides and summary,
and each user's calendar feed (SPEC §2.2–2.5)."""
from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta
from typing import Optional

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from icalendar import Calendar, Event
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional as Opt, ValidationError

from domain import audit
from domain import policy
from domain import signup
from blueprints.common import course_or_404, delete_unless, http_url, of_course_or_404, presentation_or_404
from core.extensions import db
from models import (
    MEMBER_PRESENTING,
    MEMBER_SUMMARY,
    PAPER_APPROVED,
    ROLE_STUDENT,
    ClassSession,
    Course,
    Enrollment,
    Paper,
    Presentation,
    PresentationMember,
    Review,
    User,
    new_token,
)
from core.timeutil import default_review_deadline, format_local, local, local_to_utc, now_utc, parse_local_input

bp = Blueprint("schedule", __name__)

# Extension → how the file must begin (PPTX and Keynote files are ZIP archives).
SLIDE_TYPES = {"pdf": b"%PDF-", "pptx": b"PK\x03\x04", "key": b"PK\x03\x04"}
MAX_SLIDES_BYTES = 8 * 1024 * 1024
# Room for the other form fields, so a file just over the limit gets a clear message, not a 413.
SLIDES_REQUEST_LIMIT = MAX_SLIDES_BYTES + 256 * 1024


@bp.app_template_global("group_members")
def group_members(presentation: Presentation, kind: str) -> list[User]:
    """The users of a presentation's presenting or summary group, in seat order."""
    return [m.user for m in sorted(presentation.members, key=lambda m: m.seat) if m.kind == kind]


def _names(presentation: Presentation, kind: str) -> str:
    return ", ".join(u.display_name for u in group_members(presentation, kind)) or "—"


# --------------------------------------------------------------------------- forms


class SessionForm(FlaskForm):
    day = DateField("Date", validators=[InputRequired("Give the date.")])
    start = TimeField("Start time", validators=[InputRequired("Give the start time.")])
    duration_minutes = IntegerField(
        "Duration (minutes)", default=90, validators=[InputRequired("Give the duration."), NumberRange(15, 480)]
    )
    room = StringField("Room", validators=[Length(max=120)])
    title = StringField("Title", validators=[Length(max=200)], description="Optional, for example the topic.")
    slots = IntegerField(
        "Presentation slots", default=2, validators=[InputRequired("Give the number of slots."), NumberRange(1, 12)]
    )


class SignupForm(FlaskForm):
    # Choices are what was free when the page was drawn; a claim of something taken since then
    # must reach signup.claim and get its clear message, not "Not a valid choice".
    paper_id = SelectField(
        "Paper",
        coerce=int,
        validate_choice=False,
        validators=[InputRequired("Pick a paper."), NumberRange(min=1, message="Pick a paper.")],
    )
    placement = SelectField(
        "Session and slot", validate_choice=False, validators=[InputRequired("Pick a session slot.")]
    )


class PresentationForm(FlaskForm):
    paper_id = SelectField("Paper", coerce=int, validators=[InputRequired("Pick a paper.")])
    placement = SelectField("Session and slot", validators=[InputRequired("Pick a session slot.")])
    presenters = SelectMultipleField("Presenting group", coerce=int)
    summarizers = SelectMultipleField("Summary-writing group", coerce=int)
    review_deadline = DateTimeLocalField("Review deadline", format="%Y-%m-%dT%H:%M", validators=[Opt()])
    summary_deadline = DateTimeLocalField("Summary deadline", format="%Y-%m-%dT%H:%M", validators=[Opt()])
    talk_minutes = IntegerField("Talk (minutes)", validators=[InputRequired("Give the talk length."), NumberRange(5, 180)])
    qa_minutes = IntegerField("Q&A (minutes)", validators=[InputRequired("Give the Q&A length."), NumberRange(0, 120)])

    def validate_summarizers(self, field):
        both = set(field.data or ()) & set(self.presenters.data or ())
        if both:
            raise ValidationError("A student cannot be in both groups of the same presentation.")


class SlidesForm(FlaskForm):
    slides_url = URLField("Link to the slides", validators=[Length(max=500), http_url])
    upload = FileField("Or upload a file", description="PDF, PowerPoint (.pptx) or Keynote (.key), up to 8 MB.")
    slides_reused = BooleanField("These slides reuse the paper authors' own slides")
    slides_attribution = StringField(
        "Origin of the slides",
        validators=[Length(max=500)],
        description="Required when reusing slides: who made them and where they come from.",
    )

    upload_bytes: Optional[bytes] = None
    upload_ext: str = ""

    def validate_slides_attribution(self, field):
        field.data = (field.data or "").strip()
        if self.slides_reused.data and not field.data:
            raise ValidationError("You ticked “reused slides”: say where they come from (authors, link).")

    def validate_upload(self, field):
        storage = field.data
        if not storage or not getattr(storage, "filename", ""):
            return
        ext = storage.filename.rsplit(".", 1)[-1].lower() if "." in storage.filename else ""
        if ext not in SLIDE_TYPES:
            raise ValidationError("Upload a PDF, .pptx or .key file.")
        data = storage.stream.read(MAX_SLIDES_BYTES + 1)
        if len(data) > MAX_SLIDES_BYTES:
            raise ValidationError("The file is larger than 8 MB.")
        if not data.startswith(SLIDE_TYPES[ext]):
            raise ValidationError(f"The file is not a valid .{ext} file.")
        self.upload_bytes, self.upload_ext = data, ext


class SummaryForm(FlaskForm):
    text = TextAreaField(
        "Summary", validators=[DataRequired("Write the summary before submitting it."), Length(max=20000)]
    )


# --------------------------------------------------------------------------- helpers


def placement_value(session: ClassSession, slot: int) -> str:
    """The form value naming one slot of one session."""
    return f"{session.id}:{slot}"


def parse_placement(value: str) -> tuple[int, int]:
    """(session id, slot) from a form value; (0, 0) when malformed."""
    try:
        session_id, slot = (int(x) for x in (value or "").split(":"))
    except ValueError:
        return 0, 0
    return session_id, slot


def session_label(session: ClassSession, course: Course) -> str:
    """A session as people read it in a list."""
    title = f" — {session.title}" if session.title else ""
    return f"{format_local(session.starts_at, course.timezone)}{title}"


def course_sessions(course: Course) -> list[ClassSession]:
    """The course's sessions in date order, with their presentations, papers and groups loaded."""
    return list(
        db.session.scalars(
            select(ClassSession)
            .where(ClassSession.course_id == course.id)
            .order_by(ClassSession.starts_at, ClassSession.id)
            .options(
                selectinload(ClassSession.presentations).joinedload(Presentation.paper),
                selectinload(ClassSession.presentations)
                .selectinload(Presentation.members)
                .joinedload(PresentationMember.user),
            )
        )
    )


def enrolled_students(course: Course) -> list[User]:
    """The course's students by name."""
    return list(
        db.session.scalars(
            select(User)
            .join(Enrollment, Enrollment.user_id == User.id)
            .where(Enrollment.course_id == course.id, Enrollment.role == ROLE_STUDENT)
            .order_by(User.display_name, User.id)
        )
    )


def to_utc(naive: Optional[datetime], course: Course) -> Optional[datetime]:
    """A course-local wall-clock time from a form as a UTC instant."""
    return parse_local_input(naive.isoformat(), course.timezone) if naive else None


def to_form_local(dt: Optional[datetime], course: Course) -> Optional[datetime]:
    """A UTC instant as the naive course-local value a datetime-local field shows."""
    return local(dt, course.timezone).replace(tzinfo=None) if dt else None


def upload_dir(presentation: Presentation) -> str:
    """Where a presentation's uploaded slides live."""
    root = current_app.config.get("UPLOAD_FOLDER") or os.path.join(current_app.instance_path, "uploads")
    return os.path.join(root, str(presentation.course_id), str(presentation.id))


def _remove_upload(presentation: Presentation, name: str) -> None:
    if name:
        try:
            os.remove(os.path.join(upload_dir(presentation), name))
        except FileNotFoundError:
            pass


# --------------------------------------------------------------------------- schedule and sessions


@bp.route("/courses/<int:course_id>/schedule")
@login_required
def index(course_id):
    """The class sessions in date order with their presentations, times in the course's zone."""
    course = course_or_404(course_id)
    return render_template(
        "schedule/index.html",
        course=course,
        sessions=course_sessions(course),
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
        highest = max((p.slot for p in session.presentations), default=0)
        if form.slots.data < highest:
            form.slots.errors.append(f"Slot {highest} holds a presentation; move it before removing the slot.")
        else:
            session.starts_at = local_to_utc(form.day.data, form.start.data, course.timezone)
            for name in ("duration_minutes", "room", "title", "slots"):
                setattr(session, name, getattr(form, name).data)
            db.session.add(session)
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
    delete_unless(
        session,
        "This session holds presentations; move or delete them first." if session.presentations else None,
        "Class session deleted.",
    )
    return redirect(url_for("schedule.index", course_id=course.id))


# --------------------------------------------------------------------------- sign-up


@bp.route("/courses/<int:course_id>/signup", methods=["GET", "POST"], endpoint="signup")
@login_required
def signup_page(course_id):
    """A student claims an approved, unclaimed paper and a free slot, or joins a group."""
    course = course_or_404(course_id)
    now = now_utc()
    mine = signup.presenting_in(course.id, current_user.id)
    form = SignupForm()
    status = 200
    if policy.can_sign_up(current_user, course.id) and mine is None and form.validate_on_submit():
        session_id, slot = parse_placement(form.placement.data)
        try:
            presentation = signup.claim(course, current_user, form.paper_id.data, session_id, slot)
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
            can_sign_up=policy.can_sign_up(current_user, course.id),
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
    try:
        signup.join(course, current_user, presentation)
    except signup.SignupError as exc:
        flash(exc.message, "error")
        return redirect(url_for("schedule.signup", course_id=course.id))
    flash(f"You joined the group presenting “{presentation.paper.title}”.", "success")
    return redirect(url_for("schedule.presentation", course_id=course.id, presentation_id=presentation.id))


# --------------------------------------------------------------------------- presentations (staff)


@bp.route("/courses/<int:course_id>/presentations/new", methods=["GET", "POST"])
@login_required
def presentation_new(course_id):
    """Staff schedule a presentation: paper, slot, both groups, deadlines and timing."""
    course = course_or_404(course_id, need="staff")
    presentation = Presentation(
        course_id=course.id, talk_minutes=course.talk_minutes, qa_minutes=course.qa_minutes
    )
    return _save_presentation_form(course, presentation, "Schedule a presentation")


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/edit", methods=["GET", "POST"])
@login_required
def presentation_edit(course_id, presentation_id):
    """Staff edit or move a presentation and change its groups and deadlines."""
    course = course_or_404(course_id, need="staff")
    presentation = presentation_or_404(course, presentation_id)
    return _save_presentation_form(course, presentation, "Edit presentation")


def _presentation_form(course: Course, presentation: Presentation) -> PresentationForm:
    """The staff form, prefilled from the presentation, with every paper, slot and student."""
    # Keyword data only: with obj=, WTForms would show the stored UTC deadlines instead.
    form = PresentationForm(
        paper_id=presentation.paper_id,
        talk_minutes=presentation.talk_minutes,
        qa_minutes=presentation.qa_minutes,
        placement=placement_value(presentation.session, presentation.slot) if presentation.session else "",
        presenters=[u.id for u in group_members(presentation, MEMBER_PRESENTING)],
        summarizers=[u.id for u in group_members(presentation, MEMBER_SUMMARY)],
        review_deadline=to_form_local(presentation.review_deadline, course),
        summary_deadline=to_form_local(presentation.summary_deadline, course),
    )
    papers = db.session.scalars(
        select(Paper)
        .where(Paper.course_id == course.id, Paper.status == PAPER_APPROVED)
        .order_by(Paper.title)
    )
    form.paper_id.choices = [(p.id, p.title) for p in papers]
    form.placement.choices = [
        (placement_value(s, n), f"{session_label(s, course)} — slot {n}")
        for s in course_sessions(course)
        for n in range(1, s.slots + 1)
    ]
    students = [(u.id, u.display_name) for u in enrolled_students(course)]
    form.presenters.choices = students
    form.summarizers.choices = students
    return form


def presentation_problems(course: Course, presentation: Presentation, form: PresentationForm) -> dict[str, str]:
    """What in the staff form clashes with the rest of the schedule, by field name."""
    problems = {}
    session_id, slot = parse_placement(form.placement.data)
    if signup.paper_taken(course.id, form.paper_id.data, except_id=presentation.id):
        problems["paper_id"] = "That paper already has a presentation."
    if signup.slot_taken(session_id, slot, except_id=presentation.id):
        problems["placement"] = "That slot already holds a presentation."
    for user_id in form.presenters.data:
        other = signup.presenting_in(course.id, user_id)
        if other is not None and other.id != presentation.id:
            name = db.session.get(User, user_id).display_name
            problems["presenters"] = f"{name} already presents “{other.paper.title}”."
    return problems


def _save_presentation_form(course: Course, presentation: Presentation, heading: str):
    """Show the staff form; save a valid presentation, or explain what clashes."""
    form = _presentation_form(course, presentation)
    if form.validate_on_submit():
        problems = presentation_problems(course, presentation, form)
        if not problems:
            try:
                _apply_presentation_form(course, presentation, form)
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                problems = presentation_problems(course, presentation, form) or {
                    "placement": signup.CHANGED_MEANWHILE
                }
            else:
                flash("Presentation saved; the class sees the change now.", "success")
                return redirect(
                    url_for("schedule.presentation", course_id=course.id, presentation_id=presentation.id)
                )
        for name, message in problems.items():
            getattr(form, name).errors.append(message)
    return render_template(
        "schedule/presentation_form.html", course=course, form=form, heading=heading, presentation=presentation
    )


def _apply_presentation_form(course: Course, presentation: Presentation, form: PresentationForm) -> None:
    """Copy the staff form onto the presentation and its groups (the caller commits)."""
    session_id, slot = parse_placement(form.placement.data)
    session = db.session.get(ClassSession, session_id)
    presentation.paper_id = form.paper_id.data
    presentation.session_id = session_id
    presentation.slot = slot
    presentation.talk_minutes = form.talk_minutes.data
    presentation.qa_minutes = form.qa_minutes.data
    presentation.review_deadline = to_utc(form.review_deadline.data, course) or default_review_deadline(
        session.starts_at, course.timezone
    )
    presentation.summary_deadline = to_utc(form.summary_deadline.data, course)
    db.session.add(presentation)
    db.session.flush()
    wanted = [(uid, MEMBER_PRESENTING, seat) for seat, uid in enumerate(form.presenters.data, 1)]
    wanted += [(uid, MEMBER_SUMMARY, seat) for seat, uid in enumerate(form.summarizers.data, 1)]
    if sorted(wanted) != sorted((m.user_id, m.kind, m.seat) for m in presentation.members):
        _replace_members(presentation, wanted)


def _replace_members(presentation: Presentation, wanted: list[tuple[int, str, int]]) -> None:
    """Set both groups; group changes move review visibility, so they go to the audit log."""
    presentation.members.clear()
    db.session.flush()
    for user_id, kind, seat in wanted:
        presentation.members.append(
            PresentationMember(course_id=presentation.course_id, user_id=user_id, kind=kind, seat=seat)
        )
    db.session.flush()
    audit.record(
        "groups_changed",
        presentation.course_id,
        current_user.id,
        presentation_id=presentation.id,
        presenting=[w[0] for w in wanted if w[1] == MEMBER_PRESENTING],
        summary=[w[0] for w in wanted if w[1] == MEMBER_SUMMARY],
    )


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/delete", methods=["POST"])
@login_required
def presentation_delete(course_id, presentation_id):
    """Staff delete a presentation nobody has written a review of yet."""
    course = course_or_404(course_id, need="staff")
    presentation = presentation_or_404(course, presentation_id)
    has_reviews = db.session.scalar(
        select(func.count(Review.id)).where(Review.presentation_id == presentation.id)
    )
    upload = presentation.slides_file
    if delete_unless(
        presentation,
        "Students have written reviews of this presentation; move it instead of deleting it." if has_reviews else None,
        "Presentation deleted; its paper and slot are free again.",
    ):
        _remove_upload(presentation, upload)
        return redirect(url_for("schedule.index", course_id=course.id))
    return redirect(url_for("schedule.presentation", course_id=course.id, presentation_id=presentation.id))


# --------------------------------------------------------------------------- presentation page


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>")
@login_required
def presentation(course_id, presentation_id):
    """A presentation: paper, groups, deadlines, slides, summary, reviews and panel."""
    course = course_or_404(course_id)
    return _render_presentation(course, presentation_or_404(course, presentation_id))


def _render_presentation(course, presentation, slides_form=None, summary_form=None, status=200):
    """The presentation page, with the slides and summary forms its viewer may use."""
    now = now_utc()
    if slides_form is None and policy.can_edit_slides(current_user, presentation):
        slides_form = SlidesForm(obj=presentation, formdata=None)
    in_summary_group = current_user.id in presentation.member_ids(MEMBER_SUMMARY)
    if summary_form is None and policy.can_write_summary(current_user, presentation, now):
        summary_form = SummaryForm(text=presentation.summary_text, formdata=None)
    own_deadline = None
    if policy.must_review(current_user, presentation):
        own_deadline = policy.personal_deadline(current_user.id, presentation)
    return (
        render_template(
            "schedule/presentation.html",
            course=course,
            presentation=presentation,
            slides_form=slides_form,
            summary_form=summary_form,
            in_summary_group=in_summary_group,
            own_deadline=own_deadline,
            show_summary=policy.can_view_summary(current_user, presentation),
            is_staff=policy.can_edit_schedule(current_user, course.id),
        ),
        status,
    )


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/slides", methods=["POST"])
@login_required
def slides(course_id, presentation_id):
    """The presenting group attaches slides by link or upload, stating their origin if reused."""
    request.max_content_length = SLIDES_REQUEST_LIMIT
    course = course_or_404(course_id)
    presentation = presentation_or_404(course, presentation_id)
    if not policy.can_edit_slides(current_user, presentation):
        abort(403)
    form = SlidesForm()
    if form.validate_on_submit():
        url = form.slides_url.data or ""
        if url and form.upload_bytes is not None:
            form.slides_url.errors.append("Give a link or upload a file, not both.")
        elif not (url or form.upload_bytes is not None or presentation.slides_url or presentation.slides_file):
            form.slides_url.errors.append("Give a link to the slides or upload a file.")
        else:
            _save_slides(presentation, form)
            flash("Slides saved.", "success")
            return redirect(url_for("schedule.presentation", course_id=course.id, presentation_id=presentation.id))
    return _render_presentation(course, presentation, slides_form=form, status=400)


def _save_slides(presentation: Presentation, form: SlidesForm) -> None:
    """Store the new link or file (replacing the other), the reuse flag and its attribution."""
    old_file = presentation.slides_file
    if form.upload_bytes is not None:
        folder = upload_dir(presentation)
        os.makedirs(folder, exist_ok=True)
        name = f"slides-{secrets.token_hex(8)}.{form.upload_ext}"
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(form.upload_bytes)
        presentation.slides_file, presentation.slides_url = name, ""
    elif form.slides_url.data:
        presentation.slides_url, presentation.slides_file = form.slides_url.data, ""
    presentation.slides_reused = form.slides_reused.data
    presentation.slides_attribution = form.slides_attribution.data if form.slides_reused.data else ""
    db.session.commit()
    if old_file != presentation.slides_file:
        _remove_upload(presentation, old_file)


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/slides/file")
@login_required
def slides_file(course_id, presentation_id):
    """Uploaded slides, to members of the course only, always as a download."""
    course = course_or_404(course_id)
    presentation = presentation_or_404(course, presentation_id)
    if not presentation.slides_file:
        abort(404)
    ext = presentation.slides_file.rsplit(".", 1)[-1]
    return send_from_directory(
        upload_dir(presentation),
        presentation.slides_file,
        as_attachment=True,
        download_name=f"{course.code}-presentation-{presentation.id}-slides.{ext}",
    )


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/summary", methods=["POST"])
@login_required
def summary(course_id, presentation_id):
    """The summary-writing group submits or updates the summary before its deadline."""
    course = course_or_404(course_id)
    presentation = presentation_or_404(course, presentation_id)
    if current_user.id not in presentation.member_ids(MEMBER_SUMMARY):
        abort(403)
    form = SummaryForm()
    if form.validate_on_submit():
        if not policy.can_write_summary(current_user, presentation, now_utc()):
            deadline = format_local(presentation.summary_deadline, course.timezone)
            form.text.errors.append(f"The summary deadline ({deadline}) has passed; it can no longer be changed.")
        else:
            presentation.summary_text = form.text.data.strip()
            presentation.summary_submitted_at = now_utc()
            db.session.commit()
            flash("Summary submitted; the class can read it now.", "success")
            return redirect(url_for("schedule.presentation", course_id=course.id, presentation_id=presentation.id))
    return _render_presentation(course, presentation, summary_form=form, status=400)


# --------------------------------------------------------------------------- calendar feed


@bp.route("/calendar")
@login_required
def calendar():
    """The user's personal calendar feed address, and a way to replace it."""
    feed_url = url_for("schedule.calendar_feed", token=current_user.calendar_token, _external=True)
    return render_template("schedule/calendar.html", feed_url=feed_url)


@bp.route("/calendar/regenerate", methods=["POST"])
@login_required
def calendar_regenerate():
    """Replace the feed address; calendars subscribed to the old one stop receiving updates."""
    if FlaskForm().validate_on_submit():
        current_user.calendar_token = new_token()
        db.session.commit()
        flash("Your calendar address was replaced. Subscribe again with the new one.", "success")
    return redirect(url_for("schedule.calendar"))


@bp.route("/calendar/<token>.ics")
def calendar_feed(token):
    """The personal iCalendar feed: class sessions and the user's own deadlines, no review data."""
    user = db.session.scalar(select(User).where(User.calendar_token == token))
    if user is None:
        abort(404)
    response = Response(build_calendar(user), mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="colloquy.ics"'
    return response


def build_calendar(user: User) -> bytes:
    """Every session of the user's courses, and their review and summary deadlines."""
    cal = Calendar()
    cal.add("prodid", "-//Colloquy//Seminar calendar//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Colloquy")
    stamp = now_utc()
    for enrollment in user.enrollments:
        course = enrollment.course
        for session in course_sessions(course):
            cal.add_component(_session_event(course, session, stamp))
            for presentation in session.presentations:
                for event in _deadline_events(user, course, presentation, stamp):
                    cal.add_component(event)
    return cal.to_ical()


def _uid(key: str) -> str:
    """A globally unique event id: the object's key at this server's host name."""
    return f"{key}@{request.host.split(':')[0]}"


def _session_event(course: Course, session: ClassSession, stamp: datetime) -> Event:
    lines = [
        f"Slot {p.slot}: {p.paper.title} — presenting: {_names(p, MEMBER_PRESENTING)}"
        for p in session.presentations
    ]
    event = Event()
    event.add("uid", _uid(f"session-{session.id}"))
    event.add("dtstamp", stamp)
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.starts_at + timedelta(minutes=session.duration_minutes))
    event.add("summary", f"{course.code}: {session.title or 'Class session'}")
    event.add("location", session.room)
    event.add("description", "\n".join(lines) or "No presentations scheduled yet.")
    event.add("url", url_for("schedule.index", course_id=course.id, _external=True))
    return event


def _deadline_events(user: User, course: Course, presentation: Presentation, stamp: datetime) -> list[Event]:
    """The user's own deadlines on this presentation: their review, their group's summary."""
    events = []
    title = presentation.paper.title
    if policy.must_review(user, presentation):
        due = policy.personal_deadline(user.id, presentation)
        events.append(
            _deadline_event(f"review-{presentation.id}", f"{course.code}: review due — {title}", due, presentation, stamp)
        )
    if presentation.summary_deadline and user.id in presentation.member_ids(MEMBER_SUMMARY):
        events.append(
            _deadline_event(
                f"summary-{presentation.id}",
                f"{course.code}: summary due — {title}",
                presentation.summary_deadline,
                presentation,
                stamp,
            )
        )
    return events


def _deadline_event(key: str, summary_text: str, due: datetime, presentation: Presentation, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", _uid(key))
    event.add("dtstamp", stamp)
    event.add("dtstart", due)
    event.add("summary", summary_text)
    event.add(
        "url",
        url_for(
            "schedule.presentation",
            course_id=presentation.course_id,
            presentation_id=presentation.id,
            _external=True,
        ),
    )
    return event


"""Courses: dashboard, course home, settings, roster (with CSV upload), join code."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from wtforms import (
    BooleanField,
    EmailField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, ValidationError

from domain import audit
from domain import policy
from domain import roster
from domain import accounts
from domain.accounts import find_user_by_email
from blueprints.common import course_or_404
from blueprints.panel.fanout import membership_changed
from core.extensions import db
from models import (
    ROLE_INSTRUCTOR,
    ROLE_STUDENT,
    ROLES,
    ClassSession,
    Course,
    Enrollment,
    Presentation,
    User,
    new_join_code,
)
from domain.review_form import format_review_form, parse_review_form, review_form_fields
from core.security import no_store
from core.timeutil import is_valid_zone, now_utc

bp = Blueprint("courses", __name__)

ROSTER_PAGE_SIZE = 50
UPCOMING_SESSIONS = 5
ROLE_CHOICES = [SelectChoice(r, roster.role_label(r)) for r in ROLES]


bp.add_app_template_filter(roster.role_label, "role_label")


def _committed() -> bool:
    """Commit; False (rolled back) when a concurrent request made a row this one would duplicate."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


# --------------------------------------------------------------------------- forms


def _valid_zone(form, field):
    """An IANA time zone name this server knows."""
    if not is_valid_zone((field.data or "").strip()):
        raise ValidationError("Use an IANA time zone name such as America/New_York or Europe/Berlin.")


class CourseBasicsForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    term = StringField("Term", validators=[Length(max=60)], description="For example: Spring 2026.")
    timezone = StringField(
        "Time zone",
        default="UTC",
        validators=[DataRequired(), Length(max=64), _valid_zone],
        description="Deadlines and sessions are shown in this zone (IANA name, e.g. America/New_York).",
    )


class CourseForm(CourseBasicsForm):
    code = StringField(
        "Course code", validators=[DataRequired(), Length(max=40)], description="For example: CS 598."
    )


def _bounded(field_class, label, low, high, unit="", **kw):
    """A required number field limited to ``low``–``high``, whose error names the range."""
    message = f"Choose {low} to {high}{' ' + unit if unit else ''}."
    return field_class(label, validators=[InputRequired("Give a number."), NumberRange(low, high, message)], **kw)


class SettingsForm(CourseBasicsForm):
    join_enabled = BooleanField("Students may join with the join code")
    presentation_group_size = _bounded(IntegerField, "Presentation group size", 1, 4, "people")
    project_group_max = _bounded(IntegerField, "Largest project group", 1, 4, "people")
    talk_minutes = _bounded(IntegerField, "Talk (minutes)", 5, 240, "minutes")
    qa_minutes = _bounded(IntegerField, "Panel Q&A (minutes)", 0, 240, "minutes")
    late_policy = SelectField(
        "After a student's deadline",
        choices=[SelectChoice("refuse", "Refuse submissions"), SelectChoice("accept", "Accept them, marked late")],
    )
    late_penalty_per_day = _bounded(
        FloatField, "Late penalty (percent per day)", 0, 100, "percent",
        render_kw={"step": "any"}, description="Applied in the gradebook to late work; 0 for none.",
    )
    grace_minutes = _bounded(
        IntegerField, "Grace period (minutes)", 0, 120, "minutes",
        description="Submissions this long after a deadline still count as on time. Students see it.",
    )
    name_reviewers = BooleanField("Show reviewers' names to students after release (instead of pseudonyms)")
    similarity_threshold = _bounded(
        FloatField, "Similarity threshold", 0.05, 0.95,
        render_kw={"step": "0.01"}, description="Pairs of reviews more similar than this are flagged to staff.",
    )
    review_form = TextAreaField(
        "Review form",
        render_kw={"rows": 8},
        description=(
            "One field a line: key | Label | help text | yes/no (required). Keys use lowercase "
            "letters, digits and _. Score and confidence are always asked."
        ),
    )

    def validate_review_form(self, field):
        """The review form must parse and have at least one field."""
        fields, errors = parse_review_form(field.data)
        if errors:
            raise ValidationError(" ".join(errors))
        self.parsed_review_form = fields


class JoinForm(FlaskForm):
    join_code = StringField(
        "Course join code",
        validators=[DataRequired(), Length(max=16)],
        description="Your instructor gives you this code.",
    )


class AddMemberForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=roster.MAX_NAME)])
    email = EmailField(
        "Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=roster.MAX_EMAIL)]
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default=ROLE_STUDENT)


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class ImportForm(FlaskForm):
    roster_file = FileField(
        "Roster file (CSV)",
        validators=[FileRequired("Choose a CSV file.")],
        description="Columns: name, email and optionally role (student, ta or instructor; default student).",
    )


class ConfirmImportForm(FlaskForm):
    csv_text = HiddenField(validators=[DataRequired()])


# --------------------------------------------------------------------------- dashboard and course home


def _my_courses():
    """The current user's courses with their role, by title."""
    return db.session.execute(
        select(Course, Enrollment.role)
        .join(Enrollment, Enrollment.course_id == Course.id)
        .where(Enrollment.user_id == current_user.id)
        .order_by(Course.title)
    ).all()


@bp.route("/")
@login_required
def dashboard():
    """The courses the user is enrolled in, and a form to create one."""
    return render_template("courses/dashboard.html", rows=_my_courses(), form=CourseForm())


@bp.route("/courses/new", methods=["POST"])
@login_required
def create():
    """Create a course; its creator becomes its instructor."""
    form = CourseForm()
    if not form.validate_on_submit():
        return render_template("courses/dashboard.html", rows=_my_courses(), form=form)
    course = Course(
        code=form.code.data.strip(),
        title=form.title.data.strip(),
        term=(form.term.data or "").strip(),
        timezone=form.timezone.data.strip(),
    )
    db.session.add(course)
    db.session.add(Enrollment(user_id=current_user.id, course=course, role=ROLE_INSTRUCTOR))
    db.session.commit()
    flash(f"Course {course.code} created. You are its instructor.", "success")
    return redirect(url_for("courses.home", course_id=course.id))


def _review_todo(course: Course, now) -> list[dict]:
    """The reviews the current student still has to write, with their own deadlines."""
    if not policy.is_student(current_user, course.id):
        return []
    presentations = db.session.scalars(
        select(Presentation)
        .where(Presentation.course_id == course.id)
        .options(selectinload(Presentation.paper))
        .order_by(Presentation.review_deadline)
    )
    todo = []
    for presentation in presentations:
        if not policy.must_review(current_user, presentation):
            continue
        mine = policy.own_review(current_user, presentation)
        if mine is not None and mine.is_submitted:
            continue
        window = policy.submission_window(current_user.id, presentation, now)
        if window == "closed":
            continue
        todo.append(
            {
                "presentation": presentation,
                "deadline": policy.personal_deadline(current_user.id, presentation),
                "late": window == "late",
                "has_draft": mine is not None,
            }
        )
    return todo


def _upcoming_sessions(course: Course, now) -> list[ClassSession]:
    """The next few class sessions (including one under way), with their presentations' papers."""
    sessions = db.session.scalars(
        select(ClassSession)
        .where(ClassSession.course_id == course.id, ClassSession.starts_at >= now - timedelta(days=1))
        .options(selectinload(ClassSession.presentations).selectinload(Presentation.paper))
        .order_by(ClassSession.starts_at)
        .limit(UPCOMING_SESSIONS + 5)
    )
    running = [s for s in sessions if s.starts_at + timedelta(minutes=s.duration_minutes) > now]
    return running[:UPCOMING_SESSIONS]


@bp.route("/courses/<int:course_id>")
@login_required
def home(course_id):
    """Course home: the student's reviews to write, upcoming sessions, staff links."""
    course = course_or_404(course_id)
    now = now_utc()
    return render_template(
        "courses/home.html",
        course=course,
        todo=_review_todo(course, now),
        sessions=_upcoming_sessions(course, now),
        is_staff=policy.is_staff(current_user, course.id),
        can_manage=policy.can_manage_course(current_user, course.id),
    )


# --------------------------------------------------------------------------- settings


SETTINGS_FIELDS = (
    "join_enabled",
    "presentation_group_size",
    "project_group_max",
    "talk_minutes",
    "qa_minutes",
    "late_policy",
    "late_penalty_per_day",
    "grace_minutes",
    "name_reviewers",
    "similarity_threshold",
)


def _apply_settings(course: Course, form: SettingsForm) -> None:
    """Copy the validated settings onto the course (only the fields the form declares)."""
    course.title = form.title.data.strip()
    course.term = (form.term.data or "").strip()
    course.timezone = form.timezone.data.strip()
    for name in SETTINGS_FIELDS:
        setattr(course, name, getattr(form, name).data)
    course.review_form = form.parsed_review_form


@bp.route("/courses/<int:course_id>/settings", methods=["GET", "POST"])
@login_required
def settings(course_id):
    """Course settings and the review form (instructor only)."""
    course = course_or_404(course_id, need="instructor")
    form = SettingsForm(obj=None if request.method == "POST" else course)
    if request.method == "GET":
        form.review_form.data = format_review_form(review_form_fields(course))
    if form.validate_on_submit():
        _apply_settings(course, form)
        db.session.commit()
        flash("Settings saved.", "success")
        return redirect(url_for("courses.settings", course_id=course.id))
    return render_template("courses/settings.html", course=course, form=form)


@bp.route("/courses/<int:course_id>/settings/join-code", methods=["POST"])
@login_required
def regenerate_join_code(course_id):
    """Replace the join code; the old one stops working at once."""
    course = course_or_404(course_id, need="instructor")
    code = accounts.regenerate_join_code(course)
    db.session.commit()
    flash(f"New join code: {code}. The old code no longer works.", "success")
    return redirect(url_for("courses.settings", course_id=course.id))


# --------------------------------------------------------------------------- roster


def _roster_page(course: Course):
    """The filtered, paged list of enrollments the roster page shows."""
    role = request.args.get("role", "")
    q = request.args.get("q", "").strip()
    query = (
        select(Enrollment)
        .join(User, User.id == Enrollment.user_id)
        .where(Enrollment.course_id == course.id)
        .options(selectinload(Enrollment.user))
        .order_by(func.lower(User.display_name), User.id)
    )
    if role in ROLES:
        query = query.where(Enrollment.role == role)
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(or_(func.lower(User.display_name).like(pattern), func.lower(User.email).like(pattern)))
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=ROSTER_PAGE_SIZE, error_out=False)
    return page, {"role": role if role in ROLES else "", "q": q}


def _render_roster(course: Course, add_form=None, import_form=None, created=None, status=200):
    """The roster page; instructors also get the add, import, role and remove controls."""
    page, filters = _roster_page(course)
    response = render_template(
        "courses/roster.html",
        course=course,
        page=page,
        filters=filters,
        role_choices=ROLE_CHOICES,
        can_manage=policy.can_manage_course(current_user, course.id),
        add_form=add_form or AddMemberForm(formdata=None),
        import_form=import_form or ImportForm(formdata=None),
        created=created,
    )
    return no_store(make_response((response, status))) if created else (response, status)


@bp.route("/courses/<int:course_id>/roster", endpoint="roster")
@login_required
def roster_view(course_id):
    """The course's members, filtered by role or name (staff)."""
    return _render_roster(course_or_404(course_id, need="staff"))


@bp.route("/courses/<int:course_id>/roster/add", methods=["POST"])
@login_required
def add_member(course_id):
    """Enroll one person; a new account gets a temporary password shown once (instructor)."""
    course = course_or_404(course_id, need="instructor")
    form = AddMemberForm()
    if not form.validate_on_submit():
        return _render_roster(course, add_form=form)
    existing = find_user_by_email(form.email.data)
    if existing is None or roster.enrollment_of(course.id, existing.id) is None:
        enrollment, password = roster.enroll_person(course, form.name.data, form.email.data, form.role.data)
        if _committed():
            user = enrollment.user
            flash(f"{user.display_name} is enrolled as {roster.role_label(enrollment.role)}.", "success")
            if password is None:
                return redirect(url_for("courses.roster", course_id=course.id))
            return _render_roster(course, created=[(user, password)])
    form.email.errors.append(f"{form.email.data.strip()} is already enrolled in this course.")
    return _render_roster(course, add_form=form)


def _member_or_404(course: Course, user_id: int) -> Enrollment:
    """An enrollment of this course, or 404."""
    enrollment = roster.enrollment_of(course.id, user_id)
    if enrollment is None:
        abort(404)
    return enrollment


@bp.route("/courses/<int:course_id>/roster/<int:user_id>/role", methods=["POST"])
@login_required
def change_role(course_id, user_id):
    """Change a member's role; the last instructor cannot be demoted (instructor)."""
    course = course_or_404(course_id, need="instructor")
    enrollment = _member_or_404(course, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash("Choose student, TA or instructor.", "error")
    elif form.role.data != enrollment.role and roster.is_last_instructor(enrollment):
        flash("A course needs an instructor: make someone else instructor first.", "error")
    elif form.role.data != enrollment.role:
        audit.record(
            "roster.role_change", course.id, current_user.id, subject_id=user_id,
            old=enrollment.role, new=form.role.data,
        )
        enrollment.role = form.role.data
        db.session.commit()
        membership_changed(user_id)
        flash(f"{enrollment.user.display_name} is now {roster.role_label(enrollment.role)}.", "success")
    return redirect(_after_roster_change(course))


@bp.route("/courses/<int:course_id>/roster/<int:user_id>/remove", methods=["POST"])
@login_required
def remove_member(course_id, user_id):
    """Remove a member from the course; the last instructor stays (instructor)."""
    course = course_or_404(course_id, need="instructor")
    enrollment = _member_or_404(course, user_id)
    if roster.is_last_instructor(enrollment):
        flash("A course needs an instructor: the last instructor cannot be removed.", "error")
        return redirect(_after_roster_change(course))
    name = enrollment.user.display_name
    audit.record("roster.remove", course.id, current_user.id, subject_id=user_id, role=enrollment.role)
    db.session.delete(enrollment)
    db.session.commit()
    membership_changed(user_id)
    flash(f"{name} was removed from the course.", "success")
    return redirect(_after_roster_change(course))


def _after_roster_change(course: Course) -> str:
    """Back to the roster, or to the course home when the instructor just gave up that role."""
    if policy.is_staff(current_user, course.id):
        return url_for("courses.roster", course_id=course.id)
    if policy.is_member(current_user, course.id):
        return url_for("courses.home", course_id=course.id)
    return url_for("courses.dashboard")


def _render_preview(course: Course, csv_text: str, rows, file_errors, status=200):
    """The import preview: every row with its problems, and a confirm button when there are none."""
    confirm = ConfirmImportForm(formdata=None, csv_text=csv_text)
    can_import = bool(rows) and not file_errors and all(r.ok for r in rows)
    return (
        render_template(
            "courses/import_preview.html",
            course=course,
            rows=rows,
            file_errors=file_errors,
            error_count=sum(1 for r in rows if not r.ok),
            can_import=can_import,
            confirm=confirm,
        ),
        status,
    )


@bp.route("/courses/<int:course_id>/roster/import", methods=["POST"])
@login_required
def import_preview(course_id):
    """Check an uploaded CSV roster and preview every row before anything is imported (instructor)."""
    course = course_or_404(course_id, need="instructor")
    form = ImportForm()
    if not form.validate_on_submit():
        return _render_roster(course, import_form=form)
    text, error = roster.decode_upload(form.roster_file.data.read(roster.MAX_CSV_BYTES + 1))
    if error:
        form.roster_file.errors.append(error)
        return _render_roster(course, import_form=form)
    rows, file_errors = roster.read_roster_csv(course, text)
    return _render_preview(course, text, rows, file_errors)


@bp.route("/courses/<int:course_id>/roster/import/confirm", methods=["POST"])
@login_required
def import_confirm(course_id):
    """Import a previewed roster, checked again, all or nothing (instructor)."""
    course = course_or_404(course_id, need="instructor")
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        flash("Upload the roster file again.", "error")
        return redirect(url_for("courses.roster", course_id=course.id))
    rows, file_errors = roster.read_roster_csv(course, form.csv_text.data)
    if not file_errors and all(r.ok for r in rows):
        imported = roster.import_rows(course, rows)
        if _committed():
            created = [(enrollment.user, password) for enrollment, password in imported if password]
            flash(f"Imported {len(imported)} people ({len(created)} new accounts).", "success")
            return no_store(
                make_response(
                    render_template("courses/import_done.html", course=course, imported=imported, created=created)
                )
            )
        rows, file_errors = roster.read_roster_csv(course, form.csv_text.data)  # what changed meanwhile
    flash("The roster has problems now (it may have changed since the preview). Nothing was imported.", "error")
    return _render_preview(course, form.csv_text.data, rows, file_errors, status=409)


# --------------------------------------------------------------------------- join


@bp.route("/join", methods=["GET", "POST"])
@login_required
def join():
    """Join a course as a student with its join code."""
    form = JoinForm()
    if form.validate_on_submit():
        course = accounts.course_by_join_code(form.join_code.data)
        problem = _join_problem(course)
        if problem is None:
            db.session.add(Enrollment(user_id=current_user.id, course_id=course.id, role=ROLE_STUDENT))
            if _committed():
                flash(f"Welcome to {course.title}.", "success")
                return redirect(url_for("courses.home", course_id=course.id))
            problem = _join_problem(course) or "Something changed meanwhile; please try again."
        form.join_code.errors.append(problem)
    return render_template("courses/join.html", form=form)


def _join_problem(course: Course | None) -> str | None:
    """Why the current user cannot join this course with its code, or None."""
    if course is None:
        return "No course has this join code. Check it with your instructor."
    if not course.join_enabled:
        return "This course is not accepting students with its join code right now. Ask your instructor."
    if policy.is_member(current_user, course.id):
        return f"You are already enrolled in {course.title}."
    return None

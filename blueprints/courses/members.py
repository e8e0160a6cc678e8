"""The roster: members filtered by role or name (staff), adding, importing from CSV, role
changes and removal (instructor)."""
from __future__ import annotations

from flask import Response, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from blueprints.common import committed, course_or_404, found_or_404
from blueprints.courses import bp
from blueprints.courses.forms import ROLE_CHOICES, AddMemberForm, ConfirmImportForm, ImportForm, RoleForm
from blueprints.panel.fanout import membership_changed
from core.extensions import db
from core.security import no_store
from domain import policy, roster
from domain.errors import Conflict
from models import ROLES, Course, Enrollment

ROSTER_PAGE_SIZE = 50


def _render_roster(course: Course, add_form=None, import_form=None, created=None, status=200):
    """The roster page; instructors also get the add, import, role and remove controls."""
    role = request.args.get("role", "")
    role = role if role in ROLES else ""
    q = request.args.get("q", "").strip()
    page = db.paginate(
        roster.members_query(course, role, q),
        page=request.args.get("page", 1, type=int),
        per_page=ROSTER_PAGE_SIZE,
        error_out=False,
    )
    response = render_template(
        "courses/roster.html",
        course=course,
        page=page,
        filters={"role": role, "q": q},
        role_choices=ROLE_CHOICES,
        can_manage=policy.can_manage_course(current_user, course.id),
        add_form=add_form or AddMemberForm(formdata=None),
        import_form=import_form or ImportForm(formdata=None),
        created=created,
        pending_credentials=roster.pending_credential_count(course) if policy.can_manage_course(current_user, course.id) else 0,
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
    if not roster.is_enrolled_email(course, form.email.data):
        enrollment, password = roster.enroll_person(
            course, form.name.data, form.email.data, form.role.data, issued_by_id=current_user.id
        )
        if committed():
            user = enrollment.user
            flash(f"{user.display_name} is enrolled as {roster.role_label(enrollment.role)}.", "success")
            if password is None:
                return redirect(url_for("courses.roster", course_id=course.id))
            return _render_roster(course, created=[(user, password)])
    form.email.errors.append(f"{form.email.data.strip()} is already enrolled in this course.")
    return _render_roster(course, add_form=form)


def _member_or_404(course: Course, user_id: int) -> Enrollment:
    """An enrollment of this course, or 404."""
    return found_or_404(roster.enrollment_of(course.id, user_id))


@bp.route("/courses/<int:course_id>/roster/<int:user_id>/role", methods=["POST"])
@login_required
def change_role(course_id, user_id):
    """Change a member's role; the last instructor cannot be demoted (instructor)."""
    course = course_or_404(course_id, need="instructor")
    enrollment = _member_or_404(course, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash("Choose student, TA or instructor.", "error")
        return redirect(_after_roster_change(course))
    try:
        changed = roster.change_role(enrollment, form.role.data, current_user.id)
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(_after_roster_change(course))
    if changed:
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
    name = enrollment.user.display_name
    try:
        roster.remove(enrollment, current_user.id)
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(_after_roster_change(course))
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


def _special_use_allowed() -> bool:
    """Whether this site accepts special-use e-mail domains (development and tests)."""
    return current_app.config["EMAIL_ALLOW_SPECIAL_USE"]


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
    rows, file_errors = roster.read_roster_csv(course, text, _special_use_allowed())
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
    rows, file_errors = roster.read_roster_csv(course, form.csv_text.data, _special_use_allowed())
    if not file_errors and all(r.ok for r in rows):
        imported = roster.import_rows(course, rows, issued_by_id=current_user.id)
        if committed():
            created = [(enrollment.user, password) for enrollment, password in imported if password]
            flash(f"Imported {len(imported)} people ({len(created)} new accounts).", "success")
            return no_store(
                make_response(
                    render_template(
                        "courses/import_done.html",
                        course=course,
                        imported=imported,
                        created=created,
                        pending_credentials=roster.pending_credential_count(course),
                    )
                )
            )
        rows, file_errors = roster.read_roster_csv(course, form.csv_text.data, _special_use_allowed())  # what changed meanwhile
    flash("The roster has problems now (it may have changed since the preview). Nothing was imported.", "error")
    return _render_preview(course, form.csv_text.data, rows, file_errors, status=409)


@bp.route("/courses/<int:course_id>/roster/credentials.csv", methods=["POST"])
@login_required
def download_credentials(course_id):
    """The new accounts' temporary passwords as CSV, once: downloading removes them (instructor)."""
    course = course_or_404(course_id, need="instructor")
    if not FlaskForm().validate_on_submit():
        abort(400)
    if not roster.pending_credential_count(course):
        flash("No temporary passwords are waiting: they were downloaded already, or their owners set their own.", "error")
        return redirect(url_for("courses.roster", course_id=course.id))
    body = roster.take_credentials(course, current_user.id)
    db.session.commit()
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="credentials-{course.id}.csv"'
    return no_store(response)

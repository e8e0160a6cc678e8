"""The dashboard, and creating a course (accounts with the site-level instructor permission)."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from blueprints.common import permitted_or_403
from blueprints.courses import bp
from blueprints.courses.forms import ZONE_LIST_ID, ZONE_NAMES, CourseForm
from core.extensions import db
from domain import courses, policy


def _render_dashboard(form=None, status=200):
    """The user's courses, notes about reviews a group move hid, and (for instructors) the create form."""
    may_create = policy.can_create_course(current_user)
    if form is not None:
        # What the creator sent back stays as sent: the browser's zone fills a fresh form only.
        form.timezone.render_kw = {**form.timezone.render_kw, "data-browser-zone": "kept"}
    return (
        render_template(
            "courses/dashboard.html",
            rows=courses.courses_of(current_user.id),
            form=(form or CourseForm()) if may_create else None,
            hidden_reviews=courses.reviews_hidden_by_groups(current_user.id),
            zone_names=ZONE_NAMES,
            zone_list_id=ZONE_LIST_ID,
        ),
        status,
    )


@bp.route("/")
@login_required
def dashboard():
    """The courses the user is enrolled in, and a form to create one (instructors)."""
    return _render_dashboard()


@bp.route("/courses/new", methods=["POST"])
@login_required
def create():
    """Create a course (instructors only); its creator becomes its instructor."""
    permitted_or_403(policy.can_create_course(current_user))
    form = CourseForm()
    if not form.validate_on_submit():
        return _render_dashboard(form)
    course = courses.create_course(
        current_user.id, form.code.data, form.title.data, form.term.data, form.timezone.data
    )
    db.session.commit()
    flash(f"Course {course.code} created. You are its instructor.", "success")
    return redirect(url_for("courses.home", course_id=course.id))

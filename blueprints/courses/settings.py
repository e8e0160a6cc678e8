"""Course settings, the review form and the join code (instructor only)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required

from blueprints.common import course_or_404
from blueprints.courses import bp
from blueprints.courses.forms import SettingsForm
from core.extensions import db
from domain import accounts, courses
from domain.review_form import format_review_form, review_form_fields


@bp.route("/courses/<int:course_id>/settings", methods=["GET", "POST"])
@login_required
def settings(course_id):
    """Course settings and the review form (instructor only)."""
    course = course_or_404(course_id, need="instructor")
    form = SettingsForm(obj=None if request.method == "POST" else course)
    if request.method == "GET":
        form.review_form.data = format_review_form(review_form_fields(course))
    if form.validate_on_submit():
        courses.apply_settings(
            course,
            title=form.title.data,
            term=form.term.data,
            timezone=form.timezone.data,
            review_form=form.parsed_review_form,
            **form.settings(),
        )
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

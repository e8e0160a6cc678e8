"""Course settings, the review form and the join code (instructor only)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from blueprints.common import course_or_404
from blueprints.courses import bp
from blueprints.courses.forms import ZONE_LIST_ID, ZONE_NAMES, SettingsForm
from core.extensions import db
from core.timeutil import now_utc
from domain import accounts, courses
from domain.review_form import format_review_form, review_form_fields


def _zone_saved_message(course, keep: str, moved: int) -> str:
    """What a saved time zone change did, in the words of the choice made."""
    if keep == courses.KEEP_LOCAL_TIMES:
        return (
            f"Settings saved. The course is now in {course.timezone}; {moved} session"
            f"{'' if moved == 1 else 's'} and deadlines ahead kept their local times."
        )
    return f"Settings saved. The course is now in {course.timezone}; every session and deadline kept its moment."


@bp.route("/courses/<int:course_id>/settings", methods=["GET", "POST"])
@login_required
def settings(course_id):
    """Course settings and the review form; a time zone change is previewed before it is saved (instructor only)."""
    course = course_or_404(course_id, need="instructor")
    now = now_utc()
    form = SettingsForm(obj=None if request.method == "POST" else course)
    if request.method == "GET":
        form.review_form.data = format_review_form(review_form_fields(course))
    preview = None
    if form.validate_on_submit():
        new_zone = form.timezone.data.strip()
        zone_changes = new_zone != course.timezone
        if zone_changes and form.zone_change_confirmed.data != new_zone:
            preview = courses.zone_change_preview(course, new_zone, now)
            form.zone_change_confirmed.data = new_zone
        else:
            keep = form.zone_change.data
            moved = courses.change_timezone(course, new_zone, keep, current_user.id, now) if zone_changes else 0
            courses.apply_settings(
                course,
                title=form.title.data,
                term=form.term.data,
                timezone=new_zone,
                review_form=form.parsed_review_form,
                **form.settings(),
            )
            db.session.commit()
            flash(_zone_saved_message(course, keep, moved) if zone_changes else "Settings saved.", "success")
            return redirect(url_for("courses.settings", course_id=course.id))
    return render_template(
        "courses/settings.html",
        course=course,
        form=form,
        preview=preview,
        zone_names=ZONE_NAMES,
        zone_list_id=ZONE_LIST_ID,
    )


@bp.route("/courses/<int:course_id>/settings/join-code", methods=["POST"])
@login_required
def regenerate_join_code(course_id):
    """Replace the join code; the old one stops working at once."""
    course = course_or_404(course_id, need="instructor")
    code = accounts.regenerate_join_code(course)
    db.session.commit()
    flash(f"New join code: {code}. The old code no longer works.", "success")
    return redirect(url_for("courses.settings", course_id=course.id))

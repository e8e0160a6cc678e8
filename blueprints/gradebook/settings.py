"""The gradebook's settings: category weights and drops, item weights, late cap and floor,
statistics for students (instructor; TAs read them), and the rubrics."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from blueprints.common import applied_or_flashed, course_or_404, found_or_404, permitted_or_403
from blueprints.gradebook import bp
from core.extensions import db
from core.timeutil import now_utc
from domain import policy
from domain.errors import Invalid
from domain.grades import rubrics as rubric_ops
from domain.grades.arithmetic import FEEDBACK_QUALITY_SHARE
from domain.grades import weights
from domain.grades.setup import ensure_gradebook, settings_for
from models import RUBRIC_KINDS, GradeItem, Rubric


def _float(name: str, default=None):
    """A number from the form; ``default`` when the field is left empty."""
    raw = request.form.get(name, "").strip()
    if raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise Invalid(f"“{raw}” is not a number.")


@bp.route("/courses/<int:course_id>/gradebook/settings", methods=["GET", "POST"])
@login_required
def settings(course_id):
    """Staff read, the instructor sets: weights (summing to 100), drops, item weights, late cap and floor."""
    course = course_or_404(course_id, need="staff")
    categories = ensure_gradebook(course)
    gradebook_settings = settings_for(course)
    items = list(db.session.scalars(select(GradeItem).where(GradeItem.course_id == course.id)
                                    .order_by(GradeItem.position, GradeItem.id)))
    if request.method == "POST":
        permitted_or_403(policy.can_set_weights(current_user, course.id))
        now = now_utc()
        try:
            weights.set_weights(
                course, categories,
                {c.key: _float(f"weight-{c.key}", 0.0) for c in categories},
                {c.key: int(_float(f"drop-{c.key}", 0.0)) for c in categories},
                current_user.id, now,
            )
            for item in items:
                value = _float(f"item-weight-{item.id}", default=item.weight)
                weights.set_item_weight(course, item, value, current_user.id)
            weights.set_late_and_statistics(
                course, gradebook_settings,
                _float("late_cap", default=None),
                _float("late_floor", default=0.0),
                request.form.get("stats_to_students") == "on",
                request.form.get("feedback_quality") == "on",
                current_user.id,
            )
        except Invalid as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return render_template("gradebook/settings.html", course=course, categories=ensure_gradebook(course),
                                   settings=settings_for(course), items=items, form=request.form,
                                   quality_share=FEEDBACK_QUALITY_SHARE), 422
        db.session.commit()
        flash("Gradebook settings saved.", "success")
        return redirect(url_for("gradebook.settings", course_id=course.id))
    db.session.commit()
    return render_template("gradebook/settings.html", course=course, categories=categories,
                           settings=gradebook_settings, items=items, form=None, quality_share=FEEDBACK_QUALITY_SHARE)


@bp.route("/courses/<int:course_id>/gradebook/rubrics")
@login_required
def rubrics(course_id):
    """Staff: the rubrics of reviews, presentations and milestones (the instructor edits them)."""
    course = course_or_404(course_id, need="staff")
    ensure_gradebook(course)
    by_kind = {r.kind: r for r in db.session.scalars(select(Rubric).where(Rubric.course_id == course.id))}
    db.session.commit()
    return render_template("gradebook/rubrics.html", course=course, rubrics=[by_kind[k] for k in RUBRIC_KINDS],
                           text_of=rubric_ops.rubric_text)


@bp.route("/courses/<int:course_id>/gradebook/rubrics/<kind>", methods=["POST"])
@login_required
def edit_rubric(course_id, kind):
    """Instructor: replace a rubric's criteria; everyone graded on it is re-scored (audited)."""
    course = course_or_404(course_id, need="staff")
    permitted_or_403(policy.can_edit_rubric(current_user, course.id))
    ensure_gradebook(course)
    rubric = found_or_404(db.session.scalar(select(Rubric).where(Rubric.course_id == course.id, Rubric.kind == kind)))
    applied_or_flashed(lambda: rubric_ops.edit_rubric(course, rubric, request.form.get("criteria", ""), current_user.id,
                                                      now_utc(), request.form.get("reason", "")[:300]),
                       lambda changed: f"Rubric saved; {changed} grade(s) re-scored.")
    return redirect(url_for("gradebook.rubrics", course_id=course.id))

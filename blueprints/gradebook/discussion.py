"""Staff: the discussion grade proposed from the room, with each panel's evidence; accept or adjust."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from blueprints.common import applied_or_flashed, course_or_404, permitted_or_403
from blueprints.gradebook import bp
from core.extensions import db
from core.timeutil import now_utc
from domain import policy
from domain.errors import Invalid
from domain.grades import discussion as proposals
from domain.grades.gradebook import read_book
from models import GradeItem


def _discussion_item(course) -> GradeItem:
    return db.session.scalar(select(GradeItem).where(GradeItem.course_id == course.id, GradeItem.key == "discussion"))


@bp.route("/courses/<int:course_id>/gradebook/discussion", methods=["GET", "POST"])
@login_required
def discussion(course_id):
    """Staff: per student the proposal, the formula's figures per panel, and the grade of record."""
    course = course_or_404(course_id, need="staff")
    now = now_utc()
    book = read_book(course, now)
    item = _discussion_item(course)
    formula = proposals.formula_of(book.settings)
    rooms, evidence = proposals.evidence(course)
    proposed = {r.student_id: proposals.proposal(evidence[r.student_id].totals(), formula) if r.student_id in evidence
                else 0.0 for r in book.rows}
    if request.method == "POST":
        permitted_or_403(policy.can_enter_grades(current_user, course.id))
        student_id = request.form.get("student", type=int)
        if student_id not in proposed:
            flash("No such student.", "error")
            return redirect(url_for("gradebook.discussion", course_id=course.id))
        raw = request.form.get("grade", "").strip()

        def accept() -> None:
            try:
                value = float(raw) if raw and request.form.get("action") == "adjust" else None
            except ValueError:
                raise Invalid("Give the grade as a number.") from None
            proposals.accept(course, item, student_id, proposed[student_id], value, request.form.get("reason", ""),
                             current_user.id, now)

        applied_or_flashed(accept, "Discussion grade saved.")
        return redirect(url_for("gradebook.discussion", course_id=course.id))
    db.session.commit()
    return render_template("gradebook/discussion.html", course=course, book=book, item=item, rooms=rooms,
                           evidence=evidence, proposed=proposed, formula=formula, figures=proposals.FIGURES)

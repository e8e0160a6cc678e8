"""A student's own grades: only posted items, with rubric lines, penalties, comments, the
running total and, where G3 allows, the class statistics."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user, login_required

from blueprints.common import course_or_404
from blueprints.gradebook import bp
from core.timeutil import now_utc
from domain import policy
from domain.grades.gradebook import read_book, statistics_of


@bp.route("/courses/<int:course_id>/grades")
@login_required
def mine(course_id):
    """The viewer's own posted grades (staff are pointed to the gradebook)."""
    course = course_or_404(course_id)
    now = now_utc()
    if policy.can_view_gradebook(current_user, course.id):
        return render_template("gradebook/mine.html", course=course, book=None, row=None, stats={})
    book = read_book(course, now, student_id=current_user.id, posted_only=True)
    row = book.row(current_user.id)
    # Statistics need the class's posted grades of the item; only items G3 lets through are read.
    stats = {}
    if book.settings.stats_to_students and row is not None:
        whole = read_book(course, now, posted_only=True)
        for item in book.items:
            values = [r.cells[item.id].adjusted for r in whole.rows if r.cells[item.id].graded]
            if policy.can_view_statistics(current_user, item, len(values), book.settings.stats_to_students, now):
                stats[item.id] = statistics_of(values)
    visible = [i for i in book.items if row is not None and policy.can_view_grade(current_user, i, row.student_id, now)]
    return render_template("gradebook/mine.html", course=course, book=book, row=row, items=visible, stats=stats)

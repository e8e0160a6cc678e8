"""Staff's gradebook: the grid, a student's page, grade entry per item, posting, waivers, export."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from blueprints.common import applied_or_flashed, course_or_404, found_or_404, permitted_or_403
from blueprints.gradebook import bp, cell_html
from core.extensions import db
from core.timeutil import now_utc
from domain import policy
from domain.errors import Invalid
from domain.grades import exports, grading, peer_feedback, posting
from domain.grades.arithmetic import FEEDBACK_QUALITY_SHARE
from domain.grades.gradebook import read_book, statistics_of
from domain.grades.setup import settings_for
from models import Grade, GradeCategory, GradeItem, ProjectGroup

SORTS = ("name", "total")


def _staff_course(course_id):
    return course_or_404(course_id, need="staff")


def _filtered_rows(book, query: str, sort: str, descending: bool):
    """The rows matching ``query`` (name or e-mail), sorted by name, total or an item's grade;
    rows without a grade on the sorted item come last either way, and ties keep name order."""
    rows = book.rows
    if query:
        needle = query.casefold()
        rows = [r for r in rows if needle in r.name.casefold() or needle in r.email.casefold()]
    if sort == "total":
        return sorted(rows, key=lambda r: r.earned, reverse=descending)
    if sort.isdigit() and book.item(int(sort)) is not None:
        item_id = int(sort)
        graded = [r for r in rows if r.cells[item_id].graded]
        return sorted(graded, key=lambda r: r.cells[item_id].adjusted, reverse=descending) + \
            [r for r in rows if not r.cells[item_id].graded]
    return list(reversed(rows)) if descending else rows


def _sort_label(book, sort: str) -> str:
    """What the grid is sorted by, in words, for its caption."""
    if sort == "total":
        return "total"
    item = book.item(int(sort)) if sort.isdigit() else None
    return item.title if item is not None else "name"


def _grid_cells(rows, items, item_urls) -> dict:
    """Each shown row's item cells as one piece of markup (the grid's bulk, built in one pass
    rather than through the template per cell)."""
    ids = [i.id for i in items]
    openings = ['\n        <td tabindex="-1" data-href="%s">' % escape(item_urls[item_id]) for item_id in ids]
    closing = "</td>\n      "
    return {r.student_id: Markup("".join([opening + cell_html(cell) + closing
                                          for opening, cell in zip(openings, [r.cells[i] for i in ids])]))
            for r in rows}


def _student_urls(course, rows) -> dict:
    """Each shown row's link to the student's page, from one ``url_for`` (the route ends in the id)."""
    base = url_for("gradebook.student", course_id=course.id, student_id=0)[:-1]
    return {r.student_id: f"{base}{r.student_id}" for r in rows}


@bp.route("/courses/<int:course_id>/gradebook")
@login_required
def grid(course_id):
    """Staff: students × items with category subtotals, total, late and missing marks."""
    course = _staff_course(course_id)
    now = now_utc()
    book = read_book(course, now, details=False)
    query = request.args.get("q", "").strip()[:100]
    sort = request.args.get("sort", "name")[:20]
    descending = request.args.get("dir") == "desc"
    category = next((c for c in book.categories if c.id == request.args.get("category", type=int)), None)
    category_id = category.id if category is not None else None
    items = [i for i in book.items if category is None or i.category_id == category.id]
    totals = [r.earned for r in book.rows if r.counted]
    item_urls = {i.id: url_for("gradebook.item", course_id=course.id, item_id=i.id) for i in items}
    rows = _filtered_rows(book, query, sort, descending)
    # Rendered before the commit, which would expire every row the page reads (one query each).
    page = render_template(
        "gradebook/grid.html", course=course, book=book, items=items, rows=rows,
        query=query, sort=sort, descending=descending, category_id=category_id, total_stats=statistics_of(totals),
        now=now, sort_label=_sort_label(book, sort), category=category, item_urls=item_urls,
        row_cells=_grid_cells(rows, items, item_urls), student_urls=_student_urls(course, rows),
    )
    db.session.commit()
    return page


@bp.route("/courses/<int:course_id>/gradebook/students/<int:student_id>")
@login_required
def student(course_id, student_id):
    """Staff: one student's grades on every item, posted or not, with the evidence lines."""
    course = _staff_course(course_id)
    book = read_book(course, now_utc(), student_id=student_id)
    row = found_or_404(book.row(student_id))
    db.session.commit()
    return render_template("gradebook/student.html", course=course, book=book, row=row)


@bp.route("/courses/<int:course_id>/gradebook/items/<int:item_id>", methods=["GET", "POST"])
@login_required
def item(course_id, item_id):
    """Staff: grade an item on its rubric (or by score) for every student who owes it."""
    course = _staff_course(course_id)
    now = now_utc()
    grade_item = found_or_404(db.session.get(GradeItem, item_id), lambda i: i.course_id == course.id)
    rubric = grading.rubric_of(grade_item)
    if request.method == "POST":
        permitted_or_403(policy.can_enter_grades(current_user, course.id))
        student_ids = request.form.getlist("student", type=int)
        reason = request.form.get("reason", "")[:300]

        def save() -> None:
            owed = {r.student_id for r in read_book(course, now).rows if r.cells[grade_item.id].owed}
            for sid in student_ids:
                if sid not in owed:
                    continue
                comment = request.form.get(f"comment-{sid}", "")
                if rubric is not None:
                    points = {c["key"]: request.form.get(f"points-{sid}-{c['key']}", "") for c in rubric.criteria}
                    grading.record_grade(course, grade_item, sid, current_user.id, now, rubric_points=points,
                                         comment=comment, reason=reason)
                else:
                    score = _number(request.form.get(f"score-{sid}", "").strip())
                    grading.record_grade(course, grade_item, sid, current_user.id, now, score=score,
                                         comment=comment, reason=reason)

        applied_or_flashed(save, "Grades saved.")
        return redirect(url_for("gradebook.item", course_id=course.id, item_id=grade_item.id))
    book = read_book(course, now)
    rows = [r for r in book.rows if r.cells[grade_item.id].owed]
    values = [r.cells[grade_item.id].adjusted for r in rows if r.cells[grade_item.id].graded]
    names = {r.student_id: r.name for r in book.rows}
    groups = ([(g, [names[uid] for uid in ids if uid in names]) for g, ids in grading.project_groups(course)]
              if grading.is_group_item(grade_item) else [])
    feedback = peer_feedback.figures(course, now) if peer_feedback.is_feedback_item(grade_item) else None
    db.session.commit()
    return render_template("gradebook/item.html", course=course, book=book, item=grade_item, rubric=rubric, rows=rows,
                           stats=statistics_of(values), now=now, groups=[(g, n) for g, n in groups if n],
                           feedback=feedback, quality=book.settings.feedback_quality, quality_share=FEEDBACK_QUALITY_SHARE,
                           proposals={sid: f.proposal(book.settings.feedback_quality) for sid, f in (feedback or {}).items()})


@bp.route("/courses/<int:course_id>/gradebook/items/<int:item_id>/peer-feedback", methods=["POST"])
@login_required
def peer_feedback_grades(course_id, item_id):
    """Staff: enter every student's peer-feedback proposal as their grade (audited, with its figures)."""
    course = _staff_course(course_id)
    permitted_or_403(policy.can_enter_grades(current_user, course.id))
    grade_item = found_or_404(db.session.get(GradeItem, item_id),
                              lambda i: i.course_id == course.id and peer_feedback.is_feedback_item(i))
    count = peer_feedback.enter_proposals(course, grade_item, settings_for(course), current_user.id, now_utc())
    db.session.commit()
    flash(f"Peer feedback: {count} student(s) graded from the stored feedback.", "success")
    return redirect(url_for("gradebook.item", course_id=course.id, item_id=grade_item.id))


@bp.route("/courses/<int:course_id>/gradebook/items/<int:item_id>/groups/<int:group_id>", methods=["POST"])
@login_required
def group_grade(course_id, item_id, group_id):
    """Staff: one entry for a whole project group on a milestone item, stored (and audited) per member."""
    course = _staff_course(course_id)
    permitted_or_403(policy.can_enter_grades(current_user, course.id))
    grade_item = found_or_404(db.session.get(GradeItem, item_id),
                              lambda i: i.course_id == course.id and grading.is_group_item(i))
    group = found_or_404(db.session.get(ProjectGroup, group_id), lambda g: g.course_id == course.id)
    rubric = found_or_404(grading.rubric_of(grade_item))
    points = {c["key"]: request.form.get(f"group-points-{c['key']}", "") for c in rubric.criteria}
    applied_or_flashed(
        lambda: grading.record_group_grade(course, grade_item, group, current_user.id, now_utc(), rubric_points=points,
                                           comment=request.form.get("comment", ""),
                                           reason=request.form.get("reason", "")[:300]),
        lambda grades: f"{group.name}: {len(grades)} member(s) graded; adjust any of them below.")
    return redirect(url_for("gradebook.item", course_id=course.id, item_id=grade_item.id))


def _number(raw: str):
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise Invalid("Give scores as numbers from 0 to 100.")


@bp.route("/courses/<int:course_id>/gradebook/items/<int:item_id>/post", methods=["POST"])
@login_required
def post_item(course_id, item_id):
    """Staff: post an item's grades to its students, or hold them again."""
    course = _staff_course(course_id)
    permitted_or_403(policy.can_enter_grades(current_user, course.id))
    grade_item = found_or_404(db.session.get(GradeItem, item_id), lambda i: i.course_id == course.id)
    posted = request.form.get("action") != "hold"
    posting.post_items([grade_item], current_user.id, now_utc(), posted)
    db.session.commit()
    flash(f"{grade_item.title}: {'posted' if posted else 'held'}.", "success")
    if request.form.get("back") == "item":
        return redirect(url_for("gradebook.item", course_id=course.id, item_id=item_id))
    return redirect(url_for("gradebook.grid", course_id=course.id))


@bp.route("/courses/<int:course_id>/gradebook/categories/<int:category_id>/post", methods=["POST"])
@login_required
def post_category(course_id, category_id):
    """Staff: post (or hold) every item of a category."""
    course = _staff_course(course_id)
    permitted_or_403(policy.can_enter_grades(current_user, course.id))
    category = found_or_404(db.session.get(GradeCategory, category_id), lambda c: c.course_id == course.id)
    posted = request.form.get("action") != "hold"
    count = posting.post_category(category, current_user.id, now_utc(), posted)
    db.session.commit()
    flash(f"{category.title}: {count} item(s) {'posted' if posted else 'held'}.", "success")
    return redirect(url_for("gradebook.grid", course_id=course.id))


@bp.route("/courses/<int:course_id>/gradebook/grades/<int:grade_id>/waive", methods=["POST"])
@login_required
def waive(course_id, grade_id):
    """Instructor: waive (or restore) a grade's late penalty, with a reason."""
    course = _staff_course(course_id)
    permitted_or_403(policy.can_waive_penalty(current_user, course.id))
    grade = found_or_404(db.session.get(Grade, grade_id), lambda g: g.course_id == course.id)
    applied_or_flashed(lambda: grading.waive_penalty(course, grade, request.form.get("reason", ""), current_user.id,
                                                     now_utc(), waived=request.form.get("action") != "restore"),
                       "Penalty updated.")
    return redirect(url_for("gradebook.student", course_id=course.id, student_id=grade.student_id))


@bp.route("/courses/<int:course_id>/gradebook/export.csv")
@login_required
def export(course_id):
    """Staff: the gradebook as CSV (``layout=lms`` for an LMS import), safe against formulas."""
    course = _staff_course(course_id)
    layout = request.args.get("layout", "full")
    if layout not in exports.LAYOUTS:
        abort(404)
    body = exports.gradebook_csv(read_book(course, now_utc(), details=False), layout)
    db.session.commit()
    name = f"{course.code}-gradebook{'-lms' if layout == 'lms' else ''}.csv"
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

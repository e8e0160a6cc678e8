"""The demo course's gradebook: the released presentation's reviews graded on the rubric and
posted — the late one with its stored penalty line, which the instructor then waived with a
reason (the line stays visible, struck through, beside the reason) —, the presentation graded
but held, and discussion grades proposed from the panel with their evidence, the first few
accepted.

The demo has one late piece of work (the released presentation's late review; the project's
milestones are still ahead), so the late penalty and its waiver are shown on the same grade; a
second late review, where there is one, keeps its penalty.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from core.extensions import db
from domain.grades import discussion, grading, posting
from domain.grades.gradebook import read_book
from domain.grades.setup import ensure_gradebook
from models import Course, GradeItem, PresentationMember

# Rubric points (summary accuracy /4, depth of critique /4, quality of questions /2) in turn.
REVIEW_POINTS = ({"summary": 4, "critique": 3, "questions": 2}, {"summary": 3, "critique": 3, "questions": 1},
                 {"summary": 4, "critique": 4, "questions": 1}, {"summary": 2, "critique": 3, "questions": 2})
ACCEPTED_PROPOSALS = 3
WAIVER_REASON = "Late because of a documented illness (note seen by the instructor)."


def load_gradebook(course: Course, people: dict, now: datetime) -> None:
    """Grade, post and propose as an instructor halfway through the term would have."""
    instructor = people["instructor"].id
    ensure_gradebook(course)
    book = read_book(course, now)
    review_items = [i for i in book.items if i.presentation_id is not None]
    graded_item = next((i for i in review_items if i.presentation.review_deadline < now), None)
    late_grades = []
    if graded_item is not None:
        submitted = [r for r in book.rows if r.cells[graded_item.id].owed and not r.cells[graded_item.id].missing]
        for n, row in enumerate(submitted):
            grade = grading.record_grade(course, graded_item, row.student_id, instructor, now - timedelta(days=1),
                                         rubric_points=REVIEW_POINTS[n % len(REVIEW_POINTS)],
                                         comment="Careful summary; push the critique further next time.")
            if grade is not None and grade.penalty_percent > 0:
                late_grades.append(grade)
        posting.post_items([graded_item], instructor, now - timedelta(hours=20))
    # The last late grade's penalty waived with a reason; any earlier late grade keeps its penalty.
    if late_grades:
        grading.waive_penalty(course, late_grades[-1], WAIVER_REASON, instructor, now - timedelta(hours=2))
    presentation_item = db.session.scalar(select(GradeItem).where(GradeItem.course_id == course.id,
                                                                  GradeItem.key == "presentation"))
    presenters = db.session.scalars(select(PresentationMember.user_id).where(
        PresentationMember.course_id == course.id, PresentationMember.kind == "presenting",
        PresentationMember.presentation_id == (graded_item.presentation_id if graded_item else None)))
    for user_id in presenters:
        grading.record_grade(course, presentation_item, user_id, instructor, now,
                             rubric_points={"background": 5, "idea": 4, "technical": 4, "related": 3,
                                            "strengths": 4, "weaknesses": 4},
                             comment="Clear talk; relation to other work was thin.")
    item = db.session.scalar(select(GradeItem).where(GradeItem.course_id == course.id, GradeItem.key == "discussion"))
    formula = discussion.formula_of(book.settings)
    _, evidence = discussion.evidence(course)
    for student_id in sorted(evidence)[:ACCEPTED_PROPOSALS]:
        if any(r.student_id == student_id for r in book.rows):
            discussion.accept(course, item, student_id, discussion.proposal(evidence[student_id].totals(), formula),
                              None, "", instructor, now)
    db.session.flush()


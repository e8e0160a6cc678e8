"""The gradebook reads in a constant number of SQL statements: the staff grid, the CSV export
and the book itself send as many statements for 15 students as for 5, and as many for six
presentations as for two (no statement per student, per item or per grade)."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, select

from core.extensions import db
from domain.grades import grading
from domain.grades.gradebook import read_book
from domain.grades.setup import ensure_gradebook
from models import (
    MILESTONE_KINDS,
    ROLE_INSTRUCTOR,
    GradeItem,
    Milestone,
    MilestoneExtension,
    MilestoneSubmission,
    ProjectGroup,
    ProjectMember,
)
from tests.support.factories import T0, login

DAY = timedelta(days=1)


@contextmanager
def statements():
    """The SQL statements sent while inside, as a list that fills up."""
    sent: list[str] = []

    def note(conn, cursor, statement, *args):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def _term(make, students: int, presentations: int):
    """A course with its instructor, ``students`` students, ``presentations`` closed presentations
    reviewed by everyone else (one late, one extended, one missing; half graded on the review
    page, the others in the gradebook), project pairs with every milestone submitted (one late,
    one extended), and a score on every other item."""
    course = make.course(late_penalty_per_day=10.0, late_policy="accept")
    staff = make.member(course, ROLE_INSTRUCTOR, name="Ida Instructor")
    people = [make.member(course, name=f"Student {n:02d}") for n in range(students)]
    talks = []
    for k in range(presentations):
        presenter = people[k % students]
        talk = make.presentation(course, review_deadline=T0 - (10 - k) * DAY, presenters=[presenter])
        talks.append(talk)
        for j, person in enumerate(people):
            if person is presenter or j == 1:
                continue  # the second student never reviews
            late = j == 2
            review = make.review(talk, person, submitted_at=talk.review_deadline + (timedelta(hours=5) if late
                                                                                      else -timedelta(hours=1)),
                                 late=late)
            if k % 2 == 0:
                review.grade, review.feedback = 8.0, "Good."
        make.extension(talk, people[3], talk.review_deadline + 2 * DAY)
    groups = []
    for g in range(0, students, 2):
        group = ProjectGroup(course_id=course.id, name=f"Pair {g}")
        db.session.add(group)
        db.session.flush()
        db.session.add_all([ProjectMember(course_id=course.id, group_id=group.id, user_id=p.id, seat=n)
                            for n, p in enumerate(people[g:g + 2], 1)])
        groups.append(group)
    for m, kind in enumerate(MILESTONE_KINDS):
        milestone = Milestone(course_id=course.id, kind=kind, title=str(kind), deadline=T0 - (9 - 3 * m) * DAY)
        db.session.add(milestone)
        db.session.flush()
        for g, group in enumerate(groups):
            db.session.add(MilestoneSubmission(milestone_id=milestone.id, group_id=group.id, version=1, late=g == 1,
                                               submitted_at=milestone.deadline + (DAY if g == 1 else -DAY)))
        db.session.add(MilestoneExtension(milestone_id=milestone.id, group_id=groups[0].id,
                                          deadline=milestone.deadline + DAY))
    ensure_gradebook(course)
    db.session.commit()
    items = db.session.scalars(select(GradeItem).where(GradeItem.course_id == course.id)).all()
    for item in items:
        rubric = grading.rubric_of(item)
        for person in people:
            if item.presentation_id is not None and item.presentation_id % 2 == 0:
                continue  # left to the review page's grade
            if rubric is not None:
                points = {c["key"]: str(c["points"]) for c in rubric.criteria}
                grading.record_grade(course, item, person.id, staff.id, T0, rubric_points=points, comment="Fine.")
            else:
                grading.record_grade(course, item, person.id, staff.id, T0, score=75.0)
        item.posted_at = T0 - DAY
    db.session.commit()
    return course, staff, people


def _counts(app, make, students: int, presentations: int) -> dict:
    """Statements of one grid page, one CSV export (both layouts) and one book, read twice first."""
    course, staff, people = _term(make, students, presentations)
    client = app.test_client()
    login(client, staff)
    paths = {
        "grid": f"/courses/{course.id}/gradebook",
        "csv": f"/courses/{course.id}/gradebook/export.csv",
        "lms": f"/courses/{course.id}/gradebook/export.csv?layout=lms",
    }
    counts = {}
    for name, path in paths.items():
        assert client.get(path).status_code == 200
        with statements() as sent:
            response = client.get(path)
        assert response.status_code == 200
        if name == "grid":
            assert response.get_data(as_text=True).count('<th scope="row" class="sticky-col">') == students
        counts[name] = len(sent)
    db.session.expire_all()
    with statements() as sent:
        book = read_book(course, T0)
    assert len(book.rows) == students and any(c.graded for r in book.rows for c in r.cells.values())
    counts["book"] = len(sent)
    with statements() as sent:
        read_book(course, T0, student_id=people[0].id, posted_only=True)
    counts["student book"] = len(sent)
    return counts


def test_the_grid_and_the_exports_read_as_many_statements_for_15_students_as_for_5(app, make):
    five = _counts(app, make, 5, 2)
    fifteen = _counts(app, make, 15, 2)
    assert fifteen == five


def test_more_presentations_do_not_add_statements(app, make):
    two = _counts(app, make, 8, 2)
    six = _counts(app, make, 8, 6)
    assert six == two

"""Leak matrix of the gradebook: another student's grade, an unposted grade and statistics under
five grades never reach a student, through every GET route of the gradebook blueprint (enumerated
from ``app.url_map``) and every review path that carries a review's grade (its page, its JSON, the
presentation's list and its JSON), in HTML and JSON, before and after posting; differential like
tests/test_leak_matrix.py — each answer is byte-identical to the same world without the hidden grade."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from core.extensions import db
from domain.grades import grading, posting
from domain.grades.setup import ensure_gradebook, settings_for
from models import ROLE_INSTRUCTOR, ROLE_TA, Grade, GradeItem
from tests.support.factories import T0
from tests.support.leaks import normalise

POSTED_SECRET = "POSTED-okapi-7731"
HELD_SECRET = "HELD-narwhal-1187"
RUBRIC_SECRET = "RUBRIC-quokka-5402"
PAGE_SECRET = "PAGE-axolotl-9316"


@pytest.fixture
def world(make, course, student):
    instructor = make.member(course, ROLE_INSTRUCTOR)
    ta = make.member(course, ROLE_TA)
    classmate = make.member(course, name="Cleo Classmate")
    outsider = make.member(make.course(), name="Olga Outsider")
    presenter = make.member(course, name="Pia Presenter")
    presentation = make.presentation(course, review_deadline=T0 - timedelta(days=2), presenters=[presenter])
    for critic in (student, classmate):
        make.review(presentation, critic, submitted_at=T0 - timedelta(days=3))
    ensure_gradebook(course)
    items = {i.key: i for i in db.session.scalars(select(GradeItem).where(GradeItem.course_id == course.id))}
    posted, held = items[f"review:{presentation.id}"], items["presentation"]
    grading.record_grade(course, posted, student.id, instructor.id, T0, rubric_points={"summary": 3, "critique": 1},
                         comment=f"Posted: {POSTED_SECRET}")
    grading.record_grade(course, held, student.id, instructor.id, T0, rubric_points={"background": 2},
                         comment=f"Held: {HELD_SECRET}")
    grading.record_grade(course, posted, classmate.id, instructor.id, T0, rubric_points={"summary": 4})
    posting.post_items([posted], instructor.id, T0 - timedelta(hours=1))
    # A second paper whose review is graded both on the review page and on the gradebook's rubric.
    second_presenter = make.member(course, name="Pat Presenter")
    second = make.presentation(course, review_deadline=T0 - timedelta(days=2), presenters=[second_presenter])
    graded = make.review(second, student, submitted_at=T0 - timedelta(days=3))
    make.review(second, classmate, submitted_at=T0 - timedelta(days=3))
    graded.grade, graded.feedback = 7.5, f"Page: {PAGE_SECRET}"
    ensure_gradebook(course)
    review_item = db.session.scalar(select(GradeItem).where(GradeItem.key == f"review:{second.id}"))
    grading.record_grade(course, review_item, student.id, instructor.id, T0,
                         rubric_points={"summary": 2, "critique": 3, "questions": 1}, comment=f"Rubric: {RUBRIC_SECRET}")
    db.session.commit()
    return {
        "course": course, "owner": student, "posted": posted, "held": held,
        "review": graded, "review_item": review_item,
        "viewers": {"instructor": instructor, "ta": ta, "owner": student, "classmate": classmate,
                    "presenter": presenter, "second_presenter": second_presenter, "outsider": outsider,
                    "anonymous": None},
    }


def _paths(app, w) -> list[str]:
    values = {"course_id": w["course"].id, "student_id": w["owner"].id}
    paths = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("gradebook.") or "GET" not in rule.methods:
                continue
            if "item_id" in rule.arguments:
                for item in (w["posted"], w["held"]):
                    paths.append(url_for(rule.endpoint, item_id=item.id, **{k: values[k] for k in rule.arguments - {"item_id"}}))
                continue
            assert rule.arguments <= values.keys(), f"{rule.rule}: teach the gradebook leak matrix its arguments"
            paths.append(url_for(rule.endpoint, **{k: values[k] for k in rule.arguments}))
    paths.append(f"/courses/{w['course'].id}/gradebook/export.csv?layout=lms")
    return sorted(set(paths))


def _review_paths(w) -> list[str]:
    """Every path that carries a review's grade or feedback: the review's page and JSON, the
    presentation's reviews page and JSON, and the review's revisions."""
    c, r, p = w["course"].id, w["review"].id, w["review"].presentation_id
    return [f"/courses/{c}/reviews/{r}", f"/api/courses/{c}/reviews/{r}", f"/courses/{c}/reviews/{r}/revisions",
            f"/courses/{c}/presentations/{p}/reviews", f"/api/courses/{c}/presentations/{p}/reviews",
            f"/courses/{c}/reviews", f"/courses/{c}/grades"]


def _fetch(app, w, viewer, login_as, paths=None):
    client = login_as(viewer) if viewer else app.test_client()
    return {
        (path, accept): (resp.status_code, normalise(resp.get_data()))
        for path in (paths if paths is not None else _paths(app, w))
        for accept in ("text/html", "application/json")
        for resp in [client.get(path, headers={"Accept": accept})]
    }


def _differential(app, w, viewer, login_as, remove, paths=None):
    before = _fetch(app, w, viewer, login_as, paths)
    remove()
    db.session.commit()
    db.session.expire_all()
    after = _fetch(app, w, viewer, login_as, paths)
    assert before.keys() == after.keys()
    for key in before:
        assert before[key] == after[key], f"the hidden grade shows at {key}"
    return before


@pytest.mark.parametrize("viewer_name", ["classmate", "presenter", "outsider", "anonymous"])
def test_another_students_grade_leaks_through_no_gradebook_path(app, world, viewer_name, login_as):
    viewer = world["viewers"][viewer_name]
    seen = _differential(app, world, viewer, login_as,
                         lambda: db.session.execute(delete(Grade).where(Grade.student_id == world["owner"].id)))
    for (path, _), (_, body) in seen.items():
        assert POSTED_SECRET.encode() not in body and HELD_SECRET.encode() not in body, path


def test_an_unposted_grade_leaks_to_its_own_student_through_no_path(app, world, login_as):
    seen = _differential(app, world, world["owner"], login_as,
                         lambda: db.session.execute(delete(Grade).where(Grade.item_id == world["held"].id)))
    own_page = next(body for (path, _), (_, body) in seen.items() if path.endswith("/grades"))
    assert POSTED_SECRET.encode() in own_page, "the posted grade must show: the probe proves something"
    assert all(HELD_SECRET.encode() not in body for _, body in seen.values())


def test_staff_see_both_grades_so_the_matrix_can_fail(app, world, login_as):
    for name in ("instructor", "ta"):
        bodies = b"".join(body for _, body in _fetch(app, world, world["viewers"][name], login_as).values())
        assert POSTED_SECRET.encode() in bodies and HELD_SECRET.encode() in bodies


def test_statistics_under_five_grades_reach_no_student(app, make, world, login_as):
    settings_for(world["course"]).stats_to_students = True
    db.session.commit()

    def statistics_shown(viewer):
        body = login_as(viewer).get(f"/courses/{world['course'].id}/grades").get_data(as_text=True)
        return "distribution of" in body

    assert not statistics_shown(world["owner"])  # two grades
    for _ in range(3):
        extra = make.member(world["course"])
        grading.record_grade(world["course"], world["posted"], extra.id, world["viewers"]["instructor"].id, T0,
                             rubric_points={"summary": 2})
    db.session.commit()
    assert statistics_shown(world["owner"])  # five grades: the probe can see statistics
    # The held item's statistics never show, whatever its count.
    assert "Paper presentation —" not in login_as(world["owner"]).get(f"/courses/{world['course'].id}/grades").get_data(as_text=True)
    settings_for(world["course"]).stats_to_students = False
    db.session.commit()
    assert not statistics_shown(world["owner"])


def _ungrade_review(w):
    """The same world without the review's grade: no gradebook grade, nothing on the review page."""
    db.session.execute(delete(Grade).where(Grade.item_id == w["review_item"].id))
    w["review"].grade, w["review"].feedback = None, ""


def _set_posted(w, posted: bool):
    w["review_item"].posted_at = T0 - timedelta(hours=1) if posted else None
    db.session.commit()


REVIEW_SECRETS = (RUBRIC_SECRET.encode(), PAGE_SECRET.encode(), b"7.5 / 10")


def _review_grade_seen(app, w, viewer_name, login_as, posted: bool):
    """What the viewer gets on every review path, identical to the world without the review's
    grade and holding none of its secrets."""
    _set_posted(w, posted)
    seen = _differential(app, w, w["viewers"][viewer_name], login_as, lambda: _ungrade_review(w), _review_paths(w))
    for (path, _), (_, body) in seen.items():
        assert not any(secret in body for secret in REVIEW_SECRETS), path
    return seen


@pytest.mark.parametrize("viewer_name", ["owner", "classmate", "second_presenter", "outsider", "anonymous"])
def test_a_held_review_grade_reaches_nobody_through_the_review_paths(app, world, viewer_name, login_as):
    seen = _review_grade_seen(app, world, viewer_name, login_as, posted=False)
    if viewer_name == "owner":
        page = seen[(f"/courses/{world['course'].id}/reviews/{world['review'].id}", "text/html")][1]
        assert b"appear here once staff post them" in page, "the probe reads the writer's own review page"


@pytest.mark.parametrize("viewer_name", ["classmate", "second_presenter", "outsider", "anonymous"])
def test_a_posted_review_grade_reaches_no_one_but_its_writer(app, world, viewer_name, login_as):
    seen = _review_grade_seen(app, world, viewer_name, login_as, posted=True)
    if viewer_name == "classmate":
        listing = seen[(f"/api/courses/{world['course'].id}/presentations/{world['review'].presentation_id}/reviews",
                        "application/json")]
        assert listing[0] == 200 and b'"readable":true' in listing[1].replace(b" ", b""), "the probe reads the reviews"


def test_a_posted_review_grade_reaches_its_writer_with_its_rubric_lines(app, world, login_as):
    _set_posted(world, True)
    client = login_as(world["owner"])
    c, r = world["course"].id, world["review"].id
    page = client.get(f"/courses/{c}/reviews/{r}").get_data(as_text=True)
    assert RUBRIC_SECRET in page and PAGE_SECRET in page and "7.5 / 10" in page
    assert "Summary accuracy: 2.0 / 4.0" in page
    assert client.get(f"/api/courses/{c}/reviews/{r}").json["feedback"] == f"Page: {PAGE_SECRET}"


def test_staff_see_a_held_review_grade_and_that_it_is_held(app, world, login_as):
    _set_posted(world, False)
    for name in ("instructor", "ta"):
        page = login_as(world["viewers"][name]).get(
            f"/courses/{world['course'].id}/reviews/{world['review'].id}").get_data(as_text=True)
        assert RUBRIC_SECRET in page and PAGE_SECRET in page and "until it is posted" in page

"""Rules G1–G4 as tables: viewer × moment (before and after posting) × expected."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from domain import policy
from models import ROLE_INSTRUCTOR, ROLE_TA
from tests.support.factories import T0

POSTED_AT = T0
BEFORE, AT, AFTER = T0 - timedelta(seconds=1), T0, T0 + timedelta(days=1)


@pytest.fixture
def people(make, course, student):
    other_course = make.course()
    return {
        "instructor": make.member(course, ROLE_INSTRUCTOR),
        "ta": make.member(course, ROLE_TA),
        "owner": student,
        "classmate": make.member(course),
        "outsider": make.member(other_course),
        "anonymous": None,
    }


def _item(course, posted_at):
    return SimpleNamespace(course_id=course.id, posted_at=posted_at)


G1_G2 = [
    # viewer, posted?, moment, may see the owner's grade
    ("instructor", False, BEFORE, True),
    ("instructor", True, AFTER, True),
    ("ta", False, BEFORE, True),
    ("ta", True, AFTER, True),
    ("owner", False, AFTER, False),  # never posted
    ("owner", True, BEFORE, False),  # posting takes effect at its instant
    ("owner", True, AT, True),
    ("owner", True, AFTER, True),
    ("classmate", False, AFTER, False),
    ("classmate", True, AFTER, False),
    ("outsider", True, AFTER, False),
    ("anonymous", True, AFTER, False),
]


@pytest.mark.parametrize("viewer, posted, now, expected", G1_G2)
def test_g1_g2_who_sees_a_grade(course, people, viewer, posted, now, expected):
    item = _item(course, POSTED_AT if posted else None)
    assert policy.can_view_grade(people[viewer], item, people["owner"].id, now) is expected


G3 = [
    # viewer, course allows, posted, grades, expected
    ("instructor", False, False, 1, True),
    ("ta", False, False, 0, True),
    ("owner", True, True, 5, True),
    ("owner", True, True, 4, False),  # never under five grades
    ("owner", False, True, 30, False),  # the course does not allow
    ("owner", True, False, 30, False),  # not posted
    ("classmate", True, True, 5, True),
    ("outsider", True, True, 30, False),
    ("anonymous", True, True, 30, False),
]


@pytest.mark.parametrize("viewer, allowed, posted, count, expected", G3)
def test_g3_class_statistics(course, people, viewer, allowed, posted, count, expected):
    item = _item(course, POSTED_AT if posted else None)
    assert policy.can_view_statistics(people[viewer], item, count, allowed, AFTER) is expected


CHANGES = [
    # viewer, enter grades/post, weights, rubric, waive, see the gradebook
    ("instructor", True, True, True, True, True),
    ("ta", True, False, False, False, True),
    ("owner", False, False, False, False, False),
    ("outsider", False, False, False, False, False),
    ("anonymous", False, False, False, False, False),
]


@pytest.mark.parametrize("viewer, enter, weights, rubric, waive, see", CHANGES)
def test_who_changes_the_gradebook(course, people, viewer, enter, weights, rubric, waive, see):
    user = people[viewer]
    assert policy.can_enter_grades(user, course.id) is enter
    assert policy.can_set_weights(user, course.id) is weights
    assert policy.can_edit_rubric(user, course.id) is rubric
    assert policy.can_waive_penalty(user, course.id) is waive
    assert policy.can_view_gradebook(user, course.id) is see


def test_g4_a_change_record_holds_old_new_and_reason():
    assert policy.grade_change(70.0, 80.0, "regraded") == {"old": 70.0, "new": 80.0, "reason": "regraded"}


REVIEW_GRADE = [
    # viewer, the review's gradebook item (none, held, posted at POSTED_AT), moment, may see the grade
    ("instructor", "none", BEFORE, True),
    ("instructor", "held", AFTER, True),
    ("ta", "held", BEFORE, True),
    ("owner", "none", AFTER, False),  # no gradebook item yet: nothing is posted
    ("owner", "held", AFTER, False),
    ("owner", "posted", BEFORE, False),  # posting takes effect at its instant
    ("owner", "posted", AT, True),
    ("owner", "posted", AFTER, True),
    ("classmate", "posted", AFTER, False),
    ("presenter", "posted", AFTER, False),
    ("outsider", "posted", AFTER, False),
    ("anonymous", "posted", AFTER, False),
]


@pytest.mark.parametrize("viewer, item_state, now, expected", REVIEW_GRADE)
def test_g1_on_the_review_page(make, course, people, viewer, item_state, now, expected):
    from core.extensions import db
    from domain.grades.setup import ensure_gradebook

    presenter = make.member(course, name="Pia Presenter")
    people = {**people, "presenter": presenter}
    presentation = make.presentation(course, review_deadline=T0 - timedelta(days=2), presenters=[presenter])
    review = make.review(presentation, people["owner"], submitted_at=T0 - timedelta(days=3))
    if item_state != "none":
        ensure_gradebook(course)
        policy.review_grade_item(presentation.id).posted_at = POSTED_AT if item_state == "posted" else None
        db.session.commit()
    assert (policy.review_grade_item(presentation.id) is None) is (item_state == "none")
    assert policy.can_view_review_grade(people[viewer], review, now) is expected

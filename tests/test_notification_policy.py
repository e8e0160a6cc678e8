"""Policy table for what a notification may say (domain/policy/notifications.py): recipient ×
moment × their own state → a notice or nothing, with ``now`` as a parameter."""
from __future__ import annotations

from datetime import timedelta

import pytest

from core.extensions import db
from core.timeutil import iso
from domain import policy
from models import Grade, GradeCategory, GradeItem, Notification
from tests.support.factories import ROLE_INSTRUCTOR, ROLE_STUDENT, T0

DEADLINE = T0 + timedelta(days=2)
BEFORE, AT, AFTER = DEADLINE - timedelta(hours=1), DEADLINE, DEADLINE + timedelta(seconds=1)


@pytest.fixture
def cast(make):
    course = make.course(timezone="Europe/Berlin")
    people = {
        "staff": make.member(course, ROLE_INSTRUCTOR),
        "author": make.member(course, ROLE_STUDENT),
        "submitted": make.member(course, ROLE_STUDENT),
        "missing": make.member(course, ROLE_STUDENT),
        "extended": make.member(course, ROLE_STUDENT),
        "stranger": make.user(),
    }
    p = make.presentation(course, review_deadline=DEADLINE, presenters=[people["author"]])
    make.review(p, people["submitted"], submitted_at=T0)
    make.extension(p, people["extended"], DEADLINE + timedelta(days=2))
    return dict(course=course, p=p, **people)


def notice(cast, who, kind, now, subject_id=None, **fields):
    user = cast[who]
    row = Notification(user_id=user.id, course_id=cast["course"].id, kind=kind, subject_type="x",
                       subject_id=subject_id or cast["p"].id, params=fields.pop("params", {}), **fields)
    return policy.notice_for(user, row, now)


@pytest.mark.parametrize("who, now, expected", [
    ("missing", BEFORE, True),
    ("missing", AT, True),
    ("missing", AFTER, False),  # closed: nothing to remind of
    ("submitted", BEFORE, False),
    ("author", BEFORE, False),
    ("staff", BEFORE, False),
    ("extended", BEFORE, False),  # their own deadline is another one
    ("stranger", BEFORE, False),
])
def test_review_reminder(cast, who, now, expected):
    got = notice(cast, who, "review_due", now, params={"deadline": iso(DEADLINE)})
    assert (got is not None) == expected
    if got is not None:
        assert "(Europe/Berlin)" in " ".join(got.lines) and "CET" in " ".join(got.lines)


@pytest.mark.parametrize("who, now, expected", [
    ("submitted", AT, False),  # released strictly after the deadline
    ("submitted", AFTER, True),
    ("missing", AFTER, True),  # V5: closed without submission
    ("extended", AFTER, False),  # V5: still on an extension
    ("author", AFTER, True),  # V6
    ("staff", AFTER, False),  # staff read them anyway
    ("stranger", AFTER, False),
])
def test_release_notice(cast, who, now, expected):
    got = notice(cast, who, "reviews_released", now)
    assert (got is not None) == expected
    if got is not None:
        assert got.title == f"Reviews of “{cast['p'].paper.title}” are released"  # no count, no names
        assert got.lines == (f"The reviews of “{cast['p'].paper.title}” are released and you can read them now.",)


def test_a_notice_speaks_only_to_its_own_recipient(cast):
    row = Notification(user_id=cast["missing"].id, course_id=cast["course"].id, kind="reviews_released",
                       subject_type="presentation", subject_id=cast["p"].id, params={})
    assert policy.notice_for(cast["missing"], row, AFTER) is not None
    assert policy.notice_for(cast["submitted"], row, AFTER) is None
    assert policy.notice_for(None, row, AFTER) is None


@pytest.mark.parametrize("posted, who, expected", [
    (False, "missing", False),
    (True, "missing", True),
    (True, "submitted", False),  # no grade on the item
    (True, "staff", False),
])
def test_grades_posted(cast, posted, who, expected):
    category = GradeCategory(course_id=cast["course"].id, key="reviews", title="Reviews", weight=100)
    db.session.add(category)
    db.session.flush()
    item = GradeItem(course_id=cast["course"].id, category_id=category.id, key="k", title="Review one",
                     posted_at=T0 if posted else None)
    db.session.add(item)
    db.session.flush()
    db.session.add(Grade(course_id=cast["course"].id, item_id=item.id, student_id=cast["missing"].id, score=90.0))
    db.session.commit()
    got = notice(cast, who, "grades_posted", T0 + timedelta(hours=1), subject_id=item.id)
    assert (got is not None) == expected
    if got is not None:
        assert "90" not in " ".join(got.lines)  # the grade stays on its page


@pytest.mark.parametrize("kind, who, expected", [
    ("extension_granted", "extended", True),
    ("extension_granted", "missing", False),
    ("extension_revoked", "missing", True),
    ("extension_revoked", "extended", False),  # granted again since
    ("extension_revoked", "author", False),
])
def test_extension_notices_say_what_holds_now(cast, kind, who, expected):
    assert (notice(cast, who, kind, T0) is not None) == expected


def test_an_unknown_kind_says_nothing(cast):
    assert notice(cast, "missing", "no_such_kind", T0) is None

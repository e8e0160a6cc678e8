"""The policy table: rules V1–V9 for every kind of viewer at every moment that matters.

Pure calls into ``policy`` (no HTTP, no clock): the database holds one course, and ``now`` is
passed in. Each table row is a viewer; its columns are the moments below, in order.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import request
from flask_login import AnonymousUserMixin
from sqlalchemy import delete, event, insert, update

from domain import policy
from core.extensions import db
from models import MEMBER_SUMMARY, PresentationMember
from app import create_app
from tests.support.factories import T0, Factory

DEADLINE = T0 + timedelta(days=1)
EXTENDED = DEADLINE + timedelta(days=2)
MOMENTS = {
    "1h-before": DEADLINE - timedelta(hours=1),
    "at-deadline": DEADLINE,
    "deadline+1s": DEADLINE + timedelta(seconds=1),
    "after-extension": EXTENDED + timedelta(seconds=1),
}
Y, N = True, False

VIEWERS = (
    "instructor",
    "ta",
    "author_presenting",
    "author_summary",
    "critic_on_time",
    "critic_missing",
    "critic_ext_submitted",
    "critic_ext_pending",
    "other_course_student",
    "anonymous",
)


def build_world(make) -> dict:
    """One presentation; critics in every state; reviews by the critics who submitted."""
    course = make.course(timezone="America/New_York", late_policy="refuse")
    other = make.course()
    people = {
        "instructor": make.member(course, "instructor", "Ines Instructor"),
        "ta": make.member(course, "ta", "Theo TA"),
        "author_presenting": make.member(course, name="Pat Presenter"),
        "author_summary": make.member(course, name="Sue Summary"),
        "critic_on_time": make.member(course, name="Olive Ontime"),
        "critic_missing": make.member(course, name="Max Missing"),
        "critic_ext_submitted": make.member(course, name="Ed Extended"),
        "critic_ext_pending": make.member(course, name="Eve Extended"),
        "writer": make.member(course, name="Wanda Writer"),
        "other_course_student": make.member(other, name="Otto Other"),
        "anonymous": AnonymousUserMixin(),
    }
    presentation = make.presentation(
        course,
        review_deadline=DEADLINE,
        presenters=[people["author_presenting"]],
        summarizers=[people["author_summary"]],
    )
    make.extension(presentation, people["critic_ext_submitted"], EXTENDED)
    make.extension(presentation, people["critic_ext_pending"], EXTENDED)
    reviews = {
        "on_time": make.review(presentation, people["critic_on_time"], submitted_at=DEADLINE - timedelta(hours=2)),
        "ext": make.review(presentation, people["critic_ext_submitted"], submitted_at=DEADLINE - timedelta(hours=3)),
        "target": make.review(presentation, people["writer"], submitted_at=DEADLINE - timedelta(hours=1)),
        "draft": make.review(presentation, people["critic_missing"]),
        "ext_draft": make.review(presentation, people["critic_ext_pending"]),
    }
    return {"course": course, "presentation": presentation, "people": people, "reviews": reviews}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The table's world, built once: the tables only read it (``settings`` restores changes)."""
    shared = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "policy-table-secret-key",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path_factory.mktemp('policy') / 'p.sqlite3'}",
            "SOCKETIO_ASYNC_MODE": "threading",
            "SOCKETIO_MESSAGE_QUEUE": None,
        }
    )
    with shared.app_context():
        db.create_all()
        yield build_world(Factory())
        db.session.remove()
        db.drop_all()


@pytest.fixture
def fresh_world(app, make):
    """A world of its own, for tests that change groups, roles, extensions or reviews."""
    return build_world(make)


@pytest.fixture
def settings(world):
    """``settings(late_policy=..., grace_minutes=...)`` on the shared course, undone afterwards."""
    course = world["course"]
    saved = {}

    def _set(**values):
        for key, value in values.items():
            saved.setdefault(key, getattr(course, key))
            setattr(course, key, value)
        db.session.commit()

    yield _set
    for key, value in saved.items():
        setattr(course, key, value)
    db.session.commit()


def table(rows: dict[str, tuple], moments=tuple(MOMENTS)) -> list:
    """Flatten {viewer: (expected per moment)} into readable parametrised cases."""
    cases = []
    for viewer, expected in rows.items():
        assert len(expected) == len(moments), viewer
        for moment, value in zip(moments, expected):
            cases.append(pytest.param(viewer, moment, value, id=f"{viewer}@{moment}"))
    return cases


def by_late_policy(refuse: dict[str, tuple], accept: dict[str, tuple]) -> list:
    """Cases for both late policies: (late_policy, viewer, moment, expected)."""
    return [
        pytest.param(late_policy, *case.values, id=f"{late_policy}:{case.id}")
        for late_policy, rows in (("refuse", refuse), ("accept", accept))
        for case in table(rows)
    ]


# --------------------------------------------------------------------------- V1–V6: may see a submitted review

#                          1h-before  at-deadline  deadline+1s  after-extension
SEE_OTHERS_REFUSE = {
    "instructor":            (Y, Y, Y, Y),  # V2
    "ta":                    (Y, Y, Y, Y),  # V2
    "author_presenting":     (N, N, Y, Y),  # V3, V6
    "author_summary":        (N, N, Y, Y),  # V3, V6
    "critic_on_time":        (N, N, Y, Y),  # V3, V4
    "critic_missing":        (N, N, Y, Y),  # V5: deadline passed, submission closed
    "critic_ext_submitted":  (N, N, Y, Y),  # V4: own review is in
    "critic_ext_pending":    (N, N, N, Y),  # V5: not until the extension ends
    "other_course_student":  (N, N, N, N),
    "anonymous":             (N, N, N, N),
}
# With late work accepted, submission never closes: a student who has not submitted waits.
SEE_OTHERS_ACCEPT = {
    **SEE_OTHERS_REFUSE,
    "critic_missing":        (N, N, N, N),
    "critic_ext_pending":    (N, N, N, N),
}


@pytest.mark.parametrize("late_policy, viewer, moment, expected", by_late_policy(SEE_OTHERS_REFUSE, SEE_OTHERS_ACCEPT))
def test_can_view_review(world, settings, late_policy, viewer, moment, expected):
    settings(late_policy=late_policy)
    review = world["reviews"]["target"]
    assert policy.can_view_review(world["people"][viewer], review, MOMENTS[moment]) is expected


@pytest.mark.parametrize("late_policy, viewer, moment, expected", by_late_policy(SEE_OTHERS_REFUSE, SEE_OTHERS_ACCEPT))
def test_can_read_others(world, settings, late_policy, viewer, moment, expected):
    settings(late_policy=late_policy)
    who = world["people"][viewer]
    assert policy.can_read_others(who, world["presentation"], MOMENTS[moment]) is expected


@pytest.mark.parametrize("moment", MOMENTS)
def test_writer_always_sees_own_submitted_review(world, moment):
    writer = world["people"]["writer"]
    assert policy.can_view_review(writer, world["reviews"]["target"], MOMENTS[moment])


# --------------------------------------------------------------------------- V1: drafts

DRAFT_OWNER = "critic_missing"


@pytest.mark.parametrize(
    "viewer, moment, expected",
    table({v: (v == DRAFT_OWNER,) * 4 for v in VIEWERS}),
)
def test_draft_is_visible_to_its_writer_only(world, viewer, moment, expected):
    draft = world["reviews"]["draft"]
    assert policy.can_view_review(world["people"][viewer], draft, MOMENTS[moment]) is expected


@pytest.mark.parametrize("moment", MOMENTS)
def test_drafts_are_never_listed_or_counted(world, moment):
    instructor = world["people"]["instructor"]
    listed = policy.visible_reviews(instructor, world["presentation"], MOMENTS[moment])
    assert world["reviews"]["draft"] not in listed and world["reviews"]["ext_draft"] not in listed
    assert all(r.is_submitted for r in listed)


# --------------------------------------------------------------------------- V3: counts

# Submitted reviews: on_time, ext, target (3). A writer never counts their own.
#                          1h-before  at-deadline  deadline+1s  after-extension
COUNT_REFUSE = {
    "instructor":            (3, 3, 3, 3),
    "ta":                    (3, 3, 3, 3),
    "author_presenting":     (None, None, 3, 3),
    "author_summary":        (None, None, 3, 3),
    "critic_on_time":        (None, None, 2, 2),
    "critic_missing":        (None, None, 3, 3),
    "critic_ext_submitted":  (None, None, 2, 2),
    "critic_ext_pending":    (None, None, None, 3),
    "other_course_student":  (None, None, None, None),
    "anonymous":             (None, None, None, None),
}


@pytest.mark.parametrize("viewer, moment, expected", table(COUNT_REFUSE))
def test_visible_review_count(world, viewer, moment, expected):
    who = world["people"][viewer]
    assert policy.visible_review_count(who, world["presentation"], MOMENTS[moment]) == expected


@pytest.mark.parametrize("viewer, moment, expected", table(COUNT_REFUSE))
def test_visible_reviews_match_the_count(world, viewer, moment, expected):
    who = world["people"][viewer]
    listed = policy.visible_reviews(who, world["presentation"], MOMENTS[moment])
    assert len(listed) == (expected or 0)
    assert all(policy.can_view_review(who, r, MOMENTS[moment]) for r in listed)


# --------------------------------------------------------------------------- writing and editing

#                          1h-before  at-deadline  deadline+1s  after-extension
WRITE_REFUSE = {
    "instructor":            (N, N, N, N),
    "ta":                    (N, N, N, N),
    "author_presenting":     (N, N, N, N),  # V6: authors do not review
    "author_summary":        (N, N, N, N),
    "critic_on_time":        (Y, Y, N, N),  # edits until the deadline, inclusive
    "critic_missing":        (Y, Y, N, N),  # closed after the deadline
    "critic_ext_submitted":  (Y, Y, N, N),  # V5: no edits once reviews are released
    "critic_ext_pending":    (Y, Y, Y, N),  # may still submit until the extension ends
    "other_course_student":  (N, N, N, N),
    "anonymous":             (N, N, N, N),
}
WRITE_ACCEPT = {
    **WRITE_REFUSE,
    "critic_missing":        (Y, Y, Y, Y),  # late, accepted and marked
    "critic_ext_pending":    (Y, Y, Y, Y),
}


@pytest.mark.parametrize("late_policy, viewer, moment, expected", by_late_policy(WRITE_REFUSE, WRITE_ACCEPT))
def test_can_write_review(world, settings, late_policy, viewer, moment, expected):
    settings(late_policy=late_policy)
    who = world["people"][viewer]
    assert policy.can_write_review(who, world["presentation"], MOMENTS[moment]) is expected


#                          1h-before  at-deadline  deadline+1s  after-extension
EDIT_OWN = {
    "critic_on_time":        (Y, Y, N, N),
    "critic_ext_submitted":  (Y, Y, N, N),
}


@pytest.mark.parametrize("late_policy", ["refuse", "accept"])
@pytest.mark.parametrize("viewer, moment, expected", table(EDIT_OWN))
def test_can_edit_submitted_own(world, settings, viewer, moment, expected, late_policy):
    settings(late_policy=late_policy)
    review = {"critic_on_time": "on_time", "critic_ext_submitted": "ext"}[viewer]
    who = world["people"][viewer]
    assert policy.can_edit_submitted(who, world["reviews"][review], MOMENTS[moment]) is expected


@pytest.mark.parametrize("viewer, moment", [(v, m) for v in VIEWERS for m in MOMENTS])
def test_nobody_edits_someone_elses_review(world, viewer, moment):
    review = world["reviews"]["target"]
    assert not policy.can_edit_submitted(world["people"][viewer], review, MOMENTS[moment])


def test_a_final_review_cannot_be_edited_even_before_release(fresh_world):
    """V5: a review marked final stays final whatever the moment."""
    review = fresh_world["reviews"]["ext"]
    who = fresh_world["people"]["critic_ext_submitted"]
    assert policy.can_edit_submitted(who, review, MOMENTS["1h-before"])
    review.is_final = True
    db.session.commit()
    assert not policy.can_edit_submitted(who, review, MOMENTS["1h-before"])
    assert not policy.can_write_review(who, fresh_world["presentation"], MOMENTS["1h-before"])


# --------------------------------------------------------------------------- submission window

#                          1h-before  at-deadline  deadline+1s  after-extension
WINDOW_REFUSE = {
    "critic_missing":        ("open", "open", "closed", "closed"),
    "critic_ext_pending":    ("open", "open", "open", "closed"),
}
WINDOW_ACCEPT = {
    "critic_missing":        ("open", "open", "late", "late"),
    "critic_ext_pending":    ("open", "open", "open", "late"),
}


@pytest.mark.parametrize("late_policy, viewer, moment, expected", by_late_policy(WINDOW_REFUSE, WINDOW_ACCEPT))
def test_submission_window(world, settings, late_policy, viewer, moment, expected):
    settings(late_policy=late_policy)
    who = world["people"][viewer]
    assert policy.submission_window(who.id, world["presentation"], MOMENTS[moment]) == expected


GRACE = timedelta(minutes=10)
GRACE_MOMENTS = {
    "deadline+1s": DEADLINE + timedelta(seconds=1),
    "deadline+grace": DEADLINE + GRACE,
    "deadline+grace+1s": DEADLINE + GRACE + timedelta(seconds=1),
    "extension+grace": EXTENDED + GRACE,
    "extension+grace+1s": EXTENDED + GRACE + timedelta(seconds=1),
}


@pytest.mark.parametrize(
    "viewer, moment, expected",
    table(
        {
            "critic_missing": ("open", "open", "closed", "closed", "closed"),
            "critic_ext_pending": ("open", "open", "open", "open", "closed"),
        },
        moments=tuple(GRACE_MOMENTS),
    ),
)
def test_grace_minutes_extend_every_deadline(world, settings, viewer, moment, expected):
    settings(grace_minutes=10)
    who = world["people"][viewer]
    assert policy.submission_window(who.id, world["presentation"], GRACE_MOMENTS[moment]) == expected


@pytest.mark.parametrize(
    "moment, released",
    [("deadline+1s", False), ("deadline+grace", False), ("deadline+grace+1s", True)],
)
def test_grace_minutes_delay_the_release(world, settings, moment, released):
    settings(grace_minutes=10)
    presentation, now = world["presentation"], GRACE_MOMENTS[moment]
    assert policy.is_released(presentation, now) is released
    author = world["people"]["author_presenting"]
    assert policy.can_read_others(author, presentation, now) is released
    assert policy.can_view_review(author, world["reviews"]["target"], now) is released


def test_without_grace_nothing_is_added(world):
    presentation = world["presentation"]
    assert world["course"].grace_minutes == 0
    assert policy.release_at(presentation) == DEADLINE
    assert not policy.is_released(presentation, DEADLINE)
    assert policy.is_released(presentation, DEADLINE + timedelta(seconds=1))


# --------------------------------------------------------------------------- labels and feedback

WRITER_NAME = "Wanda Writer"


@pytest.mark.parametrize(
    "viewer, name_reviewers, expected",
    [
        pytest.param("instructor", False, WRITER_NAME, id="instructor-sees-name"),
        pytest.param("ta", False, WRITER_NAME, id="ta-sees-name"),
        pytest.param("author_presenting", False, "Reviewer C", id="author-sees-pseudonym"),
        pytest.param("author_summary", False, "Reviewer C", id="summary-author-sees-pseudonym"),
        pytest.param("critic_on_time", False, "Reviewer C", id="critic-sees-pseudonym"),
        pytest.param("anonymous", False, "Reviewer C", id="anonymous-pseudonym"),
        pytest.param("writer", False, "You", id="writer-sees-you"),
        pytest.param("author_presenting", True, WRITER_NAME, id="named-course-author-sees-name"),
        pytest.param("critic_on_time", True, WRITER_NAME, id="named-course-critic-sees-name"),
        pytest.param("instructor", True, WRITER_NAME, id="named-course-instructor"),
        pytest.param("writer", True, "You", id="named-course-writer-sees-you"),
    ],
)
def test_reviewer_label(world, settings, viewer, name_reviewers, expected):
    settings(name_reviewers=name_reviewers)
    review = world["reviews"]["target"]
    assert review.pseudonym_no == 3
    assert policy.reviewer_label(world["people"][viewer], review) == expected


@pytest.mark.parametrize("number, label", [(1, "Reviewer A"), (3, "Reviewer C"), (26, "Reviewer Z"), (27, "Reviewer AA"), (None, "Reviewer")])
def test_pseudonym_letters(number, label):
    assert policy.pseudonym(number) == label


FEEDBACK = {
    "instructor": Y,
    "ta": Y,
    "writer": Y,
    "author_presenting": N,
    "author_summary": N,
    "critic_on_time": N,
    "critic_missing": N,
    "critic_ext_submitted": N,
    "critic_ext_pending": N,
    "other_course_student": N,
    "anonymous": N,
}


@pytest.mark.parametrize("viewer, expected", [pytest.param(v, e, id=v) for v, e in FEEDBACK.items()])
def test_can_view_feedback(world, viewer, expected):
    """V7: feedback and grade reach the writer and staff only, even after release."""
    assert policy.can_view_feedback(world["people"][viewer], world["reviews"]["target"]) is expected


# --------------------------------------------------------------------------- V8

@pytest.mark.parametrize("viewer", ["critic_on_time", "author_presenting", "other_course_student", "anonymous"])
def test_hidden_review_is_answered_like_a_missing_one(world, viewer):
    who, now = world["people"][viewer], MOMENTS["1h-before"]
    assert policy.visible_review(who, world["reviews"]["target"].id, now) is None
    assert policy.visible_review(who, 10_000, now) is None


def test_visible_review_returns_a_visible_review(world):
    review = world["reviews"]["target"]
    assert policy.visible_review(world["people"]["ta"], review.id, MOMENTS["1h-before"]) is review


# --------------------------------------------------------------------------- V9: the next call follows the change


def test_moving_a_critic_into_the_author_group_applies_on_the_next_call(fresh_world):
    presentation, who = fresh_world["presentation"], fresh_world["people"]["critic_missing"]
    before, after = MOMENTS["1h-before"], MOMENTS["deadline+1s"]
    fresh_world["course"].late_policy = "accept"
    db.session.commit()
    assert policy.must_review(who, presentation)
    assert policy.can_write_review(who, presentation, before)
    assert not policy.can_read_others(who, presentation, after)  # late window, nothing submitted

    db.session.add(
        PresentationMember(course_id=presentation.course_id, presentation=presentation, user=who, kind=MEMBER_SUMMARY, seat=2)
    )
    db.session.commit()

    assert not policy.must_review(who, presentation)
    assert not policy.can_write_review(who, presentation, before)
    assert not policy.can_read_others(who, presentation, before)  # still V3 before release
    assert policy.can_read_others(who, presentation, after)  # V6 as an author
    assert who.id not in {u.id for u in policy.reviewers_of(presentation)}


def test_granting_an_extension_applies_on_the_next_call(fresh_world, make):
    presentation, who = fresh_world["presentation"], fresh_world["people"]["critic_missing"]
    now = MOMENTS["deadline+1s"]
    assert policy.submission_window(who.id, presentation, now) == "closed"
    assert policy.can_read_others(who, presentation, now)
    assert not policy.can_write_review(who, presentation, now)

    make.extension(presentation, who, EXTENDED)

    assert policy.personal_deadline(who.id, presentation) == EXTENDED
    assert policy.submission_window(who.id, presentation, now) == "open"
    assert not policy.can_read_others(who, presentation, now)
    assert not policy.can_view_review(who, fresh_world["reviews"]["target"], now)
    assert policy.visible_review_count(who, presentation, now) is None
    assert policy.can_write_review(who, presentation, now)


def test_revoking_an_extension_applies_on_the_next_call(fresh_world):
    presentation, who = fresh_world["presentation"], fresh_world["people"]["critic_ext_pending"]
    now = MOMENTS["deadline+1s"]
    assert policy.can_write_review(who, presentation, now)
    db.session.delete(policy.extension_for(who.id, presentation))
    db.session.commit()
    assert not policy.can_write_review(who, presentation, now)
    assert policy.can_read_others(who, presentation, now)


def test_a_role_change_applies_on_the_next_call(fresh_world):
    from models import Enrollment

    presentation, who = fresh_world["presentation"], fresh_world["people"]["critic_missing"]
    now = MOMENTS["1h-before"]
    assert not policy.can_view_review(who, fresh_world["reviews"]["target"], now)
    enrollment = db.session.query(Enrollment).filter_by(user_id=who.id, course_id=presentation.course_id).one()
    enrollment.role = "ta"
    db.session.commit()
    assert policy.can_view_review(who, fresh_world["reviews"]["target"], now)
    assert not policy.can_write_review(who, presentation, now)


# --------------------------------------------------------------------------- one read per HTTP request


@pytest.fixture
def statements(app):
    """The SQL statements run from here on (a list; ``statements.clear()`` starts again)."""
    seen: list[str] = []

    def note(conn, cursor, statement, *rest):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    yield seen
    event.remove(db.engine, "before_cursor_execute", note)


def _ask_everything(who, presentation) -> tuple:
    return (
        policy.course_role(who, presentation.course_id),
        policy.is_author(who, presentation),
        policy.own_review(who, presentation),
        policy.extension_for(who.id, presentation),
    )


def test_one_request_reads_each_question_once(fresh_world, app, statements):
    presentation, who = fresh_world["presentation"], fresh_world["people"]["critic_ext_pending"]
    assert presentation.course.id and who.id  # loaded before counting
    with app.test_request_context("/"):
        statements.clear()
        first = _ask_everything(who, presentation)
        assert _ask_everything(who, presentation) == first
        assert policy.can_write_review(who, presentation, MOMENTS["deadline+1s"])
        assert len(statements) == 4
    role, author, review, extension = first
    assert (role, author, review) == ("student", False, fresh_world["reviews"]["ext_draft"])
    assert extension.deadline == EXTENDED


def test_the_next_request_reads_again(fresh_world, app):
    """A change the request's session did not make (another process) is seen by the next request."""
    presentation, who = fresh_world["presentation"], fresh_world["people"]["critic_missing"]
    with app.test_request_context("/"):
        assert policy.must_review(who, presentation)
    with db.engine.begin() as other_process:
        other_process.execute(
            insert(PresentationMember).values(
                course_id=presentation.course_id, presentation_id=presentation.id, user_id=who.id, kind=MEMBER_SUMMARY, seat=2
            )
        )
    with app.test_request_context("/"):
        assert not policy.must_review(who, presentation)


def test_a_write_in_the_request_is_seen_by_its_next_call(fresh_world, app):
    presentation, who = fresh_world["presentation"], fresh_world["people"]["critic_missing"]
    with app.test_request_context("/"):
        assert policy.must_review(who, presentation)
        db.session.add(
            PresentationMember(course_id=presentation.course_id, presentation=presentation, user=who, kind=MEMBER_SUMMARY, seat=2)
        )
        assert not policy.must_review(who, presentation)  # pending: read again, autoflushed
        db.session.commit()
        assert not policy.must_review(who, presentation)
        db.session.execute(delete(PresentationMember).where(PresentationMember.user_id == who.id))
        assert policy.must_review(who, presentation)  # a bulk write forgets what was read
        db.session.rollback()
        assert not policy.must_review(who, presentation)  # and so does a rollback


def test_a_socket_event_reads_once_until_its_room_lock(fresh_world, app, statements):
    """A Socket.IO event (``request.sid`` set) remembers like a request; the write that takes
    the room lock forgets, so permissions are checked again under the lock."""
    presentation, who = fresh_world["presentation"], fresh_world["people"]["critic_missing"]
    assert presentation.course_id and who.id  # loaded before counting
    with app.test_request_context("/"):
        request.sid = "socket-1"
        statements.clear()
        first = _ask_everything(who, presentation)
        assert _ask_everything(who, presentation) == first
        assert len(statements) == 4
        db.session.execute(
            update(PresentationMember).where(PresentationMember.presentation_id == -1).values(seat=1)
        )
        statements.clear()
        assert _ask_everything(who, presentation) == first
        assert len(statements) == 4
        db.session.rollback()
    assert presentation.course_id and who.id  # reloaded after the rollback, before counting
    with app.test_request_context("/"):
        request.sid = "socket-2"  # the next event reads again
        statements.clear()
        _ask_everything(who, presentation)
        assert len(statements) == 4

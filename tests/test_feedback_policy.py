"""Rules F1–F7 as a table: viewer × moment → may they learn anything of a piece of feedback.

No HTTP and no clock: ``now`` is a parameter. The presenting group is created as rows; the talk
and the feedback through the domain operations a click uses.
"""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from core.extensions import db
from domain import policy
from domain.project import feedback as peer_feedback
from domain.project import talks
from models import AuditEvent, PeerFeedback, ProjectGroup, ProjectMember
from tests.support.factories import T0

SECRET = "SECRET-feedback-okapi-7171"


def make_group(course, members, name="Group Okapi") -> ProjectGroup:
    """A project group with these members (rows written directly)."""
    group = ProjectGroup(course_id=course.id, name=name, solo=len(members) == 1)
    db.session.add(group)
    db.session.flush()
    for seat, user in enumerate(members, 1):
        db.session.add(ProjectMember(course_id=course.id, group_id=group.id, user_id=user.id, seat=seat))
    db.session.commit()
    return group


def give_feedback(user, talk, now, text="Clear talk.", rating=4, submit=True) -> PeerFeedback:
    """A student's feedback through the domain, submitted unless ``submit`` is false."""
    fields = peer_feedback.feedback_form_fields(talk.group.course)
    data = peer_feedback.FeedbackInput(answers={"worked": text, "improve": f"More on {text}"}, rating=rating)
    operation = peer_feedback.submit if submit else peer_feedback.save_draft
    piece = operation(user, talk, fields, data, now)
    db.session.commit()
    return piece


def feedback_world(make, session_start=None):
    """A course with every kind of viewer and a checkpoint talk whose window opens at its session."""
    course = make.course(timezone="America/New_York")
    other_course = make.course()
    people = SimpleNamespace(
        instructor=make.member(course, "instructor", "Ina Instructor"),
        ta=make.member(course, "ta", "Tom TA"),
        presenter=make.member(course, name="Pia Presenter"),
        partner=make.member(course, name="Paul Partner"),
        writer=make.member(course, name="Wendy Writer"),
        giver=make.member(course, name="Gus Giver"),
        nongiver=make.member(course, name="Nora Nongiver"),
        outsider=make.member(other_course, name="Olga Outsider"),
    )
    group = make_group(course, [people.presenter, people.partner])
    session = make.session(course, starts_at=session_start or T0 + timedelta(hours=1))
    talk = talks.add_talk(course, group, session, "checkpoint", people.instructor.id)
    db.session.commit()
    opened = talk.session.starts_at + timedelta(minutes=5)
    secret = give_feedback(people.writer, talk, opened, text=SECRET, rating=5)
    give_feedback(people.giver, talk, opened, text="An ordinary comment.", rating=3)
    return SimpleNamespace(course=course, other_course=other_course, people=people, group=group,
                           session=session, talk=talk, secret=secret)


@pytest.fixture
def world(app, make):
    return feedback_world(make)


def _moment(w, name):
    """(now, close override) for each moment of the table."""
    close = w.talk.feedback_closes_at
    return {
        "before_talk": (w.session.starts_at - timedelta(minutes=1), None),
        "window_open": (w.session.starts_at + timedelta(minutes=30), None),
        "at_close": (close, None),
        "one_second_after": (close + timedelta(seconds=1), None),
        "after_close_moved_later": (close + timedelta(seconds=1), close + timedelta(days=1)),
    }[name]


MOMENTS = ["before_talk", "window_open", "at_close", "one_second_after", "after_close_moved_later"]
VIEWERS = ["instructor", "ta", "presenter", "partner", "writer", "giver", "nongiver", "outsider", "anonymous"]

# Who may learn anything of another student's submitted feedback, at each moment.
SEES_SUBMITTED = {
    "instructor": {m: True for m in MOMENTS},  # F2
    "ta": {m: True for m in MOMENTS},  # F2
    "writer": {m: True for m in MOMENTS},  # own feedback, always
    # F3 sealed until strictly after the close, F4 released after; a later close seals it again.
    "presenter": {"before_talk": False, "window_open": False, "at_close": False,
                  "one_second_after": True, "after_close_moved_later": False},
    "partner": {"before_talk": False, "window_open": False, "at_close": False,
                "one_second_after": True, "after_close_moved_later": False},
    "giver": {m: False for m in MOMENTS},  # F5
    "nongiver": {m: False for m in MOMENTS},  # F5
    "outsider": {m: False for m in MOMENTS},
    "anonymous": {m: False for m in MOMENTS},
}


def _viewer(w, name):
    return None if name == "anonymous" else getattr(w.people, name)


def _apply_close(w, override):
    if override is not None:
        talks.update_talk(w.talk, w.session, w.talk.order, w.talk.minutes, override, w.people.instructor.id)
        db.session.commit()


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("viewer_name", VIEWERS)
def test_submitted_feedback_table(world, viewer_name, moment):
    now, override = _moment(world, moment)
    _apply_close(world, override)
    viewer = _viewer(world, viewer_name)
    expected = SEES_SUBMITTED[viewer_name][moment]
    assert policy.can_view_peer_feedback(viewer, world.secret, now) is expected
    # F7: what may not be seen is answered like what does not exist.
    found = policy.f7_visible_peer_feedback(viewer, world.secret.id, now)
    assert (found is not None) is expected
    # F3: neither the list nor its count says anything to those it is sealed from.
    listed = policy.visible_peer_feedback_list(viewer, world.talk, now)
    count = policy.visible_peer_feedback_count(viewer, world.talk, now)
    if viewer_name in ("instructor", "ta") or expected and viewer_name != "writer":
        assert world.secret in listed and count == 2
    else:
        assert listed == [] and count is None


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("viewer_name", VIEWERS)
def test_draft_is_the_writers_only(world, make, viewer_name, moment):
    """F1: a draft is visible to its writer only, staff included among those who may not."""
    now, override = _moment(world, moment)
    drafter = make.member(world.course, name="Dana Drafter")
    draft = give_feedback(drafter, world.talk, world.session.starts_at + timedelta(minutes=1), text=SECRET, submit=False)
    _apply_close(world, override)
    viewer = _viewer(world, viewer_name)
    assert policy.can_view_peer_feedback(viewer, draft, now) is False
    assert policy.can_view_peer_feedback(drafter, draft, now) is True
    assert draft not in policy.visible_peer_feedback_list(viewer, world.talk, now)


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("viewer_name", VIEWERS)
def test_writing_window(world, viewer_name, moment):
    """Every student outside the group writes while the window is open, the close instant included."""
    now, override = _moment(world, moment)
    _apply_close(world, override)
    viewer = _viewer(world, viewer_name)
    open_now = moment in ("window_open", "at_close", "after_close_moved_later")
    gives = viewer_name in ("writer", "giver", "nongiver")
    assert policy.can_write_feedback(viewer, world.talk, now) is (gives and open_now)


def test_window_opens_at_session_start_or_earlier_when_staff_open_it(world):
    start = world.session.starts_at
    assert policy.feedback_opens_at(world.talk) == start
    assert world.talk.feedback_closes_at == start + timedelta(minutes=90, hours=48)
    early = start - timedelta(hours=2)
    talks.open_feedback_now(world.talk, early, world.people.ta.id)
    db.session.commit()
    assert policy.is_feedback_open(world.talk, early)
    assert not policy.is_feedback_open(world.talk, early - timedelta(seconds=1))
    assert db.session.query(AuditEvent).filter_by(kind="feedback_opened").count() == 1


def test_course_window_setting_moves_the_default_close(app, make):
    course = make.course(feedback_window_hours=24)
    session = make.session(course, starts_at=T0)
    assert policy.default_feedback_close(session, course) == T0 + timedelta(minutes=90, hours=24)


def test_group_reads_released_feedback_in_release_key_order(world, make):
    """F4: in release_key order, never submission order or id, and without names."""
    opened = world.session.starts_at + timedelta(minutes=10)
    for n in range(6):
        give_feedback(make.member(world.course, name=f"Extra {n}"), world.talk, opened, text=f"Comment {n}")
    after = world.talk.feedback_closes_at + timedelta(seconds=1)
    listed = policy.visible_peer_feedback_list(world.people.presenter, world.talk, after)
    assert [f.release_key for f in listed] == sorted(f.release_key for f in listed)
    assert len(listed) == 8
    assert {policy.feedback_writer_label(world.people.presenter, f) for f in listed} == {"A classmate"}
    assert policy.feedback_writer_label(world.people.ta, world.secret) == "Wendy Writer"
    assert policy.feedback_writer_label(world.people.writer, world.secret) == "You"


def test_staff_hold_back_before_release_only(world):
    """F6: held back before release (audited); never released to the group; staff still see it."""
    open_now = world.session.starts_at + timedelta(hours=1)
    assert not policy.f6_can_hold_back(world.people.presenter, world.secret, open_now)
    peer_feedback.hold_back(world.people.ta, world.secret, "Abusive wording", open_now)
    db.session.commit()
    event = db.session.query(AuditEvent).filter_by(kind="feedback_held_back").one()
    assert event.detail["reason"] == "Abusive wording" and event.actor_id == world.people.ta.id
    after = world.talk.feedback_closes_at + timedelta(seconds=1)
    assert not policy.can_view_peer_feedback(world.people.presenter, world.secret, after)
    assert policy.visible_peer_feedback_count(world.people.presenter, world.talk, after) == 1
    assert policy.can_view_peer_feedback(world.people.ta, world.secret, after)
    assert not policy.f6_can_hold_back(world.people.ta, world.secret, after)
    with pytest.raises(peer_feedback.Forbidden):
        peer_feedback.restore(world.people.ta, world.secret, after)


def test_group_marks_released_comments_helpful(world):
    during = world.session.starts_at + timedelta(hours=1)
    after = world.talk.feedback_closes_at + timedelta(seconds=1)
    with pytest.raises(peer_feedback.NotFound):
        peer_feedback.mark_helpful(world.people.presenter, world.secret, True, during)
    with pytest.raises(peer_feedback.NotFound):
        peer_feedback.mark_helpful(world.people.giver, world.secret, True, after)
    peer_feedback.mark_helpful(world.people.partner, world.secret, False, after)
    db.session.commit()
    assert world.secret.helpful is False


def test_missing_feedback_lists_who_gave_none_by_the_close(world):
    late_draft_writer = world.people.nongiver
    give_feedback(late_draft_writer, world.talk, world.session.starts_at + timedelta(hours=1), submit=False)
    assert [u.display_name for u in peer_feedback.missing_feedback(world.talk)] == ["Nora Nongiver"]


def test_submission_outside_the_window_is_refused(world):
    fields = peer_feedback.feedback_form_fields(world.course)
    data = peer_feedback.FeedbackInput(answers={"worked": "x", "improve": "y"}, rating=3)
    for when in (world.session.starts_at - timedelta(seconds=1), world.talk.feedback_closes_at + timedelta(seconds=1)):
        with pytest.raises(peer_feedback.Forbidden):
            peer_feedback.submit(world.people.nongiver, world.talk, fields, data, when)
    with pytest.raises(peer_feedback.Forbidden):
        peer_feedback.submit(world.people.presenter, world.talk, fields, data, world.session.starts_at)
    on_time = peer_feedback.submit(world.people.nongiver, world.talk, fields, data, world.talk.feedback_closes_at)
    assert on_time.is_submitted and on_time.submitted_at == world.talk.feedback_closes_at

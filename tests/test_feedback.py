"""Project talks and peer feedback over HTTP: staff schedule a talk, students write (autosave,
submit, edit) while the window is open, the group reads released feedback without names, staff
see names, hold back before release and see who gave none. The clock moves with ``clock``."""
from __future__ import annotations

from datetime import timedelta

from core.extensions import db
from core.timeutil import to_local_input
from models import AuditEvent, PeerFeedback, ProjectTalk
from tests.support.factories import T0
from test_feedback_policy import SECRET, feedback_world

import pytest


@pytest.fixture
def world(app, make, clock):
    return feedback_world(make)


def _opened(w):
    return w.session.starts_at + timedelta(minutes=20)


def _after(w):
    return w.talk.feedback_closes_at + timedelta(seconds=1)


def test_staff_add_a_talk_and_it_shows_on_the_session_page(app, make, login_as, clock):
    w = feedback_world(make)
    second = make.session(w.course, starts_at=T0 + timedelta(days=3))
    staff = login_as(w.people.instructor)
    resp = staff.post(f"/courses/{w.course.id}/project/talks/new", data={
        "group_id": w.group.id, "kind": "final", "session_id": second.id, "order": 2, "minutes": 15,
    })
    assert resp.status_code == 302
    talk = db.session.query(ProjectTalk).filter_by(kind="final").one()
    assert talk.feedback_closes_at == second.starts_at + timedelta(minutes=90, hours=48)
    page = login_as(w.people.giver).get(f"/courses/{w.course.id}/project/sessions/{second.id}/talks")
    assert page.status_code == 200 and b"Final talk: Group Okapi" in page.data
    # The same kind twice for one group is refused with a message, nothing stored.
    again = staff.post(f"/courses/{w.course.id}/project/talks/new", data={
        "group_id": w.group.id, "kind": "final", "session_id": second.id, "order": 1, "minutes": 15,
    }, follow_redirects=True)
    assert b"already has a final talk" in again.data
    assert db.session.query(ProjectTalk).filter_by(kind="final").count() == 1
    # Students cannot add talks.
    assert login_as(w.people.giver).get(f"/courses/{w.course.id}/project/talks/new").status_code == 403


def test_staff_move_the_close_and_it_is_audited(world, login_as):
    staff = login_as(world.people.instructor)
    later = world.talk.feedback_closes_at + timedelta(days=1)
    resp = staff.post(f"/courses/{world.course.id}/project/talks/{world.talk.id}/edit", data={
        "group_id": world.group.id, "kind": "checkpoint", "session_id": world.session.id, "order": 1,
        "minutes": 12, "closes_at": to_local_input(later, world.course.timezone),
    })
    assert resp.status_code == 302
    db.session.expire_all()
    assert world.talk.feedback_closes_at == later.replace(second=0, microsecond=0)
    assert db.session.query(AuditEvent).filter_by(kind="feedback_close_changed").count() == 1


def test_draft_autosaves_privately_then_submits_and_edits_until_close(world, login_as, clock):
    clock.to(_opened(world))
    me = login_as(world.people.nongiver)
    base = f"/courses/{world.course.id}/project/talks/{world.talk.id}/feedback"
    saved = me.post(base + "/draft", json={"answer_worked": "DRAFT-marmot-5151", "rating": "2"})
    assert saved.status_code == 200 and saved.headers["Cache-Control"] == "no-store"
    piece = db.session.query(PeerFeedback).filter_by(author_id=world.people.nongiver.id).one()
    assert piece.status == "draft" and piece.rating == 2
    # F1: the draft is nobody else's, staff included.
    assert b"DRAFT-marmot-5151" not in login_as(world.people.instructor).get(base).data
    # Submitting without the required fields shows them; with them it is submitted.
    incomplete = me.post(base + "/write", data={"answer_worked": "ok", "rating": "", "action": "submit"})
    assert b"Choose a rating" in incomplete.data
    done = me.post(base + "/write", data={"answer_worked": "Good demo", "answer_improve": "Slower", "rating": "4",
                                          "action": "submit"})
    assert done.status_code == 302
    db.session.expire_all()
    assert piece.status == "submitted" and piece.submitted_at == _opened(world)
    # Autosave stops once submitted; edits go through the form until the close instant itself.
    assert me.post(base + "/draft", json={"answer_worked": "x"}).status_code == 409
    clock.to(world.talk.feedback_closes_at)
    assert me.post(base + "/write", data={"answer_worked": "Edited", "answer_improve": "Slower", "rating": "5",
                                          "action": "submit"}).status_code == 302
    clock.to(_after(world))
    late = me.post(base + "/write", data={"answer_worked": "Too late", "answer_improve": "x", "rating": "1",
                                          "action": "submit"})
    assert late.status_code == 403
    db.session.expire_all()
    assert piece.answers["worked"] == "Edited" and piece.rating == 5


def test_group_reads_nothing_before_close_and_anonymous_feedback_after(world, login_as, clock):
    base = f"/courses/{world.course.id}/project/talks/{world.talk.id}/feedback"
    presenter = login_as(world.people.presenter)
    clock.to(world.talk.feedback_closes_at)
    sealed = presenter.get(base)
    assert SECRET.encode() not in sealed.data and b"sealed until the window closes" in sealed.data
    assert presenter.get(base + ".json").get_json()["feedback"] == []
    clock.to(_after(world))
    released = presenter.get(base)
    assert SECRET.encode() in released.data
    assert b"Wendy Writer" not in released.data and b"Gus Giver" not in released.data
    body = presenter.get(base + ".json").get_json()["feedback"]
    assert [p["writer"] for p in body] == ["A classmate", "A classmate"]
    assert "status" not in body[0] and "submitted_at" not in body[0]
    # Another student, even one who gave feedback, never reads it (F5).
    assert SECRET.encode() not in login_as(world.people.giver).get(base).data
    assert login_as(world.people.giver).get(f"/courses/{world.course.id}/project/feedback/{world.secret.id}").status_code == 404


def test_staff_see_names_hold_back_before_release_and_who_gave_none(world, login_as, clock):
    clock.to(_opened(world))
    base = f"/courses/{world.course.id}/project/talks/{world.talk.id}/feedback"
    staff = login_as(world.people.ta)
    page = staff.get(base)
    assert b"Wendy Writer" in page.data and SECRET.encode() in page.data
    assert b"Nora Nongiver" in page.data  # gave none yet
    held = staff.post(f"/courses/{world.course.id}/project/feedback/{world.secret.id}/hold",
                      data={"reason": "Abusive", "action": "hold"})
    assert held.status_code == 302
    assert db.session.query(AuditEvent).filter_by(kind="feedback_held_back").count() == 1
    clock.to(_after(world))
    group_page = login_as(world.people.partner).get(base)
    assert SECRET.encode() not in group_page.data and b"An ordinary comment." in group_page.data
    # After release nothing can be held back or restored any more (F6).
    staff.post(f"/courses/{world.course.id}/project/feedback/{world.secret.id}/hold", data={"action": "restore"})
    db.session.expire_all()
    assert world.secret.held_back is True
    # Students may not use the staff action (a staff page: 403).
    assert login_as(world.people.giver).post(
        f"/courses/{world.course.id}/project/feedback/{world.secret.id}/hold", data={"reason": "x"}
    ).status_code == 403


def test_group_marks_released_comments_helpful(world, login_as, clock):
    url = f"/courses/{world.course.id}/project/feedback/{world.secret.id}/helpful"
    presenter = login_as(world.people.presenter)
    clock.to(_opened(world))
    assert presenter.post(url, data={"helpful": "yes"}).status_code == 404
    clock.to(_after(world))
    assert presenter.post(url, data={"helpful": "yes"}).status_code == 302
    db.session.expire_all()
    assert world.secret.helpful is True
    assert login_as(world.people.giver).post(url, data={"helpful": "no"}).status_code == 404


def test_presenting_group_and_staff_do_not_write_feedback(world, login_as, clock):
    clock.to(_opened(world))
    url = f"/courses/{world.course.id}/project/talks/{world.talk.id}/feedback/write"
    assert login_as(world.people.presenter).get(url).status_code == 403
    assert login_as(world.people.instructor).get(url).status_code == 403
    assert login_as(world.people.outsider).get(url).status_code == 404


def test_instructor_edits_the_feedback_form(world, login_as, clock):
    url = f"/courses/{world.course.id}/project/feedback-settings"
    instructor = login_as(world.people.instructor)
    assert b"worked | What worked" in instructor.get(url).data
    bad = instructor.post(url, data={"feedback_window_hours": 24, "feedback_form": "nonsense"})
    assert b"Line 1" in bad.data
    ok = instructor.post(url, data={"feedback_window_hours": 24,
                                    "feedback_form": "clarity | Clarity | Was it clear? | yes"})
    assert ok.status_code == 302
    db.session.expire_all()
    assert world.course.feedback_window_hours == 24 and world.course.feedback_form[0]["key"] == "clarity"
    assert login_as(world.people.ta).get(url).status_code == 403
    clock.to(_opened(world))
    form = login_as(world.people.nongiver).get(f"/courses/{world.course.id}/project/talks/{world.talk.id}/feedback/write")
    assert b"Clarity" in form.data and b"What worked" not in form.data


def test_staff_open_the_window_early(world, login_as, clock):
    clock.to(world.session.starts_at - timedelta(hours=3))
    url = f"/courses/{world.course.id}/project/talks/{world.talk.id}/feedback/write"
    student = login_as(world.people.nongiver)
    assert b"opens at" in student.get(url).data
    login_as(world.people.ta).post(f"/courses/{world.course.id}/project/talks/{world.talk.id}/open")
    assert b"Submit feedback" in student.get(url).data


def test_demo_has_a_released_checkpoint_talk_and_an_open_final_talk(app, clock):
    from demo.course import load_demo
    from domain import policy
    from domain.project import talks as talk_ops
    from core.timeutil import now_utc

    course = load_demo()
    now = now_utc()
    by_kind = {t.kind: t for t in talk_ops.course_talks(course)}
    checkpoint, final = by_kind["checkpoint"], by_kind["final"]
    assert policy.feedback_phase(checkpoint, now) == "released"
    assert policy.feedback_phase(final, now) == "open"
    member = checkpoint.group.members[0].user
    released = policy.visible_peer_feedback_list(member, checkpoint, now)
    assert len(released) >= 3 and all(not p.held_back for p in released)
    assert any(p.helpful is not None for p in released)
    assert db.session.query(PeerFeedback).filter_by(talk_id=checkpoint.id, held_back=True).count() == 1
    assert policy.visible_peer_feedback_count(final.group.members[0].user, final, now) is None


def test_calendar_feed_carries_talks_feedback_due_and_milestone_deadlines(world, client):
    from models import Milestone, MilestoneExtension

    milestone = Milestone(course_id=world.course.id, kind="final", title="Final report", deadline=T0 + timedelta(days=30))
    db.session.add(milestone)
    db.session.flush()
    own = T0 + timedelta(days=33)
    db.session.add(MilestoneExtension(milestone_id=milestone.id, group_id=world.group.id, deadline=own))
    db.session.commit()
    giver = client.get(f"/calendar/{world.people.nongiver.calendar_token}.ics").get_data(as_text=True)
    presenter = client.get(f"/calendar/{world.people.presenter.calendar_token}.ics").get_data(as_text=True)
    for feed in (giver, presenter):
        assert "Checkpoint talk — Group Okapi" in feed and "Final report due" in feed
        assert SECRET not in feed
    assert "feedback due — Group Okapi" in giver and "feedback due" not in presenter
    assert own.strftime("%Y%m%dT%H%M%S") in presenter and own.strftime("%Y%m%dT%H%M%S") not in giver

"""The project leak matrix: sealed feedback and another group's document show through no path.

Group Okapi gives a checkpoint talk. One classmate's submitted feedback holds a secret phrase,
another's holds a second one and is held back by staff; the group has a document whose name
holds a third. Every GET route of the "project" blueprint (enumerated from ``app.url_map``, so
new project paths join automatically; arguments filled from this scenario), plus search and an
error page, is requested by every viewer who must not see a secret, in HTML and JSON, while the
window is open and one second after it closes (and the viewer's calendar feed, which carries
the talks and milestone deadlines). Two checks per viewer × moment × path:

1. no hidden secret appears;
2. differential: the response equals the one in the same world without the hidden rows (after
   removing per-request CSRF tokens), so neither text, rating, existence nor count shows.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from flask import url_for
from sqlalchemy import delete, select

from core.extensions import db
from domain.project import feedback as peer_feedback
from models import (
    AuditEvent,
    Milestone,
    MilestoneSubmission,
    PeerFeedback,
    ProjectDocument,
    ProjectInvitation,
)
from test_feedback_policy import feedback_world, give_feedback, make_group
from tests.support.leaks import normalise as _normalise

FEEDBACK_SECRET = "SECRET-feedback-okapi-7171"  # the world's submitted feedback (see feedback_world)
HELD_SECRET = "SECRET-heldback-tapir-3131"
DOCUMENT_SECRET = "SECRET-document-civet-9292"

# Route arguments the scenario cannot provide, each with the reason it is safe to skip.
UNFILLABLE: dict[str, str] = {}


@pytest.fixture
def world(app, make, clock):
    """The feedback world, plus a held-back secret, a second group and the first group's document."""
    w = feedback_world(make)
    w.people.holder = make.member(w.course, name="Hal Held")
    w.people.other_group = make.member(w.course, name="Bea Beaver")
    w.other = make_group(w.course, [w.people.other_group], name="Group Beaver")
    opened = w.session.starts_at + timedelta(minutes=10)
    w.held = give_feedback(w.people.holder, w.talk, opened, text=HELD_SECRET, rating=1)
    peer_feedback.hold_back(w.people.instructor, w.held, "Abusive", opened)
    give_feedback(w.people.other_group, w.talk, opened, text="A neighbour's comment.", rating=4)
    w.document = ProjectDocument(
        course_id=w.course.id, group_id=w.group.id, stored_name=secrets.token_hex(16),
        original_name=f"{DOCUMENT_SECRET}.pdf", size_bytes=1234, page_count=3, sha256="0" * 64,
        uploaded_by_id=w.people.presenter.id,
    )
    w.milestone = Milestone(course_id=w.course.id, kind="checkpoint", title="Checkpoint",
                            deadline=w.session.starts_at)
    db.session.add_all([w.document, w.milestone])
    db.session.flush()
    w.submission = MilestoneSubmission(milestone_id=w.milestone.id, group_id=w.group.id, version=1,
                                       title=f"Results {DOCUMENT_SECRET}", document_id=w.document.id,
                                       submitted_by_id=w.people.presenter.id, submitted_at=opened)
    w.invitation = ProjectInvitation(course_id=w.course.id, group_id=w.other.id,
                                     invitee_id=w.people.nongiver.id, inviter_id=w.people.other_group.id)
    db.session.add_all([w.submission, w.invitation])
    db.session.commit()
    return w


def _route_values(w, viewer) -> dict:
    return {
        "course_id": w.course.id,
        "talk_id": w.talk.id,
        "session_id": w.session.id,
        "feedback_id": w.secret.id,
        "group_id": w.group.id,
        "document_id": w.document.id,
        "milestone_id": w.milestone.id,
        "submission_id": w.submission.id,
        "invitation_id": w.invitation.id,
        "kind": w.milestone.kind,
        "token": viewer.calendar_token if viewer else "no-such-token",
    }


def _get_paths(app, w, viewer) -> list[str]:
    values = _route_values(w, viewer)
    paths = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("project.") or "GET" not in rule.methods or rule.endpoint in UNFILLABLE:
                continue
            missing = set(rule.arguments) - values.keys()
            assert not missing, (
                f"{rule.rule} ({rule.endpoint}) has arguments {missing} the project leak matrix cannot fill; "
                "teach _route_values about them or list the endpoint in UNFILLABLE with a reason"
            )
            paths.append(url_for(rule.endpoint, **{a: values[a] for a in rule.arguments}))
    paths.append(f"/courses/{w.course.id}/search?q={FEEDBACK_SECRET.split('-')[2]}")
    paths.append(f"/courses/{w.course.id}")  # the course home lists the feedback and milestones due
    paths.append(f"/courses/{w.course.id}/project/feedback/{w.held.id}")
    paths.append("/no/such/page")
    if viewer is not None:
        paths.append(f"/calendar/{viewer.calendar_token}.ics")  # carries the talks and deadlines
    return sorted(set(paths))


def _fetch_all(app, w, viewer, login_as) -> dict:
    client = login_as(viewer) if viewer else app.test_client()
    out = {}
    for path in _get_paths(app, w, viewer):
        for accept in ("text/html", "application/json"):
            resp = client.get(path, headers={"Accept": accept})
            out[(path, accept)] = (resp.status_code, _normalise(resp.get_data()))
    return out


def _remove(w, hidden: set[str]) -> None:
    """The same world without the rows whose secrets are hidden from the viewer."""
    if FEEDBACK_SECRET in hidden:
        db.session.execute(delete(PeerFeedback).where(PeerFeedback.id == w.secret.id))
    if HELD_SECRET in hidden:
        db.session.execute(delete(AuditEvent).where(AuditEvent.subject_id == w.people.holder.id))
        db.session.execute(delete(PeerFeedback).where(PeerFeedback.id == w.held.id))
    if DOCUMENT_SECRET in hidden:
        db.session.execute(delete(MilestoneSubmission).where(MilestoneSubmission.id == w.submission.id))
        db.session.execute(delete(ProjectDocument).where(ProjectDocument.id == w.document.id))
    db.session.commit()
    db.session.expire_all()


def leaks(app, w, viewer, hidden: set[str], login_as) -> list[str]:
    """Every way the hidden secrets show to ``viewer``: in a body, or as a difference from the
    world without them. Empty when nothing leaks."""
    problems = []
    with_secret = _fetch_all(app, w, viewer, login_as)
    for (path, accept), (status, body) in with_secret.items():
        for secret in hidden:
            if secret.encode() in body:
                problems.append(f"{secret} shows at {path} ({accept})")
    _remove(w, hidden)
    without = _fetch_all(app, w, viewer, login_as)
    if without.keys() != with_secret.keys():
        problems.append("the set of paths depends on the hidden rows")
    for key in with_secret.keys() & without.keys():
        if with_secret[key] != without[key]:
            problems.append(f"{key[0]} ({key[1]}) differs from the world without the hidden rows")
    return problems


ALL = {FEEDBACK_SECRET, HELD_SECRET, DOCUMENT_SECRET}
# What each viewer must not learn while the window is open, and one second after it closes.
HIDDEN = {
    "presenter": ({FEEDBACK_SECRET, HELD_SECRET}, {HELD_SECRET}),
    "partner": ({FEEDBACK_SECRET, HELD_SECRET}, {HELD_SECRET}),
    "giver": (ALL, ALL),
    "nongiver": (ALL, ALL),
    "other_group": (ALL, ALL),
    "outsider": (ALL, ALL),
    "anonymous": (ALL, ALL),
}


@pytest.mark.parametrize("moment", ["window_open", "one_second_after_close"])
@pytest.mark.parametrize("viewer_name", sorted(HIDDEN))
def test_sealed_feedback_and_documents_leak_through_no_project_path(app, world, login_as, clock, viewer_name, moment):
    after = moment == "one_second_after_close"
    clock.to(world.talk.feedback_closes_at + timedelta(seconds=1) if after
             else world.session.starts_at + timedelta(minutes=30))
    viewer = None if viewer_name == "anonymous" else getattr(world.people, viewer_name)
    hidden = HIDDEN[viewer_name][after]
    assert leaks(app, world, viewer, hidden, login_as) == []


def test_the_checker_can_fail(app, world, login_as, clock):
    """Guards the matrix: after the close the group does read the feedback secret, so calling
    it hidden must be reported, and staff see every secret through some project path."""
    clock.to(world.talk.feedback_closes_at + timedelta(seconds=1))
    staff = login_as(world.people.instructor)
    seen = {s for path in _get_paths(app, world, world.people.instructor) for s in ALL
            if s.encode() in staff.get(path).get_data()}
    assert {FEEDBACK_SECRET, HELD_SECRET} <= seen
    problems = leaks(app, world, world.people.presenter, {FEEDBACK_SECRET}, login_as)
    assert any(FEEDBACK_SECRET in p for p in problems)
    assert any("differs" in p for p in problems)


@pytest.mark.parametrize("viewer_name", ["presenter", "giver", "outsider"])
def test_hidden_feedback_answers_like_a_missing_one(app, world, login_as, clock, viewer_name):
    """F7: every project path taking a feedback id answers the hidden piece like a missing one."""
    clock.to(world.session.starts_at + timedelta(minutes=30))
    missing_id = db.session.scalar(select(PeerFeedback.id).order_by(PeerFeedback.id.desc())) + 1000
    client = login_as(getattr(world.people, viewer_name))
    values = _route_values(world, None)
    with app.test_request_context():
        rules = [r for r in app.url_map.iter_rules()
                 if r.endpoint.startswith("project.") and "feedback_id" in r.arguments and "GET" in r.methods]
        assert rules, "no feedback detail path exists"
        for rule in rules:
            base = {a: values[a] for a in rule.arguments if a != "feedback_id"}
            for hidden_id in (world.secret.id, world.held.id):
                hidden = url_for(rule.endpoint, **base, feedback_id=hidden_id)
                missing = url_for(rule.endpoint, **base, feedback_id=missing_id)
                for accept in ("text/html", "application/json"):
                    a = client.get(hidden, headers={"Accept": accept})
                    b = client.get(missing, headers={"Accept": accept})
                    assert a.status_code == b.status_code == 404, rule.rule
                    assert _normalise(a.get_data()) == _normalise(b.get_data()), rule.rule

"""The leak matrix: a hidden review must not show through any path, to any viewer.

One student writes a review holding a secret phrase before the deadline. Every other viewer
then requests every GET path the application has (pages, JSON, CSV, calendar feed, search,
error pages), with the route arguments filled in from the scenario, in HTML and in JSON. Two
checks per viewer × path:

1. the secret phrase never appears;
2. differential: the response is byte-identical (after removing per-request CSRF tokens) to the
   response in the same world with the secret review deleted — so neither its text nor its
   score, its existence, a count or an average can show.

Rules are enumerated from ``app.url_map``, so a new path joins the matrix automatically; a
path whose arguments the scenario cannot fill must be listed in ``UNFILLABLE`` with a reason.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from core.extensions import db
from models import AuditEvent, Review, ReviewRevision
from tests.support.factories import T0

SECRET = "SECRET-zebra-quokka-4242"
SECRET_SCORE = 5

# Route arguments the scenario cannot provide, each with the reason it is safe to skip.
UNFILLABLE: dict[str, str] = {
    "static": "static files hold no user data",
}

_CSRF = [
    re.compile(rb'name="csrf-token" content="[^"]*"'),
    re.compile(rb'name="csrf_token" type="hidden" value="[^"]*"'),
    re.compile(rb'type="hidden" name="csrf_token" value="[^"]*"'),
    re.compile(rb'name="csrf_token" value="[^"]*"'),
    re.compile(rb'id="csrf_token" name="csrf_token" type="hidden" value="[^"]*"'),
]


def _normalise(body: bytes) -> bytes:
    for pattern in _CSRF:
        body = pattern.sub(b"CSRF", body)
    return body


@pytest.fixture
def world(app, make, clock):
    """A course with every kind of viewer, one presentation before its review deadline."""
    course = make.course(timezone="America/New_York")
    other_course = make.course()
    instructor = make.member(course, "instructor", "Ina Instructor")
    ta = make.member(course, "ta", "Tom TA")
    presenter = make.member(course, name="Pia Presenter")
    summarizer = make.member(course, name="Sam Summary")
    writer = make.member(course, name="Wendy Writer")
    submitted = make.member(course, name="Carl Submitted")
    unsubmitted = make.member(course, name="Dora Draftless")
    extended = make.member(course, name="Ezra Extension")
    outsider = make.member(other_course, name="Olga Outsider")
    deadline = T0 + timedelta(days=1)
    presentation = make.presentation(
        course, review_deadline=deadline, presenters=[presenter], summarizers=[summarizer]
    )
    make.extension(presentation, extended, deadline + timedelta(days=2))
    make.review(presentation, submitted, submitted_at=T0 - timedelta(hours=2), text="An ordinary review.", score=2)
    secret = make.review(
        presentation, writer, submitted_at=T0 - timedelta(hours=1), text=f"My view: {SECRET}.", score=SECRET_SCORE
    )
    secret.answers = {**secret.answers, "questions": f"Why {SECRET}?"}
    db.session.commit()
    return {
        "course": course,
        "presentation": presentation,
        "secret": secret,
        "viewers": {
            "ta": ta,
            "instructor": instructor,
            "presenter": presenter,
            "summarizer": summarizer,
            "critic_submitted": submitted,
            "critic_unsubmitted": unsubmitted,
            "critic_extension": extended,
            "other_course": outsider,
            "anonymous": None,
        },
    }


def _route_args(rule, w, viewer) -> dict | None:
    """Fill a rule's arguments from the scenario; None when it cannot."""
    values = {
        "course_id": w["course"].id,
        "presentation_id": w["presentation"].id,
        "pid": w["presentation"].id,
        "review_id": w["secret"].id,
        "rid": w["secret"].id,
        "paper_id": w["presentation"].paper_id,
        "session_id": w["presentation"].session_id,
        "token": viewer.calendar_token if viewer else "no-such-token",
        "calendar_token": viewer.calendar_token if viewer else "no-such-token",
    }
    args = {}
    for name in rule.arguments:
        if name not in values:
            return None
        args[name] = values[name]
    return args


def _get_paths(app, w, viewer) -> list[str]:
    paths = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            # The project blueprint's paths have a scenario of their own: tests/test_project_leak_matrix.py.
            if "GET" not in rule.methods or rule.endpoint in UNFILLABLE or rule.endpoint.startswith("project."):
                continue
            args = _route_args(rule, w, viewer)
            assert args is not None, (
                f"{rule.rule} ({rule.endpoint}) has arguments the leak matrix cannot fill; "
                "teach _route_args about them or list the endpoint in UNFILLABLE with a reason"
            )
            paths.append(url_for(rule.endpoint, **args))
    paths.append(f"/courses/{w['course'].id}/search?q={SECRET.split('-')[1]}")
    paths.append(f"/courses/{w['course'].id}/search?q=review")
    paths.append("/no/such/page")
    return sorted(set(paths))


def _fetch_all(app, w, viewer_name, viewer, login_as):
    client = login_as(viewer) if viewer else app.test_client()
    out = {}
    for path in _get_paths(app, w, viewer):
        for accept in ("text/html", "application/json"):
            resp = client.get(path, headers={"Accept": accept})
            out[(path, accept)] = (resp.status_code, _normalise(resp.get_data()))
    return out


HIDDEN_FROM = [
    "presenter",
    "summarizer",
    "critic_submitted",
    "critic_unsubmitted",
    "critic_extension",
    "other_course",
    "anonymous",
]


@pytest.mark.parametrize("viewer_name", HIDDEN_FROM)
def test_hidden_review_leaks_through_no_path(app, world, viewer_name, login_as, clock):
    viewer = world["viewers"][viewer_name]
    with_secret = _fetch_all(app, world, viewer_name, viewer, login_as)
    for (path, accept), (status, body) in with_secret.items():
        assert SECRET.encode() not in body, f"{viewer_name} saw the secret at {path} ({accept})"

    # The same world without the secret review: every answer must be identical.
    secret_id = world["secret"].id
    db.session.execute(delete(ReviewRevision).where(ReviewRevision.review_id == secret_id))
    db.session.execute(delete(AuditEvent).where(AuditEvent.subject_id == world["secret"].author_id))
    db.session.execute(delete(Review).where(Review.id == secret_id))
    db.session.commit()
    db.session.expire_all()
    without_secret = _fetch_all(app, world, viewer_name, viewer, login_as)
    assert without_secret.keys() == with_secret.keys()
    for key in with_secret:
        assert with_secret[key][0] == without_secret[key][0], f"status differs at {key} for {viewer_name}"
        assert with_secret[key][1] == without_secret[key][1], (
            f"{viewer_name} can tell the hidden review exists at {key[0]} ({key[1]})"
        )


def test_staff_see_the_review_so_the_matrix_can_fail(app, world, login_as):
    """Guards the matrix itself: the same paths do carry the secret to staff."""
    client = login_as(world["viewers"]["instructor"])
    seen = [
        path
        for path in _get_paths(app, world, world["viewers"]["instructor"])
        if SECRET.encode() in client.get(path).get_data()
    ]
    assert seen, "no path shows the review to staff: the matrix would prove nothing"


def test_hidden_review_answers_like_a_missing_one(app, world, login_as):
    """V8: the hidden review's detail page equals a nonexistent review's, in HTML and JSON."""
    missing_id = db.session.scalar(select(Review.id).order_by(Review.id.desc())) + 1000
    client = login_as(world["viewers"]["critic_submitted"])
    with app.test_request_context():
        from flask import url_for

        detail_rules = [r for r in app.url_map.iter_rules() if {"review_id"} <= set(r.arguments) or {"rid"} <= set(r.arguments)]
        assert detail_rules, "no review detail path exists yet"
        for rule in detail_rules:
            if "GET" not in rule.methods:
                continue
            arg = "review_id" if "review_id" in rule.arguments else "rid"
            base = {k: v for k, v in _route_args(rule, world, None).items() if k != arg}
            hidden = url_for(rule.endpoint, **base, **{arg: world["secret"].id})
            missing = url_for(rule.endpoint, **base, **{arg: missing_id})
            for accept in ("text/html", "application/json"):
                a = client.get(hidden, headers={"Accept": accept})
                b = client.get(missing, headers={"Accept": accept})
                assert a.status_code == b.status_code == 404, rule.rule
                assert _normalise(a.get_data()) == _normalise(b.get_data()), rule.rule


SOCKET_VIEWERS = ["presenter", "summarizer", "critic_submitted", "critic_unsubmitted", "critic_extension", "other_course"]


@pytest.mark.parametrize("viewer_name", SOCKET_VIEWERS)
def test_hidden_review_leaks_through_no_socket_event(app, world, viewer_name, login_as):
    """The panel room's events (join snapshot, questions from one's review) never carry it."""
    import json

    from domain.panel import commands
    from core.extensions import socketio

    app.config["PANEL_PRESENCE_DELAY"] = 0
    room = commands.room_for(world["presentation"])
    db.session.commit()
    viewer = world["viewers"][viewer_name]
    sock = socketio.test_client(app, namespace="/panel", flask_test_client=login_as(viewer))
    acks = [
        sock.emit("join", {"room_id": room.id, "last_seq": 0}, namespace="/panel", callback=True),
        sock.emit("review_questions", {"room_id": room.id}, namespace="/panel", callback=True),
    ]
    received = sock.get_received("/panel") if sock.is_connected("/panel") else []
    # Joining in the connect request sends the same snapshot by another path.
    at_connect = socketio.test_client(app, namespace="/panel", flask_test_client=login_as(viewer),
                                      auth={"room_id": room.id, "last_seq": 0})
    received += at_connect.get_received("/panel") if at_connect.is_connected("/panel") else []
    blob = json.dumps([acks, received], default=str)
    assert SECRET not in blob
    # The writer's own socket does carry it: the probe can see what it is looking for.
    own = socketio.test_client(app, namespace="/panel", flask_test_client=login_as(world["secret"].author))
    own.emit("join", {"room_id": room.id, "last_seq": 0}, namespace="/panel", callback=True)
    mine = own.emit("review_questions", {"room_id": room.id}, namespace="/panel", callback=True)
    assert SECRET in json.dumps(mine)
    for client in (sock, at_connect, own):
        if client.is_connected("/panel"):
            client.disconnect("/panel")

"""The leak matrix: a hidden review must not show through any path, to any viewer, at any moment.

One student writes a review holding a secret phrase. The matrix sweeps its state (a draft,
submitted on time, submitted late in a course that accepts late work) × the moment (before the
deadline, after the release, after a classmate's extension has ended). In each cell the viewers
who must not see the review are the ones the policy itself refuses
(``policy.can_view_review(viewer, secret, now)`` is False): every enrolled person, someone from
another course and an anonymous visitor are asked, so a draft is checked against staff too and
the critic who has not submitted, the one on an extension and the authors (V4–V6) are checked
on every path. Each such viewer requests every GET path the application has (pages, JSON, CSV,
calendar feed, search, error pages), with the route arguments filled in from the scenario, plus
the POST requests whose refusals and form errors render a page near review data, in HTML and in
JSON. Two checks per viewer × request:

1. the secret phrase never appears;
2. differential: the response is byte-identical (after removing per-request CSRF tokens) to the
   response in the same world with the secret review deleted — so neither its text nor its
   score, its existence, a count or an average can show.

Rules are enumerated from ``app.url_map``, so a new path joins the matrix automatically; a
path whose arguments the scenario cannot fill must be listed in ``UNFILLABLE`` with a reason.
``test_the_matrix_reports_a_planted_leak`` plants two leaks (the text, and only a count) and
proves the checker reports both.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import url_for
from sqlalchemy import delete, func, select

from core.extensions import db
from domain import policy
from models import AuditEvent, LatePolicy, Review, ReviewRevision
from tests.support.factories import T0
from tests.support.leaks import normalise

SECRET = "SECRET-zebra-quokka-4242"
SECRET_SCORE = 5
DEADLINE = T0 + timedelta(days=1)
EXTENSION_ENDS = DEADLINE + timedelta(days=2)

# Route arguments the scenario cannot provide, each with the reason it is safe to skip.
UNFILLABLE: dict[str, str] = {
    "static": "static files hold no user data",
    "gradebook.item": "the scenario has no gradebook item to name (a staff grading page of items, not reviews)",
}

# The secret review's states × the moments the matrix looks from. A late submission cannot
# exist before the deadline, so that one cell is not a world.
STATES = ("draft", "on_time", "late")
MOMENTS = {
    "before_deadline": T0,
    "after_release": DEADLINE + timedelta(hours=1),
    "after_extension": EXTENSION_ENDS + timedelta(hours=1),
}
CELLS = [
    (state, moment)
    for state in STATES
    for moment in MOMENTS
    if not (state == "late" and MOMENTS[moment] <= DEADLINE)
]

def build_world(make, state: str = "on_time") -> dict:
    """A course with every kind of viewer and one presentation whose secret review is in ``state``."""
    course = make.course(timezone="America/New_York", late_policy=LatePolicy.ACCEPT)
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
    presentation = make.presentation(
        course, review_deadline=DEADLINE, presenters=[presenter], summarizers=[summarizer]
    )
    make.extension(presentation, extended, EXTENSION_ENDS)
    make.review(presentation, submitted, submitted_at=T0 - timedelta(hours=2), text="An ordinary review.", score=2)
    submitted_at = {"draft": None, "on_time": T0 - timedelta(hours=1), "late": DEADLINE + timedelta(minutes=30)}
    secret = make.review(
        presentation, writer, submitted_at=submitted_at[state], late=state == "late",
        text=f"My view: {SECRET}.", score=SECRET_SCORE,
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


@pytest.fixture
def world(app, make, clock):
    """The secret review submitted on time, looked at before the deadline."""
    return build_world(make)


def hidden_from(w, now) -> list[str]:
    """The viewers the policy refuses the secret review at ``now``."""
    return [name for name, viewer in w["viewers"].items() if not policy.can_view_review(viewer, w["secret"], now)]


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
        "student_id": w["secret"].author_id,
        "user_id": w["secret"].author_id,
        # A gradebook item: its pages are staff's, and a student's grades are in test_gradebook_leaks.
        "item_id": 1,
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
    """Every GET path of the application, filled in for the scenario, plus searches and a 404."""
    paths = []
    with app.test_request_context():
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


def _post_requests(app, w) -> list[tuple[str, dict]]:
    """POSTs refused or answered with form errors, whose pages are drawn next to review data."""
    c, p, r = w["course"].id, w["presentation"].id, w["secret"].id
    with app.test_request_context():
        return [
            # a refused submit (empty answers, no pledge) and a refused draft of one's own review
            (url_for("reviews.write", course_id=c, presentation_id=p), {"action": "submit"}),
            (url_for("reviews.write", course_id=c, presentation_id=p), {"action": "draft", "score": "99"}),
            (url_for("reviews.save_draft", course_id=c, presentation_id=p), {"score": "not a score"}),
            # staff forms: a grade that is no number, an extension for nobody on no date
            (url_for("reviews.grade", course_id=c, review_id=r), {"grade": "not a grade"}),
            (url_for("reviews.extensions", course_id=c, presentation_id=p), {"student": "0", "deadline": "never"}),
        ]


def _fetch_all(app, w, viewer, login_as) -> dict:
    """Every request of the matrix as ``viewer``: (method, path, accept) → (status, normalised body)."""
    client = login_as(viewer) if viewer else app.test_client()
    out = {}
    for accept in ("text/html", "application/json"):
        for path in _get_paths(app, w, viewer):
            resp = client.get(path, headers={"Accept": accept})
            out[("GET", path, accept)] = (resp.status_code, normalise(resp.get_data()))
        for path, form in _post_requests(app, w):
            resp = client.post(path, data=form, headers={"Accept": accept})
            out[("POST", path, accept)] = (resp.status_code, normalise(resp.get_data()))
    return out


def _fetch_and_forget(app, w, viewer, login_as) -> dict:
    """``_fetch_all``, then the audit events those requests wrote are dropped again, so every
    viewer in both worlds is answered from the same audit log."""
    last = db.session.scalar(select(func.max(AuditEvent.id))) or 0
    out = _fetch_all(app, w, viewer, login_as)
    db.session.execute(delete(AuditEvent).where(AuditEvent.id > last))
    db.session.commit()
    return out


def leaks(app, w, viewer_names, login_as) -> list[str]:
    """What the viewers can learn of the secret review: its text, or any difference its deletion makes.

    Deletes the secret review (the world is spent afterwards)."""
    with_secret = {name: _fetch_and_forget(app, w, w["viewers"][name], login_as) for name in viewer_names}
    found = [
        f"{name} saw the secret at {method} {path} ({accept})"
        for name, answers in with_secret.items()
        for (method, path, accept), (_status, body) in answers.items()
        if SECRET.encode() in body
    ]
    secret = w["secret"]
    db.session.execute(delete(ReviewRevision).where(ReviewRevision.review_id == secret.id))
    db.session.execute(delete(Review).where(Review.id == secret.id))
    db.session.commit()
    db.session.expire_all()
    for name in viewer_names:
        without = _fetch_and_forget(app, w, w["viewers"][name], login_as)
        assert without.keys() == with_secret[name].keys()
        found += [
            f"{name} can tell the hidden review exists at {method} {path} ({accept})"
            for (method, path, accept), answer in with_secret[name].items()
            if answer != without[(method, path, accept)]
        ]
    return found


@pytest.mark.parametrize("state, moment", CELLS, ids=[f"{s}-{m}" for s, m in CELLS])
def test_hidden_review_leaks_through_no_path(app, make, clock, login_as, state, moment):
    """No viewer the policy refuses learns anything of the secret review, in any state, at any moment."""
    w = build_world(make, state)
    now = clock.to(MOMENTS[moment])
    hidden = hidden_from(w, now)
    # the people every cell must check, whatever the moment: V4–V6 and strangers
    assert {"critic_unsubmitted", "other_course", "anonymous"} <= set(hidden), hidden
    if state == "draft":
        assert {"instructor", "ta", "presenter", "summarizer", "critic_extension"} <= set(hidden), hidden
    if moment == "before_deadline":
        assert {"presenter", "summarizer", "critic_submitted", "critic_extension"} <= set(hidden), hidden
    assert leaks(app, w, hidden, login_as) == []


def test_the_matrix_reports_a_planted_leak(app, make, clock, login_as):
    """Guards the matrix itself: a page that prints the review, and one that only counts reviews,
    are both reported, for every viewer the policy refuses."""

    def planted_text():
        return " ".join(r.answers["summary"] for r in db.session.scalars(select(Review)))

    def planted_count():
        return str(db.session.scalar(select(func.count(Review.id))))

    app.add_url_rule("/planted/text", "planted_text", planted_text)
    app.add_url_rule("/planted/count", "planted_count", planted_count)
    w = build_world(make, "draft")
    now = clock.to(MOMENTS["after_release"])
    hidden = hidden_from(w, now)
    assert "instructor" in hidden
    found = leaks(app, w, hidden, login_as)
    for name in hidden:
        assert f"{name} saw the secret at GET /planted/text (text/html)" in found
        assert f"{name} can tell the hidden review exists at GET /planted/count (application/json)" in found
    planted = {line for line in found if "/planted/" in line}
    assert set(found) == planted, "the application itself leaks: " + "; ".join(sorted(set(found) - planted))


def test_staff_see_the_review_so_the_matrix_can_fail(app, world, login_as):
    """The same paths do carry a submitted review to staff: the matrix looks where the review is."""
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
                assert normalise(a.get_data()) == normalise(b.get_data()), rule.rule


@pytest.mark.parametrize("state, moment", CELLS, ids=[f"{s}-{m}" for s, m in CELLS])
def test_hidden_review_leaks_through_no_socket_event(app, make, clock, login_as, state, moment):
    """The panel room's events (join snapshot, questions from one's review) never carry it to a
    signed-in viewer the policy refuses, in any state, at any moment."""
    import json

    from domain.panel import commands
    from core.extensions import socketio

    app.config["PANEL_PRESENCE_DELAY"] = 0
    w = build_world(make, state)
    now = clock.to(MOMENTS[moment])
    room = commands.room_for(w["presentation"])
    db.session.commit()
    clients = []
    for viewer_name in hidden_from(w, now):
        viewer = w["viewers"][viewer_name]
        if viewer is None:
            continue  # no socket without a session: test_panel_socket.py refuses anonymous connects
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
        # A beat that finds the sockets in another audience than the viewer's role (a roster
        # change whose command was lost) sends the role's snapshot by a third path.
        received += _after_a_lost_roster_change(room.id, viewer, (sock, at_connect))
        assert SECRET not in json.dumps([acks, received], default=str), viewer_name
        clients += [sock, at_connect]
    # The writer's own socket does carry it: the probe can see what it is looking for.
    own = socketio.test_client(app, namespace="/panel", flask_test_client=login_as(w["secret"].author))
    own.emit("join", {"room_id": room.id, "last_seq": 0}, namespace="/panel", callback=True)
    mine = own.emit("review_questions", {"room_id": room.id}, namespace="/panel", callback=True)
    assert SECRET in json.dumps(mine)
    for client in (*clients, own):
        if client.is_connected("/panel"):
            client.disconnect("/panel")


def _after_a_lost_roster_change(room_id, viewer, socks) -> list:
    """Put the viewer's sockets of the room in another audience, as a roster change whose
    command was lost leaves them, run one beat's check, and return what the sockets received."""
    from blueprints.panel import fanout

    room = fanout._state().rooms.get(room_id)
    stale = [(sid, audience) for sid, (user_id, audience) in (room.sockets.items() if room else ())
             if user_id == viewer.id]
    for sid, audience in stale:
        fanout.enter(sid, room_id, "critic" if audience == "moderator" else "moderator")
    moved = fanout.revalidate().moved
    assert len(moved) == len(stale)
    received = [m for sock in socks if sock.is_connected("/panel") for m in sock.get_received("/panel")]
    assert len([m for m in received if m["name"] == "snapshot"]) == len(stale)
    return received


def test_the_authors_room_carries_released_reviews_so_the_matrix_looks_there(app, make, clock, login_as):
    """The panel room shows its authors the released reviews' weaknesses and questions: the
    matrix asks that page of every refused viewer, and after the release it does carry the
    secret to an author, so a leak there would be seen."""
    w = build_world(make)
    presenter = w["viewers"]["presenter"]
    with app.test_request_context():
        room = url_for("panel.participant", course_id=w["course"].id, presentation_id=w["presentation"].id)
    assert room in _get_paths(app, w, presenter)
    clock.to(MOMENTS["before_deadline"])
    assert SECRET not in login_as(presenter).get(room).get_data(as_text=True)
    clock.to(MOMENTS["after_release"])
    assert SECRET in login_as(presenter).get(room).get_data(as_text=True)

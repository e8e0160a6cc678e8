"""The /panel Socket.IO namespace: authorisation, payload checks, idempotency, concurrency."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain import policy
from domain.panel import commands, state
from tests.support.factories import T0
from core.extensions import db, socketio
from models import (
    ROLE_INSTRUCTOR,
    ROLE_TA,
    ClientAction,
    Enrollment,
    PanelRoom,
    Question,
    RoomMute,
    User,
    VerdictVote,
    Vote,
)
from tests.support.panel import NS, PanelCast, apply, new_cid


@pytest.fixture
def cast(app, make, clock):
    app.config["PANEL_PRESENCE_DELAY"] = 0
    cast = PanelCast(app, make)
    cast.set_room(phase="panel", phase_started_at=T0, phase_ends_at=T0 + timedelta(minutes=15))
    return cast


def ask(sock, text="Why does batching help?", **kw):
    ack = sock.act("ask", text=text, **kw)
    assert ack["ok"], ack
    return ack["question_id"]


def question(qid) -> Question:
    return db.session.get(Question, qid, populate_existing=True)


def approved(cast, critic, text="Why does batching help?"):
    """A queued question of the critic (asked, then approved by the instructor)."""
    q = apply("ask", cast.room.id, critic, new_cid(), {"text": text})
    qid = q.ack["question_id"]
    apply("approve", cast.room.id, cast.instructor, new_cid(), {"question_id": qid, "version": 1})
    return qid


def room_seq(cast) -> int:
    return db.session.scalar(select(PanelRoom.seq).where(PanelRoom.id == cast.room.id))


# --------------------------------------------------------------------------- connecting


def test_connect_refused_without_login(app, cast):
    anonymous = socketio.test_client(app, namespace=NS, flask_test_client=app.test_client())
    assert not anonymous.is_connected(NS)
    bare = socketio.test_client(app, namespace=NS)
    assert not bare.is_connected(NS)


def test_handshake_with_foreign_origin_is_refused(cast):
    client = cast.flask_client(cast.critics[0])
    url = "/socket.io/?EIO=4&transport=polling"
    foreign = client.get(url, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 400
    same = client.get(url, headers={"Origin": "http://localhost"})
    assert same.status_code == 200 and b"sid" in same.data


@pytest.mark.parametrize(
    "who, role",
    [("instructor", "moderator"), ("ta", "moderator"), ("presenter", "author"),
     ("summarizer", "author"), ("critic", "critic")],
)
def test_join_gives_role_and_snapshot(cast, who, role):
    user = cast.critics[0] if who == "critic" else getattr(cast, who)
    sock = cast.sock(user, join=False)
    ack = sock.join()
    assert ack == {"ok": True, "room_id": cast.room.id, "role": role, "seq": room_seq(cast)}
    (snapshot,) = sock.events("snapshot")
    assert snapshot["role"] == role and snapshot["room"]["phase"] == "panel"
    assert snapshot["server_now"] == "2026-03-02T12:00:00.000Z"
    assert ("presence_names" in snapshot) == (role == "moderator")


def test_rejoin_sends_snapshot_only_when_behind(cast):
    sock = cast.sock(cast.critics[0])
    seq = room_seq(cast)
    assert sock.join(last_seq=seq)["ok"]
    assert sock.events("snapshot") == []
    approved(cast, cast.critics[1])
    ack = sock.join(last_seq=seq)
    assert ack["seq"] == seq + 2
    (snapshot,) = sock.events("snapshot")
    assert snapshot["seq"] == seq + 2 and len(snapshot["questions"]) == 1


def connect_joined(cast, user, **auth):
    """A test client of ``user`` that joins the room in its connect request."""
    return socketio.test_client(cast.app, namespace=NS, flask_test_client=cast.flask_client(user),
                                auth={"room_id": cast.room.id, **auth})


@pytest.mark.parametrize("who, role", [("instructor", "moderator"), ("presenter", "author"), ("critic", "critic")])
def test_connect_with_a_room_joins_it_in_the_same_round_trip(cast, who, role):
    user = cast.critics[0] if who == "critic" else getattr(cast, who)
    client = connect_joined(cast, user)
    assert client.is_connected(NS)
    received = [m for m in client.get_received(NS) if m["name"] != "presence"]
    assert [m["name"] for m in received] == ["snapshot", "joined"]
    snapshot, joined = (m["args"][0] for m in received)
    assert joined == {"ok": True, "room_id": cast.room.id, "role": role, "seq": room_seq(cast)}
    assert snapshot["role"] == role and snapshot["seq"] == joined["seq"]
    # Joined for real: the room's broadcasts reach it.
    qid = approved(cast, cast.critics[1])
    client.get_received(NS)
    ack = cast.sock(cast.instructor).act("pin", question_id=qid, version=2)
    assert ack["ok"], ack
    pinned = [m["args"][0]["question"] for m in client.get_received(NS) if m["name"] == "question"]
    assert [q["id"] for q in pinned] == [qid] and pinned[0]["pinned"]


def test_connect_with_a_current_last_seq_gets_no_snapshot(cast):
    client = connect_joined(cast, cast.critics[0], last_seq=room_seq(cast))
    assert [m["name"] for m in client.get_received(NS) if m["name"] != "presence"] == ["joined"]


def test_connect_with_a_room_checks_it_like_join(cast, make):
    """A join in the connect request is refused like a join event (the reason code and message
    a real client receives are checked against a real server in test_panel_restart.py)."""
    stranger = make.member(make.course())
    assert not connect_joined(cast, stranger).is_connected(NS)
    cases = [{"room_id": "1"}, {"room_id": cast.room.id, "last_seq": -1}, {"room_id": 99999},
             {"room_id": cast.room.id, "padding": "x" * 20000}]
    for bad in cases:
        client = socketio.test_client(cast.app, namespace=NS, flask_test_client=cast.flask_client(cast.critics[0]),
                                      auth=bad)
        assert not client.is_connected(NS), bad
        # Nothing is sent to a refused socket: no snapshot, no joined, no presence.
        assert [m for m in client.queue if m["namespace"] == NS] == [], bad
    # A refused join leaves nothing behind: presence is unchanged, a plain socket still works.
    from blueprints.panel import fanout

    assert fanout.presence(cast.room.id, names=False)["counts"] == {"moderator": 0, "author": 0, "critic": 0}
    assert cast.sock(cast.critics[0]).connected


def test_join_refused_to_strangers_and_missing_rooms(cast, make):
    other_course = make.course()
    stranger = make.member(other_course)
    sock = cast.sock(stranger, join=False)
    assert sock.join() == {"ok": False, "error": "not_found", "message": "There is no such room."}
    assert sock.emit("join", {"room_id": 999})["error"] == "not_found"
    assert sock.events("snapshot") == []


# --------------------------------------------------------------------------- every event × role


def _setup_questions(cast):
    """A pending, a queued and an answered question (the answered one by critic 0)."""
    critic0, critic1 = cast.critics[0], cast.critics[1]
    pending = apply("ask", cast.room.id, critic1, new_cid(), {"text": "Pending one?"}).ack["question_id"]
    queued = approved(cast, critic1, "Queued one?")
    answered = approved(cast, critic0, "Answered one?")
    apply("mark_answered", cast.room.id, cast.instructor, new_cid(),
                  {"question_id": answered, "version": 2})
    cast.set_room(follow_ups_allowed=True)
    return {"pending": pending, "queued": queued, "answered": answered}


def _version(qid):
    return question(qid).version


EVENTS = {
    # event: (roles allowed, payload builder)
    "ask": ({"critic"}, lambda c, q: {"text": "A new question?"}),
    "vote": ({"critic", "author", "moderator"}, lambda c, q: {"question_id": q["queued"]}),
    "verdict": ({"critic"}, lambda c, q: {"verdict": "revise"}),
    "follow_up": ({"critic"}, lambda c, q: {"question_id": q["answered"], "text": "And then?"}),
    "claim": ({"author"}, lambda c, q: {"question_id": q["queued"]}),
    "answer": ({"author"}, lambda c, q: {"question_id": q["queued"], "outcome": "rebutted", "text": "Yes."}),
    "approve": ({"moderator"}, lambda c, q: {"question_id": q["pending"], "version": _version(q["pending"])}),
    "dismiss": ({"moderator"}, lambda c, q: {"question_id": q["queued"], "version": _version(q["queued"]),
                                             "reason": "Off topic"}),
    "edit": ({"moderator"}, lambda c, q: {"question_id": q["queued"], "version": _version(q["queued"]),
                                          "text": "Reworded?"}),
    "merge": ({"moderator"}, lambda c, q: {"question_id": q["pending"], "version": _version(q["pending"]),
                                           "into_id": q["queued"]}),
    "pin": ({"moderator"}, lambda c, q: {"question_id": q["queued"], "version": _version(q["queued"])}),
    "unpin": ({"moderator"}, lambda c, q: {"question_id": q["queued"], "version": _version(q["queued"])}),
    "reorder": ({"moderator"}, lambda c, q: {"question_id": q["queued"], "version": _version(q["queued"]),
                                             "rank": 2.5}),
    "set_live": ({"moderator"}, lambda c, q: {"question_id": q["queued"], "version": _version(q["queued"])}),
    "mark_answered": ({"moderator"}, lambda c, q: {"question_id": q["queued"],
                                                   "version": _version(q["queued"])}),
    "reopen": ({"moderator"}, lambda c, q: {"question_id": q["answered"], "version": _version(q["answered"])}),
    "mute": ({"moderator"}, lambda c, q: {"user_id": c.critics[2].id}),
    "phase": ({"moderator"}, lambda c, q: {"phase": "closed"}),
    "extend": ({"moderator"}, lambda c, q: {"minutes": 5}),
    "settings": ({"moderator"}, lambda c, q: {"moderated": False}),
}
ACTORS = {"critic": lambda c: c.critics[0], "author": lambda c: c.presenter, "moderator": lambda c: c.ta}
# Who of the observers (a critic, a moderator, an author) hears of each allowed event, and why
# not everyone: a new question waits for approval in this moderated room, the verdict poll's
# counts reach the class only once the room is closed, and a mute is told to the muted alone.
HEARD_BY = {
    "ask": {"moderator"},
    "follow_up": {"moderator"},
    "verdict": {"moderator"},
    "mute": set(),
}


@pytest.mark.parametrize("role", sorted(ACTORS))
@pytest.mark.parametrize("event", sorted(EVENTS))
def test_every_event_by_every_role(cast, event, role):
    allowed, build = EVENTS[event]
    questions = _setup_questions(cast)
    actor = cast.sock(ACTORS[role](cast))
    observers = {"critic": cast.sock(cast.critics[1]), "moderator": cast.sock(cast.instructor),
                 "author": cast.sock(cast.summarizer)}
    muted = cast.sock(cast.critics[2])
    for sock in [actor, muted, *observers.values()]:
        sock.received()
    before = room_seq(cast)

    ack = actor.act(event, **build(cast, questions))

    heard = {name for name, sock in observers.items() if sock.received()}
    if role in allowed:
        assert ack["ok"] is True, ack
        assert ack["seq"] == before + 1 == room_seq(cast)
        assert heard == HEARD_BY.get(event, set(observers)), heard
        notices = [n["kind"] for n in muted.events("notice")]
        assert notices == (["muted"] if event == "mute" else []), notices
    else:
        assert ack == {"ok": False, "error": "forbidden", "message": commands.REFUSALS["forbidden"]}
        assert room_seq(cast) == before
        assert heard == set() and muted.received() == []


def test_critic_forging_moderator_events_changes_nothing(cast):
    qid = ask(cast.sock(cast.critics[1]), "Mine, pending")
    forger = cast.sock(cast.critics[0])
    moderator = cast.sock(cast.instructor)
    for event, extra in [("approve", {"version": 1}), ("set_live", {"version": 1}),
                         ("dismiss", {"version": 1}), ("edit", {"version": 1, "text": "x"})]:
        ack = forger.act(event, question_id=qid, role="moderator", is_staff=True, **extra)
        assert ack == {"ok": False, "error": "forbidden", "message": commands.REFUSALS["forbidden"]}
    assert question(qid).state == "pending" and question(qid).text == "Mine, pending"
    assert moderator.received() == []


# --------------------------------------------------------------------------- forged ids


def test_forged_ids_answer_like_missing_ones(cast, make):
    other = PanelCast(cast.app, make, critics=1)
    other.set_room(phase="panel")
    foreign_q = apply("ask", other.room.id, other.critics[0], new_cid(), {"text": "Elsewhere"})
    foreign_qid = foreign_q.ack["question_id"]
    pending_of_other_critic = ask(cast.sock(cast.critics[1]), "Pending, private")

    critic = cast.sock(cast.critics[0])
    moderator = cast.sock(cast.instructor)
    missing = critic.act("vote", question_id=999_999)
    assert missing["error"] == "not_found"
    for ack in (
        critic.act("vote", question_id=foreign_qid),
        critic.act("vote", question_id=pending_of_other_critic),
        critic.act("vote", room_id=other.room.id, question_id=foreign_qid),
        moderator.act("approve", question_id=foreign_qid, version=1),
        moderator.act("approve", room_id=other.room.id, question_id=foreign_qid, version=1),
        moderator.act("merge", question_id=pending_of_other_critic, version=1, into_id=foreign_qid),
        moderator.act("mute", user_id=other.critics[0].id),
    ):
        assert ack == {**missing, "message": ack["message"]}, ack
    assert question(foreign_qid).state == "pending"
    assert db.session.scalar(select(func.count(Vote.id))) == 0


# --------------------------------------------------------------------------- malformed payloads


@pytest.mark.parametrize(
    "args, code",
    [
        (("not an object",), "invalid"),
        (([1, 2, 3],), "invalid"),
        ((42,), "invalid"),
        ((), "invalid"),
        (({"room_id": 1, "cid": "a"}, {"second": True}), "invalid"),
        (({"cid": "a", "text": "Why?"},), "invalid"),  # no room_id
        (({"room_id": "1", "cid": "a", "text": "Why?"},), "invalid"),
        (({"room_id": True, "cid": "a", "text": "Why?"},), "invalid"),
        (({"room_id": 1, "text": "Why?"},), "invalid"),  # no cid
        (({"room_id": 1, "cid": "x" * 65, "text": "Why?"},), "invalid"),
        (({"room_id": 1, "cid": "a", "text": 123},), "invalid"),
        (({"room_id": 1, "cid": "a", "text": "   "},), "invalid"),
        (({"room_id": 1, "cid": "a", "text": "x" * 501},), "invalid"),
        (({"room_id": 1, "cid": "a", "text": "Why?", "anonymous": "yes"},), "invalid"),
        (({"room_id": 1, "cid": "a", "text": "Why?", "padding": "x" * 17_000},), "too_large"),
        (({"room_id": 1, "cid": "a", "text": "y" * 20_000},), "too_large"),
    ],
)
def test_malformed_payloads_get_an_error_ack(cast, args, code):
    critic = cast.sock(cast.critics[0])
    ack = critic.emit("ask", *args)
    assert ack["ok"] is False and ack["error"] == code, ack
    assert "Traceback" not in ack["message"]
    assert critic.connected
    assert db.session.scalar(select(func.count(Question.id))) == 0
    # the server keeps serving: this socket and others
    other = cast.sock(cast.critics[1])
    assert other.act("ask", text="Still fine?")["ok"]
    assert critic.act("ask", text="Me too?")["ok"]


@pytest.mark.parametrize(
    "event, payload",
    [
        ("vote", {"question_id": "7"}),
        ("vote", {"question_id": 1, "up": 1}),
        ("approve", {"question_id": 1}),
        ("reorder", {"question_id": 1, "version": 1, "rank": "first"}),
        ("reorder", {"question_id": 1, "version": 1, "rank": float("nan")}),
        ("phase", {"phase": "party"}),
        ("extend", {"minutes": 0}),
        ("extend", {"minutes": 61}),
        ("answer", {"question_id": 1, "outcome": "won"}),
        ("answer", {"question_id": 1, "outcome": "rebutted", "text": "z" * 1001}),
        ("verdict", {"verdict": "maybe"}),
        ("dismiss", {"question_id": 1, "version": 1, "reason": "r" * 301}),
        ("mute", {"user_id": -3}),
        ("join", {"room_id": 1, "last_seq": "3"}),
    ],
)
def test_wrong_types_and_ranges_are_invalid(cast, event, payload):
    sock = cast.sock(cast.instructor)
    ack = sock.emit(event, {"room_id": cast.room.id, "cid": new_cid(), **payload})
    assert ack["ok"] is False and ack["error"] == "invalid", ack


def test_unknown_fields_are_ignored(cast):
    critic = cast.sock(cast.critics[0])
    ack = critic.act("ask", text="Plain question", asker_id=cast.instructor.id, state="live",
                     role="moderator")
    q = question(ack["question_id"])
    assert q.asker_id == cast.critics[0].id and q.state == "pending"


# --------------------------------------------------------------------------- rate limits


def test_questions_and_votes_are_rate_limited_per_user(cast, clock):
    cast.app.config.update(QUESTION_RATE="3/60", VOTE_RATE="4/60")
    critic, other = cast.sock(cast.critics[0]), cast.sock(cast.critics[1])
    acks = [critic.act("ask", text=f"Question {n}?") for n in range(4)]
    assert [a["ok"] for a in acks] == [True, True, True, False]
    assert acks[3]["error"] == "rate_limited"
    assert other.act("ask", text="Someone else may ask?")["ok"]
    assert db.session.scalar(select(func.count(Question.id))) == 4

    qid = approved(cast, cast.critics[2])
    votes = [critic.act("vote", question_id=qid) for _ in range(5)]
    assert [v["ok"] for v in votes] == [True] * 4 + [False]
    assert votes[4]["error"] == "rate_limited"

    clock.to(T0 + timedelta(seconds=61))
    assert critic.act("ask", text="A minute later?")["ok"]


# --------------------------------------------------------------------------- idempotency


def test_retried_cid_returns_the_stored_ack_and_applies_once(cast):
    critic = cast.sock(cast.critics[0])
    moderator = cast.sock(cast.instructor)
    first = critic.act("ask", cid="same-cid", text="Asked once?")
    moderator.received()
    again = critic.act("ask", cid="same-cid", text="Asked once?")
    assert again == first
    assert db.session.scalar(select(func.count(Question.id))) == 1
    assert moderator.received() == []  # a retry is not broadcast again

    qid = approved(cast, cast.critics[1])
    vote1 = critic.act("vote", cid="vote-1", question_id=qid)
    vote1_retry = critic.act("vote", cid="vote-1", question_id=qid)
    assert vote1 == vote1_retry and vote1["voted"] is True
    assert state.vote_count(qid) == 1  # the toggle was not applied twice
    assert db.session.scalar(
        select(func.count(ClientAction.id)).where(ClientAction.user_id == cast.critics[0].id)
    ) == 2


def test_same_cid_from_two_users_are_two_actions(cast):
    a, b = cast.sock(cast.critics[0]), cast.sock(cast.critics[1])
    assert a.act("ask", cid="c1", text="A?")["ok"] and b.act("ask", cid="c1", text="B?")["ok"]
    assert db.session.scalar(select(func.count(Question.id))) == 2


# --------------------------------------------------------------------------- concurrency


@pytest.mark.parametrize("event, extra", [("approve", {}), ("edit", {"text": "Reworded by both"})])
def test_two_moderators_same_version_one_wins(cast, event, extra):
    qid = ask(cast.sock(cast.critics[0]), "Race me")
    ines, theo = cast.sock(cast.instructor), cast.sock(cast.ta)
    first = ines.act(event, question_id=qid, version=1, **extra)
    second = theo.act(event, question_id=qid, version=1, **extra)
    assert first["ok"] is True
    assert second["ok"] is False and second["error"] == "conflict"
    assert second["question"]["id"] == qid and second["question"]["version"] == 2
    assert question(qid).version == 2


def _in_threads(*calls):
    results = [None] * len(calls)
    errors = []
    barrier = threading.Barrier(len(calls))

    def run(i, fn):
        try:
            barrier.wait(timeout=10)
            results[i] = fn()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)
    return results


def test_concurrent_set_live_leaves_exactly_one_live(cast):
    ids = [approved(cast, cast.critics[n % 3], f"Question {n}?") for n in range(6)]
    ines, theo = cast.sock(cast.instructor), cast.sock(cast.ta)
    for a, b in zip(ids[0::2], ids[1::2]):
        va, vb = question(a).version, question(b).version
        acks = _in_threads(
            lambda: ines.act("set_live", question_id=a, version=va),
            lambda: theo.act("set_live", question_id=b, version=vb),
        )
        assert all(ack["ok"] for ack in acks), acks
        live = db.session.scalars(select(Question.id).where(Question.state == "live")).all()
        assert len(live) == 1 and live[0] in (a, b)


def test_concurrent_set_live_on_one_question_one_conflict(cast):
    qid = approved(cast, cast.critics[0])
    ines, theo = cast.sock(cast.instructor), cast.sock(cast.ta)
    acks = _in_threads(
        lambda: ines.act("set_live", question_id=qid, version=2),
        lambda: theo.act("set_live", question_id=qid, version=2),
    )
    assert sorted(ack.get("error", "ok") for ack in acks) == ["conflict", "ok"]
    assert question(qid).state == "live" and question(qid).version == 3


def test_votes_from_two_tabs_count_once(cast):
    qid = approved(cast, cast.critics[1])
    critic = cast.critics[0]
    tab1, tab2 = cast.sock(critic), cast.sock(critic)
    acks = _in_threads(
        lambda: tab1.act("vote", question_id=qid, up=True),
        lambda: tab2.act("vote", question_id=qid, up=True),
    )
    assert all(a["ok"] and a["voted"] for a in acks)
    assert state.vote_count(qid) == 1
    # the other tab learns about this tab's vote
    assert {"question_id": qid, "voted": True} .items() <= tab2.events("my_vote")[-1].items()
    # a plain toggle from one tab takes the vote back
    assert tab1.act("vote", question_id=qid)["voted"] is False
    assert state.vote_count(qid) == 0


def test_concurrent_asks_with_one_cid_make_one_question(cast):
    critic = cast.critics[0]
    tab1, tab2 = cast.sock(critic), cast.sock(critic)
    acks = _in_threads(
        lambda: tab1.act("ask", cid="double", text="Once only?"),
        lambda: tab2.act("ask", cid="double", text="Once only?"),
    )
    assert acks[0] == acks[1] and acks[0]["ok"]
    assert db.session.scalar(select(func.count(Question.id))) == 1


# --------------------------------------------------------------------------- sessions and membership


def test_logout_closes_open_sockets_and_refuses_the_old_cookie(cast):
    critic = cast.critics[0]
    http = cast.flask_client(critic)
    captured = http.get_cookie("session").value
    sock = cast.sock(critic)
    observer = cast.sock(cast.instructor)
    sock.received()
    resp = http.post("/logout")
    assert resp.status_code == 302, resp.data[:300]
    received = sock.received()
    assert [m["name"] for m in received] == ["forced_logout"], received
    assert not sock.connected
    presence = observer.events("presence")
    assert presence and presence[-1]["presence"]["critic"] == 0, presence
    replay = cast.app.test_client()
    replay.set_cookie("session", captured)
    again = socketio.test_client(cast.app, namespace=NS, flask_test_client=replay)
    assert not again.is_connected(NS)


def test_session_ended_elsewhere_refuses_the_next_event(cast):
    critic = cast.critics[0]
    sock = cast.sock(critic)
    db.session.get(User, critic.id).rotate_session_token()
    db.session.commit()
    ack = sock.act("ask", text="Still here?")
    assert ack["error"] == "unauthorized"
    assert [m["name"] for m in sock.received()] == ["forced_logout"]
    assert not sock.connected
    assert db.session.scalar(select(func.count(Question.id))) == 0


def test_removal_from_course_refuses_the_next_event(cast):
    critic = cast.critics[0]
    sock = cast.sock(critic)
    qid = approved(cast, cast.critics[1])
    sock.received()
    db.session.execute(
        Enrollment.__table__.delete().where(Enrollment.user_id == critic.id)
    )
    db.session.commit()
    assert sock.act("vote", question_id=qid)["error"] == "not_found"
    assert state.vote_count(qid) == 0
    # the socket left the room: later changes do not reach it
    approved(cast, cast.critics[2], "After removal?")
    publisher = cast.sock(cast.instructor)
    publisher.act("pin", question_id=qid, version=question(qid).version)
    assert [m for m in sock.received() if m["name"] == "question"] == []


def test_role_change_takes_effect_on_the_next_event(cast):
    critic = cast.critics[0]
    sock = cast.sock(critic)
    pending = ask(cast.sock(cast.critics[1]), "Private until approved")
    # The role is checked before the question is looked up: a critic is refused, not told "missing".
    assert sock.act("approve", question_id=pending, version=1)["error"] == "forbidden"
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.user_id == critic.id))
    enrollment.role = ROLE_TA
    db.session.commit()
    sock.received()
    ack = sock.act("approve", question_id=pending, version=1)
    assert ack["ok"], ack
    # the socket moved to the moderators' audience, with one fresh snapshot
    (snapshot,) = sock.events("snapshot")
    assert snapshot["role"] == "moderator" and "presence_names" in snapshot
    assert [q["id"] for q in snapshot["questions"]] == [pending]
    approved_again = ask(cast.sock(cast.critics[1]), "Another pending one")
    assert any(
        m["args"][0]["question"]["id"] == approved_again
        for m in sock.received() if m["name"] == "question"
    )


def test_demoted_moderator_stops_getting_moderator_payloads(cast):
    ta = cast.ta
    sock = cast.sock(ta)
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.user_id == ta.id))
    enrollment.role = "student"
    db.session.commit()
    assert sock.act("pin", question_id=1, version=1)["error"] == "forbidden"
    (snapshot,) = sock.events("snapshot")
    assert snapshot["role"] == "critic" and "presence_names" not in snapshot
    secret = ask(cast.sock(cast.critics[1]), "Pending secret")
    assert all(
        m["args"][0].get("question", {}).get("id") != secret for m in sock.received()
    )


def test_roster_changes_reach_open_sockets_at_once(cast):
    """Removing a member or changing a role on the roster page moves their open sockets."""
    removed, promoted = cast.critics[0], cast.critics[1]
    removed_sock, promoted_sock = cast.sock(removed), cast.sock(promoted)
    instructor = cast.flask_client(cast.instructor)
    removed_sock.received(), promoted_sock.received()

    roster = f"/courses/{cast.course.id}/roster"
    assert instructor.post(f"{roster}/{removed.id}/remove").status_code == 302
    assert instructor.post(f"{roster}/{promoted.id}/role", data={"role": ROLE_TA}).status_code == 302
    assert policy.room_role(promoted, cast.presentation) == "moderator"
    assert [n["kind"] for n in removed_sock.events("notice")] == ["removed"]
    (snapshot,) = promoted_sock.events("snapshot")
    assert snapshot["role"] == "moderator" and "presence_names" in snapshot

    secret = ask(cast.sock(cast.critics[2]), "Pending, for moderators")
    assert removed_sock.received() == []
    assert any(m["args"][0]["question"]["id"] == secret for m in promoted_sock.received() if m["name"] == "question")


# --------------------------------------------------------------------------- audiences


def test_pending_reaches_moderators_and_asker_only(cast):
    asker, other = cast.sock(cast.critics[0]), cast.sock(cast.critics[1])
    author, moderator = cast.sock(cast.presenter), cast.sock(cast.instructor)
    for sock in (asker, other, author):
        sock.received()
    qid = ask(asker, "Awaiting approval?", anonymous=True)
    (mine,) = asker.events("question")
    assert mine["question"]["state"] == "pending" and mine["question"]["asker"] == "You"
    assert mine["question"]["mine"] is True
    (mod,) = moderator.events("question")
    assert mod["question"]["asker"] == "Critic 1" and mod["question"]["asker_id"] == cast.critics[0].id
    assert other.received() == [] and author.received() == []

    moderator.act("approve", question_id=qid, version=1)
    (public,) = other.events("question")
    assert public["question"]["asker"] is None and "asker_id" not in public["question"]
    assert "mine" not in public["question"] and public["queue"] == [qid]
    (for_author,) = author.events("question")
    # The authors' copy adds only the claimer's id (None: unclaimed), for telling their own claim.
    assert for_author["question"] == {**public["question"], "claimed_by_id": None}


def test_dismissal_reason_is_private(cast):
    asker, other = cast.sock(cast.critics[0]), cast.sock(cast.critics[1])
    moderator = cast.sock(cast.instructor)
    qid = approved(cast, cast.critics[0], "Soon dismissed")
    asker.received(), other.received()
    moderator.act("dismiss", question_id=qid, version=2, reason="Covered in the talk")
    removed = other.events("question_removed")
    assert [r["question_id"] for r in removed] == [qid]
    received = asker.received()
    notice = [m["args"][0] for m in received if m["name"] == "notice"]
    assert notice[0]["kind"] == "dismissed" and notice[0]["message"] == "Covered in the talk"
    own = [m["args"][0]["question"] for m in received if m["name"] == "question"]
    assert own[-1]["state"] == "dismissed" and own[-1]["dismiss_reason"] == "Covered in the talk"
    assert "Covered in the talk" not in other.raw()


def test_presence_counts_for_all_names_for_moderators(cast):
    moderator = cast.sock(cast.instructor)
    critic = cast.sock(cast.critics[0])
    cast.sock(cast.critics[0])  # a second tab counts once
    author = cast.sock(cast.presenter)
    last_mod = moderator.events("presence")[-1]
    assert last_mod["presence"] == {"moderator": 1, "author": 1, "critic": 1}
    assert [p["name"] for p in last_mod["presence_names"]] == ["Ines Instructor", "Paula Presenter", "Critic 1"]
    last_critic = critic.events("presence")[-1]
    assert last_critic["presence"] == last_mod["presence"] and "presence_names" not in last_critic
    author.client.disconnect(NS)
    assert moderator.events("presence")[-1]["presence"]["author"] == 0


def test_phase_timer_and_extend(cast, clock):
    moderator = cast.sock(cast.instructor)
    critic = cast.sock(cast.critics[0])
    ack = moderator.act("phase", phase="presenting")
    assert ack["ok"]
    (event,) = critic.events("room")
    assert event["server_now"] == "2026-03-02T12:00:00.000Z"
    assert event["room"]["phase"] == "presenting"
    assert event["room"]["phase_ends_at"] == "2026-03-02T12:30:00Z"  # talk_minutes = 30
    moderator.act("extend", minutes=5)
    assert critic.events("room")[0]["room"]["phase_ends_at"] == "2026-03-02T12:35:00Z"
    moderator.act("phase", phase="panel", minutes=20)
    assert critic.events("room")[0]["room"]["phase_ends_at"] == "2026-03-02T12:20:00Z"
    moderator.act("phase", phase="closed")
    assert critic.events("room")[0]["room"]["phase_ends_at"] is None
    assert moderator.act("extend", minutes=5)["error"] == "invalid"


def test_muted_user_cannot_ask_or_vote(cast):
    critic = cast.sock(cast.critics[0])
    moderator = cast.sock(cast.instructor)
    qid = approved(cast, cast.critics[1])
    assert moderator.act("mute", user_id=cast.critics[0].id)["ok"]
    notices = critic.events("notice")
    assert notices[0]["kind"] == "muted"
    assert critic.act("ask", text="Muted?")["error"] == "muted"
    assert critic.act("vote", question_id=qid)["error"] == "muted"
    assert db.session.scalar(select(func.count(RoomMute.id))) == 1
    assert moderator.act("mute", user_id=cast.ta.id)["error"] == "invalid"


def test_closed_room_refuses_questions(cast):
    cast.set_room(phase="closed")
    critic = cast.sock(cast.critics[0])
    assert critic.act("ask", text="Too late?")["error"] == "closed"
    cast.set_room(phase="scheduled")
    assert critic.act("ask", text="Too early?")["error"] == "closed"
    assert critic.act("verdict", verdict="accept")["error"] == "closed"


def test_verdict_counts_reach_everyone_after_close(cast):
    critic, author = cast.sock(cast.critics[0]), cast.sock(cast.presenter)
    moderator = cast.sock(cast.instructor)
    assert critic.act("verdict", verdict="accept")["ok"]
    assert critic.act("verdict", verdict="revise")["ok"]  # changeable
    assert cast.sock(cast.critics[1]).act("verdict", verdict="revise")["ok"]
    assert critic.events("verdict") == [] and author.events("verdict") == []
    assert moderator.events("verdict")[-1]["counts"] == {"accept": 0, "revise": 2, "reject": 0}
    moderator.act("phase", phase="closed")
    assert author.events("verdict")[-1]["counts"] == {"accept": 0, "revise": 2, "reject": 0}
    assert db.session.scalar(select(func.count(VerdictVote.id))) == 2
    late = cast.sock(cast.critics[2], join=False)
    late.join()
    assert late.events("snapshot")[0]["verdict"] == {"accept": 0, "revise": 2, "reject": 0}


def test_review_questions_are_offered_to_push(cast, make):
    critic = cast.critics[0]
    review = make.review(cast.presentation, critic)
    review.answers = {**review.answers, "questions": "- How big is the batch?\n\n* Why not vLLM?\n"}
    db.session.commit()
    sock = cast.sock(critic)
    ack = sock.emit("review_questions", {"room_id": cast.room.id})
    assert ack == {"ok": True, "questions": ["How big is the batch?", "Why not vLLM?"]}
    pushed = sock.act("ask", text=ack["questions"][0], from_review=True)
    assert pushed["ok"] and question(pushed["question_id"]).text == "How big is the batch?"
    assert cast.sock(cast.critics[1]).emit("review_questions", {"room_id": cast.room.id})["questions"] == []


def test_staff_can_moderate_with_instructor_role_too(cast, make):
    second = make.member(cast.course, ROLE_INSTRUCTOR, name="Second Instructor")
    qid = ask(cast.sock(cast.critics[0]))
    assert cast.sock(second).act("approve", question_id=qid, version=1)["ok"]

"""Each beat checks a process's sockets against the stored sessions and roles
(``fanout.revalidate``; docs/panel-protocol.md, "Delivery guarantee"): a logout or roster change
whose command never reached this process (the queue was down) still ends or moves its sockets.

The database is changed directly here, as another process would change it, with no command
sent; the beat is called as the heartbeat calls it. The multi-process version, with Redis
killed and a process partitioned, is in tests/test_queue_outage.py.
"""
from __future__ import annotations

import pytest
from sqlalchemy import event, select

from blueprints.panel import fanout
from core.extensions import db
from domain import policy
from domain.panel import commands
from models import ROLE_TA, Enrollment, PresentationMember, User
from tests.support.panel import PanelCast, Sock


@pytest.fixture
def cast(app, make):
    """A room in its panel phase, whose presence is sent at once."""
    app.config["PANEL_PRESENCE_DELAY"] = 0
    cast = PanelCast(app, make)
    cast.set_room(phase="panel")
    return cast


class Queries:
    """Counts the statements the database is sent while active."""

    def __init__(self):
        self.count = 0

    def __call__(self, *_args):
        self.count += 1

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *_exc):
        event.remove(db.engine, "before_cursor_execute", self)


def _pending(cast, asker, text="Pending, for moderators only"):
    """A question asked on the asker's socket (so it is broadcast), awaiting approval."""
    ack = cast.sock(asker).act("ask", text=text)
    assert ack["ok"], ack
    return ack["question_id"]


def _public(cast, asker, text="Public after approval"):
    """A question asked and approved on sockets, broadcast to every audience."""
    qid = _pending(cast, asker, text)
    ack = cast.sock(cast.instructor).act("approve", question_id=qid, version=1)
    assert ack["ok"], ack
    return qid


def _enrollment(user) -> Enrollment:
    return db.session.scalar(select(Enrollment).where(Enrollment.user_id == user.id))


def _names(sock) -> list[str]:
    return [m["name"] for m in sock.received()]


# --------------------------------------------------------------------------- the comparison


def test_stale_sockets_compares_tokens_and_roles():
    sessions = {"a": (1, "t1"), "b": (2, "old"), "c": (3, "t3"), "d": (4, "t4"), "e": (5, "t5")}
    joined = {(9, "a"): (1, "critic"), (9, "b"): (2, "critic"), (9, "c"): (3, "critic"),
              (9, "d"): (4, "moderator"), (8, "a"): (1, "author")}
    tokens = {1: "t1", 2: "new", 3: "t3", 4: "t4"}  # 5 is gone
    roles = {(9, 1): "critic", (9, 2): "critic", (9, 3): "moderator", (8, 1): "author"}  # 4 removed
    stale = fanout.stale_sockets(sessions, joined, tokens, roles)
    assert sorted(stale.ended) == [("b", 2), ("e", 5)]
    assert sorted(stale.moved) == [("c", 9, 3, "critic", "moderator"), ("d", 9, 4, "moderator", None)]
    assert not fanout.stale_sockets(sessions, joined, {**tokens, 2: "old", 5: "t5"},
                                    {**roles, (9, 3): "critic", (9, 4): "moderator"})


def test_room_roles_read_at_once_agree_with_room_role(cast):
    people = [cast.instructor, cast.ta, cast.presenter, cast.summarizer, *cast.critics]
    outsider = User(email="out@example.edu", display_name="Out Sider", password_hash="x")
    db.session.add(outsider)
    db.session.commit()
    room_id = cast.room.id
    with Queries() as queries:
        roles = policy.room_roles([room_id, room_id + 1])  # a room that does not exist
    assert queries.count == 2
    found = {u.id: roles.get((room_id, u.id)) for u in people}
    assert found == {u.id: policy.room_role(u, cast.presentation) for u in people}
    assert set(found.values()) == {"moderator", "author", "critic"}
    assert roles.get((room_id, outsider.id)) is None and roles.get((room_id + 1, cast.instructor.id)) is None
    assert policy.room_roles([]).get((room_id, cast.instructor.id)) is None


# --------------------------------------------------------------------------- sessions



def test_a_session_ended_elsewhere_ends_the_socket_at_the_next_beat(cast):
    critic, other = cast.critics[0], cast.critics[1]
    sock, bystander, mod = cast.sock(critic), cast.sock(other), cast.sock(cast.instructor)
    unjoined = cast.sock(critic, join=False)  # connected, in no room yet
    for s in (sock, bystander, mod, unjoined):
        s.received()
    db.session.get(User, critic.id).rotate_session_token()  # a logout whose command was lost
    db.session.commit()
    stale = fanout.revalidate()
    assert [user_id for _sid, user_id in stale.ended] == [critic.id, critic.id] and not stale.moved
    for ended in (sock, unjoined):
        assert _names(ended) == ["forced_logout"]
        assert not ended.connected
    assert bystander.connected and "forced_logout" not in _names(bystander)
    # nothing of the room reaches the ended sockets afterwards, and the next beat finds nothing
    _public(cast, other)
    assert "question" in _names(bystander)
    assert _names(sock) == [] and _names(unjoined) == []
    assert not fanout.revalidate()


def test_a_deleted_account_ends_its_sockets(cast):
    critic = cast.critics[0]
    sock = cast.sock(critic)
    db.session.delete(db.session.get(User, critic.id))
    db.session.commit()
    assert [user_id for _sid, user_id in fanout.revalidate().ended] == [critic.id]
    assert _names(sock) == ["forced_logout"] and not sock.connected


# --------------------------------------------------------------------------- roles


def test_a_removal_elsewhere_takes_the_socket_out_of_the_room(cast):
    critic = cast.critics[0]
    sock = cast.sock(critic)
    db.session.delete(_enrollment(critic))
    db.session.commit()
    stale = fanout.revalidate()
    assert [(m[2], m[3], m[4]) for m in stale.moved] == [(critic.id, "critic", None)] and not stale.ended
    notices = [m["args"][0] for m in sock.received() if m["name"] == "notice"]
    assert [n["kind"] for n in notices] == ["removed"]
    assert sock.connected  # still logged in: only the room is gone
    bystander = cast.sock(cast.critics[2])
    _public(cast, cast.critics[1])
    assert "question" in _names(bystander)
    assert _names(sock) == []
    assert not fanout.revalidate()


def test_a_promotion_elsewhere_moves_the_socket_to_the_moderators(cast):
    critic = cast.critics[0]
    sock = cast.sock(critic)
    _enrollment(critic).role = ROLE_TA
    db.session.commit()
    assert [(m[3], m[4]) for m in fanout.revalidate().moved] == [("critic", "moderator")]
    snapshots = [m["args"][0] for m in sock.received() if m["name"] == "snapshot"]
    assert [s["role"] for s in snapshots] == ["moderator"] and "presence_names" in snapshots[0]
    qid = _pending(cast, cast.critics[1])
    assert any(m["args"][0]["question"]["id"] == qid for m in sock.received() if m["name"] == "question")


def test_a_demotion_elsewhere_stops_moderator_payloads_at_the_next_beat(cast):
    ta = cast.ta
    sock = cast.sock(ta)
    _enrollment(ta).role = "student"
    db.session.commit()
    assert [(m[3], m[4]) for m in fanout.revalidate().moved] == [("moderator", "critic")]
    (snapshot,) = [m["args"][0] for m in sock.received() if m["name"] == "snapshot"]
    assert snapshot["role"] == "critic" and "presence_names" not in snapshot
    secret = _pending(cast, cast.critics[1], "Pending secret")
    assert all(m["args"][0].get("question", {}).get("id") != secret for m in sock.received())


def test_joining_the_authors_elsewhere_moves_the_socket(cast):
    critic = cast.critics[0]
    sock = cast.sock(critic)
    db.session.add(PresentationMember(course_id=cast.course.id, presentation=cast.presentation, user=critic,
                                      kind="summary", seat=2))
    db.session.commit()
    assert [(m[3], m[4]) for m in fanout.revalidate().moved] == [("critic", "author")]
    assert [m["args"][0]["role"] for m in sock.received() if m["name"] == "snapshot"] == ["author"]


# --------------------------------------------------------------------------- the cost of a beat


def test_a_beat_costs_the_same_three_queries_for_any_number_of_sockets_and_rooms(app, cast, make):
    """Three queries for all of the process's sockets when nothing changed, however many
    sockets and rooms (here, a second room of the course)."""
    listeners = [make.member(cast.course, name=f"Listener {n}") for n in range(12)]
    second = commands.room_for(make.presentation(cast.course, presenters=[listeners[0]]))
    db.session.commit()
    counts = []
    for people in ([cast.critics[0]], [*cast.critics[1:], cast.presenter, cast.instructor, *listeners]):
        for person in people:
            cast.sock(person)
        with Queries() as queries:
            assert not fanout.revalidate()
        counts.append(queries.count)
    for person in (listeners[0], listeners[1], cast.ta):
        assert Sock(app, cast.flask_client(person), person, second.id).join()["ok"]
    with Queries() as queries:
        assert not fanout.revalidate()
    counts.append(queries.count)
    assert counts == [3, 3, 3], counts
    assert len(fanout._state().users) == 20 and len(fanout._state().rooms) == 2
    assert fanout.audience_of(next(iter(fanout._state().rooms[second.id].sockets)), second.id) == "author"


def test_the_heartbeat_runs_the_check_every_beat(cast, monkeypatch, caplog):
    from blueprints.panel import heartbeat

    critic = cast.critics[0]
    sock, bystander = cast.sock(critic), cast.sock(cast.critics[1])
    sock.received()
    db.session.get(User, critic.id).rotate_session_token()
    db.session.commit()
    room_id = cast.room.id
    assert room_id in heartbeat.beat({})  # the room's seq, read for the catch-up
    assert _names(sock) == ["forced_logout"] and not sock.connected
    assert any("1 ended, 0 moved" in r.getMessage() for r in caplog.records)

    # a check that fails leaves the rest of the beat to run
    def broken():
        raise RuntimeError("the database went away")

    monkeypatch.setattr(fanout, "revalidate", broken)
    assert room_id in heartbeat.beat({})
    assert any("could not be checked" in r.getMessage() for r in caplog.records)
    assert bystander.connected

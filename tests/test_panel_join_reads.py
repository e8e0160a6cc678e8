"""The reads a socket event makes before it acts: the session's user as a ``SessionUser`` and the
room as a ``RoomState``, each in one Core statement, agreeing with the ORM rules they stand for."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import request
from sqlalchemy import event

from blueprints.panel import fanout
from core.extensions import db, login_manager
from core.timeutil import now_utc
from domain import accounts, policy
from domain.panel import commands
from models import PanelRoom, RoomMute, User
from tests.support.panel import PanelCast


@pytest.fixture
def cast(app, make):
    """A room in its panel phase, whose presence is sent at once."""
    app.config["PANEL_PRESENCE_DELAY"] = 0
    cast = PanelCast(app, make)
    start = now_utc().replace(microsecond=0)
    cast.set_room(phase="panel", phase_started_at=start, phase_ends_at=start + timedelta(minutes=15))
    return cast


class Statements:
    """The SQL statements sent while active."""

    def __init__(self):
        self.sent: list[str] = []

    def __call__(self, _conn, _cursor, statement, *_args):
        self.sent.append(statement)

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *_exc):
        event.remove(db.engine, "before_cursor_execute", self)


def _outsider() -> User:
    user = User(email="out@example.edu", display_name="Out Sider", password_hash="x")
    db.session.add(user)
    db.session.commit()
    return user


def test_the_room_state_is_the_room_as_stored(cast):
    room = db.session.get(PanelRoom, cast.room.id)
    state = policy.load_room(cast.critics[0], room.id)
    assert isinstance(state, policy.RoomState)
    for name in ("id", "presentation_id", "phase", "seq", "moderated", "follow_ups_allowed",
                 "phase_started_at", "phase_ends_at", "created_at"):
        assert getattr(state, name) == getattr(room, name), name
    assert state.phase_ends_at.tzinfo is not None  # read through the model's column types
    assert state.course_id == room.presentation.course_id
    assert state.presentation.id == room.presentation_id
    assert policy.load_room(cast.critics[0], room.id + 1000) is None


def test_the_role_read_with_the_room_agrees_with_room_role_for_everyone(cast):
    outsider = _outsider()
    people = [cast.instructor, cast.ta, cast.presenter, cast.summarizer, *cast.critics, outsider]
    room_id = cast.room.id
    found = {user.email: policy.loaded_room_role(user, policy.load_room(user, room_id)) for user in people}
    expected = {user.email: policy.room_role(user, cast.presentation) for user in people}
    assert found == expected
    assert set(found.values()) == {"moderator", "author", "critic", None}


def test_the_room_its_role_and_the_mute_are_one_statement(cast, app):
    critic = cast.critics[0]
    db.session.add(RoomMute(room_id=cast.room.id, user_id=critic.id, muted_by_id=cast.instructor.id))
    db.session.commit()
    room_id, _ = cast.room.id, critic.id  # loaded again after the commit, before counting
    with app.test_request_context(), Statements() as statements:
        room = policy.load_room(critic, room_id)
        role = policy.loaded_room_role(critic, room)
        muted = policy.is_muted(critic, room)
        refusal = policy.refusal("ask", room, critic, role)
    assert (role, muted, refusal) == ("critic", True, "muted")
    assert len(statements.sent) == 1


def test_a_stranger_is_told_there_is_no_such_room(cast):
    with pytest.raises(commands.PanelError) as refused:
        commands.room_and_role(cast.room.id, _outsider())
    assert refused.value.code == "not_found"


def test_socket_events_load_the_identity_and_pages_the_account(cast, app):
    critic = cast.critics[0]
    load = login_manager._user_callback
    with app.test_request_context():
        page_user = load(critic.session_token)
        request.sid = "a-socket"  # what Flask-SocketIO sets on its events' requests
        socket_user = load(critic.session_token)
        assert load("not-a-token") is None
    assert isinstance(page_user, User) and page_user.id == critic.id
    assert socket_user == accounts.SessionUser(critic.id, critic.session_token, critic.display_name, False)
    assert socket_user.is_authenticated and socket_user.is_active and not socket_user.is_anonymous
    assert socket_user.get_id() == critic.get_id()


def test_a_rotated_token_loads_no_socket_user(cast):
    critic = db.session.get(User, cast.critics[0].id)
    old = critic.session_token
    critic.rotate_session_token()
    db.session.commit()
    assert accounts.session_user_by_token(old) is None
    assert accounts.session_user_by_token(critic.session_token).id == critic.id


def test_a_join_reads_the_user_the_room_and_the_viewer_in_three_statements(cast, monkeypatch):
    critic = cast.critics[0]
    sock = cast.sock(critic, join=False)
    cast.sock(cast.critics[1])  # the critics' view at this seq is built (once per seq)
    announced = []  # the presence update a join starts is sent later, gathered with others
    monkeypatch.setattr(fanout, "publish_presence", announced.append)
    db.session.remove()
    with Statements() as statements:
        ack = sock.join()
    assert announced == [cast.room.id]
    assert ack["ok"] and ack["role"] == "critic", ack
    snapshots = sock.events("snapshot")
    assert len(snapshots) == 1 and snapshots[0]["role"] == "critic" and snapshots[0]["my_votes"] == []
    assert len(statements.sent) == 3, "\n---\n".join(s[:90] for s in statements.sent)
    assert "users" in statements.sent[0] and "password_hash" not in statements.sent[0]
    assert "panel_rooms" in statements.sent[1]

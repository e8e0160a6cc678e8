"""The panel's one permission table (``policy.EVENT_RULES``): every action of the protocol has a
rule, the rules say what SPEC §4 says, and a room role read earlier gives the same answer."""
from __future__ import annotations

import pytest

from core.extensions import db
from domain import policy
from domain.panel import commands
from domain.panel.schema import ACTIONS
from models import PHASES, RoomMute
from tests.support.panel import PanelCast

MODERATOR, AUTHOR, CRITIC = policy.ROOM_MODERATOR, policy.ROOM_AUTHOR, policy.ROOM_CRITIC
MODERATION = ("approve", "dismiss", "edit", "merge", "pin", "unpin", "reorder", "set_live",
              "mark_answered", "reopen", "mute", "phase", "extend", "settings")


def expected(event: str, role: str, phase: str, muted: bool):
    """SPEC §4, written out: the refusal code, or None when allowed."""
    if event in ("ask", "follow_up"):
        if muted:
            return "muted"
        if phase not in ("presenting", "panel"):
            return "closed"
        return None if role == CRITIC else "forbidden"
    if event == "vote":
        if muted:
            return "muted"
        return "closed" if phase == "closed" else None
    if event == "verdict":
        if phase not in ("panel", "closed"):
            return "closed"
        return None if role == CRITIC else "forbidden"
    if event in ("claim", "answer"):
        return None if role == AUTHOR else "forbidden"
    assert event in MODERATION, event
    return None if role == MODERATOR else "forbidden"


@pytest.fixture
def cast(app, make, clock):
    return PanelCast(app, make)


def test_every_protocol_action_has_exactly_one_rule():
    assert set(policy.EVENT_RULES) == set(ACTIONS)


@pytest.mark.parametrize("muted", [False, True])
def test_the_table_says_what_the_spec_says(cast, muted):
    people = [cast.instructor, cast.ta, cast.presenter, cast.summarizer, cast.critics[0]]
    if muted:
        for person in people:
            db.session.add(RoomMute(room_id=cast.room.id, user_id=person.id, muted_by_id=cast.instructor.id))
        db.session.commit()
    checked = 0
    for phase in PHASES:
        room = cast.set_room(phase=phase)
        for person in people:
            role = policy.room_role(person, room.presentation)
            for event in policy.EVENT_RULES:
                want = expected(event, role, phase, muted)
                assert policy.refusal(event, room, person) == want, (event, phase, role)
                assert policy.refusal(event, room, person, role) == want, (event, phase, role)
                assert policy.permitted(event, room, person, role) is (want is None)
                checked += 1
    assert checked == len(PHASES) * len(people) * len(policy.EVENT_RULES) > 0


def test_the_can_functions_read_the_table(cast):
    for phase in PHASES:
        room = cast.set_room(phase=phase)
        for person in (cast.instructor, cast.presenter, cast.critics[0]):
            assert policy.can_ask(person, room) is policy.permitted("ask", room, person)
            assert policy.can_vote(person, room) is policy.permitted("vote", room, person)
            assert policy.can_answer(person, room) is policy.permitted("answer", room, person)
            assert policy.can_cast_verdict(person, room) is policy.permitted("verdict", room, person)
            assert policy.can_moderate(person, room) is policy.permitted("approve", room, person)


def test_check_permission_raises_the_tables_refusal(cast):
    room = cast.set_room(phase="closed")
    critic = cast.critics[0]
    db.session.add(RoomMute(room_id=room.id, user_id=critic.id, muted_by_id=cast.instructor.id))
    db.session.commit()
    for person in (cast.instructor, cast.presenter, critic):
        role = policy.room_role(person, room.presentation)
        for event in policy.EVENT_RULES:
            want = expected(event, role, "closed", person is critic)
            for known in (None, role):
                try:
                    commands.check_permission(event, room, person, known)
                    got = None
                except commands.PanelError as exc:
                    got = exc.code
                    assert exc.message == commands.REFUSALS[exc.code]
                assert got == want, (event, role, known)

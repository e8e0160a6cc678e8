"""The service's permission check for a room role read once per event agrees with the policy."""
from __future__ import annotations

import pytest

from domain import policy
from domain.panel import service
from core.extensions import db
from models import PHASES, RoomMute
from tests.panel_support import PanelCast


@pytest.fixture
def cast(app, make, clock):
    return PanelCast(app, make)


@pytest.mark.parametrize("muted", [False, True])
def test_permitted_with_a_known_role_matches_every_policy_rule(cast, muted):
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
            for event, rule in service.PERMISSIONS.items():
                assert service.permitted(event, room, person, role) == rule(person, room), (event, phase, role)
                checked += 1
    assert checked == len(PHASES) * len(people) * len(service.PERMISSIONS) > 0


def test_check_permission_gives_the_same_refusal_with_or_without_the_role(cast):
    room = cast.set_room(phase="closed")
    critic = cast.critics[0]
    db.session.add(RoomMute(room_id=room.id, user_id=critic.id, muted_by_id=cast.instructor.id))
    db.session.commit()
    for person in (cast.instructor, cast.presenter, critic):
        role = policy.room_role(person, room.presentation)
        for event in service.PERMISSIONS:
            codes = []
            for known in (None, role):
                try:
                    service.check_permission(event, room, person, known)
                    codes.append("ok")
                except service.PanelError as exc:
                    codes.append(exc.code)
            assert codes[0] == codes[1], (event, role, codes)

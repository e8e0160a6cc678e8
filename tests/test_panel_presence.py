"""Presence bookkeeping of one room: distinct users per audience, kept as sockets come and go."""
from blueprints.panel.fanout import _RoomPresence


def test_tabs_count_once_and_the_latest_tab_decides_the_audience():
    room = _RoomPresence()
    room.add("a1", 1, "critic")
    room.add("a2", 1, "critic")
    room.add("b1", 2, "author")
    assert room.counts == {"moderator": 0, "author": 1, "critic": 1}
    room.add("a3", 1, "moderator")  # a role change reaches a newer tab first
    assert room.counts == {"moderator": 1, "author": 1, "critic": 0}
    room.remove("a3")
    assert room.counts == {"moderator": 0, "author": 1, "critic": 1}
    room.remove("a1")
    assert room.counts["critic"] == 1 and room.members() == {1: "critic", 2: "author"}
    room.remove("a2")
    room.remove("a2")  # leaving twice changes nothing
    assert room.counts == {"moderator": 0, "author": 1, "critic": 0} and room.members() == {2: "author"}


def test_moving_a_socket_to_another_audience_moves_its_user():
    room = _RoomPresence()
    room.add("s", 7, "critic")
    room.add("s", 7, "author")
    assert room.counts == {"moderator": 0, "author": 1, "critic": 0}
    assert room.sockets == {"s": (7, "author")}


def test_a_socket_without_a_user_is_listed_but_not_counted():
    room = _RoomPresence()
    room.add("x", None, "critic")
    assert room.counts["critic"] == 0 and "x" in room.sockets
    room.remove("x")
    assert not room.sockets

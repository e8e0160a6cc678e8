"""Presence bookkeeping of one room (distinct users per audience, kept as sockets come and go),
presence shared between processes, which actions a process received in full, catching up after
a failed broadcast, and rate limits while their storage is down."""
import logging
import time

from blueprints.panel import fanout, ratelimit
from blueprints.panel.fanout import _RoomPresence
from blueprints.panel.heartbeat import SharedPresence, merge_members
from blueprints.panel.manager import Delivery
from tests.support.panel import PanelCast


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


# --------------------------------------------------------------------------- presence of several processes


class FakeRedis:
    """The hash commands SharedPresence uses, in memory; ``down`` makes every call fail."""

    def __init__(self):
        self.hashes: dict[str, dict[str, str]] = {}
        self.down = False

    def pipeline(self, transaction=False):
        return _FakePipeline(self)


class _FakePipeline:
    def __init__(self, redis):
        self.redis, self.calls = redis, []

    def __getattr__(self, name):
        return lambda *args: self.calls.append((name, args))

    def execute(self):
        if self.redis.down:
            raise ConnectionError("Redis is down")
        out = []
        for name, args in self.calls:
            table = self.redis.hashes.setdefault(args[0], {})
            if name == "hset":
                table[args[1]] = args[2]
                out.append(1)
            elif name == "hdel":
                out.append(sum(table.pop(field, None) is not None for field in args[1:]))
            elif name == "hgetall":
                out.append({k.encode(): v.encode() for k, v in table.items()})
            else:
                out.append(True)
        return out


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def test_a_user_on_several_processes_counts_once_in_the_first_audience():
    assert merge_members({1: "critic", 2: "author"}, {1: "moderator", 3: "critic"}) == {
        1: "moderator", 2: "author", 3: "critic"}
    assert merge_members({1: "moderator"}, {1: "critic"}) == {1: "moderator"}


def test_processes_see_each_others_users_until_a_silent_process_expires():
    redis, clock = FakeRedis(), Clock()
    a, b = (SharedPresence(redis, host, ttl=6, clock=clock) for host in ("a", "b"))
    a.sync({7: {1: "moderator"}})
    b.sync({7: {2: "critic", 3: "critic"}})
    a.sync({7: {1: "moderator"}})
    assert a.others(7) == {2: "critic", 3: "critic"} and b.others(7) == {1: "moderator"}
    assert a.extra_counts(7) == {"moderator": 0, "author": 0, "critic": 2}

    # b stops refreshing (killed): its users leave a's view once its entry expires, and the
    # stale field is removed from Redis
    clock.now += 5
    a.sync({7: {1: "moderator"}})
    assert a.others(7) == {2: "critic", 3: "critic"}
    clock.now += 2
    a.sync({7: {1: "moderator"}})
    assert a.others(7) == {} and set(redis.hashes["panel-presence:7"]) == {"a"}


def test_a_process_whose_room_emptied_leaves_the_shared_presence_at_once():
    redis, clock = FakeRedis(), Clock()
    a, b = (SharedPresence(redis, host, ttl=6, clock=clock) for host in ("a", "b"))
    b.sync({7: {2: "critic"}})
    b.sync({7: {}})
    a.sync({7: {1: "moderator"}})
    assert a.others(7) == {}


def test_without_redis_the_last_known_presence_stays_until_it_expires(caplog):
    redis, clock = FakeRedis(), Clock()
    a, b = (SharedPresence(redis, host, ttl=6, clock=clock) for host in ("a", "b"))
    b.sync({7: {2: "critic"}})
    a.sync({7: {1: "moderator"}})
    redis.down = True
    with caplog.at_level(logging.WARNING, logger="blueprints.panel.heartbeat"):
        a.sync({7: {1: "moderator"}})
        a.sync({7: {1: "moderator"}})
        assert a.others(7) == {2: "critic"}
        clock.now += 7
        a.sync({7: {1: "moderator"}})
        assert a.others(7) == {}
    assert len([r for r in caplog.records if "does not answer" in r.message]) == 1
    redis.down = False
    b.sync({7: {2: "critic"}})
    a.sync({7: {1: "moderator"}})
    assert a.others(7) == {2: "critic"}


def test_presence_counts_users_on_other_processes(app, make):
    app.config["PANEL_PRESENCE_DELAY"] = 0
    cast = PanelCast(app, make)
    redis, clock = FakeRedis(), Clock()
    elsewhere = SharedPresence(redis, "other", ttl=6, clock=clock)
    elsewhere.sync({cast.room.id: {cast.critics[1].id: "critic", cast.ta.id: "moderator"}})
    with app.app_context():
        fanout._state().shared = SharedPresence(redis, "here", ttl=6, clock=clock)
    sock = cast.sock(cast.instructor)
    critic = cast.sock(cast.critics[0])
    with app.test_request_context():
        fanout._state().shared.sync(fanout.local_rooms())
        counts = fanout.presence(cast.room.id, names=False)["counts"]
        named = fanout.presence(cast.room.id)
    assert counts == {"moderator": 2, "author": 0, "critic": 2}
    assert named["counts"] == counts
    assert [p["name"] for p in named["names"]] == ["Ines Instructor", "Theo TA", "Critic 1", "Critic 2"]
    assert sock.connected and critic.connected


def test_another_processs_change_is_gathered_with_this_ones_into_one_update(app, make, monkeypatch):
    app.config["PANEL_PRESENCE_DELAY"] = 0.5
    cast = PanelCast(app, make)
    tasks, shown, told = [], [], []
    monkeypatch.setattr(fanout.socketio, "start_background_task", lambda fn, *args: tasks.append((fn, args)))
    monkeypatch.setattr(fanout.socketio, "sleep", lambda _seconds: None)
    monkeypatch.setattr(fanout, "show_presence", lambda room_id, force=False: shown.append((room_id, force)))
    monkeypatch.setattr(fanout.manager, "elsewhere", lambda fn, **args: told.append((fn.__name__, args)))
    cast.sock(cast.critics[0])  # a join here: an update is due
    with app.app_context():
        fanout._state().shared = SharedPresence(FakeRedis(), "here", ttl=6, clock=Clock())
    room_id = cast.room.id
    with app.test_request_context():
        fanout._presence_changed(room_id)  # another process's sockets changed in the same window
        fanout._presence_changed(room_id)
    assert len(tasks) == 1
    fn, args = tasks.pop()
    fn(*args)
    assert shown == [(room_id, True)]  # one update here, forced: this process's sockets changed
    assert told == [("_presence_changed", {"room_id": room_id})]  # and the others are told once

    with app.test_request_context():
        fanout._presence_changed(room_id)  # only another process changed
    fn, args = tasks.pop()
    fn(*args)
    assert shown[1:] == [(room_id, False)] and len(told) == 1  # shown if changed; nobody told back


# --------------------------------------------------------------------------- deliveries


def test_an_action_is_complete_when_its_marker_follows_all_its_events():
    delivery = Delivery()
    delivery.track(1, 10)
    for _ in range(3):
        delivery.received(1, 11)
    delivery.marked(1, 11, 3)
    assert delivery.behind(1, 11) is None
    # one of the three events of action 12 was lost: behind at 12, whatever came later
    delivery.received(1, 12)
    delivery.received(1, 12)
    delivery.marked(1, 12, 3)
    delivery.received(1, 13)
    delivery.marked(1, 13, 1)
    assert delivery.behind(1, 13) == 12
    assert delivery.behind(1, 11) is None


def test_a_lost_marker_or_a_missing_action_is_behind_and_a_snapshot_catches_up():
    delivery = Delivery()
    delivery.track(1, 5)
    delivery.received(1, 6)  # the marker never came
    delivery.done(1, 8)  # published by this process (8 is here; 7 never arrived)
    assert delivery.behind(1, 8) == 7
    assert delivery.behind(1, 5) is None
    delivery.caught_up(1, 8)
    assert delivery.behind(1, 8) is None
    assert delivery.counts == {}


def test_markers_out_of_order_and_untracked_rooms():
    delivery = Delivery()
    delivery.track(1, 0)
    delivery.done(1, 2)
    assert delivery.behind(1, 2) == 1
    delivery.marked(1, 1, 0)  # an action with nothing to send
    assert delivery.behind(1, 2) is None and delivery.rooms[1].base == 2
    delivery.received(2, 1)
    delivery.marked(2, 1, 1)
    assert delivery.behind(2, 1) is None and 2 not in delivery.rooms
    delivery.untrack(1)
    assert delivery.behind(1, 9) is None


def test_a_failed_broadcast_sends_the_rooms_sockets_a_snapshot(app, make, monkeypatch):
    app.config["PANEL_PRESENCE_DELAY"] = 0
    cast = PanelCast(app, make)
    cast.set_room(phase="panel")
    mod, critic = cast.sock(cast.instructor), cast.sock(cast.critics[0])

    def broken(change, now):
        raise RuntimeError("the broadcast failed")
        yield  # pragma: no cover

    monkeypatch.setattr(fanout, "_events", broken)
    monkeypatch.setattr(fanout.heartbeat, "JITTER", 0.05)
    ack = critic.act("ask", text="Stored although nobody heard it?")
    assert ack["ok"], ack
    snapshots = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not snapshots:
        snapshots = mod.events("snapshot")
        time.sleep(0.05)
    assert snapshots and snapshots[-1]["seq"] == ack["seq"]
    assert [q["text"] for q in snapshots[-1]["questions"]] == ["Stored although nobody heard it?"]


# --------------------------------------------------------------------------- rate limits without their storage


class _Storage:
    def __init__(self):
        self.down, self.hits = False, 0

    def hit(self, item, *keys):
        if self.down:
            raise ConnectionError("Redis is down")
        self.hits += 1
        return True


def test_rate_limits_count_in_memory_while_their_storage_is_down(caplog):
    clock = Clock(0.0)
    limiter = ratelimit.FallbackLimiter("memory://", clock=clock)
    limiter.shared = storage = _Storage()
    item = ratelimit.parse_rate("2/60")
    assert limiter.hit(item, "panel", "question", "1") and storage.hits == 1
    storage.down = True
    with caplog.at_level(logging.WARNING, logger="blueprints.panel.ratelimit"):
        assert [limiter.hit(item, "panel", "question", "1") for _ in range(3)] == [True, True, False]
    assert len([r for r in caplog.records if "does not answer" in r.message]) == 1
    storage.down = False
    assert not limiter.hit(item, "panel", "question", "1")  # still in memory until the retry
    clock.now += ratelimit.RETRY_AFTER
    assert limiter.hit(item, "panel", "question", "1") and storage.hits == 2

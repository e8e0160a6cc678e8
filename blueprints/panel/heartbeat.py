"""Every server process's heartbeat: catching sockets up after a lost message, and presence
shared between processes.

With a message queue, every ``PANEL_HEARTBEAT`` seconds each process reads, in one query, the
stored seq of every room with sockets here. An action older than one beat that this process did
not receive in full (``manager.Delivery``) is a lost one: the room's sockets here that are
current only before it get a fresh snapshot, sent here and not through the queue, spread over
``JITTER`` seconds. With a Redis queue the beat also writes this process's presence of those
rooms to Redis (expiring after ``PRESENCE_BEATS`` beats, so a killed process's sockets leave
the count) and reads the other processes'. Every beat also checks this process's sockets
against the database in three queries for all of them (``fanout.revalidate``): a socket whose
session token was rotated (a logout) is ended, one whose room role changed (a roster change)
follows it, so a logout or roster change whose command the queue lost still takes effect here.
Without a queue nothing runs: one process sees every change it makes, and logouts and roster
changes act on its sockets directly. See docs/panel-protocol.md, "Delivery guarantee".
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Callable, Optional

from flask import current_app

from blueprints.panel import manager
from core.extensions import db, socketio
from domain.panel import payloads, state

JITTER = 1.0  # seconds over which one room's catch-up snapshots are spread
BATCH = 25  # snapshots sent together
PRESENCE_BEATS = 3  # a process's presence lasts this many beats unless refreshed
PRESENCE_TIMEOUT = 1.0  # seconds a presence read or write may take

log = logging.getLogger(__name__)
_starting = threading.Lock()


def interval() -> float:
    """Seconds between beats."""
    return float(current_app.config["PANEL_HEARTBEAT"])


def watch() -> None:
    """A socket connected here: start this process's heartbeat (with a message queue), which
    checks the sockets' sessions and roles every beat."""
    if manager.delivery() is not None:
        _start(current_app._get_current_object())


def follow(room_id: int, seq: int) -> None:
    """A socket here joined the room, current at ``seq``: follow the room's deliveries (and
    start this process's heartbeat)."""
    delivery = manager.delivery()
    if delivery is None:
        return
    delivery.track(room_id, seq)
    _start(current_app._get_current_object())


def unfollow(room_id: int) -> None:
    """The room has no sockets here any more."""
    delivery = manager.delivery()
    if delivery is not None:
        delivery.untrack(room_id)


def _start(app) -> None:
    if "panel_heartbeat" in app.extensions:
        return
    with _starting:
        if "panel_heartbeat" in app.extensions:
            return
        app.extensions["panel_heartbeat"] = True
        url = app.config["SOCKETIO_MESSAGE_QUEUE"]
        queue = manager.queue_manager()
        if manager.is_redis(url) and queue is not None:
            from blueprints.panel import fanout

            fanout._state().shared = SharedPresence(
                manager.redis_client(url, PRESENCE_TIMEOUT), queue.host_id,
                ttl=PRESENCE_BEATS * interval(),
            )
        socketio.start_background_task(_run, app)


def _run(app) -> None:  # pragma: no cover  (runs in the servers of the tests)
    seqs: dict[int, int] = {}
    while True:
        with app.app_context():
            pause = interval()
        socketio.sleep(pause)
        with app.app_context():
            try:
                seqs = beat(seqs)
            except Exception:
                app.logger.exception("panel heartbeat failed")
            finally:
                db.session.remove()


def beat(earlier: dict[int, int]) -> dict[int, int]:
    """One beat: end the sockets whose session ended and move those whose role changed (a
    logout or roster change whose command was lost), share and show presence, then catch up
    the sockets of rooms that lost an action at or before the seqs read on the previous beat
    (``earlier``); returns this beat's seqs."""
    from blueprints.panel import fanout

    try:
        revalidated = fanout.revalidate()
    except Exception:
        # The catch-up below does not depend on it; the next beat checks again.
        log.exception("panel sockets' sessions and roles could not be checked")
        db.session.rollback()
    else:
        if revalidated:
            log.warning("panel sockets out of step with the database (a logout or roster change not "
                        "applied here yet): %s ended, %s moved", len(revalidated.ended), len(revalidated.moved))
    rooms = fanout.local_rooms()
    shared = fanout._state().shared
    if shared is not None:
        shared.sync(rooms)
        for room_id in rooms:
            fanout.show_presence(room_id)
    if not rooms:
        return {}
    seqs = state.room_seqs(list(rooms))
    delivery = manager.delivery()
    for room_id, seq in earlier.items():
        if room_id not in seqs or delivery is None:
            continue
        lost = delivery.behind(room_id, seq)
        if lost is not None:
            count = fanout.resync(room_id, lost)
            log.warning("panel room %s: action %s did not reach this process; catching up %s sockets",
                        room_id, lost, count)
            delivery.caught_up(room_id, seq)
    return seqs


# --------------------------------------------------------------------------- presence


def merge_members(into: dict[int, str], members: dict[int, str]) -> dict[int, str]:
    """Add ``members`` (user → audience) to ``into``: a user in several counts once, in the
    first audience of ``payloads.AUDIENCES`` they are in."""
    order = payloads.AUDIENCES
    for user_id, audience in members.items():
        known = into.get(user_id)
        if known is None or order.index(audience) < order.index(known):
            into[user_id] = audience
    return into


class SharedPresence:
    """The users of each room on every process, kept in Redis: one hash per room, one field
    per process (``{"until": time, "members": {user_id: audience}}``), refreshed every beat;
    a field past its ``until`` is a process that stopped, and is dropped.

    When Redis does not answer, what was read last stays until it expires (one warning).
    """

    def __init__(self, client, host_id: str, ttl: float, clock: Callable[[], float] = time.time):
        self.client, self.host, self.ttl, self.clock = client, host_id, ttl, clock
        self.hosts: dict[int, dict[str, tuple[float, dict[int, str]]]] = {}
        self._others: dict[int, dict[int, str]] = {}
        self._extra: dict[int, dict[str, int]] = {}
        self.failing = False
        self.lock = threading.Lock()

    @staticmethod
    def key(room_id: int) -> str:
        return f"panel-presence:{room_id}"

    def sync(self, rooms: dict[int, dict[int, str]]) -> None:
        """Write this process's users of each room (none: remove it) and read everyone's."""
        now = self.clock()
        pipe = self.client.pipeline(transaction=False)
        for room_id, members in rooms.items():
            key = self.key(room_id)
            if members:
                pipe.hset(key, self.host, json.dumps({"until": now + self.ttl, "members": members}))
                pipe.expire(key, int(self.ttl * 2) + 1)
            else:
                pipe.hdel(key, self.host)
            pipe.hgetall(key)
        try:
            results = pipe.execute()
        except Exception as exc:
            if not self.failing:
                log.warning("presence: Redis does not answer (%s); counting this process's sockets "
                            "and the others' last known", exc)
                self.failing = True
            with self.lock:
                for room_id in list(self.hosts):
                    self._store(room_id, self.hosts[room_id], rooms.get(room_id), now)
            return
        if self.failing:
            log.warning("presence: Redis answers again")
            self.failing = False
        stale = self.client.pipeline(transaction=False)
        dropped = False
        position = 0
        for room_id, members in rooms.items():
            position += 3 if members else 2
            fields = results[position - 1] or {}
            hosts = {}
            for host, raw in fields.items():
                host = host.decode() if isinstance(host, bytes) else host
                if host == self.host:
                    continue
                try:
                    entry = json.loads(raw)
                    until, theirs = float(entry["until"]), {int(u): a for u, a in entry["members"].items()}
                except (ValueError, KeyError, TypeError, AttributeError):
                    until, theirs = 0.0, {}
                if until < now:
                    stale.hdel(self.key(room_id), host)
                    dropped = True
                    continue
                hosts[host] = (until, theirs)
            with self.lock:
                self._store(room_id, hosts, members, now)
        if dropped:
            try:
                stale.execute()
            except Exception:
                pass

    def _store(self, room_id: int, hosts: dict, local: Optional[dict[int, str]], now: float) -> None:
        hosts = {h: entry for h, entry in hosts.items() if entry[0] >= now}
        if not hosts:
            self.hosts.pop(room_id, None)
            self._others.pop(room_id, None)
            self._extra.pop(room_id, None)
            return
        others: dict[int, str] = {}
        for _until, members in hosts.values():
            merge_members(others, members)
        extra = dict.fromkeys(payloads.AUDIENCES, 0)
        for user_id, audience in others.items():
            if not local or user_id not in local:
                extra[audience] += 1
        self.hosts[room_id], self._others[room_id], self._extra[room_id] = hosts, others, extra

    def others(self, room_id: int) -> dict[int, str]:
        """The room's users on the other processes (as last read)."""
        with self.lock:
            return dict(self._others.get(room_id, {}))

    def extra_counts(self, room_id: int) -> dict[str, int]:
        """Per audience, the room's users on other processes who were not here at the last read."""
        with self.lock:
            return dict(self._extra.get(room_id, {}))

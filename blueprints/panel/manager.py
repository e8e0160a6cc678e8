"""The Socket.IO client manager, and work that every server process does on its own sockets.

With a message queue (``SOCKETIO_MESSAGE_QUEUE``) python-socketio carries emits, room changes
and the disconnect of a known socket id to every server process, but each process knows only
its own sockets. ``everywhere(fn, **args)`` runs ``fn`` here at once and, through the queue, on
every other process (in an app context there), so each acts on its own sockets: closing a
user's sockets at logout, moving them after a roster change. Without a queue, here only. A
command the queue loses is not replayed: each process's heartbeat checks its sockets' sessions
and roles against the database (``fanout.revalidate``).

The queue may drop messages (an outage, a process cut off from it). Every action's events are
therefore published as one counted batch (``publish_action``) followed by a marker with the
count; each process notes in its ``Delivery`` which actions it received in full, and the
heartbeat (``blueprints/panel/heartbeat.py``) sends a fresh snapshot to the sockets that missed
one (docs/panel-protocol.md, "Delivery guarantee"). Events for one socket of this process
(``emit_local``) never travel through the queue.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

import socketio

from core.extensions import socketio as flask_socketio

# Flask-SocketIO's default channel, so emitters that use plain Flask-SocketIO still reach us.
CHANNEL = "flask-socketio"
# Commands travel as ``close_room`` messages for this room, which no socket is ever in: a
# process without this module's manager only empties a room that does not exist.
COMMAND_ROOM = "panel-command"
COMMANDS: dict[str, Callable[..., None]] = {}
# Keys added to queue messages: the action ([room_id, seq]) an emit belongs to, and an action's
# marker ([room_id, seq, count of emits published for it]).
ACTION = "panel_action"
MARK = "panel_mark"
# Seconds a Redis publish may take; after a failure, publishes fail at once for this long.
PUBLISH_TIMEOUT = 2.0
QUIET_AFTER_FAILURE = 1.0
# Seconds between attempts to subscribe again after the queue went away.
RESUBSCRIBE_EVERY = 0.5

log = logging.getLogger(__name__)


def command(fn: Callable[..., None]) -> Callable[..., None]:
    """Register a function that ``everywhere`` may run on every server process."""
    COMMANDS[_name(fn)] = fn
    return fn


def _name(fn: Callable[..., None]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def queue_manager():
    """This server's message-queue manager, or None when it runs without a queue."""
    manager = flask_socketio.server.manager if flask_socketio.server else None
    return manager if isinstance(manager, _Commands) else None


def everywhere(fn: Callable[..., None], **args) -> None:
    """Run a registered function here now, then on every other server process (JSON args)."""
    fn(**args)
    elsewhere(fn, **args)


def elsewhere(fn: Callable[..., None], **args) -> None:
    """Run a registered function on every other server process (nothing without a queue)."""
    manager = queue_manager()
    if manager is not None:
        try:
            manager.publish_command(_name(fn), args)
        except QueueDown:
            pass  # the heartbeat brings the other processes' sockets up to date


def emit_local(event: str, data, to, namespace: str) -> None:
    """Send to sockets of this process only (one socket's own events: snapshot, joined)."""
    flask_socketio.emit(event, data, to=to, namespace=namespace, ignore_queue=True)


def publish_action(room_id: int, seq: int, emits: Iterable[tuple[str, dict, object]], namespace: str) -> None:
    """Send every event of one committed action (``(event, data, to)``): to this process's
    sockets at once, and through the queue, counted, then the action's marker."""
    manager = queue_manager()
    if manager is None:
        for event, data, to in emits:
            flask_socketio.emit(event, data, to=to, namespace=namespace)
        return
    manager.publish_action(room_id, seq, emits, namespace)


class QueueDown(Exception):
    """The message queue did not take a message."""


# --------------------------------------------------------------------------- delivery


@dataclass
class _Track:
    base: int  # every action up to this seq was received in full (or is covered by a snapshot)
    done: set[int] = field(default_factory=set)  # actions after base received in full


class Delivery:
    """Which actions of each room with sockets here this process received in full.

    Pure bookkeeping, fed by the queue's listener (``received``, ``marked``), by this process's
    own publishes (``done``) and by the heartbeat (``track``, ``behind``, ``caught_up``).
    """

    def __init__(self):
        self.rooms: dict[int, _Track] = {}
        self.counts: dict[tuple[int, int], int] = {}
        self.lock = threading.Lock()

    def track(self, room_id: int, seq: int) -> None:
        """Start following a room whose sockets here are current at ``seq``."""
        with self.lock:
            self.rooms.setdefault(room_id, _Track(seq))

    def untrack(self, room_id: int) -> None:
        """The room has no sockets here any more."""
        with self.lock:
            self.rooms.pop(room_id, None)
            for key in [k for k in self.counts if k[0] == room_id]:
                del self.counts[key]

    def received(self, room_id: int, seq: int) -> None:
        """One queued emit of the action arrived."""
        with self.lock:
            track = self.rooms.get(room_id)
            if track is not None and seq > track.base:
                self.counts[room_id, seq] = self.counts.get((room_id, seq), 0) + 1

    def marked(self, room_id: int, seq: int, count: int) -> None:
        """The action's marker arrived: complete if all ``count`` emits arrived before it."""
        with self.lock:
            got = self.counts.pop((room_id, seq), 0)
        if got >= count:
            self.done(room_id, seq)

    def done(self, room_id: int, seq: int) -> None:
        """The action reached this process's sockets in full."""
        with self.lock:
            track = self.rooms.get(room_id)
            if track is None or seq <= track.base:
                return
            track.done.add(seq)
            while track.base + 1 in track.done:
                track.base += 1
                track.done.discard(track.base)

    def behind(self, room_id: int, seq: int) -> Optional[int]:
        """The latest action up to ``seq`` not received in full here, or None."""
        with self.lock:
            track = self.rooms.get(room_id)
            if track is None or track.base >= seq:
                return None
            missing = [s for s in range(seq, track.base, -1) if s not in track.done]
            return missing[0] if missing else None

    def caught_up(self, room_id: int, seq: int) -> None:
        """The room's sockets here are current at ``seq`` (they were sent snapshots)."""
        with self.lock:
            track = self.rooms.get(room_id)
            if track is None or seq <= track.base:
                return
            track.base = seq
            track.done = {s for s in track.done if s > seq}
            while track.base + 1 in track.done:
                track.base += 1
                track.done.discard(track.base)
            for key in [k for k in self.counts if k[0] == room_id and k[1] <= track.base]:
                del self.counts[key]


def delivery() -> Optional[Delivery]:
    """This process's delivery bookkeeping (None without a message queue)."""
    manager = queue_manager()
    return manager.delivery if manager is not None else None


# --------------------------------------------------------------------------- managers


class _Commands:
    """Mixin for python-socketio's pub/sub managers: ``everywhere`` commands and counted actions."""

    app = None  # the Flask app the commands run in

    def _init_panel(self) -> None:
        self.delivery = Delivery()

    def _send(self, data):
        """Publish, raising ``QueueDown`` when the queue does not take it (Redis; other queues
        handle their own failures)."""
        self._publish(data)

    def publish_command(self, name: str, args: dict) -> None:
        self._send({"method": "close_room", "room": COMMAND_ROOM, "namespace": "/",
                       "host_id": self.host_id, "command": name, "args": args})

    def publish_action(self, room_id: int, seq: int, emits, namespace: str) -> None:
        published, failed = 0, False
        for event, data, to in emits:
            message = {"method": "emit", "event": event, "data": [data], "binary": False,
                       "namespace": namespace, "room": to, "skip_sid": None, "callback": None,
                       "host_id": self.host_id, ACTION: [room_id, seq]}
            self._handle_emit(message)  # this process's sockets, whatever the queue does
            if failed:
                continue
            try:
                self._send(message)
                published += 1
            except QueueDown:
                failed = True  # the rest would fail too; the marker is not sent
        self.delivery.done(room_id, seq)
        if not failed:
            try:
                self._send({"method": "close_room", "room": COMMAND_ROOM, "namespace": "/",
                            "host_id": self.host_id, MARK: [room_id, seq, published]})
            except QueueDown:
                pass

    def _handle_emit(self, message):
        super()._handle_emit(message)
        action = message.get(ACTION)
        if action and message.get("host_id") != self.host_id:
            self.delivery.received(*action)

    def _handle_close_room(self, message):
        if MARK in message:
            self.delivery.marked(*message[MARK])
            return
        name = message.get("command")
        if name is None:
            return super()._handle_close_room(message)
        with self.app.app_context():
            COMMANDS[name](**message.get("args", {}))


class _RedisQueue:
    """Mixin for python-socketio's Redis manager: publishes that fail fast (with a timeout, and
    at once for a moment after a failure), and a listener that subscribes again every
    ``RESUBSCRIBE_EVERY`` seconds instead of backing off to a minute. One warning when the
    queue goes away, one when it is back."""

    _publisher = None
    _quiet_until = 0.0
    _publish_failing = False

    def _send(self, data):
        now = time.monotonic()
        if now < self._quiet_until:
            raise QueueDown()
        try:
            if self._publisher is None:
                self._publisher = _redis_client(self.redis_url, timeout=PUBLISH_TIMEOUT)
            self._publisher.publish(self.channel, self.json.dumps(data))
        except Exception as exc:
            if not self._publish_failing:
                log.warning("the message queue refused a publish (%s); other processes' sockets "
                            "catch up from the heartbeat", exc)
            self._publish_failing = True
            self._quiet_until = now + QUIET_AFTER_FAILURE
            raise QueueDown() from exc
        if self._publish_failing:
            log.warning("the message queue takes publishes again")
            self._publish_failing = False

    def _publish(self, data):
        try:
            self._send(data)
        except QueueDown:
            pass

    def _redis_listen_with_retries(self):  # pragma: no cover  (runs in the servers of the tests)
        subscribed, lost = False, False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    self.pubsub.subscribe(self.channel)
                    subscribed = True
                    if lost:
                        log.warning("subscribed to the message queue again")
                        lost = False
                yield from self.pubsub.listen()
            except Exception as exc:
                if not lost:
                    log.warning("lost the message queue's subscription (%s); trying again every %ss",
                                exc, RESUBSCRIBE_EVERY)
                    lost = True
                subscribed = False
                time.sleep(RESUBSCRIBE_EVERY)


def _redis_client(url: str, timeout: Optional[float]):
    """A Redis client for ``url`` that fails within ``timeout`` seconds (one retry on a
    connection dropped since the last use)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout or PUBLISH_TIMEOUT,
        socket_keepalive=True, retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
    )


def redis_client(url: str, timeout: float):
    """A Redis client for shared room state (presence) on the queue's server."""
    return _redis_client(url, timeout)


def _queue_class(url: str) -> type:
    """python-socketio's manager for the queue's URL scheme (as Flask-SocketIO chooses it)."""
    if url.startswith(("redis://", "rediss://")):
        return socketio.RedisManager
    if url.startswith("kafka://"):
        return socketio.KafkaManager
    if url.startswith("zmq"):
        return socketio.ZmqManager
    return socketio.KombuManager


def is_redis(url: Optional[str]) -> bool:
    """Whether the queue is Redis (presence is then shared through it)."""
    return bool(url) and url.startswith(("redis://", "rediss://"))


def client_manager(app, url: str | None):
    """The manager for ``SOCKETIO_MESSAGE_QUEUE``: None (in-process) without a queue."""
    if not url:
        return None
    base = _queue_class(url)
    mixins = (_RedisQueue, _Commands) if base is socketio.RedisManager else (_Commands,)
    options = {}
    if base is socketio.RedisManager:
        options["redis_options"] = {"socket_connect_timeout": PUBLISH_TIMEOUT, "socket_keepalive": True}
    manager = type(f"Panel{base.__name__}", (*mixins, base), {})(url, channel=CHANNEL, **options)
    manager.app = app
    manager._init_panel()
    return manager

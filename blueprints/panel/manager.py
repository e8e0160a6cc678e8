"""The Socket.IO client manager, and work that every server process does on its own sockets.

With a message queue (``SOCKETIO_MESSAGE_QUEUE``) python-socketio carries emits, room changes
and the disconnect of a known socket id to every server process, but each process knows only
its own sockets. ``everywhere(fn, **args)`` runs ``fn`` here at once and, through the queue, on
every other process (in an app context there), so each acts on its own sockets: closing a
user's sockets at logout, moving them after a roster change. Without a queue, here only.
"""
from __future__ import annotations

from typing import Callable

import socketio

from core.extensions import socketio as flask_socketio

# Flask-SocketIO's default channel, so emitters that use plain Flask-SocketIO still reach us.
CHANNEL = "flask-socketio"
# Commands travel as ``close_room`` messages for this room, which no socket is ever in: a
# process without this module's manager only empties a room that does not exist.
COMMAND_ROOM = "panel-command"
COMMANDS: dict[str, Callable[..., None]] = {}


def command(fn: Callable[..., None]) -> Callable[..., None]:
    """Register a function that ``everywhere`` may run on every server process."""
    COMMANDS[_name(fn)] = fn
    return fn


def _name(fn: Callable[..., None]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def everywhere(fn: Callable[..., None], **args) -> None:
    """Run a registered function here now, then on every other server process (JSON args)."""
    fn(**args)
    manager = flask_socketio.server.manager
    if isinstance(manager, _Commands):
        manager.publish_command(_name(fn), args)


class _Commands:
    """Mixin for python-socketio's pub/sub managers: receive and run ``everywhere`` commands."""

    app = None  # the Flask app the commands run in

    def publish_command(self, name: str, args: dict) -> None:
        self._publish({"method": "close_room", "room": COMMAND_ROOM, "namespace": "/",
                       "host_id": self.host_id, "command": name, "args": args})

    def _handle_close_room(self, message):
        name = message.get("command")
        if name is None:
            return super()._handle_close_room(message)
        with self.app.app_context():
            COMMANDS[name](**message.get("args", {}))


def _queue_class(url: str) -> type:
    """python-socketio's manager for the queue's URL scheme (as Flask-SocketIO chooses it)."""
    if url.startswith(("redis://", "rediss://")):
        return socketio.RedisManager
    if url.startswith("kafka://"):
        return socketio.KafkaManager
    if url.startswith("zmq"):
        return socketio.ZmqManager
    return socketio.KombuManager


def client_manager(app, url: str | None):
    """The manager for ``SOCKETIO_MESSAGE_QUEUE``: None (in-process) without a queue."""
    if not url:
        return None
    base = _queue_class(url)
    manager = type(f"Panel{base.__name__}", (_Commands, base), {})(url, channel=CHANNEL)
    manager.app = app
    return manager

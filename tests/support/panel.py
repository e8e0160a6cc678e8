"""A panel room with its cast (instructor, TA, authors, critics) and socket helpers for tests;
Redis and a TCP proxy to cut it off, for tests with several server processes."""
from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import threading
from contextlib import contextmanager

from core.extensions import db, socketio
from core.timeutil import now_utc
from domain.panel import commands
from models import ROLE_INSTRUCTOR, ROLE_TA, PanelRoom

NS = "/panel"
_cids = itertools.count(1)


def new_cid() -> str:
    """A fresh client-made action id."""
    return f"cid-{next(_cids)}"


def apply(event: str, room_id: int, user, cid: str, args: dict) -> commands.Change:
    """Apply one action now and commit it, as the namespace does for one event."""
    change = commands.apply(event, room_id, user, cid, args, now_utc())
    db.session.commit()
    return change


class Sock:
    """A Socket.IO test client of one user in namespace /panel, with ack-returning helpers."""

    def __init__(self, app, flask_client, user, room_id, auth=None):
        self.user = user
        self.room_id = room_id
        self.client = socketio.test_client(app, namespace=NS, flask_test_client=flask_client, auth=auth)

    @property
    def connected(self) -> bool:
        return self.client.is_connected(NS)

    def emit(self, event: str, *args):
        """Emit and return the ack."""
        return self.client.emit(event, *args, namespace=NS, callback=True)

    def join(self, last_seq=None):
        payload = {"room_id": self.room_id}
        if last_seq is not None:
            payload["last_seq"] = last_seq
        return self.emit("join", payload)

    def act(self, event: str, cid: str | None = None, **payload):
        """A room action with this room's id and a fresh cid (unless given)."""
        payload.setdefault("room_id", self.room_id)
        return self.emit(event, {"cid": cid or new_cid(), **payload})

    def received(self) -> list[dict]:
        """Messages received since the last call (also after a disconnect)."""
        messages = [m for m in self.client.queue if m["namespace"] == NS]
        self.client.queue = [m for m in self.client.queue if m["namespace"] != NS]
        return messages

    def events(self, name: str) -> list:
        """Payloads of one event among the messages received since the last call."""
        return [m["args"][0] if m["args"] else None for m in self.received() if m["name"] == name]

    def raw(self) -> str:
        """Everything received since the last call, as JSON text."""
        return json.dumps(self.received(), sort_keys=True)


class PanelCast:
    """One course, one presentation, its room, and people in every room role."""

    def __init__(self, app, make, critics: int = 3):
        self.app = app
        self.course = make.course()
        self.instructor = make.member(self.course, ROLE_INSTRUCTOR, name="Ines Instructor")
        self.ta = make.member(self.course, ROLE_TA, name="Theo TA")
        self.presenter = make.member(self.course, name="Paula Presenter")
        self.summarizer = make.member(self.course, name="Sam Summarizer")
        self.critics = [make.member(self.course, name=f"Critic {n}") for n in range(1, critics + 1)]
        self.presentation = make.presentation(
            self.course, presenters=[self.presenter], summarizers=[self.summarizer]
        )
        self.room = commands.room_for(self.presentation)
        db.session.commit()
        self._clients = {}

    def flask_client(self, user):
        """One logged-in Flask test client per user (shared by that user's sockets).

        The session is written directly (as the login form would) to spare an argon2
        verification per user; tests/test_auth.py covers the login form itself.
        """
        if user.id not in self._clients:
            client = self.app.test_client()
            with client.session_transaction() as session:
                session["_user_id"] = user.get_id()
                session["_fresh"] = True
            self._clients[user.id] = client
        return self._clients[user.id]

    def sock(self, user, join: bool = True, at_connect: bool = False) -> Sock:
        """A socket of ``user``; joined to the room by a ``join`` event, or in its connect
        request (``at_connect``), or not at all."""
        auth = {"room_id": self.room.id} if at_connect else None
        sock = Sock(self.app, self.flask_client(user), user, self.room.id, auth=auth)
        if join and not at_connect:
            ack = sock.join()
            assert ack["ok"], ack
            sock.received()
        return sock

    def set_room(self, **values) -> PanelRoom:
        """Change the room directly in the database (test setup)."""
        room = db.session.get(PanelRoom, self.room.id)
        for key, value in values.items():
            setattr(room, key, value)
        db.session.commit()
        return room


# --------------------------------------------------------------------------- real Redis, for several processes


class RedisServer:
    """A ``redis-server`` of our own on a fixed loopback port, without persistence, that a test
    can stop (``kill``, ``pause``) and start again on the same port."""

    def __init__(self, binary: str, port: int, directory):
        self.binary, self.port, self.directory, self.proc = binary, port, directory, None

    def start(self) -> "RedisServer":
        from tests.support.live_server import wait_until

        with open(self.directory / "redis.log", "ab") as out:
            self.proc = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.directory)],
                stdout=out, stderr=subprocess.STDOUT,
            )
        wait_until(self.answers, f"redis-server on port {self.port}")
        return self

    def answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"redis-server exited with {self.proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    @contextmanager
    def paused(self):
        """SIGSTOP for the block, then SIGCONT: connections stay open and nothing answers (a hung
        server, or a network that drops packets), unlike ``kill``."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        try:
            yield self
        finally:
            os.kill(self.proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        """kill -9: every connection drops, nothing is kept."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=20)


class TcpProxy:
    """A loopback TCP forwarder to ``target_port``; ``cut()`` closes every connection and
    refuses new ones (a process partitioned from the server), ``mend()`` listens again on the
    same port."""

    def __init__(self, target_port: int, port: int):
        self.target_port, self.port = target_port, port
        self.listener = None
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()

    def mend(self) -> "TcpProxy":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.close()
        with self.lock:
            conns, self.conns = self.conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self, listener) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for conn in (source, sink):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

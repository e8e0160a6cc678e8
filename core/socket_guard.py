"""A guard around python-socketio's packet handling: malformed traffic is refused, never raised.

Below the application's handlers a Socket.IO packet can be unreadable (broken or hostile JSON:
see ``core.safe_json``), of an unknown type, or an event whose data is not ``[name, ...]``
(``[]``, ``{"a": 1}``, ``[123, {}]``), or name an event nobody handles. Unguarded, each of
these raises inside the server and logs a traceback per packet. Here each is answered with an
error acknowledgement when the packet carries an ack id, logged as one line without a
traceback, and a socket that floods such packets has at most ``LOG_BURST`` lines per
``LOG_WINDOW`` seconds written about it. Other sockets are not affected.
"""
from __future__ import annotations

import logging
import re
import time
from typing import Any, Optional

from socketio import packet

log = logging.getLogger("colloquy.sockets")

LOG_BURST = 3
LOG_WINDOW = 60.0
_TRACKED_SOCKETS = 10_000
INVALID_ACK = {"ok": False, "error": "invalid", "message": "The message could not be read."}
UNKNOWN_EVENT_ACK = {"ok": False, "error": "invalid", "message": "There is no such event."}
# Event names python-socketio reserves for itself: a client may not send them as events.
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect"})
# type digit, optional "<attachments>-", optional "/namespace,", optional ack id
_HEADER = re.compile(r"(?P<type>\d)(?:\d{1,10}-)?(?P<namespace>/[^,]*,)?(?P<id>\d{1,15})?")


class _LogBudget:
    """How many more lines each socket may cause this window."""

    def __init__(self):
        self._windows: dict[str, list] = {}

    def allow(self, eio_sid: str, now: float) -> Optional[int]:
        """The count of lines this socket caused this window (1, 2, …) if one more may be
        written, else None; the line after the last allowed one says the rest are dropped."""
        window = self._windows.get(eio_sid)
        if window is None or now - window[0] >= LOG_WINDOW:
            if len(self._windows) >= _TRACKED_SOCKETS:
                self._windows = {sid: w for sid, w in self._windows.items() if now - w[0] < LOG_WINDOW}
            window = self._windows[eio_sid] = [now, 0]
        window[1] += 1
        return window[1] if window[1] <= LOG_BURST + 1 else None

    def forget(self, eio_sid: str) -> None:
        self._windows.pop(eio_sid, None)


def _header(data: Any) -> tuple[Optional[str], Optional[int]]:
    """The namespace and ack id a packet's text declares, read without decoding its JSON."""
    if not isinstance(data, str):
        return None, None
    match = _HEADER.match(data)
    if match is None:
        return None, None
    namespace = (match.group("namespace") or "/,")[:-1].split("?")[0] or "/"
    ack_id = match.group("id")
    return namespace, int(ack_id) if ack_id else None


def _is_event(data: Any) -> bool:
    return (isinstance(data, list) and len(data) >= 1 and isinstance(data[0], str)
            and data[0] not in RESERVED_EVENTS)


class PacketGuard:
    """Wraps one python-socketio server's Engine.IO ``message`` handler."""

    def __init__(self, server):
        self.server = server
        self.handle = server.eio.handlers["message"]
        self.budget = _LogBudget()
        server.eio.on("message", self)
        server._handle_eio_message = self  # Flask-SocketIO's test client calls this one directly
        disconnect = server.eio.handlers.get("disconnect")

        def forget_then_disconnect(eio_sid, *args):
            self.budget.forget(eio_sid)
            return disconnect(eio_sid, *args) if disconnect else None

        server.eio.on("disconnect", forget_then_disconnect)

    def __call__(self, eio_sid: str, data: Any):
        try:
            self._dispatch(eio_sid, data)
        except Exception as exc:  # a packet must never take the server down, nor log a traceback
            self._refuse(eio_sid, data, f"could not be handled ({type(exc).__name__}: {exc})"[:300])

    def _dispatch(self, eio_sid: str, data: Any) -> None:
        server = self.server
        if eio_sid in server._binary_packet or isinstance(data, bytes):
            return self.handle(eio_sid, data)  # a binary attachment of a packet read before
        if not isinstance(data, str):
            return self._refuse(eio_sid, data, "is not a Socket.IO packet")
        try:
            pkt = server.packet_class(encoded_packet=data)
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            return self._refuse(eio_sid, data, f"is unreadable ({exc})"[:200])
        kind, namespace = pkt.packet_type, pkt.namespace or "/"
        if kind in (packet.EVENT, packet.BINARY_EVENT):
            if not _is_event(pkt.data):
                return self._refuse(eio_sid, data, "is an event without a name", pkt)
            if not self._handled(namespace, pkt.data[0]):
                return self._refuse(eio_sid, data, f"names an unknown event {pkt.data[0][:40]!r}", pkt,
                                    UNKNOWN_EVENT_ACK)
        elif kind == packet.ACK and not isinstance(pkt.data, list):
            return self._refuse(eio_sid, data, "is an acknowledgement without a list", pkt)
        elif kind == packet.CONNECT and pkt.data is not None and not isinstance(pkt.data, dict):
            return self._refuse(eio_sid, data, "is a connect whose auth is not an object", pkt)
        elif kind not in (packet.CONNECT, packet.DISCONNECT, packet.ACK, packet.BINARY_ACK):
            return self._refuse(eio_sid, data, f"has an unknown packet type {kind}", pkt)
        self._run(eio_sid, pkt)

    def _run(self, eio_sid: str, pkt) -> None:
        """python-socketio's own dispatch of a packet already read (``_handle_eio_message``)."""
        server, kind = self.server, pkt.packet_type
        if kind == packet.CONNECT:
            server._handle_connect(eio_sid, pkt.namespace, pkt.data)
        elif kind == packet.DISCONNECT:
            server._handle_disconnect(eio_sid, pkt.namespace, server.reason.CLIENT_DISCONNECT)
        elif kind == packet.EVENT:
            server._handle_event(eio_sid, pkt.namespace, pkt.id, pkt.data)
        elif kind == packet.ACK:
            server._handle_ack(eio_sid, pkt.namespace, pkt.id, pkt.data)
        elif server.manager.sid_from_eio_sid(eio_sid, pkt.namespace or "/"):
            server._binary_packet[eio_sid] = pkt  # its attachments follow as binary messages
        else:
            self._refuse(eio_sid, None, "is a binary packet outside a namespace", pkt)

    def _handled(self, namespace: str, event: str) -> bool:
        """True when a handler (a decorated function, a catch-all or a namespace method) exists."""
        server = self.server
        handlers = server.handlers.get(namespace, {})
        if event in handlers or "*" in handlers or "*" in server.handlers.get("*", {}):
            return True
        ns_handler = server.namespace_handlers.get(namespace) or server.namespace_handlers.get("*")
        return ns_handler is not None and (hasattr(ns_handler, "on_" + event) or hasattr(ns_handler, "on_*"))

    def _refuse(self, eio_sid: str, data: Any, problem: str, pkt=None, ack: dict = INVALID_ACK) -> None:
        """Answer an error ack when the packet has an ack id, and log one line (within budget)."""
        namespace, ack_id = (pkt.namespace or "/", pkt.id) if pkt is not None else _header(data)
        if ack_id is not None and namespace and self.server.manager.sid_from_eio_sid(eio_sid, namespace):
            self.server._send_packet(eio_sid, self.server.packet_class(
                packet.ACK, namespace=namespace, id=ack_id, data=[dict(ack)]))
        count = self.budget.allow(eio_sid, time.monotonic())
        if count is None:
            return
        if count > LOG_BURST:
            log.warning("socket %s: more malformed packets; not logged for %d s", eio_sid, int(LOG_WINDOW))
        else:
            log.warning("socket %s: a packet %s; refused", eio_sid, problem)


def install(server) -> PacketGuard:
    """Put the guard in front of ``server``'s packet handling (a python-socketio Server)."""
    return PacketGuard(server)

"""Logging, configured once: every line has its time, level, logger and what it belongs to.

What a line belongs to is the HTTP request (``request 3f9c…``: its request id, taken from an
incoming ``X-Request-ID`` header when that is a short token, else made here, and sent back in
the answer), the Socket.IO event being handled (``event ask sid Zk3…``), or ``-`` (start-up,
background threads). Code that handles a socket event outside Flask-SocketIO's own request
context (a background task, a fan-out after the event) names it with ``event_context``.
"""
from __future__ import annotations

import logging
import re
import secrets
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator, Optional

from flask import Flask, g, has_request_context, request

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(context)s] %(message)s"
REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's or client's id is reused only when it cannot smuggle anything into a log line.
_SHORT_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,64}")

_event: ContextVar[Optional[str]] = ContextVar("colloquy_log_event", default=None)


def request_id() -> Optional[str]:
    """The current HTTP request's id (None outside a request)."""
    return g.get("request_id") if has_request_context() else None


def _incoming_or_new_id() -> str:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    return incoming if _SHORT_TOKEN.fullmatch(incoming) else secrets.token_hex(8)


def _socket_event() -> Optional[str]:
    """The Socket.IO event Flask-SocketIO is handling in this request context, if any."""
    sid = getattr(request, "sid", None)
    if sid is None:
        return None
    event = getattr(request, "event", None) or {}
    return f"event {event.get('message', 'connect')} sid {sid}"


def current_context() -> str:
    """What a log line written now belongs to: an event, a request, or '-'."""
    named = _event.get()
    if named is not None:
        return named
    if has_request_context():
        return _socket_event() or f"request {g.get('request_id', '-')}"
    return "-"


@contextmanager
def event_context(name: str, sid: Optional[str] = None) -> Iterator[None]:
    """Name the Socket.IO event (and socket) that log lines written inside belong to."""
    token = _event.set(f"event {name}" + (f" sid {sid}" if sid else ""))
    try:
        yield
    finally:
        _event.reset(token)


class ContextFilter(logging.Filter):
    """Adds ``context`` (see ``current_context``) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.context = current_context()
        return True


def configure(level: str = "INFO") -> None:
    """Log to standard error in ``FORMAT`` at ``level``; a second call only changes the level."""
    root = logging.getLogger()
    if not any(isinstance(f, ContextFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(ContextFilter())
        root.addHandler(handler)
    root.setLevel(level)


def init_app(app: Flask) -> None:
    """Configure logging at ``LOG_LEVEL`` and give each request its id."""
    configure(app.config["LOG_LEVEL"])

    @app.before_request
    def _name_request() -> None:
        g.request_id = _incoming_or_new_id()

    @app.after_request
    def _answer_request_id(response):
        rid = request_id()
        if rid:
            response.headers[REQUEST_ID_HEADER] = rid
        return response

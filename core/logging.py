"""Logging, configured once: every line has its time, level, logger and what it belongs to.

What a line belongs to is the HTTP request (``request 3f9c…``: its request id, taken from an
incoming ``X-Request-ID`` header when that is a short token, else made here, and sent back in
the answer), the Socket.IO event being handled (``event ask sid Zk3…``), or ``-`` (start-up,
background threads). Code that handles a socket event outside Flask-SocketIO's own request
context (a background task, a fan-out after the event) names it with ``event_context``.

``LOG_FORMAT`` is ``text`` (``FORMAT``) or ``json`` (one object a line: ``time``, ``level``,
``logger``, ``context``, ``message``, an access line's fields, ``exc`` for a traceback). The
access log (logger ``colloquy.access``, ``ACCESS_LOG``) has one line per HTTP request (request
id, method, path, status, duration, user id) and one per socket event (``socket_event``).
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator, Optional

from flask import Flask, g, has_request_context, request
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import NoInspectionAvailable

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(context)s] %(message)s"
ACCESS = logging.getLogger("colloquy.access")
# python-socketio's and Engine.IO's own loggers, handed to the server so their lines (and
# tracebacks) go through the handler here, with a time and a context, instead of a bare
# handler of their own; their per-packet INFO lines are left out.
SOCKETIO_LOGGER = logging.getLogger("socketio.server")
ENGINEIO_LOGGER = logging.getLogger("engineio.server")
# Health probes arrive every few seconds from a load balancer: their lines are DEBUG.
QUIET_PATHS = frozenset({"/healthz", "/readyz"})
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


# The attributes every LogRecord has; anything else on a record was passed as ``extra``.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "context"}


class JSONFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, context, message, the
    record's extra fields, and ``exc`` with the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "context": getattr(record, "context", "-"),
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False)


def _formatter(log_format: str) -> logging.Formatter:
    return JSONFormatter() if log_format == "json" else logging.Formatter(FORMAT)


def configure(level: str = "INFO", log_format: str = "text") -> None:
    """Log to standard error in ``log_format`` (``FORMAT`` or JSON lines) at ``level``; a second
    call changes the level and the format of the same handler."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if any(isinstance(f, ContextFilter) for f in h.filters)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.addFilter(ContextFilter())
        root.addHandler(handler)
    handler.setFormatter(_formatter(log_format))
    root.setLevel(level)
    # What no line here shows is not collected for each record (the logging HOWTO's
    # "Optimization"): the caller's file and line, the thread and the process.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    for library in (SOCKETIO_LOGGER, ENGINEIO_LOGGER):
        library.setLevel(max(logging.WARNING, root.level))


def _user_id() -> Optional[int]:
    """The id of the user this request signed in or loaded, read from the ORM's identity: after
    the view's commit the user's attributes are expired, and the log must not load them again."""
    user = g.get("_login_user")
    if user is None:
        return None
    try:
        identity = sa_inspect(user).identity  # the anonymous user is no ORM object
    except NoInspectionAvailable:
        return None
    return identity[0] if identity else None


def _log_request(response) -> None:
    duration_ms = round((time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000, 1)
    fields = {
        "request_id": request_id(),
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": duration_ms,
        "user_id": _user_id(),
    }
    level = logging.DEBUG if request.path in QUIET_PATHS else logging.INFO
    ACCESS.log(level, "%s %s %s %.1fms user %s", fields["method"], fields["path"], fields["status"],
               duration_ms, fields["user_id"] or "-", extra=fields)


def socket_event(name: str, sid: Optional[str], outcome: str, duration_ms: float) -> None:
    """The access line of one handled Socket.IO event: its name, outcome and duration."""
    ACCESS.info("socket %s %s %.1fms", name, outcome, duration_ms,
                extra={"event": name, "sid": sid, "outcome": outcome, "duration_ms": round(duration_ms, 1)})


def init_app(app: Flask) -> None:
    """Configure logging at ``LOG_LEVEL`` in ``LOG_FORMAT``, give each request its id, and write
    an access line per request when ``ACCESS_LOG`` is on."""
    configure(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])

    @app.before_request
    def _name_request() -> None:
        g.request_started = time.perf_counter()
        g.request_id = _incoming_or_new_id()

    @app.after_request
    def _answer_request_id(response):
        rid = request_id()
        if rid:
            response.headers[REQUEST_ID_HEADER] = rid
        if app.config["ACCESS_LOG"]:
            _log_request(response)
        return response

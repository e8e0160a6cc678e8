"""Serving the app: garbage-collector tuning and the eventlet / gevent / threading servers."""
from __future__ import annotations

import errno
import gc
import logging
from typing import Callable

from flask import Flask

from core import sqlite_checkpoint
from core.extensions import db, socketio

# Young collections every 50,000 allocations instead of 700: with a class of sockets alive, the
# full collections that follow them took up to 70 ms and showed as the live room's p99
# (bench/panel_load.py at 1,000 clients: p99 392 ms before, 252 ms after).
GC_THRESHOLD = (50_000, 20, 20)

log = logging.getLogger(__name__)


def tune_gc() -> None:
    """Freeze what start-up allocated and make collections rarer."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def banner_text(app: Flask, extra: str = "") -> str:
    """Where the server listens, ``extra`` (the demo logins) and how to stop it."""
    host, port, mode = app.config["HOST"], app.config["PORT"], app.config["SOCKETIO_ASYNC_MODE"]
    lines = [f"Colloquy is serving at http://{host}:{port}  (async mode: {mode})"]
    if extra:
        lines.append(extra)
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)


def _banner_extra(app: Flask, banner: Callable[[Flask], str]) -> str:
    """What ``banner(app)`` adds; nothing when it fails (the database may be down at start-up,
    and the process must start anyway: /readyz tells when it can serve)."""
    try:
        return banner(app)
    except Exception as exc:
        log.warning("start-up banner left out (%s: %s)", type(exc).__name__, str(exc).splitlines()[0][:200])
        return ""


class AddressInUse(SystemExit):
    """Another process listens on the port (and port sharing was not asked for)."""


def _listen(host: str, port: int, reuse_port: bool):
    """Eventlet's listening socket. Eventlet sets SO_REUSEPORT unless told not to, which lets a
    second server share the port silently, splitting the live room between two processes; it is
    set here only with ``REUSE_PORT``."""
    import eventlet

    try:
        # socketio.run listens with a backlog of 50; a class opening the room at once needs more.
        return eventlet.listen((host, port), backlog=2048, reuse_port=reuse_port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        log.error("cannot listen on %s:%s: address already in use (is Colloquy already running there? "
                  "REUSE_PORT=1 shares a port on purpose)", host, port)
        raise AddressInUse(1) from None


def serve(app: Flask, banner: Callable[[Flask], str] = lambda app: "") -> None:
    """Serve ``app`` with its configured async mode (eventlet by default), after logging where
    it listens and what ``banner(app)`` adds."""
    host, port = app.config["HOST"], app.config["PORT"]
    mode = app.config["SOCKETIO_ASYNC_MODE"]
    listener = _listen(host, port, app.config["REUSE_PORT"]) if mode == "eventlet" else None
    log.info("%s", banner_text(app, _banner_extra(app, banner)))
    with app.app_context():
        sqlite_checkpoint.start(db.engine, mode)  # no request waits for a checkpoint's fsync
    tune_gc()
    if mode == "eventlet":
        import eventlet.wsgi

        eventlet.wsgi.server(listener, app, log=logging.getLogger("eventlet.wsgi"), log_output=False,
                             max_size=4096)
    else:
        socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=(mode == "threading"))

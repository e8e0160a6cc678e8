"""Serving the app: garbage-collector tuning and the eventlet / gevent / threading servers."""
from __future__ import annotations

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


def serve(app: Flask, banner: Callable[[Flask], str] = lambda app: "") -> None:
    """Serve ``app`` with its configured async mode (eventlet by default), after logging where
    it listens and what ``banner(app)`` adds."""
    host, port = app.config["HOST"], app.config["PORT"]
    log.info("%s", banner_text(app, banner(app)))
    mode = app.config["SOCKETIO_ASYNC_MODE"]
    with app.app_context():
        sqlite_checkpoint.start(db.engine, mode)  # no request waits for a checkpoint's fsync
    tune_gc()
    if mode == "eventlet":
        import eventlet
        import eventlet.wsgi

        # socketio.run listens with a backlog of 50; a class opening the room at once needs more.
        listener = eventlet.listen((host, port), backlog=2048)
        eventlet.wsgi.server(listener, app, log_output=False, max_size=4096)
    else:
        socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=(mode == "threading"))

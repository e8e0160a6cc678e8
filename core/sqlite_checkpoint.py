"""Write-ahead-log checkpoints of a SQLite database, run off the request path.

SQLite copies its log back into the database file (a checkpoint) inside whichever commit finds
the log past ``wal_autocheckpoint`` pages, and a checkpoint waits for fsyncs: 15–30 ms on this
kind of machine, every hundred or so review submissions. Under eventlet or gevent the whole
server waits with that commit. ``start`` moves the work to a thread of its own (the async
library's pool of OS threads): a passive checkpoint every ``INTERVAL`` seconds, with the
automatic one kept as a backstop at ``BACKSTOP_PAGES`` should they fall behind. Requests then
only append to the log. (SQLite's WAL documentation suggests this for applications that cannot
afford a commit running a checkpoint.)
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Callable, Optional

from sqlalchemy import event
from sqlalchemy.engine import Engine

INTERVAL = 1.0
BACKSTOP_PAGES = 25_000  # about 100 MB of log with 4 kB pages

log = logging.getLogger(__name__)


def database_file(engine: Engine) -> Optional[str]:
    """The file behind a SQLite engine; None for other databases and in-memory SQLite."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    return path if path and path != ":memory:" and not path.startswith("file:") else None


def checkpoint(path: str) -> tuple[int, int, int]:
    """One passive checkpoint from a connection of its own: (busy, frames in the log, copied).

    Passive: writers keep appending meanwhile. A missing file raises instead of being created.
    """
    connection = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30)
    try:
        return tuple(connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
    finally:
        connection.close()


class Checkpointer:
    """The background loop for one database file; ``stop()`` ends it after the current pause."""

    def __init__(self, path: str, sleep: Callable[[float], None], in_thread: Callable):
        self.path = path
        self.running = True
        self._sleep = sleep
        self._in_thread = in_thread

    def run(self) -> None:
        while self.running:
            self._sleep(INTERVAL)
            if not self.running:
                break
            try:
                self._in_thread(checkpoint, self.path)
            except sqlite3.Error as exc:  # the backstop still bounds the log
                log.warning("background checkpoint of %s failed: %s", self.path, exc)

    def stop(self) -> None:
        self.running = False


def start(engine: Engine, async_mode: str) -> Optional[Checkpointer]:
    """Checkpoint ``engine``'s SQLite file in the background from now on (None: not SQLite).

    ``async_mode`` is the server's: 'eventlet' and 'gevent' run the loop as a green thread that
    hands each checkpoint to their pool of OS threads; 'threading' runs it in a daemon thread.
    """
    path = database_file(engine)
    if path is None:
        return None
    event.listen(engine, "connect", _backstop)
    engine.dispose()  # pooled connections are made again, with the backstop
    if async_mode == "eventlet":
        import eventlet
        import eventlet.tpool

        checkpointer = Checkpointer(path, eventlet.sleep, eventlet.tpool.execute)
        eventlet.spawn(checkpointer.run)
    elif async_mode == "gevent":
        import gevent

        pool = gevent.get_hub().threadpool
        checkpointer = Checkpointer(path, gevent.sleep, lambda fn, *args: pool.apply(fn, args))
        gevent.spawn(checkpointer.run)
    else:
        checkpointer = Checkpointer(path, time.sleep, lambda fn, *args: fn(*args))
        threading.Thread(target=checkpointer.run, name="sqlite-checkpoint", daemon=True).start()
    return checkpointer


def _backstop(dbapi_connection, connection_record) -> None:
    dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")

"""Green threads for the server: the standard library patched for eventlet or gevent, and
PostgreSQL waits that let the other green threads run while a query is out.

psycopg 3 waits for the server's answer in C (``wait_c``), which no monkey patch reaches. It
notices gevent's patching and then waits in Python, through the patched ``selectors``, but it
does not notice eventlet's: under eventlet every query would stop the whole process, every
socket of every room, until PostgreSQL answered. ``patch`` gives psycopg a wait on eventlet's
hub instead: the green thread sleeps until the connection's socket is ready (the way eventlet's
own support for psycopg 2 waits), with no selector built per wait and no descriptor limit.
"""
from __future__ import annotations

from time import monotonic


def patch(async_mode: str) -> None:
    """Patch the standard library for ``async_mode`` ('eventlet' or 'gevent'; anything else,
    nothing), before Flask, SQLAlchemy or a database driver is imported."""
    if async_mode == "eventlet":
        import eventlet

        eventlet.monkey_patch()
        cooperative_database_waits()
    elif async_mode == "gevent":
        from gevent import monkey

        monkey.patch_all()


def cooperative_database_waits() -> None:
    """Make psycopg wait for PostgreSQL on eventlet's hub (``eventlet_wait``)."""
    try:
        from psycopg import waiting
    except ImportError:  # no PostgreSQL driver installed: nothing waits on PostgreSQL
        return

    waiting.wait = eventlet_wait


class _Quiet(Exception):
    """The socket stayed quiet for one interval."""


def eventlet_wait(gen, fileno: int, interval: float = 0.0, timeout: float | None = None):
    """psycopg's ``wait(gen, fileno, interval, timeout)`` for eventlet: run the generator,
    sleeping this green thread whenever it would block until ``fileno`` is ready (the
    generator says for reading, writing or both); ``timeout`` bounds the whole wait."""
    from eventlet.green import select
    from eventlet.hubs import trampoline
    from psycopg import errors
    from psycopg.waiting import READY_NONE, READY_R, READY_W, WAIT_R, WAIT_RW

    deadline = None if timeout is None else monotonic() + timeout
    try:
        state = next(gen)
        while True:
            # Without a deadline nothing needs waking up: eventlet's hub still handles signals.
            wait_s = None if deadline is None else max(0.0, deadline - monotonic())
            if state == WAIT_RW:
                readable, writable, _ = select.select([fileno], [fileno], [], wait_s)
                ready = (READY_R if readable else READY_NONE) | (READY_W if writable else READY_NONE)
            else:
                reading = state == WAIT_R
                try:
                    trampoline(fileno, read=reading, write=not reading, timeout=wait_s, timeout_exc=_Quiet)
                    ready = READY_R if reading else READY_W
                except _Quiet:
                    ready = READY_NONE
            state = gen.send(ready)
            if deadline is not None and monotonic() >= deadline:
                raise errors._WaitTimeout("wait timeout expired")
    except OSError as exc:
        raise errors.OperationalError("connection socket closed") from exc
    except StopIteration as done:
        return done.value

"""Green threads for the server: the standard library patched for eventlet or gevent, and
PostgreSQL waits that let the other green threads run while a query is out.

psycopg 3 waits for the server's answer in C (``wait_c``), which no monkey patch reaches. It
notices gevent's patching and then waits in Python, through the patched ``selectors``, but it
does not notice eventlet's: under eventlet every query would stop the whole process, every
socket of every room, until PostgreSQL answered. ``patch`` makes psycopg wait through the
patched ``selectors`` under eventlet too (eventlet's select has no 1,024-descriptor limit).
"""
from __future__ import annotations


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
    """Make psycopg wait for PostgreSQL through ``selectors`` (patched: the wait yields)."""
    from psycopg import waiting

    waiting.wait = waiting.wait_selector

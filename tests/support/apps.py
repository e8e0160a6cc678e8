"""The test application: its configuration, its tables, and a test client with a fresh ``g``."""
from __future__ import annotations

from contextlib import contextmanager

from flask import g, has_app_context
from flask.testing import FlaskClient

from core.extensions import db, limiter


class FreshRequestClient(FlaskClient):
    """A test client whose every request starts with an empty ``g``, as in production.

    The ``app`` fixture keeps an app context open for the whole test and Flask reuses it for
    requests, so without this ``g`` would carry Flask-Login's cached user and Flask-WTF's
    ``csrf_valid`` mark from one request (and one client) to the next.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            for key in list(g):
                g.pop(key)
        return super().open(*args, **kwargs)


def app_config(database_path, **overrides) -> dict:
    """The test configuration on the given SQLite file (CSRF off), with ``overrides`` applied."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production-use",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database_path}",
        "WTF_CSRF_ENABLED": False,
        "SOCKETIO_ASYNC_MODE": "threading",
        "SOCKETIO_MESSAGE_QUEUE": None,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
        **overrides,
    }


@contextmanager
def fresh_tables(app):
    """Inside ``app``'s context with every table created empty; dropped again on leaving."""
    with app.app_context():
        db.create_all()
        limiter.reset()
        yield app
        db.session.remove()
        db.drop_all()

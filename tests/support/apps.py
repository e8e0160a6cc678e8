"""The test application: its configuration, its tables, and a test client with a fresh ``g``."""
from __future__ import annotations

import atexit
import shutil
import tempfile
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from app import create_app
from core.config import load_config
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


@cache
def _empty_schema_file() -> Path:
    """A SQLite file with every table created empty, made once per test process.

    Creating the schema costs tens of milliseconds a test; copying this file costs about one.
    """
    folder = Path(tempfile.mkdtemp(prefix="colloquy-schema-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "empty.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    try:
        db.metadata.create_all(engine)
    finally:
        engine.dispose()  # the last connection checkpoints the WAL into the file
    return path


def _new_sqlite_file() -> Path | None:
    """The app's SQLite database file when it does not exist yet, else None."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = Path(url.database)
    return None if path.exists() else path


def create_tables(app) -> bool:
    """Every table created empty, inside ``app``'s context; a new SQLite file gets a copy of the
    empty schema. True when the tables were created in a database that outlives the test."""
    path = _new_sqlite_file()
    if path is None:
        db.create_all()
    else:
        shutil.copyfile(_empty_schema_file(), path)
    limiter.reset()
    return path is None


@contextmanager
def fresh_tables(app):
    """Inside ``app``'s context with every table created empty; dropped again on leaving (a
    test's own SQLite file is simply left to its temporary folder)."""
    with app.app_context():
        shared = create_tables(app)
        yield app
        db.session.remove()
        if shared:
            db.drop_all()


@contextmanager
def postgres_app(monkeypatch, database_url: str, instance_path: Path, **overrides):
    """The test app on PostgreSQL, its database settings read from DATABASE_URL (set for the
    whole test) as in production; inside its context with every table empty.

    The tables are created by the first test on a database and emptied (identities restarted)
    for each one after, which costs far less than creating and dropping them every time.
    """
    monkeypatch.setenv("DATABASE_URL", database_url)
    settings = load_config(str(instance_path))
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    app = create_app(app_config(
        instance_path / "unused.sqlite3",
        SQLALCHEMY_DATABASE_URI=settings["SQLALCHEMY_DATABASE_URI"],
        SQLALCHEMY_ENGINE_OPTIONS=settings["SQLALCHEMY_ENGINE_OPTIONS"],
        **overrides,
    ))
    app.test_client_class = FreshRequestClient
    with app.app_context():
        db.create_all()
        _empty_every_table()
        limiter.reset()
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()  # close this app's pooled connections now, not at garbage collection


def _empty_every_table() -> None:
    names = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE"))

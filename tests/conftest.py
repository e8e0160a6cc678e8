"""Shared fixtures: an app on a temporary SQLite file, factories, logged-in clients, a clock, PostgreSQL."""
from __future__ import annotations

import itertools
import os
from datetime import datetime

import pytest
import time_machine

os.environ.setdefault("COLLOQUY_ENV", "development")

from app import create_app  # noqa: E402
from models import ROLE_INSTRUCTOR, ROLE_STUDENT, User  # noqa: E402
from tests.support.apps import FreshRequestClient, app_config, create_tables, fresh_tables  # noqa: E402
from tests.support.factories import T0, Factory, login  # noqa: E402
from tests.support.pg import Database, start_cluster  # noqa: E402


@pytest.fixture
def app(tmp_path):
    """A fresh application on its own SQLite file, CSRF off (tests/test_security.py turns it on)."""
    app = create_app(app_config(tmp_path / "test.sqlite3"))
    app.test_client_class = FreshRequestClient
    with fresh_tables(app):
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_app(tmp_path):
    """``make_app(**overrides)`` → another app with the test config plus overrides, on its own
    SQLite file with the tables created (push ``app.app_context()`` to add data to it)."""
    counter = itertools.count(1)

    def _make(**overrides):
        other = create_app(app_config(tmp_path / f"other-{next(counter)}.sqlite3", **overrides))
        other.test_client_class = FreshRequestClient
        with other.app_context():
            create_tables(other)
        return other

    return _make


@pytest.fixture
def clock():
    """Move time for integration tests: ``clock.to(dt)``; starts at T0."""

    class Clock:
        def __init__(self):
            self._traveller = None

        def to(self, when: datetime):
            if self._traveller is not None:
                self._traveller.stop()
            self._traveller = time_machine.travel(when, tick=False)
            self._traveller.start()
            return when

        def stop(self):
            if self._traveller is not None:
                self._traveller.stop()
                self._traveller = None

    c = Clock()
    c.to(T0)
    yield c
    c.stop()


@pytest.fixture
def make(app) -> Factory:
    return Factory()


@pytest.fixture
def login_as(app):
    """``login_as(user)`` → a new logged-in test client for that user."""

    def _login(user: User):
        c = app.test_client()
        login(c, user)
        return c

    return _login


# A course in a DST-observing zone with one instructor and one student, for feature tests.
@pytest.fixture
def course(make):
    return make.course(timezone="America/New_York")


@pytest.fixture
def staff(make, course):
    return make.member(course, ROLE_INSTRUCTOR, name="Ida Instructor")


@pytest.fixture
def student(make, course):
    return make.member(course, ROLE_STUDENT, name="Sam Student")


@pytest.fixture(scope="session")
def pg_cluster():
    """The PostgreSQL server of the test session (skips, or fails under CI=true, without one)."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def pg_database(pg_cluster, request) -> Database:
    """A new empty database of this test module in the session's server, owned by an ordinary role."""
    return Database(pg_cluster, request.module.__name__.rpartition(".")[2])


@pytest.fixture(scope="module")
def pg_url(pg_database) -> str:
    """``postgresql://…`` of this test module's database."""
    return pg_database.url()

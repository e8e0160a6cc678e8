"""Background checkpoints of the SQLite log: server commits only append to it."""
from __future__ import annotations

import os
import sqlite3
import time

import pytest
from sqlalchemy import create_engine, text

import app  # noqa: F401  (every engine gets the WAL pragmas)
from core import sqlite_checkpoint

ROWS, ROW_BYTES = 2500, 2000  # about 5 MB: past SQLite's default threshold of 1000 pages


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'log.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT)"))
    yield engine
    engine.dispose()


def fill(engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO rows (body) VALUES (:body)"), [{"body": "x" * ROW_BYTES}] * ROWS)


def file_size(engine) -> int:
    return os.path.getsize(sqlite_checkpoint.database_file(engine))


def test_only_sqlite_files_get_a_checkpointer():
    assert sqlite_checkpoint.start(create_engine("sqlite://"), "threading") is None
    assert sqlite_checkpoint.database_file(create_engine("postgresql+psycopg://u@localhost/db")) is None


def test_a_commit_leaves_the_log_for_the_background(engine):
    sqlite_checkpoint.start(engine, "threading").stop()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == sqlite_checkpoint.BACKSTOP_PAGES
    before = file_size(engine)
    fill(engine)
    assert file_size(engine) == before  # everything is still in the log

    busy, frames, copied = sqlite_checkpoint.checkpoint(sqlite_checkpoint.database_file(engine))
    assert busy == 0 and frames == copied > 1000
    assert file_size(engine) > ROWS * ROW_BYTES
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM rows")).scalar() == ROWS


def test_the_background_loop_checkpoints(engine, monkeypatch):
    monkeypatch.setattr(sqlite_checkpoint, "INTERVAL", 0.05)
    checkpointer = sqlite_checkpoint.start(engine, "threading")
    try:
        fill(engine)
        deadline = time.monotonic() + 10
        while file_size(engine) < ROWS * ROW_BYTES and time.monotonic() < deadline:
            time.sleep(0.05)
        assert file_size(engine) > ROWS * ROW_BYTES
    finally:
        checkpointer.stop()


def test_a_missing_file_is_not_created(tmp_path):
    with pytest.raises(sqlite3.OperationalError):
        sqlite_checkpoint.checkpoint(str(tmp_path / "gone.sqlite3"))
    assert not (tmp_path / "gone.sqlite3").exists()

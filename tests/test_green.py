"""Green threads on PostgreSQL: while one green thread waits for a slow query, the others run.

Each mode runs in a subprocess patched as ``python app.py`` patches itself (``core.green``),
with the app's own engine on the tests' PostgreSQL server: one green thread runs
``pg_sleep`` through ``db.session`` while another ticks every 20 ms, then a query too large for
the socket's buffer is sent. Unpatched, psycopg waits in C under eventlet and no tick happens
until the query returns.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
QUERY_S = 0.6
TICK_S = 0.02

SCRIPT = f"""
import json, sys, time
from core import green
mode, cooperative = sys.argv[1], sys.argv[2] == "1"
if cooperative:
    green.patch(mode)
elif mode == "eventlet":
    import eventlet
    eventlet.monkey_patch()
from sqlalchemy import text
from app import create_app
from core.extensions import db, socketio
app = create_app()
with app.app_context():
    db.session.execute(text("SELECT 1"))  # the pool's connection, made before the clock starts
    db.session.remove()
ticks = []
def ticker():
    while len(ticks) < 200:
        ticks.append(time.monotonic())
        socketio.sleep({TICK_S})
def query():
    with app.app_context():
        started = time.monotonic()
        db.session.execute(text("SELECT pg_sleep({QUERY_S})"))
        ended = time.monotonic()
        db.session.remove()
    return started, ended
socketio.start_background_task(ticker)
socketio.sleep(0.1)
started, ended = query()
during = [t for t in ticks if started < t < ended]
gap = max(b - a for a, b in zip(during, during[1:] + [ended])) if during else ended - started
with app.app_context():
    # Eight megabytes do not fit the socket's buffer: the wait is for writing too.
    big = db.session.execute(text("SELECT length(:text)"), {{"text": "x" * 8_000_000}}).scalar()
    db.session.remove()
print(json.dumps({{"wait": __import__("psycopg").waiting.wait.__name__, "ticks": len(during), "gap": gap,
                  "big": big}}))
"""


def _run(pg_url: str, tmp_path: Path, mode: str, cooperative: bool) -> dict:
    env = dict(os.environ, DATABASE_URL=pg_url, SOCKETIO_ASYNC_MODE=mode, COLLOQUY_ENV="development",
               SECRET_KEY="green-thread-test-key", PYTHONPATH=str(ROOT))
    env.pop("SOCKETIO_MESSAGE_QUEUE", None)
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode, "1" if cooperative else "0"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_other_green_threads_run_while_a_query_waits_for_postgresql(pg_url, tmp_path, mode):
    result = _run(pg_url, tmp_path, mode, cooperative=True)
    if mode == "eventlet":
        assert result["wait"] == "eventlet_wait"
    # About QUERY_S / TICK_S = 30 ticks; a blocked process gets none.
    assert result["ticks"] >= 10, result
    assert result["gap"] < QUERY_S / 2, result
    assert result["big"] == 8_000_000


def test_unpatched_eventlet_would_stop_the_whole_process_during_a_query(pg_url, tmp_path):
    """What ``core.green`` prevents (and proof that the test above can tell): psycopg's C wait."""
    result = _run(pg_url, tmp_path, "eventlet", cooperative=False)
    assert result["wait"] == "wait_c"
    assert result["ticks"] <= 1, result

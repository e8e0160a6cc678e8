"""In-process cost of panel joins and actions: time and SQL statements per event.

    .venv/bin/python bench/panel_inproc.py [--questions 60] [--rounds 30]

A moderated room on a file SQLite with ``--questions`` questions (pending, queued with votes,
answered); Socket.IO test clients of a critic and the instructor join and act.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from sqlalchemy import event  # noqa: E402

from app import create_app  # noqa: E402
from conftest import T0, Factory, app_config, fresh_tables  # noqa: E402
from core.extensions import db  # noqa: E402
from support.panel import PanelCast, apply, new_cid  # noqa: E402


class Counter:
    def __init__(self):
        self.n = 0

    def __call__(self, *args, **kwargs):
        self.n += 1


def measure(fn, rounds, counter):
    times, counts = [], []
    for _ in range(rounds):
        db.session.remove()  # each served event has its own session
        counter.n = 0
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
        counts.append(counter.n)
    return {"ms": round(statistics.median(times), 2), "sql": max(counts)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    path = os.path.join(tempfile.mkdtemp(), "bench.sqlite3")
    app = create_app(app_config(path, PANEL_PRESENCE_DELAY=0, VOTE_RATE="100000/60"))
    with fresh_tables(app):
        cast = PanelCast(app, Factory(), critics=20)
        cast.set_room(phase="panel", phase_started_at=T0, phase_ends_at=T0 + timedelta(minutes=15))
        room_id = cast.room.id
        ids = []
        for n in range(args.questions):
            critic = cast.critics[n % len(cast.critics)]
            ack = apply("ask", room_id, critic, new_cid(), {"text": f"Question {n}?", "anonymous": n % 3 == 0})
            ids.append(ack.ack["question_id"])
        for n, qid in enumerate(ids):
            if n % 6 == 0:
                continue  # stays pending
            apply("approve", room_id, cast.instructor, new_cid(), {"question_id": qid, "version": 1})
            if n % 6 == 1:
                apply("mark_answered", room_id, cast.instructor, new_cid(), {"question_id": qid, "version": 2})
            else:
                for critic in cast.critics[: n % 7]:
                    apply("vote", room_id, critic, new_cid(), {"question_id": qid})
        counter = Counter()
        event.listen(db.engine, "before_cursor_execute", counter)
        critic = cast.sock(cast.critics[0])
        moderator = cast.sock(cast.instructor)

        def join(sock):
            def run():
                ack = sock.join()
                assert ack["ok"], ack
                assert sock.events("snapshot")
            return run

        pending = [qid for n, qid in enumerate(ids) if n % 6 == 0]
        extra = []

        def approve():
            qid = apply("ask", room_id, critic.user, new_cid(), {"text": "Another?"}).ack["question_id"]
            extra.append(qid)
            db.session.remove()
            counter.n = 0
            start = time.perf_counter()
            ack = moderator.act("approve", question_id=qid, version=1)
            approve_ms.append((time.perf_counter() - start) * 1000)
            approve_sql.append(counter.n)
            assert ack["ok"], ack
            critic.received()
            moderator.received()

        approve_ms, approve_sql = [], []
        results = {
            "questions": args.questions,
            "join_critic": measure(join(critic), args.rounds, counter),
            "join_moderator": measure(join(moderator), args.rounds, counter),
        }
        vote_target = ids[2]

        def vote():
            ack = critic.act("vote", question_id=vote_target)
            assert ack["ok"], ack
            critic.received()
            moderator.received()

        results["vote"] = measure(vote, args.rounds, counter)
        for _ in range(args.rounds):
            approve()
        results["approve"] = {"ms": round(statistics.median(approve_ms), 2), "sql": max(approve_sql)}
        assert pending
        print(json.dumps(results))


if __name__ == "__main__":
    main()

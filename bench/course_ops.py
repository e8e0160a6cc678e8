"""The instructor's day, measured in process on a temporary SQLite file.

``python bench/course_ops.py`` prints: a moderator's ``approve`` now that it writes an audit event
(median ms over 200 actions), a time zone change's preview and its save keeping local times for a
term of 30 sessions with 60 presentations and 60 extensions, and the size of the dashboard and
settings pages with the zone picker's list.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("COLLOQUY_ENV", "development")

from app import create_app  # noqa: E402
from core.extensions import db  # noqa: E402
from core.timeutil import now_utc  # noqa: E402
from domain import courses  # noqa: E402
from domain.panel import commands  # noqa: E402
from tests.support.apps import app_config, fresh_tables  # noqa: E402
from tests.support.factories import ROLE_INSTRUCTOR, Factory, login  # noqa: E402
from tests.support.panel import PanelCast  # noqa: E402


def ms(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1000:.2f} ms, p95 {sorted(samples)[int(len(samples) * .95)] * 1000:.2f} ms"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(app_config(Path(tmp) / "bench.sqlite3"))
        with fresh_tables(app):
            make = Factory()
            cast = PanelCast(app, make)
            cast.room.phase = "panel"
            db.session.commit()
            approve, pin = [], []
            for n in range(200):
                qid = commands.apply("ask", cast.room.id, cast.critics[n % 3], f"a{n}", {"text": f"Q {n}?"}, now_utc()).ack["question_id"]
                db.session.commit()
                for samples, event, cid in ((approve, "approve", "b"), (pin, "pin", "c")):
                    version = db.session.get(commands.Question, qid, populate_existing=True).version
                    started = time.perf_counter()
                    commands.apply(event, cast.room.id, cast.instructor, f"{cid}{n}", {"question_id": qid, "version": version}, now_utc())
                    db.session.commit()
                    samples.append(time.perf_counter() - started)
            print(f"approve with its audit event: {ms(approve)}; pin (no audit event), for comparison: {ms(pin)}")

            course = make.course(timezone="UTC")
            teacher = make.member(course, ROLE_INSTRUCTOR)
            students = [make.member(course) for _ in range(60)]
            start = now_utc() + timedelta(days=2)
            for week in range(30):
                session = make.session(course, starts_at=start + timedelta(days=week * 3))
                for slot in range(2):
                    p = make.presentation(course, session=session, review_deadline=session.starts_at - timedelta(hours=8))
                    make.extension(p, students[(week * 2 + slot) % 60], p.review_deadline + timedelta(days=1))
            started = time.perf_counter()
            moves = courses.zone_change_preview(course, "America/Toronto", now_utc())
            preview = time.perf_counter() - started
            started = time.perf_counter()
            moved = courses.change_timezone(course, "America/Toronto", courses.KEEP_LOCAL_TIMES, teacher.id, now_utc())
            db.session.commit()
            save = time.perf_counter() - started
            print(f"zone change preview of {len(moves)} times: {preview * 1000:.1f} ms; save moving {moved}: {save * 1000:.1f} ms")

            teacher.is_instructor = True
            db.session.commit()
            client = app.test_client()
            login(client, teacher)
            dashboard = client.get("/").get_data()
            settings = client.get(f"/courses/{course.id}/settings").get_data()
            print(f"dashboard page: {len(dashboard) / 1024:.1f} KiB; settings page: {len(settings) / 1024:.1f} KiB (zone list included)")


if __name__ == "__main__":
    main()

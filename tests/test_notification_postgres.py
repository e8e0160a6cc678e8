"""Exactly once with several senders: two processes run the sender against one PostgreSQL
outbox at the same moment (``FOR UPDATE SKIP LOCKED`` keeps their claims apart), and every
e-mail reaches the real SMTP server once and is recorded once."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.extensions import db
from domain.notifications.announcements import announce
from domain.notifications.outbox import dispatch_due
from models import DeliveryAttempt, DeliveryState, EmailDelivery
from tests.support.apps import postgres_app
from tests.support.factories import ROLE_INSTRUCTOR, ROLE_STUDENT, T0
from tests.support.smtp import SMTPServer

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
STUDENTS = 60
WAIT_SECONDS = 120

SENDER = """
import os, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from app import create_app
from blueprints.notifications.sender import run_due
app = create_app({{"SQLALCHEMY_DATABASE_URI": os.environ["SQLALCHEMY_URL"], "MAIL_SUPPRESS_SEND": False}})
here = Path(sys.argv[1])
(here / ("ready-" + sys.argv[2])).touch()
deadline = time.monotonic() + 60
while not (here / "go").exists() and time.monotonic() < deadline:
    time.sleep(0.01)
with app.app_context():
    while run_due(worker="sender-" + sys.argv[2], batch=1)["emails"]:
        pass
"""


@pytest.fixture
def smtp():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def app(pg_url, tmp_path, monkeypatch):
    """The test app on PostgreSQL (every table empty), sending through the test's SMTP server."""
    with postgres_app(monkeypatch, pg_url, tmp_path) as app:
        yield app


def test_two_sender_processes_send_each_e_mail_once(app, make, smtp, tmp_path):
    course = make.course(code="CS598", title="Model Serving Seminar")
    staff = make.member(course, ROLE_INSTRUCTOR)
    students = [make.member(course, ROLE_STUDENT) for _ in range(STUDENTS)]
    announce(course, staff, "Class moved", "We meet in room 2.", True, T0)
    db.session.commit()
    dispatch_due(T0 + timedelta(minutes=2))
    db.session.commit()
    assert db.session.scalar(select(func.count(EmailDelivery.id))) == STUDENTS
    addresses = sorted(s.email for s in students)
    db.session.remove()

    env = {**os.environ, "SQLALCHEMY_URL": app.config["SQLALCHEMY_DATABASE_URI"], "MAIL_SERVER": "127.0.0.1",
           "MAIL_PORT": str(smtp.port), "NOTIFY_BASE_URL": "https://colloquy.example.edu", "COLLOQUY_ENV": "development",
           "SECRET_KEY": app.config["SECRET_KEY"]}
    script = tmp_path / "sender.py"
    script.write_text(SENDER.format(root=str(ROOT)))
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path), str(n)], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for n in (1, 2)]
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while not all((tmp_path / f"ready-{n}").exists() for n in (1, 2)):
            assert time.monotonic() < deadline, "the senders did not start"
            assert all(p.poll() is None for p in procs), [p.stdout.read().decode()[-2000:] for p in procs]
            time.sleep(0.05)
        (tmp_path / "go").touch()
        for proc in procs:
            proc.wait(timeout=WAIT_SECONDS)
            assert proc.returncode == 0, proc.stdout.read().decode()[-3000:]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    received = sorted(address for m in smtp.messages for address in m.rcpt_tos)
    assert received == addresses  # each once, none twice
    states = db.session.scalars(select(EmailDelivery.state)).all()
    assert states == [DeliveryState.SENT] * STUDENTS
    sent = db.session.scalars(select(DeliveryAttempt.delivery_id).where(DeliveryAttempt.outcome == "sent")).all()
    assert sorted(sent) == sorted(set(sent)) and len(sent) == STUDENTS  # recorded once each
    per_worker = db.session.execute(select(DeliveryAttempt.worker, func.count()).group_by(DeliveryAttempt.worker)).all()
    print("e-mails sent per sender process:", dict(per_worker))

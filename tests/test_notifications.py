"""Notifications against a real SMTP server (aiosmtpd on 127.0.0.1): recipients, headers, links and
time zones; reminders computed from the data; merging; retries and giving up; a crash between
send and record; digests across a daylight-saving change; the in-app list and the staff log."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app import create_app
from blueprints.notifications.sender import build_email, run_due
from core import mail
from core.extensions import db
from domain import reviewing
from domain.notifications import delivery, outbox, preferences
from domain.notifications.announcements import announce
from domain.notifications.outbox import notify
from models import (
    MEMBER_SUMMARY,
    DeliveryAttempt,
    DeliveryState,
    EmailDelivery,
    Notification,
    NoticeState,
    NotificationPreference,
    NotifyChannel,
    NotifyMode,
    PresentationMember,
)
from tests.support.apps import FreshRequestClient, app_config, fresh_tables
from tests.support.factories import ROLE_INSTRUCTOR, ROLE_STUDENT, T0, Factory
from tests.support.smtp import SMTPServer

UTC = timezone.utc
STEP = timedelta(minutes=2)  # past the merge window, so a run dispatches what the last one queued


@pytest.fixture
def smtp():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def app(tmp_path, smtp):
    """The test app sending through the test's SMTP server."""
    app = create_app(app_config(tmp_path / "test.sqlite3", NOTIFY_BASE_URL="https://colloquy.example.edu", **smtp.config()))
    app.test_client_class = FreshRequestClient
    with fresh_tables(app):
        yield app


def run(at: datetime) -> dict:
    """One sender run at ``at`` and another just after it (the merge window has passed)."""
    first = run_due(at, worker="test")
    second = run_due(at + STEP, worker="test")
    return {"first": first, "second": second}


@pytest.fixture
def world(make: Factory, clock):
    """A course in New York with an instructor, a presenter and four critics of one presentation."""
    course = make.course(timezone="America/New_York", code="CS598", title="Model Serving Seminar")
    staff = make.member(course, ROLE_INSTRUCTOR, name="Ida Instructor")
    presenter = make.member(course, ROLE_STUDENT, name="Pat Presenter")
    critics = [make.member(course, ROLE_STUDENT, name=f"Critic {c}") for c in "ABCD"]
    deadline = T0 + timedelta(days=3)
    p = make.presentation(course, review_deadline=deadline, presenters=[presenter])
    return dict(course=course, staff=staff, presenter=presenter, critics=critics, p=p, deadline=deadline)


def emails_to(smtp, user) -> list:
    return smtp.to(user.email)


def reminders_to(smtp, user) -> list:
    return [m for m in smtp.to(user.email) if m.header("Subject").endswith("is due soon")]


# --------------------------------------------------------------------------- reminders


def test_review_reminders_only_to_those_who_still_owe_their_own_deadline(world, make, smtp):
    a, b, c, d = world["critics"]
    p, deadline = world["p"], world["deadline"]
    make.review(p, a, submitted_at=T0)  # submitted: never reminded
    make.extension(p, b, deadline + timedelta(days=3))  # own deadline later

    run(deadline - timedelta(hours=47))
    assert [len(reminders_to(smtp, u)) for u in (a, b, c, d)] == [0, 0, 1, 1]
    assert reminders_to(smtp, world["presenter"]) == []  # authors do not review
    assert "is due" in reminders_to(smtp, c)[0].text

    make.review(p, d, submitted_at=deadline - timedelta(hours=10))  # submits between 48 h and 2 h
    run(deadline - timedelta(hours=1))
    assert [len(reminders_to(smtp, u)) for u in (a, b, c, d)] == [0, 0, 2, 1]
    assert "2h@" in db.session.scalars(select(Notification.dedupe_key).where(Notification.user_id == c.id).order_by(Notification.id)).all()[-1]

    # The extended student is reminded against their own deadline.
    run(deadline + timedelta(days=3) - timedelta(hours=47))
    run(deadline + timedelta(days=3) - timedelta(hours=1))
    assert len(reminders_to(smtp, b)) == 2
    # Running again sends nothing twice.
    run(deadline + timedelta(days=3) - timedelta(minutes=30))
    assert len(reminders_to(smtp, b)) == 2 and len(reminders_to(smtp, c)) == 2


def test_a_reminder_queued_before_the_deadline_moved_is_not_sent(world, smtp):
    c = world["critics"][2]
    p, deadline = world["p"], world["deadline"]
    at = deadline - timedelta(hours=47)
    run_due(at, worker="test")  # queued, inside its merge window
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == c.id)) == 1
    p.review_deadline = deadline + timedelta(days=4)
    db.session.commit()
    run_due(at + STEP, worker="test")
    assert emails_to(smtp, c) == []
    states = set(db.session.scalars(select(Notification.state).where(Notification.kind == "review_due")))
    assert states == {NoticeState.CANCELLED}
    # The new deadline gets its own reminder.
    run(deadline + timedelta(days=4) - timedelta(hours=40))
    [message] = emails_to(smtp, c)
    assert "Sat 7 Mar 2026" in message.text or "Mar 2026" in message.text


# --------------------------------------------------------------------------- a message's shape


def test_message_recipients_headers_links_and_time_zone(world, client, smtp):
    b = world["critics"][1]
    p = world["p"]
    reviewing.grant_extension(p, b.id, world["deadline"] + timedelta(days=2), "ill", world["staff"].id, T0)
    db.session.commit()
    run(T0)
    [message] = smtp.messages
    assert message.rcpt_tos == [b.email]
    assert message.header("To") == b.email
    assert "colloquy@example.edu" in message.header("From")
    assert message.header("Subject").startswith("[CS598 Model Serving Seminar] Extension")
    assert message.header("Message-ID").startswith("<colloquy.")
    assert message.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    unsubscribe = message.header("List-Unsubscribe").strip("<>")
    assert unsubscribe.startswith("https://colloquy.example.edu/notifications/unsubscribe/")
    assert f"List-Unsubscribe: <{unsubscribe}>".encode() in message.raw  # as written, not encoded
    link = f"https://colloquy.example.edu/courses/{p.course_id}/presentations/{p.id}/review"
    assert link in message.text and f'href="{link}"' in message.html
    # The deadline in the course's zone, named: 7 March 2026 is before the DST change (EST).
    assert "Sat 7 Mar 2026, 07:00 EST (America/New_York)" in message.text
    assert "America/New_York" in message.html

    # One-click unsubscribe: a POST to the link, no session, no CSRF token.
    answer = client.post(urlsplit(unsubscribe).path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    assert preferences.mode_for(b.id, "extension_granted", NotifyChannel.EMAIL) == NotifyMode.OFF
    assert client.post("/notifications/unsubscribe/forged-token").status_code == 400
    reviewing.grant_extension(p, b.id, world["deadline"] + timedelta(days=5), "still ill", world["staff"].id, T0)
    db.session.commit()
    run(T0 + timedelta(hours=1))
    assert len(smtp.messages) == 1  # off by e-mail …
    listed = db.session.scalars(select(Notification).where(Notification.user_id == b.id)).all()
    assert [n.state for n in listed] == [NoticeState.DELIVERED, NoticeState.DELIVERED]  # … still in-app


def test_rapid_changes_to_one_subject_merge_into_one_message(world, smtp):
    b = world["critics"][1]
    p = world["p"]
    for days in (1, 2, 3):
        reviewing.grant_extension(p, b.id, world["deadline"] + timedelta(days=days), "", world["staff"].id, T0)
        db.session.commit()
    run(T0)
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == b.id)) == 1
    [message] = smtp.messages
    assert "Sun 8 Mar 2026, 08:00 EDT (America/New_York)" in message.text  # the last one, after the DST change


# --------------------------------------------------------------------------- failures


def test_smtp_fails_then_recovers_with_back_off(world, smtp):
    b = world["critics"][1]
    reviewing.grant_extension(world["p"], b.id, world["deadline"] + timedelta(days=1), "", world["staff"].id, T0)
    db.session.commit()
    smtp.fail_next(2)
    run(T0)  # queued, then dispatched and tried: 451
    row = db.session.scalar(select(EmailDelivery))
    assert row.state == DeliveryState.PENDING and row.attempts == 1
    assert row.due_at == T0 + STEP + timedelta(minutes=1)
    run_due(T0 + STEP + timedelta(seconds=30), worker="test")  # not yet due
    db.session.refresh(row)
    assert row.attempts == 1
    run_due(T0 + STEP + timedelta(minutes=1), worker="test")  # 451 again; the wait doubles
    db.session.refresh(row)
    assert row.attempts == 2 and row.due_at == T0 + STEP + timedelta(minutes=3)
    run_due(T0 + STEP + timedelta(minutes=3), worker="test")
    db.session.refresh(row)
    assert row.state == DeliveryState.SENT and len(smtp.messages) == 1
    outcomes = db.session.scalars(select(DeliveryAttempt.outcome).order_by(DeliveryAttempt.id)).all()
    assert outcomes == ["transient", "transient", "sent"]


def test_gives_up_visibly_after_the_limit_and_staff_resend(world, smtp, login_as, app):
    app.config["NOTIFY_MAX_ATTEMPTS"] = 2
    b = world["critics"][1]
    reviewing.grant_extension(world["p"], b.id, world["deadline"] + timedelta(days=1), "", world["staff"].id, T0)
    db.session.commit()
    smtp.fail_next(5)
    run(T0)
    run_due(T0 + timedelta(hours=1), worker="test")
    row = db.session.scalar(select(EmailDelivery))
    assert row.state == DeliveryState.FAILED and row.last_error.startswith("gave up after 2 attempts")
    assert smtp.messages == []

    staff = login_as(world["staff"])
    log = staff.get(f"/courses/{world['course'].id}/notifications/log?kind=extension_granted")
    assert log.status_code == 200 and b"gave up after 2 attempts" in log.data and b"Resend" in log.data
    assert login_as(b).get(f"/courses/{world['course'].id}/notifications/log").status_code == 403
    smtp.handler.failures.clear()
    assert staff.post(f"/courses/{world['course'].id}/notifications/log/{row.id}/resend").status_code == 302
    run_due(T0 + timedelta(hours=2), worker="test")
    assert len(emails_to(smtp, b)) == 1


def test_a_refused_recipient_is_recorded_as_bounced(world, smtp):
    b = world["critics"][1]
    smtp.handler.refused.add(b.email)
    reviewing.grant_extension(world["p"], b.id, world["deadline"] + timedelta(days=1), "", world["staff"].id, T0)
    db.session.commit()
    run(T0)
    assert db.session.scalar(select(EmailDelivery.state)) == DeliveryState.BOUNCED


def test_crash_between_send_and_record_sends_at_most_twice_and_records_once(world, smtp, app):
    """The guarantee: recorded once, sent at most twice (a lapsed claim is taken over once)."""
    b, c = world["critics"][1], world["critics"][2]

    def queue_extension(user, at):
        reviewing.grant_extension(world["p"], user.id, world["deadline"] + timedelta(days=1), "", world["staff"].id, T0)
        db.session.execute(db.update(Notification).values(due_at=at))
        outbox.dispatch_due(at)
        db.session.commit()

    def crash_after_send(at, worker):
        """A sender that dies after the SMTP server accepted the message, before recording it."""
        with app.test_request_context(base_url=app.config["NOTIFY_BASE_URL"]):
            rows = delivery.claim(at, worker)
            db.session.commit()
            for row in rows:
                mail.send(build_email(delivery.compose(row, at)))
        db.session.rollback()
        return rows

    queue_extension(b, T0)
    assert len(crash_after_send(T0, "dead-1")) == 1 and len(smtp.messages) == 1
    run_due(T0 + timedelta(minutes=5), worker="test")  # inside the lease: left alone
    assert len(smtp.messages) == 1
    run_due(T0 + delivery.LEASE + timedelta(seconds=1), worker="test")  # taken over once, sent again
    row = db.session.scalar(select(EmailDelivery).where(EmailDelivery.user_id == b.id))
    assert row.state == DeliveryState.SENT and row.reclaimed and row.attempts == 2
    assert len(smtp.messages) == 2
    assert smtp.messages[0].header("Message-ID") == smtp.messages[1].header("Message-ID")
    outcomes = db.session.scalars(select(DeliveryAttempt.outcome).where(DeliveryAttempt.delivery_id == row.id)
                                  .order_by(DeliveryAttempt.id)).all()
    assert outcomes == ["crashed", "sent"]  # recorded once

    # Two crashes in a row: the second lapse is given up, never a third copy.
    later = T0 + timedelta(hours=3)
    queue_extension(c, later)
    crash_after_send(later, "dead-2")
    crash_after_send(later + delivery.LEASE + timedelta(seconds=1), "dead-3")
    assert len(emails_to(smtp, c)) == 2
    run_due(later + 2 * delivery.LEASE + timedelta(seconds=2), worker="test")
    row = db.session.scalar(select(EmailDelivery).where(EmailDelivery.user_id == c.id))
    assert row.state == DeliveryState.FAILED and "outcome unknown" in row.last_error
    assert len(emails_to(smtp, c)) == 2


# --------------------------------------------------------------------------- digests


def test_digest_at_eight_local_across_the_daylight_saving_change(world, smtp):
    b = world["critics"][1]
    preferences.set_mode(b.id, "extension_granted", NotifyChannel.EMAIL, NotifyMode.DIGEST)
    preferences.set_mode(b.id, "announcement", NotifyChannel.EMAIL, NotifyMode.DIGEST)
    db.session.commit()
    p = world["p"]
    # Friday 6 March, 20:00 UTC (15:00 EST): the next digest is Saturday 08:00 EST = 13:00 UTC.
    friday = datetime(2026, 3, 6, 20, 0, tzinfo=UTC)
    reviewing.grant_extension(p, b.id, world["deadline"] + timedelta(days=5), "", world["staff"].id, T0)
    announce(world["course"], world["staff"], "Room change", "We meet in room 2.", False, friday)
    db.session.commit()
    db.session.execute(db.update(Notification).values(due_at=friday))
    db.session.commit()
    run_due(friday, worker="test")
    run_due(datetime(2026, 3, 7, 12, 59, tzinfo=UTC), worker="test")
    assert emails_to(smtp, b) == []
    run_due(datetime(2026, 3, 7, 13, 0, tzinfo=UTC), worker="test")
    [digest] = emails_to(smtp, b)
    assert "digest" in digest.header("Subject") and "Extension" in digest.text and "Room change" in digest.text
    assert digest.header("List-Unsubscribe")

    # Saturday 14:00 UTC: the clocks go forward overnight; Sunday 08:00 EDT is 12:00 UTC.
    saturday = datetime(2026, 3, 7, 14, 0, tzinfo=UTC)
    announce(world["course"], world["staff"], "Reading added", "", False, saturday)
    db.session.commit()
    run(saturday)
    run_due(datetime(2026, 3, 8, 11, 59, tzinfo=UTC), worker="test")
    assert len(emails_to(smtp, b)) == 1
    run_due(datetime(2026, 3, 8, 12, 0, tzinfo=UTC), worker="test")
    assert len(emails_to(smtp, b)) == 2 and "Reading added" in emails_to(smtp, b)[1].text


def test_next_digest_is_eight_local_on_both_sides_of_the_change():
    before = preferences.next_digest(datetime(2026, 3, 7, 9, 0, tzinfo=UTC), 8, "America/New_York")
    after = preferences.next_digest(datetime(2026, 3, 7, 14, 0, tzinfo=UTC), 8, "America/New_York")
    assert before[1] == datetime(2026, 3, 7, 13, 0, tzinfo=UTC)
    assert after[1] == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    berlin = preferences.next_digest(datetime(2026, 3, 29, 7, 0, tzinfo=UTC), 8, "Europe/Berlin")
    assert berlin[1] == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # after 08:00 CEST on the day of the change


# --------------------------------------------------------------------------- in-app and staff


def test_in_app_list_unread_count_mark_read_and_open(world, login_as, smtp):
    b = world["critics"][1]
    p = world["p"]
    reviewing.grant_extension(p, b.id, world["deadline"] + timedelta(days=1), "", world["staff"].id, T0)
    db.session.commit()
    run(T0)
    browser = login_as(b)
    home = browser.get(f"/courses/{world['course'].id}")
    assert b"Notifications <span class=\"badge\">1" in home.data
    page = browser.get("/notifications")
    assert page.status_code == 200 and b"Extension for your review" in page.data
    [row] = db.session.scalars(select(Notification).where(Notification.user_id == b.id)).all()
    opened = browser.post(f"/notifications/{row.id}/open")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/presentations/{p.id}/review")
    assert b"<span class=\"badge\">" not in browser.get("/notifications").data.split(b"<main")[0]
    # Someone else's notification is not there.
    assert login_as(world["critics"][2]).post(f"/notifications/{row.id}/read").status_code == 404
    assert browser.post("/notifications/read-all").status_code == 302


def test_preferences_page_saves_each_type_and_channel(world, login_as):
    b = world["critics"][1]
    browser = login_as(b)
    assert browser.get("/notifications/preferences").status_code == 200
    answer = browser.post("/notifications/preferences", data={
        "mode-grades_posted-email": "digest", "mode-room_opened-in_app": "off", "digest_hour": "7",
        "timezone": "Europe/Berlin"})
    assert answer.status_code == 302
    assert preferences.mode_for(b.id, "grades_posted", NotifyChannel.EMAIL) == NotifyMode.DIGEST
    assert preferences.mode_for(b.id, "room_opened", NotifyChannel.IN_APP) == NotifyMode.OFF
    assert preferences.settings_of(b.id).digest_hour == 7
    refused = browser.post("/notifications/preferences", data={"mode-room_opened-in_app": "digest"})
    assert refused.status_code == 200 and b"Choose one of the offered settings" in refused.data
    assert db.session.scalar(select(func.count(NotificationPreference.id))) == 2


def test_an_important_announcement_is_e_mailed_whatever_the_settings(world, login_as, smtp):
    for user in world["critics"]:
        preferences.set_mode(user.id, "announcement", NotifyChannel.EMAIL, NotifyMode.OFF)
    db.session.commit()
    staff = login_as(world["staff"])
    answer = staff.post(f"/courses/{world['course'].id}/announcements/new",
                        data={"title": "Class cancelled", "body": "No class on Monday.", "important": "y"})
    assert answer.status_code == 302
    answer = staff.post(f"/courses/{world['course'].id}/announcements/new", data={"title": "Reading list"})
    run(T0)
    for user in world["critics"]:
        assert [m.header("Subject") for m in emails_to(smtp, user)] == ["[CS598 Model Serving Seminar] Class cancelled"]
    assert len(emails_to(smtp, world["presenter"])) == 2
    assert emails_to(smtp, world["staff"]) == []  # the author is not told their own news
    assert login_as(world["critics"][0]).post(f"/courses/{world['course'].id}/announcements/new",
                                               data={"title": "x"}).status_code == 403


def test_notify_writes_one_row_per_event_however_often_it_is_called(world):
    b = world["critics"][1]
    for _ in range(3):
        notify([b, b.id], "reviews_released", world["p"].id, world["course"].id, T0)
    db.session.commit()
    run_due(T0 + STEP, worker="test")
    notify([b], "reviews_released", world["p"].id, world["course"].id, T0 + timedelta(hours=1))
    db.session.commit()
    assert db.session.scalar(select(func.count(Notification.id))) == 1


def test_without_a_mail_server_e_mails_are_written_to_the_instance_folder(tmp_path, make):
    app = create_app(app_config(tmp_path / "dev.sqlite3", MAIL_SERVER=None, MAIL_DIR=str(tmp_path / "mail")))
    with fresh_tables(app):
        course = make.course()
        staff = make.member(course, ROLE_INSTRUCTOR)
        student = make.member(course, ROLE_STUDENT)
        announce(course, staff, "Welcome", "Hello class.", True, T0)
        db.session.commit()
        run(T0)
        [written] = list((tmp_path / "mail").glob("*.eml"))
        text = written.read_text()
        assert f"To: {student.email}" in text and "Welcome" in text and "List-Unsubscribe" in text


# --------------------------------------------------------------------------- the hooks, through their operations


def test_opening_a_panel_room_tells_the_class_once(app, make, clock, smtp):
    from tests.support.panel import PanelCast, apply, new_cid

    cast = PanelCast(app, make)
    apply("phase", cast.room.id, cast.instructor, new_cid(), {"phase": "presenting"})
    apply("phase", cast.room.id, cast.instructor, new_cid(), {"phase": "panel"})  # not a second opening
    run(T0)
    told = set(db.session.scalars(select(Notification.user_id).where(Notification.kind == "room_opened",
                                                                     Notification.state == NoticeState.DELIVERED)))
    everyone = {u.id for u in (cast.ta, cast.presenter, cast.summarizer, *cast.critics)}
    assert told == everyone  # the class, not the instructor who opened it
    assert [m.header("Subject").endswith("is open") for m in smtp.to(cast.critics[0].email)].count(True) == 1


def test_moving_a_session_tells_its_presenters_and_summary_writers(world, make, smtp):
    from core.timeutil import local
    from domain import schedule

    summary = make.member(world["course"], ROLE_STUDENT, name="Sue Summary")
    p = world["p"]
    db.session.add(PresentationMember(course_id=p.course_id, presentation_id=p.id, user_id=summary.id,
                                      kind=MEMBER_SUMMARY, seat=1))
    db.session.commit()
    session = p.session
    later = local(session.starts_at + timedelta(days=1), "America/New_York")
    schedule.save_session(world["course"], session, later.date(), later.time(), duration_minutes=90, room="Room 1",
                          title="", slots=2, now=T0)
    db.session.commit()
    run(T0)
    moved = [m for m in smtp.messages if "has moved" in m.header("Subject")]
    assert sorted(m.rcpt_tos[0] for m in moved) == sorted([world["presenter"].email, summary.email])
    assert "(America/New_York)" in moved[0].text


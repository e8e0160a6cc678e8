"""Peer feedback in a real browser, on the demo course: the instructor puts a group's checkpoint
talk in a past session with its window closing tomorrow; three classmates write feedback (one
autosaves a draft first); the group sees nothing; the instructor moves the close into the past
(the clock moved by staff action); the group then reads the three pieces without names.
"""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from demo import course as demo

pytestmark = pytest.mark.e2e

PIECES = (
    ("The latency breakdown per stage was the clearest slide.", "Label the axes of the CDF.", "4"),
    ("A good baseline and an honest ablation.", "Say how many runs each bar is.", "5"),
    ("The demo worked live.", "Spend less time on background.", "3"),
)


def main_text(page) -> str:
    return page.get_by_role("main").inner_text()


def _group_without_checkpoint(server) -> tuple[int, list[str]]:
    """A demo group that has no checkpoint talk yet, and its members' e-mails."""
    group_id = server.one(
        "SELECT MIN(g.id) FROM project_groups g WHERE EXISTS (SELECT 1 FROM project_members m WHERE m.group_id = g.id) "
        "AND NOT EXISTS (SELECT 1 FROM project_talks t WHERE t.group_id = g.id AND t.kind = 'checkpoint')"
    )
    emails = [row[0] for row in server.query(
        "SELECT u.email FROM project_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = ?", group_id)]
    return group_id, emails


def _local_input(when: datetime, zone: str) -> str:
    return when.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def test_group_sees_nothing_before_close_and_anonymous_feedback_after(new_person, live_server):
    course_id = live_server.one("SELECT id FROM courses")
    zone = live_server.one("SELECT timezone FROM courses")
    group_id, members = _group_without_checkpoint(live_server)
    session_id = live_server.one("SELECT id FROM class_sessions ORDER BY starts_at LIMIT 1")
    students = [demo.student_email(n) for n in range(1, len(demo.STUDENT_NAMES) + 1)]
    classmates = [e for e in students if e not in members][-3:]
    now = datetime.now(timezone.utc)

    instructor = new_person(demo.INSTRUCTOR[0])
    page = instructor.page
    instructor.goto(f"/courses/{course_id}/project/talks/new")
    page.get_by_label("Group").select_option(str(group_id))
    page.get_by_label("Kind").select_option("checkpoint")
    page.get_by_label("Class session").select_option(str(session_id))
    page.get_by_label("Length (minutes)").fill("12")
    page.get_by_label("Feedback closes").fill(_local_input(now + timedelta(days=1), zone))
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("The talk is in the schedule.")
    talk_id = live_server.one(
        "SELECT id FROM project_talks WHERE group_id = ? AND kind = 'checkpoint'", group_id)
    instructor.screenshot("talk-added")

    for n, (email, (worked, improve, rating)) in enumerate(zip(classmates, PIECES)):
        person = new_person(email)
        p = person.page
        person.goto(f"/courses/{course_id}/project/talks/{talk_id}/feedback/write")
        p.get_by_label("What worked", exact=True).fill(worked)
        if n == 0:  # the draft saves itself once the writer moves on
            p.get_by_label("What to improve", exact=True).focus()
            expect(p.locator("#draft-status")).to_contain_text("Draft saved")
            assert live_server.one(
                "SELECT status FROM peer_feedback f JOIN users u ON u.id = f.author_id "
                "WHERE u.email = ? AND f.talk_id = ?", email, talk_id) == "draft"
        p.get_by_label("What to improve", exact=True).fill(improve)
        p.get_by_label("Rating").select_option(rating)
        # Leaving the last field autosaves; let that finish, or it races the submission (and
        # is refused with 409 because the piece is submitted by then).
        with p.expect_response(lambda r: r.url.endswith("/feedback/draft")):
            p.get_by_label("Rating").blur()
        p.get_by_role("button", name="Submit feedback").click()
        expect(p.locator(".flash-success").first).to_contain_text("Your feedback was submitted.")
        person.screenshot("feedback-submitted")
        person.assert_no_problems()

    presenter = new_person(members[0])
    presenter.goto(f"/courses/{course_id}/project/talks/{talk_id}/feedback")
    sealed = main_text(presenter.page)
    assert "sealed until the window closes" in sealed
    for worked, improve, _ in PIECES:
        assert worked not in sealed and improve not in sealed
    presenter.screenshot("sealed")

    # Staff see all three with names; then move the close into the past.
    instructor.goto(f"/courses/{course_id}/project/talks/{talk_id}/feedback")
    staff_view = main_text(page)
    names = [live_server.one("SELECT display_name FROM users WHERE email = ?", e) for e in classmates]
    assert all(name in staff_view for name in names)
    instructor.goto(f"/courses/{course_id}/project/talks/{talk_id}/edit")
    page.get_by_label("Feedback closes").fill(_local_input(datetime.now(timezone.utc) - timedelta(minutes=2), zone))
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("The talk was saved.")

    presenter.page.reload()
    released = main_text(presenter.page)
    for worked, improve, _ in PIECES:
        assert worked in released and improve in released
    assert not any(name in released for name in names)
    assert released.count("A classmate") == 3
    presenter.screenshot("released")
    presenter.page.get_by_role("button", name="Helpful").first.click()
    expect(presenter.page.locator(".flash")).to_contain_text("Your mark was saved.")
    for person in (instructor, presenter):
        person.assert_no_problems()

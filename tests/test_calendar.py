"""The personal calendar feed: sessions and one's own deadlines, never review data."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from icalendar import Calendar

from tests.support.factories import ROLE_INSTRUCTOR, ROLE_STUDENT, T0
from core.extensions import db

SESSION_AT = datetime(2026, 3, 9, 14, 0, tzinfo=timezone.utc)
REVIEW_DUE = datetime(2026, 3, 9, 3, 59, tzinfo=timezone.utc)
SECRET = "zebra-marmalade-7731 is the secret phrase of this review"


@pytest.fixture
def course(make):
    return make.course(code="CS598", timezone="America/New_York")


@pytest.fixture
def setup(course, make):
    """A session with one presentation: presenter, summary writer, two critics with reviews."""
    presenter = make.member(course, ROLE_STUDENT, name="Pat Presenter")
    writer = make.member(course, ROLE_STUDENT, name="Wes Writer")
    critic = make.member(course, ROLE_STUDENT, name="Cris Critic")
    other = make.member(course, ROLE_STUDENT, name="Olga Other")
    staff = make.member(course, ROLE_INSTRUCTOR, name="Ida Instructor")
    session = make.session(course, starts_at=SESSION_AT, title="Batching", duration_minutes=80)
    pres = make.presentation(
        course,
        session=session,
        paper=make.paper(course, title="Orca: iteration-level scheduling"),
        presenters=[presenter],
        summarizers=[writer],
        review_deadline=REVIEW_DUE,
    )
    pres.summary_deadline = datetime(2026, 3, 10, 16, 0, tzinfo=timezone.utc)
    db.session.commit()
    make.review(pres, other, submitted_at=T0, text=SECRET, score=5)
    make.review(pres, critic, text=SECRET + " (draft)", score=1)
    return dict(presenter=presenter, writer=writer, critic=critic, other=other, staff=staff, session=session, pres=pres)


def feed(client, user):
    db.session.refresh(user)
    resp = client.get(f"/calendar/{user.calendar_token}.ics")
    assert resp.status_code == 200
    assert resp.mimetype == "text/calendar"
    return resp.get_data(as_text=True)


def events(body):
    """{summary: component} of the feed's VEVENTs."""
    cal = Calendar.from_ical(body)
    return {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}


def test_feed_has_sessions_with_presentations_and_review_deadline(client, setup):
    body = feed(client, setup["critic"])
    evs = events(body)
    session = evs["CS598: Batching"]
    assert session.decoded("DTSTART") == SESSION_AT
    assert session.decoded("DTEND") == SESSION_AT + timedelta(minutes=80)
    assert str(session["LOCATION"]) == "Room 101"
    assert "Orca: iteration-level scheduling" in str(session["DESCRIPTION"])
    assert "Pat Presenter" in str(session["DESCRIPTION"])

    review = evs["CS598: review due — Orca: iteration-level scheduling"]
    assert review.decoded("DTSTART") == REVIEW_DUE
    assert "CS598: summary due — Orca: iteration-level scheduling" not in evs


def test_extension_replaces_the_default_deadline(client, setup, make):
    extended = datetime(2026, 3, 12, 3, 59, tzinfo=timezone.utc)
    make.extension(setup["pres"], setup["critic"], extended)
    evs = events(feed(client, setup["critic"]))
    [review] = [e for s, e in evs.items() if "review due" in s]
    assert review.decoded("DTSTART") == extended
    assert "20260309T035900Z" not in feed(client, setup["critic"])

    # A classmate without an extension keeps the presentation's deadline.
    [other] = [e for s, e in events(feed(client, setup["other"])).items() if "review due" in s]
    assert other.decoded("DTSTART") == REVIEW_DUE


def test_authors_get_no_review_deadline_summary_group_gets_its_deadline(client, setup):
    presenter = events(feed(client, setup["presenter"]))
    assert not any("review due" in s for s in presenter)
    assert not any("summary due" in s for s in presenter)

    writer = events(feed(client, setup["writer"]))
    assert not any("review due" in s for s in writer)
    summary = writer["CS598: summary due — Orca: iteration-level scheduling"]
    assert summary.decoded("DTSTART") == datetime(2026, 3, 10, 16, 0, tzinfo=timezone.utc)


def test_staff_feed_has_sessions_but_no_personal_deadlines(client, setup):
    evs = events(feed(client, setup["staff"]))
    assert "CS598: Batching" in evs
    assert not any("due" in s for s in evs)


def test_only_the_users_own_courses(client, setup, make):
    elsewhere = make.course(code="EE400")
    make.session(elsewhere, title="Other course session")
    evs = events(feed(client, setup["critic"]))
    assert not any("EE400" in s for s in evs)


@pytest.mark.parametrize("who", ["critic", "other", "presenter", "writer", "staff"])
def test_no_review_content_scores_or_counts(client, setup, clock, who):
    clock.to(REVIEW_DUE + timedelta(days=1))  # even after release
    body = feed(client, setup[who])
    unfolded = body.replace("\r\n ", "")
    assert "zebra-marmalade" not in unfolded
    assert "secret phrase" not in unfolded
    assert "Clear writing" not in unfolded and "Few baselines" not in unfolded
    lowered = unfolded.lower()
    for word in ("score", "reviewer", "submitted", "reviews", "confidence"):
        assert word not in lowered


def test_unknown_token_is_404(client, setup):
    assert client.get("/calendar/not-a-real-token.ics").status_code == 404


def test_calendar_page_shows_url_and_regenerate_invalidates_old(client, setup, login_as):
    user = setup["critic"]
    old = user.calendar_token
    browser = login_as(user)
    page = browser.get("/calendar").get_data(as_text=True)
    assert f"/calendar/{old}.ics" in page

    resp = browser.post("/calendar/regenerate")
    assert resp.status_code == 302
    db.session.refresh(user)
    assert user.calendar_token != old
    assert client.get(f"/calendar/{old}.ics").status_code == 404
    assert client.get(f"/calendar/{user.calendar_token}.ics").status_code == 200
    assert f"/calendar/{user.calendar_token}.ics" in browser.get("/calendar").get_data(as_text=True)


def test_calendar_page_needs_login(client):
    resp = client.get("/calendar")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]

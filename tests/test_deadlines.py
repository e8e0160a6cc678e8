"""Review deadlines in the course's zone, across daylight-saving changes, to the second."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from core.extensions import db
from models import Extension, Review
from core.timeutil import default_review_deadline, format_local, local_to_utc, parse_local_input, to_local_input

NY = "America/New_York"
UTC = timezone.utc


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --------------------------------------------------------------------------- the default deadline

@pytest.mark.parametrize(
    "session_start, zone, expected_utc, shown",
    [
        pytest.param(
            utc(2026, 3, 9, 18, 0), NY, utc(2026, 3, 9, 3, 59), "Sun 8 Mar 2026, 23:59 EDT",
            id="monday-after-spring-forward",
        ),
        pytest.param(
            utc(2026, 3, 8, 19, 0), NY, utc(2026, 3, 8, 4, 59), "Sat 7 Mar 2026, 23:59 EST",
            id="sunday-of-spring-forward",
        ),
        pytest.param(
            utc(2026, 3, 3, 19, 0), NY, utc(2026, 3, 3, 4, 59), "Mon 2 Mar 2026, 23:59 EST",
            id="winter",
        ),
        pytest.param(
            utc(2026, 11, 2, 19, 0), NY, utc(2026, 11, 2, 4, 59), "Sun 1 Nov 2026, 23:59 EST",
            id="monday-after-fall-back",
        ),
        pytest.param(
            utc(2026, 11, 1, 18, 0), NY, utc(2026, 11, 1, 3, 59), "Sat 31 Oct 2026, 23:59 EDT",
            id="sunday-of-fall-back",
        ),
        pytest.param(
            utc(2026, 3, 30, 12, 0), "Europe/Berlin", utc(2026, 3, 29, 21, 59), "Sun 29 Mar 2026, 23:59 CEST",
            id="berlin-after-spring-forward",
        ),
        pytest.param(
            utc(2026, 3, 9, 18, 0), "UTC", utc(2026, 3, 8, 23, 59), "Sun 8 Mar 2026, 23:59 UTC",
            id="utc-course",
        ),
    ],
)
def test_default_review_deadline_is_2359_course_time_the_day_before(session_start, zone, expected_utc, shown):
    deadline = default_review_deadline(session_start, zone)
    assert deadline == expected_utc
    assert format_local(deadline, zone) == shown


def test_an_evening_session_counts_its_local_day():
    """20:00 EST on Mon 2 Mar is already Tue 3 Mar in UTC; the deadline follows the local day."""
    session = utc(2026, 3, 3, 1, 0)  # Mon 2 Mar 2026, 20:00 EST
    assert default_review_deadline(session, NY) == utc(2026, 3, 2, 4, 59)  # Sun 1 Mar 23:59 EST


def test_the_day_before_a_dst_change_is_not_24_hours_long():
    monday = default_review_deadline(utc(2026, 3, 9, 18, 0), NY)
    sunday = default_review_deadline(utc(2026, 3, 8, 18, 0), NY)
    assert monday - sunday == timedelta(hours=23)
    assert default_review_deadline(utc(2026, 11, 2, 18, 0), NY) - default_review_deadline(
        utc(2026, 11, 1, 18, 0), NY
    ) == timedelta(hours=25)


# --------------------------------------------------------------------------- typed local times


@pytest.mark.parametrize(
    "typed, expected",
    [
        pytest.param("2026-03-08T23:59", utc(2026, 3, 9, 3, 59), id="edt"),
        pytest.param("2026-03-07T23:59", utc(2026, 3, 8, 4, 59), id="est"),
        pytest.param("2026-11-01T23:59", utc(2026, 11, 2, 4, 59), id="est-after-fall-back"),
        pytest.param("2026-11-01T01:30", utc(2026, 11, 1, 5, 30), id="ambiguous-hour-takes-the-first"),
    ],
)
def test_datetime_local_input_is_read_in_the_course_zone(typed, expected):
    assert parse_local_input(typed, NY) == expected


@pytest.mark.parametrize("instant", [utc(2026, 3, 9, 3, 59), utc(2026, 3, 8, 4, 59), utc(2026, 11, 2, 4, 59)])
def test_datetime_local_round_trip(instant):
    assert parse_local_input(to_local_input(instant, NY), NY) == instant


# --------------------------------------------------------------------------- the deadline instant over HTTP

GOOD = {
    "answer_summary": "Summary.",
    "answer_strengths": "Strengths.",
    "answer_weaknesses": "Weaknesses.",
    "score": "3",
    "confidence": "3",
    "pledge": "y",
    "action": "submit",
}


@pytest.fixture
def dst(app, make):
    """A New York course whose session is Mon 9 March 2026, the day after the clocks change."""
    course = make.course(timezone=NY)
    session = make.session(course, starts_at=utc(2026, 3, 9, 18, 0))
    deadline = default_review_deadline(session.starts_at, NY)
    critics = [make.member(course, name=f"Critic {i}") for i in range(3)]
    presentation = make.presentation(course, review_deadline=deadline, session=session)
    base = f"/courses/{course.id}/presentations/{presentation.id}"
    return {
        "course": course,
        "presentation": presentation,
        "deadline": deadline,
        "critics": critics,
        "form": base + "/review",
        "list": base + "/reviews",
    }


def _review(presentation, user) -> Review | None:
    db.session.expire_all()
    return db.session.scalar(
        select(Review).where(Review.presentation_id == presentation.id, Review.author_id == user.id)
    )


def test_form_shows_the_deadline_in_edt_with_a_countdown(dst, login_as, clock):
    page = login_as(dst["critics"][0]).get(dst["form"]).get_data(as_text=True)
    assert dst["deadline"] == utc(2026, 3, 9, 3, 59)
    assert "Sun 8 Mar 2026, 23:59 EDT" in page
    assert 'data-deadline="2026-03-09T03:59:00Z"' in page
    assert "America/New_York" in page
    assert "Late policy: after your deadline, reviews are not accepted." in page
    assert "grace period" not in page  # none unless the course states one


def test_form_names_est_for_a_winter_deadline(app, make, login_as, clock):
    course = make.course(timezone=NY)
    critic = make.member(course)
    presentation = make.presentation(course, review_deadline=utc(2026, 3, 3, 4, 59))
    page = login_as(critic).get(f"/courses/{course.id}/presentations/{presentation.id}/review").get_data(as_text=True)
    assert "Mon 2 Mar 2026, 23:59 EST" in page


@pytest.mark.parametrize("late_policy", ["refuse", "accept"])
def test_submission_at_the_deadline_is_on_time_and_one_second_later_is_not(dst, login_as, clock, late_policy):
    dst["course"].late_policy = late_policy
    db.session.commit()
    on_time, late = dst["critics"][0], dst["critics"][1]
    clients = {u.id: login_as(u) for u in (on_time, late)}

    clock.to(dst["deadline"])
    assert clients[on_time.id].post(dst["form"], data=GOOD).status_code == 302
    review = _review(dst["presentation"], on_time)
    assert review.submitted_at == dst["deadline"] and not review.is_late and not review.is_final
    assert [r.kind for r in review.revisions] == ["submit"]

    clock.to(dst["deadline"] + timedelta(seconds=1))
    resp = clients[late.id].post(dst["form"], data=GOOD)
    if late_policy == "accept":
        assert resp.status_code == 302
        review = _review(dst["presentation"], late)
        assert review.is_late and review.submitted_at == dst["deadline"] + timedelta(seconds=1)
        assert [r.kind for r in review.revisions] == ["late-submit"]
    else:
        assert resp.status_code == 403
        assert "Sun 8 Mar 2026, 23:59 EDT" in resp.get_data(as_text=True)
        assert _review(dst["presentation"], late) is None


def test_edit_at_the_deadline_is_accepted_and_one_second_later_refused(dst, login_as, clock):
    critic = dst["critics"][0]
    client = login_as(critic)
    client.post(dst["form"], data=GOOD)
    clock.to(dst["deadline"])
    assert client.post(dst["form"], data={**GOOD, "answer_summary": "At the deadline"}).status_code == 302
    clock.to(dst["deadline"] + timedelta(seconds=1))
    assert client.post(dst["form"], data={**GOOD, "answer_summary": "One second late"}).status_code == 403
    assert _review(dst["presentation"], critic).answers["summary"] == "At the deadline"


def test_release_happens_one_second_after_the_deadline(dst, make, login_as, clock):
    first, second = dst["critics"][0], dst["critics"][1]
    make.review(dst["presentation"], first, submitted_at=dst["deadline"] - timedelta(hours=1))
    make.review(dst["presentation"], second, submitted_at=dst["deadline"] - timedelta(hours=1), text="Second view")
    client = login_as(first)
    clock.to(dst["deadline"])
    assert "Second view" not in client.get(dst["list"]).get_data(as_text=True)
    clock.to(dst["deadline"] + timedelta(seconds=1))
    assert "Second view" in client.get(dst["list"]).get_data(as_text=True)


def test_grace_period_is_shown_and_honoured_to_the_second(dst, login_as, clock):
    dst["course"].grace_minutes = 5
    db.session.commit()
    early, edge, after = dst["critics"]
    closes = dst["deadline"] + timedelta(minutes=5)
    page = login_as(early).get(dst["form"]).get_data(as_text=True)
    assert "grace period of 5 minutes" in page and "Mon 9 Mar 2026, 00:04 EDT" in page
    clock.to(closes)
    assert login_as(edge).post(dst["form"], data=GOOD).status_code == 302
    assert not _review(dst["presentation"], edge).is_late
    clock.to(closes + timedelta(seconds=1))
    assert login_as(after).post(dst["form"], data=GOOD).status_code == 403


def test_extension_typed_across_the_dst_change(dst, make, login_as, clock):
    staff = make.member(dst["course"], "instructor")
    critic = dst["critics"][0]
    resp = login_as(staff).post(
        dst["form"].replace("/review", "/extensions"),
        data={"student": critic.id, "deadline": "2026-03-10T12:00"},
    )
    assert resp.status_code == 302
    assert db.session.scalar(select(Extension.deadline)) == utc(2026, 3, 10, 16, 0)  # 12:00 EDT
    page = login_as(critic).get(dst["form"]).get_data(as_text=True)
    assert "Tue 10 Mar 2026, 12:00 EDT" in page
    assert "Sun 8 Mar 2026, 23:59 EDT" in page  # the presentation's own deadline, for reference
    clock.to(utc(2026, 3, 10, 16, 0))
    assert login_as(critic).post(dst["form"], data=GOOD).status_code == 302
    review = _review(dst["presentation"], critic)
    assert not review.is_late and review.is_final  # on time for her, after the class's release


def test_local_to_utc_follows_the_zone_offset_of_that_day():
    assert local_to_utc(datetime(2026, 3, 8).date(), datetime(2026, 1, 1, 23, 59).time(), NY) == utc(2026, 3, 9, 3, 59)
    assert local_to_utc(datetime(2026, 3, 7).date(), datetime(2026, 1, 1, 23, 59).time(), NY) == utc(2026, 3, 8, 4, 59)

"""Staff integrity pages: access, the critics' status table, similarity flags and the audit log."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from domain import audit
from domain.integrity import summarise
from tests.support.factories import ROLE_INSTRUCTOR, ROLE_TA, T0
from core.extensions import db
from models import AuditEvent
from core.timeutil import format_local

PAYLOAD = "<img src=x onerror=alert(1)>"
COPIED = (
    f"{PAYLOAD} The paper claims that paging the key value cache removes fragmentation, "
    "but the evaluation never isolates the scheduler from the memory manager, so the reported "
    "throughput gains cannot be attributed to either part with any confidence."
)
OWN = (
    "Strong motivation and a convincing prototype, although I would like to see tail latency "
    "figures and a discussion of multi tenant deployments before accepting the claims."
)


@pytest.fixture
def course_setup(make, clock):
    """A course whose presentation's review deadline passed one day before T0."""
    course = make.course()
    staff = make.member(course, ROLE_INSTRUCTOR, name="Prof Ada")
    ta = make.member(course, ROLE_TA, name="Tim TA")
    presenter = make.member(course, name="Pia Presenter")
    presentation = make.presentation(course, review_deadline=T0 - timedelta(days=1), presenters=[presenter])
    return course, staff, ta, presentation


def url(course, presentation=None, audit_log=False):
    if audit_log:
        return f"/courses/{course.id}/integrity/audit"
    if presentation is not None:
        return f"/courses/{course.id}/integrity/presentations/{presentation.id}"
    return f"/courses/{course.id}/integrity"


def page_url(course, presentation, page: str) -> str:
    return {
        "overview": url(course),
        "presentation": url(course, presentation),
        "audit": url(course, audit_log=True),
    }[page]


def critic_row(html: str, user) -> str:
    match = re.search(rf'<tr class="critic-row" id="critic-{user.id}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {user.display_name}"
    return match.group(1)


# --------------------------------------------------------------------------- access


@pytest.mark.parametrize("page", ["overview", "presentation", "audit"])
def test_students_get_403_and_strangers_404(make, login_as, course_setup, page):
    course, staff, ta, presentation = course_setup
    target = page_url(course, presentation, page)
    student = make.member(course)
    stranger = make.user()
    assert login_as(student).get(target).status_code == 403
    assert login_as(stranger).get(target).status_code == 404
    assert login_as(presentation.members[0].user).get(target).status_code == 403  # an author


@pytest.mark.parametrize("page", ["overview", "presentation", "audit"])
def test_instructor_and_ta_see_the_pages_never_stored(login_as, course_setup, page):
    course, staff, ta, presentation = course_setup
    target = page_url(course, presentation, page)
    for user in (staff, ta):
        resp = login_as(user).get(target)
        assert resp.status_code == 200
        assert resp.headers["Cache-Control"] == "no-store"


def test_presentation_of_another_course_is_404(make, login_as, course_setup):
    course, staff, ta, presentation = course_setup
    other_course = make.course()
    other = make.presentation(other_course)
    assert login_as(staff).get(url(course, other)).status_code == 404


def test_anonymous_is_sent_to_login(client, course_setup):
    course, *_ = course_setup
    resp = client.get(url(course))
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


# --------------------------------------------------------------------------- status table


def test_status_table_shows_on_time_late_missing_draft_and_extension(make, login_as, course_setup):
    course, staff, ta, presentation = course_setup
    deadline = presentation.review_deadline
    on_time = make.member(course, name="Olga Ontime")
    late = make.member(course, name="Larry Late")
    missing = make.member(course, name="Mia Missing")
    drafter = make.member(course, name="Dora Draft")
    extended = make.member(course, name="Ezra Extended")
    on_time_at = deadline - timedelta(hours=2)
    late_at = deadline + timedelta(hours=3)
    make.review(presentation, on_time, submitted_at=on_time_at, text=OWN)
    make.review(presentation, late, submitted_at=late_at, text="Late but honest review text.", late=True)
    make.review(presentation, drafter, submitted_at=None, text="SECRET DRAFT WORDS never shown")
    ext_deadline = T0 + timedelta(days=2)
    make.extension(presentation, extended, ext_deadline)

    html = login_as(staff).get(url(course, presentation)).get_data(as_text=True)

    row = critic_row(html, on_time)
    assert "Submitted on time" in row and "Sun 1 Mar 2026, 05:00 EST" in row  # the course's zone
    assert "ticked" in row and "not ticked" not in row
    row = critic_row(html, late)
    assert ">Late<" in row and format_local(late_at, course.timezone) in row
    row = critic_row(html, missing)
    assert "Missing" in row
    # Drafts are private to their writer (V1): staff see "missing", never the draft's text.
    row = critic_row(html, drafter)
    assert "Missing" in row
    assert "SECRET DRAFT WORDS" not in html
    row = critic_row(html, extended)
    assert "Not submitted yet" in row and format_local(ext_deadline, course.timezone) in row
    assert f'id="critic-{presentation.members[0].user_id}"' not in html  # authors do not review


def test_revision_count_and_unticked_pledge(make, login_as, course_setup):
    from models import ReviewRevision

    course, staff, ta, presentation = course_setup
    critic = make.member(course)
    review = make.review(presentation, critic, submitted_at=presentation.review_deadline - timedelta(hours=1))
    review.pledge = False
    for kind in ("submit", "edit", "edit"):
        db.session.add(ReviewRevision(review=review, answers=review.answers, kind=kind))
    db.session.commit()
    row = critic_row(login_as(staff).get(url(course, presentation)).get_data(as_text=True), critic)
    assert "not ticked" in row
    assert re.search(r"<td>3</td>", row)


def test_overview_counts_per_presentation(make, login_as, course_setup):
    course, staff, ta, presentation = course_setup
    deadline = presentation.review_deadline
    a, b, c, d = (make.member(course) for _ in range(4))
    make.review(presentation, a, submitted_at=deadline - timedelta(hours=1), text=COPIED)
    make.review(presentation, b, submitted_at=deadline + timedelta(hours=1), text=COPIED, late=True)
    make.extension(presentation, d, T0 + timedelta(days=1))
    summary = summarise(presentation, staff, T0)
    assert (summary.critics, summary.on_time, summary.late, summary.not_submitted) == (4, 1, 1, 2)
    assert summary.extensions == 1
    assert summary.flags == 1
    html = login_as(staff).get(url(course)).get_data(as_text=True)
    assert url(course, presentation) in html
    assert "1 flagged" in html


# --------------------------------------------------------------------------- similarity flags


def test_staff_see_flagged_pair_with_highlighted_escaped_passages(make, login_as, course_setup):
    course, staff, ta, presentation = course_setup
    deadline = presentation.review_deadline
    alice = make.member(course, name="Alice Able")
    bob = make.member(course, name="Bob Baker")
    carol = make.member(course, name="Carol Cole")
    make.review(presentation, alice, submitted_at=deadline - timedelta(hours=5), text=COPIED)
    make.review(presentation, bob, submitted_at=deadline - timedelta(hours=1), text=COPIED + " " + OWN)
    make.review(presentation, carol, submitted_at=deadline - timedelta(hours=2), text=OWN.upper()[:40] + " different.")

    html = login_as(ta).get(url(course, presentation)).get_data(as_text=True)
    flags = re.findall(r'<article class="card sim-flag".*?</article>', html, re.S)
    assert len(flags) == 1
    flag = flags[0]
    # The boilerplate answers after the copied passage differ, so the score is high but not 1.0.
    assert int(re.search(r'badge bad">(\d+)%<', flag).group(1)) >= 85
    assert "Alice Able" in flag and "Bob Baker" in flag
    assert "Carol Cole" not in flag
    marks = re.findall(r"<mark>(.*?)</mark>", flag, re.S)
    assert len(marks) == 2  # one passage on each side
    assert all("paging the key value cache removes fragmentation" in m for m in marks)
    # Markup in a review is text: escaped inside the page, never live.
    # The shared passage starts at the first word, so the escaped "<" stays outside the mark.
    assert flag.count("&lt;<mark>img src=x onerror=alert(1)&gt; The paper claims") == 2
    assert PAYLOAD not in html


def test_review_against_abstract_flag(make, login_as, course_setup):
    course, staff, ta, presentation = course_setup
    presentation.paper.abstract = (
        "We present a serving system that pages the attention cache into fixed blocks, "
        "cutting memory waste to near zero and raising throughput two to four times."
    )
    db.session.commit()
    critic = make.member(course, name="Paste Person")
    make.review(presentation, critic, submitted_at=T0 - timedelta(days=2), text="Summary. " + presentation.paper.abstract)
    html = login_as(staff).get(url(course, presentation)).get_data(as_text=True)
    flag = re.search(r'<article class="card sim-flag".*?</article>', html, re.S).group(0)
    assert "Paste Person and Abstract of the paper" in flag
    assert "<mark>cutting memory waste to near zero" in flag or "cutting memory waste to near zero" in "".join(
        re.findall(r"<mark>(.*?)</mark>", flag, re.S)
    )


def test_no_flags_when_reviews_are_independent(make, login_as, course_setup):
    course, staff, ta, presentation = course_setup
    make.review(presentation, make.member(course), submitted_at=T0 - timedelta(days=2), text=COPIED)
    make.review(presentation, make.member(course), submitted_at=T0 - timedelta(days=2), text=OWN)
    html = login_as(staff).get(url(course, presentation)).get_data(as_text=True)
    assert "No pair reaches the threshold." in html
    assert "<mark>" not in html


# --------------------------------------------------------------------------- audit log


@pytest.fixture
def events(make, course_setup):
    """130 events: 70 for Sam (alternating kinds), 60 for Uma, one a minute before T0."""
    course, staff, ta, presentation = course_setup
    sam = make.member(course, name="Sam Student")
    uma = make.member(course, name="Uma User")
    for i in range(130):
        who = sam if i % 13 < 7 else uma
        kind = "review.submit" if i % 2 else "review.edit"
        event = audit.record(kind, course.id, who.id, presentation_id=presentation.id, n=i)
        event.created_at = T0 - timedelta(minutes=130 - i)
    audit.record(
        "extension.grant",
        course.id,
        staff.id,
        subject_id=sam.id,
        presentation_id=presentation.id,
        n=999,
        new_deadline="2026-03-05T04:59:00Z",
        previous=None,
        review_ids=[3, 4],
    )
    db.session.commit()
    return course, staff, sam, uma


def event_numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"<dt>n</dt><dd>(\d+)</dd>", html)]


def test_audit_log_pages_newest_first(login_as, events):
    course, staff, sam, uma = events
    client = login_as(staff)
    first = client.get(url(course, audit_log=True)).get_data(as_text=True)
    numbers = event_numbers(first)
    assert numbers == [999] + list(range(129, 80, -1))
    assert "131 events" in first
    assert "Page 1 of 3" in first
    third = client.get(url(course, audit_log=True) + "?page=3").get_data(as_text=True)
    assert event_numbers(third) == list(range(30, -1, -1))
    assert "Previous page" in third and "Next page" not in third


def test_audit_log_filters_by_person_as_actor_or_subject(login_as, events):
    course, staff, sam, uma = events
    html = login_as(staff).get(url(course, audit_log=True) + f"?person={sam.id}").get_data(as_text=True)
    sams = [i for i in range(130) if i % 13 < 7]
    assert "71 events" in html
    assert event_numbers(html) == [999] + sorted(sams, reverse=True)[:49]
    assert "Uma User</td>" not in html
    page2 = login_as(staff).get(url(course, audit_log=True) + f"?person={sam.id}&page=2").get_data(as_text=True)
    assert event_numbers(page2) == sorted(sams, reverse=True)[49:]
    assert f"person={sam.id}" in html  # the pager keeps the filter


def test_audit_log_filters_by_kind_and_person(login_as, events):
    course, staff, sam, uma = events
    html = login_as(staff).get(url(course, audit_log=True) + f"?person={uma.id}&kind=review.submit").get_data(as_text=True)
    expected = [i for i in range(129, -1, -1) if not i % 13 < 7 and i % 2]
    assert event_numbers(html) == expected
    assert f'<option selected value="{uma.id}">' in html or f'<option value="{uma.id}" selected' in html


def test_audit_log_rejects_person_outside_course(make, login_as, events):
    course, staff, sam, uma = events
    outsider = make.user()
    html = login_as(staff).get(url(course, audit_log=True) + f"?person={outsider.id}").get_data(as_text=True)
    assert "Not a valid choice" in html
    assert "131 events" in html  # the filter is not applied


def test_audit_log_shows_times_in_course_zone(login_as, events):
    course, staff, sam, uma = events
    html = login_as(staff).get(url(course, audit_log=True) + "?kind=extension.grant").get_data(as_text=True)
    event = db.session.query(AuditEvent).filter_by(kind="extension.grant").one()
    assert format_local(event.created_at, course.timezone) in html
    assert "Prof Ada" in html and "Sam Student" in html
    assert "<dt>new deadline</dt><dd>Wed 4 Mar 2026, 23:59 EST</dd>" in html
    assert "<dt>previous</dt><dd>—</dd>" in html
    assert "<dt>review ids</dt><dd>3, 4</dd>" in html

"""Course search: papers, and only the reviews the policy lets the viewer read (V1–V9)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from domain.search import query_terms, snippet
from tests.support.factories import ROLE_INSTRUCTOR, T0
from core.extensions import db
from models import AuditEvent

SECRET = "zebra-quartz hypothesis"
DEADLINE = T0 + timedelta(days=1)


@pytest.fixture
def seminar(make, clock):
    """Alice and Bob critique a presentation due tomorrow; Bob's review holds the secret phrase."""
    course = make.course()
    prof = make.member(course, ROLE_INSTRUCTOR, name="Prof Ada")
    alice = make.member(course, name="Alice Able")
    bob = make.member(course, name="Bob Baker")
    presenter = make.member(course, name="Pia Presenter")
    paper = make.paper(course, title="Orca: iteration-level scheduling", abstract="Continuous batching of requests.")
    presentation = make.presentation(course, review_deadline=DEADLINE, presenters=[presenter], paper=paper)
    bob_review = make.review(
        presentation, bob, submitted_at=T0 - timedelta(hours=1), text=f"My key worry is the {SECRET} in section 4."
    )
    return course, prof, alice, bob, presenter, presentation, bob_review


def search(client, course, q, **params):
    return client.get(f"/courses/{course.id}/search", query_string={"q": q, **params})


def counts(html: str) -> tuple[int, int]:
    match = re.search(r"(\d+) papers? and\s+(\d+) reviews? found", html)
    assert match, "no result counts on the page"
    return int(match.group(1)), int(match.group(2))


def test_student_before_release_finds_nothing_and_gets_no_count_hint(login_as, seminar):
    course, prof, alice, bob, presenter, presentation, bob_review = seminar
    client = login_as(alice)
    resp = search(client, course, "zebra-quartz")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "zebra" not in html.lower().replace('value="zebra-quartz"', "")
    assert counts(html) == (0, 0)
    assert "Bob Baker" not in html and "Reviewer A" not in html
    # The same answer as for a phrase that exists nowhere.
    nowhere = search(client, course, "nonexistent-phrase").get_data(as_text=True)
    assert counts(nowhere) == (0, 0)


def test_student_who_submitted_finds_it_after_release_under_a_pseudonym(make, login_as, clock, seminar):
    course, prof, alice, bob, presenter, presentation, bob_review = seminar
    make.review(presentation, alice, submitted_at=T0, text="Alice's own independent thoughts.")
    client = login_as(alice)
    assert counts(search(client, course, SECRET).get_data(as_text=True)) == (0, 0)  # submitted, not released

    clock.to(DEADLINE + timedelta(seconds=1))
    html = search(client, course, SECRET).get_data(as_text=True)
    assert counts(html) == (0, 1)
    assert "Reviewer A" in html
    assert "Bob Baker" not in html
    assert "<mark>zebra-quartz</mark> <mark>hypothesis</mark>" in html
    assert "Orca: iteration-level scheduling" in html


def test_student_after_release_without_own_review_and_open_window_sees_nothing(make, login_as, clock, seminar):
    course, prof, alice, bob, presenter, presentation, bob_review = seminar
    make.extension(presentation, alice, DEADLINE + timedelta(days=3))
    clock.to(DEADLINE + timedelta(hours=1))
    html = search(login_as(alice), course, SECRET).get_data(as_text=True)
    assert counts(html) == (0, 0)
    assert "Reviewer A" not in html


def test_author_finds_it_after_release(login_as, clock, seminar):
    course, prof, alice, bob, presenter, presentation, bob_review = seminar
    client = login_as(presenter)
    assert counts(search(client, course, SECRET).get_data(as_text=True)) == (0, 0)
    clock.to(DEADLINE + timedelta(seconds=1))
    html = search(client, course, SECRET).get_data(as_text=True)
    assert counts(html) == (0, 1) and "Reviewer A" in html


def test_staff_find_it_with_the_writers_name_before_release(login_as, seminar):
    course, prof, alice, bob, presenter, presentation, bob_review = seminar
    html = search(login_as(prof), course, "ZEBRA-quartz").get_data(as_text=True)
    assert counts(html) == (0, 1)
    assert "Bob Baker" in html
    assert "Reviewer A" not in html


def test_writer_finds_own_review_and_own_draft_but_no_one_else_finds_a_draft(make, login_as, seminar):
    course, prof, alice, bob, presenter, presentation, bob_review = seminar
    make.review(presentation, alice, submitted_at=None, text="draft about the pelican-marble effect")
    html = search(login_as(alice), course, "pelican-marble").get_data(as_text=True)
    assert counts(html) == (0, 1) and ">You<" in html and ">draft<" in html
    assert counts(search(login_as(prof), course, "pelican-marble").get_data(as_text=True)) == (0, 0)
    assert counts(search(login_as(bob), course, SECRET).get_data(as_text=True)) == (0, 1)


def test_stranger_gets_404_and_anonymous_goes_to_login(make, login_as, client, seminar):
    course, *_ = seminar
    assert search(login_as(make.user()), course, SECRET).status_code == 404
    resp = search(client, course, SECRET)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_search_page_is_never_stored(login_as, seminar):
    course, prof, *_ = seminar
    assert search(login_as(prof), course, SECRET).headers["Cache-Control"] == "no-store"
    assert login_as(prof).get(f"/courses/{course.id}/search").headers["Cache-Control"] == "no-store"


def test_query_shorter_than_two_characters_is_refused(login_as, seminar):
    course, prof, *_ = seminar
    html = search(login_as(prof), course, " z ").get_data(as_text=True)
    assert "Type between 2 and 200 characters." in html
    assert "found" not in html


def test_first_visit_shows_the_form_without_errors(login_as, seminar):
    course, prof, *_ = seminar
    html = login_as(prof).get(f"/courses/{course.id}/search").get_data(as_text=True)
    assert 'name="q"' in html and "found" not in html and 'role="alert"' not in html


def test_papers_match_title_authors_topic_and_abstract_with_every_word(make, login_as, seminar):
    course, prof, alice, *_ = seminar
    make.paper(course, title="Splitwise", authors="P. Patel", topic="Scheduling", abstract="Phase splitting for LLM inference.")
    make.paper(course, title="Hidden proposal", abstract="Phase splitting too.", status="proposed")
    client = login_as(alice)
    assert counts(search(client, course, "splitting patel").get_data(as_text=True)) == (1, 0)
    assert counts(search(client, course, "scheduling").get_data(as_text=True)) == (2, 0)  # topic and title
    assert counts(search(client, course, "splitting").get_data(as_text=True)) == (1, 0)  # proposals are not listed
    html = search(client, course, "continuous").get_data(as_text=True)
    assert "<mark>Continuous</mark> batching of requests." in html


def test_results_are_paged(make, login_as, seminar):
    course, prof, *_ = seminar
    for i in range(25):
        make.paper(course, title=f"Speculative decoding {i:02d}")
    client = login_as(prof)
    first = search(client, course, "speculative").get_data(as_text=True)
    assert counts(first) == (25, 0)
    assert first.count('class="card search-hit"') == 20 and "Page 1 of 2" in first
    second = search(client, course, "speculative", page=2).get_data(as_text=True)
    assert second.count('class="card search-hit"') == 5 and "Previous page" in second
    assert counts(second) == (25, 0)


def test_markup_in_a_review_is_escaped_in_results(make, login_as, seminar):
    course, prof, alice, bob, presenter, presentation, bob_review = seminar
    carol = make.member(course)
    make.review(presentation, carol, submitted_at=T0, text='<img src=x onerror=alert(1)> marmot-flag')
    html = search(login_as(prof), course, "marmot-flag").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt; <mark>marmot-flag</mark>" in html
    assert "<img src=x" not in html


def test_snippet_cuts_long_text_at_spaces_around_the_first_match():
    text = ("word " * 60) + "needle " + ("tail " * 60)
    cut = snippet(text, ["needle"], radius=20)
    joined = "".join(s.text for s in cut.segments)
    assert cut.cut_before and cut.cut_after
    assert joined.startswith("word") and joined.endswith("tail")
    assert [s.text for s in cut.segments if s.shared] == ["needle"]


def test_query_terms_are_distinct_and_case_folded():
    assert query_terms("  KV kv Cache  ") == ["kv", "cache"]


def test_a_student_shown_others_reviews_is_audited_staff_are_not(make, login_as, clock, seminar):
    course, prof, alice, bob, presenter, presentation, bob_review = seminar
    make.review(presentation, alice, submitted_at=T0, text="Alice's own independent thoughts.")
    clock.to(DEADLINE + timedelta(seconds=1))
    search(login_as(prof), course, SECRET)
    search(login_as(alice), course, "Alice's own")  # only her own review: nothing to audit
    assert db.session.query(AuditEvent).filter_by(kind="review.view_others").count() == 0
    html = search(login_as(alice), course, SECRET).get_data(as_text=True)
    assert f'/courses/{course.id}/reviews/{bob_review.id}"' in html
    event = db.session.query(AuditEvent).filter_by(kind="review.view_others").one()
    assert (event.actor_id, event.presentation_id) == (alice.id, presentation.id)
    assert event.detail == {"via": "search", "review_ids": [bob_review.id]}


def test_a_search_records_what_it_showed_in_one_commit(make, login_as, clock, seminar):
    """A GET that audits what it showed writes once: one event per presentation, one commit."""
    course, prof, alice, bob, presenter, presentation, bob_review = seminar
    second = make.presentation(course, review_deadline=DEADLINE, presenters=[make.member(course)])
    second_review = make.review(second, bob, submitted_at=T0, text=f"Again the {SECRET}, now in section 2.")
    for each in (presentation, second):
        make.review(each, alice, submitted_at=T0, text="Alice's own independent thoughts.")
    clock.to(DEADLINE + timedelta(seconds=1))
    client = login_as(alice)
    commits = []

    def count(session):
        commits.append(session)

    event.listen(Session, "after_commit", count)
    try:
        search(client, course, "Alice's own")  # only her own reviews: nothing to record
        assert commits == []
        assert counts(search(client, course, SECRET).get_data(as_text=True)) == (0, 2)
        assert len(commits) == 1
    finally:
        event.remove(Session, "after_commit", count)
    events = db.session.query(AuditEvent).filter_by(kind="review.view_others").order_by(AuditEvent.id).all()
    assert {(e.presentation_id, tuple(e.detail["review_ids"])) for e in events} == {
        (presentation.id, (bob_review.id,)),
        (second.id, (second_review.id,)),
    }

"""Reviews in a real browser, on the demo course: write with autosave, submit with the pledge,
see nothing of others before release, read pseudonymous reviews after it, and the instructor's
view of the near-copy pair.

The server runs in real time, so "before release" uses the demo's open presentation and
"after release" its released one.
"""
import json
import re

import pytest
from playwright.sync_api import expect

from demo import course as demo

pytestmark = pytest.mark.e2e

TITLES = {paper.key: paper.title for paper in demo.PAPERS}
OPEN_TITLE = TITLES[demo.OPEN.paper]
RELEASED_TITLE = TITLES[demo.RELEASED.paper]
DRAFT = "Separating prefill from decoding removes interference, but the cache has to travel."


def not_started_critic_of_open() -> int:
    """A student who reviews the open presentation and has neither a draft nor an extension."""
    busy = set(demo.OPEN.presenters + demo.OPEN.summarizers)
    busy |= {r.student for r in demo.OPEN_SUBMITTED + demo.OPEN_DRAFTS} | {demo.EXTENSION[0]}
    return min(n for n in range(1, len(demo.STUDENT_NAMES) + 1) if n not in busy)


def presentation_id(server, title: str) -> int:
    return server.one(
        "SELECT presentations.id FROM presentations JOIN papers ON papers.id = presentations.paper_id "
        "WHERE papers.title = ?",
        title,
    )


def review_row(server, student: int, title: str):
    rows = server.query(
        "SELECT reviews.id, reviews.status, reviews.answers FROM reviews "
        "JOIN users ON users.id = reviews.author_id WHERE users.email = ? AND reviews.presentation_id = ?",
        demo.student_email(student),
        presentation_id(server, title),
    )
    return rows[0] if rows else None


def main_text(page) -> str:
    return page.get_by_role("main").inner_text()


def test_critic_writes_with_autosave_submits_and_sees_no_other_review(new_person, live_server):
    student = not_started_critic_of_open()
    assert review_row(live_server, student, OPEN_TITLE) is None
    person = new_person(demo.student_email(student))
    page = person.page
    course_id = live_server.one("SELECT id FROM courses")

    person.goto(f"/courses/{course_id}/reviews")
    person.screenshot("reviews-to-write")
    page.get_by_role("link", name=re.compile("Write your review of “" + re.escape(OPEN_TITLE))).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(OPEN_TITLE)

    # A draft is saved by itself once the writer moves on, and says so.
    page.get_by_label("Summary", exact=True).fill(DRAFT)
    page.get_by_label("Strengths", exact=True).focus()
    expect(page.locator("#draft-status")).to_contain_text("Draft saved at")
    person.screenshot("draft-autosaved")
    stored_id, status, answers = review_row(live_server, student, OPEN_TITLE)
    assert status == "draft" and json.loads(answers)["summary"] == DRAFT

    page.reload()
    expect(page.get_by_label("Summary", exact=True)).to_have_value(DRAFT)

    page.get_by_label("Strengths", exact=True).fill("A clean separation of the two phases, measured well.")
    page.get_by_label("Weaknesses", exact=True).fill("The cache transfer on slow links is only sketched.")
    page.get_by_label("Overall score").select_option("4")
    page.get_by_label("Confidence").select_option("3")
    page.get_by_role("button", name="Submit review").click()
    expect(page.get_by_role("alert").first).to_be_visible()  # the pledge is required
    assert review_row(live_server, student, OPEN_TITLE)[1] == "draft"
    # Pressing Submit straight after a change sends the fields with the submission only: no
    # draft save beside it that could land after the review is submitted and be refused.
    page.get_by_label(re.compile("I wrote this review on my own")).check()
    draft_posts = []
    page.on("request", lambda r: draft_posts.append(r.url) if r.url.endswith("/review/draft") else None)
    page.get_by_role("button", name="Submit review").click()
    page.wait_for_url(re.compile(rf"/reviews/{stored_id}$"))
    assert draft_posts == []
    expect(page.get_by_text("Your review was submitted at")).to_be_visible()
    person.screenshot("submitted")
    assert review_row(live_server, student, OPEN_TITLE)[1] == "submitted"

    # Before release: no other review's text, writer, count or existence.
    open_id = presentation_id(live_server, OPEN_TITLE)
    person.goto(f"/courses/{course_id}/presentations/{open_id}/reviews")
    person.screenshot("others-before-release")
    text = main_text(page)
    for other in demo.OPEN_SUBMITTED + demo.OPEN_DRAFTS:
        assert other.summary not in text
        assert demo.STUDENT_NAMES[other.student - 1] not in text
    assert "Reviewer" not in text
    assert not re.search(r"\d+\s+reviews?\b", text)

    other = demo.OPEN_SUBMITTED[0]
    other_id = review_row(live_server, other.student, OPEN_TITLE)[0]
    hidden = f"/courses/{course_id}/reviews/{other_id}"
    person.expect_error_at(hidden)
    assert person.goto(hidden).status == 404
    assert other.summary not in main_text(page)
    person.screenshot("others-review-404")
    assert page.request.get(live_server.url + f"/api/courses/{course_id}/reviews/{other_id}").status == 404
    person.assert_no_problems()


def test_on_time_writer_reads_released_reviews_under_pseudonyms(new_person, live_server):
    writer = demo.RELEASED_REVIEWS[0]
    assert writer.hours > 0  # submitted before the deadline
    person = new_person(demo.student_email(writer.student))
    page = person.page
    course_id = live_server.one("SELECT id FROM courses")

    person.goto(f"/courses/{course_id}/reviews")
    page.get_by_role("link", name=re.compile("Read reviews of “" + re.escape(RELEASED_TITLE))).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(RELEASED_TITLE)
    person.screenshot("released-reviews")

    others = [r for r in demo.RELEASED_REVIEWS if r.student != writer.student]
    labels = page.locator("main article h2").all_inner_texts()
    assert len(labels) == len(others)
    assert all(re.fullmatch(r"Reviewer [A-Z]+", label.strip()) for label in labels)
    assert len(set(labels)) == len(labels)
    text = main_text(page)
    assert all(r.summary in text for r in others)
    assert writer.summary not in text  # one's own review is linked, not listed among the others
    for number, name in enumerate(demo.STUDENT_NAMES, 1):
        if number != writer.student:
            assert name not in text
    person.assert_no_problems()


def test_instructor_sees_the_near_copy_pair_with_shared_passages_marked(new_person, live_server):
    person = new_person(demo.INSTRUCTOR[0])
    page = person.page
    course_id = live_server.one("SELECT id FROM courses")

    person.goto(f"/courses/{course_id}/integrity")
    person.screenshot("integrity-overview")
    page.get_by_role("link", name=RELEASED_TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(RELEASED_TITLE)
    person.screenshot("integrity-presentation")

    flags = page.locator("article.sim-flag")
    expect(flags).to_have_count(1)
    heading = flags.get_by_role("heading", level=3).inner_text()
    assert demo.STUDENT_NAMES[4] in heading and demo.STUDENT_NAMES[6] in heading  # Mei Chen, Hannah Kim
    sides = flags.locator(".sim-side")
    expect(sides).to_have_count(2)
    for side in sides.all():
        expect(side.locator("mark").first).to_be_visible()
    shared = flags.locator("mark").all_inner_texts()
    assert any("how little reserved memory is actually used" in passage for passage in shared)
    flags.first.scroll_into_view_if_needed()
    person.screenshot("near-copy-pair")
    person.assert_no_problems()

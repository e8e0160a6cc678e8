"""Reviews over HTTP: drafts, submission, edits, late work, release, pseudonyms, staff tools."""
from __future__ import annotations

import csv
import io
import re
import threading
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from flask import render_template
from flask_login import login_user
from sqlalchemy import delete, event, func, select, update

from core.timeutil import now_utc
from domain import policy, reviewing
from domain.grades import posting
from domain.grades.setup import ensure_gradebook
from core.extensions import db
from models import AuditEvent, Extension, Review, ReviewRevision
from tests.support.factories import T0

DEADLINE = T0 + timedelta(days=1)  # Tue 3 Mar 2026, 12:00 UTC = 07:00 EST
XSS = "<img src=x onerror=alert(1)>"
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"

GOOD = {
    "answer_summary": "It batches requests on the fly.",
    "answer_strengths": "Clear evaluation.",
    "answer_weaknesses": "No tail-latency numbers.",
    "answer_questions": "Why not preempt?",
    "score": "4",
    "confidence": "3",
    "pledge": "y",
}


@pytest.fixture
def s(app, make):
    """A seminar: staff, a presenting and a summary author, three critics, one presentation."""
    course = make.course(timezone="America/New_York")
    people = dict(
        instructor=make.member(course, "instructor", "Ines Instructor"),
        ta=make.member(course, "ta", "Theo TA"),
        author=make.member(course, name="Ada Author"),
        summarizer=make.member(course, name="Sam Summary"),
        alice=make.member(course, name="Alice Critic"),
        bob=make.member(course, name="Bob Critic"),
        carol=make.member(course, name="Carol Critic"),
    )
    presentation = make.presentation(
        course, review_deadline=DEADLINE, presenters=[people["author"]], summarizers=[people["summarizer"]]
    )
    base = f"/courses/{course.id}/presentations/{presentation.id}"
    return SimpleNamespace(
        course=course,
        presentation=presentation,
        form=base + "/review",
        draft=base + "/review/draft",
        list=base + "/reviews",
        api_list=f"/api{base}/reviews",
        staff=base + "/reviews/staff",
        csv=base + "/reviews.csv",
        course_csv=f"/courses/{course.id}/reviews.csv",
        extensions=base + "/extensions",
        mine=f"/courses/{course.id}/reviews",
        **people,
    )


def detail_url(s, review_id: int, api: bool = False) -> str:
    return f"{'/api' if api else ''}/courses/{s.course.id}/reviews/{review_id}"


def submit(client, s, **fields):
    """POST the review form with the submit button."""
    return client.post(s.form, data={**GOOD, "action": "submit", **fields})


def review_of(s, user) -> Review | None:
    db.session.expire_all()
    return db.session.scalar(
        select(Review).where(Review.presentation_id == s.presentation.id, Review.author_id == user.id)
    )


def audit_kinds(user=None) -> list[str]:
    query = select(AuditEvent.kind).order_by(AuditEvent.id)
    if user is not None:
        query = query.where(AuditEvent.actor_id == user.id)
    return list(db.session.scalars(query))


def text(resp) -> str:
    return resp.get_data(as_text=True)


# --------------------------------------------------------------------------- drafts


def test_autosaved_draft_shows_on_reload(s, login_as, clock):
    alice = login_as(s.alice)
    resp = alice.post(s.draft, json={"answer_summary": "First thoughts on batching.", "score": "3"})
    assert resp.status_code == 200
    assert resp.json["message"] == "Draft saved at 07:00"  # 12:00 UTC in New York (EST)
    assert resp.json["saved_at"] == "2026-03-02T12:00:00Z"

    page = alice.get(s.form)
    assert page.status_code == 200
    assert "First thoughts on batching." in text(page)
    assert re.search(r'<option selected value="3">|<option value="3" selected>', text(page))
    review = review_of(s, s.alice)
    assert review.status == "draft" and review.pseudonym_no is None and review.revisions == []


def test_autosave_keeps_only_the_latest_draft(s, login_as, clock):
    alice = login_as(s.alice)
    alice.post(s.draft, json={"answer_summary": "one"})
    clock.to(T0 + timedelta(minutes=3))
    resp = alice.post(s.draft, json={"answer_summary": "two"})
    assert resp.json["message"] == "Draft saved at 07:03"
    assert db.session.scalar(select(func.count(Review.id))) == 1
    assert review_of(s, s.alice).answers["summary"] == "two"


def test_save_draft_button_works_without_javascript(s, login_as, clock):
    alice = login_as(s.alice)
    resp = alice.post(s.form, data={"answer_summary": "Typed without JS", "action": "draft"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(s.form)
    page = alice.get(s.form)
    assert "Draft saved at 07:00." in text(page)
    assert "Typed without JS" in text(page)
    assert review_of(s, s.alice).status == "draft"


def test_form_page_wires_autosave_without_inline_script(s, login_as, clock):
    page = text(login_as(s.alice).get(s.form))
    assert 'data-autosave="on"' in page
    assert f'data-draft-url="{s.draft}"' in page
    assert 'aria-live="polite"' in page
    assert "/static/js/review_form.js" in page
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert "style=" not in page
    assert "I wrote this review on my own and have not seen any other student" in page


@pytest.mark.parametrize("moment", [T0, DEADLINE + timedelta(hours=2)], ids=["before-deadline", "after-release"])
def test_a_draft_is_private_to_its_writer(s, make, login_as, clock, moment):
    draft = make.review(s.presentation, s.alice, text="My private draft")
    clock.to(moment)
    for viewer in (s.bob, s.author, s.instructor, s.ta):
        client = login_as(viewer)
        for url in (detail_url(s, draft.id), detail_url(s, draft.id, api=True), detail_url(s, draft.id) + "/revisions"):
            resp = client.get(url)
            assert resp.status_code == 404, (viewer.display_name, url)
            assert "My private draft" not in text(resp)
        assert "My private draft" not in text(client.get(s.list))
    assert "My private draft" in text(login_as(s.alice).get(detail_url(s, draft.id)))


def test_staff_list_counts_a_draft_as_not_submitted(s, make, login_as, clock):
    make.review(s.presentation, s.alice, text="Draft words")
    page = text(login_as(s.instructor).get(s.staff))
    assert "Draft words" not in page
    assert "0 on time, 0 late, 3 not submitted" in page


# --------------------------------------------------------------------------- submitting


def test_submit_needs_the_pledge_and_keeps_what_was_typed(s, login_as, clock):
    alice = login_as(s.alice)
    data = {**GOOD, "action": "submit", "answer_summary": "Kept after the error"}
    del data["pledge"]
    resp = alice.post(s.form, data=data)
    assert resp.status_code == 200
    assert "Tick the integrity pledge to submit your review." in text(resp)
    assert "Kept after the error" in text(resp)
    assert 'value="4" selected' in text(resp) or 'selected value="4"' in text(resp)
    assert review_of(s, s.alice) is None


def test_submit_needs_required_fields_and_scores(s, login_as, clock):
    resp = submit(login_as(s.alice), s, answer_summary="  ", score="", confidence="")
    assert "Summary is required to submit." in text(resp)
    assert "Choose an overall score from 1 to 5." in text(resp)
    assert "Choose your confidence from 1 to 5." in text(resp)
    assert review_of(s, s.alice) is None


def test_submit_stores_review_revision_and_audit(s, login_as, clock):
    resp = submit(login_as(s.alice), s)
    review = review_of(s, s.alice)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(detail_url(s, review.id))
    assert review.status == "submitted" and review.pledge and not review.is_late and not review.is_final
    assert review.submitted_at == T0
    assert review.pseudonym_no == 1
    assert review.answers["summary"] == GOOD["answer_summary"]
    assert (review.score, review.confidence) == (4, 3)
    assert [(r.kind, r.created_at) for r in review.revisions] == [("submit", T0)]
    assert audit_kinds(s.alice) == ["review.submit"]


def test_every_edit_is_kept_as_a_revision(s, login_as, clock):
    alice = login_as(s.alice)
    submit(alice, s)
    clock.to(T0 + timedelta(hours=3))
    resp = submit(alice, s, answer_summary="Rewritten summary", score="2")
    assert resp.status_code == 302
    review = review_of(s, s.alice)
    assert review.answers["summary"] == "Rewritten summary" and review.score == 2
    assert review.submitted_at == T0  # the first submission time stays
    assert [(r.kind, r.created_at, r.score) for r in review.revisions] == [
        ("submit", T0, 4),
        ("edit", T0 + timedelta(hours=3), 2),
    ]
    assert review.revisions[0].answers["summary"] == GOOD["answer_summary"]
    assert audit_kinds(s.alice) == ["review.submit", "review.edit"]
    history = text(alice.get(detail_url(s, review.id) + "/revisions"))
    assert "Rewritten summary" in history and GOOD["answer_summary"] in history
    assert "Edited" in history and "Submitted" in history
    staff_history = login_as(s.instructor).get(detail_url(s, review.id) + "/revisions")
    assert staff_history.status_code == 200 and "Rewritten summary" in text(staff_history)


def test_edit_after_the_deadline_is_refused(s, login_as, clock):
    alice = login_as(s.alice)
    submit(alice, s)
    clock.to(DEADLINE + timedelta(seconds=1))
    resp = submit(alice, s, answer_summary="Too late to change")
    assert resp.status_code == 403
    assert "can no longer be edited" in text(resp)
    assert "Too late to change" in text(resp)  # what was typed is shown, not lost
    review = review_of(s, s.alice)
    assert review.answers["summary"] == GOOD["answer_summary"]
    assert [r.kind for r in review.revisions] == ["submit"]
    assert audit_kinds(s.alice)[-1] == "review.refused"
    assert 'data-autosave="on"' not in text(alice.get(s.form))


def test_double_submit_makes_one_review(s, login_as, clock):
    alice = login_as(s.alice)
    first, second = submit(alice, s), submit(alice, s)
    assert first.status_code == second.status_code == 302
    assert db.session.scalar(select(func.count(Review.id))) == 1
    review = review_of(s, s.alice)
    assert 1 <= len(review.revisions) <= 2
    assert review.pseudonym_no == 1


def submit_at_once(clients, s) -> list[int]:
    """Every client submits in its own thread, released together; their status codes."""
    barrier = threading.Barrier(len(clients))
    results = []

    def post(client):
        barrier.wait()
        results.append(submit(client, s).status_code)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_submissions_of_one_writer_make_one_review(s, login_as, clock):
    assert submit_at_once([login_as(s.alice), login_as(s.alice)], s) == [302, 302]
    assert db.session.scalar(select(func.count(Review.id))) == 1
    review = review_of(s, s.alice)
    assert review.pseudonym_no == 1
    assert [r.kind for r in review.revisions] == ["submit"]


def test_a_draft_becomes_the_submission(s, login_as, clock):
    alice = login_as(s.alice)
    alice.post(s.draft, json={"answer_summary": "Early thoughts"})
    draft = review_of(s, s.alice)
    submitted_at = clock.to(T0 + timedelta(hours=2))
    assert submit(alice, s).status_code == 302
    review = review_of(s, s.alice)
    assert review.id == draft.id and review.created_at == T0
    assert review.status == "submitted" and review.submitted_at == review.updated_at == submitted_at
    assert review.pseudonym_no == 1 and review.answers["summary"] == GOOD["answer_summary"]
    assert [(r.kind, r.created_at) for r in review.revisions] == [("submit", submitted_at)]
    assert audit_kinds(s.alice) == ["review.submit"]


def test_concurrent_submissions_of_a_draft_make_one_submission(s, login_as, clock):
    login_as(s.alice).post(s.draft, json={"answer_summary": "Early thoughts"})
    assert submit_at_once([login_as(s.alice), login_as(s.alice)], s) == [302, 302]
    assert db.session.scalar(select(func.count(Review.id))) == 1
    review = review_of(s, s.alice)
    assert review.status == "submitted" and review.pseudonym_no == 1
    assert [r.kind for r in review.revisions] == ["submit"]
    assert audit_kinds(s.alice) == ["review.submit"]


def test_a_first_submission_reads_each_row_once(s, login_as, clock):
    """The user, the presentation with its course, the role, the author check, the own review and
    the extension are read once each; the review, its revision and the audit event are one
    INSERT each (no flush of a half-made review, no reload after the commit)."""
    alice = login_as(s.alice)
    statements = []

    def note(conn, cursor, statement, *rest):
        statements.append(statement.split(None, 1)[0].upper())

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert submit(alice, s).status_code == 302
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert sorted(statements) == ["INSERT"] * 3 + ["SELECT"] * 6
    assert review_of(s, s.alice).pseudonym_no == 1


def test_concurrent_submissions_get_distinct_pseudonyms(s, make, login_as, clock):
    writers = [s.alice, s.bob, s.carol] + [make.member(s.course) for _ in range(3)]
    assert submit_at_once([login_as(w) for w in writers], s) == [302] * len(writers)
    numbers = sorted(db.session.scalars(select(Review.pseudonym_no)))
    assert numbers == list(range(1, len(writers) + 1))


def test_a_pseudonym_collision_is_retried(s, make, login_as, clock, monkeypatch):
    make.review(s.presentation, s.bob, submitted_at=T0)  # holds number 1
    real = reviewing._next_pseudonym
    calls = []

    def stale(presentation_id):
        calls.append(presentation_id)
        return 1 if len(calls) == 1 else real(presentation_id)  # as if bob's commit was not seen

    monkeypatch.setattr(reviewing, "_next_pseudonym", stale)
    assert submit(login_as(s.alice), s).status_code == 302
    assert len(calls) == 2
    assert review_of(s, s.alice).pseudonym_no == 2
    assert [r.kind for r in review_of(s, s.alice).revisions] == ["submit"]


def test_extra_form_fields_are_ignored(s, login_as, clock):
    alice = login_as(s.alice)
    resp = submit(
        alice,
        s,
        author_id=str(s.bob.id),
        submitted_at="2026-01-01T00:00:00",
        is_late="y",
        is_final="y",
        pseudonym_no="26",
        status="draft",
        grade="10",
        feedback="Self-awarded",
        answer_secret="not a field",
    )
    assert resp.status_code == 302
    assert review_of(s, s.bob) is None
    review = review_of(s, s.alice)
    assert review.submitted_at == T0 and not review.is_late and not review.is_final
    assert review.pseudonym_no == 1 and review.status == "submitted"
    assert review.grade is None and review.feedback == ""
    assert set(review.answers) == {"summary", "strengths", "weaknesses", "questions"}


@pytest.mark.parametrize("field, value", [("score", "9"), ("score", "0"), ("confidence", "6"), ("score", "-1")])
def test_scores_out_of_range_are_refused(s, login_as, clock, field, value):
    alice = login_as(s.alice)
    resp = submit(alice, s, **{field: value})
    assert resp.status_code == 400
    assert "Not a valid choice" in text(resp)
    assert review_of(s, s.alice) is None
    draft = alice.post(s.draft, json={"answer_summary": "x", field: value})
    assert draft.status_code == 400 and field in draft.json["errors"]
    assert review_of(s, s.alice) is None


@pytest.mark.parametrize("payload", [["a list"], {"answer_summary": ["nested"]}, {"score": 3}, "text"])
def test_malformed_draft_json_is_refused(s, login_as, clock, payload):
    resp = login_as(s.alice).post(s.draft, json=payload)
    assert resp.status_code == 400
    assert resp.is_json
    assert review_of(s, s.alice) is None


def test_autosave_after_submission_is_refused_and_changes_nothing(s, login_as, clock):
    alice = login_as(s.alice)
    submit(alice, s)
    resp = alice.post(s.draft, json={"answer_summary": "overwrite?"})
    assert resp.status_code == 409
    assert review_of(s, s.alice).answers["summary"] == GOOD["answer_summary"]


def test_an_autosave_racing_a_submission_does_not_overwrite_it(s, make, login_as, clock, monkeypatch):
    make.review(s.presentation, s.alice, text="The submitted text")
    real = reviewing._own_or_new

    def submitted_meanwhile(user, presentation, now):
        review = real(user, presentation, now)  # read while still a draft
        with db.engine.begin() as other_request:
            other_request.execute(update(Review).where(Review.id == review.id).values(status="submitted"))
        monkeypatch.setattr(reviewing, "_own_or_new", real)
        return review

    monkeypatch.setattr(reviewing, "_own_or_new", submitted_meanwhile)
    resp = login_as(s.alice).post(s.draft, json={"answer_summary": "a stale autosave"})
    assert resp.status_code == 409
    review = review_of(s, s.alice)
    assert review.status == "submitted" and review.answers["summary"] == "The submitted text"


@pytest.mark.parametrize("who, message", [
    ("author", "authors do not review their own presentation"),
    ("summarizer", "authors do not review their own presentation"),
    ("instructor", "Staff do not write reviews"),
    ("ta", "Staff do not write reviews"),
])
def test_authors_and_staff_do_not_review(s, login_as, clock, who, message):
    client = login_as(getattr(s, who))
    page = client.get(s.form)
    assert page.status_code == 403 and message in text(page)
    assert submit(client, s).status_code == 403
    assert client.post(s.draft, json={"answer_summary": "x"}).status_code == 403
    assert db.session.scalar(select(func.count(Review.id))) == 0


def test_an_authors_submit_attempt_is_audited(s, login_as, clock):
    submit(login_as(s.author), s)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.actor_id == s.author.id))
    assert (event.kind, event.detail["reason"], event.presentation_id) == ("review.refused", "author", s.presentation.id)


# --------------------------------------------------------------------------- late work and release


def test_late_submission_accepted_and_marked(s, make, login_as, clock):
    s.course.late_policy = "accept"
    db.session.commit()
    make.review(s.presentation, s.bob, submitted_at=DEADLINE - timedelta(hours=1))
    alice = login_as(s.alice)
    late_at = clock.to(DEADLINE + timedelta(hours=5))
    page = text(alice.get(s.form))
    assert "accepted but marked late" in page
    assert "already released" in page  # and the submission will be final
    resp = submit(alice, s)
    assert resp.status_code == 302
    review = review_of(s, s.alice)
    assert review.is_late and review.submitted_at == late_at
    assert review.is_final  # released reviews exist: no edits afterwards (V5)
    assert [r.kind for r in review.revisions] == ["late-submit"]
    assert "review.late_submit" in audit_kinds(s.alice)
    mine = text(alice.get(s.mine))
    assert ">late<" in mine
    staff = text(login_as(s.instructor).get(s.staff))
    assert "1 on time, 1 late, 1 not submitted" in staff


def test_late_submission_refused_keeps_the_draft(s, login_as, clock):
    assert s.course.late_policy == "refuse"
    alice = login_as(s.alice)
    alice.post(s.draft, json={"answer_summary": "Draft before the deadline"})
    clock.to(DEADLINE + timedelta(seconds=1))
    resp = submit(alice, s, answer_summary="Attempt after the deadline")
    assert resp.status_code == 403
    assert "does not accept late reviews" in text(resp)
    assert "Attempt after the deadline" in text(resp)
    review = review_of(s, s.alice)
    assert review.status == "draft" and review.answers["summary"] == "Draft before the deadline"
    assert audit_kinds(s.alice)[-1] == "review.refused"
    assert alice.post(s.draft, json={"answer_summary": "again"}).status_code == 403
    assert review_of(s, s.alice).answers["summary"] == "Draft before the deadline"


def test_extension_student_submitting_after_release_is_final(s, make, login_as, clock):
    make.review(s.presentation, s.bob, submitted_at=DEADLINE - timedelta(hours=2), text="Words of Bob")
    make.extension(s.presentation, s.alice, DEADLINE + timedelta(days=2))
    alice = login_as(s.alice)
    clock.to(DEADLINE + timedelta(hours=1))  # released; alice still has two days
    assert "Words of Bob" not in text(alice.get(s.list))
    assert submit(alice, s).status_code == 302
    review = review_of(s, s.alice)
    assert review.is_final and not review.is_late
    assert "Words of Bob" in text(alice.get(s.list))  # now she may read the others
    resp = submit(alice, s, answer_summary="Rewritten after reading")
    assert resp.status_code == 403 and "final" in text(resp)
    assert review_of(s, s.alice).answers["summary"] == GOOD["answer_summary"]


def test_extension_student_may_edit_before_release_only(s, make, login_as, clock):
    make.extension(s.presentation, s.alice, DEADLINE + timedelta(days=2))
    alice = login_as(s.alice)
    submit(alice, s)
    clock.to(DEADLINE)
    assert submit(alice, s, answer_summary="Edit at the deadline").status_code == 302
    clock.to(DEADLINE + timedelta(seconds=1))
    assert submit(alice, s, answer_summary="Edit after release").status_code == 403
    assert review_of(s, s.alice).answers["summary"] == "Edit at the deadline"


def test_edit_in_the_grace_period_is_allowed_and_logged(s, login_as, clock):
    s.course.grace_minutes = 15
    db.session.commit()
    alice = login_as(s.alice)
    submit(alice, s)
    clock.to(DEADLINE + timedelta(minutes=10))
    page = text(alice.get(s.form))
    assert "grace period of 15 minutes" in page
    assert submit(alice, s, answer_summary="Within grace").status_code == 302
    assert audit_kinds(s.alice) == ["review.submit", "review.late_edit"]
    assert not review_of(s, s.alice).is_late


# --------------------------------------------------------------------------- reading others


def test_reviews_are_released_after_the_deadline_with_pseudonyms(s, make, login_as, clock):
    bob, carol, alice = login_as(s.bob), login_as(s.carol), login_as(s.alice)
    submit(bob, s, answer_summary="Bob's review")
    clock.to(T0 + timedelta(minutes=5))
    submit(carol, s, answer_summary="Carol's review", score="2")
    clock.to(T0 + timedelta(minutes=10))
    submit(alice, s, answer_summary="Alice's review")
    clock.to(T0 + timedelta(hours=1))
    submit(bob, s, answer_summary="Bob's review, edited")  # an edit keeps the pseudonym

    before = text(alice.get(s.list))
    assert "released after the review deadline" in before
    assert "Carol's review" not in before and "Reviewer" not in before

    clock.to(DEADLINE + timedelta(seconds=1))
    page = text(alice.get(s.list))
    assert "Reviewer A" in page and "Reviewer B" in page and "Reviewer C" not in page
    assert page.index("Reviewer A") < page.index("Bob&#39;s review, edited") < page.index("Reviewer B")
    assert "Carol&#39;s review" in page
    assert "Bob Critic" not in page and "Carol Critic" not in page
    assert "mean overall score 3 / 5" in page  # (4 + 2) / 2, alice's own not counted

    authors = text(login_as(s.author).get(s.list))
    assert all(label in authors for label in ("Reviewer A", "Reviewer B", "Reviewer C"))
    assert "mean overall score 3.33 / 5" in authors
    staff = text(login_as(s.instructor).get(s.list))
    assert "Bob Critic" in staff and "Carol Critic" in staff and "Alice Critic" in staff

    s.course.name_reviewers = True
    db.session.commit()
    assert "Carol Critic" in text(alice.get(s.list))


def test_list_json_follows_the_same_rules(s, make, login_as, clock):
    make.review(s.presentation, s.bob, submitted_at=T0, text="Bob json", score=5)
    alice = login_as(s.alice)
    hidden = alice.get(s.api_list)
    assert hidden.status_code == 200
    assert hidden.json["readable"] is False
    assert "reviews" not in hidden.json and "mean_score" not in hidden.json
    clock.to(DEADLINE + timedelta(seconds=1))
    shown = alice.get(s.api_list).json
    assert shown["readable"] is True
    assert [(r["reviewer"], r["score"], r["answers"]["summary"]) for r in shown["reviews"]] == [("Reviewer A", 5, "Bob json")]
    assert shown["mean_score"] == 5
    assert "submitted_at" not in shown["reviews"][0] and "grade" not in shown["reviews"][0]


def _without_reviews_of_others(s, keep):
    db.session.execute(delete(ReviewRevision))
    db.session.execute(delete(Review).where(Review.author_id != keep.id))
    db.session.execute(delete(AuditEvent))
    db.session.commit()
    db.session.expire_all()


def _normalised(resp) -> tuple[int, bytes]:
    body = re.sub(rb'(name="csrf-token" content=|name="csrf_token" type="hidden" value=|name="csrf_token" value=)"[^"]*"', b"CSRF", resp.get_data())
    return resp.status_code, body


@pytest.mark.parametrize("viewer", ["alice", "author"])
def test_before_release_the_list_says_the_same_whether_or_not_reviews_exist(s, make, login_as, clock, viewer):
    """V3: no count, no average, no existence before release."""
    make.review(s.presentation, s.alice, submitted_at=T0)
    make.review(s.presentation, s.bob, submitted_at=T0, text="Bob hidden")
    make.review(s.presentation, s.carol, submitted_at=T0, text="Carol hidden")
    client = login_as(getattr(s, viewer))
    urls = [s.list, s.api_list, s.mine, s.form]
    with_reviews = {u: _normalised(client.get(u)) for u in urls}
    _without_reviews_of_others(s, keep=s.alice)
    without = {u: _normalised(client.get(u)) for u in urls}
    assert with_reviews == without


@pytest.mark.parametrize("api", [False, True], ids=["html", "json"])
def test_hidden_review_answers_exactly_like_a_missing_one(s, make, login_as, clock, api):
    hidden = make.review(s.presentation, s.bob, submitted_at=T0, text="Bob hidden")
    for viewer in (s.alice, s.author, s.carol):
        client = login_as(viewer)
        a = client.get(detail_url(s, hidden.id, api), headers={"Accept": "application/json" if api else "text/html"})
        b = client.get(detail_url(s, hidden.id + 999, api), headers={"Accept": "application/json" if api else "text/html"})
        assert a.status_code == b.status_code == 404
        assert _normalised(a) == _normalised(b)
        assert "Bob hidden" not in text(a)


def test_a_review_is_not_reachable_through_another_course(s, make, login_as, clock):
    other = make.course()
    make.enroll(s.instructor, other, "instructor")
    review = make.review(s.presentation, s.bob, submitted_at=T0)
    client = login_as(s.instructor)
    assert client.get(detail_url(s, review.id)).status_code == 200
    assert client.get(f"/courses/{other.id}/reviews/{review.id}").status_code == 404
    assert client.get(f"/api/courses/{other.id}/reviews/{review.id}").status_code == 404


def test_opening_others_reviews_is_audited(s, make, login_as, clock):
    review = make.review(s.presentation, s.bob, submitted_at=T0)
    clock.to(DEADLINE + timedelta(seconds=1))
    alice = login_as(s.alice)  # deadline passed with submission closed: she may read (V5)
    alice.get(s.list)
    alice.get(detail_url(s, review.id))
    alice.get(detail_url(s, review.id, api=True))
    assert audit_kinds(s.alice) == ["review.view_others"] * 3
    login_as(s.instructor).get(s.list)
    assert audit_kinds(s.instructor) == []


def test_revisions_of_others_stay_with_writer_and_staff(s, make, login_as, clock):
    review = make.review(s.presentation, s.bob, submitted_at=T0)
    clock.to(DEADLINE + timedelta(seconds=1))
    assert login_as(s.alice).get(detail_url(s, review.id)).status_code == 200
    assert login_as(s.alice).get(detail_url(s, review.id) + "/revisions").status_code == 404
    assert login_as(s.bob).get(detail_url(s, review.id) + "/revisions").status_code == 200
    assert login_as(s.ta).get(detail_url(s, review.id) + "/revisions").status_code == 200


# --------------------------------------------------------------------------- headers and escaping


def test_review_responses_are_never_stored(s, make, login_as, clock):
    review = make.review(s.presentation, s.alice, submitted_at=T0)
    alice, staff = login_as(s.alice), login_as(s.instructor)
    responses = [
        alice.get(s.form),
        alice.get(s.list),
        alice.get(s.api_list),
        alice.get(detail_url(s, review.id)),
        alice.get(detail_url(s, review.id, api=True)),
        alice.get(detail_url(s, review.id) + "/revisions"),
        alice.get(s.mine),
        staff.get(s.staff),
        staff.get(s.csv),
        staff.get(s.course_csv),
        staff.get(s.list),
        staff.get(s.mine),
    ]
    # An autosave of a submitted review is refused (409), and the refusal is not stored either.
    refused = alice.post(s.draft, json={"answer_summary": "x"})
    assert refused.status_code == 409
    assert refused.headers["Cache-Control"] == "no-store"
    for resp in responses:
        assert resp.status_code == 200, resp.request.path
        assert resp.headers["Cache-Control"] == "no-store", resp.request.path


def test_script_in_a_review_is_escaped_on_every_page(s, make, login_as, clock):
    alice = login_as(s.alice)
    submit(alice, s, answer_summary=XSS, answer_questions=f"Why {XSS}?")
    review = review_of(s, s.alice)
    clock.to(DEADLINE + timedelta(seconds=1))
    pages = [
        alice.get(s.form),
        alice.get(detail_url(s, review.id)),
        alice.get(detail_url(s, review.id) + "/revisions"),
        login_as(s.bob).get(s.list),
        login_as(s.bob).get(detail_url(s, review.id)),
        login_as(s.author).get(s.list),
        login_as(s.instructor).get(s.list),
        login_as(s.instructor).get(detail_url(s, review.id)),
        login_as(s.instructor).get(detail_url(s, review.id) + "/revisions"),
    ]
    for resp in pages:
        assert resp.status_code == 200, resp.request.path
        assert XSS not in text(resp), resp.request.path
        assert XSS_ESCAPED in text(resp), resp.request.path


def test_script_in_feedback_and_a_name_is_escaped(s, make, login_as, clock):
    review = make.review(s.presentation, s.bob, submitted_at=T0)
    s.bob.display_name = XSS
    db.session.commit()
    staff = login_as(s.instructor)
    staff.post(detail_url(s, review.id) + "/grade", data={"grade": "7", "feedback": XSS})
    for resp in (staff.get(s.staff), staff.get(detail_url(s, review.id)), login_as(s.bob).get(detail_url(s, review.id))):
        assert XSS not in text(resp) and XSS_ESCAPED in text(resp)


# --------------------------------------------------------------------------- staff


def test_staff_export_has_names_and_students_get_403(s, make, login_as, clock):
    make.review(s.presentation, s.bob, submitted_at=T0, text="Bob exported", score=5)
    make.review(s.presentation, s.alice, text="Alice draft not exported")
    staff = login_as(s.instructor)
    for url in (s.csv, s.course_csv):
        resp = staff.get(url)
        assert resp.status_code == 200 and resp.mimetype == "text/csv"
        rows = list(csv.DictReader(io.StringIO(text(resp))))
        assert [(r["reviewer"], r["Summary"], r["score"], r["pseudonym"]) for r in rows] == [
            ("Bob Critic", "Bob exported", "5", "Reviewer A")
        ]
        assert "Alice draft not exported" not in text(resp)
    clock.to(DEADLINE + timedelta(days=3))
    for who in (s.alice, s.bob, s.author):
        client = login_as(who)
        for url in (s.csv, s.course_csv, s.staff):
            assert client.get(url).status_code == 403, (who.display_name, url)


def test_export_neutralises_spreadsheet_formulas(s, make, login_as, clock):
    make.review(s.presentation, s.bob, submitted_at=T0, text="=HYPERLINK(\"http://evil\")")
    rows = list(csv.DictReader(io.StringIO(text(login_as(s.ta).get(s.csv)))))
    assert rows[0]["Summary"].startswith("'=")


def test_staff_list_shows_names_times_late_flags_and_extensions(s, make, login_as, clock):
    make.review(s.presentation, s.bob, submitted_at=T0)
    make.review(s.presentation, s.carol, submitted_at=DEADLINE + timedelta(hours=1), late=True)
    make.extension(s.presentation, s.alice, DEADLINE + timedelta(days=1))
    page = text(login_as(s.ta).get(s.staff))
    assert "Bob Critic" in page and "Carol Critic" in page and "Alice Critic" in page
    assert "Ada Author" not in page  # authors do not review
    assert "Mon 2 Mar 2026, 07:00 EST" in page  # bob's submission time, course zone
    assert ">late<" in page and ">extension<" in page
    assert "1 on time, 1 late, 1 not submitted" in page


def test_staff_overview_counts_per_presentation(s, make, login_as, clock):
    make.review(s.presentation, s.bob, submitted_at=T0)
    make.review(s.presentation, s.carol, submitted_at=DEADLINE + timedelta(hours=1), late=True)
    page = text(login_as(s.instructor).get(s.mine))
    row = re.search(r"<tr>\s*<td>" + re.escape(s.presentation.paper.title) + r"</td>(.*?)</tr>", page, re.S).group(1)
    assert re.findall(r"<td>(\d+)</td>", row) == ["1", "1", "1"]
    assert s.staff in page and s.csv in page and s.course_csv in page


def test_student_overview_lists_status_deadline_and_read_link(s, make, login_as, clock):
    alice = login_as(s.alice)
    page = text(alice.get(s.mine))
    assert s.presentation.paper.title in page and "not started" in page
    assert "Tue 3 Mar 2026, 07:00 EST" in page
    assert s.list not in page  # no "Read reviews" before release
    alice.post(s.draft, json={"answer_summary": "draft"})
    assert ">draft<" in text(alice.get(s.mine))
    submit(alice, s)
    assert ">submitted<" in text(alice.get(s.mine))
    clock.to(DEADLINE + timedelta(seconds=1))
    assert s.list in text(alice.get(s.mine))
    author_page = text(login_as(s.author).get(s.mine))
    assert "Your presentations" in author_page and s.list in author_page


def test_grade_and_feedback_reach_the_writer_and_staff_only(s, make, login_as, clock):
    review = make.review(s.presentation, s.bob, submitted_at=T0)
    staff = login_as(s.instructor)
    resp = staff.post(detail_url(s, review.id) + "/grade", data={"grade": "8.5", "feedback": "Sharp weaknesses."})
    assert resp.status_code == 302
    db.session.expire_all()
    assert (review.grade, review.feedback) == (8.5, "Sharp weaknesses.")
    # G1: the writer sees the grade once its gradebook item is posted, not before.
    mine = text(login_as(s.bob).get(detail_url(s, review.id)))
    assert "8.5" not in mine and "Sharp weaknesses." not in mine
    assert "grade" not in login_as(s.bob).get(detail_url(s, review.id, api=True)).json
    ensure_gradebook(s.course)
    posting.post_items([policy.review_grade_item(s.presentation.id)], s.instructor.id, T0)
    db.session.commit()
    mine = text(login_as(s.bob).get(detail_url(s, review.id)))
    assert "8.5 / 10" in mine and "Sharp weaknesses." in mine
    assert login_as(s.bob).get(detail_url(s, review.id, api=True)).json["grade"] == 8.5
    clock.to(DEADLINE + timedelta(seconds=1))
    other = login_as(s.alice)
    seen = text(other.get(detail_url(s, review.id)))
    assert "Sharp weaknesses." not in seen and "8.5" not in seen
    assert "grade" not in other.get(detail_url(s, review.id, api=True)).json
    assert other.post(detail_url(s, review.id) + "/grade", data={"grade": "10"}).status_code == 403
    db.session.expire_all()
    assert review.grade == 8.5


def test_grade_out_of_range_is_refused(s, make, login_as, clock):
    review = make.review(s.presentation, s.bob, submitted_at=T0)
    resp = login_as(s.ta).post(detail_url(s, review.id) + "/grade", data={"grade": "11", "feedback": "kept"})
    assert resp.status_code == 400
    assert "Give a grade from 0 to 10." in text(resp) and "kept" in text(resp)
    db.session.expire_all()
    assert review.grade is None


# --------------------------------------------------------------------------- extensions


def test_staff_grant_change_and_revoke_an_extension(s, login_as, clock):
    staff = login_as(s.instructor)
    resp = staff.post(s.extensions, data={"student": s.alice.id, "deadline": "2026-03-05T18:00", "reason": "Ill"})
    assert resp.status_code == 302
    ext = db.session.scalar(select(Extension))
    assert ext.deadline == datetime(2026, 3, 5, 23, 0, tzinfo=timezone.utc)  # 18:00 EST
    assert ext.user_id == s.alice.id and ext.granted_by_id == s.instructor.id
    page = text(staff.get(s.extensions))
    assert "Alice Critic" in page and "Thu 5 Mar 2026, 18:00 EST" in page

    staff.post(s.extensions, data={"student": s.alice.id, "deadline": "2026-03-06T09:30"})
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Extension.id))) == 1
    assert db.session.scalar(select(Extension)).deadline == datetime(2026, 3, 6, 14, 30, tzinfo=timezone.utc)
    assert "Fri 6 Mar 2026, 09:30 EST" in text(login_as(s.alice).get(s.form))

    resp = staff.post(f"{s.extensions}/{ext.id}/revoke")
    assert resp.status_code == 302
    assert db.session.scalar(select(func.count(Extension.id))) == 0
    assert audit_kinds(s.instructor) == ["extension.grant", "extension.grant", "extension.revoke"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "extension.revoke"))
    assert event.subject_id == s.alice.id


@pytest.mark.parametrize("data, message", [
    ({"deadline": "2026-03-05T18:00"}, "Choose a student"),
    ({"student": "AUTHOR", "deadline": "2026-03-05T18:00"}, "Not a valid choice"),
    ({"student": "ALICE", "deadline": "2026-03-02T18:00"}, "must end after the presentation"),
    ({"student": "ALICE", "deadline": "next week"}, "Not a valid datetime value"),
])
def test_extension_form_errors(s, login_as, clock, data, message):
    data = {k: {"AUTHOR": s.author.id, "ALICE": s.alice.id}.get(v, v) for k, v in data.items()}
    resp = login_as(s.ta).post(s.extensions, data=data)
    assert resp.status_code == 400 and message in text(resp)
    assert db.session.scalar(select(func.count(Extension.id))) == 0


def test_extension_for_a_student_who_could_already_read_needs_confirmation(s, make, login_as, clock):
    make.review(s.presentation, s.bob, submitted_at=T0)
    clock.to(DEADLINE + timedelta(hours=1))  # alice missed the deadline: the reviews are open to her
    staff = login_as(s.instructor)
    data = {"student": s.alice.id, "deadline": "2026-03-05T18:00"}
    resp = staff.post(s.extensions, data=data)
    assert resp.status_code == 400 and "already open to them" in text(resp)
    assert db.session.scalar(select(func.count(Extension.id))) == 0
    assert staff.post(s.extensions, data={**data, "confirm_read": "y"}).status_code == 302
    assert db.session.scalar(select(func.count(Extension.id))) == 1


def test_students_cannot_manage_extensions(s, login_as, clock):
    alice = login_as(s.alice)
    assert alice.get(s.extensions).status_code == 403
    assert alice.post(s.extensions, data={"student": s.alice.id, "deadline": "2026-03-09T18:00"}).status_code == 403
    assert db.session.scalar(select(func.count(Extension.id))) == 0


def test_an_extension_reopens_submission_on_the_next_request(s, login_as, clock):
    alice = login_as(s.alice)
    clock.to(DEADLINE + timedelta(hours=1))
    assert submit(alice, s).status_code == 403
    staff = login_as(s.instructor)
    assert staff.post(s.extensions, data={"student": s.alice.id, "deadline": "2026-03-04T18:00", "confirm_read": "y"}).status_code == 302
    assert submit(alice, s).status_code == 302
    assert review_of(s, s.alice).is_final


# --------------------------------------------------------------------------- the presentation page box


def _panel(app, s, user) -> str:
    with app.test_request_context():
        login_user(user)
        box = reviewing.review_box(user, s.presentation, now_utc())
        return render_template(
            "reviews/_presentation_panel.html", course=s.course, presentation=s.presentation, review_box=box
        )


def test_presentation_panel_for_each_role(app, s, make, clock):
    critic = _panel(app, s, s.alice)
    assert "not started" in critic and "Your deadline" in critic and "Tue 3 Mar 2026, 07:00 EST" in critic
    assert s.form in critic and s.list not in critic
    assert "released after the review deadline" in critic
    author = _panel(app, s, s.author)
    assert "you do not review it" in author and s.form not in author
    staff = _panel(app, s, s.instructor)
    assert s.staff in staff and s.extensions in staff

    make.review(s.presentation, s.alice, submitted_at=T0)
    clock.to(DEADLINE + timedelta(seconds=1))
    after = _panel(app, s, s.alice)
    assert "submitted" in after and s.list in after
    assert "View your review" in after
    assert s.list in _panel(app, s, s.author)


# --------------------------------------------------------------------------- CSRF on the autosave


def test_autosave_sends_the_csrf_token_in_a_header(make_app, clock):
    """review_form.js reads <meta name="csrf-token"> and sends it as X-CSRFToken."""
    from tests.support.factories import PASSWORD, Factory

    secured = make_app(WTF_CSRF_ENABLED=True)
    with secured.app_context():
        make = Factory()
        course = make.course()
        critic = make.member(course)
        presentation = make.presentation(course)
        email, ids = critic.email, (course.id, presentation.id)
    client = secured.test_client()
    meta = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
    token = meta.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    page = client.get("/courses/%d/presentations/%d/review" % ids).get_data(as_text=True)
    token = meta.search(page).group(1)
    url = "/courses/%d/presentations/%d/review/draft" % ids
    assert client.post(url, json={"answer_summary": "no token"}).status_code == 400
    saved = client.post(url, json={"answer_summary": "with token"}, headers={"X-CSRFToken": token})
    assert saved.status_code == 200 and saved.json["message"].startswith("Draft saved at")

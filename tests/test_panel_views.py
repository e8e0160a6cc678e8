"""HTTP pages of the live panel room: who gets which page, what the public views leave out,
that pages carry no inline script or style, the transcript and the participation export."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from flask import render_template
from flask_login import login_user
from sqlalchemy import func, select

from domain import policy
from tests.support.factories import ROLE_INSTRUCTOR, ROLE_TA, T0
from core.extensions import db
from models import AuditEvent, PanelRoom, Question, VerdictVote, Vote

ANON_NAME = "Zelda Anonymous-Asker"
XSS = '<img src=x onerror="alert(1)">'


@pytest.fixture
def course(make):
    return make.course()


@pytest.fixture
def people(make, course):
    """An instructor, a TA, an author, two critics and a stranger (not enrolled)."""
    return {
        "instructor": make.member(course, ROLE_INSTRUCTOR, name="Prof. Inês Moderator"),
        "ta": make.member(course, ROLE_TA, name="Tariq TA"),
        "author": make.member(course, name="Ana Author"),
        "critic": make.member(course, name="Carl Critic"),
        "anon": make.member(course, name=ANON_NAME),
        "stranger": make.user("Sam Stranger"),
    }


@pytest.fixture
def presentation(make, course, people):
    return make.presentation(course, presenters=[people["author"]])


def url(presentation, page=""):
    base = f"/courses/{presentation.course_id}/presentations/{presentation.id}/panel"
    return base + (f"/{page}" if page else "")


def room_of(presentation) -> PanelRoom:
    return db.session.scalar(select(PanelRoom).where(PanelRoom.presentation_id == presentation.id))


def add_question(room, asker, text, state="queued", anonymous=False, **kw) -> Question:
    q = Question(room_id=room.id, asker_id=asker.id, client_id=f"c-{text[:20]}-{state}", text=text,
                 anonymous=anonymous, state=state, created_at=T0, **kw)
    if state in ("queued", "live", "answered"):
        q.approved_at = T0
    db.session.add(q)
    db.session.commit()
    return q


def make_room(login_as, people, presentation) -> PanelRoom:
    """Open the participant page once, which creates the room."""
    assert login_as(people["critic"]).get(url(presentation)).status_code == 200
    return room_of(presentation)


# --------------------------------------------------------------------------- who gets which page


def test_critic_gets_the_participant_room_with_ask_form(login_as, people, presentation):
    resp = login_as(people["critic"]).get(url(presentation))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    room = room_of(presentation)
    assert f'data-room-id="{room.id}"' in html
    assert 'data-role="critic"' in html
    assert 'id="ask-text"' in html and 'maxlength="500"' in html and "0 / 500 characters" in html
    assert """data-limits='{"answer": 1000, "extend_minutes": 60, "phase_minutes": 240, "question": 500, "reason": 300}'""" in html
    assert "Anonymous to the class (the instructor still sees your name)" in html
    assert 'aria-live="polite"' in html
    assert '<script type="module" src="/static/js/panel/participant.js"></script>' in html
    assert "js/panel_common.js" not in html  # the shared code is imported by the page's module
    assert "vendor/socket.io.min.js" in html


def test_author_gets_the_room_without_the_ask_form(login_as, people, presentation):
    html = login_as(people["author"]).get(url(presentation)).get_data(as_text=True)
    assert 'data-role="author"' in html
    assert 'id="ask-text"' not in html
    assert "Verdict on the paper" not in html


def test_staff_are_taken_from_the_room_to_the_console(login_as, people, presentation):
    resp = login_as(people["ta"]).get(url(presentation))
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(url(presentation, "moderate"))


def test_room_is_created_once_on_first_visit(login_as, people, presentation):
    assert room_of(presentation) is None
    critic = login_as(people["critic"])
    critic.get(url(presentation))
    critic.get(url(presentation, "projector"))
    login_as(people["instructor"]).get(url(presentation, "moderate"))
    count = db.session.scalar(select(func.count(PanelRoom.id)).where(PanelRoom.presentation_id == presentation.id))
    assert count == 1


@pytest.mark.parametrize("who", ["critic", "author"])
def test_console_is_forbidden_to_students(login_as, people, presentation, who):
    assert login_as(people[who]).get(url(presentation, "moderate")).status_code == 403


@pytest.mark.parametrize("who", ["instructor", "ta"])
def test_console_for_staff(login_as, people, presentation, who):
    resp = login_as(people[who]).get(url(presentation, "moderate"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'data-role="moderator"' in html
    assert '<script type="module" src="/static/js/panel/moderator.js"></script>' in html
    for phase in ("scheduled", "presenting", "panel", "closed"):
        assert f'data-set-phase="{phase}"' in html
    assert f"/courses/{presentation.course_id}/panel/participation.csv" in html


@pytest.mark.parametrize("page", ["", "moderate", "projector", "projector.json", "transcript"])
def test_stranger_gets_404_everywhere(login_as, people, presentation, page):
    assert login_as(people["stranger"]).get(url(presentation, page)).status_code == 404
    assert room_of(presentation) is None


def test_presentation_of_another_course_is_404(login_as, make, people, presentation):
    other = make.presentation(make.course())
    path = f"/courses/{presentation.course_id}/presentations/{other.id}/panel"
    assert login_as(people["critic"]).get(path).status_code == 404


def test_pages_need_a_login(client, presentation):
    resp = client.get(url(presentation))
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


# --------------------------------------------------------------------------- no inline scripts or styles


@pytest.mark.parametrize("who,page", [("critic", ""), ("author", ""), ("instructor", "moderate"),
                                      ("critic", "projector"), ("critic", "transcript")])
def test_pages_are_csp_safe(login_as, people, presentation, who, page):
    resp = login_as(people[who]).get(url(presentation, page))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all(" src=" in tag for tag in scripts), scripts
    bodies = re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S)
    assert all(not body.strip() for body in bodies), "inline script content"
    assert not re.search(r"\sstyle\s*=", html), "inline style attribute"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"


# --------------------------------------------------------------------------- projector


def test_projector_never_names_anonymous_askers_even_for_staff(login_as, people, presentation):
    room = make_room(login_as, people, presentation)
    add_question(room, people["anon"], "Why only one GPU type in the evaluation?", anonymous=True, state="live")
    add_question(room, people["critic"], "What about tail latency at p99?", state="queued")
    add_question(room, people["critic"], "Secret pending question text", state="pending")
    for who in ("instructor", "critic"):
        client = login_as(people[who])
        page = client.get(url(presentation, "projector")).get_data(as_text=True)
        assert ANON_NAME not in page
        resp = client.get(url(presentation, "projector.json"))
        assert resp.status_code == 200
        assert resp.headers["Cache-Control"] == "no-store"
        data = resp.get_json()
        body = resp.get_data(as_text=True)
        assert ANON_NAME not in body
        assert "Secret pending question text" not in body
        assert data["live"]["text"] == "Why only one GPU type in the evaluation?"
        assert data["live"]["asker"] is None
        assert [q["text"] for q in data["queue"]] == ["What about tail latency at p99?"]
        assert data["queue"][0]["asker"] == "Carl Critic"
        assert "asker_id" not in data["live"] and "dismiss_reason" not in data["live"]


def test_projector_shows_the_top_five_in_queue_order_and_verdict_once_closed(login_as, people, presentation):
    room = make_room(login_as, people, presentation)
    questions = [add_question(room, people["critic"], f"Queued question {i}") for i in range(7)]
    db.session.add(Vote(question_id=questions[6].id, user_id=people["anon"].id))
    db.session.add(VerdictVote(room_id=room.id, user_id=people["critic"].id, verdict="revise"))
    db.session.commit()
    client = login_as(people["critic"])
    data = client.get(url(presentation, "projector.json")).get_json()
    assert [q["text"] for q in data["queue"]] == ["Queued question 6"] + [f"Queued question {i}" for i in range(4)]
    assert data["queue"][0]["votes"] == 1
    assert data["verdict"] is None
    room.phase = "closed"
    db.session.commit()
    data = client.get(url(presentation, "projector.json")).get_json()
    assert data["verdict"] == {"accept": 0, "revise": 1, "reject": 0}


# --------------------------------------------------------------------------- participant details


def test_critic_sees_questions_from_own_review_ready_to_push(login_as, make, people, presentation):
    make.review(presentation, people["critic"], submitted_at=T0)
    review = presentation_review(presentation, people["critic"])
    review.answers = {**review.answers, "questions": "How big is the KV cache?\n\n- Why not FCFS?"}
    db.session.commit()
    html = login_as(people["critic"]).get(url(presentation)).get_data(as_text=True)
    assert 'data-push="How big is the KV cache?"' in html
    assert 'data-push="Why not FCFS?"' in html
    other = login_as(people["anon"]).get(url(presentation)).get_data(as_text=True)
    assert "How big is the KV cache?" not in other


def presentation_review(presentation, user):
    from models import Review

    return db.session.scalar(select(Review).where(Review.presentation_id == presentation.id, Review.author_id == user.id))


def test_data_attributes_escape_user_text(login_as, make, people, presentation):
    make.review(presentation, people["critic"], submitted_at=T0)
    review = presentation_review(presentation, people["critic"])
    review.answers = {**review.answers, "questions": XSS}
    db.session.commit()
    html = login_as(people["critic"]).get(url(presentation)).get_data(as_text=True)
    assert XSS not in html
    assert "&lt;img src=x onerror=" in html


# --------------------------------------------------------------------------- transcript


def answered(room, asker, text, anonymous=False, minutes=0, **kw):
    return add_question(room, asker, text, state="answered", anonymous=anonymous, outcome="conceded",
                        answer_text="We agree.", answered_at=T0 + timedelta(minutes=minutes), **kw)


def test_transcript_follows_the_room_and_hides_anonymous_names_from_students(login_as, people, presentation):
    room = make_room(login_as, people, presentation)
    answered(room, people["anon"], "Anonymous answered question", anonymous=True, minutes=2,
             claimed_by_id=people["author"].id)
    answered(room, people["critic"], "Named answered question " + XSS, minutes=1, from_review=True)
    add_question(room, people["critic"], "Still queued question")
    add_question(room, people["critic"], "Pending question text", state="pending")

    for who in ("critic", "author"):
        html = login_as(people[who]).get(url(presentation, "transcript")).get_data(as_text=True)
        assert "Anonymous answered question" in html
        assert ANON_NAME not in html
        assert "an anonymous critic" in html
        # The critic's own question names them as "You"; everyone else sees their name.
        assert ("Asked by You" in html) == (who == "critic")
        assert ("Asked by Carl Critic" in html) == (who == "author")
        assert "from a review" not in html
        assert "Still queued question" not in html and "Pending question text" not in html
        assert XSS not in html and "&lt;img src=x" in html
        assert html.index("Named answered question") < html.index("Anonymous answered question")
        assert "Conceded" in html and "We agree." in html and "Ana Author" in html

    staff = login_as(people["instructor"]).get(url(presentation, "transcript")).get_data(as_text=True)
    assert ANON_NAME in staff
    assert staff.count("from a review") == 1
    assert '<span class="badge muted">from a review</span> Named answered question' in staff
    assert login_as(people["stranger"]).get(url(presentation, "transcript")).status_code == 404


def test_transcript_shows_verdict_counts_only_once_closed(login_as, people, presentation):
    room = make_room(login_as, people, presentation)
    db.session.add(VerdictVote(room_id=room.id, user_id=people["critic"].id, verdict="accept"))
    db.session.commit()
    critic = login_as(people["critic"])
    assert "Class verdict" not in critic.get(url(presentation, "transcript")).get_data(as_text=True)
    room.phase = "closed"
    db.session.commit()
    html = critic.get(url(presentation, "transcript")).get_data(as_text=True)
    assert "Class verdict" in html and "Accept: 1" in html


# --------------------------------------------------------------------------- participation CSV


def csv_rows(resp):
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))


def test_participation_csv_is_staff_only(login_as, people, presentation):
    path = f"/courses/{presentation.course_id}/panel/participation.csv"
    assert login_as(people["critic"]).get(path).status_code == 403
    assert login_as(people["author"]).get(path).status_code == 403
    assert login_as(people["stranger"]).get(path).status_code == 404
    resp = login_as(people["ta"]).get(path)
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert resp.headers["Cache-Control"] == "no-store"
    assert "attachment" in resp.headers["Content-Disposition"]


def test_participation_csv_figures(login_as, make, course, people, presentation):
    room = make_room(login_as, people, presentation)
    second = make.presentation(course)
    login_as(people["critic"]).get(url(second))
    other_room = room_of(second)
    q1 = answered(room, people["critic"], "Answered one")
    q2 = add_question(room, people["critic"], "Queued two")
    add_question(room, people["critic"], "Pending three", state="pending")
    add_question(other_room, people["critic"], "Dismissed four", state="dismissed")
    q5 = add_question(room, people["anon"], "Anon five", anonymous=True)
    for voter, question in ((people["anon"], q1), (people["author"], q1), (people["anon"], q2), (people["critic"], q5)):
        db.session.add(Vote(question_id=question.id, user_id=voter.id))
    db.session.commit()
    # Another course's panel does not count.
    foreign_course = make.course()
    make.enroll(people["critic"], foreign_course)
    foreign = make.presentation(foreign_course)
    login_as(people["critic"]).get(url(foreign))
    add_question(room_of(foreign), people["critic"], "Foreign question")

    resp = login_as(people["instructor"]).get(f"/courses/{course.id}/panel/participation.csv")
    rows = {row["Email"]: row for row in csv_rows(resp)}
    assert set(rows) == {people[k].email for k in ("author", "critic", "anon")}
    critic = rows[people["critic"].email]
    assert (critic["Questions asked"], critic["Approved"], critic["Answered"]) == ("4", "2", "1")
    assert (critic["Votes received"], critic["Votes cast"]) == ("3", "1")
    anon = rows[people["anon"].email]
    assert (anon["Questions asked"], anon["Approved"], anon["Votes received"], anon["Votes cast"]) == ("1", "1", "1", "2")
    assert rows[people["author"].email]["Votes cast"] == "1"
    assert rows[people["author"].email]["Questions asked"] == "0"


def test_participation_csv_neutralises_formulas_in_names(login_as, make, course, people, presentation):
    make.member(course, name="=HYPERLINK(\"http://evil\")")
    resp = login_as(people["instructor"]).get(f"/courses/{course.id}/panel/participation.csv")
    names = [row["Name"] for row in csv_rows(resp)]
    assert "'=HYPERLINK(\"http://evil\")" in names


# --------------------------------------------------------------------------- link on the presentation page


def render_link(app, user, course, presentation) -> str:
    with app.test_request_context():
        login_user(user)
        role = policy.room_role(user, presentation)
        return render_template("panel/_presentation_link.html", course=course, presentation=presentation, panel_role=role)


def test_presentation_link_for_staff_and_students(app, people, course, presentation):
    staff = render_link(app, people["instructor"], course, presentation)
    assert url(presentation, "moderate") in staff and url(presentation, "projector") in staff
    student = render_link(app, people["critic"], course, presentation)
    assert f'href="{url(presentation)}"' in student
    assert "moderate" not in student and "projector" not in student
    assert url(presentation, "transcript") in student
    assert render_link(app, people["stranger"], course, presentation).strip() == ""


# --------------------------------------------------------------------------- projector: joining


def qr_path(svg: str) -> str:
    """The module drawing of an inline QR code (its one path's data)."""
    return re.search(r'<path[^>]* d="([^"]+)"', svg).group(1)


def test_projector_shows_the_short_join_link_and_its_qr_code_while_the_room_opens(app, login_as, people, presentation):
    import segno

    client = login_as(people["instructor"])
    html = client.get(url(presentation, "projector")).get_data(as_text=True)
    link = f"http://localhost/p/{presentation.id}"
    join = re.search(r'<section class="projector-join"[^>]*>(.*?)</section>', html, flags=re.S)
    assert join and " hidden" not in re.search(r'<section class="projector-join"[^>]*>', html).group(0)
    assert f'<a href="{link}">localhost/p/{presentation.id}</a>' in join.group(1)
    svg = re.search(r"<svg\b.*?</svg>", join.group(1), flags=re.S).group(0)
    assert 'class="projector-qr-code"' in svg and "<title>QR code of the room's join link</title>" in svg
    # The drawing is the QR code of that very link (not of the long room URL, nor another room's).
    assert qr_path(svg) == qr_path(segno.make(link, error="m").svg_inline(border=2))
    assert qr_path(svg) != qr_path(segno.make(link + "0", error="m").svg_inline(border=2))
    # No breadcrumb and no connection line on the projector.
    assert "panel-kicker" not in html and "<dt>Connection</dt>" not in html


@pytest.mark.parametrize("phase, shown", [("scheduled", True), ("presenting", True), ("panel", False), ("closed", False)])
def test_projector_join_block_only_while_the_room_opens(login_as, people, presentation, phase, shown):
    room = make_room(login_as, people, presentation)
    room.phase = phase
    db.session.commit()
    html = login_as(people["critic"]).get(url(presentation, "projector")).get_data(as_text=True)
    tag = re.search(r'<section class="projector-join"[^>]*>', html).group(0)
    assert (" hidden" not in tag) == shown
    assert 'data-join-phases="scheduled presenting"' in html


def test_short_join_link_leads_members_into_the_room_and_strangers_nowhere(login_as, people, presentation):
    critic = login_as(people["critic"]).get(f"/p/{presentation.id}")
    assert critic.status_code == 302 and critic.headers["Location"].endswith(url(presentation))
    staff = login_as(people["ta"]).get(f"/p/{presentation.id}", follow_redirects=True)
    assert staff.request.path == url(presentation, "moderate")
    assert login_as(people["stranger"]).get(f"/p/{presentation.id}").status_code == 404
    assert login_as(people["critic"]).get(f"/p/{presentation.id + 999}").status_code == 404


# --------------------------------------------------------------------------- the authors' room


WEAK = "The baseline omits the recomputation strategy."
ASKED = "Why not compare with Orca?"
DRAFT_WEAK = "Draft-only weakness nobody may read."


@pytest.fixture
def reviewed(make, course, people, presentation):
    """Two submitted reviews with weaknesses and questions, and a draft."""
    first = make.review(presentation, people["critic"], submitted_at=T0)
    first.answers = {**first.answers, "weaknesses": WEAK, "questions": ASKED}
    second = make.review(presentation, people["anon"], submitted_at=T0)
    second.answers = {**second.answers, "weaknesses": "", "questions": ""}
    draft = make.review(presentation, make.member(course, name="Dan Draft"))
    draft.answers = {**draft.answers, "weaknesses": DRAFT_WEAK}
    db.session.commit()
    return first


def rebuttal_column(html: str) -> str:
    found = re.search(r'<section aria-labelledby="rebuttal-h".*?</section>', html, flags=re.S)
    return found.group(0) if found else ""


def test_authors_room_shows_the_released_reviews_weaknesses_and_questions(login_as, clock, people, presentation, reviewed):
    author = login_as(people["author"])
    clock.to(presentation.review_deadline - timedelta(minutes=1))
    before = author.get(url(presentation))
    column = rebuttal_column(before.get_data(as_text=True))
    assert "The reviews are released at" in column
    assert WEAK not in before.get_data(as_text=True) and ASKED not in before.get_data(as_text=True)

    clock.to(presentation.review_deadline + timedelta(minutes=1))
    after = author.get(url(presentation))
    html = after.get_data(as_text=True)
    assert after.headers["Cache-Control"] == "no-store"
    column = rebuttal_column(html)
    assert "Reviewer A" in column and "Carl Critic" not in html
    assert f"<dt>Weaknesses</dt><dd>{WEAK}</dd>" in column
    assert f"<dt>Questions for the authors</dt><dd>{ASKED}</dd>" in column
    assert "Reviewer B" not in column  # it names no weakness nor question
    assert DRAFT_WEAK not in html and "Few baselines." not in column.replace(WEAK, "")
    assert 'href="#rebuttal"' in html and 'id="rebuttal" tabindex="-1"' in html


def test_opening_the_released_reviews_in_the_authors_room_is_audited_once_a_view(login_as, clock, people, presentation, reviewed):
    def view_events():
        db.session.expire_all()
        return db.session.scalars(
            select(AuditEvent).where(AuditEvent.kind == "review.view_others").order_by(AuditEvent.id)
        ).all()

    author = login_as(people["author"])
    clock.to(presentation.review_deadline - timedelta(minutes=1))
    author.get(url(presentation))
    assert view_events() == []  # nothing released, nothing read

    clock.to(presentation.review_deadline + timedelta(minutes=1))
    author.get(url(presentation))
    author.get(url(presentation))
    login_as(people["critic"]).get(url(presentation))  # the critics' room shows no reviews
    login_as(people["instructor"]).get(url(presentation, "moderate"))
    events = view_events()
    assert [(e.actor_id, e.presentation_id, e.detail) for e in events] == [
        (people["author"].id, presentation.id, {"count": 2, "via": "room"}),
    ] * 2  # one event a view, however many reviews it shows (the draft is not one of them)


def test_critics_room_has_no_reviews_column(login_as, clock, people, presentation, reviewed):
    clock.to(presentation.review_deadline + timedelta(minutes=1))
    html = login_as(people["anon"]).get(url(presentation)).get_data(as_text=True)
    assert rebuttal_column(html) == "" and WEAK not in html
    assert 'href="#ask"' in html and 'id="ask" tabindex="-1"' in html


def test_from_review_buttons_are_described_by_their_question(login_as, make, people, presentation):
    review = make.review(presentation, people["critic"], submitted_at=T0)
    review.answers = {**review.answers, "questions": "How big is the KV cache?"}
    db.session.commit()
    html = login_as(people["critic"]).get(url(presentation)).get_data(as_text=True)
    assert '<span id="from-review-1">How big is the KV cache?</span>' in html
    assert 'data-push="How big is the KV cache?" aria-describedby="from-review-1">Ask this</button>' in html


# --------------------------------------------------------------------------- a closed room's leftovers


@pytest.mark.parametrize("who, page", [("critic", ""), ("author", ""), ("instructor", "moderate"), ("critic", "projector")])
def test_a_closed_rooms_queue_is_labelled_not_answered(login_as, people, presentation, who, page):
    room = make_room(login_as, people, presentation)
    client = login_as(people[who])
    heading = re.compile(r'<h2 id="queue-h" data-queue-heading data-open="([^"]+)">([^<]+)</h2>')
    open_heading = heading.search(client.get(url(presentation, page)).get_data(as_text=True))
    assert open_heading.group(2) == open_heading.group(1) and "queue" in open_heading.group(2).lower()
    room.phase = "closed"
    db.session.commit()
    html = client.get(url(presentation, page)).get_data(as_text=True)
    assert heading.search(html).group(2) == "Not answered"
    assert """"queue": {"closed": "Not answered", "open": "Queue"}""" in html  # for the script, on a live close


def test_the_class_verdict_appears_beside_the_reviews_scores_once_closed(login_as, clock, make, people, presentation, reviewed):
    clock.to(presentation.review_deadline + timedelta(minutes=1))
    room = make_room(login_as, people, presentation)
    db.session.add(VerdictVote(room_id=room.id, user_id=people["anon"].id, verdict="revise"))
    db.session.commit()
    path = f"/courses/{presentation.course_id}/presentations/{presentation.id}/reviews"
    author = login_as(people["author"])
    summary = re.compile(r'<p class="review-summary">(.*?)</p>', flags=re.S)
    assert "verdict" not in summary.search(author.get(path).get_data(as_text=True)).group(1)
    staff = summary.search(login_as(people["instructor"]).get(path).get_data(as_text=True)).group(1)
    assert "Accept 0, Revise 1, Reject 0" in staff  # staff see the poll while it runs
    room.phase = "closed"
    db.session.commit()
    shown = summary.search(author.get(path).get_data(as_text=True)).group(1)
    assert "mean overall score 3.0 / 5" in shown or "mean overall score 3 / 5" in shown
    assert "the class’s verdict after the panel: Accept 0, Revise 1, Reject 0" in shown
    api = author.get(f"/api/courses/{presentation.course_id}/presentations/{presentation.id}/reviews").get_json()
    assert api["verdict"] == {"accept": 0, "revise": 1, "reject": 0}

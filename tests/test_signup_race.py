"""Double-booking is impossible even when two claims arrive at the same instant.

Each thread has its own app context, hence its own database session and connection, against
the test's SQLite file. The plain races start both requests together with a barrier. The
"past the checks" races go further: the friendly pre-insert check of every thread passes and
waits for the others, so every thread reaches the INSERT, and only the database's unique
constraints decide; the loser must still get a clear message, never a 500.
"""
from __future__ import annotations

import itertools
import threading
from datetime import timedelta

import pytest

from blueprints.common import committed
from domain import schedule, signup
from tests.support.factories import ROLE_STUDENT, T0
from core.extensions import db
from models import Course, Presentation, PresentationMember, User


@pytest.fixture
def course(make):
    return make.course(timezone="America/New_York")


@pytest.fixture
def session(make, course):
    return make.session(course, starts_at=T0 + timedelta(days=7), slots=3)


def run_together(*calls):
    """Run the calls in threads released at the same instant; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait(timeout=10)
        try:
            results[i] = call()
        except BaseException as exc:  # re-raised in the test's thread below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racing request hung"
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


def let_every_thread_past_the_check(monkeypatch, name: str, parties: int = 2, module=signup):
    """The first ``parties`` calls of ``<module>.<name>`` (``signup`` unless told), one in each
    racing thread, find no problem and wait for each other, so all of them go on to insert;
    later calls (the explanation after a refused insert, the pages read afterwards) use the real
    check."""
    real = getattr(module, name)
    barrier = threading.Barrier(parties)
    gated_calls = itertools.count()

    def gated(*args, **kwargs):
        if next(gated_calls) < parties:
            barrier.wait(timeout=10)
            return None
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, gated)


def post(client, url, data=None):
    """A request to run in another thread (built here: model objects stay in this thread)."""

    def call():
        resp = client.post(url, data=data or {}, follow_redirects=False)
        return resp.status_code, resp.get_data(as_text=True)

    return call


def post_claim(client, course, paper_id, session_id, slot):
    return post(client, f"/courses/{course.id}/signup", {"paper_id": paper_id, "placement": f"{session_id}:{slot}"})


def outcome(results, message):
    """Exactly one request won (redirect) and the other got ``message`` with a 409, not a 500."""
    codes = sorted(code for code, _ in results)
    assert codes == [302, 409], codes
    [loser_page] = [page for code, page in results if code == 409]
    assert message in loser_page


def a_presenter_and_two_rivals(course, session, make, login_as, group_size: int):
    """A presentation given by one student, in a course whose groups take ``group_size``, and
    the clients of two other students."""
    course.presentation_group_size = group_size
    db.session.commit()
    presenter, a, b = (make.member(course, ROLE_STUDENT) for _ in range(3))
    return make.presentation(course, session=session, presenters=[presenter]), (login_as(a), login_as(b))


def race_for_a_seat(course, clients, url) -> list[str]:
    """The clients ask for a group seat at the same instant: each is redirected (never a 500) and
    its next sign-up page says how it went; returns those pages."""
    results = run_together(*(post(c, url) for c in clients))
    assert [code for code, _ in results] == [302, 302]
    pages = [c.get(f"/courses/{course.id}/signup") for c in clients]
    assert [page.status_code for page in pages] == [200, 200]
    return [page.get_data(as_text=True) for page in pages]


def seats(presentation, kind: str) -> list[int]:
    db.session.expire_all()
    return sorted(
        m.seat for m in db.session.query(PresentationMember).filter_by(presentation_id=presentation.id, kind=kind)
    )


def count_presentations(course):
    db.session.expire_all()
    return db.session.query(Presentation).filter_by(course_id=course.id).count()


# --------------------------------------------------------------------------- through HTTP


def test_same_paper_at_the_same_instant(course, session, make, login_as, clock):
    a, b = make.member(course, ROLE_STUDENT), make.member(course, ROLE_STUDENT)
    paper = make.paper(course)
    results = run_together(
        post_claim(login_as(a), course, paper.id, session.id, 1),
        post_claim(login_as(b), course, paper.id, session.id, 2),
    )
    outcome(results, "That paper was just taken")
    assert count_presentations(course) == 1


def test_same_slot_different_papers_at_the_same_instant(course, session, make, login_as, clock):
    a, b = make.member(course, ROLE_STUDENT), make.member(course, ROLE_STUDENT)
    results = run_together(
        post_claim(login_as(a), course, make.paper(course).id, session.id, 1),
        post_claim(login_as(b), course, make.paper(course).id, session.id, 1),
    )
    outcome(results, "That slot was just taken")
    assert count_presentations(course) == 1


def test_same_paper_past_the_checks_database_decides(course, session, make, login_as, clock, monkeypatch):
    a, b = make.member(course, ROLE_STUDENT), make.member(course, ROLE_STUDENT)
    paper = make.paper(course)
    let_every_thread_past_the_check(monkeypatch, "claim_problem")
    results = run_together(
        post_claim(login_as(a), course, paper.id, session.id, 1),
        post_claim(login_as(b), course, paper.id, session.id, 2),
    )
    outcome(results, "That paper was just taken")
    assert count_presentations(course) == 1
    assert db.session.query(PresentationMember).count() == 1


def test_same_slot_past_the_checks_database_decides(course, session, make, login_as, clock, monkeypatch):
    a, b = make.member(course, ROLE_STUDENT), make.member(course, ROLE_STUDENT)
    let_every_thread_past_the_check(monkeypatch, "claim_problem")
    results = run_together(
        post_claim(login_as(a), course, make.paper(course).id, session.id, 3),
        post_claim(login_as(b), course, make.paper(course).id, session.id, 3),
    )
    outcome(results, "That slot was just taken")
    assert count_presentations(course) == 1


def test_double_submit_by_one_student_gives_one_presentation(course, session, make, login_as, clock, monkeypatch):
    student = make.member(course, ROLE_STUDENT)
    first, second = login_as(student), login_as(student)  # two tabs
    let_every_thread_past_the_check(monkeypatch, "claim_problem")
    results = run_together(
        post_claim(first, course, make.paper(course).id, session.id, 1),
        post_claim(second, course, make.paper(course).id, session.id, 2),
    )
    outcome(results, "You already present a paper")
    assert count_presentations(course) == 1


def test_last_seat_of_a_group_at_the_same_instant(course, session, make, login_as, clock, monkeypatch):
    pres, clients = a_presenter_and_two_rivals(course, session, make, login_as, group_size=2)
    let_every_thread_past_the_check(monkeypatch, "join_problem")

    messages = race_for_a_seat(course, clients, f"/courses/{course.id}/signup/join/{pres.id}")
    assert sum("That presenting group was just filled" in page for page in messages) == 1
    assert seats(pres, "presenting") == [1, 2]


def test_last_seat_of_a_summary_group_at_the_same_instant(course, session, make, login_as, clock, monkeypatch):
    pres, clients = a_presenter_and_two_rivals(course, session, make, login_as, group_size=1)
    let_every_thread_past_the_check(monkeypatch, "volunteer_problem", module=schedule)

    messages = race_for_a_seat(course, clients, f"/courses/{course.id}/presentations/{pres.id}/summary/volunteer")
    assert sum(schedule.VOLUNTEER_FULL in page for page in messages) == 1
    assert sum("You write the summary of" in page for page in messages) == 1
    assert seats(pres, "summary") == [1]


# --------------------------------------------------------------------------- the claim function itself


def test_claim_in_two_app_contexts_same_paper(app, course, session, make, clock, monkeypatch):
    ids = [make.member(course, ROLE_STUDENT).id for _ in range(2)]
    paper_id, session_id, course_id = make.paper(course).id, session.id, course.id
    let_every_thread_past_the_check(monkeypatch, "claim_problem")

    def claimer(user_id, slot):
        def call():
            with app.app_context():
                course, user = db.session.get(Course, course_id), db.session.get(User, user_id)
                try:
                    pres = signup.claim(course, user, paper_id, session_id, slot, T0)
                except signup.SignupError as exc:
                    return ("lost", exc.message)
                # The request commits; when the database refuses the row, the loser is told why.
                if committed():
                    return ("won", pres.id)
                return ("lost", signup.claim_problem(course, user, paper_id, session_id, slot, T0))

        return call

    results = run_together(claimer(ids[0], 1), claimer(ids[1], 2))
    assert sorted(kind for kind, _ in results) == ["lost", "won"]
    [message] = [m for kind, m in results if kind == "lost"]
    assert message == signup.PAPER_TAKEN
    assert count_presentations(course) == 1

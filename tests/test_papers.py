"""Papers: staff editing with validation, student proposals and who sees them, list filters."""
from __future__ import annotations

import pytest

from tests.support.factories import ROLE_INSTRUCTOR, ROLE_STUDENT
from core.extensions import db
from models import Paper




def paper_data(**overrides):
    data = {
        "title": "Orca: A Distributed Serving System",
        "authors": "Yu, Jeong, Kim",
        "venue": "OSDI",
        "year": "2022",
        "url": "https://www.usenix.org/conference/osdi22/presentation/yu",
        "topic": "Batching",
        "abstract": "Iteration-level scheduling for transformer models.",
    }
    data.update(overrides)
    return data


def papers(course, **filters):
    return db.session.query(Paper).filter_by(course_id=course.id, **filters).all()


# --------------------------------------------------------------------------- staff CRUD


def test_staff_adds_paper_and_it_is_listed_for_students(course, staff, student, login_as):
    resp = login_as(staff).post(f"/courses/{course.id}/papers/new", data=paper_data())
    assert resp.status_code == 302
    [paper] = papers(course)
    assert paper.status == "approved" and paper.year == 2022 and paper.topic == "Batching"

    page = login_as(student).get(f"/courses/{course.id}/papers").get_data(as_text=True)
    assert "Orca: A Distributed Serving System" in page
    assert 'href="https://www.usenix.org/conference/osdi22/presentation/yu"' in page
    assert "<details><summary>Abstract</summary>" in page
    assert "Iteration-level scheduling" in page


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("title", "", "Give the paper&#39;s title."),
        ("year", "1949", "Give a year between 1950 and 2100."),
        ("year", "2101", "Give a year between 1950 and 2100."),
        ("url", "javascript:alert(1)", "starts with http:// or https://"),
        ("url", "ftp://example.org/paper.pdf", "starts with http:// or https://"),
        ("url", "https://", "starts with http:// or https://"),
    ],
)
def test_paper_validation_keeps_input(course, staff, login_as, field, value, message):
    data = paper_data(**{field: value})
    resp = login_as(staff).post(f"/courses/{course.id}/papers/new", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert message in page
    assert "Iteration-level scheduling" in page  # nothing typed is lost
    assert papers(course) == []


def test_year_and_url_are_optional(course, staff, login_as):
    resp = login_as(staff).post(f"/courses/{course.id}/papers/new", data=paper_data(year="", url=""))
    assert resp.status_code == 302
    [paper] = papers(course)
    assert paper.year is None and paper.url == ""


def test_staff_edits_paper(course, staff, make, login_as):
    paper = make.paper(course, title="Old title")
    resp = login_as(staff).post(
        f"/courses/{course.id}/papers/{paper.id}/edit", data=paper_data(title="New title", year="2023")
    )
    assert resp.status_code == 302
    db.session.refresh(paper)
    assert paper.title == "New title" and paper.year == 2023


def test_staff_deletes_unscheduled_paper_but_not_scheduled_one(course, staff, make, login_as):
    free = make.paper(course, title="Free paper")
    scheduled = make.paper(course, title="Scheduled paper")
    make.presentation(course, paper=scheduled)
    client = login_as(staff)

    client.post(f"/courses/{course.id}/papers/{free.id}/delete")
    resp = client.post(f"/courses/{course.id}/papers/{scheduled.id}/delete", follow_redirects=True)

    assert "is scheduled for a presentation" in resp.get_data(as_text=True)
    assert [p.title for p in papers(course)] == ["Scheduled paper"]


def test_students_cannot_add_edit_or_delete(course, student, make, login_as):
    paper = make.paper(course)
    client = login_as(student)
    assert client.post(f"/courses/{course.id}/papers/new", data=paper_data()).status_code == 403
    assert client.post(f"/courses/{course.id}/papers/{paper.id}/edit", data=paper_data()).status_code == 403
    assert client.post(f"/courses/{course.id}/papers/{paper.id}/delete").status_code == 403
    assert len(papers(course)) == 1


def test_stranger_gets_404(course, make, login_as):
    outsider = make.user()
    assert login_as(outsider).get(f"/courses/{course.id}/papers").status_code == 404


def test_paper_of_another_course_is_404(course, staff, make, login_as):
    other = make.paper(make.course())
    assert login_as(staff).get(f"/courses/{course.id}/papers/{other.id}/edit").status_code == 404


# --------------------------------------------------------------------------- proposals


def propose(client, course, **overrides):
    return client.post(f"/courses/{course.id}/papers/propose", data=paper_data(**overrides))


def test_student_proposal_is_pending_and_seen_by_proposer_and_staff_only(course, staff, student, make, login_as):
    classmate = make.member(course, ROLE_STUDENT)
    resp = propose(login_as(student), course, title="My proposed paper")
    assert resp.status_code == 302
    [paper] = papers(course)
    assert paper.status == "proposed" and paper.proposed_by_id == student.id

    mine = login_as(student).get(f"/courses/{course.id}/papers").get_data(as_text=True)
    assert "Your proposals" in mine and "My proposed paper" in mine and "proposed" in mine

    theirs = login_as(classmate).get(f"/courses/{course.id}/papers").get_data(as_text=True)
    assert "My proposed paper" not in theirs

    staff_page = login_as(staff).get(f"/courses/{course.id}/papers").get_data(as_text=True)
    assert "Proposals awaiting a decision" in staff_page and "My proposed paper" in staff_page
    assert "Sam Student" in staff_page


def test_proposal_validation_applies(course, student, login_as):
    resp = propose(login_as(student), course, year="1800")
    assert "Give a year between 1950 and 2100." in resp.get_data(as_text=True)
    assert papers(course) == []


def test_approve_puts_proposal_on_the_list(course, staff, student, make, login_as):
    propose(login_as(student), course, title="Good idea")
    [paper] = papers(course)
    resp = login_as(staff).post(
        f"/courses/{course.id}/papers/{paper.id}/decide", data={"decision": "approve", "note": ""}
    )
    assert resp.status_code == 302
    db.session.refresh(paper)
    assert paper.status == "approved"
    classmate = make.member(course, ROLE_STUDENT)
    assert "Good idea" in login_as(classmate).get(f"/courses/{course.id}/papers").get_data(as_text=True)


def test_reject_needs_a_note_and_proposer_sees_it(course, staff, student, make, login_as):
    propose(login_as(student), course, title="Off-topic paper")
    [paper] = papers(course)
    client = login_as(staff)

    resp = client.post(f"/courses/{course.id}/papers/{paper.id}/decide", data={"decision": "reject", "note": ""})
    assert resp.status_code == 200 and "Say why the paper is rejected" in resp.get_data(as_text=True)
    db.session.refresh(paper)
    assert paper.status == "proposed"

    client.post(
        f"/courses/{course.id}/papers/{paper.id}/decide",
        data={"decision": "reject", "note": "Not about model serving."},
    )
    db.session.refresh(paper)
    assert paper.status == "rejected" and paper.decision_note == "Not about model serving."

    mine = login_as(student).get(f"/courses/{course.id}/papers").get_data(as_text=True)
    assert "rejected" in mine and "Not about model serving." in mine
    classmate = make.member(course, ROLE_STUDENT)
    assert "Off-topic paper" not in login_as(classmate).get(f"/courses/{course.id}/papers").get_data(as_text=True)


def test_student_cannot_decide(course, student, make, login_as):
    paper = make.paper(course, status="proposed", proposed_by_id=student.id)
    resp = login_as(student).post(f"/courses/{course.id}/papers/{paper.id}/decide", data={"decision": "approve"})
    assert resp.status_code == 403
    db.session.refresh(paper)
    assert paper.status == "proposed"


# --------------------------------------------------------------------------- list: filters, search, paging, schedule


def test_filter_by_topic_and_search_title_or_authors(course, student, make, login_as):
    make.paper(course, title="vLLM PagedAttention", authors="Kwon et al.", topic="KV cache")
    make.paper(course, title="Clipper", authors="Crankshaw et al.", topic="DNN serving")
    make.paper(course, title="Splitwise", authors="Patel et al.", topic="Scheduling")
    client = login_as(student)

    page = client.get(f"/courses/{course.id}/papers?topic=KV+cache").get_data(as_text=True)
    assert "vLLM PagedAttention" in page and "Clipper" not in page and "Splitwise" not in page
    assert '<option value="DNN serving">' in page  # topics come from existing papers

    page = client.get(f"/courses/{course.id}/papers?q=crankshaw").get_data(as_text=True)
    assert "Clipper" in page and "vLLM" not in page

    page = client.get(f"/courses/{course.id}/papers?q=splitWISE").get_data(as_text=True)
    assert "Splitwise" in page and "Clipper" not in page

    page = client.get(f"/courses/{course.id}/papers?q=%25").get_data(as_text=True)
    assert "No paper matches." in page  # LIKE wildcards are literal


def test_paging_25_per_page(course, student, make, login_as):
    for i in range(30):
        make.paper(course, title=f"Paper number {i:02d}", topic="Batching")
    client = login_as(student)
    first = client.get(f"/courses/{course.id}/papers").get_data(as_text=True)
    second = client.get(f"/courses/{course.id}/papers?page=2").get_data(as_text=True)
    assert first.count('class="card paper"') == 25
    assert second.count('class="card paper"') == 5
    assert "Paper number 00" in first and "Paper number 29" in second
    assert "Next page" in first


def test_scheduled_paper_shows_session_and_presenters(course, student, make, login_as, clock):
    from datetime import datetime, timezone

    session = make.session(course, starts_at=datetime(2026, 3, 10, 18, 30, tzinfo=timezone.utc))
    presenter = make.member(course, ROLE_STUDENT, name="Pat Presenter")
    paper = make.paper(course, title="Scheduled one")
    make.presentation(course, session=session, paper=paper, presenters=[presenter])
    page = login_as(student).get(f"/courses/{course.id}/papers").get_data(as_text=True)
    assert "Tue 10 Mar 2026, 14:30 EDT" in page
    assert "Pat Presenter" in page


def test_user_text_is_escaped(course, staff, student, login_as):
    login_as(staff).post(f"/courses/{course.id}/papers/new", data=paper_data(title="<img src=x onerror=alert(1)>"))
    page = login_as(student).get(f"/courses/{course.id}/papers").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page

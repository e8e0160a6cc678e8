"""Schedule: sessions, sign-up, staff overrides, the presentation page, slides and summaries."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.factories import ROLE_INSTRUCTOR, ROLE_STUDENT, ROLE_TA, T0
from core.extensions import db
from models import AuditEvent, ClassSession, Presentation, PresentationMember

# Monday 9 March 2026, 14:00 UTC = 10:00 in New York (daylight time began on 8 March).
SESSION_AT = datetime(2026, 3, 9, 14, 0, tzinfo=timezone.utc)




@pytest.fixture
def session(make, course):
    return make.session(course, starts_at=SESSION_AT, slots=2)


@pytest.fixture(autouse=True)
def uploads(app, tmp_path):
    """Uploaded slides go to a temporary folder."""
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    return tmp_path / "uploads"


def claim(client, course, paper, session, slot=1):
    return client.post(
        f"/courses/{course.id}/signup", data={"paper_id": paper.id, "placement": f"{session.id}:{slot}"}
    )


def presentations(course):
    return db.session.query(Presentation).filter_by(course_id=course.id).all()


# --------------------------------------------------------------------------- sign-up


def test_claim_creates_presentation_with_defaults(course, student, session, make, login_as, clock):
    course.talk_minutes, course.qa_minutes = 25, 10
    db.session.commit()
    paper = make.paper(course, title="Orca")
    resp = claim(login_as(student), course, paper, session, slot=2)
    assert resp.status_code == 302
    [pres] = presentations(course)
    assert (pres.paper_id, pres.session_id, pres.slot) == (paper.id, session.id, 2)
    assert (pres.talk_minutes, pres.qa_minutes) == (25, 10)
    # 23:59 New York time on Sunday 8 March (EDT, UTC-4) = 03:59 UTC on 9 March.
    assert pres.review_deadline == datetime(2026, 3, 9, 3, 59, tzinfo=timezone.utc)
    [member] = pres.members
    assert (member.user_id, member.kind, member.seat) == (student.id, "presenting", 1)


def test_signup_page_lists_only_free_papers_and_slots(course, student, session, make, login_as, clock):
    taken = make.paper(course, title="Taken paper")
    free = make.paper(course, title="Free paper")
    make.paper(course, title="Proposed paper", status="proposed")
    make.presentation(course, session=session, paper=taken)
    page = login_as(student).get(f"/courses/{course.id}/signup").get_data(as_text=True)
    # The paper choices (the page also lists summary groups open to volunteers, taken papers included).
    papers = re.search(r'<select[^>]*id="paper_id".*?</select>', page, re.S).group(0)
    assert "Free paper" in papers and "Taken paper" not in papers and "Proposed paper" not in papers
    assert f'value="{session.id}:2"' in page and f'value="{session.id}:1"' not in page
    assert "Mon 9 Mar 2026, 10:00 EDT" in page
    assert free.title in page


def test_taken_paper_is_refused_clearly(course, student, session, make, login_as, clock):
    paper = make.paper(course)
    make.presentation(course, session=make.session(course), paper=paper)
    resp = claim(login_as(student), course, paper, session, slot=1)
    assert resp.status_code == 409
    assert "That paper was just taken" in resp.get_data(as_text=True)
    assert len(presentations(course)) == 1


def test_taken_slot_is_refused_clearly(course, student, session, make, login_as, clock):
    make.presentation(course, session=session)  # occupies slot 1
    resp = claim(login_as(student), course, make.paper(course), session, slot=1)
    assert resp.status_code == 409
    assert "That slot was just taken" in resp.get_data(as_text=True)
    assert len(presentations(course)) == 1


def test_signup_without_choices_says_what_is_missing(course, student, session, make, login_as, clock):
    make.paper(course, title="Kept paper")
    resp = login_as(student).post(f"/courses/{course.id}/signup", data={"paper_id": "0", "placement": ""})
    page = resp.get_data(as_text=True)
    assert "Pick a paper." in page and "Pick a session slot." in page
    assert "Kept paper" in page
    assert presentations(course) == []


def test_slot_beyond_session_slots_is_refused(course, student, session, make, login_as, clock):
    resp = claim(login_as(student), course, make.paper(course), session, slot=3)
    assert resp.status_code == 409 and "does not exist" in resp.get_data(as_text=True)
    assert presentations(course) == []


def test_unapproved_or_foreign_paper_is_refused(course, student, session, make, login_as, clock):
    client = login_as(student)
    proposed = make.paper(course, status="proposed")
    foreign = make.paper(make.course())
    for paper in (proposed, foreign):
        resp = claim(client, course, paper, session)
        assert resp.status_code == 409 and "not on the approved list" in resp.get_data(as_text=True)
    assert presentations(course) == []


def test_past_session_is_refused(course, student, make, login_as, clock):
    past = make.session(course, starts_at=T0 - timedelta(days=1))
    resp = claim(login_as(student), course, make.paper(course), past)
    assert resp.status_code == 409 and "already started" in resp.get_data(as_text=True)


def test_one_paper_per_student(course, student, session, make, login_as, clock):
    client = login_as(student)
    assert claim(client, course, make.paper(course), session, slot=1).status_code == 302
    resp = claim(client, course, make.paper(course), session, slot=2)
    assert resp.status_code == 200  # the form is gone: the page says what they present
    assert "You present" in resp.get_data(as_text=True)
    assert len(presentations(course)) == 1


def test_one_paper_per_student_through_claim(course, student, session, make, clock):
    from domain import signup

    signup.claim(course, student, make.paper(course).id, session.id, 1, T0)
    with pytest.raises(signup.SignupError) as err:
        signup.claim(course, student, make.paper(course).id, session.id, 2, T0)
    assert err.value.message == signup.ALREADY_PRESENTING


def test_staff_cannot_claim(course, staff, session, make, login_as, clock):
    resp = claim(login_as(staff), course, make.paper(course), session)
    assert "Staff place presentations" in resp.get_data(as_text=True)
    assert presentations(course) == []


def test_group_join_up_to_group_size(course, session, make, login_as, clock):
    course.presentation_group_size = 2
    db.session.commit()
    first, second, third = (make.member(course, ROLE_STUDENT) for _ in range(3))
    claim(login_as(first), course, make.paper(course), session)
    [pres] = presentations(course)

    page = login_as(second).get(f"/courses/{course.id}/signup").get_data(as_text=True)
    assert "Join a presenting group" in page
    resp = login_as(second).post(f"/courses/{course.id}/signup/join/{pres.id}")
    assert resp.status_code == 302
    resp = login_as(third).post(f"/courses/{course.id}/signup/join/{pres.id}", follow_redirects=True)
    assert "That presenting group was just filled" in resp.get_data(as_text=True)

    seats = sorted((m.user_id, m.seat) for m in db.session.query(PresentationMember).filter_by(kind="presenting"))
    assert seats == [(first.id, 1), (second.id, 2)]


def test_join_refused_when_groups_are_of_one(course, session, make, login_as, clock):
    first, second = make.member(course, ROLE_STUDENT), make.member(course, ROLE_STUDENT)
    claim(login_as(first), course, make.paper(course), session)
    [pres] = presentations(course)
    resp = login_as(second).post(f"/courses/{course.id}/signup/join/{pres.id}", follow_redirects=True)
    assert "given alone" in resp.get_data(as_text=True)
    assert pres.member_ids("presenting") == {first.id}


def test_join_refused_for_someone_already_presenting(course, session, make, login_as, clock):
    course.presentation_group_size = 3
    db.session.commit()
    first, second = make.member(course, ROLE_STUDENT), make.member(course, ROLE_STUDENT)
    claim(login_as(first), course, make.paper(course), session, slot=1)
    claim(login_as(second), course, make.paper(course), session, slot=2)
    pres = db.session.query(Presentation).filter_by(slot=1).one()
    resp = login_as(second).post(f"/courses/{course.id}/signup/join/{pres.id}", follow_redirects=True)
    assert "You already present a paper" in resp.get_data(as_text=True)


# --------------------------------------------------------------------------- schedule page and sessions


def test_schedule_shows_sessions_in_order_in_course_zone(course, student, make, login_as, clock):
    late = make.session(course, starts_at=SESSION_AT + timedelta(days=7), title="Later session")
    early = make.session(course, starts_at=SESSION_AT - timedelta(days=7), title="Earlier session")
    presenter, writer = make.member(course, name="Pat Presenter"), make.member(course, name="Wes Writer")
    make.presentation(
        course,
        session=late,
        paper=make.paper(course, title="Splitwise"),
        presenters=[presenter],
        summarizers=[writer],
        review_deadline=datetime(2026, 3, 16, 3, 59, tzinfo=timezone.utc),
    )
    page = login_as(student).get(f"/courses/{course.id}/schedule").get_data(as_text=True)
    assert page.index("Earlier session") < page.index("Later session")
    assert "Mon 2 Mar 2026, 09:00 EST" in page  # before the DST change
    assert "Mon 16 Mar 2026, 10:00 EDT" in page  # after it
    assert "America/New_York" in page
    assert "Splitwise" in page and "Pat Presenter" in page and "Wes Writer" in page
    assert "Sun 15 Mar 2026, 23:59 EDT" in page  # the review deadline
    assert 'class="countdown" data-deadline="2026-03-16T03:59:00Z"' in page
    assert early.room in page


def test_staff_creates_edits_and_deletes_session_in_course_time(course, staff, login_as, clock):
    client = login_as(staff)
    resp = client.post(
        f"/courses/{course.id}/sessions/new",
        data={"day": "2026-03-09", "start": "10:00", "duration_minutes": "75", "room": "Gates 104",
              "title": "Batching", "slots": "3"},
    )
    assert resp.status_code == 302
    [s] = db.session.query(ClassSession).filter_by(course_id=course.id).all()
    assert s.starts_at == SESSION_AT and (s.duration_minutes, s.room, s.slots) == (75, "Gates 104", 3)

    form = client.get(f"/courses/{course.id}/sessions/{s.id}/edit").get_data(as_text=True)
    assert 'value="2026-03-09"' in form and 'value="10:00"' in form

    client.post(
        f"/courses/{course.id}/sessions/{s.id}/edit",
        data={"day": "2026-03-10", "start": "09:30", "duration_minutes": "75", "room": "Gates 100",
              "title": "Batching", "slots": "3"},
    )
    db.session.refresh(s)
    assert s.starts_at == datetime(2026, 3, 10, 13, 30, tzinfo=timezone.utc) and s.room == "Gates 100"

    client.post(f"/courses/{course.id}/sessions/{s.id}/delete")
    assert db.session.query(ClassSession).count() == 0


def test_session_form_errors_keep_input(course, staff, login_as):
    resp = login_as(staff).post(
        f"/courses/{course.id}/sessions/new",
        data={"day": "", "start": "10:00", "duration_minutes": "75", "room": "Gates 104", "slots": "0"},
    )
    page = resp.get_data(as_text=True)
    assert "Give the date." in page and "Number must be between 1 and 12." in page
    assert 'value="Gates 104"' in page
    assert db.session.query(ClassSession).count() == 0


def test_session_with_presentations_keeps_its_used_slots(course, staff, session, make, login_as):
    make.presentation(course, session=session)
    make.presentation(course, session=session)  # slot 2
    client = login_as(staff)
    resp = client.post(
        f"/courses/{course.id}/sessions/{session.id}/edit",
        data={"day": "2026-03-09", "start": "10:00", "duration_minutes": "90", "room": "R", "slots": "1"},
    )
    assert "Slot 2 holds a presentation" in resp.get_data(as_text=True)
    resp = client.post(f"/courses/{course.id}/sessions/{session.id}/delete", follow_redirects=True)
    assert "holds presentations" in resp.get_data(as_text=True)
    assert db.session.get(ClassSession, session.id) is not None


def test_students_cannot_edit_sessions(course, student, session, login_as):
    client = login_as(student)
    assert client.get(f"/courses/{course.id}/sessions/new").status_code == 403
    assert client.post(f"/courses/{course.id}/sessions/{session.id}/delete").status_code == 403


# --------------------------------------------------------------------------- staff override


def override_data(paper, session, slot=1, presenters=(), summarizers=(), **extra):
    data = {
        "paper_id": paper.id,
        "placement": f"{session.id}:{slot}",
        "presenters": [u.id for u in presenters],
        "summarizers": [u.id for u in summarizers],
        "review_deadline": "",
        "summary_deadline": "",
        "talk_minutes": "30",
        "qa_minutes": "15",
    }
    data.update(extra)
    return data


def test_staff_creates_presentation_with_groups_and_local_deadlines(course, staff, session, make, login_as, clock):
    a, b, c = (make.member(course, ROLE_STUDENT) for _ in range(3))
    paper = make.paper(course)
    resp = login_as(staff).post(
        f"/courses/{course.id}/presentations/new",
        data=override_data(
            paper, session, slot=2, presenters=[a, b], summarizers=[c],
            review_deadline="2026-03-08T20:00", summary_deadline="2026-03-10T12:00",
            talk_minutes="20", qa_minutes="10",
        ),
    )
    assert resp.status_code == 302
    [pres] = presentations(course)
    assert pres.slot == 2 and (pres.talk_minutes, pres.qa_minutes) == (20, 10)
    assert pres.review_deadline == datetime(2026, 3, 9, 0, 0, tzinfo=timezone.utc)  # 20:00 EDT
    assert pres.summary_deadline == datetime(2026, 3, 10, 16, 0, tzinfo=timezone.utc)
    assert pres.member_ids("presenting") == {a.id, b.id} and pres.member_ids("summary") == {c.id}
    assert db.session.query(AuditEvent).filter_by(kind="groups_changed", presentation_id=pres.id).count() == 1


def test_staff_moves_and_regroups_a_claimed_presentation(course, staff, student, session, make, login_as, clock):
    claim(login_as(student), course, make.paper(course, title="Claimed"), session)
    [pres] = presentations(course)
    later = make.session(course, starts_at=SESSION_AT + timedelta(days=7))
    other = make.member(course, ROLE_STUDENT, name="Other Student")
    writer = make.member(course, ROLE_STUDENT)
    client = login_as(staff)

    edit_page = client.get(f"/courses/{course.id}/presentations/{pres.id}/edit").get_data(as_text=True)
    assert 'value="2026-03-08T23:59"' in edit_page  # the deadline shown in course time

    resp = client.post(
        f"/courses/{course.id}/presentations/{pres.id}/edit",
        data=override_data(pres.paper, later, slot=1, presenters=[other], summarizers=[writer]),
    )
    assert resp.status_code == 302
    db.session.expire_all()
    pres = db.session.get(Presentation, pres.id)
    assert pres.session_id == later.id
    assert pres.member_ids("presenting") == {other.id} and pres.member_ids("summary") == {writer.id}
    # An empty deadline field means the default for the new session date.
    assert pres.review_deadline == datetime(2026, 3, 16, 3, 59, tzinfo=timezone.utc)

    schedule = login_as(student).get(f"/courses/{course.id}/schedule").get_data(as_text=True)
    assert "Mon 16 Mar 2026, 10:00 EDT" in schedule and "Other Student" in schedule


def test_staff_override_refuses_clashes_with_clear_messages(course, staff, session, make, login_as, clock):
    busy = make.member(course, ROLE_STUDENT, name="Busy Student")
    existing = make.presentation(course, session=session, presenters=[busy])  # slot 1
    both = make.member(course, ROLE_STUDENT)
    client = login_as(staff)

    page = client.post(
        f"/courses/{course.id}/presentations/new", data=override_data(existing.paper, session, slot=1)
    ).get_data(as_text=True)
    assert "That paper already has a presentation." in page and "That slot already holds a presentation." in page

    page = client.post(
        f"/courses/{course.id}/presentations/new",
        data=override_data(make.paper(course), session, slot=2, presenters=[busy]),
    ).get_data(as_text=True)
    assert "Busy Student already presents" in page

    page = client.post(
        f"/courses/{course.id}/presentations/new",
        data=override_data(make.paper(course), session, slot=2, presenters=[both], summarizers=[both]),
    ).get_data(as_text=True)
    assert "cannot be in both groups" in page
    assert len(presentations(course)) == 1


def test_staff_deletes_presentation_unless_reviews_exist(course, staff, session, make, login_as, clock):
    free = make.presentation(course, session=session)
    reviewed = make.presentation(course, session=session)
    make.review(reviewed, make.member(course, ROLE_STUDENT))
    client = login_as(staff)
    client.post(f"/courses/{course.id}/presentations/{free.id}/delete")
    resp = client.post(f"/courses/{course.id}/presentations/{reviewed.id}/delete", follow_redirects=True)
    assert "move it instead of deleting it" in resp.get_data(as_text=True)
    assert [p.id for p in presentations(course)] == [reviewed.id]


def test_ta_may_override_but_student_may_not(course, session, make, login_as, clock):
    ta = make.member(course, ROLE_TA)
    student = make.member(course, ROLE_STUDENT)
    paper = make.paper(course)
    assert login_as(student).post(
        f"/courses/{course.id}/presentations/new", data=override_data(paper, session)
    ).status_code == 403
    assert login_as(ta).post(
        f"/courses/{course.id}/presentations/new", data=override_data(paper, session)
    ).status_code == 302


# --------------------------------------------------------------------------- presentation page


def test_presentation_page_shows_paper_groups_deadlines(course, student, session, make, login_as, clock):
    presenter = make.member(course, name="Pat Presenter")
    pres = make.presentation(
        course, session=session, paper=make.paper(course, title="DistServe", venue="OSDI"), presenters=[presenter],
        review_deadline=datetime(2026, 3, 9, 3, 59, tzinfo=timezone.utc),
    )
    make.extension(pres, student, datetime(2026, 3, 11, 3, 59, tzinfo=timezone.utc))
    page = login_as(student).get(f"/courses/{course.id}/presentations/{pres.id}").get_data(as_text=True)
    assert "DistServe" in page and "Pat Presenter" in page and "OSDI" in page
    assert "Sun 8 Mar 2026, 23:59 EDT" in page
    assert "Your extended deadline" in page and "Tue 10 Mar 2026, 23:59 EDT" in page


def test_presentation_of_another_course_is_404(course, student, make, login_as):
    other = make.presentation(make.course())
    assert login_as(student).get(f"/courses/{course.id}/presentations/{other.id}").status_code == 404
    assert login_as(student).get(f"/courses/{other.course_id}/presentations/{other.id}").status_code == 404


# --------------------------------------------------------------------------- slides

PDF = b"%PDF-1.7\n" + b"0" * 1000
PPTX = b"PK\x03\x04" + b"0" * 1000


def post_slides(client, pres, **data):
    return client.post(
        f"/courses/{pres.course_id}/presentations/{pres.id}/slides",
        data=data,
        content_type="multipart/form-data",
    )


@pytest.fixture
def presented(course, student, session, make):
    return make.presentation(course, session=session, presenters=[student])


def test_slides_link_saved(presented, student, login_as):
    resp = post_slides(login_as(student), presented, slides_url="https://example.org/slides.pdf")
    assert resp.status_code == 302
    db.session.refresh(presented)
    assert presented.slides_url == "https://example.org/slides.pdf" and presented.slides_reused is False


def test_reused_slides_need_attribution(presented, student, login_as):
    client = login_as(student)
    resp = post_slides(client, presented, slides_url="https://example.org/s.pdf", slides_reused="y")
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "say where they come from" in page
    assert 'value="https://example.org/s.pdf"' in page  # nothing lost
    db.session.refresh(presented)
    assert presented.slides_url == ""

    resp = post_slides(
        client, presented, slides_url="https://example.org/s.pdf", slides_reused="y",
        slides_attribution="Authors' OSDI talk slides, usenix.org",
    )
    assert resp.status_code == 302
    db.session.refresh(presented)
    assert presented.slides_reused and presented.slides_attribution == "Authors' OSDI talk slides, usenix.org"
    page = login_as(student).get(f"/courses/{presented.course_id}/presentations/{presented.id}").get_data(as_text=True)
    assert "Reused slides. Origin: Authors&#39; OSDI talk slides, usenix.org" in page


def test_slides_url_must_be_http(presented, student, login_as):
    resp = post_slides(login_as(student), presented, slides_url="javascript:alert(1)")
    assert resp.status_code == 400 and "http:// or https://" in resp.get_data(as_text=True)


def test_upload_pdf_and_download_as_attachment_for_members_only(course, presented, student, make, login_as, uploads):
    resp = post_slides(login_as(student), presented, upload=(io.BytesIO(PDF), "my talk.pdf"))
    assert resp.status_code == 302
    db.session.refresh(presented)
    name = presented.slides_file
    assert name.startswith("slides-") and name.endswith(".pdf") and " " not in name
    assert (uploads / str(course.id) / str(presented.id) / name).read_bytes() == PDF

    classmate = make.member(course, ROLE_STUDENT)
    url = f"/courses/{course.id}/presentations/{presented.id}/slides/file"
    resp = login_as(classmate).get(url)
    assert resp.status_code == 200 and resp.data == PDF
    assert resp.headers["Content-Disposition"].startswith("attachment")

    stranger = make.user()
    assert login_as(stranger).get(url).status_code == 404
    other_course_staff = make.member(make.course(), ROLE_INSTRUCTOR)
    assert login_as(other_course_staff).get(url).status_code == 404


def test_slides_file_needs_login(presented, client):
    resp = client.get(f"/courses/{presented.course_id}/presentations/{presented.id}/slides/file")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_new_upload_replaces_old_file(course, presented, student, login_as, uploads):
    client = login_as(student)
    post_slides(client, presented, upload=(io.BytesIO(PDF), "a.pdf"))
    db.session.refresh(presented)
    first = presented.slides_file
    post_slides(client, presented, upload=(io.BytesIO(PPTX), "b.pptx"))
    db.session.refresh(presented)
    folder = uploads / str(course.id) / str(presented.id)
    assert presented.slides_file.endswith(".pptx") and not (folder / first).exists()
    assert [p.name for p in folder.iterdir()] == [presented.slides_file]


@pytest.mark.parametrize(
    "content, filename, message",
    [
        (b"MZ\x90\x00" + b"0" * 100, "virus.exe", "Upload a PDF, .pptx or .key file."),
        (b"<html>not a pdf</html>", "fake.pdf", "The file is not a valid .pdf file."),
        (b"%PDF-1.7\n" + b"0" * (8 * 1024 * 1024), "huge.pdf", "The file is larger than 8 MB."),
    ],
)
def test_upload_type_and_size_are_checked(presented, student, login_as, uploads, content, filename, message):
    resp = post_slides(login_as(student), presented, upload=(io.BytesIO(content), filename))
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    db.session.refresh(presented)
    assert presented.slides_file == "" and not uploads.exists()


def test_only_presenting_group_or_staff_attach_slides(course, presented, staff, make, login_as):
    critic = make.member(course, ROLE_STUDENT)
    assert post_slides(login_as(critic), presented, slides_url="https://x.org/s").status_code == 403
    assert post_slides(login_as(staff), presented, slides_url="https://x.org/s").status_code == 302


def test_no_slides_file_is_404(course, presented, student, login_as):
    assert login_as(student).get(f"/courses/{course.id}/presentations/{presented.id}/slides/file").status_code == 404


# --------------------------------------------------------------------------- summary


def post_summary(client, pres, text):
    return client.post(f"/courses/{pres.course_id}/presentations/{pres.id}/summary", data={"text": text})


def test_summary_before_deadline_is_visible_to_class(course, session, make, login_as, clock):
    writer, critic = make.member(course, ROLE_STUDENT), make.member(course, ROLE_STUDENT)
    pres = make.presentation(course, session=session, summarizers=[writer])
    pres.summary_deadline = T0 + timedelta(hours=1)
    db.session.commit()

    page = login_as(critic).get(f"/courses/{course.id}/presentations/{pres.id}").get_data(as_text=True)
    assert "has not submitted the summary yet" in page

    assert post_summary(login_as(writer), pres, "The paper shows X.").status_code == 302
    clock.to(T0 + timedelta(hours=1))  # exactly at the deadline is on time
    assert post_summary(login_as(writer), pres, "The paper shows X and Y.").status_code == 302
    db.session.refresh(pres)
    assert pres.summary_text == "The paper shows X and Y." and pres.summary_submitted_at == T0 + timedelta(hours=1)

    page = login_as(critic).get(f"/courses/{course.id}/presentations/{pres.id}").get_data(as_text=True)
    assert "The paper shows X and Y." in page


def test_late_summary_is_refused(course, session, make, login_as, clock):
    writer = make.member(course, ROLE_STUDENT)
    pres = make.presentation(course, session=session, summarizers=[writer])
    pres.summary_deadline = T0
    db.session.commit()
    clock.to(T0 + timedelta(seconds=1))
    resp = post_summary(login_as(writer), pres, "Too late.")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "The summary deadline (Mon 2 Mar 2026, 07:00 EST) has passed" in page
    assert "Too late." in page  # the text is kept on the page
    db.session.refresh(pres)
    assert pres.summary_text == "" and pres.summary_submitted_at is None
    page = login_as(writer).get(f"/courses/{course.id}/presentations/{pres.id}").get_data(as_text=True)
    assert "can no longer be changed" in page


def test_only_summary_group_writes_summary(course, presented, student, make, login_as):
    assert post_summary(login_as(student), presented, "I present, I do not summarise.").status_code == 403
    db.session.refresh(presented)
    assert presented.summary_submitted_at is None


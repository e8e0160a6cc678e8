"""Courses: creating a course, settings, roster (single add, CSV upload), join codes, course home."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain import accounts, roster
from tests.support.factories import ROLE_INSTRUCTOR, ROLE_STUDENT, ROLE_TA, T0, login
from core.extensions import db
from models import AuditEvent, Course, Enrollment, User
from domain.review_form import DEFAULT_REVIEW_FORM, format_review_form, parse_review_form, review_form_fields


def enrollment(course, user):
    return db.session.scalar(
        select(Enrollment).where(Enrollment.course_id == course.id, Enrollment.user_id == user.id)
    )


def role_of(course, user):
    e = enrollment(course, user)
    return e.role if e is not None else None


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def text(resp) -> str:
    return resp.get_data(as_text=True)


@pytest.fixture
def course(make):
    return make.course(title="Serving Systems", code="CS598")


@pytest.fixture
def instructor(make, course):
    return make.member(course, ROLE_INSTRUCTOR, name="Ida Instructor")


@pytest.fixture
def teacher(login_as, instructor):
    """A logged-in client of the course's instructor."""
    return login_as(instructor)


# --------------------------------------------------------------------------- create a course


def test_create_course_makes_creator_instructor(make, login_as):
    user = make.user("Creator", instructor=True)
    c = login_as(user)
    resp = c.post(
        "/courses/new",
        data={"code": "CS 598", "title": "GenAI Serving", "term": "Spring 2026", "timezone": "America/Chicago"},
    )
    assert resp.status_code == 302
    course = db.session.scalar(select(Course).where(Course.title == "GenAI Serving"))
    assert resp.headers["Location"].endswith(f"/courses/{course.id}")
    assert (course.code, course.term, course.timezone) == ("CS 598", "Spring 2026", "America/Chicago")
    assert role_of(course, user) == ROLE_INSTRUCTOR
    dashboard = text(c.get("/"))
    assert "GenAI Serving" in dashboard and "Instructor" in dashboard


def test_create_course_refuses_unknown_time_zone_and_keeps_input(make, login_as):
    c = login_as(make.user(instructor=True))
    resp = c.post("/courses/new", data={"code": "X1", "title": "Kept title", "timezone": "Mars/Olympus"})
    assert resp.status_code == 200
    assert "IANA time zone" in text(resp)
    assert 'value="Kept title"' in text(resp)
    assert count(Course) == 0


def test_dashboard_lists_only_my_courses_with_role(make, login_as, course):
    me = make.member(course, ROLE_TA)
    other = make.course(title="Someone Else's Course")
    make.member(other, ROLE_STUDENT)
    page = text(login_as(me).get("/"))
    assert "Serving Systems" in page and "TA" in page
    assert "Someone Else&#39;s Course" not in page and "Someone Else's Course" not in page


# --------------------------------------------------------------------------- settings

VALID_SETTINGS = {
    "title": "Serving Systems II",
    "term": "Fall 2026",
    "timezone": "Europe/Berlin",
    # The preview step's answer: the change to this zone was shown and is confirmed.
    "zone_change_confirmed": "Europe/Berlin",
    "join_enabled": "y",
    "presentation_group_size": "2",
    "project_group_max": "3",
    "talk_minutes": "25",
    "qa_minutes": "20",
    "late_policy": "accept",
    "late_penalty_per_day": "10",
    "grace_minutes": "15",
    "similarity_threshold": "0.5",
    "review_form": "summary | Summary | Say what it does | yes\nrisks | Risks | What could break | no",
}


def test_settings_page_shows_default_review_form(teacher, course):
    page = text(teacher.get(f"/courses/{course.id}/settings"))
    for line in format_review_form(list(DEFAULT_REVIEW_FORM)).splitlines():
        assert line in page
    assert "Questions for the authors" in page


def test_settings_save(teacher, course):
    resp = teacher.post(f"/courses/{course.id}/settings", data=VALID_SETTINGS)
    assert resp.status_code == 302
    db.session.refresh(course)
    assert course.title == "Serving Systems II" and course.timezone == "Europe/Berlin"
    assert (course.presentation_group_size, course.project_group_max) == (2, 3)
    assert (course.talk_minutes, course.qa_minutes, course.grace_minutes) == (25, 20, 15)
    assert course.late_policy == "accept" and course.late_penalty_per_day == 10.0
    assert course.similarity_threshold == 0.5 and course.join_enabled and not course.name_reviewers
    assert review_form_fields(course) == [
        {"key": "summary", "label": "Summary", "help": "Say what it does", "required": True},
        {"key": "risks", "label": "Risks", "help": "What could break", "required": False},
    ]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("timezone", "Europe/Atlantis", "IANA time zone"),
        ("timezone", "", "This field is required"),
        ("presentation_group_size", "5", "Choose 1 to 4 people"),
        ("presentation_group_size", "0", "Choose 1 to 4 people"),
        ("project_group_max", "7", "Choose 1 to 4 people"),
        ("late_penalty_per_day", "101", "Choose 0 to 100 percent"),
        ("late_penalty_per_day", "-1", "Choose 0 to 100 percent"),
        ("grace_minutes", "121", "Choose 0 to 120 minutes"),
        ("similarity_threshold", "0.99", "Choose 0.05 to 0.95"),
        ("similarity_threshold", "0.01", "Choose 0.05 to 0.95"),
        ("talk_minutes", "abc", "Not a valid integer value"),
        ("late_policy", "forgive", "Not a valid choice"),
        ("review_form", "", "at least one field"),
        ("review_form", "# only a comment", "at least one field"),
        ("review_form", "Bad Key | Label | help | yes", "must start with a lowercase letter"),
        ("review_form", "a | A | h | yes\na | B | h | no", "used twice"),
        ("review_form", "a | A | h | perhaps", "yes or no"),
        ("review_form", "a | A", "four parts"),
    ],
)
def test_settings_validation(teacher, course, field, value, message):
    before = (course.title, course.timezone, course.presentation_group_size, course.review_form)
    resp = teacher.post(f"/courses/{course.id}/settings", data={**VALID_SETTINGS, field: value})
    assert resp.status_code == 200
    page = text(resp)
    assert message in page
    assert 'value="Serving Systems II"' in page  # what was typed is kept
    db.session.refresh(course)
    assert (course.title, course.timezone, course.presentation_group_size, course.review_form) == before


def test_settings_with_fields_missing_are_refused_not_crashed(teacher, course):
    data = {k: v for k, v in VALID_SETTINGS.items() if k not in ("review_form", "talk_minutes", "join_enabled")}
    resp = teacher.post(f"/courses/{course.id}/settings", data=data)
    assert resp.status_code == 200
    assert "at least one field" in text(resp) and "Give a number" in text(resp)
    db.session.refresh(course)
    assert course.title == "Serving Systems" and course.join_enabled


def test_settings_ignore_fields_the_form_does_not_have(teacher, course, make):
    other = make.course()
    resp = teacher.post(
        f"/courses/{course.id}/settings",
        data={**VALID_SETTINGS, "course_id": str(other.id), "join_code": "HACKED12", "code": "EVIL"},
    )
    assert resp.status_code == 302
    db.session.refresh(course)
    db.session.refresh(other)
    assert course.join_code != "HACKED12" and course.code == "CS598"
    assert other.title != "Serving Systems II"


def test_ta_and_student_get_403_on_settings(make, login_as, course):
    for role in (ROLE_TA, ROLE_STUDENT):
        c = login_as(make.member(course, role))
        assert c.get(f"/courses/{course.id}/settings").status_code == 403
        assert c.post(f"/courses/{course.id}/settings", data=VALID_SETTINGS).status_code == 403
        assert c.post(f"/courses/{course.id}/settings/join-code").status_code == 403
    db.session.refresh(course)
    assert course.title == "Serving Systems"


def test_regenerate_join_code_retires_the_old_one(teacher, course, make, login_as):
    old = course.join_code
    assert teacher.post(f"/courses/{course.id}/settings/join-code").status_code == 302
    db.session.refresh(course)
    assert course.join_code != old and len(course.join_code) == 8
    c = login_as(make.user())
    assert "No course has this join code" in text(c.post("/join", data={"join_code": old}))
    resp = c.post("/join", data={"join_code": course.join_code})
    assert resp.status_code == 302


# --------------------------------------------------------------------------- access


def test_stranger_gets_404_on_every_course_page(make, login_as, course, instructor):
    c = login_as(make.user())
    cid, uid = course.id, instructor.id
    for url in (f"/courses/{cid}", f"/courses/{cid}/settings", f"/courses/{cid}/roster"):
        assert c.get(url).status_code == 404, url
    for url in (
        f"/courses/{cid}/settings",
        f"/courses/{cid}/settings/join-code",
        f"/courses/{cid}/roster/add",
        f"/courses/{cid}/roster/{uid}/role",
        f"/courses/{cid}/roster/{uid}/remove",
        f"/courses/{cid}/roster/import",
        f"/courses/{cid}/roster/import/confirm",
    ):
        assert c.post(url, data={"role": "student"}).status_code == 404, url
    assert c.get("/courses/99999").status_code == 404


def test_student_gets_403_on_roster_and_roster_changes(make, login_as, course, instructor):
    student = make.member(course, ROLE_STUDENT)
    c = login_as(student)
    cid = course.id
    assert c.get(f"/courses/{cid}/roster").status_code == 403
    assert c.post(f"/courses/{cid}/roster/add", data={"name": "X", "email": "x@example.edu"}).status_code == 403
    assert c.post(f"/courses/{cid}/roster/{instructor.id}/role", data={"role": "student"}).status_code == 403
    assert c.post(f"/courses/{cid}/roster/{instructor.id}/remove").status_code == 403
    assert c.post(f"/courses/{cid}/roster/{student.id}/role", data={"role": "instructor"}).status_code == 403
    assert c.post(f"/courses/{cid}/roster/import/confirm", data={"csv_text": "X,x@example.edu"}).status_code == 403
    assert role_of(course, instructor) == ROLE_INSTRUCTOR and role_of(course, student) == ROLE_STUDENT
    assert count(User, User.email == "x@example.edu") == 0


def test_ta_sees_roster_but_cannot_change_it(make, login_as, course, instructor):
    ta = make.member(course, ROLE_TA, name="Tom Assistant")
    c = login_as(ta)
    page = text(c.get(f"/courses/{course.id}/roster"))
    assert "Ida Instructor" in page and "Tom Assistant" in page
    assert "Add a person" not in page and "Remove" not in page
    assert c.post(f"/courses/{course.id}/roster/{ta.id}/role", data={"role": "instructor"}).status_code == 403
    assert role_of(course, ta) == ROLE_TA


# --------------------------------------------------------------------------- roster list


def test_roster_filters_by_role_and_name(teacher, course, make):
    make.member(course, ROLE_STUDENT, name="Alice Student")
    make.member(course, ROLE_STUDENT, name="Bob Student")
    make.member(course, ROLE_TA, name="Tara Assistant")
    tas = text(teacher.get(f"/courses/{course.id}/roster?role=ta"))
    assert "Tara Assistant" in tas and "Alice Student" not in tas
    by_name = text(teacher.get(f"/courses/{course.id}/roster?q=alice"))
    assert "Alice Student" in by_name and "Bob Student" not in by_name


def test_roster_pages_after_fifty(teacher, course, make):
    for i in range(60):
        make.member(course, ROLE_STUDENT, name=f"Student {i:02d}")
    first = text(teacher.get(f"/courses/{course.id}/roster?role=student"))
    second = text(teacher.get(f"/courses/{course.id}/roster?role=student&page=2"))
    assert "Student 00" in first and "Student 49" in first and "Student 50" not in first
    assert "Student 50" in second and "Student 59" in second and "Student 00" not in second
    assert "Page 1 of 2" in first
    assert "role=student" in re.search(r'href="([^"]*page=2[^"]*)"', first).group(1)


# --------------------------------------------------------------------------- add one person


def test_add_new_person_creates_account_with_one_time_password(teacher, course, app):
    resp = teacher.post(
        f"/courses/{course.id}/roster/add", data={"name": "New Person", "email": "New@Example.edu", "role": "ta"}
    )
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    user = db.session.scalar(select(User).where(User.email == "new@example.edu"))
    assert user is not None and user.display_name == "New Person"
    assert role_of(course, user) == ROLE_TA
    password = re.search(r'<code class="secret">([^<]+)</code>', text(resp)).group(1)
    assert len(password) >= 12
    assert password not in text(teacher.get(f"/courses/{course.id}/roster"))
    login(app.test_client(), user, password)


def test_add_existing_account_enrolls_it_without_new_password(teacher, course, make):
    existing = make.user("Already Here", email="here@example.edu")
    resp = teacher.post(
        f"/courses/{course.id}/roster/add", data={"name": "Other Name", "email": "here@example.edu", "role": "student"}
    )
    assert resp.status_code == 302
    assert role_of(course, existing) == ROLE_STUDENT
    db.session.refresh(existing)
    assert existing.display_name == "Already Here"
    assert count(User, User.email == "here@example.edu") == 1


def test_add_already_enrolled_person_is_a_clear_error(teacher, course, make):
    student = make.member(course, ROLE_STUDENT, name="Sam Student")
    resp = teacher.post(
        f"/courses/{course.id}/roster/add", data={"name": "Sam", "email": student.email, "role": "instructor"}
    )
    assert resp.status_code == 200
    assert "is already enrolled in this course" in text(resp)
    assert role_of(course, student) == ROLE_STUDENT
    assert count(Enrollment, Enrollment.user_id == student.id) == 1


def test_add_person_validates_fields(teacher, course):
    resp = teacher.post(f"/courses/{course.id}/roster/add", data={"name": "", "email": "not-an-email", "role": "boss"})
    page = text(resp)
    assert resp.status_code == 200
    assert "This field is required" in page and "Not a valid choice" in page
    assert "“not-an-email” is not a valid email address: An email address must have an @-sign." in page
    assert count(User, User.email == "not-an-email") == 0


def test_add_person_course_id_tampering_is_ignored(teacher, course, make):
    other = make.course()
    teacher.post(
        f"/courses/{course.id}/roster/add",
        data={"name": "P", "email": "p@example.edu", "role": "student", "course_id": str(other.id)},
    )
    user = db.session.scalar(select(User).where(User.email == "p@example.edu"))
    assert role_of(course, user) == ROLE_STUDENT and role_of(other, user) is None


# --------------------------------------------------------------------------- roles and removal


def test_last_instructor_cannot_be_demoted_or_removed(teacher, course, instructor):
    resp = teacher.post(f"/courses/{course.id}/roster/{instructor.id}/role", data={"role": "student"})
    assert resp.status_code == 302
    assert "A course needs an instructor" in text(teacher.get(resp.headers["Location"]))
    assert role_of(course, instructor) == ROLE_INSTRUCTOR
    teacher.post(f"/courses/{course.id}/roster/{instructor.id}/remove")
    assert role_of(course, instructor) == ROLE_INSTRUCTOR
    assert count(AuditEvent) == 0


def test_role_change_is_audited_and_applies(teacher, course, instructor, make, login_as):
    student = make.member(course, ROLE_STUDENT)
    assert teacher.post(f"/courses/{course.id}/roster/{student.id}/role", data={"role": "instructor"}).status_code == 302
    assert role_of(course, student) == ROLE_INSTRUCTOR
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "roster.role_change"))
    assert (event.course_id, event.actor_id, event.subject_id) == (course.id, instructor.id, student.id)
    assert event.detail == {"old": "student", "new": "instructor"}
    # With a second instructor, the first may step down (and loses the settings page).
    teacher.post(f"/courses/{course.id}/roster/{instructor.id}/role", data={"role": "ta"})
    assert role_of(course, instructor) == ROLE_TA
    assert teacher.get(f"/courses/{course.id}/settings").status_code == 403
    assert login_as(student).get(f"/courses/{course.id}/settings").status_code == 200


def test_remove_member_is_audited_and_takes_access_away(teacher, course, instructor, make, login_as):
    student = make.member(course, ROLE_STUDENT)
    c = login_as(student)
    assert c.get(f"/courses/{course.id}").status_code == 200
    assert teacher.post(f"/courses/{course.id}/roster/{student.id}/remove").status_code == 302
    assert role_of(course, student) is None
    assert c.get(f"/courses/{course.id}").status_code == 404
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "roster.remove"))
    assert (event.actor_id, event.subject_id, event.detail) == (instructor.id, student.id, {"role": "student"})


def test_role_change_for_a_member_of_another_course_is_404(teacher, course, make):
    other = make.course()
    outsider = make.member(other, ROLE_STUDENT)
    assert teacher.post(f"/courses/{course.id}/roster/{outsider.id}/role", data={"role": "ta"}).status_code == 404
    assert teacher.post(f"/courses/{course.id}/roster/{outsider.id}/remove").status_code == 404
    assert role_of(other, outsider) == ROLE_STUDENT


# --------------------------------------------------------------------------- CSV upload


def upload(client, course, csv_text: str):
    return client.post(
        f"/courses/{course.id}/roster/import",
        data={"roster_file": (io.BytesIO(csv_text.encode("utf-8")), "roster.csv")},
        content_type="multipart/form-data",
    )


def confirm(client, course, csv_text: str):
    return client.post(
        f"/courses/{course.id}/roster/import/confirm", data={"csv_text": csv_text}, content_type="multipart/form-data"
    )


def preview_rows(resp) -> dict[str, str]:
    """Row number → the text of its table row."""
    body = text(resp).split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = {}
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td>(.*?)</td>", tr, re.S)
        rows[cells[0].strip()] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", tr)).strip()
    return rows


def test_csv_preview_lists_every_problem_per_row_and_imports_nothing(teacher, course, make):
    enrolled = make.member(course, ROLE_STUDENT, name="Enrolled Already")
    csv_text = (
        "name,email,role\n"
        "Good One,good1@example.edu,student\n"
        "Bad Mail,not-an-email,student\n"
        ",noname@example.edu,\n"
        "Twice,good1@example.edu,student\n"
        f"Enrolled,{enrolled.email},ta\n"
        "Who,who@example.edu,professor\n"
        "Good Two,good2@example.edu,\n"
    )
    users_before = count(User)
    resp = upload(teacher, course, csv_text)
    assert resp.status_code == 200
    rows = preview_rows(resp)
    assert set(rows) == {"2", "3", "4", "5", "6", "7", "8"}
    assert "New account" in rows["2"] and "New account" in rows["8"]
    assert "not a valid email address" in rows["3"]
    assert "Name is missing" in rows["4"]
    assert "Duplicate: the same email is on row 2" in rows["5"]
    assert "Already enrolled in this course (as Student)" in rows["6"]
    assert "Unknown role" in rows["7"]
    assert "5 of 7 rows have problems" in text(resp)
    assert "/roster/import/confirm" not in text(resp)  # no confirm button
    # Even forcing the confirm step imports nothing: the file is checked again.
    resp = confirm(teacher, course, csv_text)
    assert resp.status_code == 409
    assert "Nothing was imported" in text(resp)
    assert count(User) == users_before
    assert count(Enrollment, Enrollment.course_id == course.id) == 2
    assert count(User, User.email.in_(["good1@example.edu", "good2@example.edu"])) == 0


def test_csv_duplicate_email_in_file_differs_only_by_case(teacher, course):
    resp = upload(teacher, course, "Ann,ann@example.edu\nAnn Again, ANN@example.edu \n")
    rows = preview_rows(resp)
    assert "New account" in rows["1"]
    assert "Duplicate: the same email is on row 1" in rows["2"]
    assert count(User, User.email == "ann@example.edu") == 0


def test_csv_valid_import_creates_users_and_enrollments(teacher, course, make, app):
    existing = make.user("Existing Person", email="existing@example.edu")
    csv_text = "Nia New,nia@example.edu\nTed Helper,ted@example.edu,TA\nX,existing@example.edu,student\n"
    resp = upload(teacher, course, csv_text)
    assert resp.status_code == 200
    rows = preview_rows(resp)
    assert "Existing account (Existing Person)" in rows["3"]
    assert "Import 3 people" in text(resp)
    assert count(User, User.email == "nia@example.edu") == 0  # the preview imports nothing
    hidden = re.search(r'name="csv_text"[^>]*value="([^"]*)"', text(resp)) or re.search(
        r'value="([^"]*)"[^>]*name="csv_text"', text(resp)
    )
    assert hidden is not None  # the file travels in the confirm form, not in a temp file

    resp = confirm(teacher, course, csv_text)
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    nia = db.session.scalar(select(User).where(User.email == "nia@example.edu"))
    ted = db.session.scalar(select(User).where(User.email == "ted@example.edu"))
    assert (role_of(course, nia), role_of(course, ted), role_of(course, existing)) == (
        ROLE_STUDENT,
        ROLE_TA,
        ROLE_STUDENT,
    )
    passwords = dict(re.findall(r"<td>([^<]+@example\.edu)</td><td><code class=\"secret\">([^<]+)</code>", text(resp)))
    assert set(passwords) == {"nia@example.edu", "ted@example.edu"}
    login(app.test_client(), nia, passwords["nia@example.edu"])
    # Confirming twice imports nothing more: everyone is enrolled now.
    assert confirm(teacher, course, csv_text).status_code == 409
    assert count(Enrollment, Enrollment.course_id == course.id) == 4


def test_csv_import_failing_midway_leaves_nothing_behind(teacher, course, monkeypatch):
    real_hash, calls = accounts.hash_password, []

    def failing_hash(password):
        calls.append(password)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_hash(password)

    monkeypatch.setattr(accounts, "hash_password", failing_hash)
    resp = confirm(teacher, course, "One,one@example.edu\nTwo,two@example.edu\nThree,three@example.edu\n")
    assert resp.status_code == 500 and len(calls) == 2
    assert count(User, User.email.in_(["one@example.edu", "two@example.edu", "three@example.edu"])) == 0
    assert count(Enrollment, Enrollment.course_id == course.id) == 1


def test_csv_import_conflicting_at_commit_imports_nothing(teacher, course, monkeypatch):
    real_import = roster.import_rows

    def racing_import(course_, rows, **kw):
        imported = real_import(course_, rows, **kw)
        # As if another request enrolled the first person between the check and the commit.
        db.session.add(Enrollment(user=imported[0][0].user, course=course_, role=ROLE_STUDENT))
        return imported

    monkeypatch.setattr(roster, "import_rows", racing_import)
    resp = confirm(teacher, course, "One,one@example.edu\nTwo,two@example.edu\n")
    assert resp.status_code == 409 and "Nothing was imported" in text(resp)
    assert count(User, User.email.in_(["one@example.edu", "two@example.edu"])) == 0
    assert count(Enrollment, Enrollment.course_id == course.id) == 1


def test_csv_header_may_reorder_columns(teacher, course):
    csv_text = "\ufeffemail,role,name\nzoe@example.edu,instructor,Zoe Z\n"
    rows = preview_rows(upload(teacher, course, csv_text))
    assert "Zoe Z" in rows["2"] and "Instructor" in rows["2"] and "New account" in rows["2"]
    confirm(teacher, course, csv_text.lstrip("\ufeff"))
    zoe = db.session.scalar(select(User).where(User.email == "zoe@example.edu"))
    assert role_of(course, zoe) == ROLE_INSTRUCTOR


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"", "Choose a CSV file"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
        (b"name,email,phone\nA,a@example.edu,123\n", "The header row must name the columns"),
        (b"name,email\n", "no people in it"),
    ],
)
def test_csv_unusable_files(teacher, course, payload, message):
    resp = teacher.post(
        f"/courses/{course.id}/roster/import",
        data={"roster_file": (io.BytesIO(payload), "roster.csv")} if payload else {},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200
    assert message in text(resp)
    assert count(Enrollment, Enrollment.course_id == course.id) == 1


# --------------------------------------------------------------------------- join code


def test_join_with_code_enrolls_as_student_whatever_role_is_posted(make, login_as, course):
    user = make.user()
    c = login_as(user)
    resp = c.post("/join", data={"join_code": f" {course.join_code.lower()} ", "role": "instructor"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/courses/{course.id}")
    assert role_of(course, user) == ROLE_STUDENT


def test_join_course_id_field_is_ignored(make, login_as, course):
    other = make.course(join_enabled=False)
    user = make.user()
    login_as(user).post("/join", data={"join_code": course.join_code, "course_id": str(other.id)})
    assert role_of(course, user) == ROLE_STUDENT and role_of(other, user) is None


@pytest.mark.parametrize(
    "setup, message",
    [
        ("bad", "No course has this join code"),
        ("disabled", "not accepting students with its join code"),
        ("enrolled", "You are already enrolled in Serving Systems"),
    ],
)
def test_join_errors(make, login_as, course, setup, message):
    user = make.user()
    code = course.join_code
    if setup == "bad":
        code = "ZZZZ9999"
    elif setup == "disabled":
        course.join_enabled = False
        db.session.commit()
    else:
        make.enroll(user, course, ROLE_TA)
    resp = login_as(user).post("/join", data={"join_code": code})
    assert resp.status_code == 200
    assert message in text(resp)
    assert role_of(course, user) == (ROLE_TA if setup == "enrolled" else None)


# --------------------------------------------------------------------------- course home


def test_home_shows_student_todo_with_personal_deadlines(make, login_as, course, clock):
    student = make.member(course, ROLE_STUDENT)
    classmate = make.member(course, ROLE_STUDENT)
    open_one = make.presentation(course, review_deadline=T0 + timedelta(days=2), paper=make.paper(course, title="Open Paper"))
    extended = make.presentation(course, review_deadline=T0 - timedelta(days=1), paper=make.paper(course, title="Extended Paper"))
    make.extension(extended, student, T0 + timedelta(days=3))
    done = make.presentation(course, paper=make.paper(course, title="Done Paper"))
    make.review(done, student, submitted_at=T0 - timedelta(hours=1))
    make.presentation(course, presenters=[student], paper=make.paper(course, title="My Own Paper"))
    make.presentation(course, review_deadline=T0 - timedelta(days=1), paper=make.paper(course, title="Closed Paper"))
    make.review(open_one, classmate, submitted_at=T0 - timedelta(hours=2))

    page = text(login_as(student).get(f"/courses/{course.id}"))
    todo = page.split('id="todo-heading"', 1)[1].split("</section>", 1)[0]
    assert "Open Paper" in todo and "Extended Paper" in todo
    assert "Done Paper" not in todo and "My Own Paper" not in todo and "Closed Paper" not in todo
    # The personal deadline (extension) is shown, in the course's zone, with a countdown.
    assert 'datetime="2026-03-05T12:00:00Z"' in todo
    assert "Thu 5 Mar 2026, 07:00 EST" in todo
    assert 'class="countdown"' in todo
    # Nothing about other students' reviews and no staff material reaches the student.
    assert course.join_code not in page
    assert classmate.display_name not in page


def test_home_notes_grace_period_and_late_acceptance(make, login_as, course, clock):
    course.grace_minutes = 10
    course.late_policy = "accept"
    db.session.commit()
    student = make.member(course, ROLE_STUDENT)
    make.presentation(course, review_deadline=T0 - timedelta(hours=1), paper=make.paper(course, title="Late Paper"))
    page = text(login_as(student).get(f"/courses/{course.id}"))
    assert "up to 10 minutes after a deadline" in page
    assert "Late Paper" in page and "marked late" in page


def test_home_lists_upcoming_sessions_with_paper_titles(make, login_as, course, instructor, clock):
    past = make.session(course, starts_at=T0 - timedelta(days=2))
    make.presentation(course, session=past, paper=make.paper(course, title="Past Paper"))
    soon = make.session(course, starts_at=T0 + timedelta(days=2))
    make.presentation(course, session=soon, paper=make.paper(course, title="Soon Paper A"))
    make.presentation(course, session=soon, paper=make.paper(course, title="Soon Paper B"))
    student = make.member(course, ROLE_STUDENT)
    page = text(login_as(student).get(f"/courses/{course.id}"))
    sessions = page.split('id="sessions-heading"', 1)[1].split("</section>", 1)[0]
    assert "Soon Paper A" in sessions and "Soon Paper B" in sessions and "Past Paper" not in sessions
    assert "Wed 4 Mar 2026, 07:00 EST" in sessions


def test_home_shows_join_code_and_links_to_staff(make, login_as, course, teacher):
    page = text(teacher.get(f"/courses/{course.id}"))
    assert course.join_code in page
    assert f"/courses/{course.id}/settings" in page and f"/courses/{course.id}/roster" in page
    ta_page = text(login_as(make.member(course, ROLE_TA)).get(f"/courses/{course.id}"))
    assert course.join_code in ta_page and f"/courses/{course.id}/settings" not in ta_page


# --------------------------------------------------------------------------- review form module


def test_review_form_round_trip_and_default():
    default = review_form_fields(Course(review_form=[]))
    assert [f["key"] for f in default] == ["summary", "strengths", "weaknesses", "questions"]
    assert default[3]["label"] == "Questions for the authors"
    fields, errors = parse_review_form(format_review_form(default))
    assert errors == [] and fields == default


def test_review_form_help_may_contain_a_bar_and_blank_lines_are_skipped():
    fields, errors = parse_review_form("\n  notes | Notes | either | or | no  \n\n")
    assert errors == []
    assert fields == [{"key": "notes", "label": "Notes", "help": "either | or", "required": False}]

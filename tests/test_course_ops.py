"""The instructor's day: time zone changes, paper reservations, summary groups, who creates
courses, special-use roster addresses, temporary passwords, reviews hidden by a group move,
and moderation actions in the audit log."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from core.extensions import db
from domain import accounts, courses, policy, signup
from domain.panel import commands
from models import (
    MEMBER_PRESENTING,
    MEMBER_SUMMARY,
    PAPER_APPROVED,
    AuditEvent,
    Course,
    IssuedCredential,
    Presentation,
)
from tests.support.factories import PASSWORD, ROLE_INSTRUCTOR, ROLE_STUDENT, ROLE_TA, T0, Factory, login
from tests.support.panel import PanelCast, apply, new_cid

UTC = timezone.utc


def text(resp) -> str:
    return resp.get_data(as_text=True)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def fresh(obj):
    db.session.refresh(obj)
    return obj


# --------------------------------------------------------------------------- 10. changing the time zone

SETTINGS = {
    "title": "Serving Systems",
    "term": "Spring 2026",
    "join_enabled": "y",
    "presentation_group_size": "1",
    "project_group_max": "2",
    "talk_minutes": "30",
    "qa_minutes": "15",
    "late_policy": "refuse",
    "late_penalty_per_day": "0",
    "grace_minutes": "0",
    "similarity_threshold": "0.35",
    "review_form": "summary | Summary | Say what it does | yes",
}

# Monday 16 March 2026, 14:00 UTC: Toronto is on EDT (UTC-4) by then.
AHEAD = datetime(2026, 3, 16, 14, 0, tzinfo=UTC)


@pytest.fixture
def utc_course(make, clock):
    course = make.course(timezone="UTC", title="Serving Systems")
    teacher = make.member(course, ROLE_INSTRUCTOR)
    past = make.session(course, starts_at=T0 - timedelta(days=7))
    ahead = make.session(course, starts_at=AHEAD)
    presentation = make.presentation(course, session=ahead, review_deadline=AHEAD - timedelta(hours=2))
    return course, teacher, past, ahead, presentation


def test_changing_the_zone_shows_what_moves_and_saves_nothing_yet(utc_course, login_as):
    course, teacher, past, ahead, presentation = utc_course
    c = login_as(teacher)
    resp = c.post(f"/courses/{course.id}/settings", data={**SETTINGS, "timezone": "America/Toronto"})
    page = text(resp)
    assert resp.status_code == 200
    assert "Changing the time zone from UTC to America/Toronto" in page
    # The session ahead: 14:00 now; kept local → 14:00 EDT (the moment 4 h later); kept moment → 10:00 EDT.
    row = re.search(r"<th scope=\"row\">Class session</th>(.*?)</tr>", page, re.S).group(1)
    assert "Mon 16 Mar 2026, 14:00 UTC" in row
    assert "Mon 16 Mar 2026, 14:00 EDT" in row and "moves 4 h later" in row
    assert "Mon 16 Mar 2026, 10:00 EDT" in row
    assert "Review deadline — " + presentation.paper.title in page
    assert page.count('<th scope="row">Class session</th>') == 1  # the past session is not listed
    assert 'value="America/Toronto"' in page and 'name="zone_change_confirmed"' in page
    assert fresh(course).timezone == "UTC"
    assert fresh(ahead).starts_at == AHEAD


def test_keeping_local_times_moves_what_is_ahead(utc_course, login_as):
    course, teacher, past, ahead, presentation = utc_course
    c = login_as(teacher)
    resp = c.post(
        f"/courses/{course.id}/settings",
        data={**SETTINGS, "timezone": "America/Toronto", "zone_change_confirmed": "America/Toronto",
              "zone_change": courses.KEEP_LOCAL_TIMES},
    )
    assert resp.status_code == 302
    assert fresh(course).timezone == "America/Toronto"
    assert fresh(ahead).starts_at == AHEAD + timedelta(hours=4)  # still 14:00 on the wall
    assert fresh(presentation).review_deadline == AHEAD + timedelta(hours=2)
    assert fresh(past).starts_at == T0 - timedelta(days=7)  # what happened stays
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "course.timezone_changed"))
    assert event.detail == {"old": "UTC", "new": "America/Toronto", "kept": "local", "moved": 2}
    assert "kept their local times" in text(c.get(f"/courses/{course.id}/settings"))


def test_keeping_instants_moves_nothing_stored(utc_course, login_as):
    course, teacher, past, ahead, presentation = utc_course
    c = login_as(teacher)
    resp = c.post(
        f"/courses/{course.id}/settings",
        data={**SETTINGS, "timezone": "America/Toronto", "zone_change_confirmed": "America/Toronto",
              "zone_change": courses.KEEP_INSTANTS},
    )
    assert resp.status_code == 302
    assert fresh(course).timezone == "America/Toronto"
    assert fresh(ahead).starts_at == AHEAD
    assert fresh(presentation).review_deadline == AHEAD - timedelta(hours=2)
    assert "10:00 EDT" in text(c.get(f"/courses/{course.id}/schedule"))


def test_a_confirmation_for_another_zone_previews_again(utc_course, login_as):
    course, teacher, *_ = utc_course
    c = login_as(teacher)
    resp = c.post(
        f"/courses/{course.id}/settings",
        data={**SETTINGS, "timezone": "Europe/Berlin", "zone_change_confirmed": "America/Toronto"},
    )
    assert resp.status_code == 200 and "from UTC to Europe/Berlin" in text(resp)
    assert fresh(course).timezone == "UTC"


def test_same_local_time_follows_daylight_saving():
    # 09:00 in New York on 9 March 2026 (EDT) is 09:00 in Berlin (CET): 13:00 UTC → 08:00 UTC.
    at = datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    assert courses.same_local_time(at, "America/New_York", "Europe/Berlin") == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)


def test_zone_field_is_a_searchable_picker_and_new_courses_start_in_the_browser_zone(make, login_as, utc_course):
    course, teacher, *_ = utc_course
    teacher.is_instructor = True
    db.session.commit()
    c = login_as(teacher)
    for page in (text(c.get("/")), text(c.get(f"/courses/{course.id}/settings"))):
        assert 'list="iana-zones"' in page and '<datalist id="iana-zones">' in page
        assert '<option value="America/Toronto">' in page and '<option value="Asia/Kolkata">' in page
    dashboard = text(c.get("/"))
    assert 'data-browser-zone="fill"' in dashboard and "js/browser_zone.js" in dashboard
    assert re.search(r'id="timezone"[^>]*value="UTC"', dashboard)  # the server default without script
    refused = text(c.post("/courses/new", data={"code": "X1", "title": "T", "timezone": "Mars/Olympus"}))
    assert 'data-browser-zone="kept"' in refused and 'data-browser-zone="fill"' not in refused


# --------------------------------------------------------------------------- 11. reserved proposals


@pytest.fixture
def signup_world(make, clock):
    course = make.course(timezone="America/New_York")
    proposer = make.member(course, ROLE_STUDENT, name="Pia Proposer")
    other = make.member(course, ROLE_STUDENT, name="Olaf Other")
    proposed = make.paper(course, title="Proposed Paper", status=PAPER_APPROVED, proposed_by_id=proposer.id)
    listed = make.paper(course, title="Listed Paper")
    session = make.session(course, starts_at=T0 + timedelta(days=7), slots=3)
    return course, proposer, other, proposed, listed, session


def claim(client, course, paper, session, slot):
    return client.post(
        f"/courses/{course.id}/signup", data={"paper_id": str(paper.id), "placement": f"{session.id}:{slot}"}
    )


def test_an_approved_proposal_is_reserved_for_its_proposer(signup_world, login_as):
    course, proposer, other, proposed, listed, session = signup_world
    assert signup.reserved_for(proposed) == proposer.id and signup.reserved_for(listed) is None
    c = login_as(other)
    page = text(c.get(f"/courses/{course.id}/signup"))
    assert "Listed Paper" in page and "Proposed Paper" not in page
    resp = claim(c, course, proposed, session, 1)
    assert resp.status_code == 409 and signup.PAPER_RESERVED in text(resp)
    assert count(Presentation) == 0

    mine = login_as(proposer)
    page = text(mine.get(f"/courses/{course.id}/signup"))
    assert "Your proposed paper is reserved for you" in page and "Proposed Paper (Batching) — reserved for you" in page
    assert claim(mine, course, proposed, session, 1).status_code == 302
    assert signup.presenting_in(course.id, proposer.id).paper_id == proposed.id


def test_the_proposer_releases_the_reservation(signup_world, login_as):
    course, proposer, other, proposed, listed, session = signup_world
    mine = login_as(proposer)
    resp = mine.post(f"/courses/{course.id}/signup/release/{proposed.id}")
    assert resp.status_code == 302
    assert fresh(proposed).reservation_released and signup.reserved_for(proposed) is None
    assert "no longer reserved" in text(mine.get(f"/courses/{course.id}/signup"))
    c = login_as(other)
    assert "Proposed Paper" in text(c.get(f"/courses/{course.id}/signup"))
    assert claim(c, course, proposed, session, 2).status_code == 302


def test_only_the_proposer_releases(signup_world, login_as):
    course, proposer, other, proposed, listed, session = signup_world
    c = login_as(other)
    c.post(f"/courses/{course.id}/signup/release/{proposed.id}")
    assert not fresh(proposed).reservation_released


def test_a_reservation_lapses_when_the_proposer_presents_another_paper(signup_world, login_as):
    course, proposer, other, proposed, listed, session = signup_world
    assert claim(login_as(proposer), course, listed, session, 1).status_code == 302
    assert signup.reserved_for(proposed) is None
    assert claim(login_as(other), course, proposed, session, 2).status_code == 302


# --------------------------------------------------------------------------- 12. summary groups


@pytest.fixture
def summary_world(make, clock):
    course = make.course(timezone="America/New_York", presentation_group_size=2)
    teacher = make.member(course, ROLE_INSTRUCTOR)
    presenter = make.member(course, name="Pat Presenter")
    writer = make.member(course, name="Wren Writer")
    critic = make.member(course, name="Cora Critic")
    covered = make.presentation(course, presenters=[presenter], summarizers=[writer])
    bare = make.presentation(course, presenters=[critic])
    return course, teacher, presenter, writer, critic, covered, bare


def summary_ids(presentation) -> list[int]:
    db.session.expire_all()
    return [m.user_id for m in sorted(presentation.members, key=lambda m: m.seat) if m.kind == MEMBER_SUMMARY]


def test_staff_see_which_presentations_lack_a_summary_group(summary_world, login_as):
    course, teacher, presenter, writer, critic, covered, bare = summary_world
    page = text(login_as(teacher).get(f"/courses/{course.id}/summary-groups"))
    warning = re.search(r"lacks a summary group:(.*?)</p>", page, re.S).group(1)
    assert bare.paper.title in warning and covered.paper.title not in warning
    assert f'href="#summary-{bare.id}-row"' in page


def test_staff_assign_every_summary_group_in_one_form(summary_world, login_as):
    course, teacher, presenter, writer, critic, covered, bare = summary_world
    c = login_as(teacher)
    resp = c.post(
        f"/courses/{course.id}/summary-groups",
        data={"shown": [str(covered.id), str(bare.id)],
              f"summary-{covered.id}": [str(writer.id)], f"summary-{bare.id}": [str(presenter.id), str(writer.id)]},
    )
    assert resp.status_code == 302
    assert summary_ids(bare) == [presenter.id, writer.id]
    assert summary_ids(covered) == [writer.id]
    assert [m.user_id for m in fresh(bare).members if m.kind == MEMBER_PRESENTING] == [critic.id]
    assert count(AuditEvent, AuditEvent.kind == "groups_changed", AuditEvent.presentation_id == bare.id) == 1
    assert "No summary group" not in text(c.get(f"/courses/{course.id}/summary-groups"))


def test_a_presenter_cannot_write_their_own_summary_and_nothing_is_saved(summary_world, login_as):
    course, teacher, presenter, writer, critic, covered, bare = summary_world
    resp = login_as(teacher).post(
        f"/courses/{course.id}/summary-groups",
        data={"shown": [str(covered.id), str(bare.id)],
              f"summary-{covered.id}": [str(writer.id), str(critic.id)], f"summary-{bare.id}": [str(critic.id)]},
    )
    assert resp.status_code == 400
    assert "Cora Critic presents this paper" in text(resp)
    assert summary_ids(covered) == [writer.id] and summary_ids(bare) == []


def test_a_presentation_the_page_did_not_show_keeps_its_group(summary_world, login_as):
    course, teacher, presenter, writer, critic, covered, bare = summary_world
    resp = login_as(teacher).post(
        f"/courses/{course.id}/summary-groups", data={"shown": [str(bare.id)], f"summary-{bare.id}": [str(presenter.id)]}
    )
    assert resp.status_code == 302
    assert summary_ids(covered) == [writer.id] and summary_ids(bare) == [presenter.id]
    # Shown and left empty: the group is cleared on purpose.
    login_as(teacher).post(f"/courses/{course.id}/summary-groups", data={"shown": [str(covered.id)]})
    assert summary_ids(covered) == []


def test_students_cannot_assign_summary_groups(summary_world, login_as):
    course, teacher, presenter, writer, critic, covered, bare = summary_world
    c = login_as(writer)
    assert c.get(f"/courses/{course.id}/summary-groups").status_code == 403
    attempt = {"shown": [str(bare.id)], f"summary-{bare.id}": [str(writer.id)]}
    assert c.post(f"/courses/{course.id}/summary-groups", data=attempt).status_code == 403
    assert summary_ids(bare) == []


def test_students_volunteer_while_a_group_has_room(summary_world, login_as, make):
    course, teacher, presenter, writer, critic, covered, bare = summary_world
    c = login_as(presenter)
    page = text(c.get(f"/courses/{course.id}/signup"))
    assert "Volunteer to write a summary" in page and bare.paper.title in page
    resp = c.post(f"/courses/{course.id}/presentations/{bare.id}/summary/volunteer")
    assert resp.status_code == 302
    assert summary_ids(bare) == [presenter.id]
    # The critic presents it; a third student fills the group; a fourth finds it full.
    assert login_as(critic).post(f"/courses/{course.id}/presentations/{bare.id}/summary/volunteer").status_code == 302
    assert summary_ids(bare) == [presenter.id]
    third = make.member(course, name="Theo Third")
    login_as(third).post(f"/courses/{course.id}/presentations/{bare.id}/summary/volunteer")
    fourth = make.member(course, name="Fay Fourth")
    resp = login_as(fourth).post(f"/courses/{course.id}/presentations/{bare.id}/summary/volunteer", follow_redirects=True)
    assert "This summary group is full" in text(resp)
    assert summary_ids(bare) == [presenter.id, third.id]


# --------------------------------------------------------------------------- 13. who creates courses


@pytest.mark.parametrize(
    "is_instructor, logged_in, expected",
    [(True, True, True), (False, True, False), (True, False, False)],
)
def test_can_create_course(make, is_instructor, logged_in, expected):
    user = make.user(instructor=is_instructor)

    class Anonymous:
        is_authenticated = False
        is_instructor = True

    assert policy.can_create_course(user if logged_in else Anonymous()) is expected


def test_students_do_not_see_or_use_course_creation(make, login_as):
    course = make.course()
    student = make.member(course, ROLE_STUDENT)
    c = login_as(student)
    assert "Create a course" not in text(c.get("/"))
    resp = c.post("/courses/new", data={"code": "X1", "title": "Mine", "timezone": "UTC"})
    assert resp.status_code == 403
    assert count(Course) == 1


def test_instructors_see_the_create_form(make, login_as):
    c = login_as(make.user(instructor=True))
    assert "Create a course" in text(c.get("/"))


def test_the_first_account_may_create_courses_and_later_ones_may_not(app):
    first = accounts.new_user("first@example.edu", "First", PASSWORD)
    db.session.flush()
    second = accounts.new_user("second@example.edu", "Second", PASSWORD)
    db.session.commit()
    assert first.is_instructor and not second.is_instructor


def test_create_and_grant_instructor_commands(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-instructor", "prof@example.edu", "--name", "Prof. Ada", "--password", "long enough pw"]
    )
    assert result.exit_code == 0, result.output
    prof = accounts.find_user_by_email("prof@example.edu")
    assert prof.is_instructor and prof.display_name == "Prof. Ada" and not prof.must_change_password
    again = runner.invoke(args=["create-instructor", "prof@example.edu", "--name", "X", "--password", "long enough pw"])
    assert again.exit_code != 0 and accounts.ACCOUNT_EXISTS in again.output

    user = Factory().user(email="ta@example.edu")
    assert not user.is_instructor
    result = runner.invoke(args=["grant-instructor", "TA@example.edu"])
    assert result.exit_code == 0, result.output
    assert fresh(user).is_instructor
    missing = runner.invoke(args=["grant-instructor", "nobody@example.edu"])
    assert missing.exit_code != 0 and accounts.NO_SUCH_ACCOUNT in missing.output


# --------------------------------------------------------------------------- 14. special-use addresses


@pytest.fixture
def roster_course(make):
    course = make.course(title="Serving Systems")
    teacher = make.member(course, ROLE_INSTRUCTOR)
    return course, teacher


def upload(client, course, csv_text, confirm=False):
    if confirm:
        return client.post(f"/courses/{course.id}/roster/import/confirm", data={"csv_text": csv_text})
    return client.post(
        f"/courses/{course.id}/roster/import",
        data={"roster_file": (io.BytesIO(csv_text.encode()), "roster.csv")},
        content_type="multipart/form-data",
    )


def test_special_use_addresses_are_accepted_where_configured(roster_course, login_as):
    course, teacher = roster_course
    c = login_as(teacher)
    resp = c.post(
        f"/courses/{course.id}/roster/add", data={"name": "Demo One", "email": "one@colloquy.test", "role": "student"}
    )
    assert resp.status_code == 200 and "is enrolled as Student" in text(resp)
    preview = upload(c, course, "Demo Two,two@colloquy.test\n")
    assert "not a valid email address" not in text(preview) and "Import" in text(preview)
    assert upload(c, course, "Demo Two,two@colloquy.test\n", confirm=True).status_code == 200
    assert accounts.find_user_by_email("two@colloquy.test") is not None


def test_without_the_setting_the_message_says_what_is_wrong(make_app):
    strict = make_app(EMAIL_ALLOW_SPECIAL_USE=False)
    with strict.app_context():
        make = Factory()
        course = make.course()
        teacher = make.member(course, ROLE_INSTRUCTOR)
        c = strict.test_client()
        login(c, teacher)
        resp = c.post(
            f"/courses/{course.id}/roster/add", data={"name": "Demo", "email": "one@colloquy.test", "role": "student"}
        )
        page = text(resp)
        assert "“one@colloquy.test” is not a valid email address:" in page
        assert "special-use or reserved name" in page
        assert "special-use or reserved name" in text(upload(c, course, "Demo,two@colloquy.test\n"))
        assert accounts.find_user_by_email("one@colloquy.test") is None


def test_the_setting_is_on_outside_production_only(monkeypatch, tmp_path):
    from core.config import load_config

    monkeypatch.delenv("EMAIL_ALLOW_SPECIAL_USE", raising=False)
    monkeypatch.setenv("COLLOQUY_ENV", "development")
    assert load_config(str(tmp_path))["EMAIL_ALLOW_SPECIAL_USE"] is True
    monkeypatch.setenv("COLLOQUY_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-secret-key-long-enough-123")
    assert load_config(str(tmp_path))["EMAIL_ALLOW_SPECIAL_USE"] is False
    monkeypatch.setenv("EMAIL_ALLOW_SPECIAL_USE", "yes")
    assert load_config(str(tmp_path))["EMAIL_ALLOW_SPECIAL_USE"] is True


# --------------------------------------------------------------------------- 15. temporary passwords


def imported(client, course, csv_text):
    assert upload(client, course, csv_text, confirm=True).status_code == 200


def temporary_password_of(email) -> str:
    user = accounts.find_user_by_email(email)
    return db.session.scalar(select(IssuedCredential.password).where(IssuedCredential.user_id == user.id))


def test_an_imported_student_must_set_a_new_password_first(roster_course, login_as, app):
    course, teacher = roster_course
    imported(login_as(teacher), course, "Nia New,nia@example.edu\n")
    temporary = temporary_password_of("nia@example.edu")
    nia = accounts.find_user_by_email("nia@example.edu")
    assert nia.must_change_password
    c = app.test_client()
    login(c, nia, temporary)
    for path in ("/", f"/courses/{course.id}", f"/courses/{course.id}/schedule", "/calendar"):
        resp = c.get(path)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/account"), path
    assert "Choose your own password to continue" in text(c.get("/account"))
    resp = c.post(
        "/account",
        data={"password-current": temporary, "password-password": "my own new password",
              "password-confirm": "my own new password", "password-submit": "y"},
    )
    assert resp.status_code == 302
    assert not fresh(nia).must_change_password
    assert c.get("/").status_code == 200
    assert count(IssuedCredential, IssuedCredential.user_id == nia.id) == 0  # nothing left to download


def test_staff_download_the_credentials_once(roster_course, login_as):
    course, teacher = roster_course
    c = login_as(teacher)
    imported(c, course, "Ann One,ann@example.edu\n=HYPERLINK(\"x\"),eve@example.edu\n")
    roster = " ".join(text(c.get(f"/courses/{course.id}/roster")).split())
    assert "2 new accounts still have their temporary password" in roster
    resp = c.post(f"/courses/{course.id}/roster/credentials.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "no-store" in resp.headers["Cache-Control"]
    rows = list(csv.reader(io.StringIO(text(resp))))
    assert rows[0] == ["name", "email", "temporary_password"]
    by_email = {r[1]: r for r in rows[1:]}
    assert set(by_email) == {"ann@example.edu", "eve@example.edu"}
    assert len(by_email["ann@example.edu"][2]) >= 12
    assert not by_email["eve@example.edu"][0].startswith("=")  # no spreadsheet formula
    assert count(IssuedCredential) == 0
    again = c.post(f"/courses/{course.id}/roster/credentials.csv", follow_redirects=True)
    assert again.mimetype == "text/html" and "No temporary passwords are waiting" in text(again)
    assert count(AuditEvent, AuditEvent.kind == "roster.credentials_downloaded") == 1


def test_only_the_instructor_downloads_credentials(roster_course, login_as, make):
    course, teacher = roster_course
    imported(login_as(teacher), course, "Ann One,ann@example.edu\n")
    for role in (ROLE_TA, ROLE_STUDENT):
        assert login_as(make.member(course, role)).post(f"/courses/{course.id}/roster/credentials.csv").status_code == 403
    assert login_as(make.user()).post(f"/courses/{course.id}/roster/credentials.csv").status_code == 404
    assert count(IssuedCredential) == 1


def test_a_single_add_also_issues_a_temporary_password(roster_course, login_as):
    course, teacher = roster_course
    c = login_as(teacher)
    c.post(f"/courses/{course.id}/roster/add", data={"name": "Bo", "email": "bo@example.edu", "role": "ta"})
    bo = accounts.find_user_by_email("bo@example.edu")
    assert bo.must_change_password and count(IssuedCredential, IssuedCredential.user_id == bo.id) == 1


# --------------------------------------------------------------------------- 16. reviews hidden by a group move


def test_moving_a_reviewer_into_a_group_tells_staff_and_the_student(make, login_as, clock):
    course = make.course(timezone="America/New_York")
    teacher = make.member(course, ROLE_INSTRUCTOR)
    presenter = make.member(course, name="Pat Presenter")
    drafter = make.member(course, name="Dana Drafter")
    presentation = make.presentation(course, presenters=[presenter])
    make.review(presentation, drafter)  # a draft
    c = login_as(teacher)
    resp = c.post(
        f"/courses/{course.id}/summary-groups",
        data={"shown": [str(presentation.id)], f"summary-{presentation.id}": [str(drafter.id)]},
        follow_redirects=True,
    )
    staff_note = "Dana Drafter no longer reviews this presentation: any draft review started of it is hidden"
    assert staff_note in text(resp) and "kept, not deleted" in text(resp)
    dashboard = text(login_as(drafter).get("/"))
    assert f"your draft review of “{presentation.paper.title}” is hidden" in dashboard
    assert "summary-writing group" in dashboard
    # The note is the writer's alone: a draft's existence is told to nobody else (V1).
    for viewer in (presenter, teacher):
        assert "is hidden" not in text(login_as(viewer).get("/"))


def test_the_presentation_form_warns_staff_too(make, login_as, clock):
    course = make.course(timezone="America/New_York")
    teacher = make.member(course, ROLE_INSTRUCTOR)
    presenter = make.member(course, name="Pat Presenter")
    drafter = make.member(course, name="Dana Drafter")
    presentation = make.presentation(course, presenters=[presenter])
    make.review(presentation, drafter)
    resp = login_as(teacher).post(
        f"/courses/{course.id}/presentations/{presentation.id}/edit",
        data={
            "paper_id": str(presentation.paper_id),
            "placement": f"{presentation.session_id}:{presentation.slot}",
            "presenters": [str(presenter.id), str(drafter.id)],
            "talk_minutes": "30",
            "qa_minutes": "15",
        },
        follow_redirects=True,
    )
    assert "Dana Drafter no longer reviews this presentation" in text(resp)
    assert "presenting group" in text(login_as(drafter).get("/"))


def test_staff_are_told_the_same_whether_or_not_a_draft_exists(make, login_as, clock):
    # A draft is its writer's alone (V1): the staff confirmation must not reveal one.
    course = make.course(timezone="America/New_York")
    teacher = make.member(course, ROLE_INSTRUCTOR)
    c = login_as(teacher)
    notes = []
    for drafts in (True, False):
        presenter = make.member(course, name="Pat Presenter")
        joiner = make.member(course, name="Jo Joiner")
        presentation = make.presentation(course, presenters=[presenter])
        if drafts:
            make.review(presentation, joiner)
        resp = c.post(
            f"/courses/{course.id}/summary-groups",
            data={"shown": [str(presentation.id)], f"summary-{presentation.id}": [str(joiner.id)]},
            follow_redirects=True,
        )
        notes.append(re.findall(r'<p class="flash flash-warning">(.*?)</p>', text(resp), re.S))
    assert notes[0] == notes[1] and len(notes[0]) == 1


def test_a_submitted_review_is_named_to_staff(make, login_as, clock):
    course = make.course(timezone="America/New_York")
    teacher = make.member(course, ROLE_INSTRUCTOR)
    presenter = make.member(course, name="Pat Presenter")
    writer = make.member(course, name="Wes Writer")
    presentation = make.presentation(course, presenters=[presenter])
    make.review(presentation, writer, submitted_at=T0)
    resp = login_as(teacher).post(
        f"/courses/{course.id}/summary-groups",
        data={"shown": [str(presentation.id)], f"summary-{presentation.id}": [str(writer.id)]},
        follow_redirects=True,
    )
    assert "Wes Writer had submitted a review of this presentation" in text(resp)
    assert f"your review of “{presentation.paper.title}” is hidden" in text(login_as(writer).get("/"))


def test_no_note_without_a_review(make, login_as, clock):
    course = make.course()
    student = make.member(course)
    make.presentation(course, presenters=[student])
    assert courses.reviews_hidden_by_groups(student.id) == []


# --------------------------------------------------------------------------- 17. moderation in the audit log


@pytest.fixture
def cast(app, make, clock):
    cast = PanelCast(app, make)
    cast.set_room(phase="panel")
    return cast


def act(cast, user, event, **args):
    return apply(event, cast.room.id, user, new_cid(), args).ack


def version(qid):
    from models import Question

    return db.session.get(Question, qid, populate_existing=True).version


def test_moderation_actions_are_in_the_audit_log_and_filterable(cast, login_as):
    first, second, third = cast.critics
    a = act(cast, first, "ask", text="Why batch at all?")["question_id"]
    b = act(cast, second, "ask", text="Why batch?")["question_id"]
    d = act(cast, third, "ask", text="Off topic")["question_id"]
    act(cast, cast.instructor, "approve", question_id=a, version=version(a))
    act(cast, cast.instructor, "merge", question_id=b, version=version(b), into_id=a)
    act(cast, cast.ta, "dismiss", question_id=d, version=version(d), reason="Off topic")
    act(cast, cast.instructor, "edit", question_id=a, version=version(a), text="Why batch requests at all?")
    act(cast, cast.instructor, "mute", user_id=third.id)
    kinds = {
        e.kind: e for e in db.session.scalars(select(AuditEvent).where(AuditEvent.course_id == cast.course.id))
    }
    assert {
        "panel_question_approved", "panel_question_merged", "panel_question_dismissed",
        "panel_question_edited", "panel_participant_muted",
    } <= set(kinds)
    assert kinds["panel_question_approved"].subject_id == first.id
    assert kinds["panel_question_merged"].detail == {"question_id": b, "into_question_id": a}
    assert kinds["panel_question_dismissed"].actor_id == cast.ta.id
    assert kinds["panel_question_dismissed"].detail["reason"] == "Off topic"
    assert kinds["panel_participant_muted"].subject_id == third.id
    assert all(e.presentation_id == cast.presentation.id for e in kinds.values())

    c = login_as(cast.instructor)
    page = text(c.get(f"/courses/{cast.course.id}/integrity/audit?kind=panel_participant_muted"))
    assert page.count('class="audit-event"') == 1 and "Critic 3" in page
    page = text(c.get(f"/courses/{cast.course.id}/integrity/audit?person={second.id}"))
    assert "<code>panel_question_merged</code>" in page and "<code>panel_question_approved</code>" not in page
    assert login_as(first).get(f"/courses/{cast.course.id}/integrity/audit").status_code == 403


def test_a_refused_moderation_is_not_audited(cast):
    qid = act(cast, cast.critics[0], "ask", text="Twice?")["question_id"]
    act(cast, cast.instructor, "approve", question_id=qid, version=version(qid))
    with pytest.raises(commands.PanelError):
        apply("approve", cast.room.id, cast.instructor, new_cid(), {"question_id": qid, "version": version(qid)})
    assert count(AuditEvent, AuditEvent.kind == "panel_question_approved") == 1


# --------------------------------------------------------------------------- the migration


def test_the_migration_lets_existing_instructors_keep_creating_courses(tmp_path):
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path

    database = tmp_path / "m.sqlite3"
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": "migration-test-secret-key-123456",
        "SOCKETIO_ASYNC_MODE": "threading",
    }
    flask = [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"]
    root = Path(__file__).resolve().parent.parent

    def upgrade(*target):
        done = subprocess.run(flask + list(target), cwd=root, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    upgrade("a1c0ffee0002")
    with sqlite3.connect(database) as con:
        con.execute(
            "INSERT INTO courses (id, code, title, term, timezone, join_code, join_enabled, presentation_group_size,"
            " project_group_max, talk_minutes, qa_minutes, late_policy, late_penalty_per_day, grace_minutes,"
            " name_reviewers, similarity_threshold, review_form, created_at)"
            " VALUES (1, 'C', 'T', '', 'UTC', 'JOIN1234', 1, 1, 2, 30, 15, 'refuse', 0, 0, 0, 0.35, '[]',"
            " '2026-01-01 00:00:00')"
        )
        for uid, email in ((1, "teacher@example.edu"), (2, "student@example.edu")):
            con.execute(
                "INSERT INTO users (id, email, display_name, password_hash, session_token, calendar_token, created_at)"
                " VALUES (?, ?, 'N', 'x', ?, ?, '2026-01-01 00:00:00')",
                (uid, email, f"s{uid}", f"c{uid}"),
            )
        con.execute("INSERT INTO enrollments (user_id, course_id, role, created_at) VALUES (1, 1, 'instructor', '2026-01-01')")
        con.execute("INSERT INTO enrollments (user_id, course_id, role, created_at) VALUES (2, 1, 'student', '2026-01-01')")
    upgrade()
    with sqlite3.connect(database) as con:
        rows = con.execute("SELECT id, is_instructor, must_change_password FROM users ORDER BY id").fetchall()
        released = con.execute("SELECT count(*) FROM papers WHERE reservation_released").fetchone()[0]
    assert rows == [(1, 1, 0), (2, 0, 0)] and released == 0

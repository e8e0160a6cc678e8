"""The gradebook through its pages and operations: weights, rubric grading, posting, late
adjustments with extensions and waivers, rubric edits re-scoring, exports, the discussion proposal."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.extensions import db
from domain.grades import discussion, grading
from domain.grades.gradebook import read_book
from domain.grades.setup import ensure_gradebook
from domain.panel.reports import participation
from models import (
    ROLE_TA,
    AuditEvent,
    Grade,
    GradeCategory,
    GradeItem,
    PanelRoom,
    Question,
    VerdictVote,
    Vote,
)
from tests.support.factories import T0

DAY = timedelta(days=1)


@pytest.fixture
def term(make, course, staff, student):
    """A course with a presentation whose review deadline passed, a critic on time and one late."""
    course.late_penalty_per_day = 10.0
    course.late_policy = "accept"
    presenter = make.member(course, name="Pia Presenter")
    late = make.member(course, name="Lou Late")
    presentation = make.presentation(course, review_deadline=T0 - 3 * DAY, presenters=[presenter])
    make.review(presentation, student, submitted_at=T0 - 4 * DAY, text="On time.")
    make.review(presentation, late, submitted_at=T0 - 3 * DAY + DAY + timedelta(hours=4), late=True, text="Late.")
    ensure_gradebook(course)
    db.session.commit()
    item = db.session.scalar(select(GradeItem).where(GradeItem.key == f"review:{presentation.id}"))
    return {"course": course, "presentation": presentation, "item": item, "presenter": presenter, "late": late}


def _points(client, course, item, student_id, **points):
    data = {"student": student_id, **{f"points-{student_id}-{k}": v for k, v in points.items()}}
    return client.post(f"/courses/{course.id}/gradebook/items/{item.id}", data=data)


def test_default_weights_follow_the_syllabus(course):
    categories = ensure_gradebook(course)
    assert [(c.key, c.weight) for c in categories] == [
        ("discussion", 10.0), ("reviews", 10.0), ("presentation", 30.0), ("project", 50.0)
    ]
    project = [i for i in categories[3].items]
    assert [i.title for i in project] == [
        "Project proposal", "Mid-term checkpoint", "Final report", "Final talk", "Peer feedback given"
    ]


def test_weights_must_sum_to_100_and_nothing_is_saved(course, staff, login_as):
    ensure_gradebook(course)
    db.session.commit()
    client = login_as(staff)
    form = {"weight-discussion": "10", "weight-reviews": "20", "weight-presentation": "30", "weight-project": "50"}
    resp = client.post(f"/courses/{course.id}/gradebook/settings", data=form)
    assert resp.status_code == 422
    assert "add up to 110" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(GradeCategory.weight).where(GradeCategory.key == "reviews")) == 10.0
    form["weight-reviews"] = "10"
    form["drop-reviews"] = "1"
    assert client.post(f"/courses/{course.id}/gradebook/settings", data=form).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(GradeCategory.drop_lowest).where(GradeCategory.key == "reviews")) == 1


def test_a_ta_may_not_change_weights_or_rubrics(make, course, login_as):
    ta = make.member(course, ROLE_TA)
    client = login_as(ta)
    assert client.get(f"/courses/{course.id}/gradebook/settings").status_code == 200
    assert client.post(f"/courses/{course.id}/gradebook/settings", data={"weight-reviews": "90"}).status_code == 403
    assert client.post(f"/courses/{course.id}/gradebook/rubrics/review", data={"criteria": "a | A | 1"}).status_code == 403


def test_a_student_sees_the_gradebook_pages_as_forbidden(course, student, login_as):
    client = login_as(student)
    assert client.get(f"/courses/{course.id}/gradebook").status_code == 403
    assert client.get(f"/courses/{course.id}/gradebook/export.csv").status_code == 403


def test_rubric_grade_is_held_until_posted_then_shown_with_its_lines(term, staff, student, login_as):
    course, item = term["course"], term["item"]
    staff_client = login_as(staff)
    assert _points(staff_client, course, item, student.id, summary=3, critique=4, questions=1).status_code == 302
    grade = db.session.scalar(select(Grade).where(Grade.student_id == student.id))
    assert grade.score == pytest.approx(80.0)
    mine = login_as(student)
    page = mine.get(f"/courses/{course.id}/grades").get_data(as_text=True)
    assert "80.0" not in page and "Summary accuracy" not in page
    assert "Not graded or not posted yet" in page
    staff_client.post(f"/courses/{course.id}/gradebook/items/{item.id}/post", data={"action": "post"})
    page = mine.get(f"/courses/{course.id}/grades").get_data(as_text=True)
    assert "80.0" in page and "Summary accuracy: 3.0 / 4.0" in page
    # G4: the change is in the audit log with old → new.
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "grade.change"))
    assert event.actor_id == staff.id and event.subject_id == student.id
    assert event.detail["old"] is None and event.detail["new"] == pytest.approx(80.0)


def test_late_review_carries_a_visible_penalty_which_the_instructor_can_waive(term, staff, login_as):
    course, item, late = term["course"], term["item"], term["late"]
    client = login_as(staff)
    _points(client, course, item, late.id, summary=4, critique=4, questions=2)
    grade = db.session.scalar(select(Grade).where(Grade.student_id == late.id))
    assert grade.late_seconds == (DAY + timedelta(hours=4)).total_seconds()
    assert grade.penalty_percent == 20.0
    page = client.get(f"/courses/{course.id}/gradebook/students/{late.id}").get_data(as_text=True)
    assert "late 1 day 4 h: −20%" in page and "80.0" in page
    assert client.post(f"/courses/{course.id}/gradebook/grades/{grade.id}/waive", data={"reason": ""}).status_code == 302
    db.session.expire_all()
    assert not db.session.get(Grade, grade.id).penalty_waived
    client.post(f"/courses/{course.id}/gradebook/grades/{grade.id}/waive", data={"reason": "doctor's note"})
    db.session.expire_all()
    book = read_book(course, T0)
    assert book.row(late.id).cells[item.id].adjusted == 100.0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "grade.penalty_waived"))
    assert event.detail == {"item": item.key, "penalty": 20.0, "old": 80.0, "new": 100.0, "reason": "doctor's note"}


def test_an_extension_moves_the_reference_deadline(make, term, staff):
    course, item, late = term["course"], term["item"], term["late"]
    make.extension(term["presentation"], late, T0 - DAY)
    grade = grading.record_grade(course, item, late.id, staff.id, T0, rubric_points={"summary": 4})
    assert grade.late_seconds == 0 and grade.penalty_percent == 0


def test_cap_and_floor_apply(term, staff):
    from domain.grades.setup import settings_for

    course, item, late = term["course"], term["item"], term["late"]
    settings = settings_for(course)
    settings.late_cap_percent, settings.late_floor_percent = 15.0, 90.0
    grade = grading.record_grade(course, item, late.id, staff.id, T0, rubric_points={"summary": 4, "critique": 4, "questions": 2})
    assert grade.penalty_percent == 15.0
    assert grading.effective_score(grade, settings) == 90.0  # 85 lifted to the floor


def test_editing_a_rubric_rescores_everyone_graded_on_it(term, staff, student, login_as):
    course, item = term["course"], term["item"]
    client = login_as(staff)
    _points(client, course, item, student.id, summary=2, critique=4, questions=2)
    resp = client.post(f"/courses/{course.id}/gradebook/rubrics/review",
                       data={"criteria": "summary | Summary accuracy | 2\ncritique | Depth of critique | 4\nquestions | Quality | 2",
                             "reason": "summary counts less"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Grade.score).where(Grade.student_id == student.id)) == 100.0
    kinds = [e.kind for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert kinds[-2:] == ["grade.rubric_edited", "grade.change"]


def test_a_grade_from_the_review_page_counts_until_the_rubric_replaces_it(term, student, staff):
    course, item, presentation = term["course"], term["item"], term["presentation"]
    review = next(r for r in presentation_reviews(presentation) if r.author_id == student.id)
    review.grade = 7.5
    db.session.commit()
    cell = read_book(course, T0).row(student.id).cells[item.id]
    assert (cell.source, cell.adjusted) == ("review page", 75.0)
    grading.record_grade(course, item, student.id, staff.id, T0, rubric_points={"summary": 4, "critique": 4})
    cell = read_book(course, T0).row(student.id).cells[item.id]
    assert (cell.source, cell.adjusted) == ("gradebook", 80.0)


def presentation_reviews(presentation):
    from models import Review

    return db.session.scalars(select(Review).where(Review.presentation_id == presentation.id)).all()


def test_missing_and_not_owed_marks(make, term, student):
    absent = make.member(term["course"], name="Abe Absent")
    book = read_book(term["course"], T0)
    assert book.row(absent.id).cells[term["item"].id].missing
    assert not book.row(term["presenter"].id).cells[term["item"].id].owed
    assert not book.row(student.id).cells[term["item"].id].missing


def test_csv_exports_are_formula_safe_and_the_lms_layout_has_one_column_per_category(make, term, staff, login_as):
    make.member(term["course"], name="=HYPERLINK(\"http://evil\")")
    client = login_as(staff)
    full = client.get(f"/courses/{term['course'].id}/gradebook/export.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in full and "\n=HYPERLINK" not in full
    lms = client.get(f"/courses/{term['course'].id}/gradebook/export.csv?layout=lms").get_data(as_text=True)
    assert lms.splitlines()[0] == "identifier,name,In-class discussion,Paper reviews,Paper presentation,Course project,total"


def test_discussion_proposal_reads_the_rooms_stored_events(make, term, staff, student, login_as):
    course, presentation, presenter = term["course"], term["presentation"], term["presenter"]
    room = PanelRoom(presentation=presentation, phase="closed")
    db.session.add(room)
    db.session.flush()
    answered = Question(room=room, asker=student, client_id="a", text="Why?", state="answered",
                        approved_at=T0, outcome="rebutted")
    pending = Question(room=room, asker=student, client_id="b", text="How?")
    other = Question(room=room, asker=term["late"], client_id="c", text="When?", approved_at=T0, state="queued")
    db.session.add_all([answered, pending, other])
    db.session.flush()
    db.session.add_all([Vote(question_id=answered.id, user_id=term["late"].id),
                        Vote(question_id=other.id, user_id=student.id),
                        VerdictVote(room_id=room.id, user_id=student.id, verdict="accept")])
    db.session.commit()
    rooms, evidence = discussion.evidence(course)
    stored = {row["user_id"]: row for row in participation(course)}
    for uid, ev in evidence.items():
        totals = ev.totals()
        for figure in ("asked", "approved", "answered", "votes_received", "votes_cast"):
            assert totals[figure] == stored.get(uid, {}).get(figure, 0), (uid, figure)
    assert evidence[student.id].totals()["verdicts"] == 1
    assert evidence[presenter.id].totals()["rebutted"] == 1
    formula = discussion.DEFAULT_FORMULA
    # asked 2 + approved 1×2 + answered 1×3 + votes received 1×0.5 + cast 1×0.2 + verdict 1 = 8.7 of 40
    assert discussion.proposal(evidence[student.id].totals(), formula) == pytest.approx(100 * 8.7 / 40)
    client = login_as(staff)
    page = client.get(f"/courses/{course.id}/gradebook/discussion").get_data(as_text=True)
    assert "Sam Student: proposed 21.8%" in page
    client.post(f"/courses/{course.id}/gradebook/discussion", data={"student": student.id, "action": "accept"})
    assert client.post(f"/courses/{course.id}/gradebook/discussion",
                       data={"student": presenter.id, "action": "adjust", "grade": "90"}).status_code == 302
    item = db.session.scalar(select(GradeItem).where(GradeItem.key == "discussion"))
    scores = dict(db.session.execute(select(Grade.student_id, Grade.score).where(Grade.item_id == item.id)).all())
    assert scores == {student.id: pytest.approx(21.75)}  # an adjustment without a reason is refused


def test_a_discussion_adjustment_that_is_not_a_number_is_refused_with_a_clear_message(term, staff, student, login_as):
    course = term["course"]
    client = login_as(staff)
    response = client.post(f"/courses/{course.id}/gradebook/discussion", follow_redirects=True,
                           data={"student": student.id, "action": "adjust", "grade": "ninety", "reason": "talked a lot"})
    assert response.status_code == 200 and "Give the grade as a number." in response.get_data(as_text=True)
    item = db.session.scalar(select(GradeItem).where(GradeItem.key == "discussion"))
    assert db.session.scalar(select(Grade).where(Grade.item_id == item.id)) is None


def test_staff_pages_render(term, staff, student, login_as):
    client = login_as(staff)
    course = term["course"]
    for path in ("gradebook", "gradebook?sort=total&dir=desc&q=sam", f"gradebook/items/{term['item'].id}",
                 f"gradebook/students/{student.id}", "gradebook/settings", "gradebook/rubrics", "gradebook/discussion"):
        assert client.get(f"/courses/{course.id}/{path}").status_code == 200, path


def test_an_extension_granted_after_grading_moves_the_stored_penalty(term, staff, login_as):
    from core.timeutil import to_local_input
    from models import Extension

    course, item, late, presentation = term["course"], term["item"], term["late"], term["presentation"]
    client = login_as(staff)
    _points(client, course, item, late.id, summary=4, critique=4, questions=2)
    grade = db.session.scalar(select(Grade).where(Grade.student_id == late.id))
    assert grade.penalty_percent == 20.0
    resp = client.post(f"/courses/{course.id}/presentations/{presentation.id}/extensions",
                       data={"student": late.id, "deadline": to_local_input(T0 - DAY, course.timezone), "reason": "ill"})
    assert resp.status_code == 302
    db.session.expire_all()
    grade = db.session.get(Grade, grade.id)
    assert (grade.late_seconds, grade.penalty_percent) == (0, 0.0)
    assert read_book(course, T0).row(late.id).cells[item.id].adjusted == 100.0
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "grade.change")
                               .order_by(AuditEvent.id.desc())).first()
    assert (event.subject_id, event.detail["old"], event.detail["new"]) == (late.id, 80.0, 100.0)
    assert "extension granted" in event.detail["reason"]
    extension = db.session.scalar(select(Extension).where(Extension.user_id == late.id))
    client.post(f"/courses/{course.id}/presentations/{presentation.id}/extensions/{extension.id}/revoke")
    db.session.expire_all()
    assert db.session.get(Grade, grade.id).penalty_percent == 20.0


def _group(course, name, *members):
    from models import ProjectGroup, ProjectMember

    group = ProjectGroup(course_id=course.id, name=name)
    db.session.add(group)
    db.session.flush()
    db.session.add_all([ProjectMember(course_id=course.id, group_id=group.id, user_id=u.id, seat=n)
                        for n, u in enumerate(members, 1)])
    db.session.commit()
    return group


def test_a_group_extension_moves_the_milestone_penalty_of_both_members(make, course, staff, student):
    from domain.project import milestones
    from models import MILESTONE_CHECKPOINT, MilestoneSubmission

    course.late_penalty_per_day = 10.0
    partner = make.member(course, name="Pat Partner")
    group = _group(course, "Pair", student, partner)
    checkpoint = milestones.set_milestone(course, staff, MILESTONE_CHECKPOINT, T0 - 2 * DAY)
    db.session.add(MilestoneSubmission(milestone_id=checkpoint.id, group_id=group.id, version=1,
                                       submitted_at=T0 - 2 * DAY + timedelta(seconds=1), late=True))
    ensure_gradebook(course)
    db.session.commit()
    item = db.session.scalar(select(GradeItem).where(GradeItem.key == "project:checkpoint"))
    for user in (student, partner):
        grading.record_grade(course, item, user.id, staff.id, T0, score=90.0)
    assert {g.penalty_percent for g in db.session.scalars(select(Grade))} == {10.0}  # 1 s late: a part day
    milestones.grant_extension(checkpoint, group, staff, T0 - DAY, "lab flooded")
    assert grading.reapply_lateness(course, group.member_ids(), staff.id, T0, "extension granted",
                                    milestone_kind=MILESTONE_CHECKPOINT) == 2
    assert {(g.late_seconds, g.penalty_percent) for g in db.session.scalars(select(Grade))} == {(0, 0.0)}
    assert read_book(course, T0).row(partner.id).cells[item.id].adjusted == 90.0


def test_one_entry_grades_a_whole_group_then_each_member_is_adjusted_alone(make, course, staff, student, login_as):
    partner = make.member(course, name="Pat Partner")
    other = make.member(course, name="Olive Other")
    group = _group(course, "Paged caches", student, partner)
    _group(course, "Lonely", other)
    ensure_gradebook(course)
    db.session.commit()
    final = db.session.scalar(select(GradeItem).where(GradeItem.key == "project:final"))
    client = login_as(staff)
    page = client.get(f"/courses/{course.id}/gradebook/items/{final.id}").get_data(as_text=True)
    assert "Grade a project group at once" in page and "Sam Student, Pat Partner" in page
    url = f"/courses/{course.id}/gradebook/items/{final.id}/groups/{group.id}"
    assert client.post(url, data={}).status_code == 302  # nothing entered: refused, nothing stored
    assert db.session.scalar(select(Grade.id)) is None
    resp = client.post(url, data={"group-points-problem": "3", "group-points-approach": "3", "group-points-evaluation": "2",
                                  "group-points-writing": "1", "comment": "Solid final report.", "reason": "read twice"})
    assert resp.status_code == 302
    scores = dict(db.session.execute(select(Grade.student_id, Grade.score).where(Grade.item_id == final.id)).all())
    assert scores == {student.id: pytest.approx(90.0), partner.id: pytest.approx(90.0)}  # not the other group
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "grade.change")).all()
    assert sorted(e.subject_id for e in events) == sorted([student.id, partner.id])  # G4: audited per student
    assert {e.detail["reason"] for e in events} == {"group grade (Paged caches): read twice"}
    assert all(e.actor_id == staff.id and e.detail["old"] is None for e in events)
    # The partner's grade adjusted on its own: the student's stays.
    client.post(f"/courses/{course.id}/gradebook/items/{final.id}",
                data={"student": partner.id, **{f"points-{partner.id}-{k}": v for k, v in
                                                {"problem": 3, "approach": 3, "evaluation": 3, "writing": 1}.items()},
                      "reason": "did the evaluation"})
    db.session.expire_all()
    scores = dict(db.session.execute(select(Grade.student_id, Grade.score).where(Grade.item_id == final.id)).all())
    assert scores == {student.id: pytest.approx(90.0), partner.id: pytest.approx(100.0)}


def test_group_grading_is_for_staff_and_project_work_only(make, term, student, login_as):
    course = term["course"]
    group = _group(course, "Pair", student, term["late"])
    final = db.session.scalar(select(GradeItem).where(GradeItem.key == "project:final"))
    assert login_as(student).post(f"/courses/{course.id}/gradebook/items/{final.id}/groups/{group.id}",
                                  data={"group-points-problem": "3"}).status_code == 403
    ta = make.member(course, ROLE_TA)
    ta_client = login_as(ta)
    review_url = f"/courses/{course.id}/gradebook/items/{term['item'].id}/groups/{group.id}"
    assert ta_client.post(review_url, data={"group-points-summary": "3"}).status_code == 404
    assert ta_client.post(f"/courses/{course.id}/gradebook/items/{final.id}/groups/{group.id}",
                          data={"group-points-problem": "3"}).status_code == 302
    assert db.session.scalar(select(func.count(Grade.id)).where(Grade.item_id == final.id)) == 2


@pytest.fixture
def talks(make, course, staff, student):
    """Two groups' closed talks and one still open; the student's pieces: on time and marked
    helpful, late, and held back; a classmate's piece on time marked not helpful."""
    from models import PeerFeedback, ProjectTalk

    classmate = make.member(course, name="Cleo Classmate")
    quiet = make.member(course, name="Quinn Quiet")
    presenters = [make.member(course, name=f"Presenter {n}") for n in range(1, 4)]
    groups = [_group(course, f"G{n}", p) for n, p in enumerate(presenters, 1)]
    session = make.session(course, starts_at=T0 - 5 * DAY)
    closed = T0 - DAY
    made = [ProjectTalk(course_id=course.id, group_id=g.id, session_id=session.id, kind="final",
                        feedback_closes_at=closes) for g, closes in zip(groups, (closed, closed, T0 + DAY))]
    db.session.add_all(made)
    db.session.flush()
    a, b, still_open = made

    def piece(talk, author, at, helpful=None, held=False):
        db.session.add(PeerFeedback(talk_id=talk.id, author_id=author.id, status="submitted", submitted_at=at,
                                    answers={"worked": "x"}, rating=4, helpful=helpful, held_back=held))

    piece(a, student, closed, helpful=True)  # at the close instant: on time
    piece(b, student, closed + timedelta(seconds=1))  # a second late
    piece(still_open, student, T0)  # the window is still open: not owed yet
    piece(a, classmate, closed - DAY, helpful=False)
    piece(b, classmate, closed - DAY, held=True)  # held back by staff: does not count
    ensure_gradebook(course)
    db.session.commit()
    item = db.session.scalar(select(GradeItem).where(GradeItem.key == "project:feedback"))
    return {"item": item, "classmate": classmate, "quiet": quiet, "presenters": presenters}


def test_peer_feedback_figures_come_from_the_stored_feedback(course, student, talks):
    from domain.grades import peer_feedback

    figures = peer_feedback.figures(course, T0)
    assert vars(figures[student.id]) == {"owed": 2, "on_time": 1, "marked": 1, "helpful": 1}
    assert vars(figures[talks["classmate"].id]) == {"owed": 2, "on_time": 1, "marked": 1, "helpful": 0}
    assert vars(figures[talks["quiet"].id]) == {"owed": 2, "on_time": 0, "marked": 0, "helpful": 0}
    # A presenter owes nothing on their own group's talk.
    assert figures[talks["presenters"][0].id].owed == 1
    assert figures[student.id].proposal(False) == 50.0
    assert figures[student.id].proposal(True) == pytest.approx(0.7 * 50 + 30)


def test_peer_feedback_proposals_are_entered_as_audited_grades(course, staff, student, talks, login_as, clock):
    from domain.grades.setup import settings_for

    item = talks["item"]
    client = login_as(staff)
    page = client.get(f"/courses/{course.id}/gradebook/items/{item.id}").get_data(as_text=True)
    assert "Proposed from the stored feedback" in page and "do not count" in page
    assert client.post(f"/courses/{course.id}/gradebook/items/{item.id}/peer-feedback").status_code == 302
    scores = dict(db.session.execute(select(Grade.student_id, Grade.score).where(Grade.item_id == item.id)).all())
    assert scores[student.id] == 50.0 and scores[talks["classmate"].id] == 50.0 and scores[talks["quiet"].id] == 0.0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "grade.change",
                                                       AuditEvent.subject_id == student.id))
    assert event.detail["reason"] == "peer feedback: 1 of 2 on time"
    # The course counts quality: the helpful mark lifts the student, the unhelpful one lowers the classmate.
    settings_for(course).feedback_quality = True
    db.session.commit()
    page = client.get(f"/courses/{course.id}/gradebook/items/{item.id}").get_data(as_text=True)
    assert "marks make 30.0% of the item" in page
    client.post(f"/courses/{course.id}/gradebook/items/{item.id}/peer-feedback")
    db.session.expire_all()
    scores = dict(db.session.execute(select(Grade.student_id, Grade.score).where(Grade.item_id == item.id)).all())
    assert scores[student.id] == pytest.approx(65.0) and scores[talks["classmate"].id] == pytest.approx(35.0)
    reasons = [e.detail["reason"] for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.kind == "grade.change", AuditEvent.subject_id == student.id)
        .order_by(AuditEvent.id))]
    assert reasons[-1] == "peer feedback: 1 of 2 on time; 1 of 1 marked helpful (30% of the item)"
    # Only the feedback item takes proposals; students may not enter them.
    other = db.session.scalar(select(GradeItem).where(GradeItem.key == "project:final"))
    assert client.post(f"/courses/{course.id}/gradebook/items/{other.id}/peer-feedback").status_code == 404
    assert login_as(student).post(f"/courses/{course.id}/gradebook/items/{item.id}/peer-feedback").status_code == 403


def test_the_demo_gradebook_is_partly_posted_with_a_late_penalty_waived_for_a_reason(app):
    from demo import course as demo
    from demo.gradebook import WAIVER_REASON
    from domain.grades.gradebook import read_book as book_of
    from core.timeutil import now_utc
    from models import User

    course = demo.load_demo()
    now = now_utc()
    book = book_of(course, now)
    posted = [i for i in book.items if i.posted_at is not None]
    assert posted and len(posted) < len(book.items)  # partly posted
    cells = [c for r in book.rows for c in r.cells.values() if c.owed]
    assert any(c.graded for c in cells) and any(not c.graded for c in cells)  # partly filled
    late = [(r, c) for r in book.rows for c in r.cells.values() if c.penalty > 0]
    assert late, "a late review carries its stored penalty"
    row, cell = late[-1]
    assert cell.waived and cell.waive_reason == WAIVER_REASON and cell.penalty_line.startswith("late ")
    assert cell.adjusted == cell.score  # waived: nothing taken off
    waived = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "grade.penalty_waived"))
    assert waived.detail["reason"] == WAIVER_REASON and waived.subject_id == row.student_id
    discussion_item = next(i for i in book.items if i.key == "discussion")
    assert any(r.cells[discussion_item.id].graded for r in book.rows)  # proposals accepted from the room
    # The late student sees the penalty line struck through with the reason, on their posted review grade.
    from tests.support.factories import login

    client = app.test_client()
    login(client, db.session.get(User, row.student_id), demo.DEMO_PASSWORD)
    page = client.get(f"/courses/{course.id}/grades").get_data(as_text=True)
    assert f"<s>{cell.penalty_line}</s> — waived: {WAIVER_REASON}" in page


def test_the_grid_sorts_by_an_item_with_ungraded_rows_last_and_filters_by_name_and_category(make, term, staff, student,
                                                                                           login_as):
    course, item, late = term["course"], term["item"], term["late"]
    grading.record_grade(course, item, student.id, staff.id, T0, rubric_points={"summary": 2})
    grading.record_grade(course, item, late.id, staff.id, T0, rubric_points={"summary": 4, "critique": 4})
    db.session.commit()
    client = login_as(staff)

    def names(query):
        page = client.get(f"/courses/{course.id}/gradebook?{query}").get_data(as_text=True)
        body = page[page.index('class="gradebook-grid"'):]
        return re.findall(r'<th scope="row" class="sticky-col"><a [^>]*>([^<]+)</a>', body), page

    ascending, page = names(f"sort={item.id}")
    assert ascending[:2] == ["Sam Student", "Lou Late"] and "Pia Presenter" in ascending[2:]
    assert f"sorted by {item.title}" in page and 'role="region" aria-labelledby="grid-caption" tabindex="0"' in page
    descending, _ = names(f"sort={item.id}&dir=desc")
    assert descending[:2] == ["Lou Late", "Sam Student"]  # ungraded rows stay last
    only, page = names("q=lou")
    assert only == ["Lou Late"] and "1 of 3 student(s)" in page
    reviews = db.session.scalar(select(GradeCategory.id).where(GradeCategory.course_id == course.id,
                                                               GradeCategory.key == "reviews"))
    _, page = names(f"category={reviews}")
    assert "Paper reviews only" in page and "Project proposal" not in page.split('class="gradebook-grid"')[1]

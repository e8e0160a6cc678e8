"""Milestones (SPEC §5.2): deadlines with group extensions and the late policy, every version
kept, the latest on-time one graded, work after the proposal only with an approved topic, the
instructor's decisions, two uploads at the deadline instant, a double submit, the overview and
its CSV."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from domain import policy
from domain.errors import Conflict, Forbidden, Invalid
from domain.project import documents, milestones, overview, proposals
from models import (
    MILESTONE_CHECKPOINT,
    MILESTONE_FINAL,
    MILESTONE_PROPOSAL,
    TOPIC_APPROVED,
    TOPIC_PENDING,
    TOPIC_REVISE,
    MilestoneSubmission,
    ProposalDecision,
)
from tests.support.factories import T0
from test_project_documents import pdf_bytes
from test_project_groups import DEADLINE, _at_once, pair, project_world

CONFIRMED = {"on_area": True, "original": True, "not_survey": True, "originality": True}


@pytest.fixture
def w(app, make, tmp_path):
    world = project_world(make)
    world.storage = str(tmp_path / "documents")
    world.group = pair(world)
    world.checkpoint = milestones.set_milestone(world.course, world.ta, MILESTONE_CHECKPOINT, DEADLINE + timedelta(days=30))
    world.final = milestones.set_milestone(world.course, world.ta, MILESTONE_FINAL, DEADLINE + timedelta(days=60))
    db.session.commit()
    return world


def hand_in(w, milestone, now, user=None, title="Paged caches"):
    user = user or w.students[0]
    checked = documents.check_pdf(w.course, pdf_bytes(), "doc.pdf")
    doc = documents.store(w.storage, w.course, w.group, checked, user.id, now)
    data = milestones.SubmissionInput(title=title, abstract="An abstract.", confirmations=CONFIRMED, document=doc)
    return milestones.submit(w.group, milestone, user, data, now)


def approve(w, now=T0):
    sub = hand_in(w, w.proposal, now)
    proposals.decide(sub, w.instructor, "approve", "", now)
    db.session.commit()
    return sub


@pytest.mark.parametrize(
    "offset, policy_name, window",
    [(-1, "refuse", "open"), (0, "refuse", "open"), (1, "refuse", "closed"), (1, "accept", "late")],
)
def test_the_window_at_the_deadline_instant_and_after(w, offset, policy_name, window):
    w.course.late_policy = policy_name
    assert policy.milestone_window(w.proposal, w.group, DEADLINE + timedelta(seconds=offset)) == window


def test_an_extension_moves_the_groups_deadline_only(w):
    other = pair(w, 2, 3, name="Other")
    milestones.grant_extension(w.proposal, w.group, w.ta, DEADLINE + timedelta(days=2), "illness")
    after = DEADLINE + timedelta(days=1)
    assert policy.milestone_window(w.proposal, w.group, after) == "open"
    assert policy.milestone_window(w.proposal, other, after) == "closed"
    with pytest.raises(Forbidden):
        milestones.grant_extension(w.proposal, w.group, w.students[0], DEADLINE, "")


def test_late_versions_are_marked_and_the_latest_on_time_one_is_graded(w):
    w.course.late_policy = "accept"
    first = hand_in(w, w.proposal, DEADLINE - timedelta(hours=1))
    second = hand_in(w, w.proposal, DEADLINE)
    late = hand_in(w, w.proposal, DEADLINE + timedelta(minutes=5))
    assert [v.version for v in milestones.versions(w.group, w.proposal)] == [3, 2, 1]
    assert (first.late, second.late, late.late) == (False, False, True)
    assert milestones.graded_version(w.group, w.proposal).id == second.id
    assert late.submitted_at == DEADLINE + timedelta(minutes=5)


def test_only_late_versions_grade_the_latest_late_one_and_refuse_policy_refuses(w):
    w.course.late_policy = "accept"
    late = hand_in(w, w.proposal, DEADLINE + timedelta(hours=1))
    assert milestones.graded_version(w.group, w.proposal).id == late.id
    assert milestones.milestone_status(w.group, w.proposal, DEADLINE + timedelta(hours=2)) == "late"
    w.course.late_policy = "refuse"
    with pytest.raises(Forbidden):
        hand_in(w, w.proposal, DEADLINE + timedelta(hours=2))


def test_work_after_the_proposal_needs_an_approved_topic(w):
    with pytest.raises(Forbidden, match="approved"):
        hand_in(w, w.checkpoint, T0)
    sub = hand_in(w, w.proposal, T0)
    assert w.group.topic_status == TOPIC_PENDING
    with pytest.raises(Forbidden):
        hand_in(w, w.checkpoint, T0)
    proposals.decide(sub, w.instructor, "approve", "", T0)
    assert hand_in(w, w.checkpoint, T0).version == 1
    with pytest.raises(Forbidden, match="decided"):
        hand_in(w, w.proposal, T0)


def test_revision_then_resubmission_then_approval(w):
    sub = hand_in(w, w.proposal, T0)
    with pytest.raises(Invalid):
        proposals.decide(sub, w.instructor, "revise", "  ", T0)
    proposals.decide(sub, w.instructor, "revise", "Narrow the scope to one model size.", T0)
    assert w.group.topic_status == TOPIC_REVISE
    # A revision may be handed in after the deadline: the instructor asked for it.
    again = hand_in(w, w.proposal, DEADLINE + timedelta(days=3))
    assert again.version == 2 and not again.late and w.group.topic_status == TOPIC_PENDING
    with pytest.raises(Conflict):
        proposals.decide(sub, w.instructor, "approve", "", T0)  # an older version
    proposals.decide(again, w.instructor, "approve", "", T0)
    assert w.group.topic_status == TOPIC_APPROVED
    assert [d.decision for d in proposals.decisions_of(w.group)] == ["approved", "revise"]


def test_only_the_instructor_decides(w):
    sub = hand_in(w, w.proposal, T0)
    for user in (w.ta, w.students[0]):
        with pytest.raises(Forbidden):
            proposals.decide(sub, user, "approve", "", T0)


def test_the_final_report_needs_the_originality_statement(w):
    approve(w)
    checked = documents.check_pdf(w.course, pdf_bytes(), "final.pdf")
    doc = documents.store(w.storage, w.course, w.group, checked, w.students[0].id, T0)
    with pytest.raises(Invalid, match="confirmation"):
        milestones.submit(w.group, w.final, w.students[0], milestones.SubmissionInput(document=doc), T0)
    assert [k for k, _ in milestones.confirmations_for(w.course, MILESTONE_FINAL)] == ["originality"]
    assert w.course.project_area in milestones.confirmations_for(w.course, MILESTONE_PROPOSAL)[0][1]


def test_two_uploads_at_the_deadline_instant_are_both_on_time(w):
    a = hand_in(w, w.proposal, DEADLINE, user=w.students[0])
    b = hand_in(w, w.proposal, DEADLINE, user=w.students[1])
    db.session.commit()
    assert (a.version, b.version, a.late, b.late) == (1, 2, False, False)
    assert milestones.graded_version(w.group, w.proposal).id == b.id


def test_a_double_submit_keeps_one_version_and_the_other_fails_cleanly(app, w):
    group_id, proposal_id = w.group.id, w.proposal.id
    docs = []
    for user in w.students[:2]:
        checked = documents.check_pdf(w.course, pdf_bytes(), "doc.pdf")
        docs.append((documents.store(w.storage, w.course, w.group, checked, user.id, T0).id, user.id))
    db.session.commit()

    def submitting(doc_id, user_id):
        def go():
            from models import Milestone, ProjectDocument, ProjectGroup, User

            group, milestone = db.session.get(ProjectGroup, group_id), db.session.get(Milestone, proposal_id)
            data = milestones.SubmissionInput(title="Same", abstract="A.", confirmations=CONFIRMED,
                                              document=db.session.get(ProjectDocument, doc_id))
            milestones.submit(group, milestone, db.session.get(User, user_id), data, DEADLINE)
        return go

    outcomes = _at_once(app, submitting(*docs[0]), submitting(*docs[1]))
    assert outcomes["first"] == "ok" and isinstance(outcomes["second"], IntegrityError)
    db.session.expire_all()
    assert db.session.query(MilestoneSubmission).count() == 1


def test_overview_grid_filters_and_csv(w, login_as):
    other = pair(w, 2, 3, name="=HYPERLINK(\"x\")")
    approve(w)
    milestones.grant_extension(w.checkpoint, other, w.ta, DEADLINE + timedelta(days=40))
    db.session.commit()
    later = DEADLINE + timedelta(days=31)
    kinds, rows = overview.status_grid(w.course, later)
    states = {r.group.name: [c.state for c in r.cells] for r in rows}
    assert states["Pair"] == ["on time", "missing", "not due"]
    assert states[other.name] == ["missing", "not due", "not due"]
    assert [r.group.name for r in overview.status_grid(w.course, later, topic=TOPIC_APPROVED)[1]] == ["Pair"]
    assert [r.group.name for r in overview.status_grid(w.course, later, state="on time")[1]] == ["Pair"]
    text = overview.status_csv(w.course, later)
    assert "'=HYPERLINK" in text or "\"'=HYPERLINK" in text  # defused: never a formula
    staff = login_as(w.ta)
    assert staff.get(f"/courses/{w.course.id}/project/overview").status_code == 200
    assert staff.get(f"/courses/{w.course.id}/project/overview.csv").headers["Cache-Control"] == "no-store"
    assert staff.get(f"/courses/{w.course.id}/project/proposals").status_code == 403
    assert login_as(w.instructor).get(f"/courses/{w.course.id}/project/proposals").status_code == 200
    student = login_as(w.students[0])
    assert student.get(f"/courses/{w.course.id}/project/overview").status_code == 403
    assert student.get(f"/courses/{w.course.id}/project/overview.csv").status_code == 403
    assert login_as(w.stranger).get(f"/courses/{w.course.id}/project/overview").status_code == 404


def test_the_flow_through_the_pages(w, login_as, tmp_path, app, clock):
    app.config["PROJECT_STORAGE_DIR"] = w.storage
    course = w.course
    alone = login_as(w.students[2])
    assert alone.post(f"/courses/{course.id}/project/groups", data={"solo": "1"}).status_code == 302
    home = alone.get(f"/courses/{course.id}/project").get_data(as_text=True)
    assert "you chose to work alone" in home and "Due next" in home
    student = login_as(w.students[0])
    form = {"title": "Paged caches", "abstract": "We measure.", "on_area": "1", "original": "1", "not_survey": "1",
            "document": (io.BytesIO(pdf_bytes()), "p.pdf")}
    assert student.post(f"/courses/{course.id}/project/milestones/proposal", data=form,
                        content_type="multipart/form-data").status_code == 302
    sub = db.session.query(MilestoneSubmission).one()
    teacher = login_as(w.instructor)
    resp = teacher.post(f"/courses/{course.id}/project/proposals/{sub.id}/decide",
                        data={"decision": "revise", "comment": "Say which models."}, follow_redirects=True)
    assert resp.status_code == 200
    assert db.session.query(ProposalDecision).one().comment == "Say which models."
    page = student.get(f"/courses/{course.id}/project/milestones/proposal").get_data(as_text=True)
    assert "Say which models." in page
    assert teacher.get(f"/courses/{course.id}/project/milestones").status_code == 200
    assert teacher.post(f"/courses/{course.id}/project/milestones",
                        data={"kind": "final", "deadline": "2026-06-01T23:59", "title": "Final report"}).status_code == 302
    db.session.expire_all()
    assert policy.milestone_of(course.id, "final").deadline.hour == 3  # 23:59 in New York is 03:59 UTC

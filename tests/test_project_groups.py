"""Project groups (SPEC §5.1): create or work alone, invite, accept, decline, leave, the lock at
the proposal deadline, staff changes (audited), the policy table, and two acceptances at once
against the SQLite file."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from domain import policy
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from domain.project import groups, milestones
from models import (
    INVITATION_ACCEPTED,
    INVITATION_PENDING,
    INVITATION_WITHDRAWN,
    MILESTONE_PROPOSAL,
    ROLE_INSTRUCTOR,
    ROLE_STUDENT,
    ROLE_TA,
    AuditEvent,
    ProjectGroup,
    ProjectInvitation,
    ProjectMember,
)
from tests.support.factories import T0

DEADLINE = T0 + timedelta(days=7)


def project_world(make, max_size: int = 2, students: int = 4):
    """A course with an instructor, a TA, students, a stranger from another course and a
    proposal milestone due at DEADLINE."""
    course = make.course(project_group_max=max_size)
    w = SimpleNamespace(course=course)
    w.instructor = make.member(course, ROLE_INSTRUCTOR, name="Ida Instructor")
    w.ta = make.member(course, ROLE_TA, name="Tom TA")
    w.students = [make.member(course, ROLE_STUDENT, name=f"Student {n}") for n in range(1, students + 1)]
    other = make.course()
    w.stranger = make.member(other, ROLE_STUDENT, name="Stranger")
    w.proposal = milestones.set_milestone(course, w.instructor, MILESTONE_PROPOSAL, DEADLINE)
    db.session.commit()
    return w


def pair(w, a=0, b=1, name="Pair"):
    """Students ``a`` and ``b`` in one group through invite and accept."""
    group = groups.create_group(w.course, w.students[a], name, solo=False, now=T0)
    invitation = groups.invite(group, w.students[a], w.students[b].id, T0)
    groups.accept(invitation, w.students[b], T0)
    db.session.commit()
    return group


@pytest.fixture
def w(app, make):
    return project_world(make)


def test_create_invite_accept_fills_seats_in_order(w):
    group = pair(w)
    assert [(m.seat, m.user_id) for m in group.members] == [(1, w.students[0].id), (2, w.students[1].id)]
    assert policy.group_of(w.students[1], w.course.id).id == group.id
    assert policy.in_group(w.students[0], group) and not policy.in_group(w.students[2], group)


def test_a_group_of_one_is_an_explicit_choice_and_invites_nobody(w):
    group = groups.create_group(w.course, w.students[0], "Alone", solo=True, now=T0)
    assert group.solo
    with pytest.raises(Invalid):
        groups.invite(group, w.students[0], w.students[1].id, T0)


def test_invitations_only_to_classmates_in_no_group(w):
    group = pair(w)
    other = groups.create_group(w.course, w.students[2], "Other", solo=False, now=T0)
    for invitee in (w.students[0], w.stranger, w.ta):
        with pytest.raises((Invalid, Conflict)):
            groups.invite(other, w.students[2], invitee.id, T0)
    with pytest.raises(Conflict):
        groups.invite(group, w.students[0], w.students[3].id, T0)  # full at 2
    with pytest.raises(NotFound):
        groups.invite(other, w.students[3], w.students[3].id, T0)  # not a member of it


def test_decline_and_accepting_withdraws_the_other_invitations(w):
    a = groups.create_group(w.course, w.students[0], "A", solo=False, now=T0)
    b = groups.create_group(w.course, w.students[1], "B", solo=False, now=T0)
    to_a = groups.invite(a, w.students[0], w.students[2].id, T0)
    to_b = groups.invite(b, w.students[1], w.students[2].id, T0)
    groups.accept(to_a, w.students[2], T0)
    assert (to_a.status, to_b.status) == (INVITATION_ACCEPTED, INVITATION_WITHDRAWN)
    with pytest.raises(Conflict):
        groups.accept(to_b, w.students[2], T0)
    to_d = groups.invite(b, w.students[1], w.students[3].id, T0)
    with pytest.raises(NotFound):
        groups.decline(to_d, w.students[0], T0)  # not the invitee
    groups.decline(to_d, w.students[3], T0)
    assert policy.group_of(w.students[3], w.course.id) is None


def test_leaving_frees_the_student_and_an_empty_group_goes(w):
    group = pair(w)
    groups.leave(w.course, w.students[1], T0)
    db.session.commit()
    assert policy.group_of(w.students[1], w.course.id) is None
    groups.leave(w.course, w.students[0], T0)
    db.session.commit()
    assert db.session.get(ProjectGroup, group.id) is None


@pytest.mark.parametrize(
    "moment, locked",
    [(DEADLINE - timedelta(seconds=1), False), (DEADLINE, False), (DEADLINE + timedelta(seconds=1), True)],
)
def test_groups_lock_for_students_strictly_after_the_proposal_deadline(w, moment, locked):
    assert policy.are_groups_locked(w.course, moment) is locked
    assert policy.can_form_own_group(w.students[0], w.course, moment) is not locked
    if locked:
        with pytest.raises(Forbidden):
            groups.create_group(w.course, w.students[0], "Late", solo=True, now=moment)
    else:
        groups.create_group(w.course, w.students[0], "In time", solo=True, now=moment)


def test_staff_form_change_and_dissolve_after_the_lock_audited(w):
    after = DEADLINE + timedelta(days=1)
    group = groups.staff_form_group(w.course, w.ta, "Formed", [w.students[0].id], after)
    assert group.solo
    groups.staff_add_member(group, w.ta, w.students[1].id, after)
    assert not group.solo and group.member_ids() == {w.students[0].id, w.students[1].id}
    with pytest.raises(Conflict):
        groups.staff_form_group(w.course, w.ta, "Twice", [w.students[1].id], after)
    with pytest.raises(Invalid):
        groups.staff_form_group(w.course, w.ta, "Stranger", [w.stranger.id], after)
    groups.staff_remove_member(group, w.ta, w.students[1].id)
    groups.dissolve(group, w.instructor)
    db.session.commit()
    kinds = db.session.scalars(select(AuditEvent.kind).where(AuditEvent.course_id == w.course.id).order_by(AuditEvent.id)).all()
    assert kinds == ["project_group_formed", "project_group_changed", "project_group_changed", "project_group_dissolved"]
    with pytest.raises(Forbidden):
        groups.staff_form_group(w.course, w.students[2], "Not staff", [w.students[2].id], after)


# --------------------------------------------------------------------------- policy table

VIEWERS = ("instructor", "ta", "member", "other_student", "stranger", "anonymous")


def _viewer(w, name):
    return {
        "instructor": w.instructor, "ta": w.ta, "member": w.students[0], "other_student": w.students[2],
        "stranger": w.stranger, "anonymous": None,
    }[name]


@pytest.mark.parametrize(
    "viewer, manage, decide, work",
    [
        ("instructor", True, True, True),
        ("ta", True, False, True),
        ("member", False, False, True),
        ("other_student", False, False, False),
        ("stranger", False, False, False),
        ("anonymous", False, False, False),
    ],
)
def test_policy_table_groups(w, viewer, manage, decide, work):
    group = pair(w)
    user = _viewer(w, viewer)
    assert policy.can_manage_groups(user, w.course.id) is manage
    assert policy.can_decide_proposal(user, w.course.id) is decide
    assert policy.can_view_group_work(user, group) is work


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("offset, open_", [(-1, True), (0, True), (1, False)])
def test_policy_table_who_may_form_a_group_when(w, viewer, offset, open_):
    user = _viewer(w, viewer)
    moment = DEADLINE + timedelta(seconds=offset)
    expected = open_ and viewer in ("member", "other_student")
    assert policy.can_join_group(user, w.course, moment) is expected


# --------------------------------------------------------------------------- races


def _at_once(app, first, second):
    """Run ``first`` and ``second`` in two threads with their own sessions (connections) to the
    SQLite file: the first flushes and holds its transaction open while the second reads the
    same state and tries to write; return each one's outcome ('ok' or the exception)."""
    outcomes = {}
    ready = threading.Barrier(2)

    def run(name, operation, hold):
        with app.app_context():
            try:
                if hold:
                    operation()
                    ready.wait()
                    time.sleep(0.3)
                else:
                    ready.wait()
                    operation()
                db.session.commit()
                outcomes[name] = "ok"
            except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
                db.session.rollback()
                outcomes[name] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=("first", first, True)),
               threading.Thread(target=run, args=("second", second, False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


def _load(model, id_):
    return db.session.get(model, id_)


def test_two_acceptances_of_invitations_to_the_same_student_one_wins(app, w):
    a = groups.create_group(w.course, w.students[0], "A", solo=False, now=T0)
    b = groups.create_group(w.course, w.students[1], "B", solo=False, now=T0)
    ids = [groups.invite(g, inviter, w.students[2].id, T0).id for g, inviter in ((a, w.students[0]), (b, w.students[1]))]
    invitee_id = w.students[2].id
    db.session.commit()

    def accepting(invitation_id):
        def go():
            invitation = _load(ProjectInvitation, invitation_id)
            groups.accept(invitation, invitation.invitee, T0)
        return go

    outcomes = _at_once(app, accepting(ids[0]), accepting(ids[1]))
    assert outcomes["first"] == "ok"
    assert isinstance(outcomes["second"], IntegrityError)
    db.session.expire_all()
    rows = db.session.scalars(select(ProjectMember).where(ProjectMember.user_id == invitee_id)).all()
    assert [r.group_id for r in rows] == [a.id]


def test_two_acceptances_for_the_last_seat_one_wins(app, w):
    group = groups.create_group(w.course, w.students[0], "A", solo=False, now=T0)
    ids = [groups.invite(group, w.students[0], s.id, T0).id for s in (w.students[1], w.students[2])]
    db.session.commit()

    def accepting(invitation_id):
        def go():
            invitation = _load(ProjectInvitation, invitation_id)
            groups.accept(invitation, invitation.invitee, T0)
        return go

    outcomes = _at_once(app, accepting(ids[0]), accepting(ids[1]))
    assert outcomes["first"] == "ok" and isinstance(outcomes["second"], IntegrityError)
    db.session.expire_all()
    assert len(db.session.get(ProjectGroup, group.id).members) == 2
    statuses = db.session.scalars(select(ProjectInvitation.status).order_by(ProjectInvitation.id)).all()
    assert statuses == [INVITATION_ACCEPTED, INVITATION_PENDING]

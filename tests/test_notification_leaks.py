"""The notification leak matrix: every notification type × recipient, in-app and by e-mail, is
searched for what its page would hide from that recipient — others' review text, reviewer
names, feedback writers and their text, unposted grades, classmates' counts — and the text is
decided when it is sent: a notice queued before the rules changed is checked again then."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.extensions import db
from domain import reviewing
from domain.grades import posting
from domain.notifications import events
from domain.notifications.announcements import announce
from domain.notifications.outbox import notify
from domain.project import proposals
from models import (
    FEEDBACK_SUBMITTED,
    MILESTONE_CHECKPOINT,
    MILESTONE_PROPOSAL,
    TOPIC_PENDING,
    DeliveryState,
    EmailDelivery,
    Grade,
    GradeCategory,
    GradeItem,
    Milestone,
    MilestoneSubmission,
    Notification,
    NoticeState,
    PanelRoom,
    PeerFeedback,
    Phase,
    ProjectGroup,
    ProjectMember,
    ProjectTalk,
)
from tests.support.factories import ROLE_INSTRUCTOR, ROLE_STUDENT, T0
from tests.test_notifications import app, run, smtp  # noqa: F401  (app and smtp are fixtures)

REVIEW_TEXT = "UNIQUE-REVIEW-TEXT-nine-attention-heads"
FEEDBACK_TEXT = "UNIQUE-FEEDBACK-TEXT-slides-too-dense"
GRADE_COMMENT = "UNIQUE-GRADE-COMMENT-see-me"
HIDDEN_ITEM = "Secret Midterm Item"
POSTED_SCORE = "87.5"
COUNTS = re.compile(r"\b\d+\s+(?:of\s+)?(?:classmates?|reviews?|students?|submissions?|critics?|pieces?|others?)\b", re.I)


@pytest.fixture
def world(make, clock):
    """A course with every notification type caused once (see ``EXPECTED``)."""
    course = make.course(timezone="America/New_York", code="CS598", title="Model Serving Seminar")
    staff = make.member(course, ROLE_INSTRUCTOR, name="Ida Instructor")
    people = {key: make.member(course, ROLE_STUDENT, name=name) for key, name in (
        ("pat", "Pat Presenter"), ("sue", "Sue Summary"), ("rita", "Rita Secretname"),
        ("carl", "Carl Critic"), ("eve", "Eve Extended"), ("fred", "Fred Hiddenauthor"))}
    deadline = T0 + timedelta(days=3)
    p = make.presentation(course, review_deadline=deadline, presenters=[people["pat"]], summarizers=[people["sue"]])
    p.summary_deadline = deadline - timedelta(hours=1)
    make.review(p, people["rita"], submitted_at=T0, text=REVIEW_TEXT)

    g1 = ProjectGroup(course_id=course.id, name="Group One")
    g2 = ProjectGroup(course_id=course.id, name="Group Two", topic_status=TOPIC_PENDING)
    db.session.add_all([g1, g2])
    db.session.flush()
    for group, keys in ((g1, ("pat", "sue")), (g2, ("rita", "carl"))):
        for seat, key in enumerate(keys, 1):
            db.session.add(ProjectMember(course_id=course.id, group_id=group.id, user_id=people[key].id, seat=seat))
    proposal = Milestone(course_id=course.id, kind=MILESTONE_PROPOSAL, title="Proposal", deadline=T0 - timedelta(days=10))
    checkpoint = Milestone(course_id=course.id, kind=MILESTONE_CHECKPOINT, title="Checkpoint", deadline=T0 + timedelta(days=2))
    db.session.add_all([proposal, checkpoint])
    db.session.flush()
    submission = MilestoneSubmission(milestone_id=proposal.id, group_id=g2.id, version=1, title="Our topic", submitted_at=T0 - timedelta(days=11))
    db.session.add_all([submission, MilestoneSubmission(milestone_id=checkpoint.id, group_id=g1.id, version=1, submitted_at=T0)])
    talk = ProjectTalk(course_id=course.id, group_id=g1.id, session_id=p.session_id, kind="pitch",
                       feedback_opened_at=T0 - timedelta(hours=1), feedback_closes_at=T0 + timedelta(days=2))
    db.session.add(talk)
    db.session.flush()
    db.session.add(PeerFeedback(talk_id=talk.id, author_id=people["fred"].id, status=FEEDBACK_SUBMITTED,
                                answers={"comments": FEEDBACK_TEXT}, rating=2, submitted_at=T0))
    category = GradeCategory(course_id=course.id, key="reviews", title="Reviews", weight=100)
    db.session.add(category)
    db.session.flush()
    posted = GradeItem(course_id=course.id, category_id=category.id, key="review:1", title="Review of paper one")
    hidden = GradeItem(course_id=course.id, category_id=category.id, key="review:2", title=HIDDEN_ITEM)
    db.session.add_all([posted, hidden])
    db.session.flush()
    db.session.add_all([
        Grade(course_id=course.id, item_id=posted.id, student_id=people["rita"].id, score=float(POSTED_SCORE)),
        Grade(course_id=course.id, item_id=posted.id, student_id=people["carl"].id, score=61.0),
        Grade(course_id=course.id, item_id=hidden.id, student_id=people["carl"].id, score=12.0, comment=GRADE_COMMENT),
    ])
    room = PanelRoom(presentation_id=p.id, phase=Phase.PRESENTING)
    db.session.add(room)
    db.session.commit()

    # The events of the operations, at T0, as their operations write them.
    reviewing.grant_extension(p, people["eve"].id, deadline + timedelta(days=4), "", staff.id, T0)
    carl_extension = reviewing.grant_extension(p, people["carl"].id, deadline + timedelta(days=1), "", staff.id, T0)
    reviewing.revoke_extension(carl_extension, staff.id, T0)  # the grant's notice is cancelled when dispatched
    proposals.decide(submission, staff, "revise", "Narrow it down.", T0)
    posting.post_items([posted], staff.id, T0)
    events.room_opened(room, Phase.SCHEDULED, staff.id, T0)
    events.presentation_moved(p, staff.id, T0)
    announce(course, staff, "Welcome", "Read the first paper.", False, T0)
    db.session.commit()

    run(T0)
    run(deadline - timedelta(hours=47))  # 48 h reminders: review, summary, milestone, feedback
    run(T0 + timedelta(days=2, hours=1))  # the talk's feedback window has closed
    run(deadline + timedelta(minutes=1))  # reviews released
    return dict(course=course, staff=staff, people=people, p=p, talk=talk)


EXPECTED = {
    "review_due": {"carl", "fred"},
    "summary_due": {"sue"},
    "milestone_due": {"rita", "carl"},
    "feedback_due": {"rita", "carl", "eve"},
    "feedback_released": {"pat", "sue"},
    "reviews_released": {"rita", "carl", "pat", "sue", "fred"},
    "extension_granted": {"eve"},
    "extension_revoked": {"carl"},
    "proposal_decided": {"rita", "carl"},
    "grades_posted": {"rita", "carl"},
    "room_opened": {"pat", "sue", "rita", "carl", "eve", "fred"},
    "presentation_moved": {"pat", "sue"},
    "announcement": {"pat", "sue", "rita", "carl", "eve", "fred"},
}


def _names(world, user_ids) -> set[str]:
    by_id = {u.id: key for key, u in world["people"].items()}
    return {by_id.get(uid, "staff") for uid in user_ids}


def _secrets_for(key: str) -> dict[str, str]:
    """What the recipient ``key`` must never read in a notification."""
    secrets = {"review text": REVIEW_TEXT, "feedback text": FEEDBACK_TEXT, "unposted grade comment": GRADE_COMMENT,
               "unposted item": HIDDEN_ITEM}
    if key != "rita":
        secrets["reviewer name"] = "Rita Secretname"
        secrets["another student's score"] = POSTED_SCORE
    if key != "fred":
        secrets["feedback writer"] = "Fred Hiddenauthor"
    return secrets


def _inbox_pages(client) -> str:
    pages, page = [], 1
    while True:
        body = client.get(f"/notifications?page={page}").get_data(as_text=True)
        pages.append(body.split("<main", 1)[1])
        if 'rel="next"' not in body:
            return "\n".join(pages)
        page += 1


def leaks_in(text: str, key: str) -> list[str]:
    found = [what for what, secret in _secrets_for(key).items() if secret in text]
    found += [f"a count: {m.group(0)!r}" for m in COUNTS.finditer(text)]
    return found


def test_every_type_reaches_exactly_its_recipients_in_app_and_by_e_mail(world):
    delivered = db.session.scalars(select(Notification).where(Notification.state == NoticeState.DELIVERED)).all()
    by_kind: dict[str, set] = {}
    for n in delivered:
        by_kind.setdefault(n.kind, set()).add(n.user_id)
    assert {kind: _names(world, ids) for kind, ids in by_kind.items()} == EXPECTED
    sent = db.session.scalars(select(EmailDelivery).where(EmailDelivery.state == DeliveryState.SENT)).all()
    emailed: dict[str, set] = {}
    for row in sent:
        emailed.setdefault(row.kind, set()).add(row.user_id)
    assert {kind: _names(world, ids) for kind, ids in emailed.items()} == EXPECTED


def test_no_notification_carries_what_its_page_hides(world, smtp, login_as):
    for key in ("pat", "sue", "rita", "carl", "eve", "fred"):
        _check_recipient(world, smtp, login_as, key)


def _check_recipient(world, smtp, login_as, key):
    user = world["people"][key]
    messages = smtp.to(user.email)
    assert messages, "every student receives e-mails in this world"
    for message in messages:
        assert leaks_in(message.everything(), key) == [], message.header("Subject")
    inbox = _inbox_pages(login_as(user))
    # Listed as the policy lets them read each now (stale reminders say they are no longer current).
    assert inbox.count("<li class=") == sum(1 for kind, keys in EXPECTED.items() if key in keys)
    assert 'class="notice-title"' in inbox
    assert leaks_in(inbox, key) == []


def test_the_leak_search_can_fail(world):
    assert leaks_in(f"Reviewer: Rita Secretname wrote {REVIEW_TEXT}", "carl") == ["review text", "reviewer name"]
    assert leaks_in("3 of 12 classmates have submitted", "carl") == ["a count: '12 classmates'"]
    assert leaks_in("Rita Secretname", "rita") == []


def test_a_notice_queued_before_the_rules_changed_is_checked_again_when_sent(world, smtp, make):
    """Queued, then the rule changes before it is sent: nothing goes out."""
    course, staff = world["course"], world["staff"]
    fred = world["people"]["fred"]
    at = T0 + timedelta(days=3, hours=2)
    # A grade posted and held again before the sender ran.
    item = db.session.scalar(select(GradeItem).where(GradeItem.title == HIDDEN_ITEM))
    posting.post_items([item], staff.id, at)
    posting.post_items([item], staff.id, at, posted=False)
    # A release notice for a student an extension now holds back (V5).
    p = make.presentation(course, review_deadline=at - timedelta(hours=1))
    notify([fred], "reviews_released", p.id, course.id, at)
    reviewing.grant_extension(p, fred.id, at + timedelta(days=2), "", staff.id, at)
    db.session.commit()
    before = len(smtp.messages)
    run(at)
    cancelled = db.session.scalars(select(Notification).where(Notification.state == NoticeState.CANCELLED,
                                                              Notification.updated_at >= at)).all()
    assert {(n.kind, _names(world, [n.user_id]).pop()) for n in cancelled} == {("grades_posted", "carl"), ("reviews_released", "fred")}
    new = smtp.messages[before:]
    carl = world["people"]["carl"]
    assert not any("Grade posted" in m.header("Subject") for m in new if carl.email in m.rcpt_tos)
    to_fred = " | ".join(m.header("Subject") for m in new if fred.email in m.rcpt_tos)
    assert "Extension" in to_fred and "released" not in to_fred
    assert not any(GRADE_COMMENT in m.everything() or HIDDEN_ITEM in m.everything() for m in new)

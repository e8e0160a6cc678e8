"""The demo's project talks and peer feedback: a checkpoint talk whose feedback is released (one
piece held back by the TA, two marked by the group) and a final talk whose window is still open,
loaded through the same domain operations a click uses."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.extensions import db
from domain import policy
from domain.project import feedback as peer_feedback
from domain.project import talks
from models import ClassSession, Course, ProjectGroup, ProjectMember

# Used only when the project demo made no groups: (name, student numbers).
FALLBACK_GROUPS = (("Paged Minds", (1, 2)), ("Speculators", (3, 4)), ("Solo: Mei", (5,)))

CHECKPOINT_FEEDBACK = (
    (6, 5, "The block-size sweep answered the question I had before you asked it.",
     "Show tail latency next to throughput; the mean hides the preemptions.",
     "Does the gain hold with prefix sharing turned off?"),
    (7, 4, "Clear problem statement and a fair baseline.",
     "The second results slide had too many lines to read from the back.",
     "Why 16-token blocks and not 32?"),
    (8, 3, "Good live demo.", "Explain the swap path before the numbers.", ""),
    (9, 4, "The related-work map put the project in context quickly.",
     "Say which results are preliminary.", "How will you measure fragmentation in the final?"),
    (10, 2, "ok", "ok", ""),
)
FINAL_FEEDBACK = (
    (6, 5, "A convincing end-to-end result on the acceptance rate.", "Name the draft model's size on every plot.", ""),
    (1, 4, "Honest about where speculation loses.", "Shorter background section.", "What happens with temperature 1.0?"),
)


def _groups(course: Course, people: dict) -> list[ProjectGroup]:
    """The project demo's groups read from the database; else a few made here."""
    statement = (
        select(ProjectGroup)
        .where(ProjectGroup.course_id == course.id)
        .order_by(ProjectGroup.id)
        .options(selectinload(ProjectGroup.members))
    )
    groups = [g for g in db.session.scalars(statement) if g.members]
    if len(groups) >= 2:
        return groups
    for name, numbers in FALLBACK_GROUPS:
        group = ProjectGroup(course_id=course.id, name=name, solo=len(numbers) == 1, created_by_id=people[numbers[0]].id)
        db.session.add(group)
        db.session.flush()
        for seat, number in enumerate(numbers, 1):
            db.session.add(ProjectMember(course_id=course.id, group_id=group.id, user_id=people[number].id, seat=seat))
    db.session.flush()
    return list(db.session.scalars(statement))


def _give(talk, people: dict, rows, at: datetime, course: Course) -> list:
    fields = peer_feedback.feedback_form_fields(course)
    keys = [f["key"] for f in fields]
    pieces = []
    for number, rating, *texts in rows:
        student = people[number]
        if not policy.must_give_feedback(student, talk):
            continue  # a member of the presenting group in the project demo's groups
        data = peer_feedback.FeedbackInput(answers=dict(zip(keys, texts)), rating=rating)
        pieces.append(peer_feedback.submit(student, talk, fields, data, at))
    return pieces


def load_feedback(course: Course, people: dict, now: datetime) -> None:
    """A released checkpoint talk and a final talk still open for feedback, in the first session."""
    session = db.session.scalar(
        select(ClassSession).where(ClassSession.course_id == course.id, ClassSession.starts_at < now - timedelta(hours=3))
        .order_by(ClassSession.starts_at.desc())
    )
    if session is None:
        return
    first, second = _groups(course, people)[:2]
    staff = people["instructor"]
    checkpoint = talks.add_talk(course, first, session, "checkpoint", staff.id, order=1, minutes=10,
                                closes_at=min(policy.default_feedback_close(session, course), now - timedelta(hours=1)))
    during = session.starts_at + timedelta(minutes=60)
    pieces = _give(checkpoint, people, CHECKPOINT_FEEDBACK, during, course)
    if pieces:
        peer_feedback.hold_back(people["ta"], pieces[-1], "Empty: gives the group nothing to act on.", during)
    member = first.members[0].user
    for piece, helpful in zip(pieces[:2], (True, False)):
        peer_feedback.mark_helpful(member, piece, helpful, now)
    final = talks.add_talk(course, second, session, "final", staff.id, order=2, minutes=15,
                           closes_at=now + timedelta(days=2))
    _give(final, people, FINAL_FEEDBACK, max(during, now - timedelta(hours=2)), course)
    db.session.flush()


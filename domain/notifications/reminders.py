"""Notifications computed from the data at ``now`` by the periodic task: deadline reminders
(48 h and 2 h before each person's own deadline, only to those who still owe the work) and the
releases that happen by the clock (reviews at their deadline, feedback when its window closes).

Each is written once (the notification's unique key holds the window and the deadline it was
for); a deadline that moves makes a new reminder for the new deadline, and the one queued for
the old deadline is cancelled by the policy when it is dispatched.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import or_, select

from core.extensions import db
from core.timeutil import iso
from domain import policy
from domain.notifications.kinds import REMINDER_WINDOWS
from domain.notifications.outbox import notify_once
from domain.project.feedback import feedback_givers
from models import (
    MEMBER_SUMMARY,
    Extension,
    Milestone,
    MilestoneSubmission,
    PeerFeedback,
    Presentation,
    ProjectGroup,
    ProjectTalk,
    Review,
)

LONGEST = timedelta(hours=max(hours for _, hours in REMINDER_WINDOWS))
# Releases are announced for this long after they happen (a server that was down catches up).
RELEASE_LOOKBACK = timedelta(days=7)
# Milestones whose deadline passed this long ago may still have a group on an extension.
EXTENSION_LOOKBACK = timedelta(days=14)


def reminder_window(deadline: datetime, now: datetime) -> Optional[str]:
    """The latest reminder window that has begun before ``deadline`` at ``now`` ('48h', '2h'), or None."""
    if now >= deadline:
        return None
    begun = [name for name, hours in REMINDER_WINDOWS if now >= deadline - timedelta(hours=hours)]
    return begun[-1] if begun else None


def queue_due(now: datetime) -> int:
    """Write every reminder and release notice due at ``now`` (flushed); returns how many."""
    return (
        _review_reminders(now) + _reviews_released(now) + _summary_reminders(now)
        + _milestone_reminders(now) + _feedback_reminders(now) + _feedback_released(now)
    )


def _remind(user_ids, kind: str, subject_id: int, course_id: int, deadline: datetime, now: datetime) -> int:
    window = reminder_window(deadline, now)
    if window is None or not user_ids:
        return 0
    return notify_once(user_ids, kind, subject_id, course_id, now, dedupe_key=f"{window}@{iso(deadline)}",
                       params={"deadline": iso(deadline), "window": window})


def _open_presentations(now: datetime) -> list[Presentation]:
    extended = select(Extension.presentation_id).where(Extension.deadline > now, Extension.deadline <= now + LONGEST)
    return list(db.session.scalars(
        select(Presentation).where(or_(
            (Presentation.review_deadline > now) & (Presentation.review_deadline <= now + LONGEST),
            Presentation.id.in_(extended),
        ))
    ))


def _review_reminders(now: datetime) -> int:
    written = 0
    for p in _open_presentations(now):
        submitted = set(db.session.scalars(
            select(Review.author_id).where(Review.presentation_id == p.id, Review.status == "submitted")
        ))
        by_deadline: dict[datetime, list[int]] = {}
        for critic in policy.reviewers_of(p):
            if critic.id not in submitted:
                by_deadline.setdefault(policy.personal_deadline(critic.id, p), []).append(critic.id)
        for deadline, user_ids in by_deadline.items():
            written += _remind(user_ids, "review_due", p.id, p.course_id, deadline, now)
    return written


def _reviews_released(now: datetime) -> int:
    written = 0
    recent = db.session.scalars(select(Presentation).where(
        Presentation.review_deadline < now, Presentation.review_deadline >= now - RELEASE_LOOKBACK))
    for p in recent:
        if not policy.is_released(p, now):
            continue
        readers = [u.id for u in policy.reviewers_of(p) if policy.can_read_others(u, p, now)]
        readers += sorted(p.member_ids())
        written += notify_once(readers, "reviews_released", p.id, p.course_id, now)
    return written


def _summary_reminders(now: datetime) -> int:
    written = 0
    due = db.session.scalars(select(Presentation).where(
        Presentation.summary_submitted_at.is_(None), Presentation.summary_deadline > now,
        Presentation.summary_deadline <= now + LONGEST))
    for p in due:
        written += _remind(sorted(p.member_ids(MEMBER_SUMMARY)), "summary_due", p.id, p.course_id, p.summary_deadline, now)
    return written


def _milestone_reminders(now: datetime) -> int:
    written = 0
    for milestone in db.session.scalars(select(Milestone).where(Milestone.deadline > now - EXTENSION_LOOKBACK)):
        submitted = set(db.session.scalars(
            select(MilestoneSubmission.group_id).where(MilestoneSubmission.milestone_id == milestone.id)))
        groups = db.session.scalars(select(ProjectGroup).where(ProjectGroup.course_id == milestone.course_id))
        for group in groups:
            if group.id in submitted or not group.members:
                continue
            deadline = policy.group_deadline(milestone, group)
            written += _remind(sorted(group.member_ids()), "milestone_due", milestone.id, milestone.course_id, deadline, now)
    return written


def _feedback_reminders(now: datetime) -> int:
    written = 0
    talks = db.session.scalars(select(ProjectTalk).where(
        ProjectTalk.feedback_closes_at > now, ProjectTalk.feedback_closes_at <= now + LONGEST))
    for talk in talks:
        if not policy.is_feedback_open(talk, now):
            continue
        done = set(db.session.scalars(select(PeerFeedback.author_id).where(
            PeerFeedback.talk_id == talk.id, PeerFeedback.status == "submitted")))
        owing = [u.id for u in feedback_givers(talk) if u.id not in done]
        written += _remind(owing, "feedback_due", talk.id, talk.course_id, talk.feedback_closes_at, now)
    return written


def _feedback_released(now: datetime) -> int:
    written = 0
    talks = db.session.scalars(select(ProjectTalk).where(
        ProjectTalk.feedback_closes_at < now, ProjectTalk.feedback_closes_at >= now - RELEASE_LOOKBACK))
    for talk in talks:
        members = sorted(talk.group.member_ids())
        written += notify_once(members, "feedback_released", talk.id, talk.course_id, now)
    return written

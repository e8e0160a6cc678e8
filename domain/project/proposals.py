"""Proposal decisions (SPEC §5.2): the instructor approves a group's latest proposal, asks for a
revision with a comment (the group resubmits), or rejects it; each decision is a row and sets
the group's ``topic_status``."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.extensions import db
from domain import audit, policy
from domain.notifications import events as notifications
from domain.errors import Conflict, Forbidden, Invalid
from domain.project.milestones import latest_version
from models import (
    MILESTONE_PROPOSAL,
    TOPIC_APPROVED,
    TOPIC_PENDING,
    TOPIC_REJECTED,
    TOPIC_REVISE,
    Course,
    MilestoneSubmission,
    ProjectGroup,
    ProposalDecision,
)

DECISIONS = {"approve": TOPIC_APPROVED, "revise": TOPIC_REVISE, "reject": TOPIC_REJECTED}


def decide(submission: MilestoneSubmission, actor, decision: str, comment: str, now: datetime) -> ProposalDecision:
    """Record the instructor's decision on the group's latest proposal version."""
    milestone, group = submission.milestone, submission.group
    if not policy.can_decide_proposal(actor, milestone.course_id):
        raise Forbidden("Proposals are decided by the instructor.")
    if milestone.kind != MILESTONE_PROPOSAL:
        raise Invalid("Only proposals are decided; other milestones are graded.")
    status = DECISIONS.get(decision)
    if status is None:
        raise Invalid("Choose approve, ask for a revision, or reject.")
    comment = (comment or "").strip()
    if status == TOPIC_REVISE and not comment:
        raise Invalid("Say what the group should revise.")
    latest = latest_version(group, milestone)
    if latest is None or latest.id != submission.id or group.topic_status != TOPIC_PENDING:
        raise Conflict("This proposal was already decided or has a newer version; reload the page.")
    row = ProposalDecision(
        submission_id=submission.id, group_id=group.id, decision=status, comment=comment,
        decided_by_id=actor.id, decided_at=now,
    )
    db.session.add(row)
    group.topic_status = status
    audit.record(
        "project_proposal_decided", milestone.course_id, actor.id, subject_id=min(group.member_ids(), default=None),
        group_id=group.id, submission_id=submission.id, decision=status,
    )
    db.session.flush()
    notifications.proposal_decided(group, milestone.course_id, row.id, now)
    return row


def decisions_of(group: ProjectGroup) -> list[ProposalDecision]:
    """The group's proposal decisions, newest first."""
    return list(
        db.session.scalars(
            select(ProposalDecision).where(ProposalDecision.group_id == group.id).order_by(ProposalDecision.id.desc())
        )
    )


def last_decision(group: ProjectGroup) -> Optional[ProposalDecision]:
    """The latest decision on the group's proposal, if any."""
    found = decisions_of(group)
    return found[0] if found else None


def proposals_to_review(course: Course) -> list[tuple[ProjectGroup, MilestoneSubmission]]:
    """Each group's latest proposal version, those awaiting a decision first."""
    milestone = policy.milestone_of(course.id, MILESTONE_PROPOSAL)
    if milestone is None:
        return []
    groups = db.session.scalars(
        select(ProjectGroup).where(ProjectGroup.course_id == course.id).order_by(ProjectGroup.id).options(selectinload(ProjectGroup.members))
    )
    pairs = [(g, latest_version(g, milestone)) for g in groups]
    pairs = [(g, s) for g, s in pairs if s is not None]
    return sorted(pairs, key=lambda pair: pair[0].topic_status != TOPIC_PENDING)

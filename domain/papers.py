"""The course's paper list and students' proposals (SPEC §2.1): filtering, topics, what is
scheduled, and staff decisions. Operations flush; the request commits."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from core.extensions import db
from domain import signup
from domain.errors import Invalid
from models import PAPER_APPROVED, PAPER_PROPOSED, PAPER_REJECTED, Course, Paper, Presentation, PresentationMember

DECISIONS = {"approve": PAPER_APPROVED, "reject": PAPER_REJECTED}
ALREADY_DECIDED = "That proposal has already been decided."


def topics(course: Course) -> list[str]:
    """The distinct topics of the course's approved papers."""
    return list(
        db.session.scalars(
            select(Paper.topic)
            .where(Paper.course_id == course.id, Paper.status == PAPER_APPROVED, Paper.topic != "")
            .distinct()
            .order_by(Paper.topic)
        )
    )


def approved_papers_query(course: Course, text: str = "", topic: str = ""):
    """Approved papers of the course, filtered by topic and by text in title or authors."""
    stmt = select(Paper).where(Paper.course_id == course.id, Paper.status == PAPER_APPROVED)
    if topic:
        stmt = stmt.where(Paper.topic == topic)
    if text:
        needle = text.strip().lower()
        stmt = stmt.where(
            or_(
                func.lower(Paper.title).contains(needle, autoescape=True),
                func.lower(Paper.authors).contains(needle, autoescape=True),
            )
        )
    return stmt.order_by(Paper.topic, Paper.title, Paper.id)


def presentations_by_paper(course: Course, paper_ids: list[int]) -> dict[int, Presentation]:
    """The scheduled presentation of each listed paper, with its session and presenters loaded."""
    if not paper_ids:
        return {}
    rows = db.session.scalars(
        select(Presentation)
        .where(Presentation.course_id == course.id, Presentation.paper_id.in_(paper_ids))
        .options(
            joinedload(Presentation.session),
            selectinload(Presentation.members).joinedload(PresentationMember.user),
        )
    )
    return {p.paper_id: p for p in rows}


def proposals_for(course: Course, user_id: int, sees_all: bool) -> list[Paper]:
    """Every proposal awaiting a decision when ``sees_all`` (staff); else the user's own proposals."""
    stmt = select(Paper).where(Paper.course_id == course.id).options(joinedload(Paper.proposed_by))
    if sees_all:
        stmt = stmt.where(Paper.status == PAPER_PROPOSED)
    else:
        stmt = stmt.where(Paper.proposed_by_id == user_id)
    return list(db.session.scalars(stmt.order_by(Paper.created_at.desc(), Paper.id.desc())))


def new_paper(course: Course) -> Paper:
    """An unsaved paper staff add to the approved list."""
    return Paper(course_id=course.id, status=PAPER_APPROVED)


def new_proposal(course: Course, user_id: int) -> Paper:
    """An unsaved paper a student proposes, awaiting a staff decision."""
    return Paper(course_id=course.id, status=PAPER_PROPOSED, proposed_by_id=user_id)


def save(paper: Paper) -> Paper:
    """Store a new or edited paper."""
    db.session.add(paper)
    db.session.flush()
    return paper


def delete_blocker(paper: Paper) -> Optional[str]:
    """Why the paper must stay (a presentation of it is scheduled), or None."""
    if signup.paper_taken(paper.course_id, paper.id):
        return f"“{paper.title}” is scheduled for a presentation; remove that first."
    return None


def is_decided(paper: Paper) -> bool:
    """The proposal was approved or rejected already."""
    return paper.status != PAPER_PROPOSED


def decide(paper: Paper, decision: str, note: str) -> str:
    """Approve or reject a proposal ('approve' / 'reject'), with a note the proposer reads;
    a rejection must say why. Returns the new status; raises Invalid for a bad decision."""
    status = DECISIONS.get(decision)
    note = (note or "").strip()
    if status is None:
        raise Invalid("Choose Approve or Reject.")
    if status == PAPER_REJECTED and not note:
        raise Invalid("Say why the paper is rejected; the student sees this note.")
    paper.status = status
    paper.decision_note = note
    db.session.flush()
    return status

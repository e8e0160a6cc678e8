"""What a room holds now, read for snapshots, broadcasts and pages: votes, the queue in display
order, the live question, questions with their people, the verdict poll, one viewer's own votes,
questions and verdict, and the lines of a critic's review to push. Nothing here writes.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy import bindparam, func, literal, null, select, union_all
from sqlalchemy.orm import joinedload

from core import reads
from core.extensions import db
from domain import policy
from domain.panel.schema import QUESTION_MAX
from models import Q_ANSWERED, Q_LIVE, Q_QUEUED, VERDICTS, PanelRoom, Question, VerdictVote, Vote

def vote_count(question_id: int) -> int:
    """Votes of a question, counted from the vote rows."""
    return db.session.scalar(select(func.count(Vote.id)).where(Vote.question_id == question_id))


_VOTE_COUNTS = (
    select(Vote.question_id, func.count(Vote.id))
    .join(Question, Question.id == Vote.question_id)
    .where(Question.room_id == bindparam("room_id"))
    .group_by(Vote.question_id)
)


def vote_counts(room_id: int) -> dict[int, int]:
    """Votes per question of the room, counted from the vote rows."""
    return dict(db.session.execute(_VOTE_COUNTS, {"room_id": room_id}).all())


def order_queue(questions, votes: dict[int, int]) -> list[int]:
    """Queued question ids in display order (SPEC §4.3), from the room's queued and answered
    questions (rows or ``Question``s with id, state, pinned, manual_rank, asker_id, created_at).

    Pinned first, then votes (descending), then the moderator's rank, then askers with fewer
    answered questions, then submission time.
    """
    answered = Counter(q.asker_id for q in questions if q.state == Q_ANSWERED)

    def key(q):
        rank = q.manual_rank if q.manual_rank is not None else float("inf")
        return (not q.pinned, -votes.get(q.id, 0), rank, answered[q.asker_id], q.created_at, q.id)

    return [q.id for q in sorted((q for q in questions if q.state == Q_QUEUED), key=key)]


_QUEUE_ROWS = select(
    Question.id, Question.state, Question.pinned, Question.manual_rank, Question.asker_id, Question.created_at
).where(Question.room_id == bindparam("room_id"), Question.state.in_((Q_QUEUED, Q_ANSWERED)))


def queue_order(room_id: int, votes: Optional[dict[int, int]] = None) -> list[int]:
    """Queued question ids in display order (``order_queue``), read in one query."""
    votes = vote_counts(room_id) if votes is None else votes
    return order_queue(db.session.execute(_QUEUE_ROWS, {"room_id": room_id}).all(), votes)


_ROOM_SEQ = select(PanelRoom.seq).where(PanelRoom.id == bindparam("room_id"))


def room_seq(room_id: int) -> Optional[int]:
    """The room's seq as stored now."""
    return db.session.scalar(_ROOM_SEQ, {"room_id": room_id})


def room_seqs(room_ids) -> dict[int, int]:
    """The stored seq of each of the given rooms, read in one query."""
    ids = list(room_ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(PanelRoom.id, PanelRoom.seq).where(PanelRoom.id.in_(ids))).all())


def live_question_id(room_id: int) -> Optional[int]:
    """The room's live question, if any."""
    return db.session.scalar(
        select(Question.id).where(Question.room_id == room_id, Question.state == Q_LIVE)
    )


def _with_people(statement):
    """Load each question's asker and claimer in the same query."""
    return statement.options(joinedload(Question.asker), joinedload(Question.claimed_by))


_ROOM_QUESTIONS = (
    _with_people(select(Question))
    .where(Question.room_id == bindparam("room_id"))
    .order_by(Question.created_at, Question.id)
)


def room_questions(room_id: int) -> list[Question]:
    """Every question of the room, oldest first, with askers and claimers (one query)."""
    return list(db.session.scalars(_ROOM_QUESTIONS, {"room_id": room_id}))


def questions_by_id(question_ids) -> dict[int, Question]:
    """The given questions by id, with askers and claimers (one query)."""
    statement = _with_people(select(Question)).where(Question.id.in_(list(question_ids)))
    return {q.id: q for q in db.session.scalars(statement)}


def verdict_counts(room: policy.AnyRoom) -> dict[str, int]:
    """Accept / revise / reject votes of the room's verdict poll."""
    rows = db.session.execute(
        select(VerdictVote.verdict, func.count(VerdictVote.id))
        .where(VerdictVote.room_id == room.id)
        .group_by(VerdictVote.verdict)
    )
    counts = dict(rows.all())
    return {verdict: counts.get(verdict, 0) for verdict in VERDICTS}


@dataclass
class ViewerState:
    """What one viewer's snapshot adds to their audience's view of the room."""

    votes: list[int] = field(default_factory=list)
    own: list[int] = field(default_factory=list)
    verdict: Optional[str] = None


_VIEWER_STATE = union_all(
    select(literal("vote"), Vote.question_id, null())
    .join(Question, Question.id == Vote.question_id)
    .where(Question.room_id == bindparam("room_id"), Vote.user_id == bindparam("user_id")),
    select(literal("own"), Question.id, null())
    .where(Question.room_id == bindparam("room_id"), Question.asker_id == bindparam("user_id")),
    select(literal("verdict"), null(), VerdictVote.verdict)
    .where(VerdictVote.room_id == bindparam("room_id"), VerdictVote.user_id == bindparam("user_id")),
)


def viewer_state(room_id: int, user_id: int) -> ViewerState:
    """The user's votes, own questions and verdict in the room, read in one query."""
    state = ViewerState()
    for kind, question_id, verdict in reads.rows(_VIEWER_STATE, {"room_id": room_id, "user_id": user_id}):
        if kind == "verdict":
            state.verdict = verdict
        else:
            (state.votes if kind == "vote" else state.own).append(question_id)
    state.votes.sort()
    return state


def review_questions(room: policy.AnyRoom, user) -> list[str]:
    """The lines of the user's own review's "questions for the authors", ready to push."""
    review = policy.own_review(user, room.presentation)
    if review is None:
        return []
    text = (review.answers or {}).get("questions") or ""
    lines = (line.strip().lstrip("-•*").strip() for line in text.splitlines())
    return [line[:QUESTION_MAX] for line in lines if line]


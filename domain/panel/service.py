"""Room operations: pure database logic, one transaction per client action.

``apply`` opens the transaction by incrementing the room's ``seq`` (``UPDATE panel_rooms SET
seq = seq + 1``): in PostgreSQL that row lock serialises the room's writers, in SQLite the
statement takes the database write lock. The action then reads fresh rows, checks states and
versions, changes them, and stores the client's ``cid`` with its acknowledgement in the same
transaction. It returns a ``Change`` saying what to broadcast; nothing is kept in memory.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, Optional

from sqlalchemy import bindparam, case, delete, func, literal, null, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from domain import audit
from domain import policy
from core.extensions import db
from models import (
    PHASES,
    Q_ANSWERED,
    Q_DISMISSED,
    Q_LIVE,
    Q_MERGED,
    Q_PENDING,
    Q_QUEUED,
    ROLE_STUDENT,
    VERDICTS,
    ClientAction,
    Course,
    Enrollment,
    PanelRoom,
    Presentation,
    Question,
    RoomMute,
    User,
    VerdictVote,
    Vote,
)
from core.timeutil import iso, now_utc

# --------------------------------------------------------------------------- results


class PanelError(Exception):
    """An action refused; ``code`` is one of the protocol's error codes."""

    def __init__(self, code: str, message: str, question: Optional[Question] = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.question = question


@dataclass
class Notice:
    user_id: int
    kind: str
    message: str
    question_id: Optional[int] = None


@dataclass
class Change:
    """What one action changed, for the broadcast that follows the commit."""

    room_id: int
    cid: str = ""
    seq: int = 0
    ack: dict[str, Any] = field(default_factory=dict)
    # question id -> whether the public could see it before the change
    questions: dict[int, bool] = field(default_factory=dict)
    room: bool = False
    verdict: bool = False
    notices: list[Notice] = field(default_factory=list)
    # (user id, question id, voted) for the voter's other tabs
    my_votes: list[tuple[int, int, bool]] = field(default_factory=list)
    replayed: bool = False
    # the actor's room role (``policy.room_role``), read once for the whole action
    role: Optional[str] = None

    def touch(self, question: Question) -> None:
        """Note a question about to change (call before changing its state)."""
        if question.id is not None:
            self.questions.setdefault(question.id, is_public(question))


def is_public(question: Question) -> bool:
    """Whether critics and authors may see the question at all."""
    return question.state in policy.PUBLIC_QUESTION_STATES


# --------------------------------------------------------------------------- rooms


def room_for(presentation: Presentation) -> PanelRoom:
    """The presentation's room, created on first visit (two first visits at once make one)."""
    room = db.session.scalar(select(PanelRoom).where(PanelRoom.presentation_id == presentation.id))
    if room is not None:
        return room
    room = PanelRoom(presentation_id=presentation.id)
    db.session.add(room)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        room = db.session.scalar(select(PanelRoom).where(PanelRoom.presentation_id == presentation.id))
    return room


def room_and_role(room_id: int, user) -> tuple[PanelRoom, str]:
    """The room and the user's role in it, read now; a stranger's room is ``not_found``."""
    room = policy.load_room(user, room_id)
    role = policy.room_role(user, room.presentation) if room is not None else None
    if role is None:
        raise PanelError("not_found", "There is no such room.")
    return room, role


# Statements read on every join or action are built once (no per-call construction or cache key).
_STORED_ACK = select(ClientAction.result).where(
    ClientAction.user_id == bindparam("user_id"), ClientAction.client_id == bindparam("cid")
)


def stored_ack(user_id: int, cid: str) -> Optional[dict]:
    """The acknowledgement an earlier action with this cid got, if it was applied."""
    return db.session.scalar(_STORED_ACK, {"user_id": user_id, "cid": cid})


# --------------------------------------------------------------------------- permissions

MUTABLE = frozenset({"ask", "follow_up", "vote"})
PHASE_RULES = {
    "ask": policy.ASK_PHASES,
    "follow_up": policy.ASK_PHASES,
    "verdict": policy.VERDICT_PHASES,
    "vote": tuple(p for p in PHASES if p != "closed"),
}
MODERATOR_EVENTS = frozenset(
    {"approve", "dismiss", "edit", "merge", "pin", "unpin", "reorder", "set_live",
     "mark_answered", "reopen", "mute", "phase", "extend", "settings"}
)
# The room roles each event's ``PERMISSIONS`` function admits, for a role already read.
EVENT_ROLES: dict[str, tuple[str, ...]] = {
    "ask": (policy.ROOM_CRITIC,),
    "follow_up": (policy.ROOM_CRITIC,),
    "vote": (policy.ROOM_MODERATOR, policy.ROOM_AUTHOR, policy.ROOM_CRITIC),
    "verdict": (policy.ROOM_CRITIC,),
    "claim": (policy.ROOM_AUTHOR,),
    "answer": (policy.ROOM_AUTHOR,),
    **{event: (policy.ROOM_MODERATOR,) for event in MODERATOR_EVENTS},
}
PERMISSIONS: dict[str, Callable[[Any, PanelRoom], bool]] = {
    "ask": policy.can_ask,
    "follow_up": policy.can_ask,
    "vote": policy.can_vote,
    "verdict": policy.can_cast_verdict,
    "claim": policy.can_answer,
    "answer": policy.can_answer,
    **{event: policy.can_moderate for event in MODERATOR_EVENTS},
}
REFUSALS = {
    "muted": "A moderator muted you in this room.",
    "closed": "The room does not take this now.",
    "forbidden": "Your role in this room cannot do that.",
}


def permitted(event: str, room: PanelRoom, user, role: Optional[str]) -> bool:
    """``PERMISSIONS[event](user, room)`` for a user whose room role (``policy.room_role``) was
    read earlier in this event: the role, the room's phase and (for questions and votes) mutes."""
    return (
        role in EVENT_ROLES[event]
        and (event not in PHASE_RULES or room.phase in PHASE_RULES[event])
        and not (event in MUTABLE and policy.is_muted(user, room))
    )


def check_permission(event: str, room: PanelRoom, user, role: Optional[str] = None) -> None:
    """Refuse the event unless the policy lets this user do it in this room now (``role``: the
    user's room role already read in this event; without it the policy reads it)."""
    if permitted(event, room, user, role) if role is not None else PERMISSIONS[event](user, room):
        return
    if event in MUTABLE and policy.is_muted(user, room):
        code = "muted"
    elif event in PHASE_RULES and room.phase not in PHASE_RULES[event]:
        code = "closed"
    else:
        code = "forbidden"
    raise PanelError(code, REFUSALS[code])


# --------------------------------------------------------------------------- the transaction


_BUMP_SEQ = update(PanelRoom).where(PanelRoom.id == bindparam("room_id")).values(seq=PanelRoom.seq + 1)


def _lock_room(room_id: int) -> Optional[PanelRoom]:
    """Start the room's write transaction by bumping its seq; returns the room read after it."""
    db.session.execute(_BUMP_SEQ, {"room_id": room_id})
    # Rows read before the lock may be stale: read everything again from here on.
    db.session.expire_all()
    return db.session.get(PanelRoom, room_id)


def apply(event: str, room_id: int, user, cid: str, args: dict[str, Any],
          role: Optional[str] = None) -> Change:
    """Apply one action in one transaction; a cid seen before returns its stored ack.

    ``role`` is the user's room role when this event already read it from the policy (else it is
    read here). Membership and permission are checked again under the lock, so the service is
    safe to call without the namespace's earlier checks.
    """
    try:
        room = _lock_room(room_id)
        earlier = stored_ack(user.id, cid)
        if earlier is not None:
            db.session.rollback()
            return Change(room_id=room_id, cid=cid, ack=earlier, replayed=True)
        if room is not None and role is None:
            role = policy.room_role(user, room.presentation)
        if room is None or role is None:
            raise PanelError("not_found", "There is no such room.")
        check_permission(event, room, user, role)
        seq = room.seq
        change = Change(room_id=room_id, cid=cid, seq=seq, role=role)
        extra = ACTIONS[event](room, user, change, **args) or {}
        change.ack = {"ok": True, "seq": seq, **extra}
        db.session.add(ClientAction(user_id=user.id, client_id=cid, result=change.ack))
        db.session.commit()
        return change
    except PanelError:
        db.session.rollback()
        raise
    except (IntegrityError, StaleDataError):
        db.session.rollback()
        earlier = stored_ack(user.id, cid)
        if earlier is not None:
            return Change(room_id=room_id, cid=cid, ack=earlier, replayed=True)
        raise PanelError("conflict", "Someone else changed this at the same moment; try again.") from None


# --------------------------------------------------------------------------- helpers


def _question(room: PanelRoom, user, change: Change, question_id: int) -> Question:
    """A question of this room the user may see; anything else answers like a missing one."""
    question = db.session.get(Question, question_id)
    if (
        question is None
        or question.room_id != room.id
        or not policy.role_sees_question(user, change.role, question)
    ):
        raise PanelError("not_found", "There is no such question.")
    return question


def _moderated_question(room: PanelRoom, user, change: Change, question_id: int, version: int,
                        states) -> Question:
    """A question for a moderator action: same version the moderator saw, in an allowed state."""
    question = _question(room, user, change, question_id)
    if question.version != version:
        raise PanelError("conflict", "Another moderator changed this question first.", question)
    if question.state not in states:
        raise PanelError("invalid", f"A {question.state} question cannot be changed that way.")
    return question


def _new_question(room: PanelRoom, user, change: Change, text: str, anonymous: bool,
                  parent: Optional[Question] = None) -> Question:
    now = now_utc()
    question = Question(
        room_id=room.id,
        asker_id=user.id,
        client_id=change.cid,
        text=text,
        anonymous=anonymous,
        parent_id=parent.id if parent else None,
        state=Q_PENDING if room.moderated else Q_QUEUED,
        approved_at=None if room.moderated else now,
        created_at=now,
    )
    db.session.add(question)
    db.session.flush()
    change.questions[question.id] = False
    return question


def _set_state(question: Question, change: Change, state: str) -> None:
    change.touch(question)
    question.state = state


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


def verdict_counts(room: PanelRoom) -> dict[str, int]:
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
    for kind, question_id, verdict in db.session.execute(_VIEWER_STATE, {"room_id": room_id, "user_id": user_id}):
        if kind == "verdict":
            state.verdict = verdict
        else:
            (state.votes if kind == "vote" else state.own).append(question_id)
    state.votes.sort()
    return state


def review_questions(room: PanelRoom, user) -> list[str]:
    """The lines of the user's own review's "questions for the authors", ready to push."""
    review = policy.own_review(user, room.presentation)
    if review is None:
        return []
    text = (review.answers or {}).get("questions") or ""
    lines = (line.strip().lstrip("-•*").strip() for line in text.splitlines())
    return [line[:500] for line in lines if line]


# --------------------------------------------------------------------------- critic actions


def ask(room, user, change, text, anonymous=False, from_review=False):
    """A critic's new question: pending in a moderated room, queued at once in an open one."""
    question = _new_question(room, user, change, text, anonymous)
    return {"question_id": question.id, "state": question.state}


def follow_up(room, user, change, question_id, text):
    """One follow-up on the asker's own answered question; moderated like any question."""
    parent = _question(room, user, change, question_id)
    if not policy.can_follow_up(user, parent):
        raise PanelError("forbidden", "Follow-ups are not open on this question.")
    exists = db.session.scalar(
        select(Question.id).where(Question.parent_id == parent.id, Question.asker_id == user.id)
    )
    if exists is not None:
        raise PanelError("forbidden", "You already asked a follow-up on this question.")
    question = _new_question(room, user, change, text, parent.anonymous, parent=parent)
    return {"question_id": question.id, "state": question.state}


def vote(room, user, change, question_id, up=None):
    """Toggle (or set, with ``up``) the user's vote on a queued or live question."""
    question = _question(room, user, change, question_id)
    if question.state not in (Q_QUEUED, Q_LIVE):
        raise PanelError("invalid", "Only questions in the queue take votes.")
    existing = db.session.scalar(
        select(Vote).where(Vote.question_id == question.id, Vote.user_id == user.id)
    )
    wanted = (existing is None) if up is None else up
    if wanted and existing is None:
        db.session.add(Vote(question_id=question.id, user_id=user.id))
    elif not wanted and existing is not None:
        db.session.delete(existing)
    db.session.flush()
    change.touch(question)
    change.my_votes.append((user.id, question.id, wanted))
    return {"question_id": question.id, "voted": wanted, "votes": vote_count(question.id)}


def verdict(room, user, change, verdict):
    """The critic's verdict on the paper; a second vote replaces the first."""
    existing = db.session.scalar(
        select(VerdictVote).where(VerdictVote.room_id == room.id, VerdictVote.user_id == user.id)
    )
    if existing is None:
        db.session.add(VerdictVote(room_id=room.id, user_id=user.id, verdict=verdict))
    else:
        existing.verdict = verdict
    change.verdict = True
    return {"verdict": verdict}


# --------------------------------------------------------------------------- author actions


def claim(room, user, change, question_id):
    """The author group takes a question ("we'll take this"); claiming it again releases it."""
    question = _question(room, user, change, question_id)
    if question.state not in (Q_QUEUED, Q_LIVE):
        raise PanelError("invalid", "Only questions in the queue can be claimed.")
    change.touch(question)
    question.claimed_by_id = None if question.claimed_by_id == user.id else user.id
    return {"question_id": question.id, "claimed": question.claimed_by_id == user.id}


def answer(room, user, change, question_id, outcome, text=""):
    """The authors' answer: an outcome and an optional short text; the question is answered."""
    question = _question(room, user, change, question_id)
    if question.state not in (Q_QUEUED, Q_LIVE, Q_ANSWERED):
        raise PanelError("invalid", "Only questions in the queue can be answered.")
    _set_state(question, change, Q_ANSWERED)
    question.answer_text = text or ""
    question.outcome = outcome
    question.claimed_by_id = question.claimed_by_id or user.id
    question.answered_at = question.answered_at or now_utc()
    return {"question_id": question.id}


# --------------------------------------------------------------------------- moderator actions

OPEN_STATES = (Q_PENDING, Q_QUEUED, Q_LIVE)


def approve(room, user, change, question_id, version):
    """Pending → queued."""
    question = _moderated_question(room, user, change, question_id, version, (Q_PENDING,))
    _set_state(question, change, Q_QUEUED)
    question.approved_at = now_utc()
    return {"question_id": question.id}


def dismiss(room, user, change, question_id, version, reason=""):
    """Take a question out; the reason goes privately to its asker."""
    question = _moderated_question(room, user, change, question_id, version, OPEN_STATES)
    _set_state(question, change, Q_DISMISSED)
    question.dismiss_reason = reason or ""
    message = reason or "A moderator took your question out of the queue."
    change.notices.append(Notice(question.asker_id, "dismissed", message, question.id))
    return {"question_id": question.id}


def edit(room, user, change, question_id, version, text):
    """Reword a question; the asker's original is kept (and both go to the audit log)."""
    question = _moderated_question(room, user, change, question_id, version, OPEN_STATES)
    change.touch(question)
    audit.record(
        "panel_question_edited",
        room.presentation.course_id,
        user.id,
        subject_id=question.asker_id,
        presentation_id=room.presentation_id,
        question_id=question.id,
        before=question.text,
        after=text,
    )
    question.original_text = question.original_text or question.text
    question.text = text
    return {"question_id": question.id}


def merge(room, user, change, question_id, version, into_id):
    """Fold a duplicate into another question; its votes move over (one per user)."""
    question = _moderated_question(room, user, change, question_id, version, (Q_PENDING, Q_QUEUED))
    target = _question(room, user, change, into_id)
    if target.id == question.id or target.state in (Q_MERGED, Q_DISMISSED):
        raise PanelError("invalid", "Merge into another open question.")
    already = select(Vote.user_id).where(Vote.question_id == target.id).scalar_subquery()
    db.session.execute(
        update(Vote)
        .where(Vote.question_id == question.id, Vote.user_id.not_in(already))
        .values(question_id=target.id)
    )
    db.session.execute(delete(Vote).where(Vote.question_id == question.id))
    _set_state(question, change, Q_MERGED)
    question.merged_into_id = target.id
    change.touch(target)
    return {"question_id": question.id, "into_id": target.id}


def _set_pinned(room, user, change, question_id, version, pinned):
    question = _moderated_question(room, user, change, question_id, version, (Q_QUEUED, Q_LIVE))
    change.touch(question)
    question.pinned = pinned
    return {"question_id": question.id}


def pin(room, user, change, question_id, version):
    """Pin to the top of the queue."""
    return _set_pinned(room, user, change, question_id, version, True)


def unpin(room, user, change, question_id, version):
    """Unpin."""
    return _set_pinned(room, user, change, question_id, version, False)


def reorder(room, user, change, question_id, version, rank):
    """Set the moderator's manual rank (lower first among equal pins and votes)."""
    question = _moderated_question(room, user, change, question_id, version, (Q_PENDING, Q_QUEUED))
    change.touch(question)
    question.manual_rank = float(rank)
    return {"question_id": question.id}


def set_live(room, user, change, question_id, version):
    """Make a queued question the one live question; the previous live one goes back to the queue."""
    question = _moderated_question(room, user, change, question_id, version, (Q_QUEUED,))
    previous = db.session.scalars(
        select(Question).where(Question.room_id == room.id, Question.state == Q_LIVE)
    ).all()
    for other in previous:
        _set_state(other, change, Q_QUEUED)
        other.live_at = None
    db.session.flush()
    _set_state(question, change, Q_LIVE)
    question.live_at = now_utc()
    return {"question_id": question.id}


def mark_answered(room, user, change, question_id, version):
    """The live (or a queued) question was answered aloud."""
    question = _moderated_question(room, user, change, question_id, version, (Q_QUEUED, Q_LIVE))
    _set_state(question, change, Q_ANSWERED)
    question.answered_at = now_utc()
    return {"question_id": question.id}


def reopen(room, user, change, question_id, version):
    """Answered or dismissed → back to the queue."""
    question = _moderated_question(room, user, change, question_id, version, (Q_ANSWERED, Q_DISMISSED))
    _set_state(question, change, Q_QUEUED)
    question.answered_at = None
    question.dismiss_reason = ""
    question.approved_at = question.approved_at or now_utc()
    return {"question_id": question.id}


def mute(room, user, change, user_id):
    """Mute a critic or author for the rest of the session: no more questions or votes."""
    target = db.session.get(User, user_id)
    target_role = policy.room_role(target, room.presentation) if target else None
    if target_role is None:
        raise PanelError("not_found", "There is no such participant.")
    if target_role == policy.ROOM_MODERATOR:
        raise PanelError("invalid", "Moderators cannot be muted.")
    if not policy.is_muted(target, room):
        db.session.add(RoomMute(room_id=room.id, user_id=target.id, muted_by_id=user.id))
        change.notices.append(
            Notice(target.id, "muted", "A moderator muted you: you can no longer ask or vote here.")
        )
    return {"user_id": target.id}


def _minutes_for(room: PanelRoom, phase: str) -> Optional[int]:
    presentation = room.presentation
    return {"presenting": presentation.talk_minutes, "panel": presentation.qa_minutes}.get(phase)


def phase(room, user, change, phase, minutes=None):
    """Move the room to a phase; timed phases run for the presentation's minutes (or ``minutes``)."""
    now = now_utc()
    default = _minutes_for(room, phase)
    room.phase = phase
    room.phase_started_at = now
    room.phase_ends_at = now + timedelta(minutes=minutes or default) if default is not None else None
    change.room = True
    change.verdict = phase == "closed"
    return {"phase": phase}


def extend(room, user, change, minutes):
    """Add minutes to the running timer."""
    if room.phase_ends_at is None:
        raise PanelError("invalid", "No timer is running.")
    room.phase_ends_at = max(room.phase_ends_at, now_utc()) + timedelta(minutes=minutes)
    change.room = True
    return {"phase_ends_at": iso(room.phase_ends_at)}


def settings(room, user, change, moderated=None, follow_ups_allowed=None):
    """Pre-moderation on or off; follow-ups allowed or not."""
    if moderated is None and follow_ups_allowed is None:
        raise PanelError("invalid", "Nothing to change.")
    if moderated is not None:
        room.moderated = moderated
    if follow_ups_allowed is not None:
        room.follow_ups_allowed = follow_ups_allowed
    change.room = True
    return {}


ACTIONS: dict[str, Callable[..., Optional[dict]]] = {
    "ask": ask,
    "follow_up": follow_up,
    "vote": vote,
    "verdict": verdict,
    "claim": claim,
    "answer": answer,
    "approve": approve,
    "dismiss": dismiss,
    "edit": edit,
    "merge": merge,
    "pin": pin,
    "unpin": unpin,
    "reorder": reorder,
    "set_live": set_live,
    "mark_answered": mark_answered,
    "reopen": reopen,
    "mute": mute,
    "phase": phase,
    "extend": extend,
    "settings": settings,
}


# --------------------------------------------------------------------------- after the panel


def transcript(room: PanelRoom, viewer) -> list[dict[str, Any]]:
    """Answered questions in answer order, with answers, outcomes, times and the asker as the
    viewer may see them (``policy.asker_label``)."""
    votes = vote_counts(room.id)
    answered = db.session.scalars(
        select(Question)
        .where(Question.room_id == room.id, Question.state == Q_ANSWERED)
        .order_by(Question.answered_at, Question.id)
    ).all()
    return [
        {
            "id": q.id,
            "text": q.text,
            "asker": policy.asker_label(viewer, q),
            "anonymous": q.anonymous,
            "parent_id": q.parent_id,
            "votes": votes.get(q.id, 0),
            "answer_text": q.answer_text,
            "outcome": q.outcome,
            "answered_by": q.claimed_by.display_name if q.claimed_by else None,
            "asked_at": q.created_at,
            "live_at": q.live_at,
            "answered_at": q.answered_at,
        }
        for q in answered
    ]


def participation(course: Course) -> list[dict[str, Any]]:
    """Per student of the course: questions asked, approved, answered, votes received and cast."""
    course_questions = (
        select(Question.id, Question.asker_id, Question.state, Question.approved_at)
        .join(PanelRoom, PanelRoom.id == Question.room_id)
        .join(Presentation, Presentation.id == PanelRoom.presentation_id)
        .where(Presentation.course_id == course.id)
        .subquery()
    )
    asked = (
        select(
            course_questions.c.asker_id.label("uid"),
            func.count().label("asked"),
            func.count(course_questions.c.approved_at).label("approved"),
            func.sum(case((course_questions.c.state == Q_ANSWERED, 1), else_=0)).label("answered"),
        )
        .group_by(course_questions.c.asker_id)
    )
    received = (
        select(course_questions.c.asker_id, func.count(Vote.id))
        .join(Vote, Vote.question_id == course_questions.c.id)
        .group_by(course_questions.c.asker_id)
    )
    cast = (
        select(Vote.user_id, func.count(Vote.id))
        .join(course_questions, course_questions.c.id == Vote.question_id)
        .group_by(Vote.user_id)
    )
    asked_by = {row.uid: row for row in db.session.execute(asked)}
    received_by = dict(db.session.execute(received).all())
    cast_by = dict(db.session.execute(cast).all())
    students = db.session.scalars(
        select(User)
        .join(Enrollment, Enrollment.user_id == User.id)
        .where(Enrollment.course_id == course.id, Enrollment.role == ROLE_STUDENT)
        .order_by(User.display_name, User.id)
    )
    rows = []
    for student in students:
        mine = asked_by.get(student.id)
        rows.append(
            {
                "user_id": student.id,
                "name": student.display_name,
                "email": student.email,
                "asked": mine.asked if mine else 0,
                "approved": mine.approved if mine else 0,
                "answered": int(mine.answered or 0) if mine else 0,
                "votes_received": received_by.get(student.id, 0),
                "votes_cast": cast_by.get(student.id, 0),
            }
        )
    return rows


"""Room actions: one transaction per client action, flushed here and committed by the caller.

``apply`` opens the transaction by incrementing the room's ``seq`` (``UPDATE panel_rooms SET
seq = seq + 1``): in PostgreSQL that row lock serialises the room's writers, in SQLite the
statement takes the database write lock. The action then reads fresh rows, checks states and
versions, changes them, and stores the client's ``cid`` with its acknowledgement in the same
transaction. It returns a ``Change`` saying what to broadcast once committed; nothing is kept
in memory. Every action is told ``now``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Optional

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from core.extensions import db
from core.timeutil import iso
from domain import audit, policy
from domain.notifications import events as notifications
from domain.panel import state
from models import (
    Q_ANSWERED,
    Q_DISMISSED,
    Q_LIVE,
    Q_MERGED,
    Q_PENDING,
    Q_QUEUED,
    ClientAction,
    PanelRoom,
    Presentation,
    Question,
    RoomMute,
    User,
    VerdictVote,
    Vote,
)

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
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        room = db.session.scalar(select(PanelRoom).where(PanelRoom.presentation_id == presentation.id))
    return room


def room_and_role(room_id: int, user) -> tuple[policy.RoomState, str]:
    """The room and the user's role in it, read now; a stranger's room is ``not_found``."""
    room = policy.load_room(user, room_id)
    role = policy.loaded_room_role(user, room) if room is not None else None
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

REFUSALS = {
    "muted": "A moderator muted you in this room.",
    "closed": "The room does not take this now.",
    "forbidden": "Your role in this room cannot do that.",
}


def check_permission(event: str, room: policy.AnyRoom, user, role: Optional[str] = None) -> None:
    """Refuse the event unless the policy lets this user do it in this room now (``role``: the
    user's room role already read in this event; without it the policy reads it)."""
    code = policy.refusal(event, room, user, role)
    if code is not None:
        raise PanelError(code, REFUSALS[code])


# --------------------------------------------------------------------------- the transaction


_BUMP_SEQ = update(PanelRoom).where(PanelRoom.id == bindparam("room_id")).values(seq=PanelRoom.seq + 1)


def _lock_room(room_id: int) -> Optional[PanelRoom]:
    """Start the room's write transaction by bumping its seq; returns the room read after it."""
    db.session.execute(_BUMP_SEQ, {"room_id": room_id})
    # Rows read before the lock may be stale: read everything again from here on.
    db.session.expire_all()
    return db.session.get(PanelRoom, room_id)


def apply(event: str, room_id: int, user, cid: str, args: dict[str, Any], now: datetime,
          role: Optional[str] = None) -> Change:
    """Apply one action at ``now`` and flush it; the caller commits. A cid seen before returns
    its stored ack (and rolls the seq bump back), as does a refused or conflicting action.

    ``role`` is the user's room role when this event already read it from the policy (else it is
    read here). Membership and permission are checked again under the lock, so the commands are
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
        extra = ACTIONS[event](room, user, change, now, **args) or {}
        change.ack = {"ok": True, "seq": seq, **extra}
        db.session.add(ClientAction(user_id=user.id, client_id=cid, result=change.ack))
        # A second use of the cid and a stale version fail here, before the caller's commit.
        db.session.flush()
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


def _new_question(room: PanelRoom, user, change: Change, now: datetime, text: str, anonymous: bool,
                  parent: Optional[Question] = None, from_review: bool = False) -> Question:
    question = Question(
        room_id=room.id,
        asker_id=user.id,
        client_id=change.cid,
        text=text,
        anonymous=anonymous,
        from_review=from_review,
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


# --------------------------------------------------------------------------- critic actions


def ask(room, user, change, now, text, anonymous=False, from_review=False):
    """A critic's new question: pending in a moderated room, queued at once in an open one;
    ``from_review`` when pushed from the critic's own review."""
    question = _new_question(room, user, change, now, text, anonymous, from_review=from_review)
    return {"question_id": question.id, "state": question.state}


def follow_up(room, user, change, now, question_id, text):
    """One follow-up on the asker's own answered question; moderated like any question."""
    parent = _question(room, user, change, question_id)
    if not policy.can_follow_up(user, parent):
        raise PanelError("forbidden", "Follow-ups are not open on this question.")
    exists = db.session.scalar(
        select(Question.id).where(Question.parent_id == parent.id, Question.asker_id == user.id)
    )
    if exists is not None:
        raise PanelError("forbidden", "You already asked a follow-up on this question.")
    question = _new_question(room, user, change, now, text, parent.anonymous, parent=parent)
    return {"question_id": question.id, "state": question.state}


def vote(room, user, change, now, question_id, up=None):
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
    return {"question_id": question.id, "voted": wanted, "votes": state.vote_count(question.id)}


def verdict(room, user, change, now, verdict):
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


def claim(room, user, change, now, question_id):
    """The author group takes a question ("we'll take this"); claiming it again releases it."""
    question = _question(room, user, change, question_id)
    if question.state not in (Q_QUEUED, Q_LIVE):
        raise PanelError("invalid", "Only questions in the queue can be claimed.")
    change.touch(question)
    question.claimed_by_id = None if question.claimed_by_id == user.id else user.id
    return {"question_id": question.id, "claimed": question.claimed_by_id == user.id}


def answer(room, user, change, now, question_id, outcome, text=""):
    """The authors' answer: an outcome and an optional short text; the question is answered."""
    question = _question(room, user, change, question_id)
    if question.state not in (Q_QUEUED, Q_LIVE, Q_ANSWERED):
        raise PanelError("invalid", "Only questions in the queue can be answered.")
    _set_state(question, change, Q_ANSWERED)
    question.answer_text = text or ""
    question.outcome = outcome
    question.claimed_by_id = question.claimed_by_id or user.id
    question.answered_at = question.answered_at or now
    return {"question_id": question.id}


# --------------------------------------------------------------------------- moderator actions

OPEN_STATES = (Q_PENDING, Q_QUEUED, Q_LIVE)


def _audit_moderation(kind: str, room: PanelRoom, user, subject_id: Optional[int], **detail) -> None:
    """A moderator's action in the course's integrity audit log (SPEC §3.4)."""
    audit.record(
        kind, room.presentation.course_id, user.id, subject_id=subject_id, presentation_id=room.presentation_id,
        **detail,
    )


def approve(room, user, change, now, question_id, version):
    """Pending → queued."""
    question = _moderated_question(room, user, change, question_id, version, (Q_PENDING,))
    _set_state(question, change, Q_QUEUED)
    question.approved_at = now
    _audit_moderation("panel_question_approved", room, user, question.asker_id, question_id=question.id)
    return {"question_id": question.id}


def dismiss(room, user, change, now, question_id, version, reason=""):
    """Take a question out; the reason goes privately to its asker."""
    question = _moderated_question(room, user, change, question_id, version, OPEN_STATES)
    _set_state(question, change, Q_DISMISSED)
    question.dismiss_reason = reason or ""
    _audit_moderation(
        "panel_question_dismissed", room, user, question.asker_id, question_id=question.id, reason=reason or ""
    )
    message = reason or "A moderator took your question out of the queue."
    change.notices.append(Notice(question.asker_id, "dismissed", message, question.id))
    return {"question_id": question.id}


def edit(room, user, change, now, question_id, version, text):
    """Reword a question; the asker's original is kept (and both go to the audit log)."""
    question = _moderated_question(room, user, change, question_id, version, OPEN_STATES)
    change.touch(question)
    _audit_moderation(
        "panel_question_edited", room, user, question.asker_id, question_id=question.id, before=question.text, after=text
    )
    question.original_text = question.original_text or question.text
    question.text = text
    return {"question_id": question.id}


def merge(room, user, change, now, question_id, version, into_id):
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
    _audit_moderation(
        "panel_question_merged", room, user, question.asker_id, question_id=question.id, into_question_id=target.id
    )
    return {"question_id": question.id, "into_id": target.id}


def _set_pinned(room, user, change, now, question_id, version, pinned):
    question = _moderated_question(room, user, change, question_id, version, (Q_QUEUED, Q_LIVE))
    change.touch(question)
    question.pinned = pinned
    return {"question_id": question.id}


def pin(room, user, change, now, question_id, version):
    """Pin to the top of the queue."""
    return _set_pinned(room, user, change, now, question_id, version, True)


def unpin(room, user, change, now, question_id, version):
    """Unpin."""
    return _set_pinned(room, user, change, now, question_id, version, False)


def reorder(room, user, change, now, question_id, version, rank):
    """Set the moderator's manual rank (lower first among equal pins and votes)."""
    question = _moderated_question(room, user, change, question_id, version, (Q_PENDING, Q_QUEUED))
    change.touch(question)
    question.manual_rank = float(rank)
    return {"question_id": question.id}


def set_live(room, user, change, now, question_id, version):
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
    question.live_at = now
    return {"question_id": question.id}


def mark_answered(room, user, change, now, question_id, version):
    """The live (or a queued) question was answered aloud."""
    question = _moderated_question(room, user, change, question_id, version, (Q_QUEUED, Q_LIVE))
    _set_state(question, change, Q_ANSWERED)
    question.answered_at = now
    return {"question_id": question.id}


def reopen(room, user, change, now, question_id, version):
    """Answered or dismissed → back to the queue."""
    question = _moderated_question(room, user, change, question_id, version, (Q_ANSWERED, Q_DISMISSED))
    _set_state(question, change, Q_QUEUED)
    question.answered_at = None
    question.dismiss_reason = ""
    question.approved_at = question.approved_at or now
    return {"question_id": question.id}


def mute(room, user, change, now, user_id):
    """Mute a critic or author for the rest of the session: no more questions or votes."""
    target = db.session.get(User, user_id)
    target_role = policy.room_role(target, room.presentation) if target else None
    if target_role is None:
        raise PanelError("not_found", "There is no such participant.")
    if target_role == policy.ROOM_MODERATOR:
        raise PanelError("invalid", "Moderators cannot be muted.")
    if not policy.is_muted(target, room):
        db.session.add(RoomMute(room_id=room.id, user_id=target.id, muted_by_id=user.id))
        _audit_moderation("panel_participant_muted", room, user, target.id, room_role=target_role)
        change.notices.append(
            Notice(target.id, "muted", "A moderator muted you: you can no longer ask or vote here.")
        )
    return {"user_id": target.id}


def _minutes_for(room: PanelRoom, phase: str) -> Optional[int]:
    presentation = room.presentation
    return {"presenting": presentation.talk_minutes, "panel": presentation.qa_minutes}.get(phase)


def phase(room, user, change, now, phase, minutes=None):
    """Move the room to a phase; timed phases run for the presentation's minutes (or ``minutes``)."""
    default = _minutes_for(room, phase)
    previous, room.phase = room.phase, phase
    notifications.room_opened(room, previous, user.id, now)
    room.phase_started_at = now
    room.phase_ends_at = now + timedelta(minutes=minutes or default) if default is not None else None
    change.room = True
    change.verdict = phase == "closed"
    return {"phase": phase}


def extend(room, user, change, now, minutes):
    """Add minutes to the running timer."""
    if room.phase_ends_at is None:
        raise PanelError("invalid", "No timer is running.")
    room.phase_ends_at = max(room.phase_ends_at, now) + timedelta(minutes=minutes)
    change.room = True
    return {"phase_ends_at": iso(room.phase_ends_at)}


def settings(room, user, change, now, moderated=None, follow_ups_allowed=None):
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

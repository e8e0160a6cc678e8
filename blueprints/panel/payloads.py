"""What each audience of a room is sent: built per audience, never filtered by the client.

Audiences are the room roles of ``policy`` (moderator, author, critic); a question's asker also
gets their own view of it on their private channel. Every rule about who may see what is a
``policy`` call; this module only shapes the data that the rule let through.
"""
from __future__ import annotations

from typing import Any, Optional

import policy
from blueprints.panel import service
from models import Q_LIVE, PanelRoom, Question
from timeutil import iso, now_utc

MODERATOR = policy.ROOM_MODERATOR
AUDIENCES = (policy.ROOM_MODERATOR, policy.ROOM_AUTHOR, policy.ROOM_CRITIC)
PUBLIC_AUDIENCES = (policy.ROOM_AUTHOR, policy.ROOM_CRITIC)


def server_now() -> str:
    """The server's clock to the millisecond, so clients compute the same countdown."""
    return now_utc().isoformat(timespec="milliseconds").replace("+00:00", "Z")


def room_view(room: PanelRoom) -> dict[str, Any]:
    """Phase, timer and settings: the same for every audience."""
    return {
        "id": room.id,
        "presentation_id": room.presentation_id,
        "phase": room.phase,
        "phase_started_at": iso(room.phase_started_at),
        "phase_ends_at": iso(room.phase_ends_at),
        "moderated": room.moderated,
        "follow_ups_allowed": room.follow_ups_allowed,
    }


def _base(question: Question, votes: int) -> dict[str, Any]:
    return {
        "id": question.id,
        "text": question.text,
        "state": question.state,
        "votes": votes,
        "pinned": question.pinned,
        "rank": question.manual_rank,
        "anonymous": question.anonymous,
        "claimed_by": question.claimed_by.display_name if question.claimed_by else None,
        "answer_text": question.answer_text,
        "outcome": question.outcome,
        "parent_id": question.parent_id,
        "version": question.version,
        "created_at": iso(question.created_at),
        "live_at": iso(question.live_at),
        "answered_at": iso(question.answered_at),
    }


def question_for_audience(question: Question, audience: str, votes: int) -> dict[str, Any]:
    """A question as broadcast to a whole audience (the caller checked it may see it)."""
    view = _base(question, votes)
    view["asker"] = policy.audience_asker_label(audience, question)
    if audience == MODERATOR:
        view.update(
            asker_id=question.asker_id,
            original_text=question.original_text,
            dismiss_reason=question.dismiss_reason,
            merged_into_id=question.merged_into_id,
        )
    return view


def question_for_asker(question: Question, votes: int) -> dict[str, Any]:
    """The asker's own view: "You", and what happened to it (awaiting approval, reason, merge)."""
    view = _base(question, votes)
    view.update(
        asker="You",
        mine=True,
        dismiss_reason=question.dismiss_reason,
        merged_into_id=question.merged_into_id,
    )
    return view


def question_for_viewer(question: Question, viewer, role: str, votes: int) -> Optional[dict[str, Any]]:
    """A question for one viewer's snapshot, or None when the policy hides it from them."""
    if not policy.role_sees_question(viewer, role, question):
        return None
    if question.asker_id == viewer.id:
        return question_for_asker(question, votes)
    return question_for_audience(question, role, votes)


# --------------------------------------------------------------------------- events


def question_event(room_id: int, seq: int, question: dict, queue: list[int]) -> dict[str, Any]:
    """``question``: created or changed, with the queue order after the change."""
    return {"seq": seq, "room_id": room_id, "question": question, "queue": queue}


def removed_event(room_id: int, seq: int, question_id: int, queue: list[int]) -> dict[str, Any]:
    """``question_removed``: a question left this audience's view."""
    return {"seq": seq, "room_id": room_id, "question_id": question_id, "queue": queue}


def room_event(room: PanelRoom, seq: int) -> dict[str, Any]:
    """``room``: phase, timer, settings, with the server's clock."""
    return {"seq": seq, "room_id": room.id, "server_now": server_now(), "room": room_view(room)}


def verdict_event(room: PanelRoom, seq: int) -> dict[str, Any]:
    """``verdict``: the poll's counts (sent only to audiences that may see them)."""
    return {"seq": seq, "room_id": room.id, "counts": service.verdict_counts(room)}


def notice_event(room_id: int, seq: int, notice: service.Notice) -> dict[str, Any]:
    """``notice``: a private message to one user (dismissal reason, mute)."""
    return {
        "seq": seq,
        "room_id": room_id,
        "kind": notice.kind,
        "message": notice.message,
        "question_id": notice.question_id,
    }


def my_vote_event(room_id: int, seq: int, question_id: int, voted: bool) -> dict[str, Any]:
    """``my_vote``: the user's own vote changed (keeps their other tabs in step)."""
    return {"seq": seq, "room_id": room_id, "question_id": question_id, "voted": voted}


def presence_event(room_id: int, seq: int, audience: str, presence: dict) -> dict[str, Any]:
    """``presence``: counts by role for all; names for moderators only."""
    event = {"seq": seq, "room_id": room_id, "presence": presence["counts"]}
    if audience == MODERATOR:
        event["presence_names"] = presence["names"]
    return event


def snapshot(room: PanelRoom, viewer, role: str, presence: dict) -> dict[str, Any]:
    """The full state of the room as this viewer may see it."""
    votes = service.vote_counts(room.id)
    everything = service.room_questions(room.id)
    questions = []
    for question in everything:
        view = question_for_viewer(question, viewer, role, votes.get(question.id, 0))
        if view is not None:
            questions.append(view)
    live = [q.id for q in everything if q.state == Q_LIVE]
    data = {
        "seq": room.seq,
        "room_id": room.id,
        "server_now": server_now(),
        "room": room_view(room),
        "role": role,
        "questions": questions,
        "queue": service.order_queue(everything, votes),
        "live_id": live[0] if live else None,
        "presence": presence["counts"],
        "verdict": service.verdict_counts(room) if policy.audience_sees_verdict(role, room) else None,
        "my_votes": service.user_votes(room.id, viewer.id),
        "my_verdict": service.my_verdict(room, viewer.id),
        "muted": policy.is_muted(viewer, room),
    }
    if role == MODERATOR:
        data["presence_names"] = presence["names"]
    return data

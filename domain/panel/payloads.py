"""What each audience of a room is sent: built per audience, never filtered by the client.

Audiences are the room roles of ``policy`` (moderator, author, critic); a question's asker also
gets their own view of it on their private channel. Every rule about who may see what is a
``policy`` call; this module only shapes the data that the rule let through.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from core.timeutil import iso
from domain import policy
from domain.panel import state
from domain.panel.commands import Notice
from models import Q_LIVE, PanelRoom, Question

MODERATOR = policy.ROOM_MODERATOR
AUDIENCES = policy.ROOM_ROLES
PUBLIC_AUDIENCES = (policy.ROOM_AUTHOR, policy.ROOM_CRITIC)
# Broadcasts go to the largest audience first: the class waits least.
BROADCAST_ORDER = (policy.ROOM_CRITIC, policy.ROOM_AUTHOR, policy.ROOM_MODERATOR)


def server_now(now: datetime) -> str:
    """The server's clock to the millisecond, so clients compute the same countdown."""
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def room_view(room: policy.AnyRoom) -> dict[str, Any]:
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
    if audience != policy.ROOM_CRITIC:
        # Authors and moderators tell their own claim by id: display names need not be unique.
        view["claimed_by_id"] = question.claimed_by_id
    if audience == MODERATOR:
        view.update(
            asker_id=question.asker_id,
            from_review=question.from_review,
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


# --------------------------------------------------------------------------- events


def question_event(room_id: int, seq: int, question: dict, queue: list[int]) -> dict[str, Any]:
    """``question``: created or changed, with the queue order after the change."""
    return {"seq": seq, "room_id": room_id, "question": question, "queue": queue}


def removed_event(room_id: int, seq: int, question_id: int, queue: list[int]) -> dict[str, Any]:
    """``question_removed``: a question left this audience's view."""
    return {"seq": seq, "room_id": room_id, "question_id": question_id, "queue": queue}


def room_event(room: PanelRoom, seq: int, now: datetime) -> dict[str, Any]:
    """``room``: phase, timer, settings, with the server's clock."""
    return {"seq": seq, "room_id": room.id, "server_now": server_now(now), "room": room_view(room)}


def verdict_event(room: PanelRoom, seq: int) -> dict[str, Any]:
    """``verdict``: the poll's counts (sent only to audiences that may see them)."""
    return {"seq": seq, "room_id": room.id, "counts": state.verdict_counts(room)}


def notice_event(room_id: int, seq: int, notice: Notice) -> dict[str, Any]:
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


@dataclass(frozen=True)
class AudienceView:
    """The part of a snapshot that is the same for everyone in one audience at one ``seq``."""

    order: tuple[int, ...]  # every question of the room, oldest first
    views: dict[int, dict[str, Any]]  # those the audience may see, as it sees them
    votes: dict[int, int]
    queue: list[int]
    live_id: Optional[int]
    verdict: Optional[dict[str, int]]


class AudienceViews:
    """The latest audience views of one app's rooms, shared by its threads (see ``audience_view``)."""

    size = 64

    def __init__(self):
        self.views: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key) -> Optional[AudienceView]:
        with self.lock:
            view = self.views.get(key)
            if view is not None:
                self.views.move_to_end(key)
            return view

    def put(self, key, view: AudienceView) -> None:
        with self.lock:
            self.views[key] = view
            while len(self.views) > self.size:
                self.views.popitem(last=False)


def audience_view(room: policy.AnyRoom, audience: str, cache: AudienceViews) -> AudienceView:
    """The audience's view of the room at ``room.seq``, built once per seq and audience.

    Every change to a room increments its seq, so a view stored under the seq it was read at
    stays right; a view whose reads saw a newer seq (a change committed meanwhile) is not stored.
    Names are read with it: someone renaming themselves shows from the room's next change.
    """
    key = (room.id, room.created_at, room.seq, audience)
    view = cache.get(key)
    if view is not None:
        return view
    votes = state.vote_counts(room.id)
    everything = state.room_questions(room.id)
    live = [q.id for q in everything if q.state == Q_LIVE]
    view = AudienceView(
        order=tuple(q.id for q in everything),
        views={
            q.id: question_for_audience(q, audience, votes.get(q.id, 0))
            for q in everything
            if policy.audience_sees_question(audience, q)
        },
        votes=votes,
        queue=state.order_queue(everything, votes),
        live_id=live[0] if live else None,
        verdict=state.verdict_counts(room) if policy.audience_sees_verdict(audience, room) else None,
    )
    if state.room_seq(room.id) == room.seq:
        cache.put(key, view)
    return view


def snapshot(room: policy.AnyRoom, viewer, role: str, presence: dict, now: datetime,
             cache: AudienceViews) -> dict[str, Any]:
    """The full state of the room as this viewer may see it at ``now``: their audience's view
    (from ``cache`` when already built at this seq), with their own questions as the asker sees
    them (``policy.role_sees_question``)."""
    shared = audience_view(room, role, cache)
    mine = state.viewer_state(room.id, viewer.id)
    own = state.questions_by_id(mine.own) if mine.own else {}
    questions = []
    for question_id in shared.order:
        if question_id in own:
            questions.append(question_for_asker(own.pop(question_id), shared.votes.get(question_id, 0)))
        elif question_id in shared.views:
            questions.append(shared.views[question_id])
    # Own questions newer than the shared view (asked while it was read) come last.
    for question in sorted(own.values(), key=lambda q: (q.created_at, q.id)):
        questions.append(question_for_asker(question, 0))
    data = {
        "seq": room.seq,
        "room_id": room.id,
        "server_now": server_now(now),
        "room": room_view(room),
        "role": role,
        "questions": questions,
        "queue": shared.queue,
        "live_id": shared.live_id,
        "presence": presence["counts"],
        "verdict": shared.verdict,
        "my_votes": mine.votes,
        "my_verdict": mine.verdict,
        "muted": policy.is_muted(viewer, room),
    }
    if role == MODERATOR:
        data["presence_names"] = presence["names"]
    return data

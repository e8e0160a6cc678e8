"""The live panel room: room roles, who may ask, vote, answer, moderate, and what each audience sees (SPEC §4)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Callable, Optional

from sqlalchemy import bindparam, select

from core import reads
from core.extensions import db
from domain.policy.membership import (
    _AUTHOR,
    _ROLE,
    _membership,
    _read,
    _remember,
    _role_in,
    _user_id,
    authored,
    course_role,
)
from models import (
    PHASES,
    Q_ANSWERED,
    Q_LIVE,
    Q_QUEUED,
    STAFF_ROLES,
    Enrollment,
    PanelRoom,
    Presentation,
    PresentationMember,
    Question,
    RoomMute,
)

# --------------------------------------------------------------------------- panel room

ROOM_MODERATOR = "moderator"
ROOM_AUTHOR = "author"
ROOM_CRITIC = "critic"
PUBLIC_QUESTION_STATES = (Q_QUEUED, Q_LIVE, Q_ANSWERED)
ASK_PHASES = ("presenting", "panel")
VERDICT_PHASES = ("panel", "closed")


def _room_role_from(course_role: Optional[str], authored: Callable[[], bool]) -> Optional[str]:
    """The room role of a course role (None: not enrolled) and authorship (asked only of students)."""
    if course_role is None:
        return None
    if course_role in STAFF_ROLES:
        return ROOM_MODERATOR
    return ROOM_AUTHOR if authored() else ROOM_CRITIC


def _room_role_in(user, course_id: int, presentation_id: int) -> Optional[str]:
    return _room_role_from(course_role(user, course_id), lambda: authored(user, presentation_id))


def room_role(user, presentation: Presentation) -> Optional[str]:
    """'moderator', 'author', 'critic', or None when the user may not enter the room."""
    return _room_role_in(user, presentation.course_id, presentation.id)


_ENROLLED, _ROOMS, _PRESENTATIONS, _MEMBERS = (
    model.__table__ for model in (Enrollment, PanelRoom, Presentation, PresentationMember)
)
# Core columns, not ORM entities, and no list of users: at thousands of sockets the ORM's row
# handling, or binding one parameter per user, would cost more than the queries. Course roles are
# read once per course, not once per room, however many of its rooms are open.
_ROOM_COURSES_AND_AUTHORS = (
    select(_ROOMS.c.id, _PRESENTATIONS.c.course_id, _MEMBERS.c.user_id)
    .select_from(
        _ROOMS.join(_PRESENTATIONS, _PRESENTATIONS.c.id == _ROOMS.c.presentation_id)
        .outerjoin(_MEMBERS, _MEMBERS.c.presentation_id == _PRESENTATIONS.c.id)
    )
    .where(_ROOMS.c.id.in_(bindparam("room_ids", expanding=True)))
)
_COURSE_ROLES = select(_ENROLLED.c.course_id, _ENROLLED.c.user_id, _ENROLLED.c.role).where(
    _ENROLLED.c.course_id.in_(bindparam("course_ids", expanding=True))
)


@dataclass(frozen=True)
class RoomRoles:
    """``room_role`` of anyone in some rooms, from facts read at once (``room_roles``): each
    room's course and presentation members, and each member's role in those courses."""

    courses: dict[int, int]  # room → its course
    authors: dict[int, frozenset[int]]  # room → its presentation's members
    course_roles: dict[tuple[int, int], str]  # (course, user) → role

    def get(self, pair: tuple[int, int]) -> Optional[str]:
        """The room role of ``(room_id, user_id)``; None when the user may not enter the room."""
        room_id, user_id = pair
        course_id = self.courses.get(room_id)
        if course_id is None:
            return None
        return _room_role_from(self.course_roles.get((course_id, user_id)), lambda: user_id in self.authors[room_id])


def room_roles(room_ids) -> RoomRoles:
    """The facts of ``room_role`` for everyone in the given rooms, in two queries whatever the
    number of rooms and people."""
    ids = sorted(set(room_ids))
    if not ids:
        return RoomRoles({}, {}, {})
    courses: dict[int, int] = {}
    authors: dict[int, set[int]] = {}
    for room_id, course_id, member_id in db.session.execute(_ROOM_COURSES_AND_AUTHORS, {"room_ids": ids}).all():
        courses[room_id] = course_id
        members = authors.setdefault(room_id, set())
        if member_id is not None:
            members.add(member_id)
    course_ids = sorted(set(courses.values()))
    rows = db.session.execute(_COURSE_ROLES, {"course_ids": course_ids}).all() if course_ids else []
    return RoomRoles(
        courses,
        {room_id: frozenset(members) for room_id, members in authors.items()},
        {(course_id, user_id): role for course_id, user_id, role in rows},
    )


def _mute(room_id, user_id):
    return select(RoomMute.id).where(RoomMute.room_id == room_id, RoomMute.user_id == user_id)


_MUTED = _mute(bindparam("room_id"), bindparam("user_id"))


def is_muted(user, room: AnyRoom) -> bool:
    """Muted by a moderator for the rest of the session."""
    uid = _user_id(user)
    return uid is not None and _read(_MUTED, room_id=room.id, user_id=uid) is not None


def _first(statement):
    """``statement`` (one column) as a correlated scalar subquery."""
    return statement.limit(1).scalar_subquery()


@dataclass(frozen=True)
class RoomState:
    """A panel room as one socket event reads it (``load_room``): its columns and its course,
    read-only. Changes go through the room's write transaction, which reads the room again."""

    id: int
    presentation_id: int
    course_id: int
    phase: str
    seq: int
    moderated: bool
    follow_ups_allowed: bool
    phase_started_at: Optional[datetime]
    phase_ends_at: Optional[datetime]
    created_at: datetime

    @property
    def presentation(self) -> Presentation:
        """The room's presentation, read when asked (few events need more than its ids)."""
        return db.session.get(Presentation, self.presentation_id)


# What the policy and the room's payloads read a room from: its ORM row (pages, the write
# transaction) or the state one socket event read (``load_room``).
AnyRoom = PanelRoom | RoomState

_ROOM_STATE_FIELDS = tuple(field.name for field in fields(RoomState))
# The room's columns named by ``RoomState`` (its course from the presentation), and the
# viewer's facts as scalar subqueries.
_ROOM_STATE = (
    select(
        *(_PRESENTATIONS.c.course_id if name == "course_id" else _ROOMS.c[name] for name in _ROOM_STATE_FIELDS),
        _first(_role_in(_PRESENTATIONS.c.course_id, bindparam("user_id"))).label("role"),
        _first(_membership(_PRESENTATIONS.c.id, bindparam("user_id"))).label("member_id"),
        _first(_mute(_ROOMS.c.id, bindparam("user_id"))).label("mute_id"),
    )
    .select_from(_ROOMS.join(_PRESENTATIONS, _PRESENTATIONS.c.id == _ROOMS.c.presentation_id))
    .where(_ROOMS.c.id == bindparam("room_id"))
)


def load_room(user, room_id: int) -> Optional[RoomState]:
    """The room read now, with the user's course role, authorship and mute read in the same
    query and remembered for this request or event; None if missing."""
    uid = _user_id(user)
    row = reads.first_row(_ROOM_STATE, {"room_id": room_id, "user_id": uid})
    if row is None:
        return None
    room = RoomState(*row[: len(_ROOM_STATE_FIELDS)])
    if uid is not None:
        _remember(row.role, _ROLE, user_id=uid, course_id=room.course_id)
        _remember(row.member_id, _AUTHOR, presentation_id=room.presentation_id, user_id=uid)
        _remember(row.mute_id, _MUTED, room_id=room.id, user_id=uid)
    return room


def loaded_room_role(user, room: RoomState) -> Optional[str]:
    """``room_role`` in a room read by ``load_room``, from the facts read with it."""
    return _room_role_in(user, room.course_id, room.presentation_id)


@dataclass(frozen=True)
class Rule:
    """Who may send one room event: the room roles, the phases it is open in (None: any), and
    whether a moderator's mute stops it."""

    roles: tuple[str, ...]
    phases: Optional[tuple[str, ...]] = None
    mutable: bool = False


ROOM_ROLES = (ROOM_MODERATOR, ROOM_AUTHOR, ROOM_CRITIC)
OPEN_PHASES = tuple(p for p in PHASES if p != "closed")
ASK = Rule((ROOM_CRITIC,), ASK_PHASES, mutable=True)
VOTE = Rule(ROOM_ROLES, OPEN_PHASES, mutable=True)
VERDICT = Rule((ROOM_CRITIC,), VERDICT_PHASES)
ANSWER = Rule((ROOM_AUTHOR,))
MODERATE = Rule((ROOM_MODERATOR,))
MODERATOR_EVENTS = (
    "approve", "dismiss", "edit", "merge", "pin", "unpin", "reorder", "set_live",
    "mark_answered", "reopen", "mute", "phase", "extend", "settings",
)
# The one permission table of the room's actions (SPEC §4): every ``can_*`` below reads it.
EVENT_RULES: dict[str, Rule] = {
    "ask": ASK,
    "follow_up": ASK,
    "vote": VOTE,
    "verdict": VERDICT,
    "claim": ANSWER,
    "answer": ANSWER,
    **{event: MODERATE for event in MODERATOR_EVENTS},
}


def refusal(event: str, room: AnyRoom, user, role: Optional[str] = None) -> Optional[str]:
    """Why the user may not send ``event`` in the room now ('muted', 'closed' or 'forbidden'),
    or None when they may. ``role``: the user's room role if this event already read it."""
    rule = EVENT_RULES[event]
    role = room_role(user, room.presentation) if role is None else role
    muted = rule.mutable and is_muted(user, room)
    open_now = rule.phases is None or room.phase in rule.phases
    if role in rule.roles and open_now and not muted:
        return None
    if muted:
        return "muted"
    return "forbidden" if open_now else "closed"


def permitted(event: str, room: AnyRoom, user, role: Optional[str] = None) -> bool:
    """Whether the user may send ``event`` in the room now (``EVENT_RULES``)."""
    return refusal(event, room, user, role) is None


def can_moderate(user, room: AnyRoom) -> bool:
    """Moderators are the course's staff."""
    return permitted("approve", room, user)


def can_ask(user, room: AnyRoom) -> bool:
    """Critics ask while the room is open for questions, unless muted; authors answer."""
    return permitted("ask", room, user)


def can_vote(user, room: AnyRoom) -> bool:
    """Every participant may vote while the room is not closed, unless muted."""
    return permitted("vote", room, user)


def can_answer(user, room: AnyRoom) -> bool:
    """The author group claims and answers questions."""
    return permitted("answer", room, user)


def can_see_question(user, question: Question) -> bool:
    """Pending, dismissed and merged questions reach only their asker and moderators."""
    if question.state in PUBLIC_QUESTION_STATES:
        return room_role(user, question.room.presentation) is not None
    return _user_id(user) == question.asker_id or can_moderate(user, question.room)


def asker_label(user, question: Question) -> Optional[str]:
    """The asker's name as this viewer may see it; None for anonymous-to-class questions."""
    if _user_id(user) == question.asker_id:
        return "You"
    if question.anonymous and not can_moderate(user, question.room):
        return None
    return question.asker.display_name


def can_view_transcript(user, presentation: Presentation) -> bool:
    """The transcript follows the room: everyone enrolled in the course."""
    return room_role(user, presentation) is not None


def can_cast_verdict(user, room: AnyRoom) -> bool:
    """Critics vote on the paper's verdict once the panel has begun (changeable until the end)."""
    return permitted("verdict", room, user)


def can_follow_up(user, question: Question) -> bool:
    """One follow-up on an answered question, by its asker, when the room allows follow-ups."""
    return (
        question.room.follow_ups_allowed
        and question.state == Q_ANSWERED
        and _user_id(user) == question.asker_id
        and can_ask(user, question.room)
    )


def audience_sees_question(audience: str, question: Question) -> bool:
    """What a whole audience of the room (moderator/author/critic) is shown, for broadcasts."""
    return audience == ROOM_MODERATOR or question.state in PUBLIC_QUESTION_STATES


def audience_asker_label(audience: str, question: Question) -> Optional[str]:
    """The asker's name as broadcast to an audience; None for anonymous questions outside staff."""
    if question.anonymous and audience != ROOM_MODERATOR:
        return None
    return question.asker.display_name


def audience_sees_verdict(audience: str, room: AnyRoom) -> bool:
    """Verdict counts: moderators at any time, everyone else once the room is closed."""
    return audience == ROOM_MODERATOR or room.phase == "closed"


def role_sees_question(user, role: str, question: Question) -> bool:
    """``can_see_question`` for a member whose room role is already known (a whole snapshot)."""
    return _user_id(user) == question.asker_id or audience_sees_question(role, question)

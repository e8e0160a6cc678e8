"""Broadcasting a committed change to each audience, who is in which room (presence), and
bringing sockets that missed a change up to date (``resync``).

Socket.IO rooms: ``panel:<room_id>:<audience>`` per audience and ``panel-user:<user_id>``
for one user's private events. Presence is the only room state kept in memory: each process
lists its own sockets; with a Redis queue the processes share their lists through Redis
(``blueprints/panel/heartbeat.py``), so counts and names are the room's.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import bindparam, select

from datetime import datetime

from blueprints.panel import heartbeat, manager
from core.extensions import db, socketio
from core.timeutil import now_utc
from domain import policy
from domain.panel import payloads, state
from domain.panel.commands import Change, Notice
from models import Enrollment, PanelRoom, Question, User

NAMESPACE = "/panel"


def audience_room(room_id: int, audience: str) -> str:
    """The Socket.IO room of one audience of a panel room."""
    return f"panel:{room_id}:{audience}"


def user_room(user_id: int) -> str:
    """The Socket.IO room of one user's sockets (private events, forced logout)."""
    return f"panel-user:{user_id}"


def _emit(event: str, data: dict, to) -> None:
    socketio.emit(event, data, to=to, namespace=NAMESPACE)


def emit_local(event: str, data: dict, to) -> None:
    """Send to sockets of this process only (a socket's own snapshot, presence)."""
    manager.emit_local(event, data, to, NAMESPACE)


# --------------------------------------------------------------------------- changes


def audience_views() -> payloads.AudienceViews:
    """This app's audience views of its rooms, shared by every snapshot it sends."""
    return current_app.extensions.setdefault("panel_audience_views", payloads.AudienceViews())


def publish(change: Change, now: datetime) -> None:
    """Send what a committed action changed (at ``now``), built separately for each audience:
    to this process's sockets, and through the queue, as one counted batch."""
    if change.replayed:
        return
    manager.publish_action(change.room_id, change.seq, list(_events(change, now)), NAMESPACE)


def _events(change: Change, now: datetime):
    """``(event, data, to)`` for every event of the action, in the order they are sent."""
    room_id = change.room_id
    if change.questions:
        votes = state.vote_counts(room_id)
        queue = state.queue_order(room_id, votes)
        questions = state.questions_by_id(change.questions)
        for question_id in sorted(change.questions):
            question = questions[question_id]
            yield from _question_events(question, change, votes.get(question.id, 0), queue)
    if change.room or change.verdict:
        room = db.session.get(PanelRoom, room_id)
    if change.room:
        data = payloads.room_event(room, change.seq, now)
        yield "room", data, [audience_room(room.id, a) for a in payloads.AUDIENCES]
    if change.verdict:
        data = payloads.verdict_event(room, change.seq)
        for audience in payloads.AUDIENCES:
            if policy.audience_sees_verdict(audience, room):
                yield "verdict", data, audience_room(room.id, audience)
    for notice in change.notices:
        yield "notice", payloads.notice_event(room_id, change.seq, notice), user_room(notice.user_id)
    for user_id, question_id, voted in change.my_votes:
        yield "my_vote", payloads.my_vote_event(room_id, change.seq, question_id, voted), user_room(user_id)


def _question_events(question: Question, change: Change, votes: int, queue: list[int]):
    room_id, seq = question.room_id, change.seq
    was_public = change.questions[question.id]
    for audience in payloads.BROADCAST_ORDER:
        to = audience_room(room_id, audience)
        if policy.audience_sees_question(audience, question):
            view = payloads.question_for_audience(question, audience, votes)
            yield "question", payloads.question_event(room_id, seq, view, queue), to
        elif was_public:
            yield "question_removed", payloads.removed_event(room_id, seq, question.id, queue), to
    # Sent last, so the asker's own view is the one their sockets keep.
    own = payloads.question_for_asker(question, votes)
    yield "question", payloads.question_event(room_id, seq, own, queue), user_room(question.asker_id)


# --------------------------------------------------------------------------- presence


@dataclass
class _RoomPresence:
    """One panel room's sockets on this process, and how many distinct users per audience.

    A user with several sockets (tabs) counts once, in the audience of their latest socket;
    the counts change as sockets come and go, so a join never recounts the room.
    """

    sockets: dict[str, tuple[int | None, str]] = field(default_factory=dict)
    by_user: dict[int, dict[str, str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(payloads.AUDIENCES, 0))

    def _audience(self, user_id) -> str | None:
        sids = self.by_user.get(user_id)
        return next(reversed(sids.values())) if sids else None

    def _moved(self, before: str | None, after: str | None) -> None:
        if before != after:
            if before is not None:
                self.counts[before] -= 1
            if after is not None:
                self.counts[after] += 1

    def add(self, sid: str, user_id: int | None, audience: str) -> None:
        """The socket is in the room as ``audience``."""
        self.remove(sid)
        self.sockets[sid] = (user_id, audience)
        if user_id is not None:
            before = self._audience(user_id)
            self.by_user.setdefault(user_id, {})[sid] = audience
            self._moved(before, audience)

    def remove(self, sid: str) -> None:
        """The socket left the room (if it was in it)."""
        user_id, _audience = self.sockets.pop(sid, (None, None))
        if user_id is None:
            return
        before = self._audience(user_id)
        sids = self.by_user[user_id]
        del sids[sid]
        if not sids:
            del self.by_user[user_id]
        self._moved(before, self._audience(user_id))

    def members(self) -> dict[int, str]:
        """Each user in the room and the audience they count in."""
        return {user_id: self._audience(user_id) for user_id in self.by_user}


@dataclass
class _Presence:
    """Sockets of this process: sid → user and the session token it connected with, each
    panel room's presence, the seq each joined socket is current at, the presence last sent
    here per room, the rooms with a presence update due (``announcing``: those whose sockets
    changed here), and the processes' shared presence (with a Redis queue;
    ``heartbeat.SharedPresence``)."""

    users: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    rooms: dict[int, _RoomPresence] = field(default_factory=dict)
    seqs: dict[tuple[int, str], int] = field(default_factory=dict)
    sent: dict[int, object] = field(default_factory=dict)
    due: set[int] = field(default_factory=set)
    announcing: set[int] = field(default_factory=set)
    shared: object = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def _state() -> _Presence:
    """This app's presence registry."""
    return current_app.extensions.setdefault("panel_presence", _Presence())


def connected(sid: str, user_id: int, session_token: str) -> None:
    """A socket of this user connected with the session holding ``session_token``: it joins
    the user's private room (and the heartbeat checks its session from now on)."""
    registry = _state()
    with registry.lock:
        registry.users[sid] = user_id
        registry.tokens[sid] = session_token
    socketio.server.enter_room(sid, user_room(user_id), namespace=NAMESPACE)
    heartbeat.watch()


def audience_of(sid: str, room_id: int) -> str | None:
    """The audience the socket joined in this panel room, if it joined."""
    room = _state().rooms.get(room_id)
    entry = room.sockets.get(sid) if room else None
    return entry[1] if entry else None


def enter(sid: str, room_id: int, audience: str, seq: int | None = None) -> None:
    """Put the socket in one audience of the room (leaving any other audience of it); ``seq``:
    the room's seq the socket is current at (its snapshot's)."""
    previous = audience_of(sid, room_id)
    if previous is not None and previous != audience:
        socketio.server.leave_room(sid, audience_room(room_id, previous), namespace=NAMESPACE)
    socketio.server.enter_room(sid, audience_room(room_id, audience), namespace=NAMESPACE)
    registry = _state()
    with registry.lock:
        room = registry.rooms.setdefault(room_id, _RoomPresence())
        room.add(sid, registry.users.get(sid), audience)
        if seq is not None:
            registry.seqs[room_id, sid] = seq
    if seq is not None:
        heartbeat.follow(room_id, seq)
    if previous != audience:
        publish_presence(room_id)


def current_at(sid: str, room_id: int, seq: int) -> None:
    """The socket was sent the room as it is at ``seq``."""
    registry = _state()
    with registry.lock:
        if sid in (registry.rooms.get(room_id) or _RoomPresence()).sockets:
            registry.seqs[room_id, sid] = seq


def leave(sid: str, room_id: int) -> None:
    """Take the socket out of the panel room."""
    audience = audience_of(sid, room_id)
    if audience is None:
        return
    socketio.server.leave_room(sid, audience_room(room_id, audience), namespace=NAMESPACE)
    registry = _state()
    emptied = False
    with registry.lock:
        room = registry.rooms.get(room_id)
        registry.seqs.pop((room_id, sid), None)
        if room is not None:
            room.remove(sid)
            if not room.sockets:
                del registry.rooms[room_id]
                emptied = True
    if emptied:
        heartbeat.unfollow(room_id)
    publish_presence(room_id)


def disconnected(sid: str) -> None:
    """The socket is gone: leave every panel room it was in."""
    registry = _state()
    for room_id in [r for r, room in list(registry.rooms.items()) if sid in room.sockets]:
        leave(sid, room_id)
    with registry.lock:
        registry.users.pop(sid, None)
        registry.tokens.pop(sid, None)


def local_rooms() -> dict[int, dict[int, str]]:
    """Each panel room with sockets on this process, and its users here with their audience."""
    registry = _state()
    with registry.lock:
        return {room_id: room.members() for room_id, room in registry.rooms.items()}


def _merged(local: dict[int, str], others: dict[int, str]) -> dict[int, str]:
    """Users of the room on every process (``heartbeat.merge_members``)."""
    return heartbeat.merge_members(dict(others), local)


def _counts(members: dict[int, str]) -> dict[str, int]:
    counts = dict.fromkeys(payloads.AUDIENCES, 0)
    for audience in members.values():
        counts[audience] += 1
    return counts


def presence(room_id: int, names: bool = True) -> dict:
    """Users in the room by role (counts), and their names (for moderators; empty unless
    ``names``): this process's sockets, and with shared presence every process's."""
    registry = _state()
    shared = registry.shared
    with registry.lock:
        room = registry.rooms.get(room_id)
        counts = dict(room.counts) if room else dict.fromkeys(payloads.AUDIENCES, 0)
        by_user = room.members() if room and names else {}
    if shared is not None:
        if names:
            by_user = _merged(by_user, shared.others(room_id))
            counts = _counts(by_user)
        else:
            # Counts only (a joining critic's snapshot): add the other processes' users who
            # were not here at the last sync, without listing the room.
            for audience, count in shared.extra_counts(room_id).items():
                counts[audience] += count
    if not names:
        return {"counts": counts, "names": []}
    names = dict(
        db.session.execute(select(User.id, User.display_name).where(User.id.in_(by_user))).all()
    ) if by_user else {}
    listing = sorted(
        ({"user_id": uid, "name": names.get(uid, ""), "role": role} for uid, role in by_user.items()),
        key=lambda p: (payloads.AUDIENCES.index(p["role"]), p["name"].lower(), p["user_id"]),
    )
    return {"counts": counts, "names": listing}


# A presence update reaches every socket of the room here, so a burst of joins into a large
# room is gathered for longer: at least PANEL_PRESENCE_DELAY, and this long per socket (up to
# PRESENCE_DELAY_MAX), which keeps the updates' cost per joining socket the same at any size.
PRESENCE_DELAY_PER_SOCKET = 0.001
PRESENCE_DELAY_MAX = 5.0


def publish_presence(room_id: int, announce: bool = True) -> None:
    """Tell the room who is there; a burst of changes within PANEL_PRESENCE_DELAY (longer in a
    large room: ``PRESENCE_DELAY_PER_SOCKET``) is sent once. ``announce``: this process's
    sockets changed, so the other processes are told too (not when they told this one)."""
    delay = current_app.config.get("PANEL_PRESENCE_DELAY", 0.5)
    if not delay:
        _send_presence(room_id, announce)
        return
    registry = _state()
    with registry.lock:
        if announce:
            registry.announcing.add(room_id)
        if room_id in registry.due:
            return
        registry.due.add(room_id)
        room = registry.rooms.get(room_id)
        sockets = len(room.sockets) if room else 0
    delay = max(delay, min(PRESENCE_DELAY_MAX, sockets * PRESENCE_DELAY_PER_SOCKET))
    socketio.start_background_task(_send_presence_later, current_app._get_current_object(), room_id, delay)


def _send_presence_later(app, room_id: int, delay: float) -> None:
    socketio.sleep(delay)
    with app.app_context():
        registry = _state()
        with registry.lock:
            registry.due.discard(room_id)
            announce = room_id in registry.announcing
            registry.announcing.discard(room_id)
        try:
            _send_presence(room_id, announce)
        finally:
            db.session.remove()


def _send_presence(room_id: int, announce: bool) -> None:
    """The room's presence changed (here when ``announce``, else on another process): share
    this process's sockets, tell them who is there, and when they changed have every other
    process tell its own sockets."""
    shared = _state().shared
    if shared is not None:
        shared.sync({room_id: local_rooms().get(room_id, {})})
    show_presence(room_id, force=announce)
    if shared is not None and announce:
        manager.elsewhere(_presence_changed, room_id=room_id)


@manager.command
def _presence_changed(room_id: int) -> None:
    """Another process's sockets of the room changed: read the room's presence again, gathered
    with this process's own changes (one update for a burst of joins on every process)."""
    registry = _state()
    if registry.shared is None or room_id not in registry.rooms:
        return
    publish_presence(room_id, announce=False)


def show_presence(room_id: int, force: bool = False) -> None:
    """Send this process's sockets of the room its presence (unless unchanged since last sent
    here, or ``force``); presence events carry the current seq without advancing it."""
    registry = _state()
    shared = registry.shared
    with registry.lock:
        room = registry.rooms.get(room_id)
        local = room.members() if room else {}
    members = _merged(local, shared.others(room_id)) if shared is not None else local
    key = frozenset(members.items())
    with registry.lock:
        if room_id not in registry.rooms:
            registry.sent.pop(room_id, None)
        elif not force and registry.sent.get(room_id) == key:
            return
        else:
            registry.sent[room_id] = key
    seq = state.room_seq(room_id)
    if seq is None:
        return
    current = presence(room_id)
    for audience in payloads.AUDIENCES:
        data = payloads.presence_event(room_id, seq, audience, current)
        emit_local("presence", data, audience_room(room_id, audience))


# --------------------------------------------------------------------------- catching up


def resync(room_id: int, lost_seq: int) -> int:
    """Send a fresh snapshot, spread over ``heartbeat.JITTER`` seconds, to this process's
    sockets of the room that are current only at a seq before ``lost_seq`` (an action they
    missed); returns how many."""
    registry = _state()
    with registry.lock:
        room = registry.rooms.get(room_id)
        behind = [
            (sid, user_id, audience)
            for sid, (user_id, audience) in (room.sockets.items() if room else ())
            if user_id is not None and registry.seqs.get((room_id, sid), -1) < lost_seq
        ]
    if behind:
        random.shuffle(behind)
        socketio.start_background_task(_resync_later, current_app._get_current_object(), room_id, behind)
    return len(behind)


def _resync_later(app, room_id: int, sockets: list[tuple[str, int, str]]) -> None:
    batches = [sockets[i:i + heartbeat.BATCH] for i in range(0, len(sockets), heartbeat.BATCH)]
    for batch in batches:
        socketio.sleep(random.uniform(0, heartbeat.JITTER / len(batches)))
        with app.app_context():
            try:
                _send_snapshots(room_id, batch)
            except Exception:
                app.logger.exception("panel catch-up of room %s failed", room_id)
            finally:
                db.session.remove()


def _send_snapshots(room_id: int, sockets: list[tuple[str, int, str]]) -> None:
    room = db.session.get(PanelRoom, room_id)
    if room is None:
        return
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({s[1] for s in sockets})))}
    now = now_utc()
    shown = {}
    for sid, user_id, audience in sockets:
        user = users.get(user_id)
        if audience_of(sid, room_id) != audience:
            continue
        role = policy.room_role(user, room.presentation) if user is not None else None
        if role != audience:
            # Removed from the course or given another role while the news was lost.
            _follow_or_leave(sid, room_id, room, user, role, now)
            continue
        if audience not in shown:
            shown[audience] = presence(room_id, names=audience == payloads.MODERATOR)
        emit_local("snapshot", payloads.snapshot(room, user, audience, shown[audience], now, audience_views()), sid)
        current_at(sid, room_id, room.seq)


# --------------------------------------------------------------------------- roles and sessions


def follow_role(sid: str, room: policy.AnyRoom, user, role: str | None, now: datetime) -> None:
    """Keep a socket that joined the room in step with the user's role read at ``now``.

    A member removed from the course leaves the room (with a private notice); a changed role
    moves the socket to its new audience with a fresh snapshot.
    """
    joined_as = audience_of(sid, room.id)
    if joined_as is None or joined_as == role:
        return
    if role is None:
        leave(sid, room.id)
        notice = Notice(user.id, "removed", "You are no longer a member of this course.")
        emit_local("notice", payloads.notice_event(room.id, room.seq, notice), sid)
        return
    enter(sid, room.id, role, room.seq)
    current = presence(room.id, names=role == payloads.MODERATOR)
    emit_local("snapshot", payloads.snapshot(room, user, role, current, now, audience_views()), sid)


def _follow_or_leave(sid: str, room_id: int, room: policy.AnyRoom | None, user, role: str | None, now: datetime) -> None:
    """``follow_role``, or leave the room without a word when the room or the user is gone."""
    if user is None or room is None:
        leave(sid, room_id)
    else:
        follow_role(sid, room, user, role, now)


def membership_changed(user_id: int) -> None:
    """Apply a roster change (removal, new role) to the user's open sockets at once (on every
    server process)."""
    manager.everywhere(_follow_membership, user_id=user_id)


@manager.command
def _follow_membership(user_id: int) -> None:
    """Move or drop the user's sockets of this process after a roster change."""
    user = db.session.get(User, user_id)
    now = now_utc()
    registry = _state()
    with registry.lock:
        sids = [sid for sid, uid in registry.users.items() if uid == user_id]
        joined = [(sid, room_id) for room_id, room in registry.rooms.items() for sid in sids if sid in room.sockets]
    for sid, room_id in joined:
        room = db.session.get(PanelRoom, room_id)
        role = policy.room_role(user, room.presentation) if user is not None and room is not None else None
        _follow_or_leave(sid, room_id, room, user, role, now)


def end_user_sockets(user_id: int) -> None:
    """Tell every open panel socket of the user that the session ended, and close them (on
    every server process)."""
    _emit("forced_logout", {}, user_room(user_id))
    manager.everywhere(_close_user_sockets, user_id=user_id)


@manager.command
def _close_user_sockets(user_id: int) -> None:
    """Disconnect the user's sockets of this process."""
    room = user_room(user_id)
    for sid in [sid for sid, _ in socketio.server.manager.get_participants(NAMESPACE, room)]:
        _disconnect(sid)


def _disconnect(sid: str) -> None:
    socketio.server.disconnect(sid, namespace=NAMESPACE, ignore_queue=True)


# --------------------------------------------------------------------------- revalidation


@dataclass(frozen=True)
class Stale:
    """The sockets one check found out of step with the database: ``ended`` (sid, user) whose
    session ended, ``moved`` (sid, room, user, audience joined, role now; None: not a member)."""

    ended: tuple[tuple[str, int], ...] = ()
    moved: tuple[tuple[str, int, int, str, str | None], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.ended or self.moved)


def stale_sockets(
    sessions: dict[str, tuple[int, str | None]],
    joined: dict[tuple[int, str], tuple[int, str]],
    tokens: dict[int, str],
    roles: "policy.RoomRoles | dict[tuple[int, int], str]",
) -> Stale:
    """Compare this process's sockets with the database's answers: ``sessions`` (sid → user,
    token connected with), ``joined`` ((room, sid) → user, audience), ``tokens`` (user → stored
    session token; a missing user is gone) and ``roles`` (``roles.get((room, user))``: the room
    role, None when they may not enter). A socket whose token is not its user's now has ended (and needs no move)."""
    ended = tuple((sid, user_id) for sid, (user_id, token) in sessions.items() if tokens.get(user_id) != token)
    gone = {sid for sid, _user_id in ended}
    moved = []
    for (room_id, sid), (user_id, audience) in joined.items():
        if sid in gone:
            continue
        role = roles.get((room_id, user_id))
        if role != audience:
            moved.append((sid, room_id, user_id, audience, role))
    return Stale(ended, tuple(moved))


_USERS, _ENROLLED = User.__table__, Enrollment.__table__
# Core columns, and users found through their courses rather than listed: at thousands of
# sockets the ORM's row handling, or binding one parameter per user, would cost more than the query.
_MEMBERS_OF = select(_ENROLLED.c.user_id).where(_ENROLLED.c.course_id.in_(bindparam("course_ids", expanding=True)))
_MEMBER_TOKENS = select(_USERS.c.id, _USERS.c.session_token).where(_USERS.c.id.in_(_MEMBERS_OF))
_SESSION_TOKENS = select(_USERS.c.id, _USERS.c.session_token).where(
    _USERS.c.id.in_(bindparam("user_ids", expanding=True))
)


def session_tokens(user_ids, course_ids) -> dict[int, str]:
    """The stored session token of each of the given users (absent: no such user): one query
    for the members of the courses, and one more only for users outside them (removed, or with
    sockets in no room)."""
    wanted = set(user_ids)
    courses = sorted(set(course_ids))
    found = dict(db.session.execute(_MEMBER_TOKENS, {"course_ids": courses}).all()) if courses else {}
    others = sorted(wanted - found.keys())
    if others:
        found.update(db.session.execute(_SESSION_TOKENS, {"user_ids": others}).all())
    return {user_id: found[user_id] for user_id in wanted if user_id in found}


def revalidate() -> Stale:
    """Bring this process's sockets in step with the stored sessions and roles, in three queries
    for all of them (four while some socket's user is outside its rooms' courses): a socket
    whose session ended (logout rotated the token, or the user is gone) is told
    ``forced_logout`` and disconnected; one whose room role changed follows it
    (``follow_role``: a new audience and snapshot, or a removal notice). Returns what it found.

    The sockets are listed before the database is read, so a socket's audience is never newer
    than the role it is compared with; a socket that moved on its own since is left alone.
    """
    registry = _state()
    with registry.lock:
        sessions = {sid: (user_id, registry.tokens.get(sid)) for sid, user_id in registry.users.items()}
        joined = {
            (room_id, sid): (user_id, audience)
            for room_id, room in registry.rooms.items()
            for sid, (user_id, audience) in room.sockets.items()
            if user_id is not None
        }
    if not sessions:
        return Stale()
    roles = policy.room_roles({room_id for room_id, _sid in joined})
    tokens = session_tokens({user_id for user_id, _token in sessions.values()}, roles.courses.values())
    stale = stale_sockets(sessions, joined, tokens, roles)
    for sid, _user_id in stale.ended:
        emit_local("forced_logout", {}, sid)
        _disconnect(sid)
    if stale.moved:
        _move(stale.moved)
    return stale


def _move(moved) -> None:
    """Move sockets whose role changed (``Stale.moved``), reading their rooms and users once."""
    rooms = {r.id: r for r in db.session.scalars(select(PanelRoom).where(PanelRoom.id.in_({m[1] for m in moved})))}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({m[2] for m in moved})))}
    now = now_utc()
    for sid, room_id, user_id, audience, role in moved:
        if audience_of(sid, room_id) == audience:
            _follow_or_leave(sid, room_id, rooms.get(room_id), users.get(user_id), role, now)

"""The Socket.IO namespace ``/panel``: one handler per event (docs/panel-protocol.md).

Every event is checked in the same order: payload size, a logged-in session (read from the
database on each event), payload shape, a cid applied before, the room and the user's role in
it, the policy's permission, the rate limit; then ``commands.apply`` changes the database at
the event's one ``now``, the handler commits once, and ``fanout.publish`` tells each audience
what it may see.
"""
from __future__ import annotations

from typing import Any, Callable

from flask import current_app, g, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, Namespace, disconnect

from blueprints.panel import fanout, ratelimit
from core.extensions import db
from core.timeutil import now_utc
from domain import policy
from domain.panel import commands, payloads, state
from domain.panel.schema import PayloadError, check_size, validate

ERROR_MESSAGES = {
    "unauthorized": "Your session has ended. Log in again.",
    "rate_limited": "Slow down: too many in a short time. Try again in a minute.",
    "server_error": "Something went wrong on our side.",
}


class Refused(Exception):
    """Stop handling the event and answer with this error."""

    def __init__(self, code: str, message: str = "", **extra: Any):
        super().__init__(code)
        self.ack = {"ok": False, "error": code, "message": message or ERROR_MESSAGES.get(code, ""), **extra}


def _session_user():
    """The user of the socket's session cookie, read from the database now (None if ended)."""
    # Flask-Login caches the user on ``g``, which can outlive one event: drop it.
    g.pop("_login_user", None)
    return current_user._get_current_object() if current_user.is_authenticated else None


class PanelNamespace(Namespace):
    """Live panel room events."""

    # ------------------------------------------------------------------ connection

    def on_connect(self, auth=None):
        """Refuse a socket without a logged-in session; join the user's private channel, and
        the room named in ``auth`` (``{room_id, last_seq?}``) in the same round trip."""
        user = _session_user()
        if user is None:
            raise ConnectionRefusedError("unauthorized", ERROR_MESSAGES["unauthorized"])
        fanout.connected(request.sid, user.id, user.session_token)
        if auth is None:
            return
        ack = self._handle("join", (auth,), self._join, user=user)
        if not ack["ok"]:
            fanout.disconnected(request.sid)
            raise ConnectionRefusedError(ack["error"], ack["message"])
        # Sent before the connection is confirmed: clients hand it over right after "connect".
        fanout.emit_local("joined", ack, request.sid)

    def on_disconnect(self, reason=None):
        """Leave every room and update presence."""
        fanout.disconnected(request.sid)

    def on_join(self, *args):
        """Enter a room; a snapshot follows unless the client's last_seq is current."""
        return self._handle("join", args, self._join)

    def on_leave(self, *args):
        """Leave a room (presence)."""
        return self._handle("leave", args, self._leave)

    def on_review_questions(self, *args):
        """The lines of the critic's own review's questions, for one-click asking."""
        return self._handle("review_questions", args, self._review_questions)

    # ------------------------------------------------------------------ actions

    def on_ask(self, *args):
        """A critic asks a question."""
        return self._action("ask", args)

    def on_follow_up(self, *args):
        """The asker of an answered question asks one follow-up."""
        return self._action("follow_up", args)

    def on_vote(self, *args):
        """A participant votes for a queued question, or takes the vote back."""
        return self._action("vote", args)

    def on_verdict(self, *args):
        """A critic's verdict on the paper."""
        return self._action("verdict", args)

    def on_claim(self, *args):
        """The authors claim a question."""
        return self._action("claim", args)

    def on_answer(self, *args):
        """The authors record an answer and its outcome."""
        return self._action("answer", args)

    def on_approve(self, *args):
        """A moderator approves a pending question."""
        return self._action("approve", args)

    def on_dismiss(self, *args):
        """A moderator dismisses a question, with a private reason to its asker."""
        return self._action("dismiss", args)

    def on_edit(self, *args):
        """A moderator rewords a question."""
        return self._action("edit", args)

    def on_merge(self, *args):
        """A moderator merges a duplicate into another question."""
        return self._action("merge", args)

    def on_pin(self, *args):
        """A moderator pins a question."""
        return self._action("pin", args)

    def on_unpin(self, *args):
        """A moderator unpins a question."""
        return self._action("unpin", args)

    def on_reorder(self, *args):
        """A moderator sets a question's manual rank."""
        return self._action("reorder", args)

    def on_set_live(self, *args):
        """A moderator makes a question the live one."""
        return self._action("set_live", args)

    def on_mark_answered(self, *args):
        """A moderator marks a question answered."""
        return self._action("mark_answered", args)

    def on_reopen(self, *args):
        """A moderator puts an answered or dismissed question back in the queue."""
        return self._action("reopen", args)

    def on_mute(self, *args):
        """A moderator mutes a participant for the rest of the session."""
        return self._action("mute", args)

    def on_phase(self, *args):
        """A moderator moves the room to another phase."""
        return self._action("phase", args)

    def on_extend(self, *args):
        """A moderator adds minutes to the timer."""
        return self._action("extend", args)

    def on_settings(self, *args):
        """A moderator changes pre-moderation or follow-ups."""
        return self._action("settings", args)

    # ------------------------------------------------------------------ handling

    def _handle(self, event: str, args: tuple, handler: Callable[[Any, dict], dict], user=None) -> dict:
        """Run the checks every event shares, then the handler; every failure is an error ack.
        ``user``: the session's user when this handler has just read it (on connect)."""
        try:
            if len(args) != 1:
                raise Refused("invalid", "Send one object.")
            check_size(args[0], current_app.config["SOCKET_MAX_PAYLOAD"])
            user = user or self._user()
            return handler(user, validate(event, args[0]))
        except PayloadError as exc:
            return Refused(exc.code, exc.message).ack
        except Refused as exc:
            return exc.ack
        except commands.PanelError as exc:
            return self._refusal(event, exc)
        except Exception:
            db.session.rollback()
            current_app.logger.exception("panel event %s failed", event)
            return Refused("server_error").ack

    def _user(self):
        """The logged-in user, read now; a session ended elsewhere closes this socket."""
        user = _session_user()
        if user is not None:
            return user
        fanout.emit_local("forced_logout", {}, request.sid)
        disconnect()
        raise Refused("unauthorized")

    def _room(self, user, room_id: int) -> tuple[policy.RoomState, str]:
        """The room and the user's role now; follows a role change, drops a removed member."""
        sid = request.sid
        try:
            room, role = commands.room_and_role(room_id, user)
        except commands.PanelError:
            fanout.leave(sid, room_id)
            raise
        fanout.follow_role(sid, room, user, role, now_utc())
        return room, role

    def _refusal(self, event: str, exc: commands.PanelError) -> dict:
        extra = {}
        if exc.question is not None:
            question = exc.question
            db.session.refresh(question)
            extra["question"] = payloads.question_for_audience(
                question, payloads.MODERATOR, state.vote_count(question.id)
            )
        if exc.code in ("forbidden", "not_found"):
            current_app.logger.warning(
                "panel %s refused (%s) for user %s", event, exc.code, getattr(current_user, "id", None)
            )
        return Refused(exc.code, exc.message, **extra).ack

    def _join(self, user, payload: dict) -> dict:
        room, role = self._room(user, payload["room_id"])
        fanout.enter(request.sid, room.id, role, room.seq)
        if payload.get("last_seq") != room.seq:
            presence = fanout.presence(room.id, names=role == payloads.MODERATOR)
            snapshot = payloads.snapshot(room, user, role, presence, now_utc(), fanout.audience_views())
            fanout.emit_local("snapshot", snapshot, request.sid)
        return {"ok": True, "room_id": room.id, "role": role, "seq": room.seq}

    def _leave(self, user, payload: dict) -> dict:
        fanout.leave(request.sid, payload["room_id"])
        return {"ok": True}

    def _review_questions(self, user, payload: dict) -> dict:
        room, _role = self._room(user, payload["room_id"])
        return {"ok": True, "questions": state.review_questions(room, user)}

    def _action(self, event: str, args: tuple) -> dict:
        return self._handle(event, args, lambda user, payload: self._apply(event, user, payload))

    def _apply(self, event: str, user, payload: dict) -> dict:
        cid = payload.pop("cid")
        earlier = commands.stored_ack(user.id, cid)
        if earlier is not None:
            return earlier
        room, role = self._room(user, payload.pop("room_id"))
        commands.check_permission(event, room, user, role)
        if not ratelimit.allow(event, user.id):
            raise Refused("rate_limited")
        now = now_utc()
        change = commands.apply(event, room.id, user, cid, payload, now, role=role)
        db.session.commit()
        try:
            fanout.publish(change, now)
        except Exception:
            # The change is committed: the ack says so; this process's sockets get a snapshot
            # now, the other processes' at their next heartbeat (no marker reached them).
            db.session.rollback()
            current_app.logger.exception("panel broadcast after %s failed", event)
            fanout.resync(room.id, change.seq)
        return change.ack

"""The bare Flask-SocketIO stack the panel room is measured against.

``python bench/bare_server.py --port 5055 --mode eventlet|gevent [--queue redis://…]`` serves namespace ``/panel``
with no database and no authorisation: ``join`` (or a connect request carrying ``auth``) enters
one room, acknowledges and sends a snapshot-sized payload; ``ask`` only acknowledges;
``broadcast`` (the trigger) sends a ``question`` event shaped and sized like the one Colloquy
sends in ``bench/panel_load.py`` (the question, and the queue order, one id longer with each
broadcast) to the whole room. The server starts exactly as ``app.py``'s ``serve()`` starts
Colloquy. With ``--queue`` several such processes are joined by that message queue, as
Colloquy's are by ``SOCKETIO_MESSAGE_QUEUE``: a broadcast reaches the room on every process,
while a joining socket's own ``joined`` and snapshot are sent on its process only, as
Colloquy's are.
"""
import argparse
import os
import sys

if __name__ == "__main__":
    _mode = os.environ.get("SOCKETIO_ASYNC_MODE", "eventlet")
    if "--mode" in sys.argv:
        _mode = sys.argv[sys.argv.index("--mode") + 1]
    if _mode == "eventlet":
        import eventlet

        eventlet.monkey_patch()
    elif _mode == "gevent":
        from gevent import monkey

        monkey.patch_all()

from flask import Flask, request  # noqa: E402
from flask_socketio import SocketIO, emit, join_room  # noqa: E402

ROOM = "panel:bench"
STATE = {"seq": 0, "queue": []}


def question_payload(question_id: int) -> dict:
    """A question shaped and sized like the room's public payload for the questions that
    ``bench/panel_load.py`` asks."""
    return {
        "id": question_id,
        "text": f"Question {question_id}: how does it scale?",
        "state": "queued",
        "votes": 0,
        "pinned": False,
        "rank": None,
        "anonymous": False,
        "asker": "Student Name",
        "mine": False,
        "claimed_by": None,
        "answer_text": "",
        "outcome": None,
        "parent_id": None,
        "version": 2,
        "created_at": "2026-03-02T12:00:00Z",
        "live_at": None,
        "answered_at": None,
    }


def snapshot_payload() -> dict:
    """A snapshot with a room, twenty questions and presence, like a busy panel's."""
    return {
        "seq": STATE["seq"],
        "server_now": "2026-03-02T12:00:00Z",
        "room": {"id": 1, "phase": "panel", "phase_ends_at": "2026-03-02T12:15:00Z",
                 "moderated": True, "follow_ups_allowed": False},
        "role": "critic",
        "questions": [question_payload(-i) for i in range(1, 21)],
        "live_id": None,
        "presence": {"moderator": 1, "author": 2, "critic": 30},
        "my_votes": [],
        "my_verdict": None,
    }


def create_app(mode: str, queue: str | None = None):
    """A Flask app and Socket.IO server with the same options as Colloquy's."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "bench"
    socketio = SocketIO(app, async_mode=mode, message_queue=queue, cors_allowed_origins=None,
                        max_http_buffer_size=16 * 1024,
                        manage_session=False, logger=False, engineio_logger=False)

    @app.get("/health")
    def health():
        return "ok"

    @socketio.on("connect", namespace="/panel")
    def on_connect(auth=None):
        if auth:  # joins in the connect request, as Colloquy's clients do
            emit("joined", on_join(auth), ignore_queue=True)

    @socketio.on("join", namespace="/panel")
    def on_join(data):
        join_room(ROOM)
        # The socket's own answers stay on its process (as Colloquy sends them): through a
        # queue every process would receive every joining socket's snapshot.
        emit("snapshot", snapshot_payload(), ignore_queue=True)
        return {"ok": True, "role": "critic", "seq": STATE["seq"]}

    @socketio.on("ask", namespace="/panel")
    def on_ask(data):
        # Answered at once: the benchmark asks before each broadcast, as critics ask before
        # the moderator approves, so both servers are paced the same way.
        return {"ok": True, "question_id": int(data["id"]), "state": "pending"}

    @socketio.on("broadcast", namespace="/panel")
    def on_broadcast(data):
        STATE["seq"] += 1
        question_id = int(data["id"])
        STATE["queue"].append(question_id)
        # Shaped like Colloquy's ``question`` event, which carries the queue order: each
        # broadcast is as large as the app's, so the two runs decode the same bytes.
        event = {"seq": STATE["seq"], "room_id": 1, "question": question_payload(question_id),
                 "queue": STATE["queue"]}
        socketio.emit("question", event,
                      to=ROOM, namespace="/panel")
        return {"ok": True, "sid": request.sid}

    return app, socketio


def serve(port: int, mode: str, queue: str | None = None) -> None:
    """Listen like ``app.py``'s ``serve()``: the same garbage-collector settings; eventlet with a
    2048 backlog, else ``socketio.run``."""
    app, socketio = create_app(mode, queue)
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 20, 20)  # app.py's GC_THRESHOLD
    if mode == "eventlet":
        import eventlet
        import eventlet.wsgi

        listener = eventlet.listen(("127.0.0.1", port), backlog=2048)
        eventlet.wsgi.server(listener, app, log_output=False, max_size=4096)
    else:
        socketio.run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=(mode == "threading"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=("eventlet", "gevent", "threading"), default=_mode)
    parser.add_argument("--queue", help="message queue joining several processes (redis://…)")
    args = parser.parse_args()
    serve(args.port, args.mode, args.queue)

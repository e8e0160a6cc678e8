"""The app served by ``python app.py`` with SOCKETIO_ASYNC_MODE=gevent, the alternative to eventlet.

gevent never enters this process: the server runs in a subprocess on a migrated temporary
SQLite database; clients are python-socketio clients over websocket with HTTP-login cookies.
"""
from __future__ import annotations

import pytest

from tests.support.live_server import WAIT, Participant, login, serving, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def gevent_server(tmp_path):
    with serving(tmp_path, "gevent") as server:
        yield server


def test_gevent_serves_pages_and_the_panel_room(gevent_server):
    server, data = gevent_server, gevent_server.data
    assert "(async mode: gevent)" in server.log.read_text()
    mod = Participant(server.base, login(server.base, data["emails"]["mod"]), data["room_id"])
    critic_http = login(server.base, data["emails"]["c1"])
    critic, other = Participant(server.base, critic_http, data["room_id"]), Participant(
        server.base, login(server.base, data["emails"]["c2"]), data["room_id"])
    try:
        for participant in (mod, critic, other):
            assert participant.connect()["ok"]
            assert participant.client.transport() == "websocket"
        assert mod.act("phase", phase="panel")["ok"]

        asked = critic.act("ask", text="Does gevent keep up?")
        assert asked["ok"] and asked["state"] == "pending", asked
        qid = asked["question_id"]
        pending = wait_until(lambda: mod.questions.get(qid), "the pending question at the moderator")
        approved = mod.act("approve", question_id=qid, version=pending["version"])
        assert approved["ok"], approved
        for participant in (critic, other):
            event = wait_until(
                lambda p=participant: [e for e in p.question_events(qid) if e["seq"] == approved["seq"]],
                "the approved question")[0]
            assert (event["question"]["state"], event["question"]["text"], event["queue"]) == (
                "queued", "Does gevent keep up?", [qid])

        page = critic_http.get(
            f"{server.base}/courses/{data['course_id']}/presentations/{data['presentation_id']}/review",
            timeout=WAIT)
        assert page.status_code == 200
        assert "Paged attention" in page.text and 'name="csrf_token"' in page.text
        assert "no-store" in page.headers["Cache-Control"]
        assert "Traceback" not in server.log.read_text()
    finally:
        for participant in (mod, critic, other):
            participant.close()

"""Hostile input below and at the application: malformed Socket.IO packets, hostile JSON and
lone UTF-16 surrogates get a refusal (an error ack, ``invalid``, or HTTP 400), never a crash,
a traceback or a server_error; a flooding socket cannot fill the log; others are unaffected.

The raw tests speak Engine.IO/Socket.IO frames over a real websocket (websocket-client) to a
real ``python app.py`` (eventlet); the others use the in-process Socket.IO test client.
"""
from __future__ import annotations

import json
import re
import time
from types import SimpleNamespace

import pytest
import websocket

from core import safe_json, socket_guard
from domain.panel.schema import PayloadError, validate
from tests.support.live_server import NS, WAIT, Participant, cookie_header, login, serving, wait_until
from tests.support.panel import PanelCast, new_cid

SURROGATE = "\ud800"
DEEP = "[" * 1500 + "]" * 1500


# --------------------------------------------------------------------------- hostile JSON


@pytest.mark.parametrize("text", [
    DEEP, '{"a":' * 1200 + "1" + "}" * 1200, "[" + "9" * 300 + "]", "[1e999]", "[NaN]", '["x", {',
    '"\\ud800"', '{"k\\udfff": 1}', '["ok", "\\udc00 tail"]',
])
def test_safe_json_refuses_with_a_value_error(text):
    with pytest.raises(ValueError):
        safe_json.loads(text)


def test_safe_json_keeps_ordinary_and_paired_surrogate_text():
    assert safe_json.loads('["ask", {"text": "caf\\u00e9 \\ud83d\\ude00", "n": 12, "x": 1.5}]') == [
        "ask", {"text": "café 😀", "n": 12, "x": 1.5}]
    assert safe_json.loads("[" * 20 + "]" * 20)  # shallow nesting is fine


@pytest.mark.parametrize("event,payload", [
    ("ask", {"room_id": 1, "cid": "c1", "text": "Why " + SURROGATE}),
    ("edit", {"room_id": 1, "cid": "c1", "question_id": 1, "version": 1, "text": SURROGATE}),
    ("answer", {"room_id": 1, "cid": "c1", "question_id": 1, "outcome": "answered", "text": "a" + SURROGATE}),
    ("dismiss", {"room_id": 1, "cid": "c1", "question_id": 1, "version": 1, "reason": SURROGATE}),
    ("follow_up", {"room_id": 1, "cid": "c1", "question_id": 1, "text": SURROGATE}),
    ("ask", {"room_id": 1, "cid": SURROGATE, "text": "A fine question?"}),
])
def test_schema_refuses_lone_surrogates_in_every_text_field(event, payload):
    with pytest.raises(PayloadError) as refused:
        validate(event, payload)
    assert refused.value.code == "invalid"


@pytest.fixture
def cast(app, make, clock):
    app.config["PANEL_PRESENCE_DELAY"] = 0
    cast = PanelCast(app, make)
    cast.set_room(phase="panel")
    return cast


def test_a_question_with_a_lone_surrogate_is_invalid_not_a_server_error(cast, caplog):
    critic = cast.sock(cast.critics[0])
    ack = critic.act("ask", text="Is this " + SURROGATE + " stored?")
    assert ack["ok"] is False and ack["error"] == "invalid", ack
    assert "Traceback" not in caplog.text
    assert critic.act("ask", text="And this one?")["ok"]  # the socket still works


def test_json_bodies_with_a_lone_surrogate_are_refused_with_400(app, make, login_as, clock):
    course = make.course()
    critic, author = make.member(course, name="Cora Critic"), make.member(course, name="Ada Author")
    presentation = make.presentation(course, presenters=[author])
    url = f"/courses/{course.id}/presentations/{presentation.id}/review/draft"
    client = login_as(critic)
    body = '{"answer_summary": "Batching \\ud800 here"}'
    resp = client.post(url, data=body, content_type="application/json")
    assert resp.status_code == 400 and resp.json["error"] == "Bad Request"
    fine = client.post(url, data='{"answer_summary": "Batching \\ud83d\\ude00 here"}', content_type="application/json")
    assert fine.status_code == 200, fine.get_data(as_text=True)


def test_form_fields_cannot_carry_a_lone_surrogate(app, make, login_as):
    """Form bytes are decoded as UTF-8 with replacement: the CESU bytes of U+D800 never reach a
    field as a surrogate, and the name saved is storable text."""
    user = make.user()
    client = login_as(user)
    resp = client.post("/account", data=b"name-display_name=Ada%ED%A0%80&name-submit=Save+name",
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code in (200, 302)
    page = client.get("/account").get_data(as_text=True)
    assert SURROGATE not in page


# --------------------------------------------------------------------------- the log budget


def test_the_log_budget_allows_a_burst_then_one_notice_then_silence():
    budget = socket_guard._LogBudget()
    seen = [budget.allow("s1", 100.0) for _ in range(socket_guard.LOG_BURST + 5)]
    assert seen == list(range(1, socket_guard.LOG_BURST + 2)) + [None] * 4
    assert budget.allow("s2", 100.0) == 1  # another socket has its own budget
    assert budget.allow("s1", 100.0 + socket_guard.LOG_WINDOW) == 1  # a new window


# --------------------------------------------------------------------------- raw frames, real server


class RawSocket:
    """A websocket speaking Engine.IO v4 / Socket.IO v5 frames by hand."""

    def __init__(self, base: str, cookie: str):
        url = base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.ws = websocket.create_connection(url, header=[f"Cookie: {cookie}"], origin=base, timeout=WAIT)
        assert self.ws.recv().startswith("0{")  # Engine.IO open
        self.send("40" + NS + ",")
        assert self.recv_matching(r"^40/panel,\{").startswith("40" + NS)

    def send(self, frame: str) -> None:
        self.ws.send(frame)

    def recv_matching(self, pattern: str) -> str:
        """The next frame matching ``pattern`` (pings are answered; other frames skipped)."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            frame = self.ws.recv()
            if frame == "2":
                self.ws.send("3")
            elif re.search(pattern, frame):
                return frame
        raise AssertionError(f"no frame matching {pattern}")

    def ack(self, ack_id: int) -> list:
        frame = self.recv_matching(rf"^43{NS},{ack_id}\[")
        return json.loads(frame[len(f"43{NS},{ack_id}"):])

    def close(self):
        self.ws.close()


MALFORMED = [
    ("deep nesting", "42/panel,{id}" + DEEP),
    ("empty data", "42/panel,{id}[]"),
    ("an object as data", '42/panel,{id}{{"a":1}}'),
    ("a number as event name", "42/panel,{id}[123,{{}}]"),
    ("a huge integer", '42/panel,{id}["ask",' + "7" * 400 + "]"),
    ("broken JSON", '42/panel,{id}["ask",{{"text":'),
    ("a lone surrogate", '42/panel,{id}["ask",{{"room_id":1,"cid":"x","text":"\\ud800"}}]'),
    ("an unknown event", '42/panel,{id}["no_such_event",{{}}]'),
    ("a reserved event name", '42/panel,{id}["connect",{{}}]'),
    ("NaN", '42/panel,{id}["vote",{{"room_id":NaN}}]'),
    ("an unknown Socket.IO packet type", "49/panel,{id}[]"),
    ("an acknowledgement without a list", '43/panel,{id}{{"a":1}}'),
]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("hardening"), "eventlet") as server:
        http = login(server.base, server.data["emails"]["c1"])
        yield SimpleNamespace(server=server, http=http, cookie=cookie_header(http), data=server.data)


@pytest.mark.slow
def test_every_malformed_packet_gets_an_error_ack_and_the_socket_still_works(live):
    raw = RawSocket(live.server.base, live.cookie)
    try:
        for n, (what, template) in enumerate(MALFORMED, start=1):
            raw.send(template.format(id=n))
            [ack] = raw.ack(n)
            assert ack["ok"] is False and ack["error"] == "invalid", (what, ack)
        raw.send(f'42{NS},99["join",{{"room_id":{live.data["room_id"]}}}]')
        [joined] = raw.ack(99)
        assert joined["ok"], joined
    finally:
        raw.close()
    log = live.server.log.read_text()
    assert "Traceback" not in log and "RecursionError" not in log
    assert "a packet is unreadable" in log and "refused" in log


BELOW_SOCKET_IO = ["42/panel," + DEEP, "9" + NS + ",[]", "4" + DEEP, '4{"a":1}', "4", "7",
                   "4" + "[" + "1" * 500 + "]", "4\"text\"", "x"]


@pytest.mark.slow
@pytest.mark.parametrize("frame", BELOW_SOCKET_IO, ids=range(len(BELOW_SOCKET_IO)))
def test_packets_without_an_ack_id_or_below_socket_io_are_refused_quietly(live, frame):
    raw = RawSocket(live.server.base, live.cookie)
    try:
        raw.send(frame)
        raw.send(f'42{NS},5["join",{{"room_id":{live.data["room_id"]}}}]')
        [joined] = raw.ack(5)
        assert joined["ok"], joined
    except (websocket.WebSocketException, ConnectionError):
        # Engine.IO drops a connection whose frame has no packet type ("x"): a refusal too
        assert frame == "x"
    finally:
        raw.close()
    participant = Participant(live.server.base, live.http, live.data["room_id"])
    participant.connect()  # the server is alive and serves others
    participant.close()
    assert "Traceback" not in live.server.log.read_text()


@pytest.mark.slow
def test_a_flooding_socket_writes_a_few_log_lines_and_others_are_served(live):
    mod = Participant(live.server.base, login(live.server.base, live.data["emails"]["mod"]), live.data["room_id"])
    critic = Participant(live.server.base, login(live.server.base, live.data["emails"]["c2"]), live.data["room_id"])
    mod.connect()
    critic.connect()
    raw = RawSocket(live.server.base, live.cookie)
    try:
        assert mod.act("phase", phase="panel")["ok"]
        before = live.server.log.read_text().count("\n")
        for n in range(300):
            raw.send(f"42{NS},{n}[{n}]")
        [last] = raw.ack(299)
        assert last["error"] == "invalid"
        asked = critic.act("ask", text="Still heard during the flood?")
        assert asked["ok"], asked
        lines = live.server.log.read_text().splitlines()[before:]
        flood = [line for line in lines if "colloquy.sockets" in line]
        assert 1 <= len(flood) <= socket_guard.LOG_BURST + 1, flood
    finally:
        raw.close()
        mod.close()
        critic.close()
    assert "Traceback" not in live.server.log.read_text()


@pytest.mark.slow
def test_a_question_with_a_lone_surrogate_from_a_real_client_is_invalid(live):
    critic = Participant(live.server.base, live.http, live.data["room_id"])
    critic.connect()
    try:
        ack = critic.act("ask", text="Stored " + SURROGATE + "?")
        assert ack["ok"] is False and ack["error"] == "invalid", ack
    finally:
        critic.close()
    assert "Traceback" not in live.server.log.read_text()

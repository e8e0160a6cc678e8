"""Two server processes joined by Redis, as in production (SPEC §5).

A throwaway ``redis-server`` carries the Socket.IO message queue (db 0) and the rate-limit
counters (db 1). Two ``python app.py`` processes (eventlet) share one SQLite file, one
SECRET_KEY and that Redis; the moderator is connected to process A and the critics to process B.
Without redis-server the tests skip and say so; under CI=true they fail.
"""
from __future__ import annotations

import json

import pytest
import socketio

from tests.support.cluster import app_processes, own_redis, room_people
from tests.support.live_server import WAIT, Participant, cookie_header, csrf_token, login, wait_until

pytestmark = pytest.mark.slow

QUESTION_LIMIT = 4


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory):
    """A redis-server of our own on a free loopback port, without persistence."""
    with own_redis(tmp_path_factory.mktemp("redis")) as redis:
        yield redis.port


@pytest.fixture(scope="module")
def cluster(redis_port, tmp_path_factory):
    """Processes A and B on one database and one Redis; yields (a, b, setup data)."""
    with app_processes(tmp_path_factory.mktemp("cluster"), redis_port, {"a": {}, "b": {}},
                       QUESTION_RATE=f"{QUESTION_LIMIT}/60") as ((a, b), data, _env):
        yield a, b, data


@pytest.fixture
def people(cluster):
    """Connect participants: ``people(key, server)`` logs the user in over HTTP and joins the room."""
    a, _b, data = cluster
    with room_people(a.base, data) as connect:
        yield connect


def _at_seq(participant: Participant, question_id: int, seq: int):
    return [e for e in participant.question_events(question_id) if e["seq"] == seq]


def test_questions_approvals_and_votes_cross_processes(cluster, people):
    a, b, _data = cluster
    mod, c1, c2 = people("mod", a), people("c1", b), people("c2", b)
    assert mod.act("phase", phase="panel")["ok"]

    text = "Does the page table survive a second process?"
    asked = c1.act("ask", text=text)
    assert asked["ok"] and asked["state"] == "pending", asked
    qid = asked["question_id"]

    # asked on B, the pending question reaches the moderator on A (moderator view)
    pending = wait_until(lambda: _at_seq(mod, qid, asked["seq"]), "the pending question on A")[0]["question"]
    assert (pending["state"], pending["text"], pending["asker"]) == ("pending", text, "Cora Critic")
    assert "asker_id" in pending

    approved = mod.act("approve", question_id=qid, version=pending["version"])
    assert approved["ok"], approved
    for critic in (c1, c2):
        event = wait_until(lambda critic=critic: _at_seq(critic, qid, approved["seq"]), "the approval on B")[0]
        assert event["question"]["state"] == "queued" and event["queue"] == [qid]
    # the other critic heard of the question only when it was approved; the asker saw their own copy
    assert [e["seq"] for e in c2.question_events(qid)] == [approved["seq"]]
    with c2.lock:
        before = [data for _, data in c2.log if not isinstance(data, dict) or data.get("seq", 0) < approved["seq"]]
    assert text not in json.dumps(before)
    assert [(e["seq"], e["question"]["state"], e["question"].get("mine")) for e in c1.question_events(qid)
            if e["seq"] == asked["seq"]] == [(asked["seq"], "pending", True)]

    # votes cast on B update the count the moderator sees on A
    for expected, voter in enumerate((c2, c1), start=1):
        vote = voter.act("vote", question_id=qid, up=True)
        assert vote["ok"] and vote["votes"] == expected, vote
        event = wait_until(lambda seq=vote["seq"]: _at_seq(mod, qid, seq), "the vote on A")[0]
        assert event["question"]["votes"] == expected
    wait_until(lambda: mod.questions[qid]["votes"] == 2 and c2.questions[qid]["votes"] == 2, "both counts at 2")


def test_question_rate_limit_is_shared_across_processes(cluster, people):
    a, b, data = cluster
    mod = people("mod", a)
    assert mod.act("phase", phase="panel")["ok"]
    http = login(a.base, data["emails"]["c3"])
    on_a, on_b = people("c3", a, http), people("c3", b, http)

    acks = [(on_a, on_b)[n % 2].act("ask", text=f"Question {n} from both processes?")
            for n in range(QUESTION_LIMIT + 2)]
    assert [ack["ok"] for ack in acks] == [True] * QUESTION_LIMIT + [False, False], acks
    assert {ack["error"] for ack in acks[QUESTION_LIMIT:]} == {"rate_limited"}
    # the limit is per user: another critic on B still asks
    assert people("c2", b).act("ask", text="Mine still counts from zero?")["ok"]


def test_logout_on_one_process_ends_the_sockets_on_the_other(cluster, people):
    a, b, data = cluster
    http = login(a.base, data["emails"]["author"])
    old_cookie = cookie_header(http)
    victim, bystander = people("author", b, http), people("c1", b)

    resp = http.post(a.base + "/logout", data={"csrf_token": csrf_token(http, a.base + "/")},
                     allow_redirects=False, timeout=WAIT)
    assert resp.status_code == 302, resp.text[:500]

    assert wait_until(lambda: victim.events("forced_logout"), "forced_logout on B") == [{}]
    wait_until(lambda: not victim.client.connected, "process B to close the logged-out socket")
    assert bystander.client.connected and not bystander.events("forced_logout")
    assert bystander.call("join", {"room_id": data["room_id"]})["ok"]

    # the cookie from before the logout opens no socket on either process
    for server in (a, b):
        client = socketio.Client(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(server.base, namespaces=["/panel"], transports=["websocket"],
                           headers={"Cookie": old_cookie}, wait_timeout=WAIT)
        client.disconnect()


def _snapshot_as(participant: Participant, role: str):
    return [s for s in participant.events("snapshot") if s["role"] == role]


def test_roster_change_on_one_process_moves_sockets_on_the_other(cluster, people):
    a, b, data = cluster
    instructor = login(a.base, data["emails"]["mod"])
    mod, c1, c2 = people("mod", a, instructor), people("c1", b), people("c2", b)
    assert mod.act("phase", phase="panel")["ok"]
    roster = f"{a.base}/courses/{data['course_id']}/roster"
    token = csrf_token(instructor, roster)

    def set_role(role: str):
        resp = instructor.post(f"{roster}/{data['ids']['c2']}/role", data={"role": role, "csrf_token": token},
                               allow_redirects=False, timeout=WAIT)
        assert resp.status_code == 302, resp.text[:500]

    # made TA on A: the socket on B moves to the moderators at once and sees pending questions
    set_role("ta")
    wait_until(lambda: _snapshot_as(c2, "moderator"), "a moderator snapshot on B")
    first = c1.act("ask", text="Seen by the new TA?")
    wait_until(lambda: [e for e in c2.question_events(first["question_id"]) if e["question"]["state"] == "pending"],
               "the pending question at the new TA")

    # back to student: the socket on B leaves the moderators before the next pending question
    set_role("student")
    wait_until(lambda: _snapshot_as(c2, "critic"), "a critic snapshot on B")
    second = c1.act("ask", text="Hidden from the former TA?")
    pending = wait_until(lambda: _at_seq(mod, second["question_id"], second["seq"]), "the pending question on A")
    approved = mod.act("approve", question_id=second["question_id"], version=pending[0]["question"]["version"])
    wait_until(lambda: _at_seq(c2, second["question_id"], approved["seq"]), "the approval at the former TA")
    assert [e["seq"] for e in c2.question_events(second["question_id"])] == [approved["seq"]]

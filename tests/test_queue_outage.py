"""The room across processes when the message queue fails (docs/panel-protocol.md, "Delivery
guarantee"): a real redis-server that the tests kill and start again on the same port, and
three ``python app.py`` processes on one SQLite file. A and B use Redis directly; C reaches it
through a TCP proxy that a test cuts (a process partitioned from Redis while the others are
not). Clients never reconnect here: they converge on the sockets they have.

Without redis-server the tests skip and say so; under CI=true they fail.
"""
from __future__ import annotations

import json
import time
from contextlib import contextmanager

import pytest
import requests

from tests.support.cluster import app_processes, own_redis, redis_url, room_people
from tests.support.live_server import WAIT, Participant, Server, csrf_token, free_port, login, program, wait_until
from tests.support.panel import NS, TcpProxy

pytestmark = pytest.mark.slow

OUTAGE_S = 4  # how long Redis stays down (setup, not a measurement)
CONVERGE_S = 20  # the bound on every "converged" wait


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    with own_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(redis):
    proxy = TcpProxy(redis.port, free_port()).mend()
    try:
        yield proxy
    finally:
        proxy.cut()


@pytest.fixture(scope="module")
def cluster(redis, proxy, tmp_path_factory):
    """Processes A, B (Redis directly) and C (through the proxy); yields (a, b, c, data, env)."""
    directory = tmp_path_factory.mktemp("outage")
    through_proxy = {"SOCKETIO_MESSAGE_QUEUE": redis_url(proxy.port, 0),
                     "RATELIMIT_STORAGE_URI": redis_url(proxy.port, 1)}
    with app_processes(directory, redis.port, {"a": {}, "b": {}, "c": through_proxy},
                       PANEL_HEARTBEAT="1") as (servers, data, env):
        yield (*servers, data, env, directory)


@pytest.fixture
def people(cluster):
    """``people(key, server)``: the user logged in over HTTP (on A), joined to the room on ``server``."""
    with room_people(cluster[0].base, cluster[3]) as connect:
        yield connect


def _at_seq(participant: Participant, question_id: int, seq: int):
    return [e for e in participant.question_events(question_id) if e["seq"] == seq]


def _state(participant: Participant, question_id: int):
    with participant.lock:
        question = participant.questions.get(question_id)
        return (question["state"], question["votes"]) if question else None


def _queued(mod: Participant, asker: Participant, text: str, *others: Participant) -> int:
    """A question asked by ``asker``, approved by ``mod``, seen queued by everyone given."""
    asked = asker.act("ask", text=text)
    assert asked["ok"], asked
    qid = asked["question_id"]
    pending = wait_until(lambda: _at_seq(mod, qid, asked["seq"]), "the pending question at the moderator")
    approved = mod.act("approve", question_id=qid, version=pending[0]["question"]["version"])
    assert approved["ok"], approved
    for person in (asker, *others):
        wait_until(lambda person=person: _at_seq(person, qid, approved["seq"]), "the approval")
    return qid


def _sids(participants) -> list:
    return [p.client.get_sid(NS) for p in participants]


@contextmanager
def _outage(redis, kind: str):
    """Redis ``killed`` (every connection refused; started again afterwards) or ``hung``
    (SIGSTOP: connections stay open and nothing answers, so each first call waits for its
    timeout before the process stops asking for a while) for the block."""
    if kind == "hung":
        with redis.paused():
            yield
        return
    redis.kill()
    try:
        yield
    finally:
        redis.start()


@pytest.mark.parametrize("kind", ["killed", "hung"])
def test_a_change_made_while_redis_is_down_reaches_every_process(cluster, people, redis, kind):
    a, b, c, data, _env, _dir = cluster
    mod, c1, c2, c3 = people("mod", a), people("c1", b), people("c2", b), people("c3", c)
    critics = (c1, c2, c3)
    assert mod.act("phase", phase="panel")["ok"]
    first = _queued(mod, c1, f"Does the queue survive being {kind}?", c2, c3)
    second = _queued(mod, c1, "And the one after it?", c2, c3)
    live = mod.act("set_live", question_id=first, version=mod.questions[first]["version"])
    assert live["ok"], live
    for critic in critics:
        wait_until(lambda critic=critic: _state(critic, first) == ("live", 0), "the first question live")
    sids = _sids(critics)

    with _outage(redis, kind):
        # stored and acknowledged while Redis is down, on process A
        moved = mod.act("set_live", question_id=second, version=mod.questions[second]["version"])
        assert moved["ok"], moved
        # logging in, asking and voting keep working on every process (limits count in memory)
        assert login(b.base, data["emails"]["c2"]).get(b.base + "/", timeout=WAIT).status_code == 200
        asked = c2.act("ask", text="Asked while the queue is down?")
        assert asked["ok"] and asked["state"] == "pending", asked
        voted = c3.act("vote", question_id=first, up=True)
        assert voted["ok"] and voted["votes"] == 1, voted
        time.sleep(OUTAGE_S)

    # every client converges without reconnecting: the set_live made on A, the vote made on C
    for person in (mod, *critics):
        wait_until(lambda person=person: _state(person, second) == ("live", 0)
                   and _state(person, first) == ("queued", 1), "convergence after the outage", CONVERGE_S)
        assert person.client.connected
    assert _sids(critics) == sids
    # the question asked on B during the outage reached the moderator on A
    wait_until(lambda: _state(mod, asked["question_id"]) == ("pending", 0), "the ask at the moderator", CONVERGE_S)

    # fan-out through the queue resumes by itself: the events themselves arrive again (a change
    # made in the moment before a process subscribed again reaches it as a snapshot instead)
    wait_until(lambda: _heard(c2, first, (mod, c3)), "events through the queue again", CONVERGE_S)


def test_a_process_cut_off_from_redis_converges_both_ways(cluster, people, proxy):
    a, b, c, _data, _env, _dir = cluster
    mod, c1, c3 = people("mod", a), people("c1", b), people("c3", c)
    assert mod.act("phase", phase="panel")["ok"]
    sids = _sids((c1, c3))

    proxy.cut()
    try:
        # a change made on B (asked) and A (approved) while C cannot hear them
        asked = c1.act("ask", text="Heard on the far side of the partition?")
        assert asked["ok"], asked
        qid = asked["question_id"]
        pending = wait_until(lambda: _at_seq(mod, qid, asked["seq"]), "the pending question on A")
        assert mod.act("approve", question_id=qid, version=pending[0]["question"]["version"])["ok"]
        wait_until(lambda: _state(c3, qid) == ("queued", 0), "the approval at C, cut off", CONVERGE_S)
        # a change made on C reaches A and B although C cannot publish it
        voted = c3.act("vote", question_id=qid, up=True)
        assert voted["ok"] and voted["votes"] == 1, voted
        for person in (mod, c1):
            wait_until(lambda person=person: _state(person, qid) == ("queued", 1), "C's vote elsewhere", CONVERGE_S)
    finally:
        proxy.mend()

    assert _sids((c1, c3)) == sids and c3.client.connected
    # once mended, C hears the queue again: the event itself arrives, not only a snapshot
    wait_until(lambda: _heard(c1, qid, (c3,)), "C hearing the queue again", CONVERGE_S)


def _heard(voter: Participant, question_id: int, listeners) -> bool:
    """The voter toggles a vote; True when every listener receives that vote's own event soon."""
    vote = voter.act("vote", question_id=question_id)
    assert vote["ok"], vote
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if all(_at_seq(listener, question_id, vote["seq"]) for listener in listeners):
            return True
        time.sleep(0.05)
    return False


def _presence(participant: Participant):
    events = participant.events("presence")
    if not events:
        return None
    last = events[-1]
    return last["presence"], sorted(p["user_id"] for p in last.get("presence_names", []))


def test_presence_counts_every_process_and_forgets_a_killed_one(cluster, people):
    a, b, _c, data, env, directory = cluster
    ids = data["ids"]
    mod, c1 = people("mod", a), people("c1", b)
    d = Server({**env, "PORT": str(free_port())}, directory / "server-d.log")
    d.start()
    try:
        c2 = people("c2", d)
        everyone = sorted((ids["mod"], ids["c1"], ids["c2"]))
        for person in (mod,):
            wait_until(lambda: _presence(person) == ({"moderator": 1, "author": 0, "critic": 2}, everyone),
                       "presence of three processes at the moderator", CONVERGE_S)
        wait_until(lambda: _presence(c1) and _presence(c1)[0] == {"moderator": 1, "author": 0, "critic": 2},
                   "the counts at a critic on B", CONVERGE_S)
        assert c2.client.connected
    finally:
        d.kill()
    # kill -9: nothing said goodbye; D's sockets leave the count once its presence expires
    left = sorted((ids["mod"], ids["c1"]))
    wait_until(lambda: _presence(mod) == ({"moderator": 1, "author": 0, "critic": 1}, left),
               "the killed process's critic gone at the moderator", CONVERGE_S)
    wait_until(lambda: _presence(c1)[0] == {"moderator": 1, "author": 0, "critic": 1},
               "the killed process's critic gone at a critic", CONVERGE_S)
    assert requests.get(a.base + "/login", timeout=5).status_code == 200


# --------------------------------------------------------------------------- sessions and roster, the queue down


def _post_form(http: requests.Session, base: str, page: str, action: str, **fields) -> None:
    """Submit a form of ``page`` (with its CSRF token) to ``action``, as a browser would."""
    resp = http.post(base + action, data={"csrf_token": csrf_token(http, base + page), **fields},
                     allow_redirects=False, timeout=WAIT)
    assert resp.status_code == 302, resp.text[:500]


def _after(participant: Participant, since: int) -> list:
    """The events the participant received after the first ``since``."""
    with participant.lock:
        return list(participant.log[since:])


def _public_question(mod: Participant, asker: Participant, text: str, *watchers: Participant) -> int:
    """A question asked by ``asker`` and approved by ``mod``, waited for at ``watchers`` (by its
    state: with the queue down it may arrive as a snapshot)."""
    asked = asker.act("ask", text=text)
    assert asked["ok"], asked
    qid = asked["question_id"]
    wait_until(lambda: _state(mod, qid), "the question at the moderator", CONVERGE_S)
    approved = mod.act("approve", question_id=qid, version=mod.questions[qid]["version"])
    assert approved["ok"], approved
    for watcher in watchers:
        wait_until(lambda watcher=watcher: _state(watcher, qid) == ("queued", 0), "the approval", CONVERGE_S)
    return qid


def test_a_logout_while_redis_is_down_closes_the_socket_on_another_process(cluster, people, redis):
    a, b, _c, _data, _env, _dir = cluster
    mod, victim, bystander, asker = people("mod", a), people("c1", b), people("c2", b), people("c3", a)
    assert mod.act("phase", phase="panel")["ok"]

    redis.kill()
    try:
        # logged out on A: the command to close the socket on B is lost with the queue
        _post_form(victim.http, a.base, "/", "/logout")
        wait_until(lambda: victim.events("forced_logout"), "forced_logout on B", CONVERGE_S)
        wait_until(lambda: not victim.client.connected, "the socket on B closed", CONVERGE_S)
        since = len(victim.log)
        # the room goes on; what B's other sockets see does not reach the logged-out one
        qid = _public_question(mod, asker, "Heard after the logout?", bystander)
        assert bystander.client.connected and not bystander.events("forced_logout")
    finally:
        redis.start()
    assert _after(victim, since) == [] and qid not in victim.questions
    assert [event for event, _data in victim.log][-1] == "forced_logout"


@pytest.mark.parametrize("fault", ["redis_killed", "process_cut_off"])
def test_a_student_removed_while_the_queue_fails_leaves_the_room_on_another_process(cluster, people, redis, proxy,
                                                                                    fault):
    a, b, c, data, _env, _dir = cluster
    there = b if fault == "redis_killed" else c  # C reaches Redis through the proxy
    mod, removed, bystander, asker = people("mod", a), people("c3", there), people("c2", there), people("c1", a)
    assert mod.act("phase", phase="panel")["ok"]
    staff = login(a.base, data["emails"]["mod"])
    roster = f"/courses/{data['course_id']}/roster"
    text = f"Asked after the removal ({fault}): for members only"

    if fault == "redis_killed":
        redis.kill()
    else:
        proxy.cut()
    try:
        _post_form(staff, a.base, roster, f"{roster}/{data['ids']['c3']}/remove")
        notices = wait_until(lambda: [n for n in removed.events("notice") if n["kind"] == "removed"],
                             "the removal notice on the other process", CONVERGE_S)
        assert notices[0]["room_id"] == data["room_id"]
        since = len(removed.log)
        qid = _public_question(mod, asker, text, bystander)
        # still logged in, no longer in the room: its next event is refused
        refused = removed.act("vote", question_id=qid)
        assert refused["error"] == "not_found", refused
        assert removed.client.connected
    finally:
        if fault == "redis_killed":
            redis.start()
        else:
            proxy.mend()
        _post_form(staff, a.base, roster, f"{roster}/add", name="Cal Critic", email=data["emails"]["c3"],
                   role="student")
    assert qid not in removed.questions
    assert text not in json.dumps(_after(removed, since))


def test_a_role_change_while_redis_is_down_converges_both_ways(cluster, people, redis):
    a, b, _c, data, _env, _dir = cluster
    mod, moved, asker = people("mod", a), people("c1", b), people("c2", a)
    assert mod.act("phase", phase="panel")["ok"]
    staff = login(a.base, data["emails"]["mod"])
    roster = f"/courses/{data['course_id']}/roster"
    role_of = f"{roster}/{data['ids']['c1']}/role"

    def snapshot_role():
        snapshots = moved.events("snapshot")
        return snapshots[-1]["role"] if snapshots else None

    redis.kill()
    try:
        # promoted to TA on A: the socket on B moves to the moderators and sees pending questions
        _post_form(staff, a.base, roster, role_of, role="ta")
        wait_until(lambda: snapshot_role() == "moderator", "the moderators' snapshot on B", CONVERGE_S)
        first = asker.act("ask", text="Pending: seen by moderators")
        assert first["ok"] and first["state"] == "pending", first
        wait_until(lambda: _state(moved, first["question_id"]) == ("pending", 0), "the pending question on B",
                   CONVERGE_S)
        # demoted again: back to the critics, the pending question gone from its state
        _post_form(staff, a.base, roster, role_of, role="student")
        wait_until(lambda: snapshot_role() == "critic", "the critics' snapshot on B", CONVERGE_S)
        since = len(moved.log)
        assert first["question_id"] not in moved.questions
        hidden = asker.act("ask", text="Pending after the demotion")
        assert hidden["ok"] and hidden["state"] == "pending", hidden
        # a public change after it reaches the critic, the pending question does not
        qid = _public_question(mod, people("c3", a), "Public after the demotion", moved)
    finally:
        redis.start()
        _post_form(staff, a.base, roster, role_of, role="student")
    assert qid in moved.questions and hidden["question_id"] not in moved.questions
    assert "Pending after the demotion" not in json.dumps(_after(moved, since))


# --------------------------------------------------------------------------- the browser's store

STORE_CHECK = r"""
import {Store} from "./store.mjs";
const s = new Store({dataset: {roomId: "1", userId: "2", role: "critic"}});
s.changed = () => {}; s.tell = () => {}; s.announce = () => {}; s.message = () => {};
const q = (state, votes) => ({id: 1, text: "Why?", state, votes});
const out = [];
s.onSnapshot({seq: 5, room_id: 1, questions: [q("queued", 0)], queue: [1]});
s.onQuestion({seq: 7, room_id: 1, question: q("live", 2), queue: []});
// a catch-up snapshot built at seq 6 arrives after the event of seq 7: the event still counts
s.onSnapshot({seq: 6, room_id: 1, questions: [q("queued", 1)], queue: [1]});
out.push([s.state.questions[1].state, s.state.questions[1].votes, s.lastSeq, s.state.queue]);
// a newer snapshot wins over the events it contains
s.onSnapshot({seq: 9, room_id: 1, questions: [q("answered", 2)], queue: []});
out.push([s.state.questions[1].state, s.state.questions[1].votes, s.lastSeq, s.state.queue]);
console.log(JSON.stringify(out));
"""


def test_a_snapshot_older_than_an_applied_event_keeps_the_event(tmp_path):
    import json
    import shutil
    import subprocess

    from tests.support.live_server import ROOT

    node = program("node")
    shutil.copy(ROOT / "static/js/panel/store.js", tmp_path / "store.mjs")
    (tmp_path / "check.mjs").write_text(STORE_CHECK)
    result = subprocess.run([node, "check.mjs"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [["live", 2, 7, []], ["answered", 2, 9, []]]

"""The recorder test: a scripted panel, every message each critic's socket receives, no leaks.

Critics and authors must never receive another user's pending question, a dismissed question
or its reason, text a moderator edited away before approval, a merged duplicate, or the name or
id of an anonymous asker — in any event (create, edit, vote, live, merge, snapshot, presence).
"""
from __future__ import annotations

import json

import pytest

from tests.support.factories import T0
from tests.support.panel import PanelCast

ANON_NAME = "Zelda Hiddenname"
SECRETS = {
    "pending": "SECRET-PENDING-never-approved",
    "dismissed": "SECRET-DISMISSED-question-text",
    "reason": "SECRET-REASON-for-dismissal",
    "raw_edit": "SECRET-RAW-wording-before-edit",
    "duplicate": "SECRET-DUPLICATE-merged-away",
}


@pytest.fixture
def cast(app, make, clock):
    app.config["PANEL_PRESENCE_DELAY"] = 0
    cast = PanelCast(app, make, critics=3)
    cast.anonymous = make.member(cast.course, name=ANON_NAME)
    cast.critics.append(cast.anonymous)
    return cast


class Recorder:
    """Keeps every message a socket received, as raw JSON."""

    def __init__(self, sock):
        self.sock = sock
        self.messages = []

    def collect(self):
        self.messages.extend(self.sock.received())

    def raw(self) -> str:
        self.collect()
        return json.dumps(self.messages, sort_keys=True)


def run_panel(cast):
    """The script: returns the recorders and the ids involved."""
    moderator, ta = cast.sock(cast.instructor), cast.sock(cast.ta)
    c1, c2, c3 = (cast.sock(c) for c in cast.critics[:3])
    anon = cast.sock(cast.anonymous)
    author = cast.sock(cast.presenter)
    recorders = {name: Recorder(s) for name, s in
                 [("c1", c1), ("c2", c2), ("c3", c3), ("anon", anon), ("author", author), ("moderator", moderator)]}

    def collect_all():
        for r in recorders.values():
            r.collect()

    def ok(ack):
        assert ack["ok"], ack
        collect_all()
        return ack

    def version(qid):
        from models import Question
        from core.extensions import db
        return db.session.get(Question, qid, populate_existing=True).version

    ok(moderator.act("phase", phase="presenting"))
    anonymous_q = ok(anon.act("ask", text="Anonymous: is the speedup real?", anonymous=True))["question_id"]
    named_q = ok(c1.act("ask", text="Named: what about tail latency?"))["question_id"]
    pending_q = ok(c2.act("ask", text=SECRETS["pending"]))["question_id"]
    dismissed_q = ok(c3.act("ask", text=SECRETS["dismissed"]))["question_id"]
    edited_q = ok(c2.act("ask", text=SECRETS["raw_edit"]))["question_id"]
    duplicate_q = ok(c3.act("ask", text=SECRETS["duplicate"], anonymous=True))["question_id"]

    ok(moderator.act("approve", question_id=anonymous_q, version=version(anonymous_q)))
    ok(ta.act("approve", question_id=named_q, version=version(named_q)))
    ok(moderator.act("dismiss", question_id=dismissed_q, version=version(dismissed_q), reason=SECRETS["reason"]))
    ok(moderator.act("edit", question_id=edited_q, version=version(edited_q), text="Edited: how is memory shared?"))
    ok(moderator.act("approve", question_id=edited_q, version=version(edited_q)))
    ok(ta.act("edit", question_id=pending_q, version=version(pending_q), text=SECRETS["pending"] + " (tidied)"))
    ok(ta.act("pin", question_id=named_q, version=version(named_q)))
    ok(moderator.act("merge", question_id=duplicate_q, version=version(duplicate_q), into_id=anonymous_q))

    for sock in (c1, c2, c3, author, moderator):
        ok(sock.act("vote", question_id=anonymous_q))
    ok(anon.act("vote", question_id=named_q))
    ok(c1.act("vote", question_id=named_q, up=False))

    ok(moderator.act("phase", phase="panel"))
    ok(moderator.act("set_live", question_id=anonymous_q, version=version(anonymous_q)))
    ok(author.act("claim", question_id=anonymous_q))
    ok(author.act("answer", question_id=anonymous_q, outcome="rebutted", text="Yes: see table 3."))
    ok(ta.act("set_live", question_id=named_q, version=version(named_q)))
    ok(moderator.act("mark_answered", question_id=named_q, version=version(named_q)))
    ok(moderator.act("settings", follow_ups_allowed=True))
    ok(anon.act("follow_up", question_id=anonymous_q, text="Anonymous follow-up on the speedup"))
    for sock in (c1, c2, c3):
        ok(sock.act("verdict", verdict="revise"))
    ok(moderator.act("phase", phase="closed"))

    # a reconnecting critic and a late joiner get snapshots: they must be clean too
    c1.join(last_seq=0)
    late = cast.sock(cast.critics[1], join=False)
    recorders["late"] = Recorder(late)
    late.join()
    recorders["late_at_connect"] = Recorder(cast.sock(cast.critics[1], at_connect=True))
    collect_all()
    return recorders, {"anonymous": anonymous_q, "pending": pending_q, "dismissed": dismissed_q}


def test_no_critic_or_author_receives_what_they_may_not_see(cast, clock):
    clock.to(T0)
    recorders, ids = run_panel(cast)
    anon_id = cast.anonymous.id
    # the asker's own questions reach them (the late joiner is c2 again, after the edit)
    own_secrets = {"c2": {"pending", "raw_edit"}, "late": {"pending"}, "late_at_connect": {"pending"},
                   "c3": {"dismissed", "reason", "duplicate"}}

    for name in ("c1", "c2", "c3", "anon", "author", "late", "late_at_connect"):
        raw = recorders[name].raw()
        assert raw, name
        mine = own_secrets.get(name, set())
        for key, secret in SECRETS.items():
            if key in mine:
                continue
            assert secret not in raw, f"{name} received {key}"
        if name != "anon":
            assert ANON_NAME not in raw, f"{name} received the anonymous asker's name"
        assert '"asker_id"' not in raw and '"presence_names"' not in raw, name
        assert '"original_text"' not in raw, name


def test_the_secrets_were_really_sent_to_those_allowed(cast, clock):
    """Guards the test above: the markers travel, just not to the wrong sockets."""
    recorders, ids = run_panel(cast)
    moderator = recorders["moderator"].raw()
    for secret in SECRETS.values():
        assert secret in moderator
    assert ANON_NAME in moderator
    assert SECRETS["pending"] in recorders["c2"].raw()  # the asker sees their own pending question
    assert SECRETS["pending"] in recorders["late_at_connect"].raw()  # also in a snapshot sent on connect
    c3 = recorders["c3"].raw()
    assert SECRETS["reason"] in c3 and SECRETS["dismissed"] in c3
    # the public did get the anonymous question, without a name
    c1 = json.loads(recorders["c1"].raw())
    views = [m["args"][0]["question"] for m in c1
             if m["name"] == "question" and m["args"][0]["question"]["id"] == ids["anonymous"]]
    assert views and all(v["asker"] is None for v in views)
    assert views[-1]["state"] == "answered" and views[-1]["votes"] == 5

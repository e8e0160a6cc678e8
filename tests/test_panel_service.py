"""Room operations without sockets: state machine, votes, merge, timers, verdicts, transcript."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain import policy
from domain.panel import commands, payloads, reports, state
from domain.panel.commands import PanelError
from tests.support.factories import T0
from core.extensions import db
from models import AuditEvent, ClientAction, PanelRoom, Question, Vote
from tests.support.panel import PanelCast, apply, new_cid


@pytest.fixture
def cast(app, make, clock):
    cast = PanelCast(app, make)
    cast.set_room(phase="panel")
    return cast


def act(cast, user, event, cid=None, **args):
    """Apply one action and return its ack."""
    return apply(event, cast.room.id, user, cid or new_cid(), args).ack


def refused(cast, user, event, **args) -> PanelError:
    with pytest.raises(PanelError) as info:
        apply(event, cast.room.id, user, new_cid(), args)
    return info.value


def q(qid) -> Question:
    return db.session.get(Question, qid, populate_existing=True)


def asked(cast, critic=None, text="Why does batching help?", **kw) -> int:
    return act(cast, critic or cast.critics[0], "ask", text=text, **kw)["question_id"]


def queued(cast, critic=None, text="Why does batching help?", **kw) -> int:
    qid = asked(cast, critic, text, **kw)
    act(cast, cast.instructor, "approve", question_id=qid, version=q(qid).version)
    return qid


def mod(cast, event, qid, **args):
    """A moderator action with the question's current version."""
    return act(cast, cast.instructor, event, question_id=qid, version=q(qid).version, **args)


# --------------------------------------------------------------------------- the room


def test_room_for_creates_once(cast):
    again = commands.room_for(cast.presentation)
    assert again.id == cast.room.id
    assert db.session.scalar(select(func.count(PanelRoom.id))) == 1


def test_every_action_bumps_seq_once_and_stores_its_ack(cast):
    before = db.session.get(PanelRoom, cast.room.id).seq
    ack = act(cast, cast.critics[0], "ask", cid="one", text="Counted?")
    room = db.session.get(PanelRoom, cast.room.id, populate_existing=True)
    assert ack["seq"] == room.seq == before + 1
    stored = db.session.scalar(select(ClientAction.result).where(ClientAction.client_id == "one"))
    assert stored == ack
    refused(cast, cast.critics[0], "approve", question_id=ack["question_id"], version=1)
    assert db.session.get(PanelRoom, cast.room.id, populate_existing=True).seq == before + 1


def test_replayed_cid_changes_nothing(cast):
    first = apply("ask", cast.room.id, cast.critics[0], "same", {"text": "Once?"})
    again = apply("ask", cast.room.id, cast.critics[0], "same", {"text": "Once?"})
    assert again.replayed and again.ack == first.ack
    assert db.session.scalar(select(func.count(Question.id))) == 1


# --------------------------------------------------------------------------- states


def test_moderated_room_keeps_new_questions_pending(cast):
    qid = asked(cast)
    assert q(qid).state == "pending" and q(qid).approved_at is None
    mod(cast, "approve", qid)
    assert q(qid).state == "queued" and q(qid).approved_at == T0


def test_open_room_queues_at_once(cast):
    act(cast, cast.instructor, "settings", moderated=False)
    qid = asked(cast)
    assert q(qid).state == "queued" and q(qid).approved_at == T0


def test_full_state_machine(cast):
    qid = asked(cast)
    mod(cast, "approve", qid)
    mod(cast, "set_live", qid)
    assert q(qid).state == "live" and q(qid).live_at == T0
    mod(cast, "mark_answered", qid)
    assert q(qid).state == "answered" and q(qid).answered_at == T0
    mod(cast, "reopen", qid)
    assert q(qid).state == "queued" and q(qid).answered_at is None
    mod(cast, "dismiss", qid, reason="Duplicate of the first")
    assert q(qid).state == "dismissed" and q(qid).dismiss_reason == "Duplicate of the first"
    mod(cast, "reopen", qid)
    assert q(qid).state == "queued" and q(qid).dismiss_reason == ""


@pytest.mark.parametrize(
    "event, state",
    [("approve", "queued"), ("set_live", "pending"), ("mark_answered", "pending"),
     ("reopen", "queued"), ("pin", "pending"), ("merge", "answered")],
)
def test_actions_refused_in_the_wrong_state(cast, event, state):
    other = queued(cast, cast.critics[1], "Target")
    qid = asked(cast)
    if state != "pending":
        mod(cast, "approve", qid)
    if state == "answered":
        mod(cast, "mark_answered", qid)
    extra = {"into_id": other} if event == "merge" else {}
    error = refused(cast, cast.instructor, event, question_id=qid, version=q(qid).version, **extra)
    assert error.code == "invalid"


def test_stale_version_is_a_conflict_with_the_current_question(cast):
    qid = asked(cast)
    mod(cast, "edit", qid, text="Better wording?")
    error = refused(cast, cast.ta, "approve", question_id=qid, version=1)
    assert error.code == "conflict" and error.question.id == qid
    assert q(qid).state == "pending"


def test_set_live_keeps_one_live_question(cast):
    first, second = queued(cast, text="First?"), queued(cast, cast.critics[1], "Second?")
    mod(cast, "set_live", first)
    mod(cast, "set_live", second)
    assert q(first).state == "queued" and q(first).live_at is None
    assert q(second).state == "live"
    mod(cast, "mark_answered", second)
    third = queued(cast, cast.critics[2], "Third?")
    mod(cast, "set_live", third)
    assert q(second).state == "answered"  # an answered question is never demoted
    assert db.session.scalar(select(func.count(Question.id)).where(Question.state == "live")) == 1


def test_edit_keeps_the_original_and_audits_it(cast):
    qid = asked(cast, text="Why batch at all???")
    mod(cast, "edit", qid, text="Why batch at all?")
    mod(cast, "edit", qid, text="Why batch requests at all?")
    assert q(qid).text == "Why batch requests at all?"
    assert q(qid).original_text == "Why batch at all???"
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.kind == "panel_question_edited").order_by(AuditEvent.id)
    ).all()
    assert [e.detail["before"] for e in events] == ["Why batch at all???", "Why batch at all?"]
    assert events[0].subject_id == cast.critics[0].id and events[0].actor_id == cast.instructor.id


# --------------------------------------------------------------------------- votes and merge


def test_votes_toggle_and_are_counted_from_rows(cast):
    qid = queued(cast)
    voter = cast.critics[1]
    assert act(cast, voter, "vote", question_id=qid) ["voted"] is True
    assert act(cast, voter, "vote", question_id=qid, up=True)["votes"] == 1
    assert act(cast, cast.presenter, "vote", question_id=qid)["votes"] == 2
    assert act(cast, voter, "vote", question_id=qid)["voted"] is False
    assert state.vote_count(qid) == 1
    assert state.viewer_state(cast.room.id, cast.presenter.id).votes == [qid]


def test_no_votes_on_pending_or_answered(cast):
    pending = asked(cast, cast.critics[1])
    assert refused(cast, cast.instructor, "vote", question_id=pending).code == "invalid"
    assert refused(cast, cast.critics[0], "vote", question_id=pending).code == "not_found"
    answered = queued(cast)
    mod(cast, "mark_answered", answered)
    assert refused(cast, cast.critics[1], "vote", question_id=answered).code == "invalid"


def test_merge_moves_votes_and_drops_duplicates(cast):
    target = queued(cast, cast.critics[0], "How large are the batches?")
    duplicate = queued(cast, cast.critics[1], "What batch size?")
    for voter in (cast.critics[2], cast.presenter):
        act(cast, voter, "vote", question_id=duplicate)
    act(cast, cast.critics[2], "vote", question_id=target)  # voted for both
    mod(cast, "merge", duplicate, into_id=target)
    assert q(duplicate).state == "merged" and q(duplicate).merged_into_id == target
    assert state.vote_count(duplicate) == 0
    assert state.vote_count(target) == 2
    voters = db.session.scalars(select(Vote.user_id).where(Vote.question_id == target)).all()
    assert sorted(voters) == sorted([cast.critics[2].id, cast.presenter.id])


def test_merge_refuses_itself_and_closed_targets(cast):
    a, b = queued(cast), queued(cast, cast.critics[1], "Other?")
    assert refused(cast, cast.instructor, "merge", question_id=a, version=q(a).version, into_id=a).code == "invalid"
    mod(cast, "dismiss", b)
    assert refused(cast, cast.instructor, "merge", question_id=a, version=q(a).version, into_id=b).code == "invalid"


def test_queue_order_pins_votes_rank_fairness_time(cast, clock):
    c0, c1, c2 = cast.critics
    clock.to(T0 + timedelta(minutes=1))
    early = queued(cast, c0, "Early, by a critic already answered")
    clock.to(T0 + timedelta(minutes=2))
    late = queued(cast, c1, "Late, by a critic not yet answered")
    clock.to(T0 + timedelta(minutes=3))
    answered = queued(cast, c0, "Answered earlier")
    mod(cast, "mark_answered", answered)
    # fairness beats submission time: c1 has no answered question yet
    assert state.queue_order(cast.room.id) == [late, early]
    popular = queued(cast, c2, "Popular")
    act(cast, c0, "vote", question_id=popular)
    assert state.queue_order(cast.room.id) == [popular, late, early]
    mod(cast, "reorder", early, rank=1)
    mod(cast, "reorder", late, rank=2)
    assert state.queue_order(cast.room.id) == [popular, early, late]
    mod(cast, "pin", late)
    assert state.queue_order(cast.room.id) == [late, popular, early]
    mod(cast, "unpin", late)
    assert state.queue_order(cast.room.id) == [popular, early, late]


# --------------------------------------------------------------------------- authors and follow-ups


def test_authors_claim_and_answer(cast):
    qid = queued(cast)
    assert act(cast, cast.presenter, "claim", question_id=qid)["claimed"] is True
    assert q(qid).claimed_by_id == cast.presenter.id
    assert act(cast, cast.presenter, "claim", question_id=qid)["claimed"] is False
    act(cast, cast.summarizer, "answer", question_id=qid, outcome="conceded", text="Fair point.")
    question = q(qid)
    assert question.state == "answered" and question.outcome == "conceded"
    assert question.answer_text == "Fair point." and question.claimed_by_id == cast.summarizer.id
    assert question.answered_at == T0


def test_follow_up_rules(cast):
    qid = queued(cast, cast.critics[0])
    act(cast, cast.presenter, "answer", question_id=qid, outcome="rebutted")
    # not allowed until the moderator opens follow-ups
    assert refused(cast, cast.critics[0], "follow_up", question_id=qid, text="But?").code == "forbidden"
    act(cast, cast.instructor, "settings", follow_ups_allowed=True)
    # only the asker may follow up
    assert refused(cast, cast.critics[1], "follow_up", question_id=qid, text="But?").code == "forbidden"
    ack = act(cast, cast.critics[0], "follow_up", question_id=qid, text="But what about latency?")
    follow = q(ack["question_id"])
    assert follow.parent_id == qid and follow.state == "pending"  # moderated like any question
    # one per answered question
    assert refused(cast, cast.critics[0], "follow_up", question_id=qid, text="And?").code == "forbidden"
    # only on answered questions
    other = queued(cast, cast.critics[0], "Unanswered")
    assert refused(cast, cast.critics[0], "follow_up", question_id=other, text="?").code == "forbidden"


# --------------------------------------------------------------------------- phases, timers


def test_phase_sets_timer_from_the_presentation(cast, clock):
    cast.presentation.talk_minutes, cast.presentation.qa_minutes = 25, 10
    db.session.commit()
    act(cast, cast.instructor, "phase", phase="presenting")
    room = db.session.get(PanelRoom, cast.room.id, populate_existing=True)
    assert (room.phase, room.phase_started_at, room.phase_ends_at) == (
        "presenting", T0, T0 + timedelta(minutes=25))
    clock.to(T0 + timedelta(minutes=30))  # overran: extending counts from now
    act(cast, cast.instructor, "extend", minutes=5)
    room = db.session.get(PanelRoom, cast.room.id, populate_existing=True)
    assert room.phase_ends_at == T0 + timedelta(minutes=35)
    act(cast, cast.instructor, "phase", phase="panel")
    room = db.session.get(PanelRoom, cast.room.id, populate_existing=True)
    assert room.phase_ends_at == T0 + timedelta(minutes=40)
    act(cast, cast.instructor, "extend", minutes=3)
    room = db.session.get(PanelRoom, cast.room.id, populate_existing=True)
    assert room.phase_ends_at == T0 + timedelta(minutes=43)


# --------------------------------------------------------------------------- verdict, transcript, participation


def test_verdict_counts_one_changeable_vote_per_critic(cast):
    act(cast, cast.critics[0], "verdict", verdict="accept")
    act(cast, cast.critics[0], "verdict", verdict="reject")
    act(cast, cast.critics[1], "verdict", verdict="reject")
    act(cast, cast.critics[2], "verdict", verdict="revise")
    room = db.session.get(PanelRoom, cast.room.id)
    assert state.verdict_counts(room) == {"accept": 0, "revise": 1, "reject": 2}
    assert state.viewer_state(room.id, cast.critics[0].id).verdict == "reject"


def test_transcript_labels_askers_per_viewer(cast, clock):
    named = queued(cast, cast.critics[0], "Named question")
    anonymous = queued(cast, cast.critics[1], "Anonymous question", anonymous=True)
    unanswered = queued(cast, cast.critics[2], "Never answered")
    act(cast, cast.presenter, "answer", question_id=anonymous, outcome="deferred", text="Later.")
    clock.to(T0 + timedelta(minutes=2))
    mod(cast, "mark_answered", named)
    room = db.session.get(PanelRoom, cast.room.id)

    for_critic = reports.transcript(room, cast.critics[2])
    assert [t["id"] for t in for_critic] == [anonymous, named]
    assert [t["asker"] for t in for_critic] == [None, "Critic 1"]
    assert for_critic[0]["answer_text"] == "Later." and for_critic[0]["outcome"] == "deferred"
    assert for_critic[0]["answered_by"] == "Paula Presenter"
    assert for_critic[1]["answered_at"] == T0 + timedelta(minutes=2)
    assert unanswered not in [t["id"] for t in for_critic]
    assert [t["asker"] for t in reports.transcript(room, cast.instructor)] == ["Critic 2", "Critic 1"]
    assert reports.transcript(room, cast.critics[1])[0]["asker"] == "You"


def test_a_question_from_a_review_is_stored_and_shown_to_staff_only(cast):
    pushed = queued(cast, cast.critics[0], "From my review", from_review=True)
    typed = queued(cast, cast.critics[1], "Typed in the room")
    assert (q(pushed).from_review, q(typed).from_review) == (True, False)
    for qid in (pushed, typed):
        act(cast, cast.presenter, "answer", question_id=qid, outcome="rebutted")
    room = db.session.get(PanelRoom, cast.room.id)

    assert [t["from_review"] for t in reports.transcript(room, cast.instructor)] == [True, False]
    assert [t["from_review"] for t in reports.transcript(room, cast.ta)] == [True, False]
    for viewer in (cast.critics[0], cast.critics[2], cast.presenter):
        assert all("from_review" not in t for t in reports.transcript(room, viewer))
    for audience, shown in ((policy.ROOM_MODERATOR, True), (policy.ROOM_AUTHOR, False), (policy.ROOM_CRITIC, False)):
        view = payloads.question_for_audience(q(pushed), audience, 0)
        assert ("from_review" in view) is shown, audience
    assert payloads.question_for_audience(q(pushed), policy.ROOM_MODERATOR, 0)["from_review"] is True
    assert "from_review" not in payloads.question_for_asker(q(pushed), 0)


def test_claims_are_sent_with_the_claimer_id_to_authors_and_moderators_only(cast):
    qid = queued(cast)
    act(cast, cast.summarizer, "claim", question_id=qid)
    question = q(qid)
    assert payloads.question_for_audience(question, policy.ROOM_AUTHOR, 0)["claimed_by_id"] == cast.summarizer.id
    assert payloads.question_for_audience(question, policy.ROOM_MODERATOR, 0)["claimed_by_id"] == cast.summarizer.id
    assert "claimed_by_id" not in payloads.question_for_audience(question, policy.ROOM_CRITIC, 0)
    assert "claimed_by_id" not in payloads.question_for_asker(question, 0)


def test_participation_per_student(cast, make):
    c0, c1, c2 = cast.critics
    a = queued(cast, c0, "Answered one")
    b = queued(cast, c0, "Queued one")
    asked(cast, c0, "Still pending")
    d = asked(cast, c1, "Dismissed")
    mod(cast, "dismiss", d)
    act(cast, cast.presenter, "answer", question_id=a, outcome="rebutted")
    for voter in (c1, c2, cast.presenter):
        act(cast, voter, "vote", question_id=b)
    # another course's activity does not count
    other = PanelCast(cast.app, make, critics=1)
    other.set_room(phase="panel")
    apply("ask", other.room.id, other.critics[0], new_cid(), {"text": "Elsewhere"})

    rows = {r["name"]: r for r in reports.participation(cast.course)}
    assert set(rows) == {"Critic 1", "Critic 2", "Critic 3", "Paula Presenter", "Sam Summarizer"}
    assert {k: rows["Critic 1"][k] for k in ("asked", "approved", "answered", "votes_received", "votes_cast")} == {
        "asked": 3, "approved": 2, "answered": 1, "votes_received": 3, "votes_cast": 0}
    assert {k: rows["Critic 2"][k] for k in ("asked", "approved", "answered", "votes_received", "votes_cast")} == {
        "asked": 1, "approved": 0, "answered": 0, "votes_received": 0, "votes_cast": 1}
    assert rows["Paula Presenter"]["votes_cast"] == 1 and rows["Critic 3"]["asked"] == 0


def test_review_questions_lines(cast, make):
    review = make.review(cast.presentation, cast.critics[0])
    review.answers = {**review.answers, "questions": "1. First?\n- Second?\n\n   \n• Third?"}
    db.session.commit()
    room = db.session.get(PanelRoom, cast.room.id)
    assert state.review_questions(room, cast.critics[0]) == ["1. First?", "Second?", "Third?"]
    assert state.review_questions(room, cast.critics[1]) == []


# --------------------------------------------------------------------------- the panel rules in policy


@pytest.mark.parametrize(
    "phase, critic, author, moderator",
    [("scheduled", False, False, False), ("presenting", False, False, False),
     ("panel", True, False, False), ("closed", True, False, False)],
)
def test_policy_verdict_is_for_critics_once_the_panel_begins(cast, phase, critic, author, moderator):
    room = cast.set_room(phase=phase)
    assert policy.can_cast_verdict(cast.critics[0], room) is critic
    assert policy.can_cast_verdict(cast.presenter, room) is author
    assert policy.can_cast_verdict(cast.instructor, room) is moderator


def test_policy_audience_views(cast):
    anonymous = q(queued(cast, cast.critics[0], "Anon?", anonymous=True))
    pending = q(asked(cast, cast.critics[1], "Pending?"))
    for audience, sees_pending, label in [("moderator", True, "Critic 1"), ("author", False, None),
                                          ("critic", False, None)]:
        assert policy.audience_sees_question(audience, anonymous) is True
        assert policy.audience_sees_question(audience, pending) is sees_pending
        assert policy.audience_asker_label(audience, anonymous) == label
        assert policy.audience_asker_label(audience, pending) == "Critic 2"
    # one viewer with a known role: their own pending question, nobody else's
    assert policy.role_sees_question(cast.critics[1], "critic", pending) is True
    assert policy.role_sees_question(cast.critics[0], "critic", pending) is False
    assert policy.role_sees_question(cast.ta, "moderator", pending) is True
    room = db.session.get(PanelRoom, cast.room.id)
    assert policy.audience_sees_verdict("moderator", room) and not policy.audience_sees_verdict("critic", room)
    room = cast.set_room(phase="closed")
    assert policy.audience_sees_verdict("critic", room) and policy.audience_sees_verdict("author", room)


def test_settings_needs_something_to_change(cast):
    assert refused(cast, cast.instructor, "settings").code == "invalid"

"""The course home: what needs staff now, what is due next for a student, and that a student's
home shows nothing of classmates' reviews (domain functions take the viewer and ``now``; the
page tests move the clock)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from core.extensions import db
from domain import course_home
from domain.panel import commands
from domain.project import talks
from models import (
    PAPER_PROPOSED,
    ROLE_INSTRUCTOR,
    ROLE_TA,
    TOPIC_PENDING,
    Milestone,
    MilestoneSubmission,
    Paper,
    Phase,
    Review,
)
from test_feedback_policy import make_group
from tests.support.factories import T0
from tests.support.leaks import normalise

COPIED = (
    "The paper batches requests at the granularity of iterations, which keeps the accelerator busy while "
    "short requests leave early; the evaluation against static batching is convincing but omits tail latency."
)


def _own_words(author, presentation) -> str:
    """A review text no other review shares five words in a row with."""
    return " ".join(f"w{author.id}p{presentation.id}n{i}" for i in range(40))


def _live(presentation, phase=Phase.PANEL):
    room = commands.room_for(presentation)
    room.phase = phase
    db.session.commit()
    return room


def _staff_world(make, course):
    """A course with something in every list staff must see, and a counterpart that must not show."""
    instructor = make.member(course, ROLE_INSTRUCTOR, "Ida Instructor")
    critics = [make.member(course, name=f"Critic {i}") for i in range(4)]
    proposer = make.member(course, name="Pat Proposer")
    presenter, summarizer = make.member(course, name="Pia Presenter"), make.member(course, name="Sue Summary")
    db.session.add(Paper(course=course, title="A Proposed Paper", status=PAPER_PROPOSED, proposed_by_id=proposer.id))
    db.session.add(Paper(course=course, title="An Approved Paper"))
    past = make.session(course, starts_at=T0 - timedelta(days=3))
    old = make.presentation(course, session=past, review_deadline=T0 - timedelta(days=4),
                            paper=make.paper(course, title="Old Paper Without Summary Group"))
    for critic in critics[:2]:
        make.review(old, critic, submitted_at=T0 - timedelta(days=5), text=COPIED)
    nxt = make.session(course, starts_at=T0 + timedelta(days=2))
    soon = make.presentation(course, session=nxt, review_deadline=T0 - timedelta(hours=2),
                             presenters=[presenter], paper=make.paper(course, title="Soon Paper"))
    make.review(soon, critics[0], submitted_at=T0 - timedelta(hours=3), text=_own_words(critics[0], soon))
    make.review(soon, critics[1], submitted_at=T0 - timedelta(hours=1), late=True, text=_own_words(critics[1], soon))
    make.review(soon, critics[2])  # a draft: still missing to staff (V1)
    covered = make.presentation(course, session=nxt, review_deadline=T0 - timedelta(hours=2),
                                summarizers=[summarizer], paper=make.paper(course, title="Covered Paper"))
    for critic in critics + [proposer, presenter]:
        make.review(covered, critic, submitted_at=T0 - timedelta(hours=3), text=_own_words(critic, covered))
    _live(soon)
    proposal = Milestone(course_id=course.id, kind="proposal", title="Proposal", deadline=T0 + timedelta(days=9))
    group = make_group(course, [proposer], name="Group Heron")
    group.topic_status = TOPIC_PENDING
    db.session.add(proposal)
    db.session.flush()
    db.session.add(MilestoneSubmission(milestone_id=proposal.id, group_id=group.id, version=1, title="Heron topic"))
    db.session.commit()
    return instructor, old, soon, covered


def test_staff_see_what_needs_them_now(app, make, course):
    instructor, old, soon, covered = _staff_world(make, course)
    home = course_home.staff_home(instructor, course, T0)
    assert [p.title for p in home.paper_proposals] == ["A Proposed Paper"]
    assert [(g.name, s.title) for g, s in home.topic_proposals] == [("Group Heron", "Heron topic")]
    # Upcoming presentations only: the past one no longer needs a summary group.
    assert [p.id for p in home.without_summary_group] == [soon.id]
    assert home.next_session.id == soon.session_id
    gaps = {g.presentation.id: g for g in home.review_gaps}
    assert set(gaps) == {soon.id}, "every critic reviewed the covered paper on time"
    gap = gaps[soon.id]
    # Critics of "Soon Paper": everyone but its presenter; one on time, one late, the rest (a draft too) missing.
    assert (gap.critics, gap.late, gap.missing, gap.deadline_passed) == (6, 1, 4, True)
    assert [(f.presentation.id, f.flags) for f in home.flagged] == [(old.id, 1)]
    assert [(r.presentation.id, r.role) for r in home.live] == [(soon.id, "moderator")]
    assert not home.nothing_needed


def test_a_ta_does_not_decide_project_proposals_and_a_student_gets_no_staff_home(app, make, course):
    _staff_world(make, course)
    ta = make.member(course, ROLE_TA, "Tom TA")
    home = course_home.staff_home(ta, course, T0)
    assert home.topic_proposals == [] and home.paper_proposals
    student = make.member(course, name="Stu Dent")
    assert course_home.staff_home(student, course, T0) == course_home.StaffHome()
    assert course_home.StaffHome().nothing_needed


def test_a_student_sees_their_own_deadlines_soonest_first(app, make, course):
    me = make.member(course, name="Mia Me")
    partner = make.member(course, name="Pete Partner")
    presenter = make.member(course, name="Pia Presenter")
    first = make.presentation(course, review_deadline=T0 + timedelta(days=3), paper=make.paper(course, title="Third Deadline"))
    extended = make.presentation(course, review_deadline=T0 - timedelta(days=1), paper=make.paper(course, title="Extended"))
    make.extension(extended, me, T0 + timedelta(hours=5))
    summary = make.presentation(course, review_deadline=T0 + timedelta(days=6), summarizers=[me],
                                presenters=[presenter], paper=make.paper(course, title="My Summary Paper"))
    summary.summary_deadline = T0 + timedelta(days=1)
    done = make.presentation(course, paper=make.paper(course, title="Already Reviewed"))
    make.review(done, me, submitted_at=T0 - timedelta(hours=1))
    db.session.add(Milestone(course_id=course.id, kind="checkpoint", title="Checkpoint", deadline=T0 + timedelta(days=2)))
    db.session.commit()
    session = make.session(course, starts_at=T0 - timedelta(hours=1))
    group = make_group(course, [presenter, partner], name="Group Okapi")
    talk = talks.add_talk(course, group, session, "checkpoint", None)
    db.session.commit()

    home = course_home.student_home(me, course, T0)
    # The talk's feedback window opened with its session and closes two days after it ends.
    assert T0 + timedelta(days=2) < talk.feedback_closes_at < T0 + timedelta(days=3)
    assert [(item.kind, item.title) for item in home.due] == [
        ("review", "Extended"),  # the personal deadline, not the passed one
        ("summary", "My Summary Paper"),
        ("milestone", "Checkpoint"),
        ("feedback", "Checkpoint talk: Group Okapi"),
        ("review", "Third Deadline"),
    ]
    assert home.due[0].deadline == T0 + timedelta(hours=5)
    assert first.id == home.due[-1].subject.id
    assert [(m.presentation.id, m.kind, m.needs_summary) for m in home.mine] == [(summary.id, "summary", True)]
    # The presenter gives no feedback on their own talk and writes no review of their paper.
    theirs = course_home.student_home(presenter, course, T0)
    assert "feedback" not in {i.kind for i in theirs.due}
    assert summary.id not in {i.subject.id for i in theirs.due if i.kind == "review"}
    assert [(m.kind, m.needs_slides) for m in theirs.mine] == [("presenting", True)]
    # Staff have no student home.
    assert course_home.student_home(make.member(course, ROLE_INSTRUCTOR), course, T0) == course_home.StudentHome()


def test_the_live_room_is_one_click_from_a_students_home(app, make, course, login_as, clock):
    me, author = make.member(course, name="Mia Me"), make.member(course, name="Abe Author")
    live = make.presentation(course, presenters=[author], paper=make.paper(course, title="Live Paper"))
    idle = make.presentation(course, paper=make.paper(course, title="Idle Paper"))
    _live(live, Phase.PRESENTING)
    commands.room_for(idle)
    db.session.commit()
    assert [(r.presentation.id, r.role) for r in course_home.live_rooms(me, course)] == [(live.id, "critic")]
    assert [r.role for r in course_home.live_rooms(author, course)] == ["author"]
    page = login_as(me).get(f"/courses/{course.id}").get_data(as_text=True)
    section = page.split('id="live-heading"', 1)[1].split("</section>", 1)[0]
    assert f'href="/courses/{course.id}/presentations/{live.id}/panel"' in section
    assert "Idle Paper" not in section and "Join the live room" in section


def test_staff_home_page_links_each_item_to_where_it_is_handled(app, make, course, login_as, clock):
    instructor, old, soon, covered = _staff_world(make, course)
    page = login_as(instructor).get(f"/courses/{course.id}").get_data(as_text=True)
    needs = page.split('id="needs-heading"', 1)[1].split('id="sessions-heading"', 1)[0]
    assert "A Proposed Paper" in needs and "/papers/" in needs and "/decide" in needs
    assert f"/courses/{course.id}/project/proposals" in needs
    assert f"/courses/{course.id}/integrity/presentations/{soon.id}" in needs
    assert "4 of 6 missing" in needs and "1 late" in needs
    assert f"/courses/{course.id}/presentations/{soon.id}/edit" in needs
    assert f"/courses/{course.id}/integrity/presentations/{old.id}" in needs and "1 flagged" in needs
    sessions = page.split('id="sessions-heading"', 1)[1].split("</section>", 1)[0]
    assert f'/courses/{course.id}/schedule#session-{soon.session_id}' in sessions
    assert f'/courses/{course.id}/presentations/{covered.id}"' in sessions
    # Settings is in the navigation for the instructor, not for a TA (who may not open it).
    nav = page.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    assert f'/courses/{course.id}/settings">Settings<' in nav
    ta_page = login_as(make.member(course, ROLE_TA)).get(f"/courses/{course.id}").get_data(as_text=True)
    assert f"/courses/{course.id}/settings" not in ta_page


def test_a_students_home_shows_nothing_of_classmates_reviews(app, make, course, login_as, clock):
    """Differential: the student's home is byte-identical with and without every classmate's
    review (drafts, on time, late, copied ones the similarity check flags), before and after the
    release, and carries no staff list."""
    _instructor, old, soon, covered = _staff_world(make, course)
    me = make.member(course, name="Mia Me")
    mine = make.review(covered, me, submitted_at=T0 - timedelta(hours=4), text=_own_words(me, covered))
    client = login_as(me)
    pages = {}
    for moment in (T0, T0 + timedelta(days=5)):
        clock.to(moment)
        pages[moment] = normalise(client.get(f"/courses/{course.id}").get_data())
    text = pages[T0].decode()
    for staff_only in ("Needs you now", "A Proposed Paper", "Heron topic", "flagged", "missing", course.join_code):
        assert staff_only not in text
    db.session.execute(delete(Review).where(Review.author_id != me.id))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Review, mine.id) is not None
    for moment, before in pages.items():
        clock.to(moment)
        assert normalise(client.get(f"/courses/{course.id}").get_data()) == before, moment

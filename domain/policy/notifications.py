"""What a notification may say to its recipient, decided when it is shown or sent (SPEC §7).

A notification row holds only the event's ids; its text is built here, at the moment it is
dispatched, e-mailed or listed, from what the page it links to would show the recipient then.
``notice_for`` answers ``None`` when there is nothing the recipient may be told any more (a
reminder to someone who has since submitted, a deadline that moved, a release they cannot yet
read): such a notice is cancelled, never sent. No text names a reviewer or a feedback writer,
counts classmates' work, or shows a grade that is not posted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Optional

from sqlalchemy import select

from core.extensions import db
from core.timeutil import format_local, iso
from domain.policy.feedback import (
    is_feedback_open,
    is_feedback_released,
    is_presenting,
    must_give_feedback,
    own_feedback,
)
from domain.policy.grades import can_view_grade
from domain.policy.membership import is_member, is_staff
from domain.policy.project import group_deadline, group_of, in_group, milestone_window
from domain.policy.reviews import (
    can_read_others,
    extension_for,
    is_released,
    must_review,
    own_review,
    personal_deadline,
    submission_window,
)
from domain.policy.schedule import is_summary_writer
from models import (
    MEMBER_PRESENTING,
    Announcement,
    Course,
    Grade,
    GradeItem,
    Milestone,
    MilestoneSubmission,
    Notification,
    PanelRoom,
    Phase,
    Presentation,
    ProjectGroup,
    ProjectTalk,
    ProposalDecision,
)


@dataclass(frozen=True)
class Notice:
    """A notification as its recipient may read it now: what to say and where it links."""

    kind: str
    title: str
    lines: tuple[str, ...]
    endpoint: str
    values: dict[str, Any] = field(default_factory=dict)
    course_title: str = ""
    zone: str = ""


def _deadline(dt: datetime, course: Course) -> str:
    """A deadline with the course's zone named, as every notice writes it."""
    return f"{format_local(dt, course.timezone)} ({course.timezone})"


def _course_label(course: Course) -> str:
    return f"{course.code} {course.title}".strip()


def _notice(n: Notification, course: Course, title: str, lines, endpoint: str, **values) -> Notice:
    return Notice(n.kind, title, tuple(lines), endpoint, values, _course_label(course), course.timezone)


def _presentation(n: Notification) -> Optional[Presentation]:
    return db.session.get(Presentation, n.subject_id)


def _paper_title(p: Presentation) -> str:
    return f"“{p.paper.title}”"


# --------------------------------------------------------------------------- one function per type


def review_due(user, n: Notification, now: datetime) -> Optional[Notice]:
    """A critic who has not submitted, whose own deadline is still the one the reminder was for."""
    p = _presentation(n)
    if p is None or not must_review(user, p):
        return None
    mine = own_review(user, p)
    if mine is not None and mine.is_submitted:
        return None
    deadline = personal_deadline(user.id, p)
    if iso(deadline) != n.params.get("deadline") or submission_window(user.id, p, now) != "open":
        return None
    return _notice(n, p.course, f"Your review of {_paper_title(p)} is due soon",
                   [f"Your review of {_paper_title(p)} is due {_deadline(deadline, p.course)}.",
                    "You have not submitted it yet."],
                   "reviews.write", course_id=p.course_id, presentation_id=p.id)


def reviews_released(user, n: Notification, now: datetime) -> Optional[Notice]:
    """A student who may now read the released reviews (V3–V6); staff see them anyway."""
    p = _presentation(n)
    if p is None or is_staff(user, p.course_id) or not is_released(p, now) or not can_read_others(user, p, now):
        return None
    return _notice(n, p.course, f"Reviews of {_paper_title(p)} are released",
                   [f"The reviews of {_paper_title(p)} are released and you can read them now."],
                   "reviews.presentation_reviews", course_id=p.course_id, presentation_id=p.id)


def extension_granted(user, n: Notification, now: datetime) -> Optional[Notice]:
    """The student whose extension still stands, with its current deadline."""
    p = _presentation(n)
    extension = extension_for(user.id, p) if p is not None else None
    if extension is None:
        return None
    return _notice(n, p.course, f"Extension for your review of {_paper_title(p)}",
                   [f"Your review of {_paper_title(p)} is now due {_deadline(extension.deadline, p.course)}."],
                   "reviews.write", course_id=p.course_id, presentation_id=p.id)


def extension_revoked(user, n: Notification, now: datetime) -> Optional[Notice]:
    """The student whose extension was taken back and not granted again."""
    p = _presentation(n)
    if p is None or extension_for(user.id, p) is not None or not must_review(user, p):
        return None
    return _notice(n, p.course, f"Extension withdrawn: review of {_paper_title(p)}",
                   [f"Your extension was withdrawn; your review of {_paper_title(p)} is due "
                    f"{_deadline(p.review_deadline, p.course)}."],
                   "reviews.write", course_id=p.course_id, presentation_id=p.id)


_DECISION_WORDS = {"approved": "was approved", "revise": "was sent back for revision", "rejected": "was rejected"}


def proposal_decided(user, n: Notification, now: datetime) -> Optional[Notice]:
    """A member of the group (at sending time) hears the decision, not who else was decided on."""
    group = db.session.get(ProjectGroup, n.subject_id)
    decision = db.session.get(ProposalDecision, int(n.dedupe_key or 0))
    if group is None or decision is None or decision.group_id != group.id or not in_group(user, group):
        return None
    words = _DECISION_WORDS.get(decision.decision, "was decided")
    return _notice(n, group.course, f"Your project proposal {words}",
                   [f"Your group's project proposal {words}. The instructor's comment is on the project page."],
                   "project.home", course_id=group.course_id)


def milestone_due(user, n: Notification, now: datetime) -> Optional[Notice]:
    """A member of a group that has not submitted the milestone, at its group's deadline."""
    milestone = db.session.get(Milestone, n.subject_id)
    group = group_of(user, milestone.course_id) if milestone is not None else None
    if group is None or milestone_window(milestone, group, now) != "open":
        return None
    deadline = group_deadline(milestone, group)
    submitted = db.session.scalar(
        select(MilestoneSubmission.id).where(
            MilestoneSubmission.milestone_id == milestone.id, MilestoneSubmission.group_id == group.id
        ).limit(1)
    )
    if submitted is not None or iso(deadline) != n.params.get("deadline"):
        return None
    return _notice(n, milestone.course, f"{milestone.title} is due soon",
                   [f"Your group's {milestone.title} is due {_deadline(deadline, milestone.course)}.",
                    "Your group has not submitted it yet."],
                   "project.submit", course_id=milestone.course_id, kind=milestone.kind)


def _talk_course(talk: ProjectTalk) -> Course:
    return talk.group.course


def feedback_due(user, n: Notification, now: datetime) -> Optional[Notice]:
    """A student who owes feedback on the talk while its window is open."""
    talk = db.session.get(ProjectTalk, n.subject_id)
    if talk is None or not must_give_feedback(user, talk) or not is_feedback_open(talk, now):
        return None
    mine = own_feedback(user, talk)
    if (mine is not None and mine.is_submitted) or iso(talk.feedback_closes_at) != n.params.get("deadline"):
        return None
    course = _talk_course(talk)
    return _notice(n, course, f"Feedback on {talk.group.name}'s talk closes soon",
                   [f"The feedback window on {talk.group.name}'s {talk.kind} talk closes "
                    f"{_deadline(talk.feedback_closes_at, course)}.", "You have not submitted yours yet."],
                   "project.feedback_write", course_id=course.id, talk_id=talk.id)


def feedback_released(user, n: Notification, now: datetime) -> Optional[Notice]:
    """The presenting group, once the window has closed; never who wrote what, nor how many."""
    talk = db.session.get(ProjectTalk, n.subject_id)
    if talk is None or not is_presenting(user, talk) or not is_feedback_released(talk, now):
        return None
    course = _talk_course(talk)
    return _notice(n, course, f"Feedback on your {talk.kind} talk is released",
                   [f"Your classmates' feedback on your group's {talk.kind} talk is released."],
                   "project.talk_feedback", course_id=course.id, talk_id=talk.id)


def grades_posted(user, n: Notification, now: datetime) -> Optional[Notice]:
    """The student with a grade on the item, once it is posted (G1); the grade itself stays on the page."""
    item = db.session.get(GradeItem, n.subject_id)
    if item is None or is_staff(user, item.course_id) or not can_view_grade(user, item, user.id, now):
        return None
    graded = db.session.scalar(select(Grade.id).where(Grade.item_id == item.id, Grade.student_id == user.id))
    if graded is None:
        return None
    course = db.session.get(Course, item.course_id)
    return _notice(n, course, f"Grade posted: {item.title}",
                   [f"Your grade for {item.title} is posted."], "gradebook.mine", course_id=course.id)


def summary_due(user, n: Notification, now: datetime) -> Optional[Notice]:
    """A member of the summary group while the summary is not submitted and its deadline stands."""
    p = _presentation(n)
    if p is None or not is_summary_writer(user, p) or p.summary_submitted_at is not None or p.summary_deadline is None:
        return None
    if iso(p.summary_deadline) != n.params.get("deadline") or now > p.summary_deadline:
        return None
    return _notice(n, p.course, f"Summary of {_paper_title(p)} is due soon",
                   [f"Your group's summary of {_paper_title(p)} is due {_deadline(p.summary_deadline, p.course)}."],
                   "schedule.presentation", course_id=p.course_id, presentation_id=p.id)


def room_opened(user, n: Notification, now: datetime) -> Optional[Notice]:
    """A member of the course while the room is still open."""
    room = db.session.get(PanelRoom, n.subject_id)
    if room is None or room.phase in (Phase.SCHEDULED, Phase.CLOSED):
        return None
    p = room.presentation
    if not is_member(user, p.course_id):
        return None
    return _notice(n, p.course, f"The panel room for {_paper_title(p)} is open",
                   [f"The live panel room for {_paper_title(p)} is open."],
                   "panel.participant", course_id=p.course_id, presentation_id=p.id)


def presentation_moved(user, n: Notification, now: datetime) -> Optional[Notice]:
    """A member of the presentation's groups, told where it is now."""
    p = _presentation(n)
    if p is None or user.id not in p.member_ids():
        return None
    role = "present" if user.id in p.member_ids(MEMBER_PRESENTING) else "write the summary of"
    return _notice(n, p.course, f"Your presentation of {_paper_title(p)} has moved",
                   [f"You {role} {_paper_title(p)} on {_deadline(p.session.starts_at, p.course)}, slot {p.slot}.",
                    f"Reviews of it are due {_deadline(p.review_deadline, p.course)}."],
                   "schedule.presentation", course_id=p.course_id, presentation_id=p.id)


def announcement(user, n: Notification, now: datetime) -> Optional[Notice]:
    """A member of the course the announcement was made to."""
    item = db.session.get(Announcement, n.subject_id)
    if item is None or not is_member(user, item.course_id):
        return None
    course = db.session.get(Course, item.course_id)
    lines = [line for line in (item.body or "").splitlines()] or [item.title]
    return _notice(n, course, item.title, lines, "courses.home", course_id=course.id)


RENDERERS: dict[str, Callable[[Any, Notification, datetime], Optional[Notice]]] = {
    "review_due": review_due,
    "reviews_released": reviews_released,
    "extension_granted": extension_granted,
    "extension_revoked": extension_revoked,
    "proposal_decided": proposal_decided,
    "milestone_due": milestone_due,
    "feedback_due": feedback_due,
    "feedback_released": feedback_released,
    "grades_posted": grades_posted,
    "summary_due": summary_due,
    "room_opened": room_opened,
    "presentation_moved": presentation_moved,
    "announcement": announcement,
}


def notice_for(user, notification: Notification, now: datetime) -> Optional[Notice]:
    """What this notification may tell its own recipient at ``now``, or None (nothing to say)."""
    if user is None or user.id != notification.user_id:
        return None
    render = RENDERERS.get(notification.kind)
    return render(user, notification, now) if render is not None else None

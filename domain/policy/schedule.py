"""Papers, sign-up, slides, summaries and the calendar feed (SPEC §2)."""
from __future__ import annotations

from datetime import datetime

from domain.policy.membership import _user_id, is_member, is_staff, is_student
from models import MEMBER_SUMMARY, Presentation

# --------------------------------------------------------------------------- papers and sign-up


def can_propose_paper(user, course_id: int) -> bool:
    """Students propose papers for approval; staff add papers to the list directly."""
    return is_student(user, course_id)


def can_decide_proposals(user, course_id: int) -> bool:
    """Staff see every pending proposal and approve or reject it; a student sees only their own."""
    return is_staff(user, course_id)


def can_sign_up(user, course_id: int) -> bool:
    """Students claim a paper and a slot themselves; staff place people through the schedule."""
    return is_student(user, course_id)


# --------------------------------------------------------------------------- slides and summary


def can_edit_slides(user, presentation: Presentation) -> bool:
    """The presenting group attaches slides; staff may fix them."""
    uid = _user_id(user)
    return uid is not None and (
        uid in presentation.member_ids("presenting") or is_staff(user, presentation.course_id)
    )


def is_summary_writer(user, presentation: Presentation) -> bool:
    """Member of the presentation's summary-writing group (whether or not its deadline passed)."""
    uid = _user_id(user)
    return uid is not None and uid in presentation.member_ids(MEMBER_SUMMARY)


def is_summary_open(presentation: Presentation, now: datetime) -> bool:
    """A summary is accepted at or before its deadline; without a deadline it stays open."""
    return presentation.summary_deadline is None or now <= presentation.summary_deadline


def can_write_summary(user, presentation: Presentation, now: datetime) -> bool:
    """The summary-writing group submits or updates the summary until its deadline."""
    return is_summary_writer(user, presentation) and is_summary_open(presentation, now)


def can_view_summary(user, presentation: Presentation) -> bool:
    """The class reads a presentation's summary once it has been submitted."""
    return presentation.summary_submitted_at is not None and is_member(user, presentation.course_id)

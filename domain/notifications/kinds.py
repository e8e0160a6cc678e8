"""The notification types: what each is called, who gets it, and what it concerns."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One notification type as the preferences page and the staff log name it."""

    key: str
    label: str
    recipients: str
    subject_type: str


KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind("review_due", "Review deadline approaching", "critics who have not submitted (48 h and 2 h before their own deadline)", "presentation"),
        Kind("reviews_released", "Reviews released", "students who may now read them, and the authors", "presentation"),
        Kind("extension_granted", "Extension granted", "the student", "presentation"),
        Kind("extension_revoked", "Extension withdrawn", "the student", "presentation"),
        Kind("proposal_decided", "Project proposal decided", "the group", "group"),
        Kind("milestone_due", "Project milestone approaching", "groups that have not submitted", "milestone"),
        Kind("feedback_due", "Feedback window closing", "students who still owe feedback", "talk"),
        Kind("feedback_released", "Feedback released", "the presenting group", "talk"),
        Kind("grades_posted", "Grades posted", "the student", "grade_item"),
        Kind("summary_due", "Summary due", "the summary group", "presentation"),
        Kind("room_opened", "Panel room opened", "the class", "panel_room"),
        Kind("presentation_moved", "Your presentation moved", "its presenting and summary groups", "presentation"),
        Kind("announcement", "Announcements", "the class", "announcement"),
    )
}

# Reminder windows before a deadline, largest first: only the latest window that has begun is sent.
REMINDER_WINDOWS = (("48h", 48), ("2h", 2))

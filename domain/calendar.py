"""Each user's personal iCalendar feed (SPEC §2.5): the sessions of their courses and their own
review and summary deadlines, never review data. The feed is found by a secret token in its
address; replacing the token stops the old address."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Optional

from icalendar import Calendar, Event
from sqlalchemy import select

from core.extensions import db
from domain import policy
from domain.project.talks import calendar_events as project_calendar_events
from domain.schedule import course_sessions, member_names
from models import MEMBER_PRESENTING, ClassSession, Course, Presentation, User, new_token


@dataclass(frozen=True)
class Links:
    """How events point back at the site: the host for event ids, and absolute addresses of a
    course's schedule (by course id) and of a presentation (by course and presentation id)."""

    host: str
    schedule_url: Callable[[int], str]
    presentation_url: Callable[[int, int], str]

    def uid(self, key: str) -> str:
        """A globally unique event id: the object's key at this server's host name."""
        return f"{key}@{self.host}"


def user_by_token(token: str) -> Optional[User]:
    """The owner of a feed address, or None."""
    return db.session.scalar(select(User).where(User.calendar_token == token))


def replace_token(user: User) -> str:
    """Give the user a new feed address; calendars subscribed to the old one stop updating."""
    user.calendar_token = new_token()
    db.session.flush()
    return user.calendar_token


def build_calendar(user: User, now: datetime, links: Links) -> bytes:
    """Every session of the user's courses, and their review and summary deadlines."""
    cal = Calendar()
    cal.add("prodid", "-//Colloquy//Seminar calendar//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Colloquy")
    for enrollment in user.enrollments:
        course = enrollment.course
        for session in course_sessions(course):
            cal.add_component(_session_event(course, session, now, links))
            for presentation in session.presentations:
                for event in _deadline_events(user, course, presentation, now, links):
                    cal.add_component(event)
        for event in project_calendar_events(user, course, now, links.uid, links.schedule_url(course.id)):
            cal.add_component(event)
    return cal.to_ical()


def _session_event(course: Course, session: ClassSession, stamp: datetime, links: Links) -> Event:
    lines = [
        f"Slot {p.slot}: {p.paper.title} — presenting: {member_names(p, MEMBER_PRESENTING)}"
        for p in session.presentations
    ]
    event = Event()
    event.add("uid", links.uid(f"session-{session.id}"))
    event.add("dtstamp", stamp)
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.starts_at + timedelta(minutes=session.duration_minutes))
    event.add("summary", f"{course.code}: {session.title or 'Class session'}")
    event.add("location", session.room)
    event.add("description", "\n".join(lines) or "No presentations scheduled yet.")
    event.add("url", links.schedule_url(course.id))
    return event


def _deadline_events(user: User, course: Course, presentation: Presentation, stamp: datetime, links: Links) -> list[Event]:
    """The user's own deadlines on this presentation: their review, their group's summary."""
    events = []
    title = presentation.paper.title
    if policy.must_review(user, presentation):
        due = policy.personal_deadline(user.id, presentation)
        events.append(
            _deadline_event(f"review-{presentation.id}", f"{course.code}: review due — {title}", due, presentation, stamp, links)
        )
    if presentation.summary_deadline and policy.is_summary_writer(user, presentation):
        events.append(
            _deadline_event(
                f"summary-{presentation.id}",
                f"{course.code}: summary due — {title}",
                presentation.summary_deadline,
                presentation,
                stamp,
                links,
            )
        )
    return events


def _deadline_event(
    key: str, summary_text: str, due: datetime, presentation: Presentation, stamp: datetime, links: Links
) -> Event:
    event = Event()
    event.add("uid", links.uid(key))
    event.add("dtstamp", stamp)
    event.add("dtstart", due)
    event.add("summary", summary_text)
    event.add("url", links.presentation_url(presentation.course_id, presentation.id))
    return event

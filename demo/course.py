"""The demo course: the model-serving seminar (``demo.data``), loaded on an empty database.

Everything goes through the operations a user's click runs, each told the moment it happens:
the instructor creates the course and sets it up, students join with the code and sign up for
slots, staff place the summary writers, critics save drafts, submit (one late, as the course
accepts) and edit, the instructor grades two reviews and grants an extension. Times are placed
relative to the moment of loading in the course's time zone: one session a few days ago whose
reviews are released (with a late review, a missing one and a near-copy pair for the
similarity check), one session in three days whose review deadline is still open, and later
sessions with free slots for sign-up.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import click
from sqlalchemy import select

from core.extensions import db
from core.passwords import hash_password
from core.timeutil import local, local_to_utc, now_utc
from demo.data import (
    CLASS_MINUTES,
    CLASS_ROOM,
    CLASS_STARTS,
    COURSE_CODE,
    COURSE_TITLE,
    COURSE_ZONE,
    DEMO_PASSWORD,
    EXTENSION,
    FEEDBACK,
    INSTRUCTOR,
    LATER,
    OPEN,
    OPEN_DRAFTS,
    OPEN_SUBMITTED,
    PANEL_QUESTIONS,
    PANEL_VERDICTS,
    PAPERS,
    PROPOSAL,
    RELEASED,
    RELEASED_EDIT,
    RELEASED_REVIEWS,
    RELEASED_SUMMARY,
    SESSIONS,
    SETTINGS,
    SIGNUP_DAYS_AGO,
    STUDENT_NAMES,
    TA,
    PaperData,
    ReviewData,
    Slot,
)
from demo.feedback import load_feedback
from demo.gradebook import load_gradebook
from demo.notifications import load_notifications
from demo.project import load_project
from domain import courses, papers, reviewing, roster, schedule, signup, slides
from domain.review_form import review_form_fields
from models import (
    Phase,
    QuestionState,
    ROLE_TA,
    ClassSession,
    Course,
    PanelRoom,
    Paper,
    Presentation,
    Question,
    Review,
    User,
    VerdictVote,
    new_token,
)

__all__ = [
    "DEMO_PASSWORD", "EXTENSION", "INSTRUCTOR", "OPEN", "OPEN_DRAFTS", "OPEN_SUBMITTED", "PAPERS",
    "RELEASED", "RELEASED_REVIEWS", "STUDENT_NAMES", "DemoAlreadyLoaded", "load_demo", "login_emails",
    "logins_text", "student_email",
]


# --------------------------------------------------------------------------- logins


class DemoAlreadyLoaded(click.ClickException):
    """The demo course (or one of its accounts) is already in the database."""


def student_email(number: int) -> str:
    """The demo student's e-mail address: student01@colloquy.test …"""
    return f"student{number:02d}@colloquy.test"


def login_emails() -> list[str]:
    """The demo accounts' e-mail addresses."""
    return [INSTRUCTOR[0], TA[0]] + [student_email(n) for n in range(1, len(STUDENT_NAMES) + 1)]


def logins_text() -> str:
    """The demo logins, as shown when ``make run`` starts the server."""
    rows = [("instructor", *INSTRUCTOR), ("TA", *TA)]
    rows += [("student", student_email(n), name) for n, name in enumerate(STUDENT_NAMES, 1)]
    lines = [f"Demo logins for {COURSE_CODE} {COURSE_TITLE} (password for every account: {DEMO_PASSWORD})"]
    lines += [f"  {role:<11} {email:<26} {name}" for role, email, name in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------- loading


def load_demo() -> Course:
    """Create the demo course and its data; refuses when the demo is already loaded."""
    _refuse_if_loaded()
    now = now_utc()
    people = _accounts()
    course = _course(people, now)
    _papers(course, people)
    sessions = _sessions(course, now)
    signed_up = now - timedelta(days=SIGNUP_DAYS_AGO)
    released = _presentation(course, sessions, people, RELEASED, signed_up)
    upcoming = _presentation(course, sessions, people, OPEN, signed_up)
    for slot in LATER:
        _presentation(course, sessions, people, slot, signed_up)
    schedule.submit_summary(released, RELEASED_SUMMARY, released.review_deadline - timedelta(hours=5))
    _released_reviews(released, people)
    _open_reviews(upcoming, people, now)
    student, days, reason = EXTENSION
    reviewing.grant_extension(
        upcoming, people[student].id, upcoming.review_deadline + timedelta(days=days), reason, people["instructor"].id,
        now,
    )
    _panel(released, people)
    load_project(course, people, now)
    load_feedback(course, people, now)
    load_gradebook(course, people, now)
    load_notifications(course, people, now)
    db.session.commit()
    return course


def _refuse_if_loaded() -> None:
    if db.session.scalar(select(Course.id).where(Course.code == COURSE_CODE)) is not None:
        raise DemoAlreadyLoaded("The demo course is already loaded.")
    if db.session.scalar(select(User.id).where(User.email.in_(login_emails()))) is not None:
        raise DemoAlreadyLoaded("A demo account already exists; load the demo into an empty database.")


def _accounts() -> dict:
    """The accounts, keyed 'instructor', 'ta' and 1…12 for the students, as if each had
    registered; they share one password hash (argon2 takes a noticeable time per hash)."""
    password_hash = hash_password(DEMO_PASSWORD)
    accounts = [("instructor", *INSTRUCTOR), ("ta", *TA)]
    accounts += [(n, student_email(n), name) for n, name in enumerate(STUDENT_NAMES, 1)]
    people = {key: User(email=email, display_name=name, password_hash=password_hash) for key, email, name in accounts}
    people["instructor"].is_instructor = True
    db.session.add_all(people.values())
    db.session.flush()
    return people


def _term(today: date) -> str:
    season = "Spring" if today.month <= 5 else "Summer" if today.month <= 7 else "Fall"
    return f"{season} {today.year}"


def _course(people: dict, now: datetime) -> Course:
    """The instructor creates the course and sets it up, adds the TA to the roster, and the
    students join with the course's code."""
    term = _term(local(now, COURSE_ZONE).date())
    course = courses.create_course(people["instructor"].id, COURSE_CODE, COURSE_TITLE, term, COURSE_ZONE)
    courses.apply_settings(course, COURSE_TITLE, term, COURSE_ZONE, review_form=[], **SETTINGS)
    roster.enroll_person(course, TA[1], TA[0], ROLE_TA)
    for number in range(1, len(STUDENT_NAMES) + 1):
        student = people[number]
        problem = roster.join_problem(course, student)
        if problem:
            raise click.ClickException(problem)
        roster.join_as_student(course, student)
    db.session.flush()
    return course


def _paper(paper: Paper, data: PaperData) -> Paper:
    for name, value in data._asdict().items():
        if name != "key":
            setattr(paper, name, value)
    return papers.save(paper)


def _papers(course: Course, people: dict) -> None:
    """Staff fill the paper list; one student's proposal awaits the instructor."""
    for data in PAPERS:
        _paper(papers.new_paper(course), data)
    proposer, data = PROPOSAL
    _paper(papers.new_proposal(course, people[proposer].id), data)


def _sessions(course: Course, now: datetime) -> list[ClassSession]:
    today = local(now, COURSE_ZONE).date()
    return [
        schedule.save_session(
            course,
            ClassSession(course_id=course.id),
            _weekday(today + timedelta(days=days)),
            CLASS_STARTS,
            duration_minutes=CLASS_MINUTES,
            room=CLASS_ROOM,
            title=title,
            slots=slots,
            now=now,
        )
        for days, title, slots in SESSIONS
    ]


def _weekday(day: date) -> date:
    """Classes meet on weekdays: a Saturday moves to Friday, a Sunday to Monday."""
    return day + timedelta(days={5: -1, 6: 1}.get(day.weekday(), 0))


def _paper_id(course: Course, key: str) -> int:
    title = next(p.title for p in PAPERS if p.key == key)
    return db.session.scalar(select(Paper.id).where(Paper.course_id == course.id, Paper.title == title))


def _presentation(course, sessions, people, slot: Slot, signed_up: datetime) -> Presentation:
    """The presenters claim the paper and slot at ``signed_up``; staff then name the summary
    writers (with the summary due at the review deadline) and the presenters attach slides."""
    session = sessions[slot.session]
    first, *others = (people[n] for n in slot.presenters)
    presentation = signup.claim(course, first, _paper_id(course, slot.paper), session.id, slot.slot, signed_up)
    db.session.flush()
    for presenter in others:
        signup.join(course, presenter, presentation, signed_up)
    plan = schedule.PresentationPlan(
        paper_id=presentation.paper_id,
        session_id=session.id,
        slot=slot.slot,
        presenters=tuple(people[n].id for n in slot.presenters),
        summarizers=tuple(people[n].id for n in slot.summarizers),
        talk_minutes=presentation.talk_minutes,
        qa_minutes=presentation.qa_minutes,
        review_deadline=presentation.review_deadline,
        summary_deadline=presentation.review_deadline,
    )
    schedule.save_presentation(course, presentation, plan, people["instructor"].id, signed_up)
    if slot.slides_url:
        # A link is stored as given: no file is written, so no upload folder is needed.
        slides.save(
            presentation,
            "",
            url=slot.slides_url,
            upload=None,
            reused=bool(slot.slides_attribution),
            attribution=slot.slides_attribution,
        )
    return presentation


# --------------------------------------------------------------------------- reviews


def _input(data: ReviewData, pledge: bool = False) -> reviewing.ReviewInput:
    answers = {"summary": data.summary, "strengths": data.strengths, "weaknesses": data.weaknesses,
               "questions": data.questions}
    return reviewing.ReviewInput(answers=answers, score=data.score, confidence=data.confidence, pledge=pledge)


def _write(presentation: Presentation, author: User, data: ReviewData, drafted: datetime, submitted: datetime) -> int:
    """The critic saves a draft at ``drafted`` and submits it at ``submitted``; the review's id."""
    fields = review_form_fields(presentation.course)
    reviewing.save_draft(author, presentation, fields, _input(data), drafted)
    return reviewing.submit(author, presentation, fields, _input(data, pledge=True), submitted).review_id


def _released_reviews(presentation: Presentation, people: dict) -> None:
    """Submitted in order (a negative ``hours`` is after the deadline: late), one edited before
    the deadline, two graded by the instructor."""
    deadline = presentation.review_deadline
    written = {}
    for data in RELEASED_REVIEWS:
        at = deadline - timedelta(hours=data.hours)
        written[data.student] = _write(presentation, people[data.student], data, at - timedelta(days=1), at)
    student, hours, field, text = RELEASED_EDIT
    data = next(d for d in RELEASED_REVIEWS if d.student == student)
    reviewing.submit(
        people[student],
        presentation,
        review_form_fields(presentation.course),
        _input(data._replace(**{field: text}), pledge=True),
        deadline - timedelta(hours=hours),
    )
    for student, grade, feedback in FEEDBACK:
        review = db.session.get(Review, written[student])
        reviewing.grade(review, grade, feedback, people["instructor"].id)


def _open_reviews(presentation: Presentation, people: dict, now: datetime) -> None:
    for data in OPEN_SUBMITTED:
        at = now - timedelta(hours=data.hours)
        _write(presentation, people[data.student], data, at - timedelta(hours=3), at)
    fields = review_form_fields(presentation.course)
    for data in OPEN_DRAFTS:
        reviewing.save_draft(people[data.student], presentation, fields, _input(data), now - timedelta(hours=data.hours))


# --------------------------------------------------------------------------- panel


def _panel(presentation: Presentation, people: dict) -> None:
    """A closed panel room with answered questions and a few verdict votes, stored as the
    room's history (its live commands belong to the moment they are sent)."""
    start = presentation.session.starts_at + timedelta(minutes=presentation.talk_minutes)
    end = start + timedelta(minutes=presentation.qa_minutes)
    room = PanelRoom(
        presentation=presentation,
        phase=Phase.CLOSED,
        moderated=True,
        phase_started_at=end,
        created_at=presentation.session.starts_at - timedelta(minutes=10),
    )
    db.session.add(room)
    presenter = people[RELEASED.presenters[0]]
    for minute, (asker, anonymous, text, answer, outcome) in enumerate(PANEL_QUESTIONS):
        asked = start + timedelta(minutes=2 * minute)
        db.session.add(
            Question(
                room=room,
                asker=people[asker],
                client_id=new_token(12),
                text=text,
                original_text=text,
                anonymous=anonymous,
                state=QuestionState.ANSWERED,
                claimed_by=presenter,
                answer_text=answer,
                outcome=outcome,
                created_at=asked,
                approved_at=asked + timedelta(seconds=40),
                live_at=asked + timedelta(minutes=1),
                answered_at=asked + timedelta(minutes=3),
            )
        )
    db.session.flush()
    for student, verdict in PANEL_VERDICTS:
        db.session.add(VerdictVote(room_id=room.id, user_id=people[student].id, verdict=verdict, created_at=end))
    room.seq = 5 * len(PANEL_QUESTIONS) + len(PANEL_VERDICTS) + 3

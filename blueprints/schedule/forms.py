"""The schedule's forms, and the placement value naming one slot of one session."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional as Opt, ValidationError

from blueprints.common import http_url
from core.timeutil import local, parse_local_input
from domain import slides
from domain.schedule import PresentationPlan
from models import ClassSession, Course


def placement_value(session: ClassSession, slot: int) -> str:
    """The form value naming one slot of one session."""
    return f"{session.id}:{slot}"


def parse_placement(value: str) -> tuple[int, int]:
    """(session id, slot) from a form value; (0, 0) when malformed."""
    try:
        session_id, slot = (int(x) for x in (value or "").split(":"))
    except ValueError:
        return 0, 0
    return session_id, slot


def to_utc(naive: Optional[datetime], course: Course) -> Optional[datetime]:
    """A course-local wall-clock time from a form as a UTC instant."""
    return parse_local_input(naive.isoformat(), course.timezone) if naive else None


def to_form_local(dt: Optional[datetime], course: Course) -> Optional[datetime]:
    """A UTC instant as the naive course-local value a datetime-local field shows."""
    return local(dt, course.timezone).replace(tzinfo=None) if dt else None


class SessionForm(FlaskForm):
    day = DateField("Date", validators=[InputRequired("Give the date.")])
    start = TimeField("Start time", validators=[InputRequired("Give the start time.")])
    duration_minutes = IntegerField(
        "Duration (minutes)", default=90, validators=[InputRequired("Give the duration."), NumberRange(15, 480)]
    )
    room = StringField("Room", validators=[Length(max=120)])
    title = StringField("Title", validators=[Length(max=200)], description="Optional, for example the topic.")
    slots = IntegerField(
        "Presentation slots", default=2, validators=[InputRequired("Give the number of slots."), NumberRange(1, 12)]
    )


class SignupForm(FlaskForm):
    # Choices are what was free when the page was drawn; a claim of something taken since then
    # must reach signup.claim and get its clear message, not "Not a valid choice".
    paper_id = SelectField(
        "Paper",
        coerce=int,
        validate_choice=False,
        validators=[InputRequired("Pick a paper."), NumberRange(min=1, message="Pick a paper.")],
    )
    placement = SelectField(
        "Session and slot", validate_choice=False, validators=[InputRequired("Pick a session slot.")]
    )


class PresentationForm(FlaskForm):
    paper_id = SelectField("Paper", coerce=int, validators=[InputRequired("Pick a paper.")])
    placement = SelectField("Session and slot", validators=[InputRequired("Pick a session slot.")])
    presenters = SelectMultipleField("Presenting group", coerce=int)
    summarizers = SelectMultipleField("Summary-writing group", coerce=int)
    review_deadline = DateTimeLocalField("Review deadline", format="%Y-%m-%dT%H:%M", validators=[Opt()])
    summary_deadline = DateTimeLocalField("Summary deadline", format="%Y-%m-%dT%H:%M", validators=[Opt()])
    talk_minutes = IntegerField("Talk (minutes)", validators=[InputRequired("Give the talk length."), NumberRange(5, 180)])
    qa_minutes = IntegerField("Q&A (minutes)", validators=[InputRequired("Give the Q&A length."), NumberRange(0, 120)])

    def validate_summarizers(self, field):
        both = set(field.data or ()) & set(self.presenters.data or ())
        if both:
            raise ValidationError("A student cannot be in both groups of the same presentation.")

    def plan(self, course: Course) -> PresentationPlan:
        """The validated input as the domain's plan, deadlines turned from course-local to UTC."""
        session_id, slot = parse_placement(self.placement.data)
        return PresentationPlan(
            paper_id=self.paper_id.data,
            session_id=session_id,
            slot=slot,
            presenters=tuple(self.presenters.data),
            summarizers=tuple(self.summarizers.data),
            talk_minutes=self.talk_minutes.data,
            qa_minutes=self.qa_minutes.data,
            review_deadline=to_utc(self.review_deadline.data, course),
            summary_deadline=to_utc(self.summary_deadline.data, course),
        )


class SlidesForm(FlaskForm):
    slides_url = URLField("Link to the slides", validators=[Length(max=500), http_url])
    upload = FileField("Or upload a file", description="PDF, PowerPoint (.pptx) or Keynote (.key), up to 8 MB.")
    slides_reused = BooleanField("These slides reuse the paper authors' own slides")
    slides_attribution = StringField(
        "Origin of the slides",
        validators=[Length(max=500)],
        description="Required when reusing slides: who made them and where they come from.",
    )

    upload_bytes: Optional[bytes] = None
    upload_ext: str = ""

    def validate_slides_attribution(self, field):
        field.data = (field.data or "").strip()
        if self.slides_reused.data and not field.data:
            raise ValidationError("You ticked “reused slides”: say where they come from (authors, link).")

    def validate_upload(self, field):
        storage = field.data
        if not storage or not getattr(storage, "filename", ""):
            return
        data = storage.stream.read(slides.MAX_SLIDES_BYTES + 1)
        problem = slides.upload_problem(storage.filename, data)
        if problem:
            raise ValidationError(problem)
        self.upload_bytes, self.upload_ext = data, slides.extension(storage.filename)

    def uploaded(self) -> Optional[tuple[bytes, str]]:
        """The checked upload as (bytes, extension), or None when no file came with the form."""
        return None if self.upload_bytes is None else (self.upload_bytes, self.upload_ext)


class SummaryForm(FlaskForm):
    text = TextAreaField(
        "Summary", validators=[DataRequired("Write the summary before submitting it."), Length(max=20000)]
    )

"""The review, grade and extension forms, and what a filled review form hands the workflow."""
from __future__ import annotations

from functools import lru_cache
from typing import Optional

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FloatField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange
from wtforms.validators import Optional as OptionalValue

from blueprints.common import ANSWER_PREFIX, answers_form_class
from domain import reviewing
from domain.review_form import review_form_fields
from models import Course, Review

PLEDGE_TEXT = (
    "I wrote this review on my own and have not seen any other student's review of this paper"
)
SCORE_CHOICES = [
    SelectChoice("", "Choose a score"),
    SelectChoice("1", "1 — strong reject"),
    SelectChoice("2", "2 — weak reject"),
    SelectChoice("3", "3 — borderline"),
    SelectChoice("4", "4 — weak accept"),
    SelectChoice("5", "5 — strong accept"),
]
CONFIDENCE_CHOICES = [
    SelectChoice("", "Choose your confidence"),
    SelectChoice("1", "1 — educated guess"),
    SelectChoice("2", "2 — somewhat unsure"),
    SelectChoice("3", "3 — fairly confident"),
    SelectChoice("4", "4 — confident"),
    SelectChoice("5", "5 — certain, I know the area well"),
]

# --------------------------------------------------------------------------- forms


def review_form(course: Course, review: Optional[Review], formdata=None) -> FlaskForm:
    """The course's review form, filled from the request, else from the stored review."""
    definition = tuple((f["key"], f["label"], f["help"], f["required"]) for f in review_form_fields(course))
    kwargs = {} if formdata is None else {"formdata": formdata}
    return _review_form_class(definition)(data=_stored_data(review), **kwargs)


@lru_cache(maxsize=128)
def _review_form_class(definition: tuple[tuple[str, str, str, bool], ...]) -> type[FlaskForm]:
    """The form class for one review-form definition (key, label, help, required), built once."""

    ReviewForm = answers_form_class("ReviewForm", definition, reviewing.MAX_ANSWER)
    ReviewForm.score = SelectField("Overall score", choices=SCORE_CHOICES, default="")
    ReviewForm.confidence = SelectField("Confidence", choices=CONFIDENCE_CHOICES, default="")
    ReviewForm.pledge = BooleanField(PLEDGE_TEXT)
    return ReviewForm


def _stored_data(review: Optional[Review]) -> dict:
    if review is None:
        return {}
    data = {ANSWER_PREFIX + k: v for k, v in (review.answers or {}).items()}
    data["score"] = str(review.score or "")
    data["confidence"] = str(review.confidence or "")
    return data


def _int_or_none(value: Optional[str]) -> Optional[int]:
    return int(value) if value else None


def review_input(form: FlaskForm, course: Course) -> reviewing.ReviewInput:
    """What the writer entered, as the workflow takes it (unknown fields never reach it)."""
    return reviewing.ReviewInput(
        answers={f["key"]: form[ANSWER_PREFIX + f["key"]].data or "" for f in review_form_fields(course)},
        score=_int_or_none(form.score.data),
        confidence=_int_or_none(form.confidence.data),
        pledge=bool(form.pledge.data),
    )


def show_submission_errors(form: FlaskForm, errors: dict[str, str]) -> None:
    for key, message in errors.items():
        name = key if key in ("score", "confidence", "pledge") else ANSWER_PREFIX + key
        form[name].errors = list(form[name].errors) + [message]


class GradeForm(FlaskForm):
    grade = FloatField(
        "Grade (0–10)",
        validators=[OptionalValue(), NumberRange(min=0, max=10, message="Give a grade from 0 to 10.")],
        description="Rubric points out of 10; leave empty for no grade yet.",
    )
    feedback = TextAreaField(
        "Feedback to the writer",
        validators=[Length(max=5000)],
        description="Only the writer and staff see this feedback.",
    )


class ExtensionForm(FlaskForm):
    student = SelectField("Student", coerce=int, validators=[DataRequired(message="Choose a student.")])
    deadline = DateTimeLocalField(
        "New personal deadline",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired(message="Give the new deadline as a date and time.")],
    )
    reason = StringField("Reason (staff only)", validators=[Length(max=300)])
    confirm_read = BooleanField(
        "Grant it anyway: I know this student could already read the released reviews"
    )

"""The forms of the course pages."""
from __future__ import annotations

from zoneinfo import available_timezones

from flask import current_app
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    FloatField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from core.timeutil import is_valid_zone
from domain import roster
from domain.courses import KEEP_INSTANTS, KEEP_LOCAL_TIMES, SETTINGS_FIELDS
from domain.review_form import parse_review_form
from models import ROLE_STUDENT, ROLES

ROLE_CHOICES = [SelectChoice(r, roster.role_label(r)) for r in ROLES]

# The IANA zones the picker offers (the browser filters them as the name is typed).
ZONE_NAMES = tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))
ZONE_LIST_ID = "iana-zones"


def _valid_zone(form, field):
    """An IANA time zone name this server knows."""
    if not is_valid_zone((field.data or "").strip()):
        raise ValidationError("Use an IANA time zone name such as America/New_York or Europe/Berlin.")


def _zone_field(**render_kw) -> StringField:
    """The time zone as a searchable picker over the IANA zones (a datalist)."""
    return StringField(
        "Time zone",
        default="UTC",
        validators=[DataRequired(), Length(max=64), _valid_zone],
        description="Deadlines and sessions are shown in this zone. Type to search, e.g. New_York or Berlin.",
        render_kw={"list": ZONE_LIST_ID, "autocomplete": "off", "spellcheck": "false", **render_kw},
    )


class CourseBasicsForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    term = StringField("Term", validators=[Length(max=60)], description="For example: Spring 2026.")
    timezone = _zone_field()


class CourseForm(CourseBasicsForm):
    code = StringField(
        "Course code", validators=[DataRequired(), Length(max=40)], description="For example: CS 598."
    )
    # A new course starts in the creator's browser zone (static/js/browser_zone.js); UTC without script.
    timezone = _zone_field(**{"data-browser-zone": "fill"})


def _bounded(field_class, label, low, high, unit="", **kw):
    """A required number field limited to ``low``–``high``, whose error names the range."""
    message = f"Choose {low} to {high}{' ' + unit if unit else ''}."
    return field_class(label, validators=[InputRequired("Give a number."), NumberRange(low, high, message)], **kw)


class SettingsForm(CourseBasicsForm):
    join_enabled = BooleanField("Students may join with the join code")
    presentation_group_size = _bounded(IntegerField, "Presentation group size", 1, 4, "people")
    project_group_max = _bounded(IntegerField, "Largest project group", 1, 4, "people")
    talk_minutes = _bounded(IntegerField, "Talk (minutes)", 5, 240, "minutes")
    qa_minutes = _bounded(IntegerField, "Panel Q&A (minutes)", 0, 240, "minutes")
    late_policy = SelectField(
        "After a student's deadline",
        choices=[SelectChoice("refuse", "Refuse submissions"), SelectChoice("accept", "Accept them, marked late")],
    )
    late_penalty_per_day = _bounded(
        FloatField, "Late penalty (percent per day)", 0, 100, "percent",
        render_kw={"step": "any"}, description="Applied in the gradebook to late work; 0 for none.",
    )
    grace_minutes = _bounded(
        IntegerField, "Grace period (minutes)", 0, 120, "minutes",
        description="Submissions this long after a deadline still count as on time. Students see it.",
    )
    name_reviewers = BooleanField("Show reviewers' names to students after release (instead of pseudonyms)")
    similarity_threshold = _bounded(
        FloatField, "Similarity threshold", 0.05, 0.95,
        render_kw={"step": "0.01"}, description="Pairs of reviews more similar than this are flagged to staff.",
    )
    zone_change = RadioField(
        "When the time zone changes",
        choices=[
            SelectChoice(KEEP_LOCAL_TIMES, "Keep the local times (a 14:00 session stays at 14:00 in the new zone)"),
            SelectChoice(KEEP_INSTANTS, "Keep the moments (a 14:00 session shows at whatever hour that is in the new zone)"),
        ],
        default=KEEP_LOCAL_TIMES,
    )
    zone_change_confirmed = HiddenField(default="")
    review_form = TextAreaField(
        "Review form",
        render_kw={"rows": 8},
        description=(
            "One field a line: key | Label | help text | yes/no (required). Keys use lowercase "
            "letters, digits and _. Score and confidence are always asked."
        ),
    )

    def validate_review_form(self, field):
        """The review form must parse and have at least one field."""
        fields, errors = parse_review_form(field.data)
        if errors:
            raise ValidationError(" ".join(errors))
        self.parsed_review_form = fields

    def settings(self) -> dict:
        """The validated course settings by column name (``domain.courses.SETTINGS_FIELDS``)."""
        return {name: getattr(self, name).data for name in SETTINGS_FIELDS}


class JoinForm(FlaskForm):
    join_code = StringField(
        "Course join code",
        validators=[DataRequired(), Length(max=16)],
        description="Your instructor gives you this code.",
    )


def usable_email(form, field):
    """An address the roster accepts (special-use domains where the site allows them)."""
    field.data = (field.data or "").strip()
    problem = roster.email_problem(field.data, current_app.config["EMAIL_ALLOW_SPECIAL_USE"])
    if problem:
        raise ValidationError(problem)


class AddMemberForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=roster.MAX_NAME)])
    email = EmailField("Email", validators=[DataRequired(), usable_email])
    role = SelectField("Role", choices=ROLE_CHOICES, default=ROLE_STUDENT)


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class ImportForm(FlaskForm):
    roster_file = FileField(
        "Roster file (CSV)",
        validators=[FileRequired("Choose a CSV file.")],
        description="Columns: name, email and optionally role (student, ta or instructor; default student).",
    )


class ConfirmImportForm(FlaskForm):
    csv_text = HiddenField(validators=[DataRequired()])

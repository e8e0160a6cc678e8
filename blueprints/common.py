"""Helpers shared by the feature blueprints: the one way to guard a route.

The written rule for refusals: **404 wherever existence itself is private** (anything of a
course to someone not enrolled in it; a review, draft or other hidden row to a viewer the policy
does not let see it: V8), so a refusal never says that a thing exists. **403 only where the
viewer is enrolled and the page's existence is no secret** (a staff page of the course, such as
settings, the roster or the integrity overview, asked for by a student).
"""
from __future__ import annotations

from typing import Callable, Optional, TypeVar
from urllib.parse import urlsplit

from dataclasses import dataclass

from flask import Flask, abort, flash, g
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from wtforms import TextAreaField
from wtforms.validators import Length, ValidationError

from domain import policy
from core.errors import error_response
from core.extensions import db
from domain.errors import Conflict, DomainError, Forbidden, Invalid
from models import Course, Presentation


T = TypeVar("T")


def found_or_404(obj: Optional[T], allowed: Callable[[T], bool] = lambda obj: True) -> T:
    """``obj`` when it exists and the policy predicate ``allowed(obj)`` holds; else 404, the
    same answer for hidden and missing."""
    if obj is None or not allowed(obj):
        abort(404)
    return obj


def permitted_or_403(allowed: bool) -> None:
    """Refuse an enrolled viewer a page whose existence is no secret (a staff page)."""
    if not allowed:
        abort(403)


@dataclass(frozen=True)
class CourseViewer:
    """What the current user is in the course a page belongs to, decided once by ``course_or_404``
    and handed to templates (the navigation) as ``viewer``."""

    role: Optional[str]
    is_staff: bool
    is_instructor: bool


def _decide_viewer(course_id: int) -> CourseViewer:
    """Record the viewer's standing in the course for this request's templates."""
    viewer = CourseViewer(
        role=policy.course_role(current_user, course_id),
        is_staff=policy.is_staff(current_user, course_id),
        is_instructor=policy.is_instructor(current_user, course_id),
    )
    g.course_viewer = viewer
    return viewer


def init_app(app: Flask) -> None:
    """Hand templates the viewer's standing in the page's course; answer domain errors."""

    @app.context_processor
    def course_viewer():
        return {"viewer": g.get("course_viewer")}

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        return error_response(exc.status, exc.code.replace("_", " ").capitalize(), exc.message)


def course_or_404(course_id: int, need: str = "member") -> Course:
    """The course if the current user is enrolled; 404 for strangers, 403 for too low a role.

    ``need`` is 'member', 'staff' or 'instructor'.
    """
    course = found_or_404(db.session.get(Course, course_id), lambda c: policy.is_member(current_user, c.id))
    viewer = _decide_viewer(course_id)
    if need == "staff":
        permitted_or_403(viewer.is_staff)
    elif need == "instructor":
        permitted_or_403(viewer.is_instructor)
    return course


def of_course_or_404(model, course: Course, object_id: int):
    """A row of ``model`` (paper, class session, presentation…) belonging to this course, or 404."""
    return found_or_404(db.session.get(model, object_id), lambda obj: obj.course_id == course.id)


def presentation_or_404(course: Course, presentation_id: int) -> Presentation:
    """A presentation of this course, or 404."""
    return of_course_or_404(Presentation, course, presentation_id)


_PRESENTATION_WITH_COURSE = (
    select(Presentation)
    .where(Presentation.id == bindparam("presentation_id"), Presentation.course_id == bindparam("course_id"))
    .options(joinedload(Presentation.course))
)


def course_and_presentation_or_404(course_id: int, presentation_id: int) -> tuple[Course, Presentation]:
    """``course_or_404`` and ``presentation_or_404`` for members, with both rows read in one query."""
    presentation = db.session.scalar(
        _PRESENTATION_WITH_COURSE, {"presentation_id": presentation_id, "course_id": course_id}
    )
    if presentation is None or not policy.is_member(current_user, course_id):
        abort(404)
    _decide_viewer(course_id)
    return presentation.course, presentation


def delete_unless(obj, blocked: Optional[str], done: str) -> bool:
    """Delete ``obj`` on a valid (CSRF-checked) POST unless ``blocked`` says why it must stay.

    The outcome is flashed; returns whether the row was deleted (the view then commits).
    """
    if not FlaskForm().validate_on_submit():
        abort(400)
    if blocked:
        flash(blocked, "error")
        return False
    db.session.delete(obj)
    flash(done, "success")
    return True


def committed(work: Callable[[], object] = lambda: None) -> bool:
    """Run ``work`` (domain operations, which may flush) and commit the request; False (rolled
    back) when a unique key refused a row because a concurrent request made it first, so the
    view can say what is in the way now."""
    try:
        work()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


RACE = "Someone changed the same thing at the same moment; reload the page and try again."


def attempted(operation: Callable[[], T], race_message: str | Callable[[], str] = RACE) -> tuple[Optional[T], Optional[str]]:
    """Run a domain operation and commit the request: its result and no problem, or, rolled
    back, no result and why it was refused (``Invalid``, ``Conflict``, ``Forbidden``) or lost a
    race on a unique key (``race_message``, or what ``race_message()`` says once the loser's work
    is rolled back, so it can name what the winner took); ``NotFound`` goes on to the 404 handler."""
    try:
        result = operation()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None, race_message() if callable(race_message) else race_message
    except (Invalid, Conflict, Forbidden) as exc:
        db.session.rollback()
        return None, exc.message or "That is not possible now."
    return result, None


def applied_or_flashed(operation: Callable[[], object], done: str | Callable[[object], str],
                       race_message: str | Callable[[], str] = RACE) -> bool:
    """``attempted`` with its outcome flashed: ``done`` (or ``done(result)``), or the problem as an error."""
    result, problem = attempted(operation, race_message)
    if problem:
        flash(problem, "error")
        return False
    flash(done if isinstance(done, str) else done(result), "success")
    return True


def http_url(form, field) -> None:
    """Form validator: an empty value or an absolute http(s) address (never javascript: etc.)."""
    value = (field.data or "").strip()
    field.data = value
    if value:
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise ValidationError("Give a web address that starts with http:// or https://.")


ANSWER_PREFIX = "answer_"


def answers_form_class(name: str, definition: tuple[tuple[str, str, str, bool], ...], max_answer: int) -> type[FlaskForm]:
    """A form class with one text area per field of a course-defined form (key, label, help,
    required), named ``answer_<key>``; reviews and peer feedback add their own fields to it."""
    form_class = type(name, (FlaskForm,), {})
    for key, label, help_text, required in definition:
        setattr(
            form_class,
            ANSWER_PREFIX + key,
            TextAreaField(
                label + ("" if required else " (optional)"),
                description=help_text,
                validators=[Length(max=max_answer)],
            ),
        )
    return form_class

"""Peer feedback on project talks: write (with autosave), submit and edit while the window is
open; the talk's feedback as the policy lets each viewer see it (staff with names at any time,
the presenting group anonymously after the close); hold-back, helpful marks and the feedback
settings. Every response that carries feedback is sent ``no-store``."""
from __future__ import annotations

from functools import lru_cache
from typing import Optional

from flask import Response, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, ValidationError

from blueprints.common import ANSWER_PREFIX, answers_form_class, applied_or_flashed, course_or_404, found_or_404
from blueprints.project import bp
from blueprints.project.talks import talk_or_404
from core.extensions import db
from core.security import no_store
from core.timeutil import iso, now_utc
from domain import policy
from domain.errors import DomainError
from domain.project import feedback as peer_feedback
from domain.project import talks
from models import PeerFeedback

RATING_CHOICES = [SelectChoice("", "Choose a rating")] + [
    SelectChoice(str(n), label)
    for n, label in enumerate(("1 — weak", "2 — fair", "3 — good", "4 — very good", "5 — excellent"), 1)
]


# --------------------------------------------------------------------------- forms


@lru_cache(maxsize=64)
def _feedback_form_class(definition: tuple[tuple[str, str, str, bool], ...]) -> type[FlaskForm]:
    """The form class for one feedback-form definition (key, label, help, required), built once."""
    form_class = answers_form_class("FeedbackForm", definition, peer_feedback.MAX_ANSWER)
    form_class.rating = SelectField("Rating", choices=RATING_CHOICES, default="")
    return form_class


def feedback_form(course, piece: Optional[PeerFeedback], formdata=None) -> FlaskForm:
    """The course's feedback form, filled from the request, else from the stored piece."""
    fields = peer_feedback.feedback_form_fields(course)
    definition = tuple((f["key"], f["label"], f["help"], f["required"]) for f in fields)
    data = {}
    if piece is not None:
        data = {ANSWER_PREFIX + k: v for k, v in (piece.answers or {}).items()}
        data["rating"] = str(piece.rating or "")
    kwargs = {} if formdata is None else {"formdata": formdata}
    return _feedback_form_class(definition)(data=data, **kwargs)


def feedback_input(form: FlaskForm, course) -> peer_feedback.FeedbackInput:
    """What the writer entered, as the domain takes it (unknown fields never reach it)."""
    fields = peer_feedback.feedback_form_fields(course)
    rating = form.rating.data
    return peer_feedback.FeedbackInput(
        answers={f["key"]: form[ANSWER_PREFIX + f["key"]].data or "" for f in fields},
        rating=int(rating) if rating and rating.isdigit() else None,
    )


class HoldBackForm(FlaskForm):
    reason = StringField("Reason (staff only)", validators=[Length(max=peer_feedback.MAX_REASON)])


class FeedbackSettingsForm(FlaskForm):
    feedback_window_hours = IntegerField(
        "Feedback window (hours after the session ends)",
        validators=[InputRequired("Give the number of hours."), NumberRange(1, 24 * 30)],
    )
    feedback_form = TextAreaField(
        "Feedback form",
        description="One field a line: key | Label | help text | yes/no (required). A 1–5 rating is always asked.",
    )

    def validate_feedback_form(self, field):
        """Parse the textarea; its errors name the line."""
        fields, errors = peer_feedback.parse_feedback_form(field.data)
        if errors:
            raise ValidationError(" ".join(errors))
        self.parsed_feedback_form = fields


# --------------------------------------------------------------------------- helpers


def _page(template: str, status: int = 200, **context) -> Response:
    """Render a page that carries feedback, never to be stored."""
    return no_store(make_response(render_template(template, **context), status))


def _json(body: dict, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    return no_store(response)


def _piece_json(piece: PeerFeedback) -> dict:
    """A piece of feedback as this viewer may see it (the caller has checked it is visible)."""
    data = {
        "id": piece.id,
        "talk_id": piece.talk_id,
        "writer": policy.feedback_writer_label(current_user, piece),
        "answers": piece.answers,
        "rating": piece.rating,
        "helpful": piece.helpful,
    }
    if policy.is_staff(current_user, piece.talk.course_id) or policy.is_feedback_writer(current_user, piece):
        data.update(status=piece.status, submitted_at=iso(piece.submitted_at))
    if policy.is_staff(current_user, piece.talk.course_id):
        data.update(held_back=piece.held_back, held_back_reason=piece.held_back_reason)
    return data


def _visible_or_404(course, feedback_id: int) -> PeerFeedback:
    """F7: a piece hidden from this viewer answers exactly like a missing one."""
    return found_or_404(
        policy.f7_visible_peer_feedback(current_user, feedback_id, now_utc()),
        lambda piece: piece.talk.course_id == course.id,
    )


# --------------------------------------------------------------------------- writing


@bp.route("/courses/<int:course_id>/project/talks/<int:talk_id>/feedback/write", methods=["GET", "POST"])
@login_required
def feedback_write(course_id, talk_id):
    """Write one's feedback on a talk: save a draft, submit, or edit until the window closes."""
    course = course_or_404(course_id)
    talk = talk_or_404(course, talk_id)
    now = now_utc()
    if not policy.must_give_feedback(current_user, talk):
        return _page("project/feedback_not_giver.html", 403, course=course, talk=talk, label=talks.talk_label)
    piece = policy.own_feedback(current_user, talk)
    form = feedback_form(course, piece)
    status = 200
    if request.method == "POST" and form.validate():
        data = feedback_input(form, course)
        fields = peer_feedback.feedback_form_fields(course)
        try:
            if request.form.get("action") == "draft":
                peer_feedback.save_draft(current_user, talk, fields, data, now)
                message = "Your draft was saved; only you can see it."
            else:
                errors = peer_feedback.submission_errors(fields, data)
                if errors:
                    for key, text in errors.items():
                        name = key if key == "rating" else ANSWER_PREFIX + key
                        form[name].errors = list(form[name].errors) + [text]
                    raise _Incomplete()
                was_submitted = piece is not None and piece.is_submitted
                peer_feedback.submit(current_user, talk, fields, data, now)
                message = "Your changes were saved." if was_submitted else "Your feedback was submitted."
        except _Incomplete:
            status = 200
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            status = exc.status
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for(".feedback_write", course_id=course_id, talk_id=talk_id))
    elif request.method == "POST":
        status = 400
    return _page(
        "project/feedback_form.html",
        status,
        course=course,
        talk=talk,
        form=form,
        fields=peer_feedback.feedback_form_fields(course),
        piece=policy.own_feedback(current_user, talk),
        can_write=policy.can_write_feedback(current_user, talk, now),
        phase=policy.feedback_phase(talk, now),
        opens_at=policy.feedback_opens_at(talk),
        label=talks.talk_label,
    )


class _Incomplete(Exception):
    """The submission misses required fields; the form shows them."""


@bp.route("/courses/<int:course_id>/project/talks/<int:talk_id>/feedback/draft", methods=["POST"])
@login_required
def feedback_draft(course_id, talk_id):
    """Autosave the draft posted as JSON by review_form.js; answers with what was saved."""
    course = course_or_404(course_id)
    talk = talk_or_404(course, talk_id)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not all(isinstance(v, str) for v in payload.values()):
        return _json({"error": "Bad Request", "message": "Send the form fields as a JSON object of strings."}, 400)
    form = feedback_form(course, None, formdata=MultiDict(payload))
    if not form.validate():
        return _json({"error": "Bad Request", "message": "Some fields are not valid.", "errors": form.errors}, 400)
    try:
        piece = peer_feedback.save_draft(
            current_user, talk, peer_feedback.feedback_form_fields(course), feedback_input(form, course), now_utc()
        )
    except DomainError as exc:
        db.session.rollback()
        return _json({"error": "Refused", "reason": exc.code, "message": exc.message}, 409 if exc.code == "submitted" else 403)
    saved_at = iso(piece.updated_at)
    db.session.commit()
    return _json({"saved_at": saved_at, "message": "Draft saved; only you can see it."})


# --------------------------------------------------------------------------- reading


def _talk_view(course_id: int, talk_id: int):
    course = course_or_404(course_id)
    talk = talk_or_404(course, talk_id)
    now = now_utc()
    return course, talk, now, policy.visible_peer_feedback_list(current_user, talk, now)


@bp.route("/courses/<int:course_id>/project/talks/<int:talk_id>/feedback")
@login_required
def talk_feedback(course_id, talk_id):
    """A talk's feedback as this viewer may see it: staff all with names and who gave none; the
    presenting group the released feedback without names once the window has closed."""
    course, talk, now, pieces = _talk_view(course_id, talk_id)
    is_staff = policy.is_staff(current_user, course.id)
    return _page(
        "project/feedback_talk.html",
        course=course,
        talk=talk,
        pieces=pieces,
        readable=policy.can_read_talk_feedback(current_user, talk, now),
        is_staff=is_staff,
        presenting=policy.is_presenting(current_user, talk),
        own=policy.own_feedback(current_user, talk),
        gives=policy.must_give_feedback(current_user, talk),
        phase=policy.feedback_phase(talk, now),
        missing=peer_feedback.missing_feedback(talk) if is_staff else [],
        can_hold={p.id: policy.f6_can_hold_back(current_user, p, now) for p in pieces},
        can_mark={p.id: policy.can_mark_helpful(current_user, p, now) for p in pieces},
        writer=lambda p: policy.feedback_writer_label(current_user, p),
        fields=peer_feedback.feedback_form_fields(course),
        hold_form=HoldBackForm(),
        label=talks.talk_label,
    )


@bp.route("/courses/<int:course_id>/project/talks/<int:talk_id>/feedback.json")
@login_required
def talk_feedback_json(course_id, talk_id):
    """The talk's feedback this viewer may read, as JSON (an empty list while it is sealed)."""
    course, talk, now, pieces = _talk_view(course_id, talk_id)
    return _json({"talk_id": talk.id, "feedback": [_piece_json(p) for p in pieces]})


@bp.route("/courses/<int:course_id>/project/feedback/<int:feedback_id>")
@login_required
def feedback_detail(course_id, feedback_id):
    """One piece of feedback; a hidden piece answers exactly like a missing one (F7)."""
    course = course_or_404(course_id)
    piece = _visible_or_404(course, feedback_id)
    if request.accept_mimetypes.best == "application/json":
        return _json(_piece_json(piece))
    return _page(
        "project/feedback_detail.html",
        course=course,
        piece=piece,
        talk=piece.talk,
        writer=policy.feedback_writer_label(current_user, piece),
        fields=peer_feedback.feedback_form_fields(course),
        label=talks.talk_label,
    )


# --------------------------------------------------------------------------- staff and group actions


@bp.route("/courses/<int:course_id>/project/feedback/<int:feedback_id>/hold", methods=["POST"])
@login_required
def feedback_hold(course_id, feedback_id):
    """Staff hold back an abusive or empty piece before release, or restore it (audited)."""
    course = course_or_404(course_id, need="staff")
    piece = _visible_or_404(course, feedback_id)
    form = HoldBackForm()
    if form.validate_on_submit():
        if request.form.get("action") == "restore":
            applied_or_flashed(lambda: peer_feedback.restore(current_user, piece, now_utc()), "The feedback will be released with the rest.")
        else:
            applied_or_flashed(lambda: peer_feedback.hold_back(current_user, piece, form.reason.data, now_utc()),
                      "The feedback is held back: the group will not see it.")
    return redirect(url_for(".talk_feedback", course_id=course_id, talk_id=piece.talk_id))


@bp.route("/courses/<int:course_id>/project/feedback/<int:feedback_id>/helpful", methods=["POST"])
@login_required
def feedback_helpful(course_id, feedback_id):
    """The presenting group marks a released comment helpful, not helpful, or unmarked."""
    course = course_or_404(course_id)
    piece = _visible_or_404(course, feedback_id)
    talk_id = piece.talk_id
    if FlaskForm().validate_on_submit():
        value = {"yes": True, "no": False}.get(request.form.get("helpful", ""))
        peer_feedback.mark_helpful(current_user, piece, value, now_utc())
        db.session.commit()
        flash("Your mark was saved.", "success")
    return redirect(url_for(".talk_feedback", course_id=course_id, talk_id=talk_id))


@bp.route("/courses/<int:course_id>/project/feedback-settings", methods=["GET", "POST"])
@login_required
def feedback_settings(course_id):
    """The course's feedback window and peer-feedback form (instructor only)."""
    course = course_or_404(course_id, need="instructor")
    form = FeedbackSettingsForm(obj=course)
    if request.method == "GET":
        form.feedback_form.data = peer_feedback.format_feedback_form(course)
    if form.validate_on_submit():
        course.feedback_window_hours = form.feedback_window_hours.data
        course.feedback_form = form.parsed_feedback_form
        db.session.commit()
        flash("The feedback settings were saved. Talks added from now on use the new window.", "success")
        return redirect(url_for(".feedback_settings", course_id=course_id))
    return render_template("project/feedback_settings.html", course=course, form=form)

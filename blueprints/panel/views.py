"""HTTP pages of the live panel room: participant view, moderator console, projector,
transcript, and the staff's participation export.

Pages hold no room state: they render the frame and hand the room id to the page's script
through data-* attributes; the script receives the state over the ``/panel`` socket.
"""
from __future__ import annotations

import io

import segno
from defusedcsv import csv
from flask import Response, abort, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from blueprints.common import course_or_404, presentation_or_404
from blueprints.panel import bp
from core.extensions import db
from core.security import no_store
from core.timeutil import now_utc
from domain import policy, reviewing
from domain.panel import commands, payloads, reports, schema, state
from domain.review_form import review_form_fields
from models import OUTCOMES, PHASES, VERDICTS, Course, PanelRoom, Presentation

ROOM_URL = "/courses/<int:course_id>/presentations/<int:presentation_id>/panel"
PROJECTOR_QUEUE_SIZE = 5
# The phases in which the projector shows how to join: the room is open, the panel not begun.
JOIN_PHASES = ("scheduled", "presenting")
# The fields of the released reviews the authors prepare their rebuttal from, in this order.
REBUTTAL_FIELDS = ("weaknesses", "questions")
# Words the pages and their scripts show for the room's codes (one source for both).
LABELS = {
    "phase": {
        "scheduled": "Not started",
        "presenting": "Talk",
        "panel": "Panel discussion",
        "closed": "Closed",
    },
    "state": {
        "pending": "awaiting approval",
        "queued": "in the queue",
        "live": "live",
        "answered": "answered",
        "dismissed": "dismissed",
        "merged": "merged",
    },
    "outcome": {"rebutted": "Rebutted", "conceded": "Conceded", "deferred": "Deferred"},
    "verdict": {"accept": "Accept", "revise": "Revise", "reject": "Reject"},
    "role": {"moderator": "moderator", "author": "author", "critic": "critic"},
    # The queue's heading and empty note while the room is open, and once it is closed.
    "queue": {"open": "Queue", "closed": "Not answered"},
    "queue_empty": {"open": "The queue is empty.", "closed": "Every approved question was answered."},
    "roles": {"moderator": "moderators", "author": "authors", "critic": "critics"},
    # JSON objects lose their key order on the way: the order of each group, spelled out.
    "order": {"phase": PHASES, "outcome": OUTCOMES, "verdict": VERDICTS, "role": policy.ROOM_ROLES},
}
PARTICIPATION_COLUMNS = (
    ("name", "Name"),
    ("email", "Email"),
    ("asked", "Questions asked"),
    ("approved", "Approved"),
    ("answered", "Answered"),
    ("votes_received", "Votes received"),
    ("votes_cast", "Votes cast"),
)


def _room_or_404(course_id: int, presentation_id: int) -> tuple[Course, Presentation, PanelRoom, str]:
    """The course, presentation, room (created on first visit; the view commits) and the viewer's
    room role."""
    course = course_or_404(course_id)
    presentation = presentation_or_404(course, presentation_id)
    role = policy.room_role(current_user, presentation)
    if role is None:
        abort(404)
    room = commands.room_for(presentation)
    return course, presentation, room, role


def _page(template: str, course, presentation, room, role, **context):
    """Render a room page with what every room page needs, then commit the request once (the
    room made on a first visit, an audit event of the page)."""
    queue_state = "closed" if room.phase == "closed" else "open"
    page = render_template(
        template,
        course=course,
        presentation=presentation,
        room=room,
        role=role,
        ask_phases=" ".join(policy.ASK_PHASES),
        verdict_phases=" ".join(policy.VERDICT_PHASES),
        labels=LABELS,
        limits=schema.LIMITS,
        closed=queue_state == "closed",
        queue_heading=LABELS["queue"][queue_state],
        queue_empty=LABELS["queue_empty"][queue_state],
        **context,
    )
    db.session.commit()
    return page


def rebuttal_notes(course, reviews) -> list[dict]:
    """The weaknesses and questions of the reviews the policy let the viewer read, each under
    the reviewer's label as this viewer sees it."""
    labels = policy.reviewer_labels(current_user, reviews)
    fields = [f for key in REBUTTAL_FIELDS for f in review_form_fields(course) if f["key"] == key]
    notes = []
    for review in reviews:
        parts = [(f["label"], (review.answers or {}).get(f["key"], "").strip()) for f in fields]
        parts = [(label, text) for label, text in parts if text]
        if parts:
            notes.append({"id": review.id, "reviewer": labels[review.id], "parts": parts})
    return notes


def join_qr(link: str) -> Markup:
    """The join link as an inline SVG QR code (drawn here, no outside service)."""
    code = segno.make(link, error="m")
    return Markup(code.svg_inline(omitsize=True, border=2, svgclass="projector-qr-code", lineclass=None,
                                  title="QR code of the room's join link"))


@bp.route(ROOM_URL)
@login_required
def participant(course_id, presentation_id):
    """The room as critics and authors see it; staff are taken to the moderator console."""
    course, presentation, room, role = _room_or_404(course_id, presentation_id)
    if role == policy.ROOM_MODERATOR:
        return redirect(url_for(".moderate", course_id=course.id, presentation_id=presentation.id))
    now = now_utc()
    from_review = state.review_questions(room, current_user) if role == policy.ROOM_CRITIC else []
    rebuttal = None
    if role == policy.ROOM_AUTHOR:
        reviews = reviewing.others_reviews_opened(current_user, presentation, now, via="room")
        rebuttal = {
            "readable": reviews is not None,
            "release_at": policy.release_at(presentation),
            "notes": rebuttal_notes(course, reviews or []),
        }
    page = _page("panel/participant.html", course, presentation, room, role, from_review=from_review,
                 rebuttal=rebuttal)
    return no_store(Response(page))


@bp.route(ROOM_URL + "/moderate")
@login_required
def moderate(course_id, presentation_id):
    """The moderator console (staff only)."""
    course, presentation, room, role = _room_or_404(course_id, presentation_id)
    if not policy.can_moderate(current_user, room):
        abort(403)
    return _page("panel/moderate.html", course, presentation, room, role)


@bp.route(ROOM_URL + "/projector")
@login_required
def projector(course_id, presentation_id):
    """The projector view: type sized to the screen, the live question, the top of the queue and,
    while the room opens, its short join link with a QR code."""
    course, presentation, room, role = _room_or_404(course_id, presentation_id)
    link = url_for(".join", presentation_id=presentation.id, _external=True)
    return _page("panel/projector.html", course, presentation, room, role, join_link=link,
                 join_text=link.split("://", 1)[-1], join_qr=join_qr(link), join_phases=" ".join(JOIN_PHASES),
                 joining=room.phase in JOIN_PHASES)


@bp.route("/p/<int:presentation_id>")
@login_required
def join(presentation_id):
    """The short join link a projector shows: to the presentation's room, for anyone enrolled."""
    presentation = db.session.get(Presentation, presentation_id)
    if presentation is None:
        abort(404)
    course = course_or_404(presentation.course_id)
    return redirect(url_for(".participant", course_id=course.id, presentation_id=presentation.id))


@bp.route(ROOM_URL + "/projector.json")
@login_required
def projector_state(course_id, presentation_id):
    """What the projector shows, built for the public audience whoever is logged in."""
    _course, _presentation, room, _role = _room_or_404(course_id, presentation_id)
    answer = jsonify(public_state(room, now_utc()))
    db.session.commit()
    return no_store(answer)


def public_state(room: PanelRoom, now) -> dict:
    """The room as the class may see it on a shared screen at ``now``: no pending questions, no
    names of anonymous askers, whatever the viewer's own role."""
    audience = policy.ROOM_CRITIC
    votes = state.vote_counts(room.id)
    questions = {q.id: q for q in state.room_questions(room.id) if policy.audience_sees_question(audience, q)}

    def view(question_id):
        return payloads.question_for_audience(questions[question_id], audience, votes.get(question_id, 0))

    live_id = state.live_question_id(room.id)
    queue = state.queue_order(room.id, votes)[:PROJECTOR_QUEUE_SIZE]
    return {
        "seq": room.seq,
        "server_now": payloads.server_now(now),
        "room": payloads.room_view(room),
        "live": view(live_id) if live_id in questions else None,
        "queue": [view(qid) for qid in queue if qid in questions],
        "verdict": state.verdict_counts(room) if policy.audience_sees_verdict(audience, room) else None,
    }


@bp.route(ROOM_URL + "/transcript")
@login_required
def transcript(course_id, presentation_id):
    """Questions, answers, outcomes and times of the panel, with the room's visibility."""
    course, presentation, room, role = _room_or_404(course_id, presentation_id)
    if not policy.can_view_transcript(current_user, presentation):
        abort(404)
    entries = reports.transcript(room, current_user)
    verdict = reports.verdict(presentation, current_user)
    return _page("panel/transcript.html", course, presentation, room, role, entries=entries, verdict=verdict)


@bp.route("/courses/<int:course_id>/panel/participation.csv")
@login_required
def participation_csv(course_id):
    """Staff: each student's panel participation in the course, as CSV."""
    course = course_or_404(course_id, need="staff")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([label for _key, label in PARTICIPATION_COLUMNS])
    for row in reports.participation(course):
        writer.writerow([row[key] for key, _label in PARTICIPATION_COLUMNS])
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="panel-participation-{course.id}.csv"'
    return no_store(response)


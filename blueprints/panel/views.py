"""HTTP pages of the live panel room: participant view, moderator console, projector,
transcript, and the staff's participation export.

Pages hold no room state: they render the frame and hand the room id to the page's script
through data-* attributes; the script receives the state over the ``/panel`` socket.
"""
from __future__ import annotations

import io

from defusedcsv import csv
from flask import Response, abort, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required

from blueprints.common import course_or_404, presentation_or_404
from blueprints.panel import bp
from core.extensions import db
from core.security import no_store
from core.timeutil import now_utc
from domain import policy
from domain.panel import commands, payloads, reports, schema, state
from models import OUTCOMES, PHASES, VERDICTS, Course, PanelRoom, Presentation

ROOM_URL = "/courses/<int:course_id>/presentations/<int:presentation_id>/panel"
PROJECTOR_QUEUE_SIZE = 5
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
    """The course, presentation, room (created and committed on first visit) and the viewer's
    room role."""
    course = course_or_404(course_id)
    presentation = presentation_or_404(course, presentation_id)
    role = policy.room_role(current_user, presentation)
    if role is None:
        abort(404)
    room = commands.room_for(presentation)
    db.session.commit()
    return course, presentation, room, role


def _page(template: str, course, presentation, room, role, **context):
    """Render a room page with what every room page needs."""
    return render_template(
        template,
        course=course,
        presentation=presentation,
        room=room,
        role=role,
        ask_phases=" ".join(policy.ASK_PHASES),
        verdict_phases=" ".join(policy.VERDICT_PHASES),
        labels=LABELS,
        limits=schema.LIMITS,
        **context,
    )


@bp.route(ROOM_URL)
@login_required
def participant(course_id, presentation_id):
    """The room as critics and authors see it; staff are taken to the moderator console."""
    course, presentation, room, role = _room_or_404(course_id, presentation_id)
    if role == policy.ROOM_MODERATOR:
        return redirect(url_for(".moderate", course_id=course.id, presentation_id=presentation.id))
    from_review = state.review_questions(room, current_user) if role == policy.ROOM_CRITIC else []
    return _page("panel/participant.html", course, presentation, room, role, from_review=from_review)


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
    """The projector view: large type, the live question and the top of the queue."""
    course, presentation, room, role = _room_or_404(course_id, presentation_id)
    return _page("panel/projector.html", course, presentation, room, role)


@bp.route(ROOM_URL + "/projector.json")
@login_required
def projector_state(course_id, presentation_id):
    """What the projector shows, built for the public audience whoever is logged in."""
    _course, _presentation, room, _role = _room_or_404(course_id, presentation_id)
    return no_store(jsonify(public_state(room, now_utc())))


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
    verdict = state.verdict_counts(room) if policy.audience_sees_verdict(role, room) else None
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


"""Each user's calendar feed address, its replacement, and the feed itself."""
from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from blueprints.common import found_or_404
from blueprints.schedule import bp
from core.extensions import db
from core.timeutil import now_utc
from domain import calendar as feeds


@bp.route("/calendar")
@login_required
def calendar():
    """The user's personal calendar feed address, and a way to replace it."""
    feed_url = url_for("schedule.calendar_feed", token=current_user.calendar_token, _external=True)
    return render_template("schedule/calendar.html", feed_url=feed_url)


@bp.route("/calendar/regenerate", methods=["POST"])
@login_required
def calendar_regenerate():
    """Replace the feed address; calendars subscribed to the old one stop receiving updates."""
    if FlaskForm().validate_on_submit():
        feeds.replace_token(current_user)
        db.session.commit()
        flash("Your calendar address was replaced. Subscribe again with the new one.", "success")
    return redirect(url_for("schedule.calendar"))


@bp.route("/calendar/<token>.ics")
def calendar_feed(token):
    """The personal iCalendar feed: class sessions and the user's own deadlines, no review data."""
    user = found_or_404(feeds.user_by_token(token))
    links = feeds.Links(
        host=request.host.split(":")[0],
        schedule_url=lambda course_id: url_for("schedule.index", course_id=course_id, _external=True),
        presentation_url=lambda course_id, presentation_id: url_for(
            "schedule.presentation", course_id=course_id, presentation_id=presentation_id, _external=True
        ),
    )
    response = Response(feeds.build_calendar(user, now_utc(), links), mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="colloquy.ics"'
    return response

"""Staff side: the delivery log per type with resend, and announcements to the class."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from blueprints.common import course_or_404, of_course_or_404
from blueprints.notifications import bp
from core.extensions import db
from core.timeutil import now_utc
from domain.notifications import announcements, delivery
from domain.notifications.kinds import KINDS
from models import DeliveryState, EmailDelivery

RESENDABLE = (DeliveryState.FAILED, DeliveryState.BOUNCED, DeliveryState.SKIPPED)


class AnnouncementForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired("Give the announcement a title."), Length(max=200)])
    body = TextAreaField("Message", validators=[Length(max=5000)])
    important = BooleanField("Important: e-mail everyone now, whatever their settings")


@bp.route("/courses/<int:course_id>/notifications/log")
@login_required
def delivery_log(course_id):
    """Staff: the course's e-mails per type, with their outcome (sent, failed, bounced)."""
    course = course_or_404(course_id, need="staff")
    kind = request.args.get("kind") or None
    if kind is not None and kind not in KINDS:
        kind = None
    rows = delivery.delivery_log(course.id, kind)
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.state] = totals.get(row.state, 0) + 1
    return render_template("notifications/log.html", course=course, rows=rows, kind=kind, kinds=KINDS.values(),
                           totals=totals, resendable=RESENDABLE, form=FlaskForm())


@bp.route("/courses/<int:course_id>/notifications/log/<int:delivery_id>/resend", methods=["POST"])
@login_required
def resend(course_id, delivery_id):
    """Staff: send a failed, bounced or skipped e-mail again."""
    course = course_or_404(course_id, need="staff")
    if not FlaskForm().validate_on_submit():
        abort(400)
    row = of_course_or_404(EmailDelivery, course, delivery_id)
    if row.state not in RESENDABLE:
        flash("Only failed, bounced or skipped e-mails are sent again.", "error")
    else:
        delivery.resend(row, now_utc())
        db.session.commit()
        flash("The e-mail will be sent again on the sender's next run.", "success")
    return redirect(url_for("notifications.delivery_log", course_id=course.id, kind=request.form.get("kind") or None))


@bp.route("/courses/<int:course_id>/announcements/new", methods=["GET", "POST"])
@login_required
def announce(course_id):
    """Staff: an announcement to the class; an important one always goes by e-mail."""
    course = course_or_404(course_id, need="staff")
    form = AnnouncementForm()
    if form.validate_on_submit():
        announcements.announce(course, current_user, form.title.data, form.body.data, form.important.data, now_utc())
        db.session.commit()
        flash("Announcement sent.", "success")
        return redirect(url_for("courses.home", course_id=course.id))
    return render_template("notifications/announce.html", course=course, form=form)

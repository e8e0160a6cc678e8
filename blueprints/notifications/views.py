"""A person's notifications: the list, mark read, open, preferences and unsubscribe."""
from __future__ import annotations

import math

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from blueprints.notifications import bp
from blueprints.notifications.sender import read_unsubscribe_token
from core.extensions import csrf, db
from core.timeutil import now_utc
from domain import policy
from domain.errors import Invalid
from domain.notifications import outbox
from domain.notifications import preferences as prefs
from domain.notifications.kinds import KINDS
from models import Notification, NotifyChannel, NotifyMode

PER_PAGE = 20


@bp.app_context_processor
def unread_notifications():
    """The header's unread count, decided here for every page of a logged-in person."""
    if not current_user.is_authenticated:
        return {}
    return {"notifications_unread": outbox.unread_count(current_user.id)}


@bp.route("/notifications")
@login_required
def index():
    """The person's notifications, newest first, as the policy lets them read each now."""
    now = now_utc()
    total = db.session.scalar(db.select(db.func.count()).select_from(outbox.inbox_query(current_user.id).subquery()))
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    rows = db.session.scalars(outbox.inbox_query(current_user.id).offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    items = [(row, policy.notice_for(current_user, row, now)) for row in rows]
    return render_template("notifications/index.html", items=items, page=page, pages=pages, form=FlaskForm())


def _own_or_404(notification_id: int) -> Notification:
    row = db.session.get(Notification, notification_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    return row


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"])
@login_required
def open_notification(notification_id):
    """Mark the notification read and go to the thing it is about (if the policy still shows it)."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    now = now_utc()
    row = _own_or_404(notification_id)
    notice = policy.notice_for(current_user, row, now)
    outbox.mark_read(current_user.id, row.id, now)
    db.session.commit()
    if notice is None:
        flash("That notification is no longer current.", "info")
        return redirect(url_for("notifications.index"))
    return redirect(url_for(notice.endpoint, **notice.values))


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id):
    """Mark one notification read."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    outbox.mark_read(current_user.id, _own_or_404(notification_id).id, now_utc())
    db.session.commit()
    return redirect(url_for("notifications.index", page=request.form.get("page", 1, type=int)))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def mark_all_read():
    """Mark every notification read."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    count = outbox.mark_read(current_user.id, None, now_utc())
    db.session.commit()
    flash(f"{count} notification{'s' if count != 1 else ''} marked read.", "success")
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    """Per type and channel: now, daily digest or off; and the digest's hour and zone."""
    form = FlaskForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            for kind in KINDS:
                for channel in prefs.CHANNEL_MODES:
                    chosen = request.form.get(f"mode-{kind}-{channel}")
                    if chosen is not None:
                        prefs.set_mode(current_user.id, kind, channel, chosen)
            prefs.save_settings(current_user.id, request.form.get("digest_hour", 8, type=int),
                                      (request.form.get("timezone") or "").strip())
        except Invalid as problem:
            db.session.rollback()
            flash(problem.message, "error")
        else:
            db.session.commit()
            flash("Notification settings saved.", "success")
            return redirect(url_for("notifications.preferences"))
    return render_template(
        "notifications/preferences.html", form=form, kinds=KINDS.values(), channels=prefs.CHANNEL_MODES,
        modes=prefs.modes_of(current_user.id), settings=prefs.settings_of(current_user.id),
        labels={NotifyMode.NOW: "Right away", NotifyMode.DIGEST: "Daily digest", NotifyMode.OFF: "Off",
                NotifyChannel.IN_APP: "In Colloquy", NotifyChannel.EMAIL: "E-mail"},
    )


@bp.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: the mail client posts without a session; the token is signed
def unsubscribe(token):
    """Turn the e-mail types of a signed link off (POST), after a confirmation page (GET)."""
    found = read_unsubscribe_token(token)
    if found is None:
        abort(400)  # not a link we signed: the signature is this route's proof instead of a CSRF token
    user_id, kinds = found
    labels = [KINDS[k].label for k in kinds]
    if request.method == "POST":
        for kind in kinds:
            prefs.set_mode(user_id, kind, NotifyChannel.EMAIL, NotifyMode.OFF)
        db.session.commit()
        return render_template("notifications/unsubscribed.html", labels=labels)
    return render_template("notifications/unsubscribe.html", labels=labels, token=token)

"""Notifications on the web: the in-app list, preferences, unsubscribe, the staff delivery log
and announcements; the e-mail sender, run by the server in the background or by
``flask notify run-due``."""
from flask import Blueprint

bp = Blueprint("notifications", __name__, cli_group="notify")

from blueprints.notifications import cli, staff, views  # noqa: E402,F401
from blueprints.notifications.sender import start_in_server  # noqa: E402,F401

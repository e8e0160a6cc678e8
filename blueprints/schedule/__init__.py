"""Schedule: class sessions, presentation sign-up, presentations with slides and summary,
and each user's calendar feed (SPEC §2.2–2.5)."""
from flask import Blueprint

from domain.schedule import group_members

bp = Blueprint("schedule", __name__)
bp.add_app_template_global(group_members, "group_members")

from blueprints.schedule import calendar, presentations, sessions, signup, summaries  # noqa: E402,F401  (routes)

"""Courses: dashboard, course home, settings, roster (with CSV upload), join code."""
from flask import Blueprint

from domain import roster

bp = Blueprint("courses", __name__)
bp.add_app_template_filter(roster.role_label, "role_label")

from blueprints.courses import dashboard, home, members, settings  # noqa: E402,F401  (routes)

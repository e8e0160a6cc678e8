"""schedule (placeholder module, replaced by the feature)."""
from flask import Blueprint, render_template
from flask_login import login_required

from blueprints.common import course_or_404

bp = Blueprint("schedule", __name__)


@bp.route("/courses/<int:course_id>/schedule")
@login_required
def index(course_id):
    """schedule page."""
    course = course_or_404(course_id)
    return render_template("courses/home.html", course=course)

"""search (placeholder module, replaced by the feature)."""
from flask import Blueprint, render_template
from flask_login import login_required

from blueprints.common import course_or_404

bp = Blueprint("search", __name__)


@bp.route("/courses/<int:course_id>/search")
@login_required
def search(course_id):
    """search page."""
    course = course_or_404(course_id)
    return render_template("courses/home.html", course=course)

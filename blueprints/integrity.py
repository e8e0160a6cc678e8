"""integrity (placeholder module, replaced by the feature)."""
from flask import Blueprint, render_template
from flask_login import login_required

from blueprints.common import course_or_404

bp = Blueprint("integrity", __name__)


@bp.route("/courses/<int:course_id>/integrity")
@login_required
def overview(course_id):
    """integrity page."""
    course = course_or_404(course_id)
    return render_template("courses/home.html", course=course)

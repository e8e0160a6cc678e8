"""reviews (placeholder module, replaced by the feature)."""
from flask import Blueprint, render_template
from flask_login import login_required

from blueprints.common import course_or_404

bp = Blueprint("reviews", __name__)


@bp.route("/courses/<int:course_id>/reviews")
@login_required
def mine(course_id):
    """reviews page."""
    course = course_or_404(course_id)
    return render_template("courses/home.html", course=course)

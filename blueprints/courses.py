"""Courses: dashboard, course home, settings, roster, join code."""
from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from blueprints.common import course_or_404
from extensions import db
from models import Course, Enrollment

bp = Blueprint("courses", __name__)


@bp.route("/")
@login_required
def dashboard():
    """The courses the user is enrolled in."""
    rows = db.session.execute(
        select(Course, Enrollment.role)
        .join(Enrollment, Enrollment.course_id == Course.id)
        .where(Enrollment.user_id == current_user.id)
        .order_by(Course.title)
    ).all()
    return render_template("courses/dashboard.html", rows=rows)


@bp.route("/courses/<int:course_id>")
@login_required
def home(course_id):
    """Course home page."""
    course = course_or_404(course_id)
    return render_template("courses/home.html", course=course)


@bp.route("/courses/<int:course_id>/roster")
@login_required
def roster(course_id):
    """Roster (staff)."""
    course = course_or_404(course_id, need="staff")
    return render_template("courses/home.html", course=course)


@bp.route("/join", methods=["GET", "POST"])
@login_required
def join():
    """Join a course with its code."""
    return render_template("courses/dashboard.html", rows=[])

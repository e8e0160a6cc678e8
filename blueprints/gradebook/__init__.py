"""The gradebook (SPEC §6): staff's grid, per-student pages, grade entry on rubrics, posting,
weights, rubrics, the discussion proposal and CSV exports; a student's own posted grades."""
from flask import Blueprint

bp = Blueprint("gradebook", __name__)

from blueprints.gradebook import discussion, settings, staff, student  # noqa: E402,F401


@bp.app_template_filter("grade")
def grade_filter(value) -> str:
    """A percent as every page writes it: ``round_grade`` to one decimal, "—" when there is none."""
    from domain.grades.arithmetic import round_grade

    rounded = round_grade(value)
    return "—" if rounded is None else f"{rounded:.1f}"

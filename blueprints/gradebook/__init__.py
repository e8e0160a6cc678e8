"""The gradebook (SPEC §6): staff's grid, per-student pages, grade entry on rubrics, posting,
weights, rubrics, the discussion proposal and CSV exports; a student's own posted grades."""
from flask import Blueprint
from markupsafe import Markup, escape

bp = Blueprint("gradebook", __name__)


@bp.app_template_filter("grade")
def grade_filter(value) -> str:
    """A percent as every page writes it: ``round_grade`` to one decimal, "—" when there is none."""
    from domain.grades.arithmetic import round_grade

    rounded = round_grade(value)
    return "—" if rounded is None else f"{rounded:.1f}"


NOT_OWED = Markup('<span class="muted" title="not owed">n/a</span>')
UNGRADED = Markup('<span class="muted">—</span>')
DROPPED = Markup(' <span class="badge muted">dropped</span>')
LATE = Markup(' <span class="badge warn">late</span>')
MISSING = Markup(' <span class="badge bad">missing</span>')


@bp.app_template_filter("score_cell")
def score_cell(cell) -> Markup:
    """A cell as every page shows it: its counted percent (or "n/a", "—") with the dropped, late
    and missing marks."""
    if not cell.owed:
        shown = NOT_OWED
    elif cell.adjusted is not None:
        shown = escape(grade_filter(cell.adjusted)) + (DROPPED if cell.dropped else "")
    else:
        shown = UNGRADED
    return shown + (LATE if cell.late else "") + (MISSING if cell.missing else "")


from blueprints.gradebook import discussion, settings, staff, student  # noqa: E402,F401

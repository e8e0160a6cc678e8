"""The gradebook (SPEC §6): staff's grid, per-student pages, grade entry on rubrics, posting,
weights, rubrics, the discussion proposal and CSV exports; a student's own posted grades."""
from functools import lru_cache

from flask import Blueprint
from markupsafe import Markup

bp = Blueprint("gradebook", __name__)


@bp.app_template_filter("grade")
@lru_cache(maxsize=16_384, typed=True)
def grade_filter(value) -> str:
    """A percent as every page writes it: ``round_grade`` to one decimal, "—" when there is none
    (remembered by value: a class's grid repeats few distinct figures)."""
    from domain.grades.arithmetic import round_grade

    rounded = round_grade(value)
    return "—" if rounded is None else f"{rounded + 0.0:.1f}"  # + 0.0: no "-0.0"


NOT_OWED = '<span class="muted" title="not owed">n/a</span>'
UNGRADED = '<span class="muted">—</span>'
DROPPED = ' <span class="badge muted">dropped</span>'
LATE = ' <span class="badge warn">late</span>'
MISSING = ' <span class="badge bad">missing</span>'


def cell_html(cell) -> str:
    """A cell's markup as plain text, safe as it stands: fixed tags around a figure written by
    ``grade_filter`` (digits, a sign, a point or "—"), so many can be joined before one ``Markup``."""
    if not cell.owed:
        shown = NOT_OWED
    elif cell.adjusted is not None:
        shown = grade_filter(cell.adjusted) + DROPPED if cell.dropped else grade_filter(cell.adjusted)
    else:
        shown = UNGRADED
    if cell.late:
        shown += LATE
    if cell.missing:
        shown += MISSING
    return shown


@bp.app_template_filter("score_cell")
def score_cell(cell) -> Markup:
    """A cell as every page shows it: its counted percent (or "n/a", "—") with the dropped, late
    and missing marks."""
    return Markup(cell_html(cell))


from blueprints.gradebook import discussion, settings, staff, student  # noqa: E402,F401

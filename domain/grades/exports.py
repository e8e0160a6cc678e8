"""The gradebook as CSV, safe against spreadsheet formulas (defusedcsv): the full grid, and the
layout an LMS gradebook import takes (identifier, name, one column per category, total)."""
from __future__ import annotations

import io

from defusedcsv import csv

from domain.grades.arithmetic import round_grade
from domain.grades.gradebook import Book

LAYOUTS = ("full", "lms")


def _shown_once(value) -> str:
    rounded = round_grade(value)
    return "" if rounded is None else f"{rounded:g}"


def _memo(fn):
    """``fn`` remembered by its argument's repr for one export: a class shares few distinct
    percents, and rounding each once keeps the export's cost in its rows, not in ``Decimal``."""
    seen: dict = {}

    def remembered(value):
        key = repr(value)
        if key not in seen:
            seen[key] = fn(value)
        return seen[key]

    return remembered


def gradebook_csv(book: Book, layout: str = "full") -> str:
    """The book as CSV text in the given layout; figures rounded by ``round_grade``."""
    out = io.StringIO()
    writer = csv.writer(out)
    shown = _memo(_shown_once)
    if layout == "lms":
        writer.writerow(["identifier", "name", *[c.title for c in book.categories], "total"])
        for row in book.rows:
            writer.writerow([row.email, row.name, *[shown(row.categories[c.id]) for c in book.categories],
                             shown(row.earned)])
        return out.getvalue()
    item_columns = [f"{i.title} (%)" for i in book.items]
    writer.writerow(["identifier", "name", *item_columns, *[f"{c.title} (%)" for c in book.categories],
                     "total", "counted", "late", "missing"])
    for row in book.rows:
        cells = [row.cells[i.id] for i in book.items]
        writer.writerow([
            row.email,
            row.name,
            *[shown(c.adjusted) if c.owed else "n/a" for c in cells],
            *[shown(row.categories[c.id]) for c in book.categories],
            shown(row.earned),
            shown(row.counted),
            sum(1 for c in cells if c.late),
            sum(1 for c in cells if c.missing),
        ])
    return out.getvalue()

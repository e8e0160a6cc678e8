"""The gradebook as CSV, safe against spreadsheet formulas (defusedcsv): the full grid, and the
layout an LMS gradebook import takes (identifier, name, one column per category, total)."""
from __future__ import annotations

import io
from functools import lru_cache

from defusedcsv import csv

from domain.grades.arithmetic import round_grade
from domain.grades.gradebook import Book

LAYOUTS = ("full", "lms")


@lru_cache(maxsize=16_384, typed=True)
def shown(value) -> str:
    """A figure as the export writes it, ``round_grade``'d ("" for none); remembered by value,
    since a class shares few distinct percents."""
    rounded = round_grade(value)
    return "" if rounded is None else f"{rounded + 0.0:g}"  # + 0.0: no "-0"


def gradebook_csv(book: Book, layout: str = "full") -> str:
    """The book as CSV text in the given layout; figures rounded by ``round_grade``."""
    out = io.StringIO()
    writer = csv.writer(out)
    category_ids = [c.id for c in book.categories]
    if layout == "lms":
        writer.writerow(["identifier", "name", *[c.title for c in book.categories], "total"])
        for row in book.rows:
            writer.writerow([row.email, row.name, *[shown(row.categories[c]) for c in category_ids],
                             shown(row.earned)])
        return out.getvalue()
    item_columns = [f"{i.title} (%)" for i in book.items]
    writer.writerow(["identifier", "name", *item_columns, *[f"{c.title} (%)" for c in book.categories],
                     "total", "counted", "late", "missing"])
    item_ids = [i.id for i in book.items]
    for row in book.rows:
        cells = [row.cells[i] for i in item_ids]
        writer.writerow([
            row.email,
            row.name,
            *[shown(c.adjusted) if c.owed else "n/a" for c in cells],
            *[shown(row.categories[c]) for c in category_ids],
            shown(row.earned),
            shown(row.counted),
            sum(1 for c in cells if c.late),
            sum(1 for c in cells if c.missing),
        ])
    return out.getvalue()

"""The staff project overview (SPEC §5, issue 8 item 6): every group × milestone with its state
(on time, late, missing, not due), extension and the topic's approval, filtered; and the same
as CSV (written with defusedcsv, so no cell is read as a spreadsheet formula)."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from defusedcsv import csv

from core.timeutil import format_local
from domain import policy
from domain.project.groups import course_groups
from domain.project.milestones import course_milestones, graded_version, milestone_status
from models import Course, Milestone, MilestoneSubmission, ProjectGroup

STATES = ("on time", "late", "missing", "not due")


@dataclass(frozen=True)
class Cell:
    """One group's standing on one milestone."""

    milestone: Milestone
    state: str
    deadline: datetime
    extended: bool
    graded: Optional[MilestoneSubmission]


@dataclass(frozen=True)
class Row:
    """One group with its members and a cell per milestone."""

    group: ProjectGroup
    member_names: list[str]
    cells: list[Cell]


def status_grid(course: Course, now: datetime, state: str = "", topic: str = "") -> tuple[list[Milestone], list[Row]]:
    """The milestones and one row per group; ``state`` keeps groups with a cell in that state,
    ``topic`` groups with that topic status."""
    milestones = course_milestones(course)
    rows = []
    for group in course_groups(course):
        if topic and group.topic_status != topic:
            continue
        cells = [
            Cell(
                milestone=m,
                state=milestone_status(group, m, now),
                deadline=policy.group_deadline(m, group),
                extended=policy.milestone_extension(m, group) is not None,
                graded=graded_version(group, m),
            )
            for m in milestones
        ]
        if state and not any(c.state == state for c in cells):
            continue
        rows.append(Row(group=group, member_names=[m.user.display_name for m in group.members], cells=cells))
    return milestones, rows


def status_csv(course: Course, now: datetime) -> str:
    """Groups and milestone status as CSV text: one line per group."""
    milestones, rows = status_grid(course, now)
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["group", "members", "solo", "topic"]
    for m in milestones:
        header += [f"{m.kind} status", f"{m.kind} deadline", f"{m.kind} extended", f"{m.kind} graded version", f"{m.kind} submitted at"]
    writer.writerow(header)
    for row in rows:
        line = [row.group.name, "; ".join(row.member_names), "yes" if row.group.solo else "no", row.group.topic_status]
        for cell in row.cells:
            line += [
                cell.state,
                format_local(cell.deadline, course.timezone),
                "yes" if cell.extended else "no",
                cell.graded.version if cell.graded else "",
                format_local(cell.graded.submitted_at, course.timezone) if cell.graded else "",
            ]
        writer.writerow(line)
    return out.getvalue()

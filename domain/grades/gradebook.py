"""The gradebook read model: every student × item with scores, late and missing marks,
category subtotals and the running total, read in a constant number of queries.

Staff read the whole book; a student's view is the same book built with ``posted_only`` for
their own row, so nothing unposted enters it (G1). A review graded on the review page
(``Review.grade``, 0–10) where the gradebook holds no grade of its own counts as that item's
score ×10, with the late penalty of the review's own times; grading it on the rubric here
replaces it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Optional

from sqlalchemy import DateTime, null, select, type_coerce

from core.extensions import db
from domain import policy
from domain.grades.arithmetic import (
    adjusted_score,
    dropped_indices,
    histogram,
    late_days,
    lateness_label,
    median,
    running_total,
    weighted_mean,
)
from domain.grades.penalties import extension_moves, milestone_lateness, penalty_for, seconds_late
from domain.grades.setup import ensure_gradebook, settings_for
from models import (
    MEMBER_PRESENTING,
    REVIEW_SUBMITTED,
    ROLE_STUDENT,
    Course,
    Enrollment,
    Extension,
    Grade,
    GradebookSettings,
    GradeCategory,
    GradeItem,
    Milestone,
    MilestoneExtension,
    MilestoneSubmission,
    Presentation,
    PresentationMember,
    ProjectMember,
    Review,
    Rubric,
    User,
)

REVIEW_PAGE_SCALE = 10.0  # Review.grade is out of 10


@dataclass(slots=True)
class Cell:
    """One student's standing on one item."""

    item_id: int
    owed: bool = True
    score: Optional[float] = None  # percent before the late adjustment
    adjusted: Optional[float] = None  # percent that counts
    penalty: float = 0.0
    penalty_line: str = ""
    waived: bool = False
    waive_reason: str = ""
    comment: str = ""
    rubric_points: dict = field(default_factory=dict)
    grade_id: Optional[int] = None
    source: str = ""  # "gradebook", "review page" or "" (ungraded)
    late: bool = False
    missing: bool = False
    dropped: bool = False

    @property
    def graded(self) -> bool:
        return self.adjusted is not None


@dataclass
class Row:
    """A student's line of the book."""

    student_id: int
    name: str
    email: str
    cells: dict[int, Cell]
    categories: dict[int, Optional[float]] = field(default_factory=dict)
    earned: float = 0.0
    counted: float = 0.0
    ungraded: list[str] = field(default_factory=list)


@dataclass
class Book:
    """The course's gradebook as read at ``now``."""

    course: Course
    settings: GradebookSettings
    categories: list[GradeCategory]
    items: list[GradeItem]
    rows: list[Row]
    rubrics: dict[str, Rubric]

    def items_of(self, category: GradeCategory) -> list[GradeItem]:
        return [i for i in self.items if i.category_id == category.id]

    def item(self, item_id: int) -> Optional[GradeItem]:
        return next((i for i in self.items if i.id == item_id), None)

    def row(self, student_id: int) -> Optional[Row]:
        return next((r for r in self.rows if r.student_id == student_id), None)


def read_book(course: Course, now: datetime, *, student_id: Optional[int] = None, posted_only: bool = False,
              rubric_points: bool = True) -> Book:
    """The gradebook (one student's row when ``student_id``); ``posted_only`` leaves out every
    item not yet posted at ``now``, as a student must see it; without ``rubric_points`` the
    cells carry no rubric lines (for pages and exports that show scores only)."""
    categories = ensure_gradebook(course)
    settings = settings_for(course)
    items = list(
        db.session.scalars(select(GradeItem).where(GradeItem.course_id == course.id)
                           .order_by(GradeItem.position, GradeItem.id))
    )
    order = {c.id: c.position for c in categories}
    items.sort(key=lambda i: (order[i.category_id], i.position, i.id))
    held = [i for i in items if not policy.is_posted(i, now)] if posted_only else []
    if posted_only:
        items = [i for i in items if policy.is_posted(i, now)]
    rubrics = {r.kind: r for r in db.session.scalars(select(Rubric).where(Rubric.course_id == course.id))}
    students_q = (
        select(User.id, User.display_name, User.email)
        .join(Enrollment, Enrollment.user_id == User.id)
        .where(Enrollment.course_id == course.id, Enrollment.role == ROLE_STUDENT)
        .order_by(User.display_name, User.id)
    )
    if student_id is not None:
        students_q = students_q.where(User.id == student_id)
    students = _rows(students_q).all()
    facts = _facts(course, student_id)
    grades = _grades(course, [i.id for i in items], student_id, rubric_points)
    terms = _Terms(course.grace_minutes, settings.late_floor_percent, _penalty_rule(course, settings))
    now = _naive_utc(now)
    plans = [_plan(i, facts, terms) for i in items]
    by_category = [(c, [n for n, i in enumerate(items) if i.category_id == c.id]) for c in categories]
    held_titles = [(i.presentation_id, i.title) for i in held]
    rows = []
    for s in students:
        row_cells = [_cell(plan, s.id, grades.get((plan.item_id, s.id)), facts, terms, now) for plan in plans]
        row = Row(s.id, s.display_name, s.email, {c.item_id: c for c in row_cells})
        _subtotals(row, row_cells, by_category, plans)
        # Items still held are "not graded yet" to a student, whether or not staff graded them.
        row.ungraded += [title for presentation_id, title in held_titles
                         if (presentation_id, s.id) not in facts.authors]
        rows.append(row)
    return Book(course, settings, categories, items, rows, rubrics)


def _penalty_rule(course: Course, settings: GradebookSettings) -> Callable[[int], float]:
    """The course's penalty by late seconds, worked out once per day or part day late (the rule
    reads nothing else of the lateness)."""
    by_days: dict[int, float] = {}

    def penalty(late_seconds: int) -> float:
        days = late_days(late_seconds)
        if days not in by_days:
            by_days[days] = penalty_for(course, settings, late_seconds)
        return by_days[days]

    return penalty


def _naive_utc(moment: datetime) -> datetime:
    """``moment`` as the naive UTC value the database holds: the read model compares instants
    in that one representation rather than converting every stored time."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo is not None else moment


def student_cell(course: Course, item: GradeItem, student_id: int, now: datetime,
                 *, posted_only: bool) -> tuple[Book, Optional[Cell]]:
    """One student's book and their cell of ``item`` (None when the item is held and
    ``posted_only``, or the student is not in the course), as the review page shows it."""
    book = read_book(course, now, student_id=student_id, posted_only=posted_only)
    row = book.row(student_id)
    return book, (row.cells.get(item.id) if row is not None else None)


@dataclass
class _Facts:
    reviews: dict
    extensions: dict
    authors: set
    presenters: set
    groups: dict
    milestone_versions: dict
    milestone_deadlines: dict
    review_deadlines: dict


@dataclass(frozen=True)
class _Terms:
    """The course's figures every cell reads: grace minutes, the late floor, its penalty rule."""

    grace_minutes: int
    floor: float
    penalty: Callable[[int], float]  # late seconds -> percent


@dataclass(frozen=True)
class _Plan:
    """What a cell needs of its item, read once per item rather than once per student."""

    item_id: int
    title: str
    weight: float
    presentation_id: Optional[int]
    milestone_kind: Optional[str]
    review_deadline: Optional[datetime]
    closes_at: Optional[datetime]  # the review's last on-time instant without an extension
    milestone_deadline: Optional[datetime]


def _plan(item: GradeItem, facts: _Facts, terms: _Terms) -> _Plan:
    deadline = facts.review_deadlines.get(item.presentation_id) if item.presentation_id is not None else None
    return _Plan(
        item_id=item.id, title=item.title, weight=item.weight,
        presentation_id=item.presentation_id, milestone_kind=item.milestone_kind, review_deadline=deadline,
        closes_at=extension_moves(deadline, None, terms.grace_minutes) if deadline is not None else None,
        milestone_deadline=facts.milestone_deadlines.get(item.milestone_kind) if item.milestone_kind else None,
    )


def _grades(course: Course, item_ids: list[int], student_id: Optional[int], rubric_points: bool) -> dict:
    """The stored grades of the items as plain rows keyed by (item, student), one query; the
    rubric points (JSON, decoded per row) only when asked for."""
    if not item_ids:
        return {}
    points = Grade.rubric_points if rubric_points else null().label("rubric_points")
    grades_q = (select(Grade.id, Grade.item_id, Grade.student_id, Grade.score, Grade.comment, points,
                       Grade.penalty_percent, Grade.penalty_waived, Grade.waive_reason, Grade.late_seconds)
                .where(Grade.course_id == course.id, Grade.item_id.in_(item_ids)))
    if student_id is not None:
        grades_q = grades_q.where(Grade.student_id == student_id)
    return {(g.item_id, g.student_id): g for g in _rows(grades_q)}


def _rows(statement):
    """The rows of a select of plain columns, run on the session's connection: the session's
    autoflush first, as ``Session.execute`` would, then no ORM loading per row (there are no
    entities to load, and at a class's size that loading cost more than the query)."""
    if db.session.autoflush:
        db.session.flush()
    return db.session.connection().execute(statement)


def _naive(column):
    """A UTC time column read as the naive UTC value it stores (see ``_naive_utc``)."""
    return type_coerce(column, DateTime)


def _facts(course: Course, student_id: Optional[int]) -> _Facts:
    """What the marks are made of, one query each: reviews, extensions, authorship, groups,
    milestones, review deadlines; every time in naive UTC."""
    def only(q, column):
        return q.where(column == student_id) if student_id is not None else q

    # Only submitted reviews count: a draft is marked as nothing submitted.
    reviews = {
        (presentation_id, author_id): (submitted_at, grade, feedback)
        for presentation_id, author_id, submitted_at, grade, feedback in _rows(
            only(select(Review.presentation_id, Review.author_id, _naive(Review.submitted_at), Review.grade,
                        Review.feedback)
                 .join(Presentation, Presentation.id == Review.presentation_id)
                 .where(Presentation.course_id == course.id, Review.status == REVIEW_SUBMITTED),
                 Review.author_id)
        )
    }
    extensions = {
        (presentation_id, user_id): deadline
        for presentation_id, user_id, deadline in _rows(
            only(select(Extension.presentation_id, Extension.user_id, _naive(Extension.deadline))
                 .where(Extension.course_id == course.id), Extension.user_id))
    }
    members = _rows(
        only(select(PresentationMember.presentation_id, PresentationMember.user_id, PresentationMember.kind)
             .where(PresentationMember.course_id == course.id), PresentationMember.user_id)
    ).all()
    groups = dict(_rows(only(select(ProjectMember.user_id, ProjectMember.group_id)
                                          .where(ProjectMember.course_id == course.id), ProjectMember.user_id)).all())
    versions: dict = {}
    deadlines: dict = {}
    for kind, deadline, group_id, at, extended in _rows(
        select(Milestone.kind, _naive(Milestone.deadline).label("deadline"), MilestoneSubmission.group_id,
               _naive(MilestoneSubmission.submitted_at).label("submitted_at"),
               _naive(MilestoneExtension.deadline).label("extended"))
        .outerjoin(MilestoneSubmission, MilestoneSubmission.milestone_id == Milestone.id)
        .outerjoin(MilestoneExtension, (MilestoneExtension.milestone_id == Milestone.id)
                   & (MilestoneExtension.group_id == MilestoneSubmission.group_id))
        .where(Milestone.course_id == course.id)
    ):
        deadlines[kind] = deadline
        if group_id is not None:
            versions.setdefault((kind, group_id), []).append((at, extension_moves(deadline, extended,
                                                                                  course.grace_minutes)))
    review_deadlines = dict(_rows(
        select(Presentation.id, _naive(Presentation.review_deadline)).where(Presentation.course_id == course.id)).all())
    return _Facts(
        reviews=reviews,
        extensions=extensions,
        authors={(m.presentation_id, m.user_id) for m in members},
        presenters={m.user_id for m in members if m.kind == MEMBER_PRESENTING},
        groups=groups,
        milestone_versions=versions,
        milestone_deadlines=deadlines,
        review_deadlines=review_deadlines,
    )


def _cell(plan: _Plan, student_id: int, grade, facts: _Facts, terms: _Terms, now) -> Cell:
    cell = Cell(plan.item_id)
    late_seconds = 0
    if plan.presentation_id is not None:
        key = (plan.presentation_id, student_id)
        if key in facts.authors:
            cell.owed = False
            return cell
        extended = facts.extensions.get(key)
        closes_at = (plan.closes_at if extended is None
                     else extension_moves(plan.review_deadline, extended, terms.grace_minutes))
        review = facts.reviews.get(key)
        if review is not None:
            submitted_at, review_grade, feedback = review
            late_seconds = seconds_late(submitted_at, closes_at)
            if grade is None and review_grade is not None:
                cell.source = "review page"
                cell.score = 100.0 * review_grade / REVIEW_PAGE_SCALE
                cell.comment = feedback or ""
                cell.penalty = terms.penalty(late_seconds)
        else:
            cell.missing = now > closes_at
    elif plan.milestone_kind is not None:
        group_id = facts.groups.get(student_id)
        versions = facts.milestone_versions.get((plan.milestone_kind, group_id), [])
        late_seconds = milestone_lateness(versions)
        deadline = plan.milestone_deadline
        cell.missing = not versions and deadline is not None and now > deadline
    if grade is not None:
        cell.source = "gradebook"
        cell.grade_id = grade.id
        cell.score = grade.score
        cell.comment = grade.comment
        cell.rubric_points = grade.rubric_points or {}
        cell.penalty = grade.penalty_percent
        cell.waived = grade.penalty_waived
        cell.waive_reason = grade.waive_reason
        late_seconds = grade.late_seconds
    cell.late = late_seconds > 0
    if cell.penalty > 0 and cell.score is not None:
        cell.penalty_line = lateness_label(late_seconds, cell.penalty)
    cell.adjusted = adjusted_score(cell.score, cell.penalty, terms.floor, cell.waived)
    return cell


def _subtotals(row: Row, cells: list[Cell], by_category: list, plans: list[_Plan]) -> None:
    """Category percents (after drops, marked on the dropped cells) and the running total;
    ``cells`` and ``plans`` run in the book's item order, ``by_category`` holds each category with
    the positions of its items."""
    pairs = []
    for category, positions in by_category:
        graded, scored = [], []
        for n in positions:
            cell = cells[n]
            if not cell.owed:
                continue
            if cell.adjusted is None:
                row.ungraded.append(plans[n].title)
            else:
                graded.append(cell)
                scored.append((cell.adjusted, plans[n].weight))
        dropped = dropped_indices(scored, category.drop_lowest)
        for index in dropped:
            graded[index].dropped = True
        percent = weighted_mean([p for i, p in enumerate(scored) if i not in dropped] if dropped else scored)
        row.categories[category.id] = percent
        pairs.append((category.weight, percent))
    row.earned, row.counted = running_total(pairs)


@dataclass
class ItemStatistics:
    """Class statistics of one item (mean, median, a ten-band histogram)."""

    count: int
    mean: Optional[float]
    median: Optional[float]
    bands: list[int]


def item_statistics(course: Course, item: GradeItem, now: datetime) -> ItemStatistics:
    """Statistics of the item's counted grades over the whole class."""
    book = read_book(course, now)
    values = [r.cells[item.id].adjusted for r in book.rows if item.id in r.cells and r.cells[item.id].graded]
    return statistics_of(values)


def statistics_of(values: list[float]) -> ItemStatistics:
    """Mean, median and histogram of percents."""
    return ItemStatistics(len(values), sum(values) / len(values) if values else None, median(values), histogram(values))

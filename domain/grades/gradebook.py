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
from types import MappingProxyType
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

from sqlalchemy import DateTime, literal, null, select, type_coerce

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
              details: bool = True) -> Book:
    """The gradebook (one student's row when ``student_id``); ``posted_only`` leaves out every
    item not yet posted at ``now``, as a student must see it; without ``details`` the cells carry
    no rubric lines and no comments (for pages and exports that show scores only)."""
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
    students = _rows(students_q)
    student_ids = [s.id for s in students]
    facts = _facts(course, student_id, details)
    grades = _grades(course, [i.id for i in items], student_id, details)
    terms = _Terms(timedelta(minutes=course.grace_minutes or 0), settings.late_floor_percent,
                   _penalty_rule(course, settings), _naive_utc(now))
    plans = [_plan(i, facts, terms) for i in items]
    columns = [_column(plan, student_ids, grades.get(plan.item_id, {}), facts, terms) for plan in plans]
    by_category = [(c, [n for n, i in enumerate(items) if i.category_id == c.id]) for c in categories]
    held_titles = [(i.presentation_id, i.title) for i in held]
    item_ids = [i.id for i in items]
    rows = []
    for n, s in enumerate(students):
        row_cells = [column[n] for column in columns]
        row = Row(s.id, s.display_name, s.email, dict(zip(item_ids, row_cells)))
        _subtotals(row, row_cells, by_category, plans)
        # Items still held are "not graded yet" to a student, whether or not staff graded them.
        row.ungraded += [title for presentation_id, title in held_titles
                         if s.id not in facts.authors.get(presentation_id, ())]
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
    """What the marks are made of, by presentation where a review item reads them."""

    reviews: dict  # presentation -> {author: (submitted_at, grade, feedback)}
    extensions: dict  # presentation -> {student: deadline}
    authors: dict  # presentation -> {its presenting and summary members}
    groups: dict  # student -> project group
    milestone_versions: dict  # (kind, group) -> [(submitted_at, reference deadline)]
    milestone_deadlines: dict  # kind -> deadline
    review_deadlines: dict  # presentation -> review deadline


@dataclass(frozen=True)
class _Terms:
    """The course's figures every cell reads: the grace period, the late floor, its penalty
    rule, and the moment of reading (naive UTC)."""

    grace: timedelta
    floor: float
    penalty: Callable[[int], float]  # late seconds -> percent
    now: datetime


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
        closes_at=deadline + terms.grace if deadline is not None else None,
        milestone_deadline=facts.milestone_deadlines.get(item.milestone_kind) if item.milestone_kind else None,
    )


def _grades(course: Course, item_ids: list[int], student_id: Optional[int], details: bool) -> dict:
    """The stored grades of the items as plain rows by item, then student, one query; comments
    and rubric points (JSON, decoded per row) only with ``details``."""
    if not item_ids:
        return {}
    points = Grade.rubric_points if details else null().label("rubric_points")
    comment = Grade.comment if details else literal("").label("comment")
    grades_q = (select(Grade.item_id, Grade.student_id, Grade.id, Grade.score, comment, points,
                       Grade.penalty_percent, Grade.penalty_waived, Grade.waive_reason, Grade.late_seconds)
                .where(Grade.course_id == course.id, Grade.item_id.in_(item_ids)))
    if student_id is not None:
        grades_q = grades_q.where(Grade.student_id == student_id)
    by_item: dict = {}
    for g in _rows(grades_q):
        by_item.setdefault(g[0], {})[g[1]] = g
    return by_item


def _rows(statement) -> list:
    """The rows of a select of plain columns, fetched at once on the session's connection: the
    session's autoflush first, as ``Session.execute`` would, then no ORM loading per row (there
    are no entities to load, and at a class's size that loading cost more than the query)."""
    if db.session.autoflush:
        db.session.flush()
    return db.session.connection().execute(statement).all()


def _naive(column):
    """A UTC time column read as the naive UTC value it stores (see ``_naive_utc``)."""
    return type_coerce(column, DateTime)


def _facts(course: Course, student_id: Optional[int], details: bool) -> _Facts:
    """What the marks are made of, one query each: reviews, extensions, authorship, groups,
    milestones, review deadlines; every time in naive UTC; the reviews' feedback only with
    ``details``."""
    def only(q, column):
        return q.where(column == student_id) if student_id is not None else q

    feedback = Review.feedback if details else literal("").label("feedback")
    # Only submitted reviews count: a draft is marked as nothing submitted.
    reviews: dict = {}
    for presentation_id, author_id, submitted_at, grade, text in _rows(
        only(select(Review.presentation_id, Review.author_id, _naive(Review.submitted_at), Review.grade, feedback)
             .join(Presentation, Presentation.id == Review.presentation_id)
             .where(Presentation.course_id == course.id, Review.status == REVIEW_SUBMITTED), Review.author_id)
    ):
        reviews.setdefault(presentation_id, {})[author_id] = (submitted_at, grade, text)
    extensions: dict = {}
    for presentation_id, user_id, deadline in _rows(
        only(select(Extension.presentation_id, Extension.user_id, _naive(Extension.deadline))
             .where(Extension.course_id == course.id), Extension.user_id)
    ):
        extensions.setdefault(presentation_id, {})[user_id] = deadline
    authors: dict = {}
    for presentation_id, user_id in _rows(
        only(select(PresentationMember.presentation_id, PresentationMember.user_id)
             .where(PresentationMember.course_id == course.id), PresentationMember.user_id)
    ):
        authors.setdefault(presentation_id, set()).add(user_id)
    groups = dict(_rows(only(select(ProjectMember.user_id, ProjectMember.group_id)
                             .where(ProjectMember.course_id == course.id), ProjectMember.user_id)))
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
        select(Presentation.id, _naive(Presentation.review_deadline)).where(Presentation.course_id == course.id)))
    return _Facts(
        reviews=reviews,
        extensions=extensions,
        authors=authors,
        groups=groups,
        milestone_versions=versions,
        milestone_deadlines=deadlines,
        review_deadlines=review_deadlines,
    )


_NOTHING = MappingProxyType({})  # shared by every cell and fact without an entry


def _column(plan: _Plan, student_ids: list[int], grades: dict, facts: _Facts, terms: _Terms) -> list[Cell]:
    """The item's cells of every student, in ``student_ids``' order: what the student owes and
    submitted (a review, a milestone), then the stored grade over it."""
    if plan.presentation_id is not None:
        evidence = _review_evidence(plan, facts, terms)
    elif plan.milestone_kind is not None:
        evidence = _milestone_evidence(plan, facts, terms)
    else:
        evidence = _no_evidence
    cells = []
    for student_id in student_ids:
        owed, late_seconds, score, penalty, source, comment, missing = evidence(student_id)
        if not owed:
            cells.append(Cell(plan.item_id, False))
            continue
        grade = grades.get(student_id)
        grade_id = None
        points = _NOTHING
        waived = False
        reason = ""
        if grade is not None:
            source = "gradebook"
            _, _, grade_id, score, comment, stored_points, penalty, waived, reason, late_seconds = grade
            points = stored_points or _NOTHING
        line = lateness_label(late_seconds, penalty) if penalty > 0 and score is not None else ""
        cells.append(Cell(plan.item_id, True, score, adjusted_score(score, penalty, terms.floor, waived), penalty,
                          line, waived, reason, comment, points, grade_id, source, late_seconds > 0, missing))
    return cells


_Evidence = tuple  # (owed, late seconds, score, penalty, source, comment, missing)
_OWED_NOTHING: _Evidence = (True, 0, None, 0.0, "", "", False)
_NOT_OWED: _Evidence = (False, 0, None, 0.0, "", "", False)
_MISSING: _Evidence = (True, 0, None, 0.0, "", "", True)


def _no_evidence(student_id: int) -> _Evidence:
    """An item graded on nothing the student submits here (a presentation, the discussion)."""
    return _OWED_NOTHING


def _review_evidence(plan: _Plan, facts: _Facts, terms: _Terms) -> Callable[[int], _Evidence]:
    """A review item's evidence by student: not owed by the paper's authors; otherwise the
    submitted review's lateness against the student's own deadline (extension and grace), and
    its review-page grade while the gradebook holds none; missing once the deadline passed."""
    authors = facts.authors.get(plan.presentation_id, _NOTHING)
    extensions = facts.extensions.get(plan.presentation_id, _NOTHING)
    reviews = facts.reviews.get(plan.presentation_id, _NOTHING)
    grace, now, penalty_of = terms.grace, terms.now, terms.penalty

    def evidence(student_id: int) -> _Evidence:
        if student_id in authors:
            return _NOT_OWED
        extended = extensions.get(student_id)
        closes_at = plan.closes_at if extended is None else extended + grace
        review = reviews.get(student_id)
        if review is None:
            return _MISSING if now > closes_at else _OWED_NOTHING
        submitted_at, review_grade, feedback = review
        late_seconds = seconds_late(submitted_at, closes_at)
        if review_grade is None:
            return (True, late_seconds, None, 0.0, "", "", False)
        return (True, late_seconds, 100.0 * review_grade / REVIEW_PAGE_SCALE, penalty_of(late_seconds), "review page",
                feedback or "", False)

    return evidence


def _milestone_evidence(plan: _Plan, facts: _Facts, terms: _Terms) -> Callable[[int], _Evidence]:
    """A milestone item's evidence by student: their group's versions' lateness; missing once
    the deadline passed with no version."""
    kind, deadline, now = plan.milestone_kind, plan.milestone_deadline, terms.now
    overdue = deadline is not None and now > deadline

    def evidence(student_id: int) -> _Evidence:
        versions = facts.milestone_versions.get((kind, facts.groups.get(student_id)))
        if not versions:
            return _MISSING if overdue else _OWED_NOTHING
        return (True, milestone_lateness(versions), None, 0.0, "", "", False)

    return evidence


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

"""A course's gradebook as the syllabus sets it up: settings, the four categories with their
default weights, default rubrics, and one item per graded thing (kept in step with the schedule)."""
from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from domain.review_form import review_form_fields
from models import (
    CATEGORY_DISCUSSION,
    CATEGORY_PRESENTATION,
    CATEGORY_PROJECT,
    CATEGORY_REVIEWS,
    RUBRIC_MILESTONE,
    RUBRIC_PRESENTATION,
    RUBRIC_REVIEW,
    ClassSession,
    Course,
    GradebookSettings,
    GradeCategory,
    GradeItem,
    Paper,
    Presentation,
    Rubric,
)

# The syllabus: in-class discussion 10%, paper reviews 10%, paper presentation 30%, project 50%.
DEFAULT_CATEGORIES = (
    (CATEGORY_DISCUSSION, "In-class discussion", 10.0),
    (CATEGORY_REVIEWS, "Paper reviews", 10.0),
    (CATEGORY_PRESENTATION, "Paper presentation", 30.0),
    (CATEGORY_PROJECT, "Course project", 50.0),
)

# Project items: (key, title, weight within the category, milestone kind, rubric kind).
PROJECT_ITEMS = (
    ("project:proposal", "Project proposal", 15.0, "proposal", RUBRIC_MILESTONE),
    ("project:checkpoint", "Mid-term checkpoint", 20.0, "checkpoint", RUBRIC_MILESTONE),
    ("project:final", "Final report", 35.0, "final", RUBRIC_MILESTONE),
    ("project:talk", "Final talk", 20.0, None, RUBRIC_MILESTONE),
    ("project:feedback", "Peer feedback given", 10.0, None, None),
)

PRESENTATION_CRITERIA = (
    ("background", "Background and motivation"),
    ("idea", "The idea and approach"),
    ("technical", "Technical detail"),
    ("related", "Relation to other work"),
    ("strengths", "Strengths"),
    ("weaknesses", "Weaknesses and future directions"),
)

MILESTONE_CRITERIA = (
    ("problem", "Problem and motivation", 3),
    ("approach", "Approach and originality", 3),
    ("evaluation", "Evaluation and results", 3),
    ("writing", "Writing and related work", 1),
)

# The default review form's fields as the criteria a review is graded on (summary accuracy,
# depth of critique, quality of questions); a course's own fields become criteria by label.
_REVIEW_CRITERIA = {
    "summary": ("summary", "Summary accuracy", 4),
    "strengths": ("critique", "Depth of critique", 4),
    "weaknesses": ("critique", "Depth of critique", 4),
    "questions": ("questions", "Quality of questions", 2),
}


def default_rubric(course: Course, kind: str) -> list[dict]:
    """The default criteria of a rubric kind (points per criterion)."""
    if kind == RUBRIC_PRESENTATION:
        return [{"key": k, "label": label, "points": 5} for k, label in PRESENTATION_CRITERIA]
    if kind == RUBRIC_MILESTONE:
        return [{"key": k, "label": label, "points": p} for k, label, p in MILESTONE_CRITERIA]
    criteria: dict[str, dict] = {}
    for field in review_form_fields(course):
        key, label, points = _REVIEW_CRITERIA.get(field["key"], (field["key"], field["label"], 2))
        criteria.setdefault(key, {"key": key, "label": label, "points": points})
    return list(criteria.values())


def settings_for(course: Course) -> GradebookSettings:
    """The course's gradebook settings, created with the defaults on first use."""
    settings = db.session.scalar(select(GradebookSettings).where(GradebookSettings.course_id == course.id))
    if settings is None:
        settings = GradebookSettings(course_id=course.id, late_floor_percent=0.0, stats_to_students=False,
                                     discussion_formula={}, feedback_quality=False)
        db.session.add(settings)
        db.session.flush()
    return settings


def ensure_gradebook(course: Course) -> list[GradeCategory]:
    """Create what is missing of the course's gradebook (categories, rubrics, items for every
    presentation) and return the categories in order; existing rows and weights are kept."""
    categories = {c.key: c for c in db.session.scalars(select(GradeCategory).where(GradeCategory.course_id == course.id))}
    for position, (key, title, weight) in enumerate(DEFAULT_CATEGORIES):
        if key not in categories:
            categories[key] = GradeCategory(course_id=course.id, key=key, title=title, weight=weight,
                                            drop_lowest=0, position=position)
            db.session.add(categories[key])
    kinds = set(db.session.scalars(select(Rubric.kind).where(Rubric.course_id == course.id)))
    for kind in (RUBRIC_REVIEW, RUBRIC_PRESENTATION, RUBRIC_MILESTONE):
        if kind not in kinds:
            db.session.add(Rubric(course_id=course.id, kind=kind, criteria=default_rubric(course, kind)))
    db.session.flush()
    existing = set(db.session.scalars(select(GradeItem.key).where(GradeItem.course_id == course.id)))

    def add(category_key, key, title, weight=1.0, position=0, **kw):
        if key not in existing:
            db.session.add(GradeItem(course_id=course.id, category_id=categories[category_key].id, key=key,
                                     title=title, weight=weight, position=position, **kw))

    add(CATEGORY_DISCUSSION, "discussion", "In-class discussion")
    add(CATEGORY_PRESENTATION, "presentation", "Paper presentation", rubric_kind=RUBRIC_PRESENTATION)
    for position, (key, title, weight, milestone, rubric) in enumerate(PROJECT_ITEMS):
        add(CATEGORY_PROJECT, key, title, weight, position, milestone_kind=milestone, rubric_kind=rubric)
    presentations = db.session.execute(
        select(Presentation.id, Paper.title)
        .join(Paper, Paper.id == Presentation.paper_id)
        .join(ClassSession, ClassSession.id == Presentation.session_id)
        .where(Presentation.course_id == course.id)
        .order_by(ClassSession.starts_at, Presentation.slot, Presentation.id)
    ).all()
    for position, presentation in enumerate(presentations):
        add(CATEGORY_REVIEWS, f"review:{presentation.id}", f"Review: {presentation.title}"[:200], 1.0, position,
            rubric_kind=RUBRIC_REVIEW, presentation_id=presentation.id)
    db.session.flush()
    return sorted(categories.values(), key=lambda c: c.position)

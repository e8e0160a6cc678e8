"""Category and item weights, drops and the gradebook's course settings: the instructor's, audited."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from domain import audit
from domain.errors import Invalid
from core.extensions import db
from models import Course, GradebookSettings, GradeCategory, GradeItem

WEIGHT_TOTAL = 100.0


class WeightsDoNotSum(Invalid):
    """The category weights must add up to 100."""

    code = "weights_do_not_sum"


def set_weights(
    course: Course,
    categories: list[GradeCategory],
    weights: dict[str, float],
    drops: dict[str, int],
    actor_id: int,
    now: datetime,
) -> None:
    """Set every category's weight (by key) and drop count; the weights must sum to 100, else
    nothing is saved."""
    by_key = {c.key: c for c in categories}
    if set(weights) != set(by_key):
        raise Invalid("Give a weight for every category.")
    if any(w < 0 for w in weights.values()):
        raise Invalid("Weights cannot be negative.")
    total = sum(weights.values())
    if abs(total - WEIGHT_TOTAL) > 1e-6:
        raise WeightsDoNotSum(f"The weights add up to {total:g}, not 100; nothing was saved.")
    if any(d < 0 or d > 50 for d in drops.values()):
        raise Invalid("Drop 0 to 50 of the lowest items.")
    old = {c.key: [c.weight, c.drop_lowest] for c in categories}
    for key, category in by_key.items():
        category.weight = float(weights[key])
        category.drop_lowest = int(drops.get(key, category.drop_lowest))
    new = {c.key: [c.weight, c.drop_lowest] for c in categories}
    if old != new:
        audit.record("grade.weights", course.id, actor_id, old=old, new=new, at=now.isoformat())
    db.session.flush()


def set_item_weight(course: Course, item: GradeItem, weight: float, actor_id: int) -> None:
    """An item's weight within its category (relative: 15, 20, 35 … need not sum to anything)."""
    if not 0 <= weight <= 1000:
        raise Invalid("Give an item weight from 0 to 1000.")
    if item.weight != weight:
        audit.record("grade.item_weight", course.id, actor_id, item=item.key, old=item.weight, new=weight)
        item.weight = weight
    db.session.flush()


def set_late_and_statistics(
    course: Course,
    settings: GradebookSettings,
    cap: Optional[float],
    floor: float,
    stats_to_students: bool,
    feedback_quality: bool,
    actor_id: int,
) -> None:
    """The late penalty's cap and floor, whether students see statistics, the feedback quality part."""
    if cap is not None and not 0 <= cap <= 100 or not 0 <= floor <= 100:
        raise Invalid("Cap and floor are percentages from 0 to 100.")
    old = [settings.late_cap_percent, settings.late_floor_percent, settings.stats_to_students, settings.feedback_quality]
    new = [cap, floor, stats_to_students, feedback_quality]
    if old != new:
        settings.late_cap_percent, settings.late_floor_percent = cap, floor
        settings.stats_to_students, settings.feedback_quality = stats_to_students, feedback_quality
        audit.record("grade.settings", course.id, actor_id, old=old, new=new)
    db.session.flush()

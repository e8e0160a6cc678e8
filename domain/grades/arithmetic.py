"""Grade arithmetic as pure functions: rubric scores, late penalties, drops, weighted totals.

Every figure a person reads (page, CSV, chart) is rounded once, by ``round_grade``; the
arithmetic itself works on unrounded values so rounding never accumulates.
"""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Optional, Sequence

DAY = 86_400


def round_grade(value: Optional[float], places: int = 1) -> Optional[float]:
    """The one rounding of the gradebook: half away from zero to ``places`` decimals (2.25 → 2.3),
    after dropping binary noise below 10⁻⁹ (100 × 8.7 / 40 is 21.749999999999996 in floats: 21.8).

    Works in integers of 10⁻⁹ where that is exact (a float rounded to nine decimals below 10⁵
    has at most fifteen significant digits, so its repr is that decimal and ``x × 10⁹`` rounds to
    it); anything else goes through ``Decimal``, which defines the result either way."""
    if value is None:
        return None
    if (type(value) is float or type(value) is int) and 0 <= places <= 9 and -_FAST_LIMIT < value < _FAST_LIMIT:
        nines = round(value, 9)
        units = round(abs(nines) * 1_000_000_000)
        step = _STEPS[places]
        return math.copysign((units + step // 2) // step / _SCALES[places], nines)
    return _round_decimal(value, places)


_FAST_LIMIT = 100_000
_STEPS = tuple(10 ** (9 - p) for p in range(10))
_SCALES = tuple(10 ** p for p in range(10))


def _round_decimal(value: float, places: int) -> float:
    """``round_grade`` by its definition, through the decimal the float's repr names."""
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(round(value, 9))).quantize(quantum, rounding=ROUND_HALF_UP))


def rubric_score(criteria: Sequence[dict], points: dict) -> Optional[float]:
    """Percent of the rubric's full marks earned; points above a criterion's maximum count as its
    maximum, missing criteria as 0. None when the rubric has no points at all."""
    full = sum(float(c["points"]) for c in criteria)
    if full <= 0:
        return None
    earned = 0.0
    for c in criteria:
        given = points.get(c["key"])
        if given is not None:
            earned += min(max(float(given), 0.0), float(c["points"]))
    return 100.0 * earned / full


def late_days(late_seconds: int) -> int:
    """Days or part days late: 0 s → 0, 1 s → 1, exactly a day → 1, a day and a second → 2."""
    if late_seconds <= 0:
        return 0
    return math.ceil(late_seconds / DAY)


def late_penalty(late_seconds: int, per_day: float, cap: Optional[float] = None) -> float:
    """Percent taken off for lateness: ``per_day`` for each day or part day, at most ``cap``
    (and never more than 100)."""
    penalty = late_days(late_seconds) * max(per_day, 0.0)
    if cap is not None:
        penalty = min(penalty, cap)
    return min(penalty, 100.0)


def adjusted_score(score: Optional[float], penalty: float, floor: float = 0.0, waived: bool = False) -> Optional[float]:
    """The score after the late penalty (a share of the score taken off), never below ``floor``
    percent unless the score itself was lower; a waived penalty takes nothing off."""
    if score is None:
        return None
    if waived or penalty <= 0:
        return score
    return max(score * (1 - penalty / 100.0), min(score, floor))


def lateness_label(late_seconds: int, penalty: float) -> str:
    """The visible adjustment line, e.g. "late 1 day 4 h: −20%"."""
    days, rest = divmod(max(late_seconds, 0), DAY)
    hours, rest = divmod(rest, 3600)
    parts = []
    if days:
        parts.append(f"{days} day" + ("s" if days != 1 else ""))
    if hours:
        parts.append(f"{hours} h")
    if not parts:
        parts.append(f"{max(1, math.ceil(rest / 60))} min")
    return f"late {' '.join(parts)}: −{_plain(round_grade(penalty))}%"


def _plain(value: float) -> str:
    return f"{value:g}"


def dropped_indices(percents: Sequence[tuple[float, float]], drop_lowest: int) -> set[int]:
    """Positions of the lowest ``drop_lowest`` percents to drop; at least one graded item always
    stays, and among equal percents the later one is dropped first."""
    if drop_lowest <= 0 or len(percents) <= 1:
        return set()
    drop = min(drop_lowest, len(percents) - 1)
    order = sorted(range(len(percents)), key=lambda i: (percents[i][0], -i))
    return set(order[:drop])


def kept_after_drops(percents: Sequence[tuple[float, float]], drop_lowest: int) -> list[tuple[float, float]]:
    """(percent, weight) pairs left once the lowest ``drop_lowest`` percents are dropped."""
    dropped = dropped_indices(percents, drop_lowest)
    return [p for i, p in enumerate(percents) if i not in dropped]


def weighted_mean(pairs: Iterable[tuple[float, float]]) -> Optional[float]:
    """Mean of percents by weight; None when nothing carries weight."""
    pairs = list(pairs)
    total_weight = sum(w for _, w in pairs)
    if total_weight <= 0:
        return None
    return sum(p * w for p, w in pairs) / total_weight


def category_percent(percents: Sequence[tuple[float, float]], drop_lowest: int = 0) -> Optional[float]:
    """A category's percent from its graded items' (percent, weight), after drops."""
    return weighted_mean(kept_after_drops(percents, drop_lowest))


def running_total(categories: Iterable[tuple[float, Optional[float]]]) -> tuple[float, float]:
    """(points earned, points counted) from (category weight, category percent or None): the
    total so far and how much of the 100 it already covers."""
    earned = counted = 0.0
    for weight, percent in categories:
        if percent is None:
            continue
        earned += weight * percent / 100.0
        counted += weight
    return earned, counted


# The quality part's share of the peer-feedback item, when the course counts the helpful marks.
FEEDBACK_QUALITY_SHARE = 30.0


def peer_feedback_percent(owed: int, on_time: int, marked: int = 0, helpful: int = 0, quality: bool = False,
                          share: float = FEEDBACK_QUALITY_SHARE) -> Optional[float]:
    """The peer-feedback item: the percent of the owed talks given feedback on time; where the
    course counts quality, ``share`` percent of the item is instead the percent of the student's
    marked pieces the presenting groups found helpful (left out while none is marked). None while
    nothing is owed."""
    if owed <= 0:
        return None
    given = 100.0 * min(max(on_time, 0), owed) / owed
    if not quality or marked <= 0:
        return given
    found_helpful = 100.0 * min(max(helpful, 0), marked) / marked
    return (1 - share / 100.0) * given + share / 100.0 * found_helpful


def median(values: Sequence[float]) -> Optional[float]:
    """The middle value (mean of the two middle ones for an even count)."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def histogram(values: Iterable[float], bins: int = 10) -> list[int]:
    """Counts of percents in ``bins`` equal bands of 0–100 (100 falls in the top band)."""
    counts = [0] * bins
    for v in values:
        index = min(int(max(v, 0.0) * bins // 100), bins - 1)
        counts[index] += 1
    return counts

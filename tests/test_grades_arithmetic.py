"""Grade arithmetic as plain tables: rubric scores, lateness, penalties, caps, floors, waivers,
drops, weights and the one rounding."""
from __future__ import annotations

import pytest

from datetime import datetime, timedelta, timezone

from domain.grades.arithmetic import (
    adjusted_score,
    category_percent,
    histogram,
    kept_after_drops,
    late_days,
    late_penalty,
    lateness_label,
    median,
    peer_feedback_percent,
    round_grade,
    rubric_score,
    running_total,
)
from domain.grades.penalties import extension_moves, seconds_late

DAY = 86_400


@pytest.mark.parametrize(
    "late_seconds, days",
    [(-5, 0), (0, 0), (1, 1), (DAY - 1, 1), (DAY, 1), (DAY + 1, 2), (2 * DAY, 2), (2 * DAY + 1, 3)],
)
def test_days_or_part_days_late(late_seconds, days):
    assert late_days(late_seconds) == days


@pytest.mark.parametrize(
    "late_seconds, per_day, cap, penalty",
    [
        (0, 10, None, 0),
        (1, 10, None, 10),
        (DAY, 10, None, 10),
        (DAY + 1, 10, None, 20),
        (DAY + 4 * 3600, 10, None, 20),
        (5 * DAY, 10, 30, 30),  # capped
        (2 * DAY, 10, 30, 20),  # under the cap
        (20 * DAY, 10, None, 100),  # never more than everything
        (DAY, 0, None, 0),  # no penalty configured
    ],
)
def test_late_penalty_by_lateness(late_seconds, per_day, cap, penalty):
    assert late_penalty(late_seconds, per_day, cap) == penalty


@pytest.mark.parametrize(
    "score, penalty, floor, waived, expected",
    [
        (80.0, 0, 0, False, 80.0),
        (80.0, 20, 0, False, 64.0),
        (80.0, 20, 0, True, 80.0),  # waived
        (80.0, 100, 0, False, 0.0),
        (80.0, 100, 50, False, 50.0),  # floor
        (40.0, 50, 50, False, 40.0),  # floor never raises a low score
        (90.0, 10, 50, False, 81.0),  # above the floor: floor has no effect
        (None, 20, 0, False, None),
    ],
)
def test_adjusted_score_with_floor_and_waiver(score, penalty, floor, waived, expected):
    result = adjusted_score(score, penalty, floor, waived)
    assert result == pytest.approx(expected) if expected is not None else result is None


@pytest.mark.parametrize(
    "late_seconds, penalty, label",
    [
        (DAY + 4 * 3600, 20, "late 1 day 4 h: −20%"),
        (1, 10, "late 1 min: −10%"),
        (3 * DAY, 30, "late 3 days: −30%"),
        (2 * 3600 + 60, 10, "late 2 h: −10%"),
    ],
)
def test_lateness_label(late_seconds, penalty, label):
    assert lateness_label(late_seconds, penalty) == label


CRITERIA = [{"key": "a", "label": "A", "points": 4}, {"key": "b", "label": "B", "points": 6}]


@pytest.mark.parametrize(
    "points, expected",
    [({"a": 4, "b": 6}, 100.0), ({"a": 2, "b": 3}, 50.0), ({"a": 4}, 40.0), ({}, 0.0), ({"a": 9, "b": -1}, 40.0)],
)
def test_rubric_score(points, expected):
    assert rubric_score(CRITERIA, points) == pytest.approx(expected)


@pytest.mark.parametrize(
    "percents, drop, expected",
    [
        ([(50, 1), (70, 1), (90, 1)], 0, 70.0),
        ([(50, 1), (70, 1), (90, 1)], 1, 80.0),
        ([(50, 1), (70, 1), (90, 1)], 2, 90.0),
        ([(50, 1), (70, 1), (90, 1)], 5, 90.0),  # at least one item stays
        ([(60, 1)], 1, 60.0),
        ([(100, 3), (0, 1)], 0, 75.0),  # item weights
        ([], 0, None),
    ],
)
def test_category_percent_with_weights_and_drops(percents, drop, expected):
    result = category_percent(percents, drop)
    assert result == pytest.approx(expected) if expected is not None else result is None


def test_equal_lowest_percents_drop_the_later_one():
    assert kept_after_drops([(50, 1), (50, 2), (90, 1)], 1) == [(50, 1), (90, 1)]


@pytest.mark.parametrize(
    "categories, earned, counted",
    [
        ([(10, 100.0), (10, 50.0), (30, 80.0), (50, 90.0)], 10 + 5 + 24 + 45, 100),
        ([(10, 100.0), (10, None), (30, 80.0), (50, None)], 34, 40),
        ([(10, None)], 0, 0),
    ],
)
def test_running_total(categories, earned, counted):
    assert running_total(categories) == (pytest.approx(earned), counted)


@pytest.mark.parametrize(
    "value, places, shown",
    [(2.25, 1, 2.3), (2.35, 1, 2.4), (2.249, 1, 2.2), (66.666, 1, 66.7), (-2.25, 1, -2.3), (89.95, 1, 90.0),
     (1.005, 2, 1.01), (100 * 8.7 / 40, 1, 21.8), (None, 1, None)],
)
def test_one_rounding_half_away_from_zero(value, places, shown):
    assert round_grade(value, places) == shown


def test_median_and_histogram():
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 2, 3]) == 2.5
    assert median([]) is None
    assert histogram([0, 5, 10, 99.9, 100]) == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]


DEADLINE = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
S = timedelta(seconds=1)
D = timedelta(days=1)


@pytest.mark.parametrize(
    "submitted, extension, grace, late_seconds, penalty",
    [
        (DEADLINE - S, None, 0, 0, 0),  # early
        (DEADLINE, None, 0, 0, 0),  # 0 s: at the deadline instant is on time
        (DEADLINE + S, None, 0, 1, 10),  # 1 s late: a part day
        (DEADLINE + D, None, 0, 86_400, 10),  # exactly one day
        (DEADLINE + D + S, None, 0, 86_401, 20),  # just over a day
        (DEADLINE + D + S, DEADLINE + 2 * D, 0, 0, 0),  # the extension makes it on time
        (DEADLINE + 2 * D, DEADLINE + 2 * D, 0, 0, 0),  # at the extended instant
        (DEADLINE + 2 * D + S, DEADLINE + 2 * D, 0, 1, 10),  # 1 s after the extension
        (DEADLINE + 3 * D + S, DEADLINE + 2 * D, 0, 86_401, 20),  # counted from the extension, not the deadline
        (DEADLINE + 15 * 60 * S, None, 15, 0, 0),  # within the grace period
        (DEADLINE + (15 * 60 + 1) * S, None, 15, 1, 10),  # the grace period follows the deadline…
        (DEADLINE + D + 15 * 60 * S, DEADLINE + D, 15, 0, 0),  # …and the extension
    ],
)
def test_lateness_against_the_reference_deadline(submitted, extension, grace, late_seconds, penalty):
    closes_at = extension_moves(DEADLINE, extension, grace)
    assert seconds_late(submitted, closes_at) == late_seconds
    assert late_penalty(seconds_late(submitted, closes_at), 10) == penalty


def test_nothing_submitted_is_not_late():
    assert seconds_late(None, DEADLINE) == 0


@pytest.mark.parametrize(
    "owed, on_time, marked, helpful, quality, expected",
    [
        (0, 0, 0, 0, False, None),  # nothing owed yet
        (4, 4, 0, 0, False, 100.0),
        (4, 3, 0, 0, False, 75.0),
        (4, 0, 0, 0, True, 0.0),
        (4, 3, 3, 2, False, 75.0),  # helpful marks ignored unless the course counts quality
        (4, 3, 3, 2, True, 0.7 * 75 + 0.3 * 100 * 2 / 3),  # 72.5
        (4, 4, 2, 2, True, 100.0),
        (4, 4, 2, 0, True, 70.0),
        (4, 4, 0, 0, True, 100.0),  # nothing marked yet: on-time feedback counts alone
        (2, 5, 9, 12, True, 100.0),  # never above full marks
    ],
)
def test_peer_feedback_given_on_time_and_its_quality(owed, on_time, marked, helpful, quality, expected):
    result = peer_feedback_percent(owed, on_time, marked, helpful, quality)
    assert result == pytest.approx(expected) if expected is not None else result is None


def test_peer_feedback_rounds_once():
    assert round_grade(peer_feedback_percent(4, 3, 3, 2, True)) == 72.5
    assert round_grade(peer_feedback_percent(3, 2)) == 66.7

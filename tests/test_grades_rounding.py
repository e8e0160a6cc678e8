"""``round_grade`` against its definition (half away from zero on the decimal of the float
rounded to nine places, through ``Decimal``), over edges and a sweep of the figures a gradebook
produces: the fast integer path must give the same float, sign of zero included."""
from __future__ import annotations

import math
import random
from decimal import ROUND_HALF_UP, Decimal

import pytest

from domain.grades.arithmetic import round_grade


def by_definition(value, places):
    return float(Decimal(repr(round(value, 9))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def same(a, b):
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


@pytest.mark.parametrize("value, places, shown", [
    (2.25, 1, 2.3), (-2.25, 1, -2.3), (0.15, 1, 0.2), (0.05, 1, 0.1), (0.35, 1, 0.4), (2.5, 0, 3.0),
    (-2.5, 0, -3.0), (21.749999999999996, 1, 21.8), (100 * 8.7 / 40, 1, 21.8), (99.95, 1, 100.0),
    (99.949999999, 1, 99.9), (99.9499999999, 1, 100.0), (66.66666666666667, 1, 66.7), (72.45, 1, 72.5),
    (1.005, 2, 1.01), (0, 1, 0.0), (5, 1, 5.0), (1e-10, 1, 0.0), (99999.95, 1, 100000.0),
    (123456.75, 1, 123456.8), (-0.04, 1, -0.0),
])
def test_edges(value, places, shown):
    rounded = round_grade(value, places)
    assert same(rounded, shown)
    assert same(rounded, by_definition(value, places))


def test_signed_zero_and_none():
    assert math.copysign(1.0, round_grade(-0.0)) == -1.0
    assert math.copysign(1.0, round_grade(-1e-10)) == -1.0
    assert round_grade(None) is None
    assert math.isnan(round_grade(math.nan))


def sweep():
    rng = random.Random(9)
    yield from (k / 20 for k in range(-2000, 2001))  # every .x5 half-way point to ±100
    yield from (k / 200 for k in range(-20000, 20001))  # the .xx5 points, for two places
    yield from (100.0 * a / b for a in range(0, 120) for b in range(1, 60))  # rubric percents
    yield from (s * (1 - p / 100.0) for s in (x / 10 for x in range(0, 1001, 7)) for p in range(0, 101, 5))
    yield from (rng.uniform(0, 100) for _ in range(20000))
    yield from (rng.uniform(-200000, 200000) for _ in range(5000))
    yield from (k / 20 + d for k in range(0, 2001, 7) for d in (-1e-9, -5e-10, -1e-10, 1e-10, 5e-10, 1e-9))


def test_the_same_as_the_definition_over_a_sweep():
    wrong = [(v, p) for v in sweep() for p in (0, 1, 2) if not same(round_grade(v, p), by_definition(v, p))]
    assert wrong == []


@pytest.mark.parametrize("first, then", [(0.0, -0.0), (-0.0, 0.0), (-0.04, 0.0), (1, 1.0), (1.0, True)])
def test_written_figures_do_not_depend_on_what_was_written_before(first, then):
    """The page and export writers remember figures by value; values that compare equal (0.0 and
    -0.0, 1 and 1.0) are written alike, and never as a negative zero."""
    from blueprints.gradebook import grade_filter
    from domain.grades.exports import shown

    for write in (grade_filter, shown):
        write.cache_clear()
        earlier, later = write(first), write(then)
        write.cache_clear()
        assert later == write(then)
        assert not earlier.startswith("-") and not later.startswith("-")
    assert grade_filter(-0.0) == "0.0" and shown(-0.0) == "0" and grade_filter(None) == "—" and shown(None) == ""

"""Pure interval arithmetic and credit counting (no database)."""

import datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from sla.availability import intervals

UTC = datetime.UTC
H = datetime.timedelta(hours=1)


def t(*args):
    return datetime.datetime(*args, tzinfo=UTC)


def test_merge_joins_overlapping_and_touching_intervals_and_drops_empty_ones():
    merged = intervals.merge(
        [(t(2026, 3, 3, 10), t(2026, 3, 3, 11)), (t(2026, 3, 3, 10, 30), t(2026, 3, 3, 12))]
        + [(t(2026, 3, 3, 12), t(2026, 3, 3, 13)), (t(2026, 3, 3, 15), t(2026, 3, 3, 15))]
    )
    assert merged == [(t(2026, 3, 3, 10), t(2026, 3, 3, 13))]


def test_subtract_cuts_holes_out_of_both_edges_and_the_middle():
    base = [(t(2026, 3, 3, 10), t(2026, 3, 3, 20))]
    holes = [
        (t(2026, 3, 3, 9), t(2026, 3, 3, 11)),
        (t(2026, 3, 3, 14), t(2026, 3, 3, 15)),
        (t(2026, 3, 3, 19), t(2026, 3, 3, 21)),
    ]
    # 10–20 minus 9–11, 14–15, 19–21 → 11–14 and 15–19: 3 h + 4 h
    assert intervals.subtract(base, holes) == [
        (t(2026, 3, 3, 11), t(2026, 3, 3, 14)),
        (t(2026, 3, 3, 15), t(2026, 3, 3, 19)),
    ]
    assert intervals.total(intervals.subtract(base, holes)) == 7 * H


def test_weekly_window_at_utc_plus_2_is_06_to_14_utc_on_every_saturday_of_march_2026():
    # 2026-03-01 is a Sunday, so the Saturdays are the 7th, 14th, 21st and 28th.
    lo, hi = intervals.month_bounds(datetime.date(2026, 3, 1))
    found = intervals.weekly_occurrences(5, datetime.time(8), datetime.time(16), 120, lo, hi)
    assert [s.day for s, _ in found] == [7, 14, 21, 28]
    assert found[0] == (t(2026, 3, 7, 6), t(2026, 3, 7, 14))


def test_window_crossing_midnight_ends_the_next_day_and_is_clipped_to_the_range():
    lo, hi = t(2026, 3, 1), t(2026, 3, 8)
    # Friday 22:00–02:00 at UTC+0: 2026-03-06 22:00 → 03-07 02:00
    found = intervals.weekly_occurrences(4, datetime.time(22), datetime.time(2), 0, lo, hi)
    assert found == [(t(2026, 3, 6, 22), t(2026, 3, 7, 2))]


def test_month_bounds_handle_december():
    assert intervals.month_bounds(datetime.date(2026, 12, 1)) == (t(2026, 12, 1), t(2027, 1, 1))


@pytest.mark.parametrize(
    ("percent", "credits"),
    [
        (Fraction(995, 10), 0),  # exactly on target
        (Fraction(100), 0),
        (Fraction(991, 10), 1),  # 0.4 point short: one started point
        (Fraction(985, 10), 1),  # exactly 1 point short: still one
        (Fraction(9849, 100), 2),  # 1.01 points short: a second point started
        (Fraction(982, 10), 2),  # 1.3 points short
        (Decimal("99.4999999"), 1),
        (Fraction(0), 100),  # 99.5 points short → ceil(99.5) = 100
    ],
)
def test_availability_credits_count_started_points_below_99_5(percent, credits):
    assert intervals.availability_credits(percent) == credits


@pytest.mark.parametrize(
    ("late", "credits"),
    [
        (datetime.timedelta(0), 0),  # resolved exactly at the deadline: not late
        (-H, 0),
        (datetime.timedelta(seconds=1), 1),
        (datetime.timedelta(microseconds=1), 1),
        (24 * H, 1),  # exactly one full period
        (24 * H + datetime.timedelta(seconds=1), 2),  # a second period started
        (72 * H, 3),
    ],
)
def test_resolution_credits_count_started_24_hour_periods(late, credits):
    due = t(2026, 3, 10, 12)
    assert intervals.resolution_credits(due, due + late) == credits


def test_report_percent_truncates_so_a_month_below_target_never_shows_99_5():
    # 99.49996 would round to 99.5 but earns a credit; the report shows 99.499.
    assert intervals.report_percent(Fraction(9949996, 100000)) == 99.499
    assert intervals.report_minutes(datetime.timedelta(seconds=43545, microseconds=600000)) == (
        725.76
    )


def test_a_month_with_no_eligible_time_is_fully_available():
    lo, hi = t(2026, 3, 7, 6), t(2026, 3, 7, 14)
    figures = intervals.compute_month((lo, hi), [(lo, hi)], [(lo, hi)])
    assert figures.availability == 100 and figures.credits == 0

"""Pure interval arithmetic for availability (no Django, no database).

Intervals are half-open [start, end) pairs of aware datetimes. Everything is exact to the
microsecond; rounding happens only when a figure is reported (see `report_minutes`).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction

UTC = datetime.UTC
Interval = tuple[datetime.datetime, datetime.datetime]

TARGET_PERCENT = Fraction(995, 10)  # 99.5 %, from the contract


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping union; touching intervals are joined, empty ones dropped."""
    result: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def clip(
    intervals: Iterable[Interval], lo: datetime.datetime, hi: datetime.datetime
) -> list[Interval]:
    """Each interval cut to [lo, hi); those outside vanish."""
    return merge((max(s, lo), min(e, hi)) for s, e in intervals)


def subtract(base: Iterable[Interval], holes: Iterable[Interval]) -> list[Interval]:
    """base − holes, both merged first."""
    holes = merge(holes)
    result: list[Interval] = []
    for start, end in merge(base):
        cursor = start
        for h_start, h_end in holes:
            if h_end <= cursor or h_start >= end:
                continue
            if h_start > cursor:
                result.append((cursor, h_start))
            cursor = max(cursor, h_end)
            if cursor >= end:
                break
        if cursor < end:
            result.append((cursor, end))
    return result


def total(intervals: Iterable[Interval]) -> datetime.timedelta:
    return sum((e - s for s, e in merge(intervals)), datetime.timedelta())


def month_bounds(month: datetime.date) -> Interval:
    """[first instant, first instant of the next month) in UTC."""
    start = datetime.datetime(month.year, month.month, 1, tzinfo=UTC)
    nxt = (start + datetime.timedelta(days=32)).replace(day=1)
    return start, nxt


def weekly_occurrences(
    weekday: int,
    start_time: datetime.time,
    end_time: datetime.time,
    utc_offset_minutes: int,
    lo: datetime.datetime,
    hi: datetime.datetime,
) -> list[Interval]:
    """Every occurrence of a weekly window (at a fixed UTC offset) that overlaps [lo, hi)."""
    tz = datetime.timezone(datetime.timedelta(minutes=utc_offset_minutes))
    day = (lo.astimezone(tz) - datetime.timedelta(days=1)).date()
    day += datetime.timedelta(days=(weekday - day.weekday()) % 7)
    result: list[Interval] = []
    while True:
        start = datetime.datetime.combine(day, start_time, tzinfo=tz)
        if start >= hi:
            return clip(result, lo, hi)
        end = datetime.datetime.combine(day, end_time, tzinfo=tz)
        if end <= start:  # e.g. 22:00–02:00 ends the next day
            end += datetime.timedelta(days=1)
        result.append((start.astimezone(UTC), end.astimezone(UTC)))
        day += datetime.timedelta(days=7)


@dataclass(frozen=True)
class MonthFigures:
    """A month's availability, exact. `period` may stop before the month's end (current month)."""

    period: Interval
    excluded: datetime.timedelta
    downtime: datetime.timedelta

    @property
    def length(self) -> datetime.timedelta:
        return self.period[1] - self.period[0]

    @property
    def eligible(self) -> datetime.timedelta:
        return self.length - self.excluded

    @property
    def availability(self) -> Fraction:
        """Exact percentage; a month with no eligible time is fully available."""
        eligible = _micro(self.eligible)
        if eligible <= 0:
            return Fraction(100)
        return Fraction(eligible - _micro(self.downtime), eligible) * 100

    @property
    def credits(self) -> int:
        return availability_credits(self.availability)


def compute_month(
    period: Interval, incidents: Iterable[Interval], unavailability: Iterable[Interval]
) -> MonthFigures:
    """eligible = period − ∪unavailability; downtime = (∪incidents ∩ period) − ∪unavailability."""
    lo, hi = period
    excluded = clip(unavailability, lo, hi)
    downtime = subtract(clip(incidents, lo, hi), excluded)
    return MonthFigures(period=period, excluded=total(excluded), downtime=total(downtime))


def availability_credits(percent: Fraction | Decimal | int) -> int:
    """One credit per *started* percentage point below 99.5: 99.1 → 1, 98.5 → 1, 98.49 → 2."""
    shortfall = TARGET_PERCENT - Fraction(percent)
    return math.ceil(shortfall) if shortfall > 0 else 0


def resolution_credits(due: datetime.datetime, resolved: datetime.datetime) -> int:
    """One credit per *started* 24-hour period late: 1 s → 1, 24 h → 1, 24 h 1 s → 2."""
    late = resolved - due
    if late <= datetime.timedelta(0):
        return 0
    return math.ceil(Fraction(_micro(late), _micro(datetime.timedelta(days=1))))


def report_minutes(delta: datetime.timedelta) -> float:
    """Minutes for reports: exact seconds / 60, rounded half-up to 2 decimals."""
    minutes = Decimal(_micro(delta)) / Decimal(60_000_000)
    return float(minutes.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def report_percent(percent: Fraction) -> float:
    """Truncated (not rounded) to 3 decimals, so a month below target never shows 99.5."""
    value = Decimal(percent.numerator) / Decimal(percent.denominator)
    return float(value.quantize(Decimal("0.001"), rounding=ROUND_DOWN))


def _micro(delta: datetime.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds

"""Pure business-time arithmetic (no Django, no database).

A :class:`BusinessCalendar` describes when a support region is open: a set of
weekdays, a daily half-open window ``[open_time, close_time)`` in local wall
time of ``tz`` (with that zone's DST rules), closed dates (public holidays plus
extra closed days) and open dates (extra open days, which override both closed
dates and weekends).

Design
------
Everything is computed by whole-day arithmetic.  For every calendar we lazily
build (and cache on the instance) a table covering a span of local dates:

* ``opens[i]`` / ``closes[i]``: the UTC instants of the opening and closing of
  the i-th business day of the span (local wall time converted with zoneinfo
  once, at build time);
* ``cum[i]``: business time elapsed in the span before business day ``i``;
  ``cum_end[i] = cum[i] + (closes[i] - opens[i])``.

This gives a monotone "business clock" ``pos(t)``: the business time elapsed
from the beginning of the span up to instant ``t``.  Then

* ``business_time_between(a, b) = pos(b) - pos(a)``;
* ``add_business_time(t, d)`` is the earliest instant ``e`` with
  ``pos(e) == pos(t) + d`` -- found with one bisection over ``cum_end``.  An
  end exactly at closing time is that closing time, never the next opening.

Each call costs two bisections over lists of C-level ``datetime`` /
``timedelta`` objects plus a handful of exact ``timedelta`` operations, no
matter how long the duration is.  Nothing steps minute by minute, hour by hour
or even day by day.  The table is extended on demand (doubling the span) when
an instant falls outside it.

All arithmetic is done with ``datetime``/``timedelta`` objects, so results are
exact to the microsecond.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

__all__ = [
    "BusinessCalendar",
    "add_business_time",
    "business_time_between",
    "next_business_moment",
]

_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)

# Initial span of a calendar table around the first instant asked for, and the
# hard limits of what can be represented (keep a margin from date.min/max so
# that UTC conversions never overflow).
_INITIAL_DAYS_BEFORE = 366
_INITIAL_DAYS_AFTER = 3 * 366
_MIN_ORDINAL = date(1, 1, 1).toordinal() + 2
_MAX_ORDINAL = date(9999, 12, 31).toordinal() - 2

_CACHE_ATTR = "_business_time_table"


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours of a support region.

    ``closed_dates`` are holidays plus extra closed days; ``open_dates`` are
    extra open days and win over ``closed_dates`` and over non-working
    weekdays.  ``workdays`` uses ``date.weekday()`` numbering (Monday=0).
    Business hours are the half-open local interval ``[open_time, close_time)``.
    """

    tz: ZoneInfo
    closed_dates: frozenset[date] = frozenset()
    open_dates: frozenset[date] = frozenset()
    open_time: time = time(9)
    close_time: time = time(18)
    workdays: frozenset[int] = field(default=frozenset({0, 1, 2, 3, 4}))

    def __post_init__(self) -> None:
        _check_zone(self.tz)
        _check_hours(self.open_time, self.close_time)
        # Accept any iterable for the set-valued fields but store frozensets so
        # that the calendar stays hashable.
        for name in ("closed_dates", "open_dates", "workdays"):
            value = getattr(self, name)
            if not isinstance(value, frozenset):
                object.__setattr__(self, name, frozenset(value))
        _check_dates("closed_dates", self.closed_dates)
        _check_dates("open_dates", self.open_dates)
        if not self.workdays <= frozenset(range(7)):
            raise ValueError("workdays must be integers in 0..6 (Monday=0)")

    # The lazily built table lives in the instance __dict__ (not a dataclass
    # field: it takes no part in eq/hash/repr); never pickle it.
    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state.pop(_CACHE_ATTR, None)
        return state

    def is_business_day(self, d: date) -> bool:
        """True if the local date ``d`` is a business day."""
        if isinstance(d, datetime):
            raise TypeError("is_business_day expects a date, not a datetime")
        if d in self.open_dates:
            return True
        if d in self.closed_dates:
            return False
        return d.weekday() in self.workdays

    def is_business_time(self, dt: datetime) -> bool:
        """True if the aware instant ``dt`` is inside business hours.

        Local wall time in ``[open_time, close_time)`` on a business day.
        """
        local = _require_aware(dt, "dt").astimezone(self.tz)
        if not self.is_business_day(local.date()):
            return False
        return self.open_time <= local.time() < self.close_time


def _check_zone(tz: object) -> None:
    if not isinstance(tz, tzinfo):
        raise TypeError("tz must be a tzinfo instance (e.g. zoneinfo.ZoneInfo)")
    if hasattr(tz, "localize"):
        raise TypeError("pytz time zones are not supported; use zoneinfo.ZoneInfo")


def _check_hours(open_time: time, close_time: time) -> None:
    if open_time.tzinfo is not None or close_time.tzinfo is not None:
        raise ValueError("open_time and close_time must be naive local times")
    if not open_time < close_time:
        raise ValueError("open_time must be earlier than close_time")


def _check_dates(name: str, dates: frozenset[date]) -> None:
    for d in dates:
        if isinstance(d, datetime) or not isinstance(d, date):
            raise TypeError(f"{name} must contain datetime.date objects")


# --------------------------------------------------------------------------
# Table construction and caching
# --------------------------------------------------------------------------


def _business_days(calendar: BusinessCalendar, lo_ordinal: int, hi_ordinal: int) -> Iterator[date]:
    """The calendar's business days in ``[lo_ordinal, hi_ordinal)``, in order."""
    if not calendar.workdays:
        # Only the extra open dates can be business days: sparse table.
        yield from sorted(
            d for d in calendar.open_dates if lo_ordinal <= d.toordinal() < hi_ordinal
        )
        return
    open_dates, closed_dates, workdays = (
        calendar.open_dates,
        calendar.closed_dates,
        calendar.workdays,
    )
    for d in map(date.fromordinal, range(lo_ordinal, hi_ordinal)):
        if d in open_dates or (d not in closed_dates and d.weekday() in workdays):
            yield d


def _windows(
    calendar: BusinessCalendar, days: Iterable[date]
) -> Iterator[tuple[datetime, datetime]]:
    """Each business day's (opening, closing) in UTC; refuses empty or overlapping days."""
    tz, open_time, close_time = calendar.tz, calendar.open_time, calendar.close_time
    combine = datetime.combine
    previous_close = None
    for d in days:
        opening = combine(d, open_time, tzinfo=tz).astimezone(UTC)
        closing = combine(d, close_time, tzinfo=tz).astimezone(UTC)
        if closing <= opening or (previous_close is not None and opening < previous_close):
            raise ValueError(
                f"business hours of {d} are empty or overlap the previous day in this time zone"
            )
        previous_close = closing
        yield opening, closing


class _Table:
    """Immutable snapshot of a calendar's business days over a span of dates."""

    __slots__ = (
        "lo_ordinal",
        "hi_ordinal",
        "lo_guard",
        "opens",
        "closes",
        "cum",
        "cum_end",
        "n",
    )

    def __init__(self, calendar: BusinessCalendar, lo_ordinal: int, hi_ordinal: int):
        opens: list[datetime] = []
        closes: list[datetime] = []
        cum: list[timedelta] = []
        cum_end: list[timedelta] = []
        total = _ZERO
        for opening, closing in _windows(
            calendar, _business_days(calendar, lo_ordinal, hi_ordinal)
        ):
            opens.append(opening)
            closes.append(closing)
            cum.append(total)
            total += closing - opening
            cum_end.append(total)

        self.lo_ordinal = lo_ordinal
        self.hi_ordinal = hi_ordinal
        # Every instant >= lo_guard is later than the close of any business day
        # before the span (local midnight of the first date is at most 24 h
        # after UTC midnight of that date for any real UTC offset).
        self.lo_guard = (
            datetime.combine(date.fromordinal(lo_ordinal), time(0), tzinfo=UTC) + _ONE_DAY
        )
        self.opens = opens
        self.closes = closes
        self.cum = cum
        self.cum_end = cum_end
        self.n = len(opens)


# Tables shared between equal calendars (e.g. a calendar rebuilt per request
# from the same data), bounded so that it cannot grow without limit.
_SHARED_TABLES: OrderedDict[BusinessCalendar, _Table] = OrderedDict()
_SHARED_TABLES_MAX = 64
_LOCK = threading.Lock()


def _store(calendar: BusinessCalendar, table: _Table) -> _Table:
    object.__setattr__(calendar, _CACHE_ATTR, table)
    with _LOCK:
        _SHARED_TABLES[calendar] = table
        _SHARED_TABLES.move_to_end(calendar)
        while len(_SHARED_TABLES) > _SHARED_TABLES_MAX:
            _SHARED_TABLES.popitem(last=False)
    return table


def _initial_table(calendar: BusinessCalendar, t: datetime) -> _Table:
    with _LOCK:
        table = _SHARED_TABLES.get(calendar)
    if table is not None:
        object.__setattr__(calendar, _CACHE_ATTR, table)
        return table
    if calendar.workdays:
        ordinal = t.toordinal()
        lo = max(_MIN_ORDINAL, ordinal - _INITIAL_DAYS_BEFORE)
        hi = min(_MAX_ORDINAL, ordinal + _INITIAL_DAYS_AFTER)
    else:  # sparse table of the open dates: cover every representable date
        lo, hi = _MIN_ORDINAL, _MAX_ORDINAL
    return _store(calendar, _Table(calendar, lo, hi))


def _extend(calendar: BusinessCalendar, table: _Table, backward: bool) -> _Table:
    """Return a new table with the span doubled in one direction."""
    lo, hi = table.lo_ordinal, table.hi_ordinal
    width = max(hi - lo, 366)
    if backward:
        if lo <= _MIN_ORDINAL:
            raise OverflowError("business time computation before year 1")
        lo = max(_MIN_ORDINAL, lo - width)
    else:
        if hi >= _MAX_ORDINAL:
            raise OverflowError("no business time left before the year 9999")
        hi = min(_MAX_ORDINAL, hi + width)
    return _store(calendar, _Table(calendar, lo, hi))


def _cached_table(calendar: BusinessCalendar, t: datetime) -> _Table:
    try:
        table: _Table = calendar.__dict__[_CACHE_ATTR]
        return table
    except KeyError:
        return _initial_table(calendar, t)


def _covering(calendar: BusinessCalendar, table: _Table, lo: datetime, hi: datetime) -> _Table:
    """Extend ``table`` until business positions of instants in [lo, hi] are exact."""
    while lo < table.lo_guard:
        table = _extend(calendar, table, backward=True)
    while (table.n == 0 or hi >= table.closes[-1]) and table.hi_ordinal < _MAX_ORDINAL:
        table = _extend(calendar, table, backward=False)
    return table


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def _require_aware(dt: datetime, name: str) -> datetime:
    if not isinstance(dt, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return dt


def _to_utc(dt: datetime, name: str) -> datetime:
    if not isinstance(dt, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(dt).__name__}")
    tz = dt.tzinfo
    if tz is UTC:
        return dt
    if tz is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return dt.astimezone(UTC)


def add_business_time(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """Return the instant (aware, UTC) ``duration`` of business time after ``start``.

    ``start`` may be outside business hours (counting then begins at the next
    opening).  A deadline that ends exactly at closing time is that closing
    time.  ``duration == 0`` returns ``start`` unchanged (in UTC).
    """
    if not isinstance(duration, timedelta):
        raise TypeError("duration must be a datetime.timedelta")
    t = _to_utc(start, "start")
    if duration <= _ZERO:
        if duration:
            raise ValueError("duration must not be negative")
        return t
    try:
        table = calendar.__dict__[_CACHE_ATTR]
    except KeyError:
        table = _initial_table(calendar, t)
    while True:
        closes = table.closes
        if t < table.lo_guard:
            table = _extend(calendar, table, backward=True)
            continue
        k = bisect_right(closes, t)  # first business day closing after t
        n = table.n
        if k >= n:
            table = _extend(calendar, table, backward=False)
            continue
        opening = table.opens[k]
        cum = table.cum
        target = (cum[k] + (t - opening) if t > opening else cum[k]) + duration
        cum_end = table.cum_end
        j = bisect_left(cum_end, target, k)  # first day ending at/after target
        if j >= n:
            table = _extend(calendar, table, backward=False)
            continue
        moment: datetime = closes[j] - (cum_end[j] - target)
        return moment


def _position(table: _Table, t: datetime) -> timedelta:
    """Business time from the start of the table span up to instant ``t``."""
    k = bisect_right(table.closes, t)
    if k >= table.n:  # after the last business day there can ever be
        return table.cum_end[-1] if table.n else _ZERO
    opening = table.opens[k]
    if t > opening:
        return table.cum[k] + (t - opening)
    return table.cum[k]


def business_time_between(calendar: BusinessCalendar, a: datetime, b: datetime) -> timedelta:
    """Business time elapsed from ``a`` to ``b`` (negative if ``b < a``)."""
    ta = _to_utc(a, "a")
    tb = _to_utc(b, "b")
    if tb < ta:
        return -_between_ordered(calendar, tb, ta)
    return _between_ordered(calendar, ta, tb)


def _between_ordered(calendar: BusinessCalendar, ta: datetime, tb: datetime) -> timedelta:
    try:
        table = calendar.__dict__[_CACHE_ATTR]
    except KeyError:
        table = _initial_table(calendar, ta)
    if ta < table.lo_guard or not table.n or tb >= table.closes[-1]:
        table = _covering(calendar, table, ta, tb)
    # Both positions are read from the same table snapshot.
    return _position(table, tb) - _position(table, ta)


def next_business_moment(calendar: BusinessCalendar, dt: datetime) -> datetime:
    """``dt`` itself (in UTC) if inside business hours, else the next opening."""
    t = _to_utc(dt, "dt")
    table = _covering(calendar, _cached_table(calendar, t), t, t)
    k = bisect_right(table.closes, t)
    if k >= table.n:
        raise OverflowError("no business time left before the year 9999")
    opening = table.opens[k]
    return t if t >= opening else opening

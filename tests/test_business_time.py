"""Tests of sla.business_time / sla.calendars (pure Python: no Django, no DB).

Every expected deadline below was computed by hand; the reasoning is in the
comment next to it.  Offsets used (2026):

* Europe/London:       GMT = UTC+0 until Sun 29 Mar, BST = UTC+1 until Sun 25 Oct.
* America/New_York:    EST = UTC-5 until Sun 8 Mar,  EDT = UTC-4 until Sun 1 Nov.
* America/Los_Angeles: PST = UTC-8 until Sun 8 Mar,  PDT = UTC-7 until Sun 1 Nov.

Calendar facts used: 1 Jan 2026 is a Thursday; Jan 2026 Mondays are 5, 12, 19
(MLK day in the US), 26; 6 Mar 2026 is a Friday; 25 Dec 2026 is a Friday;
1 Jan 2027 is a Friday; 18 Jan 2027 is a Monday (MLK day).
"""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.business_time import (
    BusinessCalendar,
    add_business_time,
    business_time_between,
    next_business_moment,
)
from sla.calendars import REGIONS, region_calendar

H = timedelta(hours=1)
TZ = {region: ZoneInfo(spec[0]) for region, spec in REGIONS.items()}
ALL_REGIONS = ("GMT", "US-EST", "US-PST")


def local(region: str, *args: int) -> datetime:
    """An aware datetime in the region's local wall time."""
    return datetime(*args, tzinfo=TZ[region])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def assert_utc_equal(result: datetime, expected: datetime) -> None:
    assert result.tzinfo is UTC
    assert result == expected
    # == on aware datetimes compares instants; also compare the UTC wall time.
    assert result.replace(tzinfo=None) == expected.astimezone(UTC).replace(tzinfo=None)


# ---------------------------------------------------------------------------
# Holiday facts (asserted against the `holidays` package itself)
# ---------------------------------------------------------------------------

ENG = holidays.country_holidays("GB", subdiv="ENG", years=[2026, 2027])
US = holidays.country_holidays("US", years=[2026, 2027])


def test_holiday_facts_used_by_the_hand_computed_cases():
    # England: Christmas Fri 25 Dec 2026, Boxing Day Sat 26 Dec -> substitute Mon 28 Dec.
    assert date(2026, 12, 25) in ENG
    assert date(2026, 12, 28) in ENG
    assert date(2027, 1, 1) in ENG
    assert date(2027, 1, 18) not in ENG
    # US: only 25 Dec closed in Christmas week; MLK 19 Jan 2026 and 18 Jan 2027.
    assert date(2026, 12, 25) in US
    assert date(2026, 12, 28) not in US
    assert date(2027, 1, 1) in US
    assert date(2026, 1, 19) in US
    assert date(2027, 1, 18) in US
    # Nothing on the DST weeks used below, nor in mid-January 2026 in England.
    for d in (date(2026, 3, 6), date(2026, 3, 9), date(2026, 3, 27), date(2026, 3, 30)):
        assert d not in ENG and d not in US
    for d in (date(2026, 10, 23), date(2026, 10, 26), date(2026, 10, 30), date(2026, 11, 2)):
        assert d not in ENG and d not in US
    assert date(2026, 1, 19) not in ENG
    for region in ALL_REGIONS:
        cal = region_calendar(region)
        assert date(2026, 12, 25) in cal.closed_dates
        assert (date(2026, 12, 28) in cal.closed_dates) is (region == "GMT")


def test_region_calendar_basics():
    cal = region_calendar("GMT")
    assert cal.tz == ZoneInfo("Europe/London")
    assert region_calendar("US-EST").tz == ZoneInfo("America/New_York")
    assert region_calendar("US-PST").tz == ZoneInfo("America/Los_Angeles")
    assert region_calendar("GMT") is cal  # cached
    assert region_calendar("GMT", extra_closed=[date(2026, 1, 14)]) is region_calendar(
        "GMT", extra_closed=(date(2026, 1, 14),)
    )
    hash(cal)
    with pytest.raises(ValueError):
        region_calendar("CET")


# ---------------------------------------------------------------------------
# Hand-computed deadlines, per region
# ---------------------------------------------------------------------------

# (start local wall time, duration, expected deadline in UTC) for each region.
# Mid-January 2026: London GMT (+0), New York EST (-5), Los Angeles PST (-8).
CASES = {
    # Received Tue 13 Jan 18:00 sharp: outside hours, counting starts Wed 14 Jan
    # 09:00; +1 h -> Wed 14 Jan 10:00 local.
    "received_at_1800": (
        (2026, 1, 13, 18, 0),
        H,
        {
            "GMT": utc(2026, 1, 14, 10),
            "US-EST": utc(2026, 1, 14, 15),
            "US-PST": utc(2026, 1, 14, 18),
        },
    ),
    # Received Wed 14 Jan 08:59: counting starts 09:00; +1 h -> 10:00 local.
    "received_at_0859": (
        (2026, 1, 14, 8, 59),
        H,
        {
            "GMT": utc(2026, 1, 14, 10),
            "US-EST": utc(2026, 1, 14, 15),
            "US-PST": utc(2026, 1, 14, 18),
        },
    ),
    # Fri 23 Jan 17:30 + 2 h: 30 min on Friday, 1 h 30 on Mon 26 Jan -> 10:30 local.
    "friday_1730_plus_2h": (
        (2026, 1, 23, 17, 30),
        2 * H,
        {
            "GMT": utc(2026, 1, 26, 10, 30),
            "US-EST": utc(2026, 1, 26, 15, 30),
            "US-PST": utc(2026, 1, 26, 18, 30),
        },
    ),
    # Wed 14 Jan 13:00 + 5 h fills the day exactly -> 18:00 Wed (not Thu 09:00).
    # LA: 18:00 PST = 02:00 UTC the next day.
    "exactly_fills_day": (
        (2026, 1, 14, 13, 0),
        5 * H,
        {
            "GMT": utc(2026, 1, 14, 18),
            "US-EST": utc(2026, 1, 14, 23),
            "US-PST": utc(2026, 1, 15, 2),
        },
    ),
    # 9 h from Wed 14 Jan 09:00 -> 18:00 the same day.
    "nine_hours_from_0900": (
        (2026, 1, 14, 9, 0),
        9 * H,
        {
            "GMT": utc(2026, 1, 14, 18),
            "US-EST": utc(2026, 1, 14, 23),
            "US-PST": utc(2026, 1, 15, 2),
        },
    ),
    # 9 h from Wed 14 Jan 18:00 -> all of Thu 15 Jan -> Thu 18:00.
    "nine_hours_from_1800": (
        (2026, 1, 14, 18, 0),
        9 * H,
        {
            "GMT": utc(2026, 1, 15, 18),
            "US-EST": utc(2026, 1, 15, 23),
            "US-PST": utc(2026, 1, 16, 2),
        },
    ),
    # Received Sat 17 Jan 12:00 + 1 h.  England: Mon 19 Jan 10:00.  US: Mon 19 Jan
    # is MLK day, so Tue 20 Jan 10:00 local.
    "weekend_then_mlk": (
        (2026, 1, 17, 12, 0),
        H,
        {
            "GMT": utc(2026, 1, 19, 10),
            "US-EST": utc(2026, 1, 20, 15),
            "US-PST": utc(2026, 1, 20, 18),
        },
    ),
    # Christmas 2026, P1 (6 h) received Thu 24 Dec 16:00: 2 h on Thursday, 4 h left.
    # England: Fri 25, Sat, Sun, Mon 28 (Boxing Day substitute) closed -> Tue 29 Dec
    # 13:00 GMT.  US: only Fri 25 closed -> Mon 28 Dec 13:00 local (EST 18:00 UTC,
    # PST 21:00 UTC).
    "christmas_2026_p1": (
        (2026, 12, 24, 16, 0),
        6 * H,
        {
            "GMT": utc(2026, 12, 29, 13),
            "US-EST": utc(2026, 12, 28, 18),
            "US-PST": utc(2026, 12, 28, 21),
        },
    ),
    # 90 bh = 10 business days from Mon 21 Dec 2026 09:00 -> 18:00 on the 10th business day.
    # England: 21,22,23,24 | 29,30,31 | 4 Jan,5,6 -> Wed 6 Jan 2027 18:00 GMT.
    # US:      21,22,23,24 | 28,29,30,31 | 4 Jan,5 -> Tue 5 Jan 2027 18:00 local
    #          (EST 23:00 UTC; PST 18:00 = 02:00 UTC Wed 6 Jan).
    "ninety_hours_over_christmas": (
        (2026, 12, 21, 9, 0),
        90 * H,
        {"GMT": utc(2027, 1, 6, 18), "US-EST": utc(2027, 1, 5, 23), "US-PST": utc(2027, 1, 6, 2)},
    ),
    # 180 bh = 20 business days from Mon 21 Dec 2026 14:30 -> 14:30 on the 21st business
    # day counting 21 Dec as the 1st (3 h 30 on day 1 + 19 full days + 5 h 30 on day 21).
    # England: ...6 Jan is the 10th; 7,8 | 11..15 | 18,19,20 (20th), Thu 21 Jan (21st).
    # US: ...5 Jan is the 10th; 6,7,8 | 11..15 (18th) | Mon 18 Jan MLK closed |
    #     19 (19th), 20 (20th), Thu 21 Jan (21st).
    # -> Thu 21 Jan 2027 14:30 local in all regions (GMT 14:30, EST 19:30, PST 22:30 UTC).
    "one_hundred_eighty_hours_over_christmas_and_mlk": (
        (2026, 12, 21, 14, 30),
        180 * H,
        {
            "GMT": utc(2027, 1, 21, 14, 30),
            "US-EST": utc(2027, 1, 21, 19, 30),
            "US-PST": utc(2027, 1, 21, 22, 30),
        },
    ),
    # 180 bh from Mon 21 Dec 2026 09:00 -> 18:00 on the 20th business day (see above):
    # England Wed 20 Jan 2027 (18:00 UTC); US Wed 20 Jan 2027 (EST 23:00 UTC, PST 02:00
    # UTC Thu 21 Jan).
    "one_hundred_eighty_hours_from_opening": (
        (2026, 12, 21, 9, 0),
        180 * H,
        {
            "GMT": utc(2027, 1, 20, 18),
            "US-EST": utc(2027, 1, 20, 23),
            "US-PST": utc(2027, 1, 21, 2),
        },
    ),
    # March DST week.  P1 received Fri 6 Mar 16:00 local: 2 h Friday + 4 h Mon 9 Mar ->
    # 13:00 local.  London still GMT -> 13:00 UTC.  New York is EDT from 8 Mar -> 17:00
    # UTC.  Los Angeles is PDT from 8 Mar -> 20:00 UTC.
    "us_spring_forward_week": (
        (2026, 3, 6, 16, 0),
        6 * H,
        {"GMT": utc(2026, 3, 9, 13), "US-EST": utc(2026, 3, 9, 17), "US-PST": utc(2026, 3, 9, 20)},
    ),
    # UK spring forward 29 Mar.  Fri 27 Mar 16:00 + 6 h -> Mon 30 Mar 13:00 local.
    # London BST -> 12:00 UTC; New York EDT -> 17:00 UTC; LA PDT -> 20:00 UTC.
    "uk_spring_forward_week": (
        (2026, 3, 27, 16, 0),
        6 * H,
        {
            "GMT": utc(2026, 3, 30, 12),
            "US-EST": utc(2026, 3, 30, 17),
            "US-PST": utc(2026, 3, 30, 20),
        },
    ),
    # UK fall back 25 Oct.  Fri 23 Oct 16:00 + 6 h -> Mon 26 Oct 13:00 local.
    # London GMT again -> 13:00 UTC; New York still EDT -> 17:00; LA still PDT -> 20:00.
    "uk_fall_back_week": (
        (2026, 10, 23, 16, 0),
        6 * H,
        {
            "GMT": utc(2026, 10, 26, 13),
            "US-EST": utc(2026, 10, 26, 17),
            "US-PST": utc(2026, 10, 26, 20),
        },
    ),
    # US fall back 1 Nov.  Fri 30 Oct 16:00 + 6 h -> Mon 2 Nov 13:00 local.
    # London GMT -> 13:00 UTC; New York EST -> 18:00 UTC; LA PST -> 21:00 UTC.
    "us_fall_back_week": (
        (2026, 10, 30, 16, 0),
        6 * H,
        {
            "GMT": utc(2026, 11, 2, 13),
            "US-EST": utc(2026, 11, 2, 18),
            "US-PST": utc(2026, 11, 2, 21),
        },
    ),
}


@pytest.mark.parametrize("region", ALL_REGIONS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_hand_computed_deadlines(region, case):
    start_wall, duration, expected = CASES[case]
    cal = region_calendar(region)
    start = local(region, *start_wall)
    result = add_business_time(cal, start, duration)
    assert_utc_equal(result, expected[region])
    # ...and back again: exactly `duration` of business time in between.
    assert business_time_between(cal, start, result) == duration
    assert business_time_between(cal, result, start) == -duration
    # The same instant given in UTC gives the same deadline.
    assert add_business_time(cal, start.astimezone(UTC), duration) == result


def test_dst_week_utc_outputs_explicitly():
    # New York: Fri 6 Mar 2026 16:00 EST = 21:00 UTC; + 6 bh -> Mon 9 Mar 13:00 EDT = 17:00 UTC.
    ny = region_calendar("US-EST")
    assert_utc_equal(add_business_time(ny, utc(2026, 3, 6, 21), 6 * H), utc(2026, 3, 9, 17))
    # London: Fri 6 Mar 2026 16:00 GMT = 16:00 UTC -> Mon 9 Mar 13:00 GMT = 13:00 UTC.
    london = region_calendar("GMT")
    assert_utc_equal(add_business_time(london, utc(2026, 3, 6, 16), 6 * H), utc(2026, 3, 9, 13))
    # Real time elapsed in New York is Fri 21:00 UTC -> Mon 17:00 UTC = 68 h, business time 6 h.
    assert business_time_between(ny, utc(2026, 3, 6, 21), utc(2026, 3, 9, 17)) == 6 * H
    # Los Angeles closes at 18:00 PST = 02:00 UTC the next day: Sat 7 Mar 01:30 UTC is
    # Fri 6 Mar 17:30 PST, inside business hours; + 1 h -> 30 min Fri + 30 min on Mon 9 Mar
    # -> 09:30 PDT = 16:30 UTC.
    la = region_calendar("US-PST")
    assert la.is_business_time(utc(2026, 3, 7, 1, 30))
    assert_utc_equal(add_business_time(la, utc(2026, 3, 7, 1, 30), H), utc(2026, 3, 9, 16, 30))
    # A business day is 9 real hours on both sides of the change: Mon 9 Mar New York
    # opens 13:00 UTC and closes 22:00 UTC (EDT).
    assert_utc_equal(add_business_time(ny, utc(2026, 3, 9, 13), 9 * H), utc(2026, 3, 9, 22))
    assert_utc_equal(next_business_moment(ny, utc(2026, 3, 7, 12)), utc(2026, 3, 9, 13))


@pytest.mark.parametrize("region", ALL_REGIONS)
def test_is_business_time_boundaries(region):
    cal = region_calendar(region)
    # Wed 14 Jan 2026 is a business day everywhere.
    assert not cal.is_business_time(local(region, 2026, 1, 14, 8, 59, 59))
    assert cal.is_business_time(local(region, 2026, 1, 14, 9, 0))
    assert cal.is_business_time(local(region, 2026, 1, 14, 17, 59, 59, 999999))
    assert not cal.is_business_time(local(region, 2026, 1, 14, 18, 0))
    assert not cal.is_business_time(local(region, 2026, 1, 17, 12, 0))  # Saturday
    assert not cal.is_business_time(local(region, 2026, 12, 25, 12, 0))  # Christmas
    assert cal.is_business_day(date(2026, 1, 14))
    assert not cal.is_business_day(date(2026, 1, 18))  # Sunday
    assert cal.is_business_day(date(2026, 12, 28)) is (region != "GMT")


@pytest.mark.parametrize("region", ALL_REGIONS)
def test_next_business_moment(region):
    cal = region_calendar(region)
    inside = local(region, 2026, 1, 14, 12, 34, 56, 789)
    assert_utc_equal(next_business_moment(cal, inside), inside)
    # 18:00 sharp Wed -> Thu 09:00; 08:59 Wed -> Wed 09:00; Fri 18:00 -> Mon 09:00
    # (Fri 23 Jan -> Mon 26 Jan).
    assert_utc_equal(
        next_business_moment(cal, local(region, 2026, 1, 14, 18)), local(region, 2026, 1, 15, 9)
    )
    assert_utc_equal(
        next_business_moment(cal, local(region, 2026, 1, 14, 8, 59)), local(region, 2026, 1, 14, 9)
    )
    assert_utc_equal(
        next_business_moment(cal, local(region, 2026, 1, 23, 18)), local(region, 2026, 1, 26, 9)
    )


@pytest.mark.parametrize("region", ALL_REGIONS)
def test_microsecond_exactness(region):
    cal = region_calendar(region)
    # 17:59:59.999999 + 1 us -> 18:00:00 sharp that day; + 2 us -> Thu 09:00:00.000001.
    start = local(region, 2026, 1, 14, 17, 59, 59, 999999)
    us = timedelta(microseconds=1)
    assert_utc_equal(add_business_time(cal, start, us), local(region, 2026, 1, 14, 18))
    assert_utc_equal(add_business_time(cal, start, 2 * us), local(region, 2026, 1, 15, 9, 0, 0, 1))
    assert (
        business_time_between(
            cal, local(region, 2026, 1, 14, 9, 0, 0, 1), local(region, 2026, 1, 14, 9, 0, 0, 3)
        )
        == 2 * us
    )


# ---------------------------------------------------------------------------
# business_time_between
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("region", ALL_REGIONS)
def test_between_weekend_partial_days_and_reversed(region):
    cal = region_calendar(region)
    # Fri 23 Jan 17:30 -> Mon 26 Jan 10:30: 30 min + 1 h 30 = 2 h.
    a, b = local(region, 2026, 1, 23, 17, 30), local(region, 2026, 1, 26, 10, 30)
    assert business_time_between(cal, a, b) == 2 * H
    assert business_time_between(cal, b, a) == -2 * H
    # Same day 10:15 -> 16:45 = 6 h 30.
    assert business_time_between(
        cal, local(region, 2026, 1, 14, 10, 15), local(region, 2026, 1, 14, 16, 45)
    ) == timedelta(hours=6, minutes=30)
    # Both outside business hours, nothing in between: Mon 20:00 -> Tue 08:00; Sat -> Sun.
    assert business_time_between(
        cal, local(region, 2026, 1, 12, 20), local(region, 2026, 1, 13, 8)
    ) == timedelta(0)
    assert business_time_between(
        cal, local(region, 2026, 1, 24, 12), local(region, 2026, 1, 25, 12)
    ) == timedelta(0)
    # Outside -> outside spanning one business day: Tue 13 Jan 18:00 -> Thu 15 Jan 08:00 = 9 h.
    assert (
        business_time_between(cal, local(region, 2026, 1, 13, 18), local(region, 2026, 1, 15, 8))
        == 9 * H
    )
    # Mon 12 Jan 09:00 -> Mon 19 Jan 09:00: 5 full days = 45 h (19 Jan contributes 0 at 09:00).
    assert (
        business_time_between(cal, local(region, 2026, 1, 12, 9), local(region, 2026, 1, 19, 9))
        == 45 * H
    )
    # Identical instants, also given in different time zones.
    t = local(region, 2026, 1, 14, 11)
    assert business_time_between(cal, t, t.astimezone(UTC)) == timedelta(0)


def test_between_across_christmas_holidays():
    # Thu 24 Dec 2026 12:00 -> Tue 29 Dec 12:00.
    # England: Thu 12-18 (6 h) + Tue 9-12 (3 h) = 9 h (25 and 28 Dec closed).
    # US: 6 h + all of Mon 28 Dec (9 h) + 3 h = 18 h.
    expected = {"GMT": 9 * H, "US-EST": 18 * H, "US-PST": 18 * H}
    for region in ALL_REGIONS:
        cal = region_calendar(region)
        a, b = local(region, 2026, 12, 24, 12), local(region, 2026, 12, 29, 12)
        assert business_time_between(cal, a, b) == expected[region]
        assert business_time_between(cal, b, a) == -expected[region]


# ---------------------------------------------------------------------------
# Extra closed / open days
# ---------------------------------------------------------------------------


def test_extra_closed_day():
    # England with Wed 14 Jan 2026 closed: Tue 13 Jan 17:00 + 2 h -> 1 h Tuesday,
    # Wednesday skipped, 1 h on Thu 15 Jan -> 10:00 GMT = 10:00 UTC.
    cal = region_calendar("GMT", extra_closed=[date(2026, 1, 14)])
    assert not cal.is_business_day(date(2026, 1, 14))
    assert_utc_equal(
        add_business_time(cal, local("GMT", 2026, 1, 13, 17), 2 * H), utc(2026, 1, 15, 10)
    )
    assert (
        business_time_between(cal, local("GMT", 2026, 1, 13, 9), local("GMT", 2026, 1, 15, 18))
        == 18 * H
    )
    # The plain calendar is unaffected (1 h Tue + 1 h Wed -> Wed 10:00).
    plain = region_calendar("GMT")
    assert_utc_equal(
        add_business_time(plain, local("GMT", 2026, 1, 13, 17), 2 * H), utc(2026, 1, 14, 10)
    )


def test_extra_open_saturday():
    # New York with Sat 17 Jan 2026 opened: Fri 16 Jan 17:00 + 2 h -> 1 h Friday,
    # 1 h Saturday -> Sat 17 Jan 10:00 EST = 15:00 UTC.
    cal = region_calendar("US-EST", extra_open=[date(2026, 1, 17)])
    assert cal.is_business_day(date(2026, 1, 17))
    assert cal.is_business_time(local("US-EST", 2026, 1, 17, 9))
    assert_utc_equal(
        add_business_time(cal, local("US-EST", 2026, 1, 16, 17), 2 * H), utc(2026, 1, 17, 15)
    )
    # Sat 17 Jan 09:00 -> Tue 20 Jan 09:00: all of Saturday (9 h), Sun closed, Mon 19 MLK
    # closed -> 9 h.
    assert (
        business_time_between(cal, local("US-EST", 2026, 1, 17, 9), local("US-EST", 2026, 1, 20, 9))
        == 9 * H
    )


def test_extra_open_day_overrides_holiday():
    # Los Angeles with Christmas 2026 opened: Thu 24 Dec 17:00 + 2 h -> 1 h Thursday,
    # 1 h Fri 25 Dec -> 10:00 PST = 18:00 UTC.
    cal = region_calendar("US-PST", extra_open=[date(2026, 12, 25)])
    assert cal.is_business_day(date(2026, 12, 25))
    assert_utc_equal(
        add_business_time(cal, local("US-PST", 2026, 12, 24, 17), 2 * H), utc(2026, 12, 25, 18)
    )


def test_custom_calendar_object():
    # A hand-made calendar: Europe/London, Mon-Fri, 14 Jan closed, Sat 17 Jan open.
    cal = BusinessCalendar(
        tz=ZoneInfo("Europe/London"),
        closed_dates=frozenset({date(2026, 1, 14)}),
        open_dates=frozenset({date(2026, 1, 17)}),
    )
    assert cal == BusinessCalendar(
        tz=ZoneInfo("Europe/London"),
        closed_dates=frozenset({date(2026, 1, 14)}),
        open_dates=frozenset({date(2026, 1, 17)}),
    )
    assert hash(cal) == hash(
        BusinessCalendar(
            tz=ZoneInfo("Europe/London"),
            closed_dates=frozenset({date(2026, 1, 14)}),
            open_dates=frozenset({date(2026, 1, 17)}),
        )
    )
    # Tue 13 Jan 09:00 + 27 h: Tue (9), Thu (18), Fri (27) -> Fri 16 Jan 18:00 GMT;
    # + 28 h -> 1 h on the open Saturday -> Sat 17 Jan 10:00 GMT.
    start = local("GMT", 2026, 1, 13, 9)
    assert_utc_equal(add_business_time(cal, start, 27 * H), utc(2026, 1, 16, 18))
    assert_utc_equal(add_business_time(cal, start, 28 * H), utc(2026, 1, 17, 10))
    # Pickling drops the cached table but keeps the calendar equal and working.
    clone = pickle.loads(pickle.dumps(cal))
    assert clone == cal
    assert add_business_time(clone, start, 28 * H) == utc(2026, 1, 17, 10)


def test_far_past_and_future_extend_the_table():
    cal = BusinessCalendar(tz=ZoneInfo("America/New_York"))
    # Prime the cache in 2026 first, then go far backward and forward.
    # Fri 2 Jan 2026 17:00 EST + 2 h -> Mon 5 Jan 10:00 EST = 15:00 UTC.
    assert_utc_equal(
        add_business_time(cal, local("US-EST", 2026, 1, 2, 17), 2 * H), utc(2026, 1, 5, 15)
    )
    # Fri 1 Jan 1999 (a Friday) 17:00 EST + 2 h -> Mon 4 Jan 1999 10:00 EST = 15:00 UTC.
    assert_utc_equal(
        add_business_time(cal, local("US-EST", 1999, 1, 1, 17), 2 * H), utc(1999, 1, 4, 15)
    )
    # Fri 1 Jan 2100 (a Friday) 17:00 EST + 2 h -> Mon 4 Jan 2100 10:00 EST = 15:00 UTC.
    assert_utc_equal(
        add_business_time(cal, local("US-EST", 2100, 1, 1, 17), 2 * H), utc(2100, 1, 4, 15)
    )
    # 1999-01-04 09:00 -> 2100-01-04 09:00 spans exactly the weekdays in between, 9 h each.
    weekdays = sum(
        1
        for o in range(date(1999, 1, 4).toordinal(), date(2100, 1, 4).toordinal())
        if date.fromordinal(o).weekday() < 5
    )
    assert (
        business_time_between(cal, local("US-EST", 1999, 1, 4, 9), local("US-EST", 2100, 1, 4, 9))
        == weekdays * 9 * H
    )


def test_calendar_without_workdays():
    # Only Sat 17 Jan 2026 is open: anything before it lands on that day, after it there
    # is no business time left at all.
    cal = BusinessCalendar(
        tz=ZoneInfo("Europe/London"),
        workdays=frozenset(),
        open_dates=frozenset({date(2026, 1, 17)}),
    )
    assert_utc_equal(add_business_time(cal, utc(2020, 5, 5), 9 * H), utc(2026, 1, 17, 18))
    assert business_time_between(cal, utc(2000, 1, 1), utc(2030, 1, 1)) == 9 * H
    with pytest.raises(OverflowError):
        add_business_time(cal, utc(2026, 1, 17, 17), 2 * H)


# ---------------------------------------------------------------------------
# Errors and trivial cases
# ---------------------------------------------------------------------------


def test_naive_datetimes_are_rejected():
    cal = region_calendar("GMT")
    naive = datetime(2026, 1, 14, 10)
    aware = local("GMT", 2026, 1, 14, 10)
    with pytest.raises(ValueError):
        add_business_time(cal, naive, H)
    with pytest.raises(ValueError):
        business_time_between(cal, naive, aware)
    with pytest.raises(ValueError):
        business_time_between(cal, aware, naive)
    with pytest.raises(ValueError):
        next_business_moment(cal, naive)
    with pytest.raises(ValueError):
        cal.is_business_time(naive)


def test_negative_and_zero_duration():
    cal = region_calendar("US-EST")
    start = local("US-EST", 2026, 1, 17, 12)  # a Saturday: outside business hours
    with pytest.raises(ValueError):
        add_business_time(cal, start, timedelta(microseconds=-1))
    # Zero duration returns the start unchanged, in UTC (Sat 12:00 EST = 17:00 UTC).
    assert_utc_equal(add_business_time(cal, start, timedelta(0)), utc(2026, 1, 17, 17))


def test_invalid_calendar_definitions():
    with pytest.raises(ValueError):
        BusinessCalendar(tz=ZoneInfo("Europe/London"), open_time=time(18), close_time=time(9))
    with pytest.raises(TypeError):
        BusinessCalendar(tz="Europe/London")
    with pytest.raises(TypeError):
        BusinessCalendar(
            tz=ZoneInfo("Europe/London"), closed_dates=frozenset({datetime(2026, 1, 1)})
        )


# ---------------------------------------------------------------------------
# Property tests
# ---------------------------------------------------------------------------

RANGE_START = utc(2025, 1, 1)
RANGE_END = utc(2028, 12, 31)
RANGE_US = (RANGE_END - RANGE_START) // timedelta(microseconds=1)
MAX_DURATION_S = 200 * 3600

regions = st.sampled_from(ALL_REGIONS)


@st.composite
def instants(draw, region):
    """Aware instants in 2025-2028: uniform, or exactly on interesting local wall times."""
    if draw(st.booleans()):
        return RANGE_START + timedelta(microseconds=draw(st.integers(0, RANGE_US)))
    day = date.fromordinal(
        draw(st.integers(date(2025, 1, 1).toordinal(), date(2028, 12, 30).toordinal()))
    )
    hour = draw(st.sampled_from([0, 8, 9, 12, 17, 18, 23]))
    minute = draw(st.sampled_from([0, 30, 59]))
    return datetime.combine(day, time(hour, minute), tzinfo=TZ[region])


durations = st.one_of(
    st.integers(1, MAX_DURATION_S).map(lambda s: timedelta(seconds=s)),
    st.sampled_from([H, 6 * H, 9 * H, 90 * H, 180 * H]),
    st.integers(1, MAX_DURATION_S * 10**6).map(lambda us: timedelta(microseconds=us)),
)

PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def reference_add(cal: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """Independent slow oracle: walk day by day through local business windows."""
    t = start.astimezone(UTC)
    remaining = duration
    day = t.astimezone(cal.tz).date() - timedelta(days=1)
    while True:
        if cal.is_business_day(day):
            opening = datetime.combine(day, cal.open_time, tzinfo=cal.tz).astimezone(UTC)
            closing = datetime.combine(day, cal.close_time, tzinfo=cal.tz).astimezone(UTC)
            if closing > t:
                begin = max(t, opening)
                if closing - begin >= remaining:
                    return begin + remaining
                remaining -= closing - begin
        day += timedelta(days=1)


@PROPERTY_SETTINGS
@given(data=st.data(), region=regions)
def test_property_monotonic_in_start(data, region):
    cal = region_calendar(region)
    t1 = data.draw(instants(region))
    t2 = data.draw(instants(region))
    d = data.draw(durations)
    if t2 < t1:
        t1, t2 = t2, t1
    assert add_business_time(cal, t1, d) <= add_business_time(cal, t2, d)


@PROPERTY_SETTINGS
@given(data=st.data(), region=regions)
def test_property_monotonic_in_duration(data, region):
    cal = region_calendar(region)
    t = data.draw(instants(region))
    d1 = data.draw(durations)
    d2 = data.draw(durations)
    if d2 < d1:
        d1, d2 = d2, d1
    assert add_business_time(cal, t, d1) <= add_business_time(cal, t, d2)


@PROPERTY_SETTINGS
@given(data=st.data(), region=regions)
def test_property_additive(data, region):
    cal = region_calendar(region)
    t = data.draw(instants(region))
    a = data.draw(durations)
    b = data.draw(durations)
    assert add_business_time(cal, add_business_time(cal, t, a), b) == add_business_time(
        cal, t, a + b
    )


@PROPERTY_SETTINGS
@given(data=st.data(), region=regions)
def test_property_between_inverts_add(data, region):
    cal = region_calendar(region)
    t = data.draw(instants(region))
    d = data.draw(durations)
    end = add_business_time(cal, t, d)
    assert business_time_between(cal, t, end) == d
    assert business_time_between(cal, end, t) == -d


@PROPERTY_SETTINGS
@given(data=st.data(), region=regions)
def test_property_result_inside_business_hours(data, region):
    cal = region_calendar(region)
    t = data.draw(instants(region))
    d = data.draw(durations)
    end = add_business_time(cal, t, d)
    assert end.tzinfo is UTC
    assert end > t
    wall = end.astimezone(cal.tz)
    assert cal.is_business_day(wall.date())
    assert cal.open_time < wall.time() <= cal.close_time
    # Matches the independent day-by-day oracle.
    assert end == reference_add(cal, t, d)


@PROPERTY_SETTINGS
@given(data=st.data(), region=regions)
def test_property_between_antisymmetric_and_additive(data, region):
    cal = region_calendar(region)
    a = data.draw(instants(region))
    b = data.draw(instants(region))
    c = data.draw(instants(region))
    ab = business_time_between(cal, a, b)
    assert business_time_between(cal, b, a) == -ab
    assert ab + business_time_between(cal, b, c) == business_time_between(cal, a, c)
    # Consistency of next_business_moment with is_business_time.
    m = next_business_moment(cal, a)
    assert m >= a and cal.is_business_time(m)
    assert (m == a) is cal.is_business_time(a)
    assert business_time_between(cal, a, m) == timedelta(0)

"""SlaTarget.moment against the business-time module: the instant a fraction of a target's
business (or clock) time has elapsed, paused time included."""

import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.business_time import add_business_time, business_time_between
from sla.calendars import REGIONS, region_calendar
from sla.models import Clock, Phase
from sla.targets import SlaTarget

UTC = datetime.UTC
H = datetime.timedelta(hours=1)
starts = st.datetimes(
    min_value=datetime.datetime(2026, 1, 1),
    max_value=datetime.datetime(2027, 12, 31),
    timezones=st.just(UTC),
)
lengths = st.integers(1, 200 * 3600).map(lambda s: datetime.timedelta(seconds=s))
pauses = st.integers(0, 48 * 3600).map(lambda s: datetime.timedelta(seconds=s))
fractions = st.sampled_from([0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0])
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def business_target(region, start, length, paused):
    calendar = region_calendar(region)
    due = add_business_time(calendar, start, length + paused)
    return SlaTarget(Phase.RESOLUTION, start, due, Clock.BUSINESS, calendar, paused)


@PROPERTY
@given(st.sampled_from(sorted(REGIONS)), starts, lengths, pauses, fractions)
def test_business_moment_is_the_fraction_of_business_time_plus_the_pause(
    region, start, length, paused, fraction
):
    target = business_target(region, start, length, paused)
    moment = target.moment(fraction)
    elapsed = business_time_between(target.calendar, start, moment)
    assert abs(elapsed - (length * fraction + paused)) <= datetime.timedelta(microseconds=1)


@PROPERTY
@given(st.sampled_from(sorted(REGIONS)), starts, lengths, pauses)
def test_moments_grow_with_the_fraction_and_one_is_the_stored_deadline(
    region, start, length, paused
):
    target = business_target(region, start, length, paused)
    moments = [target.moment(f) for f in (0.5, 0.75, 1.0, 1.5, 2.0)]
    assert moments == sorted(moments)
    assert target.moment(1.0) == target.due


@PROPERTY
@given(starts, lengths, pauses, fractions)
def test_clock_moment_counts_wall_time(start, length, paused, fraction):
    calendar = region_calendar("GMT")
    due = start + length + paused
    target = SlaTarget(Phase.RESOLUTION, start, due, Clock.CLOCK, calendar, paused)
    expected = start + length * fraction + paused
    assert abs(target.moment(fraction) - expected) <= datetime.timedelta(microseconds=1)


def test_a_business_target_moment_skips_the_night():
    # GMT, Monday 2 March 2026 10:00, 6 business hours: 150% = 9 h → Tuesday 10:00.
    calendar = region_calendar("GMT")
    start = datetime.datetime(2026, 3, 2, 10, tzinfo=UTC)
    due = add_business_time(calendar, start, 6 * H)
    target = SlaTarget(Phase.RESPONSE, start, due, Clock.BUSINESS, calendar)
    assert due == datetime.datetime(2026, 3, 2, 16, tzinfo=UTC)
    assert target.moment(1.5) == datetime.datetime(2026, 3, 3, 10, tzinfo=UTC)

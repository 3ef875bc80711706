"""The pure arithmetic of escalation.rules: which rules are due, and when the next one is."""

import datetime

import pytest

from escalation.rules import Rule, decide, pending
from sla.calendars import region_calendar
from sla.models import Clock, Phase
from sla.targets import SlaTarget

UTC = datetime.UTC
GMT = region_calendar("GMT")
DEFAULT = (Rule(75, 0), Rule(100, 1), Rule(150, 2), Rule(200, 3))
# Tuesday 10:00 London; 8 business hours (P2 response) → due Tuesday 18:00 (closing time).
START = datetime.datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
BUSINESS = SlaTarget(
    Phase.RESPONSE, START, datetime.datetime(2026, 3, 3, 18, 0, tzinfo=UTC), Clock.BUSINESS, GMT
)
# P0 outside hours: 2 clock hours from Saturday 20:00.
SAT = datetime.datetime(2026, 3, 7, 20, 0, tzinfo=UTC)
CLOCK = SlaTarget(Phase.RESPONSE, SAT, SAT + datetime.timedelta(hours=2), Clock.CLOCK, GMT)


def at_percent(target, percent):
    return target.moment(percent / 100)


def fired(target, percent, *, level=0, warned=False, recorded=False):
    decision = decide(
        target,
        DEFAULT,
        level=level,
        warned=warned,
        breach_recorded=recorded,
        now=at_percent(target, percent),
    )
    return [r.level for r in decision.fire], decision


def test_business_moments_count_only_business_hours():
    # 75% of 8 business hours = 6 h: Tuesday 10:00 + 6 h = 16:00.
    assert BUSINESS.moment(0.75) == datetime.datetime(2026, 3, 3, 16, 0, tzinfo=UTC)
    # 150% = 12 h: Tuesday 8 h (10–18), Wednesday 09:00 + 4 h = 13:00.
    assert BUSINESS.moment(1.5) == datetime.datetime(2026, 3, 4, 13, 0, tzinfo=UTC)
    assert BUSINESS.moment(2.0) == datetime.datetime(2026, 3, 4, 17, 0, tzinfo=UTC)


def test_clock_moments_count_wall_time_through_the_night():
    assert CLOCK.moment(0.75) == SAT + datetime.timedelta(minutes=90)
    assert CLOCK.moment(2.0) == SAT + datetime.timedelta(hours=4)


@pytest.mark.parametrize("target", [BUSINESS, CLOCK], ids=["business", "clock"])
@pytest.mark.parametrize(
    ("percent", "levels"),
    [(74, []), (75, [0]), (100, [0, 1]), (149, [0, 1]), (150, [0, 1, 2]), (210, [0, 1, 2, 3])],
)
def test_levels_due_at_each_threshold_from_scratch(target, percent, levels):
    # A ticket nothing has fired for yet; a warning is only sent before the deadline.
    expected = [lvl for lvl in levels if lvl > 0] if percent >= 100 else levels
    assert fired(target, percent)[0] == expected


def test_warning_not_repeated_and_levels_already_fired_skipped():
    assert fired(BUSINESS, 80, warned=True)[0] == []
    assert fired(BUSINESS, 160, level=1, recorded=True)[0] == [2]
    assert fired(BUSINESS, 210, level=3, recorded=True)[0] == []


def test_next_check_is_the_next_pending_moment():
    _, decision = fired(BUSINESS, 74)
    assert decision.next_check_at == BUSINESS.moment(0.75)
    _, decision = fired(BUSINESS, 75)
    assert decision.next_check_at == BUSINESS.due  # the breach / level 1
    _, decision = fired(BUSINESS, 100)
    assert decision.breach is True
    assert decision.next_check_at == BUSINESS.moment(1.5)
    _, decision = fired(BUSINESS, 210)
    assert decision.next_check_at is None  # every level fired, breach recorded now


def test_no_target_means_no_clock():
    decision = decide(None, DEFAULT, level=0, warned=False, breach_recorded=False, now=START)
    assert decision.fire == [] and decision.next_check_at is None


def test_one_warning_per_phase_even_with_two_warning_rules():
    rules = [Rule(50, 0), Rule(75, 0), Rule(100, 1)]
    assert [r.percent for r in pending(rules, level=0, warned=False)] == [50, 100]
    assert [r.percent for r in pending(rules, level=0, warned=True)] == [100]


def test_paused_time_shifts_every_moment_like_the_deadline():
    # Resolution of 10 clock hours, paused 2 h: due 12 h after start; 50% = 5 h + 2 h.
    start = START
    target = SlaTarget(
        Phase.RESOLUTION,
        start,
        start + datetime.timedelta(hours=12),
        Clock.CLOCK,
        GMT,
        datetime.timedelta(hours=2),
    )
    assert target.moment(0.5) == start + datetime.timedelta(hours=7)
    assert target.moment(1.0) == target.due

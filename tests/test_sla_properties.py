"""Properties of the deadlines over random receipt times, regions and priorities."""

import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla import engine
from sla.business_time import business_time_between
from sla.models import Clock, PlanTarget
from tests.sla_helpers import _fresh_calendars, org_in  # noqa: F401 - autouse fixture
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
moments = st.datetimes(
    min_value=datetime.datetime(2026, 1, 1),
    max_value=datetime.datetime(2027, 12, 31),
    timezones=st.just(UTC),
)


@pytest.fixture
def orgs():
    return {region: org_in(region) for region in ("GMT", "US-EST", "US-PST")}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    region=st.sampled_from(["GMT", "US-EST", "US-PST"]),
    priority=st.sampled_from(["P0", "P1", "P2"]),
    received=moments,
    first_response_after=st.one_of(
        st.none(),
        st.timedeltas(min_value=datetime.timedelta(0), max_value=datetime.timedelta(days=9)),
    ),
)
def test_deadlines_match_their_targets_and_escalation_moments(
    orgs, region, priority, received, first_response_after
):
    ticket = Ticket(organization=orgs[region], priority=priority, received_at=received)
    if first_response_after is not None:
        ticket.first_response_at = received + first_response_after
        ticket.status = "open"
    engine.compute_deadlines(ticket, now=received)
    target = PlanTarget.objects.get(plan__slug="platinum", priority=priority)
    calendar = engine.calendar_for_region(region)
    outside = not calendar.is_business_time(received)
    due = ticket.response_due_at
    if priority == "P0" and outside:
        assert ticket.response_clock == Clock.CLOCK
        assert due - received == datetime.timedelta(hours=2)
    else:
        assert ticket.response_clock == Clock.BUSINESS
        worked = business_time_between(calendar, received, due)
        assert worked == datetime.timedelta(minutes=target.response_minutes)
        # Never 09:00 for a deadline that could end at 18:00 the day before.
        assert calendar.is_business_time(due) or due.astimezone(calendar.tz).hour == 18
    if ticket.first_response_at is not None:
        worked = business_time_between(calendar, ticket.first_response_at, ticket.resolution_due_at)
        assert worked == datetime.timedelta(minutes=target.resolution_minutes)
    moments_ = [engine.current_target(ticket).moment(f) for f in (0.75, 1.0, 1.5, 2.0)]
    assert moments_[1] == engine.current_target(ticket).due
    assert moments_ == sorted(moments_)

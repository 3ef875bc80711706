"""Shared helpers of the SLA tests: organizations per region, tickets through the services."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from sla import engine
from tests.factories import ClientFactory, ContractFactory, OrganizationFactory, plan
from tickets import services

UTC = datetime.UTC
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def at(tz, *args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=tz)


def utc(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def org_in(region: str, plan_slug: str = "platinum"):
    org = OrganizationFactory(contract=None)
    ContractFactory(organization=org, region=region, plan=plan(plan_slug))
    return org


def open_at(org, received_at, priority, *, now=None, actor=None):
    """Open a ticket received at ``received_at``, with the clock set just after it."""
    reporter = ClientFactory(organization=org)
    with time_machine.travel(now or received_at + datetime.timedelta(minutes=1), tick=False):
        return services.open_ticket(
            organization=org,
            reporter=reporter,
            subject="Heatmaps blank",
            description="The heatmap page stays blank.",
            priority=priority,
            received_at=received_at,
            actor=actor,
        )


@pytest.fixture(autouse=True)
def _fresh_calendars():
    """Calendars are cached per process; a rolled-back override must not leak between tests."""
    engine.invalidate_calendars()
    yield
    engine.invalidate_calendars()

"""Countdown texts and badges shown in lists, the ticket page and the admin."""

import pytest
import time_machine
from django.template.loader import render_to_string

from sla.display import Badge, sla_status
from tests.sla_helpers import (
    LONDON,
    _fresh_calendars,  # noqa: F401 - autouse fixture
    at,
    open_at,
    utc,
)
from tickets import services
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def p1(org):
    """P1 received Mon 2 Mar 2026 09:00 London (= UTC): response due 15:00."""
    return open_at(org, at(LONDON, 2026, 3, 2, 9, 0), "P1")


@pytest.fixture
def p1_responded(p1, charlie):
    """First response Mon 2 Mar 10:00: resolution due Mon 16 Mar 10:00 (90 bh)."""
    with time_machine.travel(utc(2026, 3, 2, 10, 30), tick=False):
        return services.start_diagnosis(p1, actor=charlie, at=utc(2026, 3, 2, 10, 0))


@pytest.mark.parametrize(
    ("now", "badge", "text"),
    [
        # 12:50 -> 15:00 is 2 h 10 min of business time; 75 % (13:30) not reached.
        (utc(2026, 3, 2, 12, 50), Badge.OK, "response due in 2 h 10 min — business hours"),
        # Past 75 % of 6 h (13:30): amber.
        (utc(2026, 3, 2, 13, 40), Badge.WARN, "response due in 1 h 20 min — business hours"),
        (utc(2026, 3, 2, 14, 15), Badge.WARN, "response due in 45 min — business hours"),
        (utc(2026, 3, 2, 18, 0), Badge.BREACHED, "response overdue by 3 h"),
    ],
)
def test_response_countdown(p1, now, badge, text):
    status = sla_status(p1, now=now)
    assert (status.badge, status.text) == (badge, text)
    assert status.title == "response due Mon 2 Mar 2026 15:00 GMT"


def test_business_countdown_skips_the_night(org):
    # P1 received Mon 2 Mar 16:00: 2 h Monday + 4 h Tuesday -> due Tue 13:00. At Mon 20:00
    # the business time left is 4 h (all of it on Tuesday), not 17 wall-clock hours.
    ticket = open_at(org, at(LONDON, 2026, 3, 2, 16, 0), "P1")
    status = sla_status(ticket, now=utc(2026, 3, 2, 20, 0))
    assert status.text == "response due in 4 h — business hours"
    assert status.badge == Badge.OK  # 2 of 6 business hours elapsed


def test_clock_hours_countdown(org):
    ticket = open_at(org, at(LONDON, 2026, 3, 7, 10, 0), "P0")  # Saturday: due 12:00
    status = sla_status(ticket, now=utc(2026, 3, 7, 10, 30))
    assert (status.badge, status.text) == (Badge.OK, "response due in 1 h 30 min — clock hours")
    status = sla_status(ticket, now=utc(2026, 3, 7, 11, 15))
    assert (status.badge, status.text) == (Badge.WARN, "response due in 45 min — clock hours")


def test_resolution_countdown_in_business_days(p1_responded):
    # Tue 10 Mar 10:00 -> Mon 16 Mar 10:00: 8 + 9 + 9 + 9 + 1 = 36 bh = 4 business days.
    status = sla_status(p1_responded, now=utc(2026, 3, 10, 10, 0))
    assert (status.badge, status.text) == (
        Badge.OK,
        "resolution due in 4 business days — business hours",
    )


def test_resolution_overdue_by_a_day(p1_responded):
    status = sla_status(p1_responded, now=utc(2026, 3, 17, 10, 0))
    assert (status.badge, status.text) == (Badge.BREACHED, "resolution overdue by 1 day")


def test_met_missed_excluded_and_no_target(org, p1, charlie):
    with time_machine.travel(utc(2026, 3, 20), tick=False):
        resolved = services.resolve(p1, actor=charlie, at=utc(2026, 3, 2, 11, 0))
        late = open_at(org, at(LONDON, 2026, 3, 2, 9, 0), "P1", now=utc(2026, 3, 2, 9, 5))
        late = services.resolve(late, actor=charlie, at=utc(2026, 3, 2, 17, 30))
    assert (sla_status(resolved).badge, sla_status(resolved).text) == (Badge.OK, "met")
    # Resolved at 17:30 = first response: response missed by 2 h 30 (due 15:00).
    assert sla_status(late).text == "response missed by 2 h 30 min"
    assert sla_status(late).badge == Badge.BREACHED
    p3 = open_at(org, at(LONDON, 2026, 3, 2, 9, 0), "P3")
    assert (sla_status(p3).badge, sla_status(p3).text) == (Badge.NONE, "no target (P3)")
    with time_machine.travel(utc(2026, 3, 20), tick=False):
        excluded = services.set_exclusion(
            open_at(org, at(LONDON, 2026, 3, 2, 9, 0), "P1"),
            excluded=True,
            reason="Client changed its site",
            actor=charlie,
        )
    assert sla_status(excluded).text == "excluded from SLA"


def test_sla_badge_template_is_coloured(p1):
    with time_machine.travel(utc(2026, 3, 2, 18, 0), tick=False):
        html = render_to_string("sla/_ticket_sla.html", {"ticket": p1})
    assert "response overdue by 3 h" in html
    assert 'class="sla sla-breached"' in html
    assert "#b71c1c" in html  # red


def test_timeline_template_lists_public_sla_events_in_order(p1_responded):
    events = TicketEvent.objects.filter(ticket=p1_responded, kind="sla", public=True)
    with time_machine.travel(utc(2026, 3, 2, 11, 0), tick=False):
        html = render_to_string(
            "sla/_ticket_timeline.html", {"ticket": p1_responded, "sla_events": events}
        )
    started = html.index("clock started (business hours, region GMT)")
    first = html.index("first response at Mon 2 Mar 2026 10:00 GMT; resolution clock started")
    assert "<ol" in html and started < first
    assert "resolution due in" in html  # the badge

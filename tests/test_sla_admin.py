"""The ticket changelist's SLA column and filters, calendars and plan targets in the admin."""

import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sla.admin import SlaTicketAdmin
from sla.models import BusinessCalendar, PlanTarget
from tests.factories import SuperuserFactory
from tests.sla_helpers import (
    LONDON,
    _fresh_calendars,  # noqa: F401 - autouse fixture
    at,
    open_at,
    utc,
)
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

NOW = utc(2026, 3, 4, 12, 0)  # Wednesday noon, London = UTC
CHANGELIST = "/admin/tickets/ticket/"


@pytest.fixture
def admin_client(client):
    client.force_login(SuperuserFactory(username="root"))
    return client


@pytest.fixture
def tickets(org):
    """GMT P1 tickets (6 bh) whose response deadlines sit around NOW."""
    return {
        # Tue 09:00 + 6 bh = Tue 15:00: overdue.
        "overdue": open_at(org, at(LONDON, 2026, 3, 3, 9, 0), "P1"),
        # Tue 15:30: 2.5 h Tuesday + 3.5 h Wednesday = Wed 12:30: within the hour.
        "soon": open_at(org, at(LONDON, 2026, 3, 3, 15, 30), "P1"),
        # Wed 09:00 + 6 bh = Wed 15:00: later today.
        "today": open_at(org, at(LONDON, 2026, 3, 4, 9, 0), "P1"),
        # P2 Wed 11:00 + 8 bh: 7 h Wednesday + 1 h Thursday = Thu 10:00.
        "tomorrow": open_at(org, at(LONDON, 2026, 3, 4, 11, 0), "P2"),
    }


def references(response) -> set[str]:
    return set(re.findall(r">(CS-\d{6})<", response.content.decode()))


def test_ticket_admin_is_the_sla_subclass():
    from django.contrib import admin

    assert isinstance(admin.site._registry[Ticket], SlaTicketAdmin)


def test_changelist_shows_the_sla_countdown(admin_client, tickets):
    with time_machine.travel(NOW, tick=False):
        response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "column-sla_countdown" in html
    assert "response overdue by 21 h" in html  # Tue 15:00 -> Wed 12:00 (wall clock)
    assert "response due in 30 min — business hours" in html
    assert "response due in 3 h — business hours" in html
    assert "response due in 7 h — business hours" in html  # 6 h today + 1 h Thursday


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("breached", {"overdue"}),
        ("hour", {"soon"}),
        ("today", {"soon", "today"}),
        (None, {"overdue", "soon", "today", "tomorrow"}),
    ],
)
def test_sla_filters(admin_client, tickets, value, expected):
    with time_machine.travel(NOW, tick=False):
        response = admin_client.get(CHANGELIST, {"sla": value} if value else {})
    assert response.status_code == 200
    assert references(response) == {tickets[name].reference for name in expected}


def test_sla_filters_ignore_resolved_and_excluded(admin_client, tickets, charlie):
    from tickets import services

    with time_machine.travel(NOW, tick=False):
        services.set_exclusion(tickets["overdue"], excluded=True, reason="Network", actor=charlie)
        services.resolve(tickets["soon"], actor=charlie)
        breached = admin_client.get(CHANGELIST, {"sla": "breached"})
        hour = admin_client.get(CHANGELIST, {"sla": "hour"})
    assert references(breached) == set()
    assert references(hour) == set()


def test_changelist_queries_do_not_grow_with_rows(admin_client, org):
    def count_queries():
        with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(CHANGELIST).status_code == 200
        return len(ctx.captured_queries)

    for hour in (9, 10):
        open_at(org, at(LONDON, 2026, 3, 3, hour, 0), "P1")
    admin_client.get(CHANGELIST)  # warm the session and calendar caches
    few = count_queries()
    for hour in (11, 12, 13, 14, 15, 16):
        open_at(org, at(LONDON, 2026, 3, 3, hour, 0), "P0")
    assert count_queries() == few


def test_saving_a_closed_day_recomputes_the_region_inline(admin_client, org):
    ticket = open_at(org, at(LONDON, 2026, 3, 2, 15, 0), "P1")
    assert ticket.response_due_at == utc(2026, 3, 3, 12, 0)
    calendar = BusinessCalendar.objects.get(region="GMT")
    url = f"/admin/sla/businesscalendar/{calendar.pk}/change/"
    data = {
        "days-TOTAL_FORMS": "1",
        "days-INITIAL_FORMS": "0",
        "days-MIN_NUM_FORMS": "0",
        "days-MAX_NUM_FORMS": "1000",
        "days-0-date": "2026-03-03",
        "days-0-kind": "closed",
        "days-0-note": "Office move",
        "days-0-calendar": str(calendar.pk),
    }
    with time_machine.travel(utc(2026, 3, 2, 16, 0), tick=False):
        assert admin_client.get(url).status_code == 200
        response = admin_client.post(url, data, follow=True)
    assert response.status_code == 200
    assert "Recomputed 1 active ticket in GMT: 1 deadlines changed." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.response_due_at == utc(2026, 3, 4, 12, 0)


def test_plan_targets_are_list_editable(admin_client):
    response = admin_client.get("/admin/sla/plantarget/")
    assert response.status_code == 200
    assert PlanTarget.objects.count() == 8
    assert 'name="form-0-response_minutes"' in response.content.decode()

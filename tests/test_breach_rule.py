"""One breach rule: Ticket.breached and its SQL twin agree on every case, and every screen that
shows or filters "breached" (API filter, admin filter, badge, credits) follows them."""

import datetime

import pytest
import time_machine

from sla.availability.services import ticket_earns_credit
from sla.display import Badge, sla_status
from tests.api_fixtures import api_for, api_test_settings, references  # noqa: F401
from tests.factories import TicketFactory
from tickets.models import PHASES, Status, Ticket

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 4, 12, 0, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)
DUE = NOW - 10 * HOUR  # every case's resolution deadline

# name: (fields, response breached, resolution breached)
CASES = {
    "response overdue": (dict(response_due_at=NOW - HOUR), True, False),
    "response due later": (dict(response_due_at=NOW + HOUR), False, False),
    "answered late": (
        dict(response_due_at=NOW - 3 * HOUR, first_response_at=NOW - 2 * HOUR),
        True,
        False,
    ),
    "answered in time": (
        dict(response_due_at=NOW - 3 * HOUR, first_response_at=NOW - 4 * HOUR),
        False,
        False,
    ),
    "resolution overdue": (dict(resolution_due_at=DUE), False, True),
    "resolved late": (dict(resolution_due_at=DUE, resolved_at=DUE + HOUR), False, True),
    "resolved in time": (dict(resolution_due_at=DUE, resolved_at=DUE - HOUR), False, False),
    # The clock stopped before the deadline: waiting on the client is not a breach.
    "paused before the deadline": (
        dict(resolution_due_at=DUE, paused_since=DUE - HOUR, status=Status.PENDING),
        False,
        False,
    ),
    # Already late when the client was asked: still breached while paused.
    "paused after the deadline": (
        dict(resolution_due_at=DUE, paused_since=DUE + HOUR, status=Status.PENDING),
        False,
        True,
    ),
    "excluded": (
        dict(response_due_at=NOW - HOUR, resolution_due_at=DUE, excluded=True),
        False,
        False,
    ),
    "no deadline": (dict(), False, False),
}


@pytest.fixture
def tickets(org):
    made = {}
    for name, (fields, *_) in CASES.items():
        values = {"status": Status.OPEN, "first_response_at": NOW - 20 * HOUR, **fields}
        if "resolution_due_at" not in fields and "first_response_at" not in fields:
            values["first_response_at"] = None
        made[name] = TicketFactory(organization=org, subject=name, **values)
    return made


@pytest.mark.parametrize("name", CASES)
def test_the_rule_and_its_sql_twin_agree(tickets, name):
    ticket = Ticket.objects.get(pk=tickets[name].pk)
    _, *expected = CASES[name]
    for phase, breached in zip(PHASES, expected, strict=True):
        assert ticket.breached(phase, NOW) is breached, phase
        in_sql = Ticket.objects.breached(NOW, phase).filter(pk=ticket.pk).exists()
        assert in_sql is breached, phase
    either = Ticket.objects.breached(NOW).filter(pk=ticket.pk).exists()
    assert either is any(expected)


def expected_breached(tickets) -> set:
    return {tickets[name].reference for name, (_, *flags) in CASES.items() if any(flags)}


def test_api_filter_uses_the_rule(tickets, charlie):
    with time_machine.travel(NOW, tick=False):
        late = references(api_for(charlie).get("/api/v1/tickets/?breached=true&page_size=50"))
        on_time = references(api_for(charlie).get("/api/v1/tickets/?breached=false&page_size=50"))
    assert late == expected_breached(tickets)
    assert on_time == {t.reference for t in tickets.values()} - late


def test_admin_filter_uses_the_rule(tickets, client, charlie):
    client.force_login(charlie)
    with time_machine.travel(NOW, tick=False):
        response = client.get("/admin/tickets/ticket/", {"sla": "breached"})
    assert {t.reference for t in response.context["cl"].result_list} == expected_breached(tickets)


def test_the_badge_uses_the_rule_for_paused_tickets(tickets):
    late = Ticket.objects.select_related("organization__contract").get(
        pk=tickets["paused after the deadline"].pk
    )
    waiting = Ticket.objects.select_related("organization__contract").get(
        pk=tickets["paused before the deadline"].pk
    )
    assert sla_status(late, NOW).badge == Badge.BREACHED
    assert sla_status(waiting, NOW).badge == Badge.NONE


def test_credits_use_the_rule(tickets):
    late = tickets["resolved late"]
    in_time = tickets["resolved in time"]
    late.priority = in_time.priority = "P1"
    assert ticket_earns_credit(late)
    assert not ticket_earns_credit(in_time)

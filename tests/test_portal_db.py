import pytest
from django.utils import timezone

from core.db import bulk_update
from tickets.models import Ticket
from tickets.services import open_ticket

pytestmark = pytest.mark.django_db


def _tickets(alice, n):
    org = alice.organization
    return [
        open_ticket(organization=org, reporter=alice, subject=f"s{i}", description="d")
        for i in range(n)
    ]


def test_bulk_update_writes_each_row_its_own_values_and_nulls(alice):
    tickets = [
        open_ticket(
            organization=alice.organization, reporter=alice, subject=f"s{i}", description="d"
        )
        for i in range(3)
    ]
    later = timezone.now()
    tickets[0].escalation_level, tickets[0].next_check_at = 2, later
    tickets[1].escalation_level, tickets[1].next_check_at = 1, None
    tickets[2].subject = "renamed"
    bulk_update(Ticket, tickets, ["escalation_level", "next_check_at", "subject"])
    rows = {t.pk: t for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets])}
    assert (rows[tickets[0].pk].escalation_level, rows[tickets[0].pk].next_check_at) == (2, later)
    assert (rows[tickets[1].pk].escalation_level, rows[tickets[1].pk].next_check_at) == (1, None)
    assert rows[tickets[2].pk].subject == "renamed"


def test_bulk_update_is_one_statement(alice, django_assert_num_queries):
    tickets = [
        open_ticket(
            organization=alice.organization, reporter=alice, subject=f"s{i}", description="d"
        )
        for i in range(20)
    ]
    for t in tickets:
        t.escalation_level = 3
    with django_assert_num_queries(1):
        bulk_update(Ticket, tickets, ["escalation_level"])
    assert set(Ticket.objects.values_list("escalation_level", flat=True)) == {3}

"""Two sweeps at once on PostgreSQL: SKIP LOCKED splits the work, the constraint backs it up."""

import threading

import pytest
from django.db import connection, connections

from escalation.models import EscalationEvent
from escalation.sweep import sweep
from tests.test_escalation_sweep import L3, open_p1
from tickets.models import Ticket

# Seeded rows come back after the flush through the conftest _reference_data fixture.
pytestmark = pytest.mark.django_db(transaction=True)


def test_two_concurrent_sweeps_fire_each_level_exactly_once(alice):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (CI runs on it)")
    tickets = [open_p1(alice) for _ in range(60)]
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(sweep(now=L3, batch_size=7))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sum(r.escalations for r in results) == 3 * len(tickets)
    assert EscalationEvent.objects.count() == 3 * len(tickets)
    per_ticket = EscalationEvent.objects.values_list("ticket_id", "level").order_by()
    assert len(set(per_ticket)) == len(per_ticket)
    assert set(Ticket.objects.values_list("escalation_level", flat=True)) == {3}
    # A third sweep after both finds nothing.
    assert sweep(now=L3).tickets == 0

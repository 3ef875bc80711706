import datetime

import pytest
from django.utils import timezone

from portal.errors import ServiceError
from tickets import services
from tickets.models import Status, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def test_client_priority_is_a_suggestion_until_triage(alice, charlie):
    ticket = services.open_ticket(
        organization=alice.organization,
        reporter=alice,
        subject="Replay down",
        description="Nothing loads",
        priority="P0",
    )
    assert (ticket.priority, ticket.suggested_priority, ticket.triaged_at) == ("P0", "P0", None)
    services.triage(ticket, priority="P2", actor=charlie)
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.suggested_priority) == ("P2", "P0")
    assert ticket.status == Status.OPEN
    assert ticket.events.filter(action="reclassified", old_value="P0", new_value="P2").exists()


def test_received_at_in_the_future_is_refused(alice):
    with pytest.raises(ServiceError) as err:
        services.open_ticket(
            organization=alice.organization,
            reporter=alice,
            subject="s",
            description="d",
            received_at=timezone.now() + datetime.timedelta(minutes=5),
        )
    assert err.value.field == "received_at"
    assert not Ticket.objects.exists()


def test_first_public_staff_reply_is_the_first_response(alice, charlie):
    ticket = services.open_ticket(
        organization=alice.organization, reporter=alice, subject="s", description="d"
    )
    services.add_comment(ticket, author=charlie, body="Looking", internal=True)
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    reply = services.add_comment(ticket, author=charlie, body="We are on it")
    ticket.refresh_from_db()
    assert ticket.first_response_at == reply.created_at


def test_client_cannot_write_internal_note(alice):
    ticket = services.open_ticket(
        organization=alice.organization, reporter=alice, subject="s", description="d"
    )
    with pytest.raises(ServiceError) as err:
        services.add_comment(ticket, author=alice, body="x", internal=True)
    assert err.value.field == "internal"


def test_resolve_then_client_reply_reopens(alice, charlie):
    ticket = services.open_ticket(
        organization=alice.organization, reporter=alice, subject="s", description="d"
    )
    services.resolve(ticket, actor=charlie, resolution="Fixed")
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED and ticket.first_response_at == ticket.resolved_at
    services.add_comment(ticket, author=alice, body="Still broken")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.resolved_at is None
    assert TicketEvent.objects.filter(ticket=ticket, action="reopened", public=True).exists()


def test_visible_to_is_the_tenancy_guard(alice, bob, charlie):
    mine = services.open_ticket(
        organization=alice.organization, reporter=alice, subject="s", description="d"
    )
    assert list(Ticket.objects.visible_to(alice)) == [mine]
    assert list(Ticket.objects.visible_to(bob)) == []
    assert list(Ticket.objects.visible_to(charlie)) == [mine]


def test_start_diagnosis_records_first_response_once(alice, charlie):
    ticket = services.open_ticket(
        organization=alice.organization, reporter=alice, subject="s", description="d"
    )
    services.start_diagnosis(ticket, actor=charlie)
    ticket.refresh_from_db()
    first = ticket.first_response_at
    services.start_diagnosis(ticket, actor=charlie)
    ticket.refresh_from_db()
    assert ticket.first_response_at == first and ticket.assignee == charlie

"""Webhooks end to end: changes made through the real entry points (the API, the escalation
sweep) reach a local HTTP server as signed deliveries, one per event, and an internal note
never leaves."""

import datetime
import hashlib
import hmac
import json

import pytest
import time_machine

from escalation.services import notify_events
from escalation.sweep import sweep
from sla.availability.models import ServiceCredit
from tests.api_fixtures import api_for, api_test_settings  # noqa: F401
from tests.factories import StaffFactory
from tickets import services as ticket_services
from tickets.models import Ticket, pk_from_reference
from webhooks import sender, services
from webhooks.models import WebhookEndpoint
from webhooks.testing import Receiver

pytestmark = pytest.mark.django_db

SECRET = "e2e-secret"
UTC = datetime.UTC
# Tuesday 10:00 London: a Platinum P1's first response is due at 16:00 (escalation level 1).
NOW = datetime.datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
DUE = datetime.datetime(2026, 3, 3, 16, 0, tzinfo=UTC)
EVENTS = [
    "ticket.created",
    "comment.public",
    "ticket.escalated",
    "ticket.breached",
    "ticket.resolved",
    "credit.claimed",
]
INTERNAL = "INTERNAL-ONLY root cause: customer's admin password"


@pytest.fixture(autouse=True)
def _webhook_settings(settings, api_test_settings):  # noqa: F811
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    services.invalidate_endpoints()
    yield
    services.invalidate_endpoints()


@pytest.fixture
def receiver():
    with Receiver() as r:
        WebhookEndpoint.objects.create(url=r.url, events=EVENTS, secret=SECRET)
        yield r


def delivered(receiver, event: str) -> list[dict]:
    """Send what is due, then the verified bodies the server got for `event`."""
    sender.deliver()
    out = []
    for got in receiver.received:
        if got.headers["X-EService-Event"] != event:
            continue
        signature = hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
        assert got.headers["X-EService-Signature"] == f"sha256={signature}"
        body = json.loads(got.body)
        assert got.headers["X-EService-Delivery"] == body["id"] and body["event"] == event
        out.append(body)
    return out


def all_bodies(receiver) -> bytes:
    return b"\n".join(got.body for got in receiver.received)


def url(ticket, action=""):
    return f"/api/v1/tickets/{ticket.reference}/" + (f"{action}/" if action else "")


def api_ticket(alice, priority="P1") -> Ticket:
    data = {"subject": "Heatmap blank", "description": "Nothing renders.", "priority": priority}
    response = api_for(alice).post("/api/v1/tickets/", data)
    assert response.status_code == 201, response.content
    return Ticket.objects.get(pk=pk_from_reference(response.json()["reference"]))


def test_a_ticket_created_through_the_api_is_posted_once_signed(alice, receiver):
    ticket = api_ticket(alice)
    [body] = delivered(receiver, "ticket.created")
    assert body["data"]["ticket"]["reference"] == ticket.reference
    assert delivered(receiver, "ticket.created") == [body]  # sent once, not again


def test_a_public_reply_is_posted_and_an_internal_note_is_not(alice, charlie, receiver):
    ticket = api_ticket(alice)
    staff = api_for(charlie)
    note = staff.post(url(ticket, "comments"), {"body": INTERNAL, "internal": True})
    assert note.status_code == 201
    assert delivered(receiver, "comment.public") == []
    reply = staff.post(url(ticket, "comments"), {"body": "We are on it."})
    assert reply.status_code == 201
    [body] = delivered(receiver, "comment.public")
    assert body["data"]["ticket"]["reference"] == ticket.reference
    assert "We are on it." in json.dumps(body["data"])
    assert INTERNAL.encode() not in all_bodies(receiver)


def test_resolving_through_the_api_posts_ticket_resolved(alice, charlie, receiver):
    ticket = api_ticket(alice)
    response = api_for(charlie).post(url(ticket, "resolve"), {"resolution": "Cache purged."})
    assert response.status_code == 200
    [body] = delivered(receiver, "ticket.resolved")
    assert body["data"]["ticket"]["status"] == "resolved"


def test_the_sweep_posts_the_escalation_and_the_breach(
    alice, receiver, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW, tick=False):
        ticket = api_ticket(alice)
    assert ticket.response_due_at == DUE
    later = DUE + datetime.timedelta(minutes=1)
    with time_machine.travel(later, tick=False), django_capture_on_commit_callbacks(execute=True):
        result = sweep(now=later, notify=notify_events)  # the task the sweep queues, run here
    assert (result.escalations, result.breaches) == (1, 1)
    [escalated] = delivered(receiver, "ticket.escalated")
    [breached] = delivered(receiver, "ticket.breached")
    assert escalated["data"]["ticket"]["escalation_level"] == 1
    assert breached["data"]["ticket"]["response_breached"] is True


def test_a_credit_claim_through_the_api_posts_credit_claimed_without_internal_text(alice, receiver):
    ticket = api_ticket(alice)
    ticket_services.add_comment(ticket, author=StaffFactory(), body=INTERNAL, internal=True)
    credit = ServiceCredit.objects.create(
        organization=alice.organization,
        ticket=ticket,
        kind="resolution",
        days=1,
        breach_at=datetime.datetime.now(UTC) - datetime.timedelta(days=1),
        claim_deadline=datetime.datetime.now(UTC) + datetime.timedelta(days=29),
    )
    response = api_for(alice).post(f"/api/v1/credits/{credit.pk}/claim/")
    assert response.status_code == 200
    [body] = delivered(receiver, "credit.claimed")
    assert body["data"]["credit"]["id"] == credit.pk
    assert INTERNAL.encode() not in all_bodies(receiver)

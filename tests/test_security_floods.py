"""Spec 8, floods: ticket creation is limited per user (API, portal) and per sender (mail:
quarantined, never lost); off-hours P0 pages are coalesced per organization."""

import datetime
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.core import mail
from django.db import connection

from escalation.models import OnCallShift, PageRecord
from escalation.paging import send_due_digests
from notifications.delivery import deliver_due
from tests.api_fixtures import api_for, api_test_settings  # noqa: F401
from tests.factories import ClientFactory, StaffFactory
from tests.mail import eml, ingest
from tickets import services
from tickets.mail.models import InboundMessage, InboundStatus
from tickets.models import OutboundMessage, Ticket

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
SATURDAY_NIGHT = datetime.datetime(2026, 3, 7, 22, 0, tzinfo=UTC)


def _new(n: int) -> dict:
    return {"subject": f"Replay {n} down", "description": "Nothing plays."}


def test_the_api_refuses_a_flood_of_tickets_with_429(alice, bob, settings):
    settings.TICKETS_PER_USER_PER_HOUR = 3
    api = api_for(alice)
    codes = [api.post("/api/v1/tickets/", _new(n)).status_code for n in range(5)]
    assert codes == [201, 201, 201, 429, 429]
    refused = api.post("/api/v1/tickets/", _new(9))
    assert int(refused["Retry-After"]) > 0 and "detail" in refused.json()
    assert api_for(bob).post("/api/v1/tickets/", _new(1)).status_code == 201  # per user
    assert Ticket.objects.count() == 4


def test_staff_logging_calls_are_not_limited(alice, charlie, settings):
    settings.TICKETS_PER_USER_PER_HOUR = 1
    body = {**_new(0), "organization": alice.organization_id, "reporter": alice.username}
    codes = [api_for(charlie).post("/api/v1/tickets/", body).status_code for _ in range(3)]
    assert codes == [201, 201, 201]


def test_the_portal_says_to_wait(alice, client, settings):
    settings.TICKETS_PER_USER_PER_HOUR = 2
    client.force_login(alice)
    for n in range(2):
        response = client.post(
            "/tickets/new/", {**_new(n), "priority": "P2", "feature": "heatmaps"}
        )
        assert response.status_code == 302, response.content
    page = client.post("/tickets/new/", {**_new(3), "priority": "P2", "feature": "heatmaps"})
    assert page.status_code == 200 and "many tickets in the last hour" in page.content.decode()
    assert Ticket.objects.count() == 2


def test_mail_over_the_sender_limit_is_quarantined_not_lost(alice, settings):
    settings.TICKETS_PER_SENDER_PER_HOUR = 2
    statuses = []
    for n in range(4):
        raw = eml("plain_new.eml", **{"<CAF1x2plain@": f"<flood-{n}@", "Heatmap": f"Map {n}"})
        statuses.append(ingest(raw).status)
    assert statuses == ["done", "done", "quarantined", "quarantined"]
    held = InboundMessage.objects.filter(status=InboundStatus.QUARANTINED)
    assert {m.reason for m in held} == {"too many new tickets from this sender in the last hour"}
    assert Ticket.objects.count() == 2
    assert OutboundMessage.objects.filter(kind="quarantine").count() == 0  # never answered


# --- P0 pages coalesced -----------------------------------------------------------------


@pytest.fixture
def oncall(db):
    engineer = StaffFactory(username="owl")
    start = SATURDAY_NIGHT - datetime.timedelta(days=1)
    OnCallShift.objects.create(
        engineer=engineer, region="GMT", starts_at=start, ends_at=start + datetime.timedelta(days=7)
    )
    return engineer


def _p0(user, at, capture, n=0):
    with time_machine.travel(at, tick=False), capture(execute=True):
        return services.open_ticket(
            organization=user.organization, reporter=user, priority="P0", **_new(n)
        )


def test_twenty_p0s_page_once_then_one_digest(alice, oncall, django_capture_on_commit_callbacks):
    tickets = [
        _p0(
            alice,
            SATURDAY_NIGHT + datetime.timedelta(seconds=n),
            django_capture_on_commit_callbacks,
            n,
        )
        for n in range(20)
    ]
    deliver_due()  # pages wait in the notification outbox until the worker sends them
    pages = OutboundMessage.objects.filter(kind="oncall")
    assert [p.ticket_id for p in pages] == [tickets[0].pk]
    assert send_due_digests(SATURDAY_NIGHT + datetime.timedelta(minutes=5)) == 0  # not yet
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due_digests(SATURDAY_NIGHT + datetime.timedelta(minutes=15)) == 1
        assert send_due_digests(SATURDAY_NIGHT + datetime.timedelta(minutes=16)) == 0
    deliver_due()  # the digest goes through the notification outbox too
    [digest] = OutboundMessage.objects.filter(kind="oncall_digest")
    assert digest.to == ["owl@vendor.example"]
    assert "19 more P0 tickets" in digest.subject
    assert all(t.reference in digest.body for t in tickets[1:])
    assert digest.auto_submitted == "auto-generated"


def test_another_organization_and_a_later_p0_page_at_once(
    alice, bob, oncall, django_capture_on_commit_callbacks
):
    _p0(alice, SATURDAY_NIGHT, django_capture_on_commit_callbacks)
    _p0(bob, SATURDAY_NIGHT, django_capture_on_commit_callbacks)  # its own organization
    _p0(alice, SATURDAY_NIGHT + datetime.timedelta(minutes=16), django_capture_on_commit_callbacks)
    deliver_due()
    assert OutboundMessage.objects.filter(kind="oncall").count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_p0s_at_the_same_moment_page_once(oncall):
    alice = ClientFactory(username="alice2")
    colleague = ClientFactory(username="carol2", organization=alice.organization)

    def open_one(user):
        try:
            with time_machine.travel(SATURDAY_NIGHT, tick=False):
                return services.open_ticket(
                    organization=user.organization, reporter=user, priority="P0", **_new(1)
                ).pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(open_one, [alice, colleague]))
    deliver_due()
    assert OutboundMessage.objects.filter(kind="oncall").count() == 1
    assert PageRecord.objects.filter(paged=False).count() == 1


def test_the_digest_is_in_the_engineers_language(alice, oncall, django_capture_on_commit_callbacks):
    oncall.language = "fr"
    oncall.save()
    tickets = [
        _p0(
            alice,
            SATURDAY_NIGHT + datetime.timedelta(seconds=n),
            django_capture_on_commit_callbacks,
            n,
        )
        for n in range(3)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due_digests(SATURDAY_NIGHT + datetime.timedelta(minutes=15)) == 1
    deliver_due()
    [digest] = [m for m in mail.outbox if "Synthèse P0" in m.subject]
    assert digest.to == ["owl@vendor.example"] and "2 tickets P0 de plus" in digest.subject
    assert tickets[2].reference in digest.body and "encore ouverts" in digest.body
    [html] = [body for body, kind in digest.alternatives if kind == "text/html"]
    assert tickets[1].reference in html

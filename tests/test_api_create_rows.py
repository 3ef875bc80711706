"""An API creation as the client sees it and as the database holds it: the response equal to
a fresh GET, the statements a warm creation sends, the rows the one-parameter inserts write
(core.db.json_rows) equal to what the ORM writes, and the serializer helpers the creation
uses (lenient choices folded once, the detail URL resolved once per prefix)."""

import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import clear_script_prefix, reverse, set_script_prefix

from core.db import insert_json
from core.serializers import LenientChoiceField
from notifications.models import Notification
from tests.api_fixtures import api_for, api_test_settings  # noqa: F401
from tickets import services
from tickets.api.serializers import TicketCreateSerializer, detail_path
from tickets.models import Feature, Priority, Ticket, TicketEvent

TICKETS = "/api/v1/tickets/"
pytestmark = pytest.mark.django_db
# An offset other than UTC, with microseconds: what an ISO 8601 row must keep exactly.
PARIS_NOON = datetime.datetime(
    2026, 3, 3, 12, 0, 0, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
)
AWKWARD = 'quote " backslash \\ tab \t newline \n accents éè emoji 🛰 "{}" [] null'


def _create(client, subject="Replay lags", **extra):
    data = {"subject": subject, "description": "Replay lags.", "priority": "P1", **extra}
    response = client.post(TICKETS, data, format="json")
    assert response.status_code == 201, response.content
    return response


def test_the_creation_response_equals_a_fresh_get(alice):
    client = api_for(alice)
    created = _create(client, subject=AWKWARD[:200]).json()
    fetched = client.get(created["url"]).json()
    assert created == fetched
    assert created["subject"] == AWKWARD[:200].strip()
    assert created["url"].endswith(f"/api/v1/tickets/{created['reference']}/")


def test_a_warm_creation_writes_in_one_statement_and_one_outbox_insert(alice):
    client = api_for(alice)
    _create(client, subject="cold")  # in-process caches: calendar, targets, subscribers
    with CaptureQueriesContext(connection) as captured:
        reference = _create(client, subject="warm").json()["reference"]
    sql = [q["sql"] for q in captured.captured_queries]
    writes = [s for s in sql if not s.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    # The ticket with its events, then the outbox rows: nothing read, nothing else written.
    assert len(writes) == 2, writes
    assert writes[0].startswith('WITH t AS (INSERT INTO "tickets_ticket"')
    assert writes[1].startswith('INSERT INTO "notifications_notification"')
    ticket = Ticket.objects.get(subject="warm")
    assert ticket.reference == reference
    assert [e.action for e in ticket.events.order_by("pk")] == ["opened", "clock_started"]
    kinds = sorted(Notification.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds == ["ack", "new_ticket"]


def test_opened_tickets_and_events_hold_exactly_what_was_given(alice, charlie):
    specs = [
        dict(
            organization=alice.organization,
            reporter=alice,
            subject=f"{AWKWARD[:180]} {n}",
            description=AWKWARD * 3,
            priority=Priority.P1,
            feature=Feature.OTHER,
            received_at=PARIS_NOON,
            user_agent=AWKWARD,
            actor=charlie,
        )
        for n in range(3)
    ]
    opened = services.open_tickets(specs)
    assert [t.pk for t in opened] == sorted(t.pk for t in opened)
    for n, ticket in enumerate(opened):
        row = Ticket.objects.get(pk=ticket.pk)
        assert row.subject == f"{AWKWARD[:180]} {n}".strip()
        assert row.description == AWKWARD * 3
        assert row.user_agent == AWKWARD
        assert row.received_at == PARIS_NOON
        assert row.response_due_at == ticket.response_due_at is not None
        assert row.created_at == ticket.created_at and row.updated_at == ticket.updated_at
        assert row.triaged_at == ticket.triaged_at is not None
        assert row.search_vector is not None or connection.vendor != "postgresql"
        events = list(row.events.order_by("pk"))
        assert [(e.action, e.params, e.actor_id) for e in events] == [
            (e.action, e.params, e.actor_id) for e in ticket.events.order_by("pk")
        ]
        assert events[0].action == "opened" and events[0].params == {"channel": "web"}
        assert all(e.ticket_id == ticket.pk for e in events)


def test_one_parameter_rows_equal_what_the_orm_writes(alice):
    ticket = services.open_ticket(
        organization=alice.organization, reporter=alice, subject="s", description="d"
    )
    data = {"nested": [1, 2.5, None, True], "text": AWKWARD, "at": "2026-03-03T12:00:00+01:00"}

    def row(n):
        return Notification(
            kind="ack",
            category="updates",
            ticket_id=ticket.pk,
            recipient_id=alice.pk,
            email=f"{n}@example.com",
            language="fr",
            message_id=f"<json-{n}@example.com>",
            data=data,
            next_attempt_at=PARIS_NOON,
        )

    mine, orm = [row(n) for n in range(3)], [row(n + 3) for n in range(3)]
    insert_json(Notification, mine)
    Notification.objects.bulk_create(orm)
    assert [r.pk for r in mine] == sorted(r.pk for r in mine) and all(r.pk for r in mine)
    fields = [f.attname for f in Notification._meta.concrete_fields if f.name != "id"]
    fields.remove("email")
    fields.remove("message_id")
    fields.remove("created_at")
    for a, b in zip(mine, orm, strict=True):
        stored_a = Notification.objects.values(*fields).get(pk=a.pk)
        stored_b = Notification.objects.values(*fields).get(pk=b.pk)
        assert stored_a == stored_b
        assert stored_a["data"] == data and stored_a["next_attempt_at"] == PARIS_NOON
        assert Notification.objects.get(pk=a.pk).created_at == a.created_at is not None


def test_event_params_keep_their_json_exactly(alice):
    ticket = services.open_ticket(
        organization=alice.organization, reporter=alice, subject="s", description="d"
    )
    params = {"text": AWKWARD, "list": [1, "two", None], "empty": {}}
    change = services.TicketChange(ticket, alice, "note", ticket.created_at)
    change.event("noted", params=params, note=AWKWARD, public=True)
    services.record([change])
    stored = TicketEvent.objects.get(ticket=ticket, action="noted")
    assert stored.params == params and stored.note == AWKWARD
    assert json.loads(json.dumps(stored.params)) == params


def test_lenient_choices_fold_once_and_the_first_choice_wins():
    field = LenientChoiceField(choices=[("a-b", "Second"), ("second", "A B")])
    assert field.to_internal_value("A_B") == "a-b"  # its value folds like the other's label
    assert field.to_internal_value("SECOND") == "a-b"  # its label, before the other's value
    first, second = TicketCreateSerializer().fields, TicketCreateSerializer().fields
    assert first["priority"]._by_folded() is second["priority"]._by_folded()
    assert first["feature"].to_internal_value("Session Replay") == Feature.SESSION_REPLAY
    assert first["priority"].to_internal_value("p1") == Priority.P1
    with pytest.raises(Exception, match="valid choice"):
        first["priority"].to_internal_value("P9")


def test_each_creation_serializer_binds_its_own_copies(alice):
    first, second = TicketCreateSerializer(), TicketCreateSerializer()
    for name in first.fields:
        assert first.fields[name].parent is first and second.fields[name].parent is second
        assert first.fields[name].field_name == name == second.fields[name].field_name
    declared = TicketCreateSerializer._declared_fields["subject"]
    assert declared.field_name is None  # the declared field itself is never bound


def test_the_detail_path_follows_the_script_prefix():
    assert detail_path("CS-000042") == reverse("ticket-detail", args=["CS-000042"])
    set_script_prefix("/support/")
    try:
        assert detail_path("CS-000042") == "/support/api/v1/tickets/CS-000042/"
        assert detail_path("CS-000042") == reverse("ticket-detail", args=["CS-000042"])
    finally:
        clear_script_prefix()
    assert detail_path("CS-000043") == "/api/v1/tickets/CS-000043/"

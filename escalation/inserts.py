"""The sweep's inserts on PostgreSQL: one INSERT … SELECT FROM unnest() per batch, skipping
the rows the unique constraints refuse; bulk_create elsewhere."""

from __future__ import annotations

from django.db import connection

from core.db import insert_unnest
from tickets.models import TicketEvent

from .models import EscalationEvent

EVENT_FIELDS = (
    "ticket",
    "level",
    "phase",
    "trigger",
    "reason",
    "fired_at",
    "role",
    "contact_name",
    "contact_email",
    "contact_missing",
)
TIMELINE_FIELDS = (
    "ticket",
    "at",
    "actor",
    "kind",
    "action",
    "field",
    "old_value",
    "new_value",
    "note",
    "params",
    "public",
)


def insert_events(events: list[EscalationEvent]) -> list[int] | None:
    """Step 4's insert; a row the unique constraints refuse is skipped, not an error.

    On PostgreSQL ON CONFLICT DO NOTHING RETURNING id also hands back the ids of the rows
    actually inserted (only those are notified). Elsewhere bulk_create(ignore_conflicts=True)
    and None: the caller reads the ids back."""
    if connection.vendor != "postgresql":
        EscalationEvent.objects.bulk_create(events, ignore_conflicts=True)
        return None
    rows = insert_unnest(
        EscalationEvent,
        events,
        EVENT_FIELDS,
        constants={"notified_to": "'[]'::jsonb"},
        tail="ON CONFLICT DO NOTHING RETURNING id, ticket_id, level",
    )
    ids = {(ticket_id, level): pk for pk, ticket_id, level in rows}
    for event in events:
        event.pk = ids.get((event.ticket_id, event.level))
    return [row[0] for row in rows]


def insert_timeline(rows: list[TicketEvent]) -> None:
    if connection.vendor != "postgresql":
        TicketEvent.objects.bulk_create(rows)
    else:
        insert_unnest(TicketEvent, rows, TIMELINE_FIELDS)

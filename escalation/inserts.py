"""The sweep's inserts on PostgreSQL: one INSERT … SELECT FROM unnest() per batch, skipping
the rows the unique constraints refuse; bulk_create elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Field, Model

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
    rows = _pg_insert(
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
        _pg_insert(TicketEvent, rows, TIMELINE_FIELDS)


def _pg_insert(
    model: type[Model],
    objs: Sequence[Model],
    names: Sequence[str],
    *,
    constants: dict[str, str] | None = None,
    tail: str = "",
) -> list[tuple[Any, ...]]:
    """INSERT … SELECT FROM unnest(one array per column): one statement and one parameter
    per column whatever the row count, and none of bulk_create's per-value Python work.
    Returns the RETURNING rows, if the tail asks for some."""
    qn = connection.ops.quote_name
    fields = [_concrete(model, name) for name in names]
    constants = constants or {}
    columns = ", ".join(qn(_column_name(f)) for f in fields)
    columns += "".join(f", {qn(name)}" for name in constants)
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    extra = "".join(f", {value}" for value in constants.values())
    # Only identifiers and types from the model's metadata are interpolated; values are params.
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT v.*{extra} FROM unnest({arrays}) AS v {tail}"
    )
    params = [_column(f, objs) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if "RETURNING" in tail else []


def _column(field: Field[Any, Any], objs: Sequence[Model]) -> list[Any]:
    values = [getattr(obj, field.attname) for obj in objs]
    if field.get_internal_type() == "JSONField":  # psycopg needs its Jsonb wrapper
        values = [field.get_db_prep_save(v, connection) for v in values]
    return values


def _column_name(field: Field[Any, Any]) -> str:
    if field.column is None:  # only a relation without a column of its own has none
        raise TypeError(f"{field} has no column")
    return field.column


def _concrete(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, Field):  # a reverse relation has no column
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field

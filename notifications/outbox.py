"""The outbox rows a batch of changes writes (notifications.fanout), as plain rows.

A Notification instance per recipient cost more than writing it: Model.__init__ sets each
of its seventeen fields and sends two signals, and the sweep's notices are tens of thousands
of rows. A Row holds the columns the fan-out decides; write() inserts a batch of them in one
statement and returns their ids, in the rows' order, as bulk_insert() did for instances.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from django.db import connection
from django.utils import timezone

from core.db import insert_columns

from .models import Notification


class Row:
    """One unsaved outbox row; its other columns take the model's defaults (write())."""

    __slots__ = (
        "kind",
        "category",
        "ticket_id",
        "comment_id",
        "credit_id",
        "recipient_id",
        "email",
        "language",
        "message_id",
        "data",
        "next_attempt_at",
        "pk",
    )

    def __init__(
        self,
        kind: str,
        category: str,
        ticket_id: int | None,
        comment_id: int | None,
        credit_id: int | None,
        recipient_id: int | None,
        email: str,
        language: str,
        message_id: str,
        data: dict,
        next_attempt_at,
    ) -> None:
        self.kind = kind
        self.category = category
        self.ticket_id = ticket_id
        self.comment_id = comment_id
        self.credit_id = credit_id
        self.recipient_id = recipient_id
        self.email = email
        self.language = language
        self.message_id = message_id
        self.data = data
        self.next_attempt_at = next_attempt_at
        self.pk: int | None = None

    def __repr__(self) -> str:
        return f"<outbox Row {self.kind} to {self.email}>"


COLUMNS = Row.__slots__[:-1]  # all but pk
WRITE_TIME = object()  # _defaults(): the column takes the write's time


def message_ids(tag: str, domain: str, count: int) -> list[str]:
    """count new Message-IDs as tickets.outbound.new_message_id() makes them, the tag and the
    domain read once."""
    return [f"<{tag}.{uuid.uuid4().hex}@{domain}>" for _ in range(count)]


def write(rows: list[Row]) -> list[int]:
    """Insert the rows in one statement, set each row's pk and return the pks in order.
    A duplicate message_id raises IntegrityError and writes nothing, as bulk_create."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        instances = [Notification(**{name: getattr(r, name) for name in COLUMNS}) for r in rows]
        Notification.objects.bulk_create(instances)
        ids = [n.pk for n in instances]
    else:
        count, now = len(rows), timezone.now()
        columns: dict[str, list[Any]] = {name: [getattr(r, name) for r in rows] for name in COLUMNS}
        columns["data"] = _json(columns["data"])
        for name, default in _defaults():
            columns[name] = [now if default is WRITE_TIME else default] * count
        # One INSERT returns its rows in the order it inserts them, the source's.
        ids = [pk for (pk,) in insert_columns(Notification, columns, tail="RETURNING id")]
    for row, pk in zip(rows, ids, strict=True):
        row.pk = pk
    return [pk for pk in ids if pk is not None]  # a backend that returns none: no hand-off


def _json(values: list) -> list:
    """The data column as JSONField writes it; a batch's rows share a few dicts (one per
    notice, whatever its recipients), each wrapped once."""
    field = Notification._meta.get_field("data")
    wrapped: dict[int, Any] = {}
    out = []
    for value in values:
        key = id(value)
        if key not in wrapped:
            wrapped[key] = field.get_db_prep_save(value, connection)
        out.append(wrapped[key])
    return out


@cache
def _defaults() -> tuple[tuple[str, Any], ...]:
    """The columns a Row leaves to the model: (name, value), WRITE_TIME standing for the
    write's time (created_at, auto_now_add: timezone.now() once a write, read when it is
    made: the demo story moves the clock); a nullable column without default is left out
    of the INSERT (NULL)."""
    out = []
    for field in Notification._meta.concrete_fields:
        if field.primary_key or field.attname in COLUMNS:
            continue
        if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
            out.append((field.name, WRITE_TIME))
            continue
        default = field.get_default()  # as Model.__init__ sets it ("" for a text column)
        if default is not None or not field.null:
            out.append((field.name, default))
    return tuple(out)

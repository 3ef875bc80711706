"""The sweep's writes as they were before the outbox rows became plain rows bound in binary,
for bench_sweep's named baseline "pre-change", measured in the same run as the current code.

What it puts back: a Notification instance per outbox row (Model.__init__, new_message_id()
per row) written by core.db.bulk_insert, and every set-based write of the sweep (the
escalation events, the timeline, the tickets' UPDATE, the events marked notified, the outbox)
through Django's cursor, which binds on the client: each array element quoted into the SQL
text in Python.

    with swapped(): ...   # in this process, while the block runs
"""

import contextlib
from collections.abc import Iterator
from functools import partial


def previous_bulk_update(model, objs, names) -> None:
    """core.db.bulk_update as it was: Django's (client-binding) cursor."""
    from django.db import connection

    objs = list(objs)
    if not objs:
        return
    qn = connection.ops.quote_name
    pk = model._meta.pk
    fields = [model._meta.get_field(name) for name in names]
    columns = [pk, *fields]
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in columns)
    aliases = ", ".join(qn(f.column) for f in columns)
    assignments = ", ".join(f"{qn(f.column)} = v.{qn(f.column)}" for f in fields)
    sql = (
        f"UPDATE {qn(model._meta.db_table)} AS t SET {assignments} "  # noqa: S608
        f"FROM unnest({arrays}) AS v({aliases}) WHERE t.{qn(pk.column)} = v.{qn(pk.column)}"
    )
    params = [
        [f.get_db_prep_value(getattr(obj, f.attname), connection) for obj in objs] for f in columns
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def previous_insert_unnest(model, objs, names, *, constants=None, tail=""):
    """core.db.insert_unnest as it was: Django's (client-binding) cursor."""
    from django.db import connection

    from core.db import _concrete, _qn, column_values

    fields = [_concrete(model, name) for name in names]
    constants = constants or {}
    columns = ", ".join([_qn(str(f.column)) for f in fields] + [_qn(name) for name in constants])
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    extra = "".join(f", {value}" for value in constants.values())
    sql = (
        f"INSERT INTO {_qn(model._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT v.*{extra} FROM unnest({arrays}) AS v {tail}"
    )
    params = [column_values(f, objs) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if "RETURNING" in tail else []


def previous_bulk_insert(model, objs, names=None) -> None:
    """core.db.bulk_insert as it was (VALUES below UNNEST_FROM rows, else unnest)."""
    from django.db import connection

    from core.db import UNNEST_FROM, _insert_fields, _insert_sql, _qn, mark_saved

    objs = list(objs)
    if not objs:
        return
    meta = model._meta
    if len(objs) >= UNNEST_FROM:
        names = names or [f.name for f in meta.concrete_fields if f is not meta.pk]
        rows = previous_insert_unnest(model, objs, names, tail=f"RETURNING {_qn(meta.pk.column)}")
    else:
        fields = _insert_fields(meta, names)
        params = [
            f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields
        ]
        with connection.cursor() as cursor:
            cursor.execute(_insert_sql(meta, fields, len(objs)), params)
            rows = cursor.fetchall()
    for obj, (pk,) in zip(objs, rows, strict=True):
        mark_saved(obj, pk)


def previous_rows(recipients, kind, category, *, ticket=None, comment=None, credit=None, data):
    """notifications.fanout._rows as it was: one Notification instance per recipient."""
    from django.utils import timezone

    from notifications.models import Notification
    from tickets.outbound import new_message_id

    shared = {
        "kind": kind,
        "category": category,
        "ticket_id": ticket.pk if ticket is not None else None,
        "comment_id": comment.pk if comment is not None else None,
        "credit_id": credit.pk if credit is not None else None,
        "data": data,
        "next_attempt_at": timezone.now(),
    }
    return [
        Notification(
            recipient_id=r.user.pk if r.user is not None else None,
            email=r.email,
            language=r.language,
            message_id=new_message_id(ticket),
            **shared,
        )
        for r in recipients
    ]


def previous_consume(changes: list) -> None:
    """notifications.fanout.consume as it was: the instances written by bulk_insert."""
    from django.db import transaction

    from escalation.models import EscalationEvent
    from notifications import fanout
    from notifications.handoff import pending
    from notifications.models import Notification
    from tickets.events import CreditChange, Notice
    from webhooks import services as webhooks

    rows = []
    people = fanout._People(changes)
    with webhooks.batch():
        for change in changes:
            if isinstance(change, CreditChange):
                rows += fanout._credit(change)
            elif isinstance(change, Notice):
                rows += fanout._notice(change)
            else:
                rows += fanout._ticket(change, people)
    if people.notified:
        previous_bulk_update(EscalationEvent, people.notified, ["notified_at", "notified_to"])
    if rows:
        previous_bulk_insert(Notification, rows)
        ids = [row.pk for row in rows if row.pk]
        transaction.on_commit(partial(pending.add, ids))


@contextlib.contextmanager
def swapped() -> Iterator[None]:
    """The previous code in this process while the block runs."""
    from escalation import inserts, sweep
    from notifications import fanout
    from tickets import events

    replacements = [
        (fanout, "_rows", previous_rows),
        (inserts, "insert_unnest", previous_insert_unnest),
        (sweep, "bulk_update", previous_bulk_update),
        (
            events,
            "_consumers",
            [previous_consume if c is fanout.consume else c for c in events._consumers],
        ),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in replacements]
    for owner, name, value in replacements:
        setattr(owner, name, value)
    try:
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)

"""Store first: every transport calls store() before anything can go wrong in processing."""

import logging
from email.message import Message

from django.db import IntegrityError, connection, transaction
from django.db.models import Field
from django.utils import timezone

from . import parse
from .models import InboundMessage

log = logging.getLogger("tickets.mail")


def _row(raw: bytes, mail_from, rcpt_tos, received_at, msg=None) -> InboundMessage:
    env = parse.envelope(raw, msg)
    return InboundMessage(
        key=env.key,
        raw=raw,
        envelope_from=(mail_from or "")[:320],
        envelope_to=[str(r).strip().lower() for r in rcpt_tos or ()],
        subject=env.subject,
        from_address=env.from_address[:320],
        to_addresses=env.to_addresses,
        date=env.date,
        in_reply_to=env.in_reply_to[:500],
        references=env.references,
        received_at=received_at or timezone.now(),
    )


def store(raw: bytes, mail_from=None, rcpt_tos=(), *, received_at=None):
    """Save the raw message keyed by Message-ID (or its digest) → (message, created).

    A second delivery of the same message, even a concurrent one, yields the existing row.
    """
    row = _row(raw, mail_from, rcpt_tos, received_at)
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        existing = InboundMessage.objects.filter(key=row.key).first()
        if existing is None:
            raise
        return existing, False
    return row, True


BATCH_SIZE = 500


def _insert_binary(rows: list[InboundMessage]) -> None:
    """bulk_create(rows, ignore_conflicts=True) on PostgreSQL, with the raw bytes sent as
    binary parameters.

    Django binds parameters on the client: each message's bytes are escaped to hex text in
    Python, and parsed back by the server, for a few megabytes per batch. A server-side
    binding cursor on the same connection (same transaction) sends them as they are.
    The column values are the ones bulk_create() writes: each field's pre_save() and
    get_db_prep_save(), so defaults, JSON and datetimes are converted the same way.
    """
    import psycopg  # here: SQLite deployments need not install it

    opts = InboundMessage._meta
    fields = [f for f in opts.concrete_fields if f is not opts.pk]
    qn = connection.ops.quote_name
    columns = ", ".join(qn(_column(f)) for f in fields)
    marks = "(" + ", ".join("%b" if f.name == "raw" else "%s" for f in fields) + ")"
    connection.ensure_connection()
    with transaction.atomic(savepoint=False):
        for start in range(0, len(rows), BATCH_SIZE):
            batch = rows[start : start + BATCH_SIZE]
            params = [
                f.get_db_prep_save(f.pre_save(row, True), connection)
                for row in batch
                for f in fields
            ]
            # Only identifiers from the model's metadata are interpolated; values are params.
            sql = (
                f"INSERT INTO {qn(opts.db_table)} ({columns}) "  # noqa: S608
                f"VALUES {', '.join([marks] * len(batch))} ON CONFLICT DO NOTHING"
            )
            raw_cursor = psycopg.Cursor(connection.connection)
            # Wrapped as Django wraps its own: query logging, execute_wrapper(), error mapping.
            wrap = (
                connection.make_debug_cursor
                if connection.queries_logged
                else connection.make_cursor
            )
            # The stubs type make_cursor()'s argument as Django's wrapper; it takes the driver's.
            with wrap(raw_cursor) as cursor:  # type: ignore[arg-type]
                cursor.execute(sql, params)


def _column(field: Field) -> str:
    """A concrete field's column (Field.column is typed str | None, for the virtual ones)."""
    if field.column is None:
        raise ValueError(f"{field.name} has no column")
    return field.column


def store_group(items, *, received_at=None) -> None:
    """store() for messages that arrived together: one INSERT and one commit for all of them
    (a message already stored is left as it is). items: (raw, mail_from, rcpt_tos)."""
    rows = [_row(raw, mail_from, rcpt, received_at) for raw, mail_from, rcpt in items]
    if connection.vendor == "postgresql":
        _insert_binary(rows)
    else:
        InboundMessage.objects.bulk_create(rows, ignore_conflicts=True, batch_size=BATCH_SIZE)


def store_many(items, *, received_at=None) -> list[InboundMessage]:
    """Batch form of store() for bulk imports: one INSERT per batch, duplicates skipped.

    items: iterable of (raw, mail_from, rcpt_tos). Returns the stored rows that still need
    processing (new ones, and earlier ones left stored or failed), in input order.
    """
    keys, by_key = _store_rows(items, received_at)
    seen, pending = set(), []
    for key in keys:
        message = by_key.get(key)
        if message and key not in seen and message.status in PENDING:
            pending.append(message)
        seen.add(key)
    return pending


def store_each(items, *, received_at=None) -> list[InboundMessage]:
    """store() for messages handed over together (ingest_email's files): one INSERT per
    batch and one commit → each item's row in input order, the row already there for a
    message stored before (or twice among the items). Raises if one was not stored."""
    keys, by_key = _store_rows(items, received_at)
    missing = [key for key in keys if key not in by_key]
    if missing:
        raise IntegrityError(f"inbound messages not stored: {missing[:5]}")
    return [by_key[key] for key in keys]


PENDING = ("stored", "failed")


def _store_rows(items, received_at) -> tuple[list[str], dict[str, InboundMessage]]:
    """Insert the items' rows (existing keys skipped) → (their keys in input order, key →
    stored row with pk, key and status). Rows left to process keep their parsed message for
    process_many() in this process (parse.parsed): each message is parsed once."""
    rows: list[InboundMessage] = []
    parsed: dict[str, tuple[bytes, Message]] = {}
    for raw, mail_from, rcpt in items:
        msg = parse.parse(raw)
        rows.append(_row(raw, mail_from, rcpt, received_at, msg))
        parsed.setdefault(rows[-1].key, (raw, msg))
    if connection.vendor == "postgresql":
        _insert_binary(rows)
    else:
        InboundMessage.objects.bulk_create(rows, ignore_conflicts=True, batch_size=BATCH_SIZE)
    keys = [r.key for r in rows]
    by_key = {
        m.key: m for m in InboundMessage.objects.filter(key__in=keys).only("pk", "key", "status")
    }
    for key, message in by_key.items():
        if message.status in PENDING:
            parse.remember(message.pk, *parsed[key])
    return keys, by_key

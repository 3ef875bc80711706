"""Processing of one stored inbound message, claimed under a lock, never raising."""

import logging
import traceback

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from . import actions, batch_cache, routing
from .models import PROCESSABLE, InboundMessage, InboundStatus

log = logging.getLogger("tickets.mail")

SAVED_FIELDS = [
    "status",
    "reason",
    "ticket",
    "comment",
    "html",
    "processed_at",
    "error",
    "traceback",
    "attempts",
]


def process(pk: int) -> InboundMessage:
    """Process one stored message; never raises.

    1. Claim the row inside the transaction (SELECT … FOR UPDATE, or a compare-and-swap
       UPDATE on SQLite) and re-check its status under the lock: a concurrent second
       delivery or retry waits, then finds it done and does nothing.
    2. Handle it; every write (ticket, comment, contact, outbound mail row) shares the
       transaction, so a failure leaves nothing half-done.
    3. On an exception, roll back and record the error and traceback in a separate
       transaction: the message stays stored, visible and re-processable.
    """
    try:
        with transaction.atomic():
            message = _claim(pk)
            if message.status == InboundStatus.PROCESSING:
                handle(message)
                mark_done(message)
                message.save(update_fields=SAVED_FIELDS)
    except Exception as exc:  # noqa: BLE001 - recorded on the row, never lost
        message = record_failure(pk, exc)
    log.info("inbound %s key=%s status=%s", pk, message.key, message.status)
    return message


def mark_done(message: InboundMessage, now=None) -> None:
    """The row's processing ended without an error (its status says how)."""
    message.processed_at = now or timezone.now()
    message.error = message.traceback = ""


def record_failure(pk: int, exc: Exception) -> InboundMessage:
    """Record the exception being handled on the row (which stays re-processable); the row,
    read again. Called from an except block, after the failed writes were rolled back."""
    log.exception("inbound %s failed", pk)
    InboundMessage.objects.filter(pk=pk, status__in=PROCESSABLE).update(
        status=InboundStatus.FAILED,
        error=f"{type(exc).__name__}: {exc}"[:2000],
        traceback=traceback.format_exc()[-20000:],
        attempts=F("attempts") + 1,
        processed_at=timezone.now(),
    )
    return InboundMessage.objects.get(pk=pk)


def process_claimed(message: InboundMessage, intake=None, route=None) -> InboundMessage:
    """One claimed message of a batch in its own savepoint; a failure is recorded, never raised.

    intake, route: what the batch already read and decided (route again if no route).
    """
    batch = batch_cache.running()
    claimed_attempts = message.attempts
    try:
        with transaction.atomic():
            message.status = InboundStatus.PROCESSING
            message.attempts = claimed_attempts + 1
            handle(message, intake, route)
            mark_done(message)
            message.save(update_fields=SAVED_FIELDS)
    except Exception as exc:  # noqa: BLE001 - recorded on the row, never lost
        # The savepoint is gone and with it anything cached from inside it (a new contact).
        batch.clear()
        message = record_failure(message.pk, exc)
    batch.threads = None  # it wrote alone: what threads where may have changed
    return message


def _claim(pk: int) -> InboundMessage:
    """The row, locked, with status PROCESSING if this call may process it."""
    if connection.features.has_select_for_update:
        message = InboundMessage.objects.select_for_update().get(pk=pk)
        if message.status in PROCESSABLE:
            message.status = InboundStatus.PROCESSING
            message.attempts += 1
        return message
    # SQLite has no row locks: a compare-and-swap UPDATE takes the write lock first.
    InboundMessage.objects.filter(pk=pk, status__in=PROCESSABLE).update(
        status=InboundStatus.PROCESSING, attempts=F("attempts") + 1
    )
    return InboundMessage.objects.get(pk=pk)


def handle(message: InboundMessage, intake=None, route=None) -> None:
    intake = intake or routing.read(message)
    actions.act(intake, route or routing.route(intake))


def release_held(pk: int) -> InboundMessage:
    """Staff vouch for a held message: it is processed as its sender's reply (admin action)."""
    with transaction.atomic():
        message = InboundMessage.objects.select_for_update().get(pk=pk)
        if message.status != InboundStatus.HELD:
            return message
        intake = routing.read(message)
        intake.vouched = True
        route = routing.route(intake)
        message.attempts += 1
        actions.act(intake, route)
        message.processed_at = timezone.now()
        message.save(update_fields=SAVED_FIELDS)
    return message

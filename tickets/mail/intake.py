"""What the push transports (the LMTP listener, the inbound webhooks) do with a message.

accept() stores the raw message first: the transport answers its peer (LMTP 250, HTTP 2xx)
only once the row is committed, so the message is never lost. Processing is left to the
workers: a drain task (tasks.drain_inbound) takes the stored messages in batches through
the batch path, so a burst is processed at batch speed rather than one message at a time.

Queueing is coalesced: a burst rings the doorbell many times but queues one drain task per
RING_WINDOW. A ring that is lost (broker down, process killed before the timer fires) delays
its message until beat's redrive, never drops it: the store is the queue of record.

Inline mode (no worker: CELERY_TASK_ALWAYS_EAGER, MAIL_INTAKE_INLINE or the LMTP listener's
--inline) processes each message in the request, as before.
"""

import logging

from django.conf import settings

from core.coalesce import Coalescer

from .models import InboundMessage, InboundStatus
from .pipeline import process
from .store import store, store_group
from .tasks import drain_inbound

log = logging.getLogger("tickets.mail")

# Seconds a ring waits for others to join it; short next to processing, long next to the
# store of one message.
RING_WINDOW = 0.02


def inline_mode() -> bool:
    return bool(
        getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)
        or getattr(settings, "MAIL_INTAKE_INLINE", False)
    )


def accept(raw: bytes, mail_from: str, rcpt_tos, *, inline: bool = False) -> InboundMessage:
    """Store the message (committed when this returns), then process it now (inline) or
    ring for a worker. Store errors propagate: the transport refuses and the peer retries."""
    message, created = store(raw, mail_from, rcpt_tos)
    if inline or inline_mode():
        return process(message.pk)
    if created or message.status == InboundStatus.STORED:
        doorbell.ring()
    return message


def accept_group(items) -> list[Exception | None]:
    """accept() for messages that arrived together (the LMTP listener's concurrent
    deliveries), stored in one transaction → for each, None once it is stored, or the error
    that kept it from being stored. items: (raw, mail_from, rcpt_tos)."""
    if inline_mode():
        return [_error_of(accept, *item) for item in items]
    try:
        store_group(items)
        errors: list[Exception | None] = [None] * len(items)
    except Exception:  # noqa: BLE001 - one by one: a bad message does not refuse the others
        log.exception("inbound: a group of %d could not be stored; one at a time", len(items))
        errors = [_error_of(store, *item) for item in items]
    if any(error is None for error in errors):
        doorbell.ring()
    return errors


def _error_of(function, *args) -> Exception | None:
    try:
        function(*args)
    except Exception as exc:  # noqa: BLE001 - handed to the caller, which refuses that message
        return exc
    return None


def queue_drain() -> None:
    """A broker that is down does not refuse a message already stored: beat's redrive
    (tickets.mail.redrive) processes it a minute later."""
    try:
        drain_inbound.apply_async(retry=False)
    except Exception:  # noqa: BLE001 - the store is the queue of record
        log.warning("inbound: could not queue a drain; the redrive will process the messages")


class Doorbell(Coalescer):
    """Coalesces rings into one drain task. A message rings after its row is committed, so
    the drain task that the batch queues (or a later one) sees it."""

    def __init__(self, window: float = RING_WINDOW, send=queue_drain):
        super().__init__()
        self.WINDOW, self.send = window, send

    def ring(self) -> None:
        self.add()

    def deliver(self, items: list) -> None:
        self.send()


doorbell = Doorbell()

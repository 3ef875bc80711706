"""The store is the queue of record: stored messages whose task was lost get processed.

A broker restart or a killed worker can lose the Celery task that would process a stored
message (issue 10: 20 of 20 on a Redis restart). Beat runs redrive() every minute; /health/
and the mail admin read stuck_messages() and backlog_status().
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .batch import process_many
from .models import InboundMessage, InboundStatus

log = logging.getLogger("tickets.mail")

# A message still stored this long after delivery lost its task (processing takes well under
# a second, and the intake queues it at once).
STUCK_AFTER = datetime.timedelta(minutes=1)
BATCH = 100


def stuck_messages(now=None):
    """Stored messages older than STUCK_AFTER (the admin's filter and /health/ read them)."""
    now = now or timezone.now()
    return InboundMessage.objects.filter(
        status=InboundStatus.STORED, received_at__lt=now - STUCK_AFTER
    )


def redrive(now=None, *, batch: int = BATCH) -> int:
    """Process stuck messages in batches; returns how many were processed.

    1. Pick a batch of stuck rows that nobody holds (FOR UPDATE SKIP LOCKED in a short
       transaction: a worker processing one right now is skipped, not waited for).
    2. process_many() claims them again under its own lock and re-checks each status, so a
       late task, a second redrive or a retry racing this one finds it done: once each.
    Stops when a batch comes back empty or makes no progress.
    """
    done = 0
    while True:
        with transaction.atomic():
            rows = stuck_messages(now).order_by("received_at", "pk")
            pks = list(
                rows.select_for_update(skip_locked=True).values_list("pk", flat=True)[:batch]
            )
        if not pks:
            return done
        results = process_many(pks)
        done += len(results)
        log.info("redrive: processed %d stuck inbound messages", len(results))
        if all(m.status == InboundStatus.STORED for m in results):
            return done


def backlog_status(now=None) -> str:
    """'ok', or 'error: …' when a stored message has waited longer than
    MAIL_BACKLOG_ALERT_SECONDS (then redrive is not keeping up, or beat is down)."""
    now = now or timezone.now()
    limit = datetime.timedelta(seconds=getattr(settings, "MAIL_BACKLOG_ALERT_SECONDS", 600))
    late = InboundMessage.objects.filter(status=InboundStatus.STORED, received_at__lt=now - limit)
    oldest = late.order_by("received_at").values_list("received_at", flat=True).first()
    if oldest is None:
        return "ok"
    age = int((now - oldest).total_seconds())
    return f"error: {late.count()} stored messages, oldest {age} s"

"""Celery entry points, and the queueing of them; the work is in webhooks.sender."""

from celery import shared_task
from django.db import transaction

from . import sender


@shared_task(name="webhooks.tasks.deliver")
def deliver(ids) -> int:
    """Queued by emit() after commit. Safe to run twice: only due, unclaimed rows are sent."""
    return sender.deliver(ids, limit=len(ids) or 1)


@shared_task(name="webhooks.tasks.redrive")
def redrive() -> int:
    """Beat runs this (entry "webhook-redrive", registered in webhooks.apps): retries that are
    due, and anything queued while the broker was down."""
    return sender.redrive()


@shared_task(name="webhooks.tasks.prune")
def prune() -> int:
    """Beat runs this hourly (entry "webhook-prune"): the outbox does not grow forever."""
    return sender.prune()


def schedule(ids) -> None:
    """Queue the sending once the caller commits. With the broker down, the rows stay pending
    and the beat re-drive (redrive above) sends them later, so the publish neither retries (a
    request would wait on it) nor raises (robust)."""
    ids = [str(i) for i in ids]
    transaction.on_commit(lambda: deliver.apply_async(args=(ids,), retry=False), robust=True)

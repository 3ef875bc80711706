"""Celery entry points; the work is in webhooks.sender."""

from celery import shared_task


@shared_task(name="webhooks.tasks.deliver")
def deliver(ids) -> int:
    """Queued by emit() after commit. Safe to run twice: only due, unclaimed rows are sent."""
    from .sender import deliver as send

    return send(ids, limit=len(ids) or 1)


@shared_task(name="webhooks.tasks.redrive")
def redrive() -> int:
    """Beat runs this (entry "webhook-redrive", registered in webhooks.apps): retries that are
    due, and anything queued while the broker was down."""
    from .sender import redrive as run

    return run()


@shared_task(name="webhooks.tasks.prune")
def prune() -> int:
    """Beat runs this hourly (entry "webhook-prune"): the outbox does not grow forever."""
    from .sender import prune as run

    return run()

"""Celery entry points, and the queueing of them; the work is in notifications.delivery."""

import logging

from celery import shared_task
from django.conf import settings

from . import delivery

log = logging.getLogger(__name__)


@shared_task(
    name="notifications.tasks.deliver",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def deliver(ids) -> dict:
    """Send these outbox rows if still due. Safe to run twice: rows are claimed atomically."""
    return vars(delivery.deliver(ids))


@shared_task(name="notifications.tasks.redrive")
def redrive() -> dict:
    """Beat: send whatever is due (rows whose task was lost, retries whose time came)."""
    return vars(delivery.deliver_due())


def queue_delivery(ids) -> None:
    """After commit: ask a worker to send these rows now. If the broker is down the rows
    stay pending and beat's re-drive sends them later."""
    if not ids or not settings.NOTIFICATIONS_QUEUE_ON_COMMIT:
        return
    try:
        deliver.apply_async((list(ids),), retry=False)
    except Exception:  # noqa: BLE001 - the outbox keeps the rows; beat re-drives them
        log.warning("notification delivery not queued (broker down?); beat will re-drive")

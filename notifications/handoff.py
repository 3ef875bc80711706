"""Hands committed outbox rows to delivery tasks, a few milliseconds' worth at a time."""

import atexit

from django.conf import settings

from core.coalesce import Coalescer

from .delivery import BATCH
from .tasks import queue_delivery


def queue(ids) -> None:
    for start in range(0, len(ids), BATCH):
        queue_delivery(ids[start : start + BATCH])


class _Pending(Coalescer):
    """Outbox rows committed in this process and not yet handed to a worker.

    Publishing a Celery task costs a few broker round trips: one per ticket write was the
    largest part of an API creation after the database. The rows committed within WINDOW
    seconds go to one task instead. Rows whose task is never queued (process killed first,
    broker down) stay pending in the outbox, and beat's re-drive sends them.
    """

    def add(self, items=()) -> None:
        if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
            queue(list(items))  # no worker: sent in this process, as the commit happens
            return
        super().add(items)

    def deliver(self, items: list) -> None:
        queue(items)


pending = _Pending()
atexit.register(pending.flush)

"""Hands committed outbox rows to delivery tasks, a few milliseconds' worth at a time."""

import atexit
import os
import threading
import time

from django.conf import settings

from .delivery import BATCH
from .tasks import queue_delivery


def queue(ids) -> None:
    for start in range(0, len(ids), BATCH):
        queue_delivery(ids[start : start + BATCH])


class _Pending:
    """Outbox rows committed in this process and not yet handed to a worker.

    Publishing a Celery task costs a few broker round trips: one per ticket write was the
    largest part of an API creation after the database. A thread of this process hands the
    rows committed within WINDOW seconds to one task instead (the writer only appends).
    Rows whose task is never queued (process killed first, broker down) stay pending in the
    outbox, and beat's re-drive sends them.
    """

    WINDOW = 0.02  # seconds; short next to sending a mail

    def __init__(self):
        self.ids, self.owner = [], None
        self.wakeup = threading.Condition()

    def add(self, ids) -> None:
        if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
            queue(ids)  # no worker: sent in this process, as the commit happens
            return
        with self.wakeup:
            self.ids += ids
            if self.owner != os.getpid():  # first use, or a forked child (Celery's pool)
                self.owner = os.getpid()
                threading.Thread(target=self._run, name="outbox-queue", daemon=True).start()
            self.wakeup.notify()

    def flush(self) -> None:
        with self.wakeup:
            ids, self.ids = self.ids, []
        if ids:
            queue(ids)

    def _run(self) -> None:
        while True:
            with self.wakeup:
                self.wakeup.wait_for(lambda: self.ids)
            time.sleep(self.WINDOW)  # let the writes of the next few ms join
            self.flush()


pending = _Pending()
atexit.register(pending.flush)

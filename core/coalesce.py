"""Many hand-offs from a hot path, one task: a small time window that batches them.

Publishing a Celery task costs broker round trips. Code that would queue one per request
(the outbox after each ticket write, the mail drain after each stored message) adds to a
Coalescer instead: the first addition opens a batch, the additions within WINDOW seconds
join it, and `deliver()` runs once with all of them, on the coalescer's own thread. What a
lost batch held (process killed, broker down) is still in its table of record, where a beat
re-drive finds it.

One thread per coalescer and process waits for the batches: starting a thread (a timer)
for each batch made the request that opened it wait until the new thread was scheduled,
a millisecond on a busy machine.
"""

import logging
import os
import threading
import time

from django.db import connections

log = logging.getLogger(__name__)


class Coalescer:
    WINDOW = 0.02  # seconds; short next to the work queued, long next to one request

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._items: list = []
        self._open = False  # a batch waits for its window to close
        self._batch = 0  # counts the batches opened, so the thread knows a flushed one
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def deliver(self, items: list) -> None:
        raise NotImplementedError

    def add(self, items=()) -> None:
        with self._lock:
            if self._pid != os.getpid():
                # A forked child (a worker pool, a gunicorn worker) inherits the parent's
                # batch, not its thread: the parent sends its own, the child starts afresh.
                self._pid, self._items, self._open, self._thread = os.getpid(), [], False, None
            self._items.extend(items)
            if not self._open:
                self._open, self._batch = True, self._batch + 1
                self._changed.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=type(self).__name__, daemon=True
                )
                self._thread.start()

    def flush(self) -> None:
        """Deliver the waiting batch now (the thread does this; so does shutdown)."""
        with self._lock:
            if not self._open:
                return
            items = self._take()
        self.deliver(items)

    def _take(self) -> list:
        """The open batch's items; the batch closes. Called with the lock held."""
        items, self._items, self._open = self._items, [], False
        self._changed.notify_all()
        return items

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._open:
                    self._changed.wait()
                batch, closes = self._batch, time.monotonic() + self.WINDOW
                while self._open and self._batch == batch and time.monotonic() < closes:
                    self._changed.wait(closes - time.monotonic())
                if not (self._open and self._batch == batch):
                    continue  # flushed meanwhile
                items = self._take()
            try:
                self.deliver(items)
            except Exception:  # the thread serves the next batches; the re-drive sends these
                log.exception("%s: a batch was not delivered", type(self).__name__)
            finally:
                # A delivery run in-process (eager tasks) opened this thread's own database
                # connection: closed, as when each batch had a thread that ended.
                connections.close_all()

"""Many hand-offs from a hot path, one task: a small time window that batches them.

Publishing a Celery task costs broker round trips. Code that would queue one per request
(the outbox after each ticket write, the mail drain after each stored message) adds to a
Coalescer instead: the first addition starts a timer, the additions until it fires join
it, and `deliver()` runs once with all of them. What a lost batch held (process killed,
broker down) is still in its table of record, where a beat re-drive finds it.
"""

import os
import threading


class Coalescer:
    WINDOW = 0.02  # seconds; short next to the work queued, long next to one request

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list = []
        self._timer: threading.Timer | None = None
        self._pid: int | None = None

    def deliver(self, items: list) -> None:
        raise NotImplementedError

    def add(self, items=()) -> None:
        with self._lock:
            if self._pid != os.getpid():
                # A forked child (a worker pool, a gunicorn worker) inherits the parent's
                # batch, not its timer thread: the parent sends its own, the child starts
                # afresh.
                self._pid, self._items, self._timer = os.getpid(), [], None
            self._items.extend(items)
            if self._timer is None:
                self._timer = threading.Timer(self.WINDOW, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Deliver the waiting batch now (the timer does this; so does shutdown)."""
        with self._lock:
            timer, items = self._timer, self._items
            self._timer, self._items = None, []
        if timer is None:
            return
        timer.cancel()  # a no-op when the timer itself is flushing
        self.deliver(items)

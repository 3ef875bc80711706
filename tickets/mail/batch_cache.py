"""What one batch of process_many() remembers between its messages.

It lives on its own so that routing, threading and the acknowledgement limit can consult it
without importing the batch processing that fills it.
"""

import contextvars


class BatchCache:
    """What one batch may remember between its messages; cleared when one fails.

    users: address → active user (or None), so a sender writing many messages is looked up once.
    auto_replies: (address, kind) → automatic mails of the kind sent within its window; rows
    only get added within a batch, so counting on from the database's answer stays exact.
    group: new tickets waiting to be opened together; replies: replies waiting to be written
    together (services.add_comments); finished: handled messages whose rows
    wait for one UPDATE; results: rows handled alone (re-read after a failure);
    collected: while the group is written, its AutoReply rows and mails to write at once.
    pending: the batch's processable messages not routed yet (the current one first);
    threads: the threading candidates of the pending messages (threading.prefetch_threads), or
    None once anything was written that may change where a message threads (fetched again then).
    """

    def __init__(self):
        self.users, self.auto_replies = {}, {}
        self.group, self.replies, self.finished, self.results = [], [], [], {}
        self.collected = None
        self.pending, self.threads = [], None

    def clear(self):
        self.users.clear()
        self.auto_replies.clear()
        self.threads = None


BATCH: contextvars.ContextVar[BatchCache | None] = contextvars.ContextVar(
    "mail_batch", default=None
)


def current() -> BatchCache | None:
    """The running batch's cache, or None when one message is processed alone."""
    return BATCH.get()


def running() -> BatchCache:
    """The running batch's cache, for what only a batch calls (process_claimed)."""
    batch = BATCH.get()
    if batch is None:
        raise RuntimeError("no inbound mail batch is running")
    return batch

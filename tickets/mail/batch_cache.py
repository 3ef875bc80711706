"""What one batch of process_many() remembers between its messages.

It lives on its own so that routing, threading and the acknowledgement limit can consult it
without importing the batch processing that fills it.
"""

import contextvars
from dataclasses import dataclass, field

from tickets.limits import MailSenderLimit


class BatchCache:
    """What one batch may remember between its messages; cleared when one fails.

    users: address → active user (or None), so a sender writing many messages is looked up once.
    auto_replies: (address, kind) → automatic mails of the kind sent within its window; rows
    only get added within a batch, so counting on from the database's answer stays exact.
    group: new tickets waiting to be opened together; replies: replies waiting to be written
    together (services.add_comments); finished: handled messages whose rows
    wait for one UPDATE; results: rows handled alone (re-read after a failure);
    collected: while the group or the replies are written, what to write at once (Collected).
    pending: the batch's processable messages not routed yet (the current one first);
    threads: the threading candidates of the pending messages (threading.prefetch_threads), or
    None once anything was written that may change where a message threads (fetched again then).
    limits: the flood limit's counts of the batch's senders, written when the batch ends; not
    cleared on a failure (the shared cache is not rolled back: a message stays counted once).
    """

    def __init__(self):
        self.users, self.auto_replies = {}, {}
        self.group, self.replies, self.finished, self.results = [], [], [], {}
        self.collected: Collected | None = None
        self.pending, self.threads = [], None
        self.limits = MailSenderLimit()

    def clear(self):
        self.users.clear()
        self.auto_replies.clear()
        self.threads = None


@dataclass
class Collected:
    """What the messages being written together leave to write at once: AutoReply rows, the
    mails of send_ticket_mails() and the (ticket, text) system notes."""

    auto_replies: list = field(default_factory=list)
    mails: list = field(default_factory=list)
    notes: list = field(default_factory=list)


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

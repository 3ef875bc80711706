"""Which ticket an inbound message answers: one rule for single and batch processing.

The candidates (by subject reference, then by Message-IDs) are read in at most four queries,
for one message or for a whole batch's pending messages at once; choose_ticket() then applies
the tenancy guard and the precedence without touching the database.
"""

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from tickets.models import REFERENCE_RE, Comment, OutboundMessage, Ticket, pk_from_reference

from . import batch_cache
from .models import InboundMessage

SUBJECT_REFERENCE_RE = re.compile(rf"\[({REFERENCE_RE.pattern})\]", REFERENCE_RE.flags)


@dataclass
class Threads:
    """Threading candidates of some messages.

    refs: the subject references' pks looked up; ids: the Message-IDs looked up;
    tickets: pk → ticket (organization selected), for both; by_id: Message-ID → ticket pks
    (OutboundMessage, InboundMessage and Comment rows naming it).
    """

    refs: set[int] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    tickets: dict[int, Ticket] = field(default_factory=dict)
    by_id: dict[str, set[int]] = field(default_factory=dict)

    def covers(self, pk: int | None, ids: list[str]) -> bool:
        return (pk is None or pk in self.refs) and self.ids.issuperset(ids)


def thread_hints(subject: str, in_reply_to: str, references) -> tuple[int | None, list[str]]:
    """What a message is threaded by: its subject reference's pk, its Message-IDs."""
    match = SUBJECT_REFERENCE_RE.search(subject)
    pk = pk_from_reference(match.group(1)) if match else None
    return pk, [i for i in [in_reply_to, *references] if i]


def _ticket_ids_by_message_id(message_ids: Iterable[str]) -> list[tuple[str, int]]:
    ids = sorted(message_ids)
    return [
        *OutboundMessage.objects.filter(message_id__in=ids, ticket__isnull=False).values_list(
            "message_id", "ticket_id"
        ),
        *InboundMessage.objects.filter(key__in=ids, ticket__isnull=False).values_list(
            "key", "ticket_id"
        ),
        *Comment.objects.filter(message_id__in=ids).values_list("message_id", "ticket_id"),
    ]


def prefetch_threads(messages) -> Threads:
    """The tickets the messages (or envelopes) may thread to: by subject reference, then by
    Message-IDs (one query per source), then the tickets themselves; no tenancy filter
    (choose_ticket's)."""
    threads = Threads()
    for m in messages:
        pk, ids = thread_hints(m.subject, m.in_reply_to, m.references)
        if pk is not None:
            threads.refs.add(pk)
        threads.ids.update(ids)
    ticket_pks = set(threads.refs)
    if threads.ids:
        for message_id, ticket_id in _ticket_ids_by_message_id(threads.ids):
            threads.by_id.setdefault(message_id, set()).add(ticket_id)
            ticket_pks.add(ticket_id)
    if ticket_pks:
        tickets = Ticket.objects.filter(pk__in=ticket_pks).select_related("organization")
        threads.tickets = {t.pk: t for t in tickets}
    return threads


def may_thread(sender, ticket: Ticket) -> bool:
    """Ticket.objects.visible_to(sender), for one ticket already read."""
    if not sender or not sender.is_authenticated:
        return False
    if sender.is_staff:
        return True
    return sender.organization_id is not None and ticket.organization_id == sender.organization_id


def choose_ticket(threads: Threads, pk: int | None, ids: list[str], sender) -> Ticket | None:
    """The ticket the sender may write to: the subject reference's first, else the latest
    received of those naming one of the Message-IDs. Each message gets its own instance, as
    a query of its own would give it."""
    ticket = threads.tickets.get(pk) if pk is not None else None
    if ticket is not None and may_thread(sender, ticket):
        return copy.copy(ticket)
    tickets = [t for t in _named_by(threads, ids) if may_thread(sender, t)]
    if not tickets:
        return None
    return copy.copy(max(tickets, key=lambda t: (t.received_at, t.pk)))


def _named_by(threads: Threads, ids: list[str]) -> list[Ticket]:
    """The tickets that rows carrying one of the Message-IDs belong to."""
    found = {t for i in ids for t in threads.by_id.get(i, ())}
    return [threads.tickets[t] for t in found if t in threads.tickets]


def find_ticket(env, sender) -> Ticket | None:
    """The ticket this message answers, if the sender may write to it (tenancy guard).

    In a batch, from the candidates prefetched for its pending messages (read again when a
    message's hints are not among them); alone, from its own candidates."""
    pk, ids = thread_hints(env.subject, env.in_reply_to, env.references)
    if pk is None and not ids:
        return None
    batch = batch_cache.current()
    threads = None
    if batch is not None:
        if batch.threads is None:
            batch.threads = prefetch_threads(batch.pending)
        threads = batch.threads
    if threads is None or not threads.covers(pk, ids):
        threads = prefetch_threads([env])
    return choose_ticket(threads, pk, ids, sender)

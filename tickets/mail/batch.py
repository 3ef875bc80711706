"""Batch processing of stored inbound messages: one transaction per batch.

New tickets of a batch wait in a group and replies that become comments wait likewise, to be
written together; everything else is handled one message at a time, as process() would.
"""

import contextlib
import logging

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import Upper
from django.utils import timezone

from core.db import bulk_update
from tickets import services
from tickets.models import Channel
from tickets.outbound import send_ticket_mails

from . import actions, batch_cache, routing
from .models import PROCESSABLE, AutoReply, InboundMessage, InboundStatus
from .processing import SAVED_FIELDS, mark_done, process, process_claimed
from .routing import Intake, RouteKind
from .threading import SUBJECT_REFERENCE_RE

log = logging.getLogger("tickets.mail")

BATCH_SIZE = 100
# Routes that only set the message's status: handled at once, their rows join the UPDATE.
STATUS_ONLY = set(actions.STATUS_ONLY)


def process_many(pks, *, batch_size: int = BATCH_SIZE) -> list[InboundMessage]:
    """Process stored messages in batches; never raises. Same outcome as process() per pk.

    Each batch is one transaction (one COMMIT, one WAL flush, instead of one per message):
    1. Claim the batch's rows at once (SELECT … FOR UPDATE, in pk order so that two
       overlapping batches cannot deadlock on them) and re-check each status under the lock.
    2. Route each message in order without writing (loop, quarantine, reply, new ticket).
       New tickets wait in a group, written together: services.open_tickets(), then their
       rate-limit rows and acknowledgements in one INSERT each, and the messages' rows in
       one UPDATE. Every other message is handled in its own savepoint, as before; one that
       may thread to a ticket of the waiting group (a subject reference or Message-IDs not
       found yet) first has the group written, so that it threads as one at a time would.
       Replies that become comments wait likewise and are written together through
       services.add_comments() (in order, several to one ticket included); a message naming
       a waiting reply's Message-ID first has them written, as it threads by their comments.
    3. A failure while writing the group or the replies falls back to one savepoint per
       message of them; a failure of a message rolls back its writes and discards its
       on-commit hooks (its acknowledgement is never sent), and its error is recorded in
       the same transaction.
    4. After the batch commits, the on-commit hooks run (acknowledgements are sent).
    If the batch as a whole cannot commit (connection lost, a deferred constraint), nothing
    of it is kept and its messages are processed again one at a time with process().

    Pks that do not exist are skipped; a pk given twice is processed once. The rows returned
    have their raw bytes deferred (read again from the database if accessed).
    """
    pks = list(dict.fromkeys(pks))
    results = []
    for start in range(0, len(pks), batch_size):
        chunk = pks[start : start + batch_size]
        try:
            results += _process_batch(chunk)
        except Exception:  # noqa: BLE001 - the batch rolled back; fall back to one at a time
            log.exception("inbound batch of %d failed; processing one at a time", len(chunk))
            results += [
                process(pk) for pk in chunk if InboundMessage.objects.filter(pk=pk).exists()
            ]
    return results


def process_next(limit: int = BATCH_SIZE) -> list[InboundMessage]:
    """Process the oldest stored messages that no other worker holds, up to `limit`, as one
    batch of process_many(); [] when none is left. Never raises.

    The rows are claimed with FOR UPDATE SKIP LOCKED in the batch's own transaction, so two
    workers draining at once take different messages instead of waiting for each other.
    """
    taken = []

    def claim():
        taken.extend(_claim_next(limit))
        return taken

    try:
        return _process_batch(claim)
    except Exception:  # noqa: BLE001 - the batch rolled back; fall back to one at a time
        log.exception("inbound batch of %d failed; processing one at a time", len(taken))
        return [process(pk) for pk in taken]


def drain(*, limit: int = BATCH_SIZE, max_batches: int = 20) -> tuple[int, bool]:
    """process_next() until no stored message is left or after `max_batches` batches (a
    worker's task stays short; its caller queues another) → (processed, more may be left)."""
    done = 0
    for _ in range(max_batches):
        results = process_next(limit)
        done += len(results)
        if len(results) < limit or all(m.status == InboundStatus.STORED for m in results):
            return done, False
    return done, True


def _claim_next(limit: int) -> list[int]:
    """Pks of the oldest stored messages, locked for this transaction (skipping held ones)."""
    rows = InboundMessage.objects.filter(status=InboundStatus.STORED).order_by("pk")
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True)
    return list(rows.values_list("pk", flat=True)[:limit])


def _process_batch(pks) -> list[InboundMessage]:
    """pks: the batch's pks, or a function that claims them inside the transaction."""
    batch = batch_cache.BatchCache()
    token = batch_cache.BATCH.set(batch)
    try:
        with transaction.atomic():
            if callable(pks):
                pks = list(pks())
            messages = _claim_many(pks)
            _prefetch_senders(batch, messages.values())
            claimed = [messages[pk] for pk in pks if pk in messages]
            batch.pending = [m for m in claimed if m.status in PROCESSABLE]
            for message in claimed:
                if message.status in PROCESSABLE:
                    _take(batch, message)
                    batch.pending = batch.pending[1:]
                else:
                    message.__dict__.pop("raw", None)
            _write_group(batch)
            # Before the commit: if it fails, the messages are processed again one at a time
            # and find themselves counted: each message is counted once.
            batch.limits.flush()
            results = [batch.results.get(m.pk, m) for m in claimed]
    finally:
        batch_cache.BATCH.reset(token)
    for message in results:
        log.info("inbound %s key=%s status=%s", message.pk, message.key, message.status)
    return results


def _dry_route(message: InboundMessage):
    """(intake, route) without writing, or (None, None) if reading or routing failed."""
    try:
        intake = routing.read(message)
        return intake, routing.route(intake, dry=True)
    except Exception:  # noqa: BLE001 - the savepoint path records it
        return None, None
    finally:
        # Hold one batch's raw bytes at most: the field reloads if read again.
        message.__dict__.pop("raw", None)


def _take(batch, message: InboundMessage) -> None:
    """Route one claimed message of a batch; a new ticket joins the group, the rest is handled."""
    if batch.replies and _threads_into_replies(batch, message):
        _write_replies(batch)
    intake, route = _dry_route(message)
    kind = route[0] if route else None
    if kind in STATUS_ONLY:
        actions.act(intake, route)
        _finished(batch, message)
        return
    joins = _waiting_list(batch, intake, kind)
    if joins is not None:
        joins.append(intake)
    elif kind in (RouteKind.QUARANTINE, RouteKind.REPLY) and not _threads_into_group(
        batch, intake, route
    ):
        batch.results[message.pk] = process_claimed(message, intake, route)
    else:
        # It may thread to a ticket of the group: write the group, then route it again.
        _write_group(batch)
        batch.results[message.pk] = process_claimed(message, intake)


def _waiting_list(batch, intake: Intake, kind):
    """The list the message waits in (the group of new tickets, the replies), or None."""
    if kind == RouteKind.NEW and not (batch.group and _has_thread_hints(intake)):
        return batch.group
    if (
        kind == RouteKind.REPLY
        and not _threads_into_group(batch, intake, (kind, ""))
        and actions.writes_comment(intake)
    ):
        return batch.replies
    return None


def _finished(batch, message: InboundMessage, now=None) -> None:
    """A handled message: its row waits for the batch's one UPDATE."""
    message.attempts += 1
    mark_done(message, now)
    batch.finished.append(message)


def _threads_into_replies(batch, message: InboundMessage) -> bool:
    """A message naming a waiting reply's Message-ID: it threads by that reply's comment."""
    ids = {message.in_reply_to, *message.references} - {""}
    return bool(ids & {intake.env.message_id for intake in batch.replies})


def _has_thread_hints(intake: Intake) -> bool:
    env = intake.env
    return bool(SUBJECT_REFERENCE_RE.search(env.subject) or env.in_reply_to or env.references)


def _threads_into_group(batch, intake: Intake, route) -> bool:
    """A reply found by Message-IDs that the group's messages also have, or one that opens
    a new ticket (a closed ticket's) and so takes its turn in the acknowledgement limit."""
    if route[0] != RouteKind.REPLY:
        return False
    ids = {intake.env.in_reply_to, *intake.env.references} - {""}
    if ids & {i.env.message_id for i in batch.group}:
        return True
    return bool(batch.group) and not actions.writes_comment(intake)


def _write_waiting(batch, intakes: list[Intake], write, kind: RouteKind) -> None:
    """Write waiting messages together; on failure, one savepoint per message instead."""
    batch.threads = None  # rows that may change where a message threads get written
    try:
        with transaction.atomic():
            write(batch, intakes)
    except Exception:  # noqa: BLE001 - each message is tried alone below
        log.exception("inbound %s of %d failed; one message at a time", kind, len(intakes))
        batch.clear()
        for intake in intakes:
            message = intake.message
            batch.results[message.pk] = process_claimed(message, intake, (kind, ""))
    else:
        now = timezone.now()
        for intake in intakes:
            _finished(batch, intake.message, now)


def _add_replies(batch, replies: list[Intake]) -> None:
    comments = services.add_comments([actions.comment_spec(intake) for intake in replies])
    with _collecting(batch) as collected:
        for intake, comment in zip(replies, comments, strict=True):
            ticket = intake.routed_ticket()
            actions.note_refused(ticket, intake.refused)
            actions.finish(intake.message, InboundStatus.DONE, "reply", ticket, comment)
        _write_collected(collected)


def _write_replies(batch) -> None:
    """Write the waiting replies with services.add_comments(). Their rows join the batch's
    finished ones (one UPDATE in _write_group)."""
    replies, batch.replies = batch.replies, []
    if replies:
        _write_waiting(batch, replies, _add_replies, RouteKind.REPLY)


def _write_group(batch) -> None:
    """Open the group's tickets at once, the waiting replies first; then update the rows of
    the finished messages in one UPDATE."""
    _write_replies(batch)
    group, batch.group = batch.group, []
    if group:
        _write_waiting(batch, group, _open_group, RouteKind.NEW)
    finished, batch.finished = batch.finished, []
    if any(m.ticket_id is not None for m in finished):
        batch.threads = None  # rows now name their tickets (threading by In-Reply-To)
    if finished:
        bulk_update(InboundMessage, finished, SAVED_FIELDS)


def _open_group(batch, group: list[Intake]) -> None:
    _prefetch_ack_counts(batch, {intake.routed_sender().email for intake in group})
    with _collecting(batch) as collected:
        tickets = services.open_tickets([actions.ticket_spec(intake) for intake in group])
        for intake, ticket in zip(group, tickets, strict=True):
            actions.after_opening(intake, ticket)
        _write_collected(collected)


@contextlib.contextmanager
def _collecting(batch):
    """While the block runs, actions collect their AutoReply rows, mails and notes."""
    batch.collected = batch_cache.Collected()
    try:
        yield batch.collected
    finally:
        batch.collected = None


def _write_collected(collected: batch_cache.Collected) -> None:
    AutoReply.objects.bulk_create(collected.auto_replies)
    if collected.notes:
        services.add_system_notes(collected.notes, channel=Channel.EMAIL)
    send_ticket_mails(collected.mails)


def _claim_many(pks: list[int]) -> dict[int, InboundMessage]:
    """The batch's rows, locked; processable ones may be processed by this batch."""
    rows = InboundMessage.objects.filter(pk__in=pks).order_by("pk")
    if connection.features.has_select_for_update:
        return {m.pk: m for m in rows.select_for_update()}
    # SQLite: the compare-and-swap UPDATE of process() takes the database's write lock.
    rows.filter(status__in=PROCESSABLE).update(status=InboundStatus.PROCESSING)
    return {m.pk: m for m in rows}


def _prefetch_senders(batch: batch_cache.BatchCache, messages) -> None:
    """The batch's known senders in one query (the index on UPPER(email) serves it)."""
    wanted = {
        address.lower()
        for m in messages
        if m.status in PROCESSABLE and (address := routing.sender_address(m))
    }
    if not wanted:
        return
    users = get_user_model().objects.annotate(email_upper=Upper("email"))
    users = users.filter(email_upper__in={a.upper() for a in wanted}, is_active=True)
    users = users.select_related("organization__contract__plan").order_by("-is_staff", "id")
    cache = batch.users
    for user in users:
        # The first by (-is_staff, id), as routing.known_user orders; an address matching no
        # one here is left to known_user's own lookup.
        if user.email.lower() in wanted:
            cache.setdefault(user.email.lower(), user)


def _prefetch_ack_counts(batch, addresses) -> None:
    """The acknowledgements sent within the window to the group's senders, in one query."""
    counts = batch.auto_replies
    kind = AutoReply.Kind.ACK
    wanted = {a for a in addresses if a and (a, kind) not in counts}
    if not wanted:
        return
    since = timezone.now() - actions.AUTO_REPLY_WINDOWS[kind]
    rows = AutoReply.objects.filter(address__in=wanted, kind=kind, sent_at__gte=since)
    found = dict(rows.values_list("address").annotate(n=Count("id")).order_by())
    for address in wanted:
        counts[address, kind] = found.get(address, 0)

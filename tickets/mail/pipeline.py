"""Processing of a stored inbound message: loops out, route, thread, ticket or comment, ack.

process() is what every transport calls after store() for one message: the LMTP listener, the
anymail webhook receiver, the Celery task and the admin's "retry" action. process_many() is its
batch form, for ingest_email with several files, the IMAP poller, the Celery batch task and bulk
imports: the same handling, one transaction per batch instead of one per message.
"""

import contextvars
import copy
import datetime
import logging
import re
import traceback
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Count, F
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.crypto import get_random_string

from accounts.services import organization_for_email
from portal.db import bulk_update
from portal.errors import ServiceError
from tickets import services
from tickets.limits import mail_sender_over_limit
from tickets.models import (
    REFERENCE_RE,
    Channel,
    Comment,
    OutboundMessage,
    Priority,
    Status,
    Ticket,
    pk_from_reference,
)
from tickets.outbound import mail_domain, send_ticket_mail, send_ticket_mails
from tickets.validators import MAX_ATTACHMENTS_PER_MESSAGE, check_attachment

from . import parse
from .models import PROCESSABLE, AutoReply, InboundMessage, InboundStatus
from .reply_tokens import read_token
from .trim import trim_reply

log = logging.getLogger("tickets.mail")

SUBJECT_REFERENCE_RE = re.compile(rf"\[({REFERENCE_RE.pattern})\]", REFERENCE_RE.flags)
ACKS_PER_HOUR = 5
SAVED_FIELDS = [
    "status",
    "reason",
    "ticket",
    "comment",
    "html",
    "processed_at",
    "error",
    "traceback",
    "attempts",
]
BATCH_SIZE = 100


@dataclass
class Intake:
    """What processing learns about one message; pipeline functions fill it in."""

    message: InboundMessage
    env: parse.Envelope
    body: parse.Content
    address: str = ""
    sender: object = None
    organization: object = None
    ticket: object = None
    queue: str = ""
    files: list = field(default_factory=list)
    refused: list = field(default_factory=list)
    # Set only by release_held(): a member of staff vouched for a held message.
    vouched: bool = False


def process(pk: int) -> InboundMessage:
    """Process one stored message; never raises.

    1. Claim the row inside the transaction (SELECT … FOR UPDATE, or a compare-and-swap
       UPDATE on SQLite) and re-check its status under the lock: a concurrent second
       delivery or retry waits, then finds it done and does nothing.
    2. Handle it; every write (ticket, comment, contact, outbound mail row) shares the
       transaction, so a failure leaves nothing half-done.
    3. On an exception, roll back and record the error and traceback in a separate
       transaction: the message stays stored, visible and re-processable.
    """
    try:
        with transaction.atomic():
            message = _claim(pk)
            if message.status == InboundStatus.PROCESSING:
                _handle(message)
                message.processed_at = timezone.now()
                message.error = message.traceback = ""
                message.save(update_fields=SAVED_FIELDS)
    except Exception as exc:  # noqa: BLE001 - recorded on the row, never lost
        log.exception("inbound %s failed", pk)
        InboundMessage.objects.filter(pk=pk, status__in=PROCESSABLE).update(
            status=InboundStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            traceback=traceback.format_exc()[-20000:],
            attempts=F("attempts") + 1,
            processed_at=timezone.now(),
        )
        message = InboundMessage.objects.get(pk=pk)
    log.info("inbound %s key=%s status=%s", pk, message.key, message.status)
    return message


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


def _process_batch(pks: list[int]) -> list[InboundMessage]:
    token = _BATCH.set(_BatchCache())
    try:
        with transaction.atomic():
            messages = _claim_many(pks)
            _prefetch_senders(messages.values())
            batch = _BATCH.get()
            batch.pending = [
                messages[pk] for pk in pks if pk in messages and messages[pk].status in PROCESSABLE
            ]
            for pk in pks:
                message = messages.get(pk)
                if message is not None and message.status in PROCESSABLE:
                    _take(message)
                    batch.pending = batch.pending[1:]
                elif message is not None:
                    message.__dict__.pop("raw", None)
            _write_group()
            results = [batch.results.get(pk, messages[pk]) for pk in pks if pk in messages]
    finally:
        _BATCH.reset(token)
    for message in results:
        log.info("inbound %s key=%s status=%s", message.pk, message.key, message.status)
    return results


def _take(message: InboundMessage) -> None:
    """Route one claimed message of a batch; a new ticket joins the group, the rest is handled."""
    batch = _BATCH.get()
    if batch.replies and _threads_into_replies(message):
        _write_replies()
    try:
        intake = _read(message)
        route = _route(intake, dry=True)
    except Exception:  # noqa: BLE001 - the savepoint path below records it
        intake = route = None
    finally:
        # Hold one batch's raw bytes at most: the field reloads if read again.
        message.__dict__.pop("raw", None)
    kind = route[0] if route else None
    if kind in ("ignored", "staff", "held", "flood"):
        _act(intake, route)
        message.attempts += 1
        message.processed_at = timezone.now()
        message.error = message.traceback = ""
        batch.finished.append(message)
    elif kind == "new" and not (batch.group and _has_thread_hints(intake)):
        batch.group.append(intake)
    elif kind == "reply" and not _threads_into_group(intake, route) and _comments(intake):
        batch.replies.append(intake)
    elif kind in ("quarantine", "reply") and not _threads_into_group(intake, route):
        batch.results[message.pk] = _process_claimed(message, intake, route)
    else:
        # It may thread to a ticket of the group: write the group, then route it again.
        _write_group()
        batch.results[message.pk] = _process_claimed(message, intake)


def _comments(intake: Intake) -> bool:
    """A reply that _reply() writes as a comment (not a new ticket following a closed one)."""
    return intake.sender.is_staff or not _too_old(intake.ticket)


def _threads_into_replies(message: InboundMessage) -> bool:
    """A message naming a waiting reply's Message-ID: it threads by that reply's comment."""
    ids = {message.in_reply_to, *message.references} - {""}
    return bool(ids & {intake.env.message_id for intake in _BATCH.get().replies})


def _has_thread_hints(intake: Intake) -> bool:
    env = intake.env
    return bool(SUBJECT_REFERENCE_RE.search(env.subject) or env.in_reply_to or env.references)


def _threads_into_group(intake: Intake, route) -> bool:
    """A reply found by Message-IDs that the group's messages also have, or one that opens
    a new ticket (a closed ticket's) and so takes its turn in the acknowledgement limit."""
    if route[0] != "reply":
        return False
    batch = _BATCH.get()
    ids = {intake.env.in_reply_to, *intake.env.references} - {""}
    if ids & {i.env.message_id for i in batch.group}:
        return True
    return bool(batch.group) and _too_old(intake.ticket) and not intake.sender.is_staff


def _write_replies() -> None:
    """Write the waiting replies with services.add_comments(); on failure, one savepoint per
    message instead. Their rows join the batch's finished ones (one UPDATE in _write_group)."""
    batch = _BATCH.get()
    replies, batch.replies = batch.replies, []
    if not replies:
        return
    batch.threads = None  # comments (with Message-IDs) get written: thread again
    try:
        with transaction.atomic():
            comments = services.add_comments([_comment_spec(intake) for intake in replies])
            for intake, comment in zip(replies, comments, strict=True):
                _note_refused(intake.ticket, intake.refused)
                _finish(intake.message, InboundStatus.DONE, "reply", intake.ticket, comment)
    except Exception:  # noqa: BLE001 - each message is tried alone below
        log.exception("inbound replies of %d failed; one message at a time", len(replies))
        batch.clear()
        for intake in replies:
            message = intake.message
            batch.results[message.pk] = _process_claimed(message, intake, ("reply", ""))
    else:
        now = timezone.now()
        for intake in replies:
            message = intake.message
            message.attempts += 1
            message.processed_at = now
            message.error = message.traceback = ""
            batch.finished.append(message)


def _write_group() -> None:
    """Open the group's tickets at once; on failure, one savepoint per message instead.
    The waiting replies are written first."""
    _write_replies()
    batch = _BATCH.get()
    group, batch.group = batch.group, []
    if group:
        batch.threads = None  # tickets and their acknowledgements get written
        try:
            with transaction.atomic():
                _open_group(group)
        except Exception:  # noqa: BLE001 - each message is tried alone below
            log.exception("inbound group of %d failed; one message at a time", len(group))
            batch.clear()
            for intake in group:
                message = intake.message
                batch.results[message.pk] = _process_claimed(message, intake, ("new", ""))
        else:
            now = timezone.now()
            for intake in group:
                message = intake.message
                message.attempts += 1
                message.processed_at = now
                message.error = message.traceback = ""
                batch.finished.append(message)
    finished, batch.finished = batch.finished, []
    if any(m.ticket_id is not None for m in finished):
        batch.threads = None  # rows now name their tickets (threading by In-Reply-To)
    if finished:
        bulk_update(InboundMessage, finished, SAVED_FIELDS)


def _open_group(group: list[Intake]) -> None:
    batch = _BATCH.get()
    _prefetch_ack_counts({intake.sender.email for intake in group})
    batch.collected = ([], [])
    try:
        tickets = services.open_tickets([_ticket_spec(intake) for intake in group])
        for intake, ticket in zip(group, tickets, strict=True):
            _after_opening(intake, ticket)
        auto_replies, mails = batch.collected
        AutoReply.objects.bulk_create(auto_replies)
        send_ticket_mails(mails)
    finally:
        batch.collected = None


def _claim_many(pks: list[int]) -> dict[int, InboundMessage]:
    """The batch's rows, locked; processable ones may be processed by this batch."""
    rows = InboundMessage.objects.filter(pk__in=pks).order_by("pk")
    if connection.features.has_select_for_update:
        return {m.pk: m for m in rows.select_for_update()}
    # SQLite: the compare-and-swap UPDATE of process() takes the database's write lock.
    rows.filter(status__in=PROCESSABLE).update(status=InboundStatus.PROCESSING)
    return {m.pk: m for m in rows}


def _prefetch_senders(messages) -> None:
    """The batch's known senders in one query (the index on UPPER(email) serves it)."""
    wanted = {
        address.lower()
        for m in messages
        if m.status in PROCESSABLE and (address := m.from_address or m.envelope_from.lower())
    }
    if not wanted:
        return
    users = get_user_model().objects.annotate(email_upper=Upper("email"))
    users = users.filter(email_upper__in={a.upper() for a in wanted}, is_active=True)
    users = users.select_related("organization__contract__plan").order_by("-is_staff", "id")
    cache = _BATCH.get().users
    for user in users:
        # The first by (-is_staff, id), as _known_user orders; an address matching no one
        # here is left to _known_user's own lookup.
        if user.email.lower() in wanted:
            cache.setdefault(user.email.lower(), user)


def _process_claimed(message: InboundMessage, intake=None, route=None) -> InboundMessage:
    """One claimed message in its own savepoint; a failure is recorded, never raised.

    intake, route: what the batch already read and decided (route again if no route).
    """
    claimed_attempts = message.attempts
    try:
        with transaction.atomic():
            message.status = InboundStatus.PROCESSING
            message.attempts = claimed_attempts + 1
            _handle(message, intake, route)
            message.processed_at = timezone.now()
            message.error = message.traceback = ""
            message.save(update_fields=SAVED_FIELDS)
    except Exception as exc:  # noqa: BLE001 - recorded on the row, never lost
        log.exception("inbound %s failed", message.pk)
        # The savepoint is gone and with it anything cached from inside it (a new contact).
        _BATCH.get().clear()
        InboundMessage.objects.filter(pk=message.pk, status__in=PROCESSABLE).update(
            status=InboundStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            traceback=traceback.format_exc()[-20000:],
            attempts=F("attempts") + 1,
            processed_at=timezone.now(),
        )
        message = InboundMessage.objects.get(pk=message.pk)
    _BATCH.get().threads = None  # it wrote alone: what threads where may have changed
    return message


class _BatchCache:
    """What one batch may remember between its messages; cleared when one fails.

    users: address → active user (or None), so a sender writing many messages is looked up once.
    auto_replies: (address, kind) → automatic mails of the kind sent within its window; rows
    only get added within a batch, so counting on from the database's answer stays exact.
    group: new tickets waiting to be opened together; replies: replies waiting to be written
    together (services.add_comments); finished: handled messages whose rows
    wait for one UPDATE; results: rows handled alone (re-read after a failure);
    collected: while the group is written, its AutoReply rows and mails to write at once.
    pending: the batch's processable messages not routed yet (the current one first);
    threads: the threading candidates of the pending messages (_prefetch_threads), or None
    once anything was written that may change where a message threads (fetched again then).
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


_BATCH: contextvars.ContextVar[_BatchCache | None] = contextvars.ContextVar(
    "mail_batch", default=None
)


def _claim(pk: int) -> InboundMessage:
    """The row, locked, with status PROCESSING if this call may process it."""
    if connection.features.has_select_for_update:
        message = InboundMessage.objects.select_for_update().get(pk=pk)
        if message.status in PROCESSABLE:
            message.status = InboundStatus.PROCESSING
            message.attempts += 1
        return message
    # SQLite has no row locks: a compare-and-swap UPDATE takes the write lock first.
    InboundMessage.objects.filter(pk=pk, status__in=PROCESSABLE).update(
        status=InboundStatus.PROCESSING, attempts=F("attempts") + 1
    )
    return InboundMessage.objects.get(pk=pk)


def _handle(message: InboundMessage, intake=None, route=None) -> None:
    intake = intake or _read(message)
    _act(intake, route or _route(intake))


def _read(message: InboundMessage) -> Intake:
    raw = bytes(message.raw)
    msg = parse.parsed(message.pk, raw)
    intake = Intake(message, _envelope(message, msg), parse.content(msg, raw))
    message.html = intake.body.html
    return intake


def _route(intake: Intake, *, dry: bool = False) -> tuple[str, str]:
    """What to do with the message → (kind, reason); reads only, except that a sender from a
    client's domain becomes a contact (with dry=True: kind "contact", nothing created)."""
    message = intake.message
    reason = _loop_reason(intake)
    if reason:
        return "ignored", reason
    intake.queue = _queue(message)
    address = intake.address = intake.env.from_address or message.envelope_from.lower()
    intake.sender = _known_user(address)
    if intake.sender is None:
        organization = organization_for_email(address) if address else None
        if organization is None:
            return "quarantine", "unknown sender"
        if dry:
            return "contact", ""
        intake.sender = _create_contact(address, intake.env.from_name, organization)
    intake.organization = intake.sender.organization
    _split_attachments(intake)
    intake.ticket = _thread(intake)
    if intake.sender.is_staff:
        return _route_staff(intake)
    if intake.ticket is not None:
        return "reply", ""
    if intake.organization is None:
        return "quarantine", "sender has no organization"
    if mail_sender_over_limit(address, message.pk):
        return "flood", "too many new tickets from this sender in the last hour"
    return "new", ""


def _route_staff(intake: Intake) -> tuple[str, str]:
    """A From: header naming staff proves nothing (spec 8): the message must also reach a
    reply address signed for this staff member and this ticket (reply_tokens), or be vouched
    for in the admin; otherwise it is held for review and changes nothing."""
    tickets = _token_tickets(intake.message, intake.sender)
    if intake.ticket is None and len(tickets) == 1:
        intake.ticket = Ticket.objects.select_related("organization").filter(pk=tickets[0]).first()
    if intake.ticket is None:
        return "staff", "staff mail about no ticket"
    if intake.vouched or intake.ticket.pk in tickets:
        return "reply", ""
    intake.ticket = None
    return "held", "staff address without its signed reply address"


def _token_tickets(message: InboundMessage, user) -> list[int]:
    """The tickets named by valid reply tokens for this user among all recipients."""
    found = []
    for address in [*message.envelope_to, *message.to_addresses]:
        token = read_token(str(address))
        if token and token.user_id == user.pk and token.ticket_id not in found:
            found.append(token.ticket_id)
    return found


def release_held(pk: int) -> InboundMessage:
    """Staff vouch for a held message: it is processed as its sender's reply (admin action)."""
    with transaction.atomic():
        message = InboundMessage.objects.select_for_update().get(pk=pk)
        if message.status != InboundStatus.HELD:
            return message
        intake = _read(message)
        intake.vouched = True
        route = _route(intake)
        message.attempts += 1
        _act(intake, route)
        message.processed_at = timezone.now()
        message.save(update_fields=SAVED_FIELDS)
    return message


def _act(intake: Intake, route: tuple[str, str]) -> None:
    kind, reason = route
    message = intake.message
    if kind == "ignored":
        _finish(message, InboundStatus.IGNORED, reason)
    elif kind == "quarantine":
        _quarantine(intake, intake.address, reason)
    elif kind == "staff":
        _finish(message, InboundStatus.QUARANTINED, reason)
    elif kind == "held":
        _finish(message, InboundStatus.HELD, reason)
    elif kind == "flood":
        # Kept for staff (retry once the hour has passed); never answered: no mail storm.
        _finish(message, InboundStatus.QUARANTINED, reason)
    elif kind == "reply":
        _reply(intake, intake.ticket)
    elif kind == "new":
        _new_ticket(intake)
    else:
        raise ValueError(f"no action for route {kind!r}")


def _envelope(message: InboundMessage, msg) -> parse.Envelope:
    """The header fields store() already parsed, plus the loop markers."""
    return parse.Envelope(
        key=message.key,
        message_id="" if message.key.startswith("sha256:") else message.key,
        subject=message.subject,
        from_address=message.from_address,
        from_name=parse.display_name(msg),
        to_addresses=message.to_addresses,
        date=message.date,
        in_reply_to=message.in_reply_to,
        references=message.references,
        auto_reason=parse.auto_reason(msg, message.from_address),
        cc_addresses=parse.cc_addresses(msg),
    )


def _finish(message, status, reason="", ticket=None, comment=None) -> None:
    message.status = status
    message.reason = reason[:200]
    message.ticket = ticket
    message.comment = comment


# --- loops and routing ----------------------------------------------------------------------


def _loop_reason(intake: Intake) -> str:
    message = intake.message
    if message.envelope_from.strip() == "<>":
        return "null envelope sender (bounce)"
    if intake.env.auto_reason:
        return intake.env.auto_reason
    message_id = intake.env.message_id
    # Only ids under the product's domain can be its own (tickets.outbound.new_message_id).
    if (
        message_id.endswith(f"@{mail_domain()}>")
        and OutboundMessage.objects.filter(message_id=message_id).exists()
    ):
        return "a message this product sent"
    return ""


def local_part(address: str) -> str:
    """'Premier+acme@Example.com' → 'premier' (plus-addressing folded, case ignored)."""
    return address.rpartition("@")[0].split("+", 1)[0].strip().strip("<>\"'").lower()


def _queue(message: InboundMessage) -> str:
    """The plan slug of the first intake address among the recipients ('' when none)."""
    intake = {k.lower(): v for k, v in settings.INTAKE_ADDRESSES.items()}
    for address in [*message.envelope_to, *message.to_addresses]:
        slug = intake.get(local_part(str(address)))
        if slug:
            return slug
    return ""


def _known_user(address: str):
    if not address:
        return None
    batch = _BATCH.get()
    if batch is not None and address.lower() in batch.users:
        return batch.users[address.lower()]
    users = get_user_model().objects.filter(email__iexact=address, is_active=True)
    users = users.select_related("organization__contract__plan")
    user = users.order_by("-is_staff", "id").first()
    if batch is not None:
        batch.users[address.lower()] = user
    return user


def _create_contact(address: str, name: str, organization):
    """A contact for a sender from a client organization's domain: no usable password."""
    User = get_user_model()
    base = re.sub(r"[^\w.@+-]", "", address)[:140] or "contact"
    username = base
    while User.objects.filter(username__iexact=username).exists():
        username = f"{base[:130]}-{get_random_string(6).lower()}"
    first, _, last = (name or "").partition(" ")
    user = User(username=username, email=address, organization=organization)
    user.first_name, user.last_name = first[:150], last[:150]
    user.set_unusable_password()
    user.save()
    batch = _BATCH.get()
    if batch is not None:
        batch.users[address.lower()] = user
    log.info("created contact %s for %s", username, organization)
    return user


AUTO_REPLY_WINDOWS = {
    AutoReply.Kind.ACK: datetime.timedelta(hours=1),
    AutoReply.Kind.QUARANTINE: datetime.timedelta(hours=24),
}


def _may_auto_reply(address: str, kind: str, limit: int) -> bool:
    """At most `limit` automatic mails of a kind per address per window (no mail storms)."""
    now = timezone.now()
    window = AUTO_REPLY_WINDOWS[kind]
    batch = _BATCH.get()
    if batch is None:
        sent = AutoReply.objects.filter(address=address, kind=kind, sent_at__gte=now - window)
        if sent.count() >= limit:
            return False
        AutoReply.objects.create(address=address, kind=kind, sent_at=now)
        return True
    counts = batch.auto_replies
    if (address, kind) not in counts:
        sent = AutoReply.objects.filter(address=address, kind=kind, sent_at__gte=now - window)
        counts[address, kind] = sent.count()
    if counts[address, kind] >= limit:
        return False
    counts[address, kind] += 1
    row = AutoReply(address=address, kind=kind, sent_at=now)
    if batch.collected is not None:
        batch.collected[0].append(row)
    else:
        row.save()
    return True


def _prefetch_ack_counts(addresses) -> None:
    """The acknowledgements sent within the window to the group's senders, in one query."""
    counts = _BATCH.get().auto_replies
    kind = AutoReply.Kind.ACK
    wanted = {a for a in addresses if a and (a, kind) not in counts}
    if not wanted:
        return
    since = timezone.now() - AUTO_REPLY_WINDOWS[kind]
    rows = AutoReply.objects.filter(address__in=wanted, kind=kind, sent_at__gte=since)
    found = dict(rows.values_list("address").annotate(n=Count("id")).order_by())
    for address in wanted:
        counts[address, kind] = found.get(address, 0)


def _send(**mail) -> None:
    """send_ticket_mail(), or collected to be recorded with the group's other mails."""
    batch = _BATCH.get()
    if batch is not None and batch.collected is not None:
        batch.collected[1].append(mail)
    else:
        send_ticket_mail(**mail)


def _thread_headers(env: parse.Envelope) -> dict:
    if not env.message_id:
        return {}
    refs = [r for r in env.references if r != env.message_id][-10:] + [env.message_id]
    return {"In-Reply-To": env.message_id, "References": " ".join(refs)}


def _quarantine(intake: Intake, address: str, reason: str) -> None:
    # Sent directly, not through the notifications outbox: it concerns no ticket and goes to
    # an address that is no user of the portal (no preferences, no language, no thread).
    _finish(intake.message, InboundStatus.QUARANTINED, reason)
    if not address or not _may_auto_reply(address, AutoReply.Kind.QUARANTINE, 1):
        return
    body = (
        "Hello,\n\n"
        "Thank you for your message. We could not match your address to a customer account, "
        "so it has been set aside for our support team to review.\n\n"
        "If your organization has a support contract, please ask your organization's "
        "administrator or your Customer Support Manager to add you as a contact, or sign in "
        f"to the support portal at {settings.SITE_URL} and open the ticket there.\n\n"
        "This is an automatic reply; replies to it are not monitored.\n\n— eService support\n"
    )
    _send(
        ticket=None,
        to=[address],
        subject=f"Re: {intake.env.subject or 'your message'}"[:300],
        body=body,
        kind="quarantine",
        auto_submitted="auto-replied",
        headers=_thread_headers(intake.env),
    )


# --- threading --------------------------------------------------------------------------------


@dataclass
class _Threads:
    """Threading candidates of a batch's pending messages, read in four queries.

    refs: the subject references' pks looked up; ids: the Message-IDs looked up;
    tickets: pk → ticket (organization selected), for both; by_id: Message-ID → ticket pks
    (OutboundMessage, InboundMessage and Comment rows naming it).
    """

    refs: set = field(default_factory=set)
    ids: set = field(default_factory=set)
    tickets: dict = field(default_factory=dict)
    by_id: dict = field(default_factory=dict)


def _thread_hints(subject: str, in_reply_to: str, references) -> tuple[int | None, list[str]]:
    """What _thread looks a message up by: its subject reference's pk, its Message-IDs."""
    match = SUBJECT_REFERENCE_RE.search(subject)
    pk = pk_from_reference(match.group(1)) if match else None
    return pk, [i for i in [in_reply_to, *references] if i]


def _prefetch_threads(messages) -> _Threads:
    """The tickets the messages may thread to: by subject reference, then by Message-IDs
    (one query per source), then the tickets themselves; no tenancy filter (_thread's)."""
    threads = _Threads()
    for m in messages:
        pk, ids = _thread_hints(m.subject, m.in_reply_to, m.references)
        if pk is not None:
            threads.refs.add(pk)
        threads.ids.update(ids)
    ticket_pks = set(threads.refs)
    if threads.ids:
        ids = sorted(threads.ids)
        rows = [
            *OutboundMessage.objects.filter(message_id__in=ids, ticket__isnull=False).values_list(
                "message_id", "ticket_id"
            ),
            *InboundMessage.objects.filter(key__in=ids, ticket__isnull=False).values_list(
                "key", "ticket_id"
            ),
            *Comment.objects.filter(message_id__in=ids).values_list("message_id", "ticket_id"),
        ]
        for message_id, ticket_id in rows:
            threads.by_id.setdefault(message_id, set()).add(ticket_id)
            ticket_pks.add(ticket_id)
    if ticket_pks:
        tickets = Ticket.objects.filter(pk__in=ticket_pks).select_related("organization")
        threads.tickets = {t.pk: t for t in tickets}
    return threads


def _may_thread(sender, ticket: Ticket) -> bool:
    """Ticket.objects.visible_to(sender), for one ticket already read."""
    if not sender or not sender.is_authenticated:
        return False
    if sender.is_staff:
        return True
    return sender.organization_id is not None and ticket.organization_id == sender.organization_id


def _thread_cached(intake: Intake):
    """_thread() from the batch's prefetched candidates: (found, ticket); found is False
    when the message's hints are not all in the cache (then _thread queries as alone)."""
    batch = _BATCH.get()
    if batch is None:
        return False, None
    env, sender = intake.env, intake.sender
    pk, ids = _thread_hints(env.subject, env.in_reply_to, env.references)
    if pk is None and not ids:
        return True, None
    if batch.threads is None:
        batch.threads = _prefetch_threads(batch.pending)
    threads = batch.threads
    if (pk is not None and pk not in threads.refs) or not threads.ids.issuperset(ids):
        return False, None
    # Each message gets its own instance, as a query of its own would give it.
    if pk is not None:
        ticket = threads.tickets.get(pk)
        if ticket is not None and _may_thread(sender, ticket):
            return True, copy.copy(ticket)
    found = {t for i in ids for t in threads.by_id.get(i, ())}
    tickets = [threads.tickets[t] for t in found if t in threads.tickets]
    tickets = [t for t in tickets if _may_thread(sender, t)]
    if not tickets:
        return True, None
    return True, copy.copy(max(tickets, key=lambda t: (t.received_at, t.pk)))


def _thread(intake: Intake) -> Ticket | None:
    """The ticket this message answers, if the sender may write to it (tenancy guard).

    In a batch, from the candidates prefetched for its pending messages (_thread_cached):
    the same tenancy rule and precedence, without a query per message."""
    cached, ticket = _thread_cached(intake)
    if cached:
        return ticket
    env, sender = intake.env, intake.sender
    candidates = Ticket.objects.visible_to(sender).select_related("organization")
    match = SUBJECT_REFERENCE_RE.search(env.subject)
    if match:
        ticket = candidates.by_reference(match.group(1)).first()
        if ticket is not None:
            return ticket
    ids = [i for i in [env.in_reply_to, *env.references] if i]
    if not ids:
        return None
    ticket_ids = list(
        OutboundMessage.objects.filter(message_id__in=ids, ticket__isnull=False).values_list(
            "ticket_id", flat=True
        )
    )
    ticket_ids += InboundMessage.objects.filter(key__in=ids, ticket__isnull=False).values_list(
        "ticket_id", flat=True
    )
    ticket_ids += Comment.objects.filter(message_id__in=ids).values_list("ticket_id", flat=True)
    return candidates.filter(pk__in=ticket_ids).order_by("-received_at", "-id").first()


def _reopen_window() -> datetime.timedelta:
    return datetime.timedelta(days=getattr(settings, "EMAIL_REOPEN_DAYS", 14))


def _too_old(ticket: Ticket) -> bool:
    """Closed, or resolved before the reopen window: a reply opens a new, linked ticket."""
    return ticket.status == Status.CLOSED or (
        ticket.status == Status.RESOLVED
        and ticket.resolved_at is not None
        and ticket.resolved_at < timezone.now() - _reopen_window()
    )


def _reply(intake: Intake, ticket: Ticket) -> None:
    if _too_old(ticket) and not intake.sender.is_staff:
        return _new_ticket(intake, follows=ticket)
    comment = services.add_comment(**_comment_spec(intake))
    _note_refused(ticket, intake.refused)
    _finish(intake.message, InboundStatus.DONE, "reply", ticket=ticket, comment=comment)


def _comment_spec(intake: Intake) -> dict:
    """services.add_comment()'s arguments for a reply."""
    return dict(
        ticket=intake.ticket,
        author=intake.sender,
        body=trim_reply(intake.body.text) or "(no text)",
        channel=Channel.EMAIL,
        files=intake.files,
        at=min(intake.message.received_at, timezone.now()),
        message_id=intake.env.message_id,
        cc=intake.env.cc_addresses,
    )


# --- new tickets ------------------------------------------------------------------------------


def _split_attachments(intake: Intake) -> None:
    intake.files, intake.refused = [], []
    for attachment in intake.body.attachments:
        try:
            check_attachment(attachment.name, attachment.size)
        except ServiceError as exc:
            intake.refused.append((attachment.name, exc.message))
            continue
        if len(intake.files) >= MAX_ATTACHMENTS_PER_MESSAGE:
            intake.refused.append((attachment.name, "too many files in one message"))
            continue
        intake.files.append(ContentFile(attachment.data, name=attachment.name))


def _note_refused(ticket: Ticket, refused: list) -> None:
    """An internal note: a refused attachment is never silently dropped."""
    if refused:
        lines = "\n".join(f"- {name}: {why}" for name, why in refused)
        _system_note(ticket, f"Attachments refused from the email:\n{lines}")


def _system_note(ticket: Ticket, text: str) -> Comment:
    # services.add_comment requires a staff author for internal notes; the pipeline has none.
    return services.add_system_note(ticket, text, channel=Channel.EMAIL)


def _ticket_spec(intake: Intake) -> dict:
    """services.open_ticket()'s arguments for the message."""
    env = intake.env
    return dict(
        organization=intake.organization,
        reporter=intake.sender,
        subject=_strip_reference(env.subject) or "(no subject)",
        description=intake.body.text or "(no text)",
        priority=Priority.P0 if parse.priority_flag(env.subject) else None,
        channel=Channel.EMAIL,
        received_at=min(intake.message.received_at, timezone.now()),
        files=intake.files,
        cc=intake.env.cc_addresses,
        mail_ack=_acknowledge(intake),
    )


def _new_ticket(intake: Intake, follows: Ticket | None = None) -> None:
    ticket = services.open_ticket(**_ticket_spec(intake), follows=follows)
    _after_opening(intake, ticket, follows)


def _after_opening(intake: Intake, ticket: Ticket, follows: Ticket | None = None) -> None:
    notes = []
    if follows is not None:
        notes.append(f"Follows {follows.reference}, which was {follows.status}.")
    plan = _plan_slug(intake.organization)
    if intake.queue and plan and intake.queue != plan:
        notes.append(f"Sent to the {intake.queue} address; the contract's plan is {plan}.")
    if notes:
        _system_note(ticket, "\n".join(notes))
    _note_refused(ticket, intake.refused)
    _finish(intake.message, InboundStatus.DONE, "new ticket", ticket=ticket)


def _strip_reference(subject: str) -> str:
    return SUBJECT_REFERENCE_RE.sub("", subject).strip()


def _plan_slug(organization) -> str:
    contract = getattr(organization, "contract", None)
    return contract.plan.slug if contract else ""


def _acknowledge(intake: Intake) -> dict | None:
    """What the acknowledgement of a new ticket needs, or None past the sender's limit.

    The notifications consumer writes it to the outbox with the ticket's other mail (in
    the recipient's language, deadline in the region's local time); it answers in the
    thread of the client's message, as an automatic reply, naming the refused attachments."""
    if not _may_auto_reply(intake.sender.email, AutoReply.Kind.ACK, ACKS_PER_HOUR):
        return None
    return {
        "thread": _thread_headers(intake.env),
        "refused": [[name, str(why)] for name, why in intake.refused],
    }

"""What to do with an inbound message: read it, then route it (loop, quarantine, reply, new).

route() reads only (except that a sender from a client's domain becomes a contact); single
and batch processing both call it, and act on its answer with actions.act().
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import models
from django.utils import timezone

from accounts.models import Organization, User
from accounts.services import create_contact, organization_for_email
from core.errors import ServiceError
from tickets.limits import mail_sender_over_limit
from tickets.models import OutboundMessage, Status, Ticket
from tickets.outbound import mail_domain
from tickets.validators import MAX_ATTACHMENTS_PER_MESSAGE, check_attachment

from . import batch_cache, parse
from .models import InboundMessage
from .reply_tokens import read_token
from .threading import find_ticket


class RouteKind(models.TextChoices):
    IGNORED = "ignored"
    QUARANTINE = "quarantine"
    STAFF = "staff"
    HELD = "held"
    FLOOD = "flood"
    REPLY = "reply"
    NEW = "new"
    # Only with dry=True: a sender from a client's domain who would become a contact.
    CONTACT = "contact"


@dataclass
class Intake:
    """What processing learns about one message; routing and actions fill it in."""

    message: InboundMessage
    env: parse.Envelope
    body: parse.Content
    address: str = ""
    sender: User | None = None
    organization: Organization | None = None
    ticket: Ticket | None = None
    queue: str = ""
    files: list = field(default_factory=list)
    refused: list = field(default_factory=list)
    # Set only by release_held(): a member of staff vouched for a held message.
    vouched: bool = False

    def routed_sender(self) -> User:
        """The sender, which route() sets on every message it does not refuse."""
        if self.sender is None:
            raise ValueError(f"inbound message {self.message.pk} has no sender: not routed")
        return self.sender

    def routed_ticket(self) -> Ticket:
        """The ticket a reply route names."""
        if self.ticket is None:
            raise ValueError(f"inbound message {self.message.pk} names no ticket")
        return self.ticket


def read(message: InboundMessage) -> Intake:
    raw = bytes(message.raw)
    msg = parse.parsed(message.pk, raw)
    intake = Intake(message, _envelope(message, msg), parse.content(msg, raw))
    message.html = intake.body.html
    return intake


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


def route(intake: Intake, *, dry: bool = False) -> tuple[RouteKind, str]:
    """What to do with the message → (kind, reason); reads only, except that a sender from a
    client's domain becomes a contact (with dry=True: kind "contact", nothing created)."""
    reason = _loop_reason(intake)
    if reason:
        return RouteKind.IGNORED, reason
    intake.queue = _queue(intake.message)
    intake.address = sender_address(intake.message)
    refused = _find_sender(intake, dry)
    if refused:
        return refused
    sender = intake.routed_sender()
    intake.organization = sender.organization
    _split_attachments(intake)
    intake.ticket = find_ticket(intake.env, sender)
    if sender.is_staff:
        return _route_staff(intake)
    if intake.ticket is not None:
        return RouteKind.REPLY, ""
    if intake.organization is None:
        return RouteKind.QUARANTINE, "sender has no organization"
    if _sender_over_limit(intake):
        return RouteKind.FLOOD, "too many new tickets from this sender in the last hour"
    return RouteKind.NEW, ""


def _sender_over_limit(intake: Intake) -> bool:
    """tickets.limits' flood limit; in a batch, the pending messages' senders read at once."""
    batch = batch_cache.current()
    if batch is None:
        return mail_sender_over_limit(intake.address, intake.message.pk)
    if intake.message.pk not in batch.limits.read_pks:
        batch.limits.read([(sender_address(m), m.pk) for m in batch.pending])
    return batch.limits.over_limit(intake.address, intake.message.pk)


def sender_address(message: InboundMessage) -> str:
    """The address a message is from: its From: header's, else the envelope sender's."""
    return message.from_address or message.envelope_from.lower()


def _find_sender(intake: Intake, dry: bool) -> tuple[RouteKind, str] | None:
    """Set intake.sender: a known user, or a new contact from a client's domain; else the
    route that refuses the message."""
    address = intake.address
    intake.sender = known_user(address)
    if intake.sender is not None:
        return None
    organization = organization_for_email(address) if address else None
    if organization is None:
        return RouteKind.QUARANTINE, "unknown sender"
    if dry:
        return RouteKind.CONTACT, ""
    intake.sender = create_contact(address, intake.env.from_name, organization)
    batch = batch_cache.current()
    if batch is not None:
        batch.users[address.lower()] = intake.sender
    return None


def _route_staff(intake: Intake) -> tuple[RouteKind, str]:
    """A From: header naming staff proves nothing (spec 8): the message must also reach a
    reply address signed for this staff member and this ticket (reply_tokens), or be vouched
    for in the admin; otherwise it is held for review and changes nothing."""
    tickets = _token_tickets(intake.message, intake.sender)
    if intake.ticket is None and len(tickets) == 1:
        intake.ticket = Ticket.objects.select_related("organization").filter(pk=tickets[0]).first()
    if intake.ticket is None:
        return RouteKind.STAFF, "staff mail about no ticket"
    if intake.vouched or intake.ticket.pk in tickets:
        return RouteKind.REPLY, ""
    intake.ticket = None
    return RouteKind.HELD, "staff address without its signed reply address"


def _token_tickets(message: InboundMessage, user) -> list[int]:
    """The tickets named by valid reply tokens for this user among all recipients."""
    found = []
    for address in [*message.envelope_to, *message.to_addresses]:
        token = read_token(str(address))
        if token and token.user_id == user.pk and token.ticket_id not in found:
            found.append(token.ticket_id)
    return found


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


def known_user(address: str) -> User | None:
    if not address:
        return None
    batch = batch_cache.current()
    if batch is not None and address.lower() in batch.users:
        return batch.users[address.lower()]
    users = get_user_model().objects.filter(email__iexact=address, is_active=True)
    users = users.select_related("organization__contract__plan")
    user = users.order_by("-is_staff", "id").first()
    if batch is not None:
        batch.users[address.lower()] = user
    return user


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


def _reopen_window() -> datetime.timedelta:
    return datetime.timedelta(days=getattr(settings, "EMAIL_REOPEN_DAYS", 14))


def too_old(ticket: Ticket) -> bool:
    """Closed, or resolved before the reopen window: a reply opens a new, linked ticket."""
    return ticket.status == Status.CLOSED or (
        ticket.status == Status.RESOLVED
        and ticket.resolved_at is not None
        and ticket.resolved_at < timezone.now() - _reopen_window()
    )

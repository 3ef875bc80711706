"""What a routed message does: a comment, a new ticket, a quarantine reply, or only a status.

Writes go through tickets.services; the acknowledgement limit and the mails consult the
running batch's cache (batch_cache) so that a batch writes its rows at once.
"""

import datetime

from django.conf import settings
from django.utils import timezone

from tickets import services
from tickets.models import Channel, Priority, Ticket
from tickets.outbound import send_ticket_mail

from . import batch_cache, parse
from .models import AutoReply, InboundStatus
from .routing import Intake, RouteKind, too_old
from .threading import SUBJECT_REFERENCE_RE
from .trim import trim_reply

ACKS_PER_HOUR = 5
AUTO_REPLY_WINDOWS = {
    AutoReply.Kind.ACK: datetime.timedelta(hours=1),
    AutoReply.Kind.QUARANTINE: datetime.timedelta(hours=24),
}
# Routes that only set the message's status: kind → (status); the reason comes with the route.
STATUS_ONLY = {
    RouteKind.IGNORED: InboundStatus.IGNORED,
    RouteKind.STAFF: InboundStatus.QUARANTINED,
    RouteKind.HELD: InboundStatus.HELD,
    # Kept for staff (retry once the hour has passed); never answered: no mail storm.
    RouteKind.FLOOD: InboundStatus.QUARANTINED,
}


def act(intake: Intake, route: tuple[RouteKind, str]) -> None:
    kind, reason = route
    if kind in STATUS_ONLY:
        finish(intake.message, STATUS_ONLY[kind], reason)
    elif kind == RouteKind.QUARANTINE:
        _quarantine(intake, intake.address, reason)
    elif kind == RouteKind.REPLY:
        _reply(intake, intake.routed_ticket())
    elif kind == RouteKind.NEW:
        _new_ticket(intake)
    else:
        raise ValueError(f"no action for route {kind!r}")


def finish(message, status, reason="", ticket=None, comment=None) -> None:
    message.status = status
    message.reason = reason[:200]
    message.ticket = ticket
    message.comment = comment


def may_auto_reply(address: str, kind: AutoReply.Kind, limit: int) -> bool:
    """At most `limit` automatic mails of a kind per address per window (no mail storms)."""
    now = timezone.now()
    window = AUTO_REPLY_WINDOWS[kind]
    batch = batch_cache.current()
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
        batch.collected.auto_replies.append(row)
    else:
        row.save()
    return True


def _send(**mail) -> None:
    """send_ticket_mail(), or collected to be recorded with the group's other mails."""
    batch = batch_cache.current()
    if batch is not None and batch.collected is not None:
        batch.collected.mails.append(mail)
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
    finish(intake.message, InboundStatus.QUARANTINED, reason)
    if not address or not may_auto_reply(address, AutoReply.Kind.QUARANTINE, 1):
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


# --- replies ----------------------------------------------------------------------------------


def writes_comment(intake: Intake) -> bool:
    """A reply that _reply() writes as a comment (not a new ticket following a closed one)."""
    return intake.routed_sender().is_staff or not too_old(intake.routed_ticket())


def _reply(intake: Intake, ticket: Ticket) -> None:
    if not writes_comment(intake):
        return _new_ticket(intake, follows=ticket)
    comment = services.add_comment(**comment_spec(intake))
    note_refused(ticket, intake.refused)
    finish(intake.message, InboundStatus.DONE, "reply", ticket=ticket, comment=comment)


def comment_spec(intake: Intake) -> dict:
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


def note_refused(ticket: Ticket, refused: list) -> None:
    """An internal note: a refused attachment is never silently dropped."""
    if refused:
        lines = "\n".join(f"- {name}: {why}" for name, why in refused)
        _system_note(ticket, f"Attachments refused from the email:\n{lines}")


def _system_note(ticket: Ticket, text: str) -> None:
    # services.add_comment requires a staff author for internal notes; the pipeline has none.
    batch = batch_cache.current()
    if batch is not None and batch.collected is not None:
        batch.collected.notes.append((ticket, text))
    else:
        services.add_system_note(ticket, text, channel=Channel.EMAIL)


# --- new tickets ------------------------------------------------------------------------------


def ticket_spec(intake: Intake) -> dict:
    """services.open_ticket()'s arguments for the message."""
    env = intake.env
    return dict(
        organization=intake.organization,
        reporter=intake.sender,
        subject=SUBJECT_REFERENCE_RE.sub("", env.subject).strip() or "(no subject)",
        description=intake.body.text or "(no text)",
        priority=Priority.P0 if parse.priority_flag(env.subject) else None,
        channel=Channel.EMAIL,
        received_at=min(intake.message.received_at, timezone.now()),
        files=intake.files,
        cc=intake.env.cc_addresses,
        mail_ack=_acknowledge(intake),
    )


def _new_ticket(intake: Intake, follows: Ticket | None = None) -> None:
    ticket = services.open_ticket(**ticket_spec(intake), follows=follows)
    after_opening(intake, ticket, follows)


def after_opening(intake: Intake, ticket: Ticket, follows: Ticket | None = None) -> None:
    notes = []
    if follows is not None:
        notes.append(f"Follows {follows.reference}, which was {follows.status}.")
    plan = _plan_slug(intake.organization)
    if intake.queue and plan and intake.queue != plan:
        notes.append(f"Sent to the {intake.queue} address; the contract's plan is {plan}.")
    if notes:
        _system_note(ticket, "\n".join(notes))
    note_refused(ticket, intake.refused)
    finish(intake.message, InboundStatus.DONE, "new ticket", ticket=ticket)


def _plan_slug(organization) -> str:
    contract = getattr(organization, "contract", None)
    return contract.plan.slug if contract else ""


def _acknowledge(intake: Intake) -> dict | None:
    """What the acknowledgement of a new ticket needs, or None past the sender's limit.

    The notifications consumer writes it to the outbox with the ticket's other mail (in
    the recipient's language, deadline in the region's local time); it answers in the
    thread of the client's message, as an automatic reply, naming the refused attachments."""
    if not may_auto_reply(intake.routed_sender().email, AutoReply.Kind.ACK, ACKS_PER_HOUR):
        return None
    return {
        "thread": _thread_headers(intake.env),
        "refused": [[name, str(why)] for name, why in intake.refused],
    }

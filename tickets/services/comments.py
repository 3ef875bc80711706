"""Comments: public replies, internal notes, the product's own notes; one or many."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ServiceError

from ..models import Channel, Comment, Status, Ticket
from ..signals import ticket_changing
from ..validators import check_attachments
from .changes import TicketChange, apply_reopen, check_past, lock_many, record, write_changes
from .opening import add_attachment


def _check_comment(*, author, body, internal=False, files=(), **other):
    """add_comment()'s checks that need no lock: text, internal notes, attachments."""
    if not (body or "").strip() and not files:
        raise ServiceError(_("Write a message."), field="body")
    if internal and not (author and author.is_staff):
        raise ServiceError(_("Only support staff can write internal notes."), field="internal")
    check_attachments(files)


def _commenting(
    ticket,
    *,
    author,
    body,
    internal=False,
    channel=Channel.WEB,
    files=(),
    at=None,
    message_id="",
    cc=(),
    batch=None,
) -> tuple[Comment, TicketChange]:
    """One comment on a locked ticket: the unsaved comment, and the ticket's change after the
    status rules and ticket_changing (the SLA engine and escalation adjust the instance).
    batch: TicketChange.batch, when the comment is one of add_comments()'."""
    is_staff = bool(author and author.is_staff)
    if ticket.status == Status.CLOSED and not is_staff:
        raise ServiceError(_("This ticket is closed; please open a new one."), field="body")
    at = check_past(at, "at", not_before=ticket.received_at)
    comment = Comment(
        ticket=ticket,
        author=author,
        body=body or "",
        internal=internal,
        channel=channel,
        created_at=at,
        message_id=message_id,
    )
    change = TicketChange(ticket, author, "comment", at, comment=comment, batch=batch)
    if cc:
        change.context["cc"] = list(cc)  # the mail's Cc: (the notifications consumer)
    if not internal:
        _after_public_comment(change, is_staff)
    ticket_changing.send(sender=Ticket, change=change)
    return comment, change


@transaction.atomic
def add_comments(specs: list[dict]) -> list[Comment]:
    """Batch form of add_comment(): the same rules per comment, one lock of all the tickets,
    one INSERT of the comments, one UPDATE of the changed tickets, one INSERT of the events.

    Each spec holds add_comment()'s arguments, the ticket included. Comments to the same
    ticket apply in order on one locked instance, as one call after the other would; one
    invalid spec raises and writes nothing. Attachments are saved one file at a time.
    """
    for spec in specs:
        _check_comment(**spec)
    locked = lock_many(spec["ticket"] for spec in specs)
    batch = {"tickets": locked}
    comments, changes = [], []
    for spec in specs:
        comment, change = _commenting(**{**spec, "ticket": locked[spec["ticket"].pk]}, batch=batch)
        comments.append(comment)
        changes.append(change)
    Comment.objects.bulk_create(comments)
    for spec, comment in zip(specs, comments, strict=True):
        for f in spec.get("files", ()):
            add_attachment(comment.ticket, f, uploaded_by=spec["author"], comment=comment)
    write_changes(changes)
    return comments


def add_comment(
    ticket,
    *,
    author,
    body,
    internal=False,
    channel=Channel.WEB,
    files=(),
    at=None,
    message_id="",
    cc=(),
) -> Comment:
    """A public reply or an internal note. A staff reply is the first response if none yet."""
    spec = dict(
        ticket=ticket,
        author=author,
        body=body,
        internal=internal,
        channel=channel,
        files=files,
        at=at,
        message_id=message_id,
        cc=cc,
    )
    return add_comments([spec])[0]


def add_system_note(ticket, text: str, *, channel=Channel.EMAIL) -> Comment:
    """An internal note the product writes itself (no author): the mail intake's refused
    attachments, a follow-up link. Recorded like every other change; never sent to clients."""
    return add_system_notes([(ticket, text)], channel=channel)[0]


@transaction.atomic
def add_system_notes(notes: list[tuple], *, channel=Channel.EMAIL) -> list[Comment]:
    """Batch form of add_system_note(): notes are (ticket, text) pairs, several to one ticket
    included, written in one INSERT and recorded together (the mail intake's batches)."""
    now = timezone.now()
    comments = [
        Comment(
            ticket=ticket, author=None, body=text, internal=True, channel=channel, created_at=now
        )
        for ticket, text in notes
    ]
    Comment.objects.bulk_create(comments)
    record([TicketChange(c.ticket, None, "note", now, comment=c) for c in comments])
    return comments


def _after_public_comment(change: TicketChange, by_staff: bool) -> None:
    ticket = change.ticket
    if by_staff:
        if ticket.first_response_at is None:
            change.set("first_response_at", change.at, action="first_response")
        if ticket.status == Status.NEW:
            change.set("status", Status.OPEN)
    elif ticket.status == Status.PENDING:
        change.set("status", Status.OPEN, action="customer_replied")
    elif ticket.status == Status.RESOLVED:
        apply_reopen(change, "", cause="customer_replied")

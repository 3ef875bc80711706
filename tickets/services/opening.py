"""Opening tickets, one or many, and their attachments."""

from functools import cache

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.db import json_rows, json_source, mark_saved
from core.errors import ServiceError

from ..models import Attachment, Channel, Priority, Ticket, TicketEvent
from ..signals import ticket_changing
from ..validators import check_attachment, check_attachments, clean_filename
from .changes import TicketChange, check_past, record


def _opening(
    *,
    organization,
    reporter,
    subject,
    description,
    priority=None,
    feature=None,
    channel=Channel.WEB,
    received_at=None,
    user_agent="",
    files=(),
    actor=None,
    follows=None,
    cc=(),
    mail_ack=None,
) -> TicketChange:
    """Validate one request to open a ticket; the unsaved ticket and its "opened" event."""
    actor = actor or reporter
    received_at = check_past(received_at, "received_at")
    check_reporter(organization, reporter, actor)
    _check_opening(subject, description, files)
    ticket = Ticket(
        organization=organization,
        reporter=reporter,
        subject=subject.strip()[:200],
        description=description,
        priority=priority or Priority.P2,
        suggested_priority=priority,
        feature=feature or "other",
        channel=channel,
        received_at=received_at,
        user_agent=(user_agent or "")[:500],
        follows=follows,
    )
    if priority and actor and actor.is_staff:
        ticket.triaged_at = timezone.now()
    change = TicketChange(ticket, actor, "opened", timezone.now())
    _mail_context(change, cc, mail_ack)
    change.event("opened", params={"channel": ticket.channel}, public=True)
    return change


def check_reporter(organization, reporter, actor=None) -> None:
    """A ticket's reporter, when it has one, is a client of the ticket's organization, or
    the member of staff who files it on their own account (the portal's staff filing)."""
    if reporter is None:
        return
    if reporter.is_staff and reporter == actor:
        return
    if reporter.is_staff or reporter.organization_id != organization.pk:
        raise ServiceError(_("This user does not belong to the organization."), field="reporter")


def find_reporter(organization, value: str) -> User:
    """The client of the organization with this email (or username): who called, as staff
    type it when they log a call."""
    value = value.strip()
    clients = User.objects.filter(is_staff=False, organization=organization)
    lookup = {"email__iexact": value} if "@" in value else {"username": value}
    reporter = clients.filter(**lookup).order_by("pk").first()
    if reporter is None:
        raise ServiceError(_("This user does not belong to the organization."), field="reporter")
    return reporter


def _check_opening(subject, description, files) -> None:
    if not (subject or "").strip():
        raise ServiceError(_("A subject is required."), field="subject")
    if not (description or "").strip():
        raise ServiceError(_("Describe the anomaly."), field="description")
    check_attachments(files)


def _mail_context(change: TicketChange, cc, mail_ack) -> None:
    """What the mail intake tells the consumers about a ticket it opens."""
    if cc:
        change.context["cc"] = list(cc)  # the mail's Cc: (the notifications consumer)
    if mail_ack is not None:
        # The mail intake's acknowledgement (threading, refused attachments): the
        # notifications consumer writes it to the outbox like every other channel's.
        change.context["mail_ack"] = mail_ack


@transaction.atomic
def open_tickets(specs: list[dict]) -> list[Ticket]:
    """Batch form of open_ticket(): the same rules per ticket, one INSERT of all the tickets
    and one of all their events (bulk imports and the mail intake's batches).

    Each spec holds open_ticket()'s keyword arguments. Every ticket is validated and goes
    through ticket_changing (SLA deadlines, next escalation check) before anything is written;
    one invalid spec raises and writes nothing.
    """
    changes = [_opening(**spec) for spec in specs]
    for change in changes:
        ticket_changing.send(sender=Ticket, change=change)
    if connection.vendor == "postgresql":
        tickets = _insert_with_events(changes)
        record(changes, insert=_written)
    else:
        tickets = Ticket.objects.bulk_create([change.ticket for change in changes])
        record(changes)
    for spec, ticket in zip(specs, tickets, strict=True):
        for f in spec.get("files", ()):
            add_attachment(ticket, f, uploaded_by=spec["reporter"])
    return tickets


def _insert_with_events(changes: list[TicketChange]) -> list[Ticket]:
    """PostgreSQL: the new tickets and their events in one statement (_opening_sql), one
    round trip where bulk_create() then record()'s insert took two. Each table's rows go as
    one JSON parameter (core.db.json_rows): the client-side binding renders every parameter in
    Python, and one array per column cost a sixth of an API creation. The events keep their
    order; the tickets get their pks."""
    tickets = [change.ticket for change in changes]
    events = [(n, event) for n, c in enumerate(changes, 1) for event in c.events]
    params = [
        json_rows(Ticket, tickets),
        json_rows(TicketEvent, [e for _n, e in events], ("ticket",), [n for n, _e in events]),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_opening_sql(), params)
        pks = [pk for (pk,) in cursor.fetchall()]
    for ticket, pk in zip(tickets, pks, strict=True):
        mark_saved(ticket, pk)
    return tickets


def _written(events) -> None:
    """record()'s insert for events _insert_with_events() already wrote."""


@cache
def _opening_sql() -> str:
    """Tickets from one JSON array, inserted in its order (pk order) and numbered so; each
    event names its ticket's number, and is inserted in the order it was made."""
    qn = connection.ops.quote_name

    pk = qn(str(Ticket._meta.pk.column))
    ticket_names, ticket_values, tickets = json_source(Ticket)
    event_names, event_values, events = json_source(TicketEvent, ("ticket",), '"_n" bigint')
    ticket_column = qn(str(TicketEvent._meta.get_field("ticket").column))
    # Only identifiers and types from the models' metadata are interpolated.
    return (
        f"WITH t AS (INSERT INTO {qn(Ticket._meta.db_table)} ({ticket_names}) "  # noqa: S608
        f"SELECT {ticket_values} FROM {tickets} ORDER BY v._pos RETURNING {pk}), "
        f"n AS (SELECT {pk}, row_number() OVER (ORDER BY {pk}) AS number FROM t), "
        f"e AS (INSERT INTO {qn(TicketEvent._meta.db_table)} ({ticket_column}, {event_names}) "
        f"SELECT n.{pk}, {event_values} FROM {events} JOIN n ON n.number = v._n "
        f"ORDER BY v._pos) "
        f"SELECT {pk} FROM n ORDER BY number"
    )


def open_ticket(
    *,
    organization,
    reporter,
    subject,
    description,
    priority=None,
    feature=None,
    channel=Channel.WEB,
    received_at=None,
    user_agent="",
    files=(),
    actor=None,
    follows=None,
    cc=(),
    mail_ack=None,
) -> Ticket:
    """File an anomaly. A client's priority is a suggestion that applies until triage.
    follows: the closed ticket a new mail about it reopens as a new one (mail intake)."""
    spec = dict(
        organization=organization,
        reporter=reporter,
        subject=subject,
        description=description,
        priority=priority,
        feature=feature,
        channel=channel,
        received_at=received_at,
        user_agent=user_agent,
        files=files,
        actor=actor,
        follows=follows,
        cc=cc,
        mail_ack=mail_ack,
    )
    return open_tickets([spec])[0]


def add_attachment(ticket, upload, *, uploaded_by=None, comment=None, name=None) -> Attachment:
    filename = clean_filename(name or upload.name)
    content_type = check_attachment(filename, upload.size)
    attachment = Attachment(
        ticket=ticket,
        comment=comment,
        filename=filename,
        content_type=content_type,
        size=upload.size,
        internal=bool(comment and comment.internal),
        uploaded_by=uploaded_by,
    )
    attachment.file.save(filename, upload, save=False)
    attachment.save()
    return attachment

"""Verbs that change tickets. Portal, API, admin, mail intake, tasks and commands all call these."""

import datetime
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.db import bulk_update
from portal.errors import ServiceError

from . import events as domain_events
from .models import (
    ACTIVE_STATUSES,
    Attachment,
    Channel,
    Comment,
    Priority,
    Status,
    Ticket,
    TicketEvent,
)
from .signals import ticket_changing
from .validators import check_attachment, check_attachments, clean_filename

# Allowed status moves; reopening a closed ticket is staff-only (see reopen()).
TRANSITIONS = {
    Status.NEW: {Status.OPEN, Status.PENDING, Status.RESOLVED},
    Status.OPEN: {Status.PENDING, Status.RESOLVED},
    Status.PENDING: {Status.OPEN, Status.RESOLVED},
    Status.RESOLVED: {Status.OPEN, Status.CLOSED},
    Status.CLOSED: {Status.OPEN},
}


@dataclass
class TicketChange:
    """What one service call did to a ticket: the fields to save and the events to write."""

    ticket: Ticket
    actor: object
    reason: str
    at: datetime.datetime
    fields: set = field(default_factory=set)
    events: list = field(default_factory=list)
    # The comment this change added (public reply or internal note), for the consumers.
    comment: object = None
    # What other apps attach for the consumers (escalation events, the paging decision).
    context: dict = field(default_factory=dict)

    def set(self, name, value, *, public=True, action="changed"):
        old = getattr(self.ticket, name)
        if old == value:
            return False
        setattr(self.ticket, name, value)
        self.fields.add(name)
        self.event(action, field=name, old=old, new=value, public=public)
        return True

    def event(
        self, action, *, field="", old="", new="", note="", params=None, public=False, kind="audit"
    ):
        self.events.append(
            TicketEvent(
                at=self.at,
                actor=self.actor if getattr(self.actor, "pk", None) else None,
                kind=kind,
                action=action,
                field=field,
                old_value=_as_text(old),
                new_value=_as_text(new),
                note=note,
                params=params or {},
                public=public,
            )
        )


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(getattr(value, "username", value))


def save_change(change: TicketChange) -> Ticket:
    """Let the SLA engine adjust an existing ticket, then write the row and its events.
    Public for the other apps' verbs (escalation requests); the caller holds lock()."""
    ticket = change.ticket
    ticket_changing.send(sender=Ticket, change=change)
    if change.fields:
        ticket.save(update_fields=sorted(change.fields | {"updated_at"}))
    record([change])
    return ticket


def record(changes: list[TicketChange], *, insert=None) -> None:
    """Every write path's last step: the changes' events in one INSERT (``insert``, default
    bulk_create: the sweep passes its own), the domain-event consumers (tickets.events:
    notifications, webhooks, resolution credits, on-call pages) in the same transaction;
    consumers with after-commit work register it there."""
    events = []
    for change in changes:
        for event in change.events:
            event.ticket = change.ticket
        events += change.events
    if events:
        (insert or TicketEvent.objects.bulk_create)(events)
    domain_events.publish(changes)


def check_past(at, field_name="at", *, not_before=None, now=None) -> datetime.datetime:
    now = now or timezone.now()
    if at is None:
        return now
    if timezone.is_naive(at):
        raise ServiceError(_("Give a time with its UTC offset."), field=field_name)
    if at > now + datetime.timedelta(seconds=1):
        raise ServiceError(_("This time is in the future."), field=field_name)
    if not_before is not None and at < not_before:
        raise ServiceError(
            _("This time is before %s.") % not_before.isoformat(timespec="minutes"),
            field=field_name,
        )
    return at


# The SLA engine reads the plan; the event consumers (notifications) the reporter and assignee.
LOCK_JOINS = ("organization__contract__plan", "reporter", "assignee")


def lock(ticket: Ticket) -> Ticket:
    """Re-read the row under a lock, so two agents acting at once serialise."""
    return (
        Ticket.objects.select_for_update(of=("self",)).select_related(*LOCK_JOINS).get(pk=ticket.pk)
    )


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
    if not (subject or "").strip():
        raise ServiceError(_("A subject is required."), field="subject")
    if not (description or "").strip():
        raise ServiceError(_("Describe the anomaly."), field="description")
    check_attachments(files)
    by_staff = bool(actor and actor.is_staff)
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
    if by_staff and priority:
        ticket.triaged_at = timezone.now()
    change = TicketChange(ticket, actor, "opened", timezone.now())
    if cc:
        change.context["cc"] = list(cc)  # the mail's Cc: (the notifications consumer)
    if mail_ack is not None:
        # The mail intake's acknowledgement (threading, refused attachments): the
        # notifications consumer writes it to the outbox like every other channel's.
        change.context["mail_ack"] = mail_ack
    change.event("opened", params={"channel": ticket.channel}, public=True)
    return change


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
    tickets = Ticket.objects.bulk_create([change.ticket for change in changes])
    record(changes)
    for spec, ticket in zip(specs, tickets, strict=True):
        for f in spec.get("files", ()):
            add_attachment(ticket, f, uploaded_by=spec["reporter"])
    return tickets


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
) -> tuple[Comment, TicketChange]:
    """One comment on a locked ticket: the unsaved comment, and the ticket's change after the
    status rules and ticket_changing (the SLA engine and escalation adjust the instance)."""
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
    change = TicketChange(ticket, author, "comment", at, comment=comment)
    if cc:
        change.context["cc"] = list(cc)  # the mail's Cc: (the notifications consumer)
    if not internal:
        _after_public_comment(change, is_staff)
    ticket_changing.send(sender=Ticket, change=change)
    return comment, change


def _lock_many(tickets) -> dict:
    """lock() for several tickets in one query (pk order, so two batches cannot deadlock)."""
    rows = Ticket.objects.select_for_update(of=("self",)).select_related(*LOCK_JOINS)
    pks = {ticket.pk for ticket in tickets}
    found = {t.pk: t for t in rows.filter(pk__in=pks).order_by("pk")}
    missing = pks - found.keys()
    if missing:
        raise Ticket.DoesNotExist(f"Ticket matching query does not exist: {sorted(missing)}")
    return found


def _write_changes(changes: list[TicketChange]) -> None:
    """save_change()'s writes for changes already through ticket_changing: the changed tickets in
    one UPDATE (of the fields any of them changed, plus updated_at), then record(). A ticket
    changed several times is written once, with its final values."""
    changed, names = {}, set()
    for change in changes:
        if change.fields:
            changed[change.ticket.pk] = change.ticket
            names |= change.fields
    if changed:
        now = timezone.now()
        for ticket in changed.values():
            ticket.updated_at = now
        bulk_update(Ticket, changed.values(), sorted(names | {"updated_at"}))
    record(changes)


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
    locked = _lock_many(spec["ticket"] for spec in specs)
    comments, changes = [], []
    for spec in specs:
        comment, change = _commenting(**{**spec, "ticket": locked[spec["ticket"].pk]})
        comments.append(comment)
        changes.append(change)
    Comment.objects.bulk_create(comments)
    for spec, comment in zip(specs, comments, strict=True):
        for f in spec.get("files", ()):
            add_attachment(comment.ticket, f, uploaded_by=spec["author"], comment=comment)
    _write_changes(changes)
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


@transaction.atomic
def add_system_note(ticket, text: str, *, channel=Channel.EMAIL) -> Comment:
    """An internal note the product writes itself (no author): the mail intake's refused
    attachments, a follow-up link. Recorded like every other change; never sent to clients."""
    comment = Comment.objects.create(
        ticket=ticket,
        author=None,
        body=text,
        internal=True,
        channel=channel,
        created_at=timezone.now(),
    )
    record([TicketChange(ticket, None, "note", comment.created_at, comment=comment)])
    return comment


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
        _reopen(change, "", cause="customer_replied")


@transaction.atomic
def triage(ticket, *, priority, actor) -> Ticket:
    """Staff classify the priority; the SLA engine recomputes deadlines from the original times."""
    if priority not in Priority.values:
        raise ServiceError(_("Priority must be one of P0, P1, P2, P3."), field="priority")
    ticket = lock(ticket)
    change = TicketChange(ticket, actor, "triage", timezone.now())
    changed = change.set("priority", priority, action="reclassified")
    if ticket.triaged_at is None:
        change.set("triaged_at", change.at, public=False)
    if ticket.status == Status.NEW:
        change.set("status", Status.OPEN)
    if changed or change.fields:
        save_change(change)
    return ticket


@transaction.atomic
def start_diagnosis(ticket, *, actor, at=None) -> Ticket:
    """The first level of response: a technician began diagnosing. Recorded once."""
    ticket = lock(ticket)
    _require_active(ticket)
    at = check_past(at, "at", not_before=ticket.received_at)
    change = TicketChange(ticket, actor, "start", at)
    if ticket.first_response_at is None:
        change.set("first_response_at", at, action="first_response")
    if ticket.assignee_id is None and actor and actor.is_staff:
        change.set("assignee", actor, public=False, action="assigned")
    if ticket.status == Status.NEW:
        change.set("status", Status.OPEN)
    if change.fields:
        save_change(change)
    return ticket


@transaction.atomic
def resolve(ticket, *, actor, at=None, resolution="") -> Ticket:
    ticket = lock(ticket)
    _require_active(ticket)
    not_before = ticket.first_response_at or ticket.received_at
    at = check_past(at, "at", not_before=not_before)
    change = TicketChange(ticket, actor, "resolve", at)
    if ticket.first_response_at is None:
        change.set("first_response_at", at, action="first_response")
    change.set("status", Status.RESOLVED, action="resolved")
    change.set("resolved_at", at, action="resolved")
    if resolution:
        change.set("resolution", resolution)
    save_change(change)
    return ticket


def _require_active(ticket):
    if ticket.status not in ACTIVE_STATUSES:
        raise ServiceError(
            _("This ticket is %s.") % ticket.get_status_display().lower(), field="status"
        )


def _reopen(change: TicketChange, why: str, cause: str = "") -> None:
    """`why` is the person's own words (kept as typed); `cause` a code event_text words."""
    change.set("status", Status.OPEN, action="reopened")
    change.set("resolved_at", None, action="reopened")
    change.set("closed_at", None, public=False)
    params = {"cause": cause} if cause else None
    change.event("reopened", note=why, params=params, public=True)


@transaction.atomic
def reopen(ticket, *, actor, reason="") -> Ticket:
    ticket = lock(ticket)
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise ServiceError(_("Only a resolved or closed ticket can be reopened."), field="status")
    if ticket.status == Status.CLOSED and not actor.is_staff:
        raise ServiceError(_("This ticket is closed; please open a new one."), field="status")
    change = TicketChange(ticket, actor, "reopen", timezone.now())
    _reopen(change, reason)
    save_change(change)
    return ticket


@transaction.atomic
def set_status(ticket, *, status, actor) -> Ticket:
    """Generic move used by the admin form; the specific verbs above keep their side effects."""
    if status not in Status.values:
        raise ServiceError(_("Unknown status."), field="status")
    if status == Status.RESOLVED:
        return resolve(ticket, actor=actor)
    ticket = lock(ticket)
    if status == ticket.status:
        return ticket
    if status not in TRANSITIONS[ticket.status]:
        raise ServiceError(
            _("A %(old)s ticket cannot become %(new)s.")
            % {"old": ticket.get_status_display(), "new": Status(status).label},
            field="status",
        )
    change = TicketChange(ticket, actor, "status", timezone.now())
    if status == Status.OPEN and ticket.status in (Status.RESOLVED, Status.CLOSED):
        _reopen(change, "")
    else:
        change.set("status", status)
    if status == Status.CLOSED:
        change.set("closed_at", change.at, public=False)
    save_change(change)
    return ticket


@transaction.atomic
def assign(ticket, *, assignee, actor) -> Ticket:
    if assignee is not None and not assignee.is_staff:
        raise ServiceError(_("Only support staff can be assigned."), field="assignee")
    ticket = lock(ticket)
    change = TicketChange(ticket, actor, "assign", timezone.now())
    if change.set("assignee", assignee, public=False, action="assigned"):
        save_change(change)
    return ticket


@transaction.atomic
def set_exclusion(ticket, *, excluded: bool, reason="", actor) -> Ticket:
    """Not an Anomaly under the contract (network, client change, unsupported browser)."""
    if excluded and not reason.strip():
        raise ServiceError(_("Say why the ticket is excluded."), field="reason")
    ticket = lock(ticket)
    change = TicketChange(ticket, actor, "exclusion", timezone.now())
    change.set("excluded", excluded, action="excluded" if excluded else "included")
    change.set("exclusion_reason", reason.strip() if excluded else "")
    if change.fields:
        save_change(change)
    return ticket


@transaction.atomic
def update_details(ticket, *, actor, **values) -> Ticket:
    """Subject, description and feature edits from the admin, audited like everything else."""
    ticket = lock(ticket)
    change = TicketChange(ticket, actor, "edit", timezone.now())
    for name in ("subject", "description", "feature"):
        if name in values:
            change.set(name, values[name], public=False)
    if change.fields:
        save_change(change)
    return ticket

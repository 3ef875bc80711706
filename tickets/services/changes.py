"""What a ticket verb did, and how every write path records it: TicketChange, the lock,
save_change() and record() (the audit rows and the domain-event consumers)."""

import datetime
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from core.db import bulk_update
from core.errors import ServiceError

from .. import events as domain_events
from ..models import Status, Ticket, TicketEvent
from ..signals import ticket_changing


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
    # Shared by the changes of one batch call (add_comments): "tickets", pk → the locked
    # tickets of the batch; ticket_changing's receivers keep there what they read once for
    # all of them (escalation.receivers: the warnings sent).
    batch: dict | None = None

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


def lock_many(tickets) -> dict:
    """lock() for several tickets in one query (pk order, so two batches cannot deadlock)."""
    rows = Ticket.objects.select_for_update(of=("self",)).select_related(*LOCK_JOINS)
    pks = {ticket.pk for ticket in tickets}
    found = {t.pk: t for t in rows.filter(pk__in=pks).order_by("pk")}
    missing = pks - found.keys()
    if missing:
        raise Ticket.DoesNotExist(f"Ticket matching query does not exist: {sorted(missing)}")
    return found


def write_changes(changes: list[TicketChange]) -> None:
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


def apply_reopen(change: TicketChange, why: str, cause: str = "") -> None:
    """`why` is the person's own words (kept as typed); `cause` a code event_text words."""
    change.set("status", Status.OPEN, action="reopened")
    change.set("resolved_at", None, action="reopened")
    change.set("closed_at", None, public=False)
    params = {"cause": cause} if cause else None
    change.event("reopened", note=why, params=params, public=True)

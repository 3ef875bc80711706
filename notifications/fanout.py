"""The notifications consumer of the domain event stream (registered in portal.apps).

Called by tickets.services.record() (and sla.availability's credit verbs) inside the writing
transaction: it decides who hears of each change, writes one Notification row per recipient
in one INSERT, and hands the webhook events to webhooks.services.emit(). Preferences are read
at delivery time, not here, so recording stays one query on a ticket's creation.
"""

import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.db import bulk_update
from escalation.models import EscalationEvent
from escalation.notifications import notice_for
from tickets.events import CreditChange, Notice
from tickets.models import Channel, Status
from tickets.outbound import mail_domain
from webhooks import services as webhooks

from . import outbox
from .handoff import pending
from .models import Category, Watcher
from .outbox import Row
from .recipients import Recipient, client_people, credit_people, queue_address, staff_or_queue
from .services import watch_cc


def consume(changes: list) -> None:
    rows = []
    people = _People(changes)
    with webhooks.batch():  # one INSERT of webhook deliveries for the whole batch
        for change in changes:
            if isinstance(change, CreditChange):
                rows += _credit(change)
            elif isinstance(change, Notice):
                rows += _notice(change)
            else:
                rows += _ticket(change, people)
    if people.notified:
        bulk_update(EscalationEvent, people.notified, ["notified_at", "notified_to"])
    if rows:
        ids = outbox.write(rows)  # the one query the outbox adds to a ticket write
        transaction.on_commit(partial(pending.add, ids))


class _People:
    """The watchers of the batch's changed tickets, and the reporters the writers did not
    load: each read once for the batch and only when needed (a new ticket has no
    watchers, and its reporter came with the request)."""

    def __init__(self, changes):
        self.ids = {
            c.ticket.pk
            for c in changes
            if hasattr(c, "reason") and c.reason not in ("opened", "note", "recompute")
        }
        self.found = None
        self.notified = []  # escalation events whose notices this batch records
        self._load_reporters([c.ticket for c in changes if hasattr(c, "reason")])

    @staticmethod
    def _load_reporters(tickets) -> None:
        missing = [t for t in tickets if t.reporter_id and "reporter" not in t._state.fields_cache]
        if not missing:
            return
        users = User.objects.in_bulk({t.reporter_id for t in missing})
        for ticket in missing:
            ticket.reporter = users.get(ticket.reporter_id)

    def of(self, ticket) -> list:
        if ticket.pk not in self.ids:
            return []
        if self.found is None:
            self.found = {}
            rows = Watcher.objects.filter(ticket_id__in=self.ids).select_related("user")
            for w in rows:
                self.found.setdefault(w.ticket_id, []).append(w.user)
        return self.found.get(ticket.pk, [])


def _rows(recipients, kind, category, *, ticket=None, comment=None, credit=None, data) -> list[Row]:
    """One unsaved outbox row per recipient (outbox.Row: a Notification instance cost more
    than its write); the shared values are read once."""
    if not recipients:
        return []
    ticket_id = ticket.pk if ticket is not None else None
    comment_id = comment.pk if comment is not None else None
    credit_id = credit.pk if credit is not None else None
    now = timezone.now()
    tag = ticket.reference if ticket is not None and ticket.pk else "eservice"
    ids = outbox.message_ids(tag, mail_domain(), len(recipients))
    return [
        Row(
            kind,
            category,
            ticket_id,
            comment_id,
            credit_id,
            r.user.pk if r.user is not None else None,
            r.email,
            r.language,
            message_id,
            data,
            now,
        )
        for r, message_id in zip(recipients, ids, strict=True)
    ]


def _iso(value: datetime.datetime | None) -> str:
    return value.isoformat() if value else ""


# --- tickets ---------------------------------------------------------------------------------


def _ticket(change, people) -> list[Row]:
    ticket, actor = change.ticket, change.actor
    if change.reason == "opened":
        webhooks.emit("ticket.created", ticket=ticket, at=change.at)
        rows = _opened(change)
    else:
        rows = []
        comment = change.comment
        if comment is not None and not comment.internal:
            webhooks.emit("comment.public", ticket=ticket, comment=comment, at=change.at)
            rows += _public_comment(change, people)
        rows += _status(change, people)
        rows += _escalations(change, people)
        _webhook_updates(change)
        rows = [r for r in rows if not _is_actor(r, actor)]
    if change.context.get("cc"):
        # After the rows: they saw this very mail; they hear of the later changes.
        watch_cc(ticket, change.context["cc"])
    return rows


def _is_actor(row, actor) -> bool:
    return bool(actor and getattr(actor, "pk", None) and row.recipient_id == actor.pk)


def _opened(change) -> list[Row]:
    """The acknowledgement (every channel; by mail only as the intake allows it: within the
    sender's limit, threaded to the client's message) and the staff notice of a new ticket."""
    ticket = change.ticket
    data = {
        "priority": ticket.priority,
        "suggested": bool(ticket.suggested_priority and ticket.triaged_at is None),
        "response_due_at": _iso(ticket.response_due_at),
    }
    rows = []
    if _acknowledged(change):
        ack = dict(data, **change.context.get("mail_ack", {}))
        reporter = client_people(ticket, [])
        rows += _rows(reporter, "ack", Category.UPDATES, ticket=ticket, data=ack)
    staff = staff_or_queue(ticket)
    rows += _rows(staff, "new_ticket", Category.NEW_TICKETS, ticket=ticket, data=data)
    return rows


def _acknowledged(change) -> bool:
    ticket = change.ticket
    if not ticket.reporter_id:
        return False
    return ticket.channel != Channel.EMAIL or change.context.get("mail_ack") is not None


def _public_comment(change, people) -> list[Row]:
    ticket, comment = change.ticket, change.comment
    clients = client_people(ticket, people.of(ticket))
    rows = _rows(clients, "reply", Category.REPLIES, ticket=ticket, comment=comment, data={})
    if not comment.by_staff:
        staff = staff_or_queue(ticket)
        kind = "client_reply"
        rows += _rows(staff, kind, Category.CLIENT_REPLIES, ticket=ticket, comment=comment, data={})
    return rows


def _status_moves(change) -> dict:
    return {e.field: e.new_value for e in change.events if e.field == "status"}


def _status(change, people) -> list[Row]:
    """Waiting for the client, resolved, reopened (a client's reply that reopens is already
    told by the reply itself)."""
    ticket = change.ticket
    kind = _status_kind(change)
    if kind is None:
        return []
    if kind == "resolved":
        webhooks.emit("ticket.resolved", ticket=ticket, at=change.at)
    data = {"resolution": ticket.resolution} if kind == "resolved" else {}
    clients = client_people(ticket, people.of(ticket))
    rows = _rows(clients, kind, Category.UPDATES, ticket=ticket, data=data)
    if kind == "reopened" and not getattr(change.actor, "is_staff", False):
        staff = staff_or_queue(ticket)
        rows += _rows(staff, "staff_reopened", Category.CLIENT_REPLIES, ticket=ticket, data=data)
    return rows


STATUS_KINDS = {Status.PENDING: "waiting", Status.RESOLVED: "resolved", Status.OPEN: "reopened"}


def _status_kind(change) -> str | None:
    """The notification a status move makes, if any; a move to open counts only as a reopen."""
    new = _status_moves(change).get("status")
    if new is None or change.comment is not None:
        return None
    kind = STATUS_KINDS.get(new)
    if kind == "reopened" and not any(e.action == "reopened" for e in change.events):
        return None
    return kind


def _escalations(change, people) -> list[Row]:
    """Levels reached (never the 75% warnings, which stay internal); breaches to webhooks."""
    ticket = change.ticket
    for event in change.events:
        if event.action.endswith("_breached"):
            webhooks.emit("ticket.breached", ticket=ticket, at=event.at)
    rows = []
    for escalation in change.context.get("escalations", ()):
        rows += _escalation_notice(escalation, people)
        if escalation.level < 1:
            continue
        webhooks.emit("ticket.escalated", ticket=ticket, at=escalation.fired_at)
        data = {"level": escalation.level, "role": escalation.role}
        clients = client_people(ticket, people.of(ticket))
        rows += _rows(clients, "escalated", Category.ESCALATIONS, ticket=ticket, data=data)
    return rows


def _escalation_notice(escalation, people) -> list[Row]:
    """The staff notice (contact, assignee; warnings: the team), recorded once: the event is
    marked notified in this transaction (consume()), so escalation.services.notify() and
    its task skip it."""
    if escalation.notified_at is not None:
        return []
    notice = notice_for(escalation)
    escalation.notified_at = timezone.now()
    escalation.notified_to = [address for address, _user in notice.recipients]
    if escalation.pk is not None:
        people.notified.append(escalation)
    return _notice(notice)


NOTICE_CATEGORIES = {"oncall": Category.ONCALL, "oncall_digest": Category.ONCALL}


def _notice(notice: Notice) -> list[Row]:
    category = NOTICE_CATEGORIES.get(notice.kind, Category.ESCALATIONS)
    recipients = [
        Recipient.of(user) if user is not None else Recipient(address)
        for address, user in notice.recipients
    ]
    return _rows(recipients, notice.kind, category, ticket=notice.ticket, data=notice.data)


# Fields whose changes a client may see (TicketChange.set(public=True)) go to ticket.updated.
def _webhook_updates(change) -> None:
    changes = {
        e.field: (e.old_value, e.new_value)
        for e in change.events
        if e.public and e.field and e.kind == "audit"
    }
    if changes:
        webhooks.emit("ticket.updated", ticket=change.ticket, changes=changes, at=change.at)


# --- credits ---------------------------------------------------------------------------------


def _credit(change: CreditChange) -> list[Row]:
    credit, action = change.credit, change.action
    data = {"action": action, "days": credit.days}
    ticket = credit.ticket if credit.ticket_id else None
    if action == "claimed":
        webhooks.emit("credit.claimed", ticket=ticket, credit=credit)
        staff = credit_staff(credit)
        kind, category = "credit_claim", Category.CREDIT_CLAIMS
        return _rows(staff, kind, category, ticket=ticket, credit=credit, data=data)
    clients = credit_people(credit)
    rows = _rows(clients, "credit", Category.CREDITS, ticket=ticket, credit=credit, data=data)
    return [r for r in rows if not _is_actor(r, change.actor)]


def credit_staff(credit) -> list[Recipient]:
    """A claim goes to the organization's Account Manager and the region's queue."""
    contract = getattr(credit.organization, "contract", None)
    manager = getattr(contract, "account_manager", None) if contract else None
    out = [Recipient.of(manager)] if manager is not None and manager.email else []
    out.append(queue_address(contract.region if contract else None))
    return _unique(out)


def _unique(recipients) -> list[Recipient]:
    seen, out = set(), []
    for r in recipients:
        if r.email.lower() not in seen:
            seen.add(r.email.lower())
            out.append(r)
    return out

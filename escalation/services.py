"""Escalation verbs: a customer's request, the contacts of each level, and notification.

The portal view, the API view and the admin call request_escalation(); the sweep and the
request both notify through notify(), so an escalation reads the same whichever fired it.
"""

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Contract, User
from core.errors import Conflict, ServiceError
from sla.models import Phase
from tickets import events as domain_events
from tickets.models import Ticket, TicketEvent
from tickets.services import TicketChange, lock, save_change

from .models import MAX_LEVEL, ROLES, Director, EscalationEvent, Level, Trigger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    role: str
    missing: bool = False  # no contact set: the support team stands in
    user: object = None


def support_team(role: str, *, missing: bool) -> Contact:
    return Contact(_("Support team"), settings.SUPPORT_TEAM_EMAIL, role, missing=missing)


def contact_for(level: int, ticket: Ticket, director: Director | None = None) -> Contact:
    """Level 0: the assignee (else the team); 1: the CSM; 2: the account manager; 3: the
    director. A missing contact falls back to the support team and is flagged (the assignee
    is not a contract's contact: no flag)."""
    role = str(ROLES[Level(level)])
    if level == Level.LEVEL3:
        director = director or Director.load()
        if not director.email:
            return support_team(role, missing=True)
        return Contact(director.name, director.email, role)
    person = _person_for(level, ticket)
    if person is None or not person.email:
        return support_team(role, missing=level != Level.WARNING)
    name = person.get_full_name() or person.username
    return Contact(name, person.email, role, user=person)


def _person_for(level: int, ticket: Ticket) -> User | None:
    if level == Level.WARNING:
        return ticket.assignee
    contract: Contract | None = getattr(ticket.organization, "contract", None)
    if contract is None:
        return None
    return contract.support_manager if level == Level.LEVEL1 else contract.account_manager


class ContactBook:
    """contact_for() over one sweep batch, asked once per person: a batch names the same
    few assignees and contract contacts many times over."""

    def __init__(self, director: Director) -> None:
        self.director = director
        self._known: dict[tuple[int, int | None], Contact] = {}

    def contact(self, level: int, ticket: Ticket) -> Contact:
        if level == Level.WARNING:
            key = (level, ticket.assignee_id)
        else:
            key = (level, None if level == Level.LEVEL3 else ticket.organization_id)
        if key not in self._known:
            self._known[key] = contact_for(level, ticket, self.director)
        return self._known[key]


def new_event(
    ticket: Ticket,
    *,
    level: int,
    phase: str,
    trigger: str,
    reason: str,
    at: datetime.datetime,
    director: Director | None = None,
    requested_by: User | None = None,
    contact: Contact | None = None,
) -> EscalationEvent:
    """An unsaved escalation row naming its level's contact (`contact`, when the caller
    already knows it)."""
    contact = contact or contact_for(level, ticket, director)
    return EscalationEvent(
        ticket=ticket,
        level=level,
        phase=phase,
        trigger=trigger,
        reason=reason,
        fired_at=at,
        role=contact.role,
        contact_name=contact.name,
        contact_email=contact.email,
        contact_missing=contact.missing,
        requested_by=requested_by,
    )


def timeline_event(event: EscalationEvent, actor: User | None = None) -> TicketEvent:
    """The ticket's audit/timeline row for an escalation: public for levels, internal for
    warnings (which name the assignee)."""
    if event.level == Level.WARNING:
        note = _("Warning: %(reason)s") % {"reason": event.reason}
    else:
        note = _("Escalated to level %(level)s (%(role)s): %(reason)s") % {
            "level": event.level,
            "role": event.role,
            "reason": event.reason,
        }
    return TicketEvent(
        ticket_id=event.ticket_id,
        at=event.fired_at,
        actor=actor,
        kind=TicketEvent.Kind.ESCALATION,
        action="warning" if event.level == Level.WARNING else "escalated",
        field="" if event.level == Level.WARNING else "escalation_level",
        old_value="" if event.level == Level.WARNING else str(event.level - 1),
        new_value="" if event.level == Level.WARNING else str(event.level),
        note=note,
        # For tickets.event_text: the trigger and, for a request, the requester's words.
        params={
            "trigger": event.trigger,
            "phase": event.phase,
            **({"reason": event.reason} if event.trigger == "request" else {}),
        },
        public=event.level > Level.WARNING,
    )


@transaction.atomic
def request_escalation(ticket: Ticket, user: User, reason: str) -> EscalationEvent:
    """A client (own organization) or staff moves the ticket one level up and that level's
    contact is told. Above level 3 → Conflict (409), nothing changes."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Say why the ticket needs escalating."), field="reason")
    ticket = lock(ticket)
    if ticket.escalation_level >= MAX_LEVEL:
        raise Conflict(
            _("This ticket is already at the highest level of escalation."),
            field="escalation_level",
        )
    now = timezone.now()
    phase = Phase.RESPONSE if ticket.first_response_at is None else Phase.RESOLUTION
    level = ticket.escalation_level + 1
    event = new_event(
        ticket,
        level=level,
        phase=phase,
        trigger=Trigger.REQUEST,
        reason=reason,
        at=now,
        requested_by=user,
    )
    event.save()
    change = TicketChange(ticket, user, "escalation", now)
    ticket.escalation_level = level
    change.fields.add("escalation_level")
    row = timeline_event(event, actor=user if user.pk else None)
    change.events.append(row)
    change.context["escalations"] = [event]  # for the event consumers (notifications)
    # The receiver in escalation.apps recomputes next_check_at for the new level.
    save_change(change)
    notify([event])
    return event


# What the notices of an escalation read: the level's contacts, the assignee (a watcher of
# every level), the reporter (the client mail of a level reached), the plan (webhooks'
# ticket). The people come once per batch, not once per row: a batch names a few staff and
# contracts many times over, and a joined row per event built as many instances.
NOTICE_PEOPLE = (
    "assignee",
    "reporter",
    "organization__contract__plan",
    "organization__contract__support_manager",
    "organization__contract__account_manager",
)
# The ticket's long texts: no notice reads them.
NOTICE_UNREAD = ("description", "search_vector", "user_agent")


@shared_task(name="escalation.tasks.notify_events")
def notify_events(ids: list[int]) -> int:
    """Record the notices of these escalation events if not yet done (queued by the sweep
    after its commit, and re-driven by redrive_notices()). Safe to run twice, or alongside
    the re-drive: the rows are locked, an event with notified_at is skipped, and
    notified_at is set in the transaction that writes the notices."""
    with transaction.atomic():
        events = list(
            EscalationEvent.objects.filter(pk__in=ids, notified_at__isnull=True)
            .select_for_update(skip_locked=True)
            .order_by("ticket_id", "level")
        )
        _attach_tickets(events)
        return notify(events)


def _attach_tickets(events: list[EscalationEvent]) -> None:
    """Each event's ticket, one instance per ticket, with the people its notices name."""
    tickets = (
        Ticket.objects.filter(pk__in={e.ticket_id for e in events})
        .defer(*NOTICE_UNREAD)
        .select_related("organization__contract")
        .prefetch_related(*NOTICE_PEOPLE)
    )
    by_pk = {t.pk: t for t in tickets}
    for event in events:
        event.ticket = by_pk[event.ticket_id]


# An event younger than this is left to the task its sweep queued.
REDRIVE_AFTER = datetime.timedelta(minutes=1)


def redrive_notices(batch_size: int = 500, now: datetime.datetime | None = None) -> int:
    """The notices whose task never ran (broker down, worker killed): every event still
    without notified_at and older than REDRIVE_AFTER, oldest first (the partial index
    escalation_unnotified_idx holds exactly these). Returns how many were notified."""
    before = (now or timezone.now()) - REDRIVE_AFTER
    done = 0
    while True:
        ids = list(
            EscalationEvent.objects.filter(notified_at__isnull=True, fired_at__lte=before)
            .order_by("fired_at", "id")
            .values_list("id", flat=True)[:batch_size]
        )
        sent = notify_events(ids) if ids else 0
        done += sent
        if len(ids) < batch_size or not sent:
            return done


def notify(events: Iterable[EscalationEvent]) -> int:
    """Record the notices of the events not yet notified: the staff notice (the level's
    contact, the assignee as a watcher; warnings: the team), the client mail of a level
    reached and the ticket.escalated webhook, as the escalation's own transaction would
    (notifications.fanout, through the event stream: one change per ticket). Idempotent
    per event: the consumer sets notified_at in the transaction that records the notices."""
    by_ticket: dict[int, TicketChange] = {}
    for event in events:
        if event.notified_at is not None:
            continue
        change = by_ticket.get(event.ticket_id)
        if change is None:
            change = TicketChange(event.ticket, None, "escalation_notice", event.fired_at)
            by_ticket[event.ticket_id] = change
        change.context.setdefault("escalations", []).append(event)
    if by_ticket:
        domain_events.publish(list(by_ticket.values()))
    return sum(len(c.context["escalations"]) for c in by_ticket.values())

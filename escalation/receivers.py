"""The escalation app's hooks on ticket writes: set_next_check (the ticket_changing signal,
before the save) and page_oncall (a consumer of the domain event stream, portal.apps)."""

import datetime
import logging
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from sla.calendar_cache import calendar_for_region
from tickets.models import Priority, Ticket
from tickets.services import TicketChange

from . import paging, rules
from .models import EscalationEvent, Level, on_call_for
from .notifications import send_oncall_mail

log = logging.getLogger(__name__)


def _warned(ticket: Ticket, phase: str) -> bool:
    return EscalationEvent.objects.filter(ticket=ticket, level=Level.WARNING, phase=phase).exists()


def _warned_in_batch(batch: dict[str, Any], ticket: Ticket, phase: str) -> bool:
    """_warned() for a ticket of a batch of changes (TicketChange.batch): the first lookup
    reads the warnings of all the batch's tickets in one query, which the others reuse. The
    tickets are locked, so no sweep writes a warning to them while the batch runs."""
    if ticket.pk not in batch["tickets"]:
        return _warned(ticket, phase)
    warned = batch.get("escalation.warned")
    if warned is None:
        rows = EscalationEvent.objects.filter(
            ticket__in=list(batch["tickets"]), level=Level.WARNING
        )
        warned = batch["escalation.warned"] = set(rows.values_list("ticket_id", "phase"))
    return (ticket.pk, phase) in warned


def set_next_check(sender: object, change: TicketChange, **kwargs: object) -> None:
    """ticket_changing: keep next_check_at — what escalation.sweep selects on — current.

    Runs after the SLA engine recomputed the deadlines on the instance; costs no query except
    when an unsent warning would be next (one EXISTS; one for a whole batch of changes)."""
    ticket = change.ticket
    lookup = _warned if change.batch is None else partial(_warned_in_batch, change.batch)
    value = rules.next_check_at(ticket, now=timezone.now(), warned_lookup=lookup)
    if value != ticket.next_check_at or ticket.pk is None:
        ticket.next_check_at = value
        change.fields.add("next_check_at")


def page_oncall(changes: list[object]) -> None:
    """Consumer of the domain event stream (portal.apps): a P0 received or re-classified
    outside business hours goes to the engineer on call at once, once the change commits."""
    for change in changes:
        if isinstance(change, TicketChange) and _pages(change):
            transaction.on_commit(partial(_page_after_commit, change.ticket, change.at))


def _pages(change: TicketChange) -> bool:
    reason = change.reason
    if reason not in ("opened", "triage") or change.ticket.priority != Priority.P0:
        return False
    if reason == "triage" and "priority" not in change.fields:
        return False
    return not change.ticket.excluded and change.ticket.is_active


def _page_after_commit(ticket: Ticket, at: datetime.datetime) -> None:
    try:
        _page(ticket, at)
    except Exception:  # noqa: BLE001 - the ticket is saved; paging must not fail the request
        log.exception("on-call notice failed for ticket %s", ticket.pk)


def _page(ticket: Ticket, at: datetime.datetime) -> None:
    region = ticket.organization.region
    if region is None:
        # No contract, no support region and no 24/7 line: nobody is paged; the new ticket
        # reaches the support queue as every ticket does.
        log.warning("P0 %s: its organization has no contract, nobody paged", ticket.pk)
        return
    if calendar_for_region(region).is_business_time(at):
        return
    with transaction.atomic():
        # Coalesced per organization (escalation.paging): later P0s join one digest.
        if paging.page_now(ticket, at):
            send_oncall_mail(ticket, on_call_for(region, at))

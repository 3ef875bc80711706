"""Signal receivers connected in escalation.apps."""

import logging

from django.db import transaction
from django.utils import timezone

from tickets.models import Priority

from . import paging, rules
from .models import EscalationEvent

log = logging.getLogger(__name__)


def _warned(ticket, phase) -> bool:
    return EscalationEvent.objects.filter(ticket=ticket, level=0, phase=phase).exists()


def set_next_check(sender, change, **kwargs):
    """ticket_changing: keep next_check_at — what escalation.sweep selects on — current.

    Runs after the SLA engine recomputed the deadlines on the instance; costs no query except
    when an unsent warning would be next (one EXISTS)."""
    ticket = change.ticket
    value = rules.next_check_at(ticket, now=timezone.now(), warned_lookup=_warned)
    if value != ticket.next_check_at or ticket.pk is None:
        ticket.next_check_at = value
        change.fields.add("next_check_at")


def page_oncall(sender, change, **kwargs):
    """ticket_changed (after commit): a P0 received or re-classified outside business hours
    goes to the engineer on call at once (OutboundMessage kind "oncall")."""
    ticket = change.ticket
    if change.reason not in ("opened", "triage") or ticket.priority != Priority.P0:
        return
    if change.reason == "triage" and "priority" not in change.fields:
        return
    if ticket.excluded or not ticket.is_active:
        return
    try:
        _page(ticket, change.at)
    except Exception:  # noqa: BLE001 - the ticket is saved; paging must not fail the request
        log.exception("on-call notice failed for ticket %s", ticket.pk)


def _page(ticket, at):
    from .models import on_call_for
    from .notifications import send_oncall_mail

    region = getattr(getattr(ticket.organization, "contract", None), "region", None) or "GMT"
    if _calendar(region).is_business_time(at):
        return
    with transaction.atomic():
        # Coalesced per organization (escalation.paging): later P0s join one digest.
        if paging.page_now(ticket, at):
            send_oncall_mail(ticket, on_call_for(region, at))


def _calendar(region):
    try:
        from sla.engine import calendar_for_region
    except ImportError:
        from sla.calendars import region_calendar as calendar_for_region
    return calendar_for_region(region)

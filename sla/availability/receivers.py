"""Resolution credits follow ticket changes: a consumer of the domain event stream
(tickets.events, registered in portal.apps), which syncs the credit once the change commits."""

import logging
from functools import partial

from django.db import transaction

from tickets.models import Ticket
from tickets.services import TicketChange

from . import services

log = logging.getLogger(__name__)

# Changes after which a ticket may start, stop or change earning a resolution credit.
CREDIT_REASONS = {"resolve", "status", "exclusion", "triage", "reopen"}


def resolution_credits(changes: list[object]) -> None:
    """Consumer: after commit, sync the credit of each ticket a change may affect."""
    for change in changes:
        if isinstance(change, TicketChange) and change.reason in CREDIT_REASONS:
            transaction.on_commit(partial(sync_credit, change.ticket))


def sync_credit(ticket: Ticket) -> None:
    try:
        services.sync_resolution_credit(ticket)
    except Exception:
        # The ticket change is committed; a credit failure must not turn it into an error.
        # The admin "recompute credit" action re-runs the same service.
        log.exception("resolution credit for ticket %s failed", ticket.pk)

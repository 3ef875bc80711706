"""Resolution credits follow ticket changes (tickets.signals.ticket_changed, after commit)."""

import logging

from . import services

log = logging.getLogger(__name__)

# Changes after which a ticket may start, stop or change earning a resolution credit.
CREDIT_REASONS = {"resolve", "status", "exclusion", "triage", "reopen"}


def on_ticket_changed(sender, change, **kwargs):
    if change.reason not in CREDIT_REASONS:
        return
    try:
        services.sync_resolution_credit(change.ticket)
    except Exception:
        # The ticket change is committed; a credit failure must not turn it into an error.
        # The admin "recompute credit" action re-runs the same service.
        log.exception("resolution credit for ticket %s failed", change.ticket.pk)

"""Human SLA texts for lists, the ticket page and the admin ("response due in 2 h 10 min").

Reads only stored ticket fields and the cached calendar: no query per row as long as the
queryset has ``select_related("organization__contract")``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from tickets.models import ACTIVE_STATUSES, Priority

from . import business_time as bt
from .engine import current_target, elapsed_moment, format_duration, format_moment
from .models import Clock

WARN_WITHIN = datetime.timedelta(hours=1)
WARN_FRACTION = 0.75
PAUSED_TEXT = "resolution clock paused (pending customer)"


class Level:
    """Badge colours: green on track / met, amber close, red breached, grey no SLA."""

    OK = "ok"
    WARN = "warn"
    BREACHED = "breached"
    NONE = "none"


COLOURS = {
    Level.OK: ("#1b5e20", "#e8f5e9"),
    Level.WARN: ("#7a4f01", "#fff3cd"),
    Level.BREACHED: ("#b71c1c", "#fdecea"),
    Level.NONE: ("#424242", "#eeeeee"),
}


@dataclass(frozen=True)
class SlaStatus:
    level: str
    text: str
    title: str = ""

    @property
    def style(self) -> str:
        colour, background = COLOURS[self.level]
        return f"color:{colour};background:{background};padding:1px 6px;border-radius:8px"


def sla_status(ticket, now: datetime.datetime | None = None) -> SlaStatus:
    """The SLA state of a ticket as one badge: level, text and a title with the deadline."""
    now = now or timezone.now()
    if ticket.excluded:
        return SlaStatus(Level.NONE, "excluded from SLA", ticket.exclusion_reason)
    if ticket.status not in ACTIVE_STATUSES:
        return _finished(ticket)
    if ticket.paused_since:
        late = ticket.breached("resolution", now)
        return SlaStatus(Level.BREACHED if late else Level.NONE, PAUSED_TEXT)
    target = current_target(ticket)
    if target is None:
        return _no_target(ticket)
    title = f"{target.phase} due {format_moment(target.due, ticket.organization.region)}"
    if ticket.breached(target.phase, now):
        late = format_duration(now - target.due)
        return SlaStatus(Level.BREACHED, f"{target.phase} overdue by {late}", title)
    business = target.clock == Clock.BUSINESS
    if business:
        left = bt.business_time_between(target.calendar, now, target.due)
    else:
        left = target.due - now
    text = f"{target.phase} due in {format_duration(left, business=business)} — "
    text += "business hours" if business else "clock hours"
    warn = left <= WARN_WITHIN or now >= elapsed_moment(ticket, WARN_FRACTION)
    return SlaStatus(Level.WARN if warn else Level.OK, text, title)


def _no_target(ticket) -> SlaStatus:
    if ticket.priority == Priority.P3:
        return SlaStatus(Level.NONE, "no target (P3)")
    return SlaStatus(Level.NONE, "no SLA")


def _finished(ticket) -> SlaStatus:
    """Resolved or closed: met, or which deadline was missed and by how much."""
    if ticket.response_due_at is None and ticket.resolution_due_at is None:
        return _no_target(ticket)
    for phase, due, done in (
        ("resolution", ticket.resolution_due_at, ticket.resolved_at),
        ("response", ticket.response_due_at, ticket.first_response_at),
    ):
        if done is not None and ticket.breached(phase, done):
            return SlaStatus(Level.BREACHED, f"{phase} missed by {format_duration(done - due)}")
    return SlaStatus(Level.OK, "met")

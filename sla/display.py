"""Human SLA texts for lists, the ticket page and the admin ("response due in 2 h 10 min").

Reads only stored ticket fields and the cached calendar: no query per row as long as the
queryset has ``select_related("organization__contract")``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.event_text import duration_text, moment
from tickets.models import ACTIVE_STATUSES, Priority, Ticket

from .calendars import region_timezone
from .targets import SlaTarget, current_target

WARN_WITHIN = datetime.timedelta(hours=1)
WARN_FRACTION = 0.75


class Badge(StrEnum):
    """The SLA badge's state, shown as its colour: green on track / met, amber close, red
    breached, grey no SLA."""

    OK = "ok"
    WARN = "warn"
    BREACHED = "breached"
    NONE = "none"


COLOURS = {
    Badge.OK: ("#1b5e20", "#e8f5e9"),
    Badge.WARN: ("#7a4f01", "#fff3cd"),
    Badge.BREACHED: ("#b71c1c", "#fdecea"),
    Badge.NONE: ("#424242", "#eeeeee"),
}


@dataclass(frozen=True)
class SlaStatus:
    badge: Badge
    text: str
    title: str = ""

    @property
    def style(self) -> str:
        colour, background = COLOURS[self.badge]
        return f"color:{colour};background:{background};padding:1px 6px;border-radius:8px"


# Per phase, so each language can build its own sentence around the duration.
DUE_IN = {
    "response": _("response due in %(left)s"),
    "resolution": _("resolution due in %(left)s"),
}
DUE_AT = {"response": _("response due %(at)s"), "resolution": _("resolution due %(at)s")}
OVERDUE = {
    "response": _("response overdue by %(late)s"),
    "resolution": _("resolution overdue by %(late)s"),
}
MISSED = {
    "response": _("response missed by %(late)s"),
    "resolution": _("resolution missed by %(late)s"),
}


def _minutes(duration: datetime.timedelta) -> int:
    return int(duration.total_seconds() // 60)


def _when(value: datetime.datetime, region: str | None) -> str:
    """A deadline in the ticket's region, worded in the active language."""
    return moment(value, ZoneInfo(region_timezone(region)))


def sla_status(ticket: Ticket, now: datetime.datetime | None = None) -> SlaStatus:
    """The SLA state of a ticket as one badge: its state, text and a title with the deadline,
    in the active language."""
    now = now or timezone.now()
    if ticket.excluded:
        return SlaStatus(Badge.NONE, str(_("excluded from SLA")), ticket.exclusion_reason)
    if ticket.status not in ACTIVE_STATUSES:
        return _finished(ticket)
    if ticket.paused_since:
        late = ticket.breached("resolution", now)
        paused = str(_("resolution clock paused (pending customer)"))
        return SlaStatus(Badge.BREACHED if late else Badge.NONE, paused)
    target = current_target(ticket)
    if target is None:
        return _no_target(ticket)
    return _running(ticket, target, now)


def _running(ticket: Ticket, target: SlaTarget, now: datetime.datetime) -> SlaStatus:
    """The running target's countdown: amber within the last hour or past 75% elapsed."""
    title = DUE_AT[target.phase] % {"at": _when(target.due, ticket.organization.region)}
    if ticket.breached(target.phase, now):
        late = duration_text(_minutes(now - target.due))
        return SlaStatus(Badge.BREACHED, OVERDUE[target.phase] % {"late": late}, title)
    business = target.business
    left = target.remaining(now)
    text = DUE_IN[target.phase] % {"left": duration_text(_minutes(left), business=business)}
    text += " — " + str(_("business hours") if business else _("clock hours"))
    warn = left <= WARN_WITHIN or now >= target.moment(WARN_FRACTION)
    return SlaStatus(Badge.WARN if warn else Badge.OK, text, title)


def _no_target(ticket: Ticket) -> SlaStatus:
    if ticket.priority == Priority.P3:
        return SlaStatus(Badge.NONE, str(_("no target (P3)")))
    return SlaStatus(Badge.NONE, str(_("no SLA")))


def _finished(ticket: Ticket) -> SlaStatus:
    """Resolved or closed: met, or which deadline was missed and by how much."""
    if ticket.response_due_at is None and ticket.resolution_due_at is None:
        return _no_target(ticket)
    for phase, due, done in (
        ("resolution", ticket.resolution_due_at, ticket.resolved_at),
        ("response", ticket.response_due_at, ticket.first_response_at),
    ):
        if done is not None and due is not None and ticket.breached(phase, done):
            late = duration_text(_minutes(done - due))
            return SlaStatus(Badge.BREACHED, MISSED[phase] % {"late": late})
    return SlaStatus(Badge.OK, str(_("met")))

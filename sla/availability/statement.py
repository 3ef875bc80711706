"""The monthly SLA statement of an organization: data, HTML (template), PDF and email."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import formats, timezone

from accounts.models import Organization
from core.replica import on_replica
from tickets.models import Ticket

from . import intervals, services
from .models import CreditKind, ServiceCredit

log = logging.getLogger(__name__)


@dataclass
class TicketLine:
    ticket: Ticket
    response_time: datetime.timedelta | None
    resolution_time: datetime.timedelta | None
    response_breached: bool
    resolution_breached: bool

    @property
    def response_text(self) -> str:
        return duration_text(self.response_time)

    @property
    def resolution_text(self) -> str:
        return duration_text(self.resolution_time)


@dataclass
class Statement:
    organization: Organization
    month: datetime.date
    generated_at: datetime.datetime
    availability: dict[str, Any]
    tickets: list[TicketLine] = field(default_factory=list)
    credits: list[ServiceCredit] = field(default_factory=list)

    @property
    def breaches(self) -> int:
        return sum(line.response_breached + line.resolution_breached for line in self.tickets)

    @property
    def credit_days(self) -> int:
        return sum(c.days for c in self.credits)

    # Figures as people read them, in the active language: "99.62 %", "330 min".
    @property
    def percent_text(self) -> str:
        return percent_text(self.availability["availability_percent"])

    @property
    def target_text(self) -> str:
        return percent_text(self.availability["target_percent"])

    @property
    def downtime_text(self) -> str:
        return minutes_text(self.availability["downtime_minutes"])

    @property
    def eligible_text(self) -> str:
        return minutes_text(self.availability["eligible_minutes"])

    @property
    def excluded_text(self) -> str:
        return minutes_text(self.availability["excluded_minutes"])


def percent_text(value: float) -> str:
    """``99.62 %`` (``99,62 %`` in French): two decimals, a (no-break) space before %."""
    return f"{formats.number_format(value, 2)}\u00a0%"


def minutes_text(value: float) -> str:
    """``330 min``, ``40,320 min``: whole minutes, grouped thousands."""
    return f"{formats.number_format(round(value), 0, force_grouping=True)}\u00a0min"


# core.replica.on_replica is not annotated yet (core is typed separately).
@on_replica  # type: ignore[untyped-decorator]
def build(
    organization: Organization, month: datetime.date, now: datetime.datetime | None = None
) -> Statement:
    """Every ticket received or resolved in the month, the month's availability, its credits."""
    now = now or timezone.now()
    lo, hi = intervals.month_bounds(month)
    tickets = (
        Ticket.objects.filter(organization=organization)
        .filter(
            Q(received_at__gte=lo, received_at__lt=hi) | Q(resolved_at__gte=lo, resolved_at__lt=hi)
        )
        .order_by("received_at", "pk")
    )
    credits = (
        ServiceCredit.objects.filter(organization=organization)
        .filter(
            Q(kind=CreditKind.RESOLUTION, breach_at__gte=lo, breach_at__lt=hi)
            | Q(kind=CreditKind.AVAILABILITY, month=month)
        )
        .select_related("ticket")
        .order_by("breach_at", "pk")
    )
    return Statement(
        organization=organization,
        month=month,
        generated_at=now,
        availability=services.availability_report(organization, month, now),
        tickets=[_line(t) for t in tickets],
        credits=list(credits),
    )


def _line(ticket: Ticket) -> TicketLine:
    response = resolution = None
    if ticket.first_response_at:
        response = ticket.first_response_at - ticket.received_at
    if ticket.resolved_at and ticket.first_response_at:
        resolution = ticket.resolved_at - ticket.first_response_at
    return TicketLine(
        ticket, response, resolution, ticket.response_breached, ticket.resolution_breached
    )


def duration_text(value: datetime.timedelta | None) -> str:
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    text = f"{hours} h {mins:02d}"
    return f"{days} d {text}" if days else text


def moment_text(value: datetime.datetime | None) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M") if value else "—"


def render_html(statement: Statement, request: HttpRequest | None = None) -> str:
    return render_to_string(
        "availability/statement.html", {"statement": statement, "standalone": True}, request
    )

"""The monthly SLA statement of an organization: data, HTML (template), PDF and email."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Organization
from core.replica import on_replica
from tickets.models import Ticket

from . import intervals, services
from .models import CreditKind, ServiceCredit, StatementDelivery

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
    availability: dict
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


def percent_text(value) -> str:
    """``99.62 %`` (``99,62 %`` in French): two decimals, a (no-break) space before %."""
    return f"{formats.number_format(value, 2)}\u00a0%"


def minutes_text(value) -> str:
    """``330 min``, ``40,320 min``: whole minutes, grouped thousands."""
    return f"{formats.number_format(round(value), 0, force_grouping=True)}\u00a0min"


@on_replica
def build(organization, month: datetime.date, now=None) -> Statement:
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


def _line(ticket) -> TicketLine:
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


def render_html(statement: Statement, request=None) -> str:
    return render_to_string(
        "availability/statement.html", {"statement": statement, "standalone": True}, request
    )


# -- PDF -----------------------------------------------------------------------------------


def render_pdf(statement: Statement) -> bytes:
    """A4 landscape PDF of the statement (statement_pdf, which loads reportlab on demand)."""
    from .statement_pdf import render_pdf as render

    return render(statement)


# -- monthly email -------------------------------------------------------------------------


def first_business_day(region: str, month: datetime.date) -> datetime.date:
    from sla.engine import calendar_for_region

    calendar = calendar_for_region(region)
    day = month
    while not calendar.is_business_day(day):
        day += datetime.timedelta(days=1)
    return day


def is_first_business_day(organization, now) -> bool:
    from sla.engine import calendar_for_region

    region = organization.region or "GMT"
    local = now.astimezone(calendar_for_region(region).tz).date()
    return local == first_business_day(region, local.replace(day=1))


def recipients(organization) -> list[str]:
    users = organization.users.filter(is_active=True, is_org_admin=True).exclude(email="")
    return sorted(users.values_list("email", flat=True))


def send_due_statements(now=None) -> int:
    """Email last month's statement to each organization's admins on its first business day.

    1. Only organizations under contract whose local date is the first business day.
    2. A StatementDelivery row (unique per organization and month) is claimed first, so two
       runs send one mail; a failure is recorded on the row and not retried automatically.
    """
    now = now or timezone.now()
    sent = 0
    for organization in Organization.objects.filter(contract__isnull=False).select_related(
        "contract"
    ):
        if not is_first_business_day(organization, now):
            continue
        sent += send_statement(
            organization, services.previous_month(services.current_month(now)), now
        )
    return sent


def send_statement(organization, month, now=None) -> int:
    now = now or timezone.now()
    to = recipients(organization)
    if not to:
        return 0
    try:
        with transaction.atomic():
            delivery = StatementDelivery.objects.create(
                organization=organization, month=month, recipients=to
            )
    except IntegrityError:
        return 0  # already sent (or being sent) by another run
    try:
        with translation.override(organization.language or settings.LANGUAGE_CODE):
            statement = build(organization, month, now)
            email = EmailMessage(
                subject=_("Your SLA statement for %(month)s") % {"month": f"{month:%Y-%m}"},
                body=render_to_string("availability/statement_email.txt", {"statement": statement}),
                to=to,
                headers={"Auto-Submitted": "auto-generated"},
            )
            email.attach(
                f"sla-statement-{month:%Y-%m}.pdf", render_pdf(statement), "application/pdf"
            )
            email.send()
    except Exception as exc:  # record it on the row and move on to the next organization
        log.exception("statement for %s %s failed", organization.pk, month)
        delivery.error = str(exc)[:2000]
        delivery.save(update_fields=["error"])
        return 0
    delivery.sent_at = timezone.now()
    delivery.save(update_fields=["sent_at"])
    return 1

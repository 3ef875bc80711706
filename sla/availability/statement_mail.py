"""The monthly SLA statement by email: last month's statement, as a PDF, to each
organization's admins on its first business day (beat: availability.send_statements)."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Organization
from sla.calendar_cache import calendar_for_region

from . import services, statement_pdf
from .models import StatementDelivery
from .statement import build

log = logging.getLogger(__name__)


def first_business_day(region: str, month: datetime.date) -> datetime.date:
    calendar = calendar_for_region(region)
    day = month
    while not calendar.is_business_day(day):
        day += datetime.timedelta(days=1)
    return day


def is_first_business_day(organization: Organization, now: datetime.datetime) -> bool:
    """Today is the organization's first business day of the month, in its region. Without a
    contract there is no region and no statement: never."""
    region = organization.region
    if region is None:
        return False
    local = now.astimezone(calendar_for_region(region).tz).date()
    return local == first_business_day(region, local.replace(day=1))


def recipients(organization: Organization) -> list[str]:
    users = organization.users.filter(is_active=True, is_org_admin=True).exclude(email="")
    return sorted(users.values_list("email", flat=True))


def send_due_statements(now: datetime.datetime | None = None) -> int:
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


def send_statement(
    organization: Organization, month: datetime.date, now: datetime.datetime | None = None
) -> int:
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
                f"sla-statement-{month:%Y-%m}.pdf",
                statement_pdf.render_pdf(statement),
                "application/pdf",
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

"""Coalesced on-call pages (spec 8: floods). An organization's first off-hours P0 pages the
engineer on call at once; its further P0s within PAGE_COALESCE_MINUTES are gathered and sent
as one digest when that window ends (beat: send_due_digests, every minute). 20 P0 tickets in
2 seconds page once, then once more with the other 19.

escalation.receivers._page asks page_now(); the sending itself stays with the notifications.
"""

import datetime
import logging
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, User
from tickets.events import Notice, publish
from tickets.models import Status, Ticket

from .models import PageRecord, on_call_for

log = logging.getLogger(__name__)


def window() -> datetime.timedelta:
    return datetime.timedelta(minutes=getattr(settings, "PAGE_COALESCE_MINUTES", 15))


def page_now(ticket: Ticket, at: datetime.datetime) -> bool:
    """Record this P0's page: True to page now, False when it joins its organization's digest.

    Call inside the transaction that sends the page: the organization's row is locked until
    it commits, so two P0s of one organization at the same moment page once, not twice.
    """
    Organization.objects.select_for_update().filter(pk=ticket.organization_id).first()
    if PageRecord.objects.filter(ticket=ticket).exists():
        return False  # paged or gathered already (a re-triage back to P0)
    last = (
        PageRecord.objects.filter(organization_id=ticket.organization_id, paged=True)
        .order_by("-at")
        .first()
    )
    if last is not None and at < last.at + window():
        PageRecord.objects.create(
            organization_id=ticket.organization_id,
            ticket=ticket,
            at=at,
            paged=False,
            digest_due_at=last.at + window(),
        )
        return False
    PageRecord.objects.create(
        organization_id=ticket.organization_id, ticket=ticket, at=at, paged=True
    )
    return True


def send_due_digests(now: datetime.datetime | None = None) -> int:
    """One digest mail per organization whose gathered P0s' window has ended; returns how
    many were sent. Rows are taken with SKIP LOCKED and marked sent in the same transaction:
    two runs at once send each digest once."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            PageRecord.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(paged=False, digest_sent_at__isnull=True, digest_due_at__lte=now)
            .select_related("ticket", "organization__contract")
            .order_by("organization_id", "at")
        )
        by_org: defaultdict[Organization, list[Ticket]] = defaultdict(list)
        for row in rows:
            by_org[row.organization].append(row.ticket)
        for organization, tickets in by_org.items():
            _send_digest(organization, tickets, now)
        PageRecord.objects.filter(pk__in=[r.pk for r in rows]).update(digest_sent_at=now)
    return len(by_org)


def _send_digest(organization: Organization, tickets: list[Ticket], now: datetime.datetime) -> None:
    """Recorded as a notice on the event stream: the notifications outbox sends it (template
    mail/oncall_digest, in the engineer's language), like the first page."""
    region = organization.region
    # An organization that lost its contract since the first page has no on-call line left:
    # its digest goes to the support team.
    engineer = on_call_for(region, now) if region is not None else None
    recipients: list[tuple[str, User | None]]
    if engineer is not None and engineer.email:
        recipients = [(engineer.email, engineer)]
    else:
        recipients = [(settings.SUPPORT_TEAM_EMAIL, None)]
    still_open = [t for t in tickets if t.status not in (Status.RESOLVED, Status.CLOSED)]
    data = {
        "organization": organization.name,
        "organization_id": organization.pk,
        "count": len(tickets),
        "open": len(still_open),
        "tickets": [[t.reference, t.status, t.subject] for t in tickets],
    }
    publish([Notice("oncall_digest", None, recipients, data)])
    log.info("P0 digest for %s: %d tickets", organization, len(tickets))

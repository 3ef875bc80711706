"""Who hears of a change: the ticket's client people (reporter and watchers, of the ticket's
own organization only), its assignee or the region's queue, a credit's people."""

import logging
from dataclasses import dataclass

from django.conf import settings

from accounts.models import User

from .models import Watcher

log = logging.getLogger("notifications")


def language_of(user, fallback: str = "en") -> str:
    value = (getattr(user, "language", "") or fallback or "en").lower()
    return "fr" if value.startswith("fr") else "en"


@dataclass(frozen=True)
class Recipient:
    email: str
    user: User | None = None
    language: str = "en"

    @classmethod
    def of(cls, user, fallback: str = "en") -> "Recipient":
        return cls(user.email, user, language_of(user, fallback))


def queue_address(region: str | None) -> Recipient:
    """The region's queue. An organization without a contract has no region: its mail goes
    to the whole team (SUPPORT_TEAM_EMAIL), never to one region's queue by guess."""
    if region is None:
        log.warning("No contract, so no region queue: mail goes to SUPPORT_TEAM_EMAIL")
        return Recipient(settings.SUPPORT_TEAM_EMAIL)
    return Recipient(settings.SUPPORT_QUEUE_EMAILS[region])


def _region(ticket) -> str | None:
    contract = getattr(ticket.organization, "contract", None)
    return contract.region if contract else None


def is_client_of(user, organization_id) -> bool:
    """The tenancy rule for client mail: an active client of that very organization."""
    return bool(
        user is not None
        and user.is_active
        and user.email
        and not user.is_staff
        and user.organization_id == organization_id
    )


def client_people(ticket, watchers) -> list[Recipient]:
    """The reporter and the watchers, each once, of the ticket's organization only."""
    fallback = getattr(ticket.organization, "language", "en")
    people = [ticket.reporter, *watchers] if ticket.reporter_id else list(watchers)
    seen, out = set(), []
    for user in people:
        if is_client_of(user, ticket.organization_id) and user.email.lower() not in seen:
            seen.add(user.email.lower())
            out.append(Recipient.of(user, fallback))
    return out


def staff_or_queue(ticket) -> list[Recipient]:
    """Staff mail about a ticket: its assignee, else the region's support queue."""
    assignee = ticket.assignee if ticket.assignee_id else None
    if assignee is not None and assignee.email and assignee.is_active:
        return [Recipient.of(assignee)]
    return [queue_address(_region(ticket))]


def credit_people(credit) -> list[Recipient]:
    """A ticket's credit: the ticket's client people; a month's credit: the organization's
    admins (else its active clients)."""
    if credit.ticket_id:
        ticket = credit.ticket
        watchers = [w.user for w in Watcher.objects.filter(ticket=ticket).select_related("user")]
        return client_people(ticket, watchers)
    users = list(
        User.objects.filter(
            organization_id=credit.organization_id, is_active=True, is_staff=False
        ).order_by("-is_org_admin", "pk")
    )
    admins = [u for u in users if u.is_org_admin] or users
    fallback = getattr(credit.organization, "language", "en")
    return [Recipient.of(u, fallback) for u in admins if u.email]

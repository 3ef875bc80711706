"""Escalation notices: to the level's contact and the assignee (warnings: and the support
team), and the on-call page. This module decides who and what; the mail itself is a
notification (templates/mail/escalation.*, warning.*, oncall.*) written to the outbox by the
event stream's consumer (tickets.events.Notice), so it is sent, retried and threaded like
every other mail, with Auto-Submitted: auto-generated.
"""

from django.conf import settings

from accounts.models import User
from tickets import events
from tickets.models import Ticket

from .models import EscalationEvent, Level


def known_people(ticket: Ticket) -> dict[str, User]:
    """email → user for the people the ticket already loaded (no query)."""
    contract = getattr(ticket.organization, "contract", None)
    people = [
        ticket.assignee,
        getattr(contract, "support_manager", None),
        getattr(contract, "account_manager", None),
    ]
    return {p.email.lower(): p for p in people if p is not None and p.email}


def recipients_of(event: EscalationEvent) -> list[str]:
    ticket = event.ticket
    to = [event.contact_email]
    if ticket.assignee is not None and ticket.assignee.email:
        to.append(ticket.assignee.email)  # the assignee watches every level
    if event.level == Level.WARNING:
        to.append(settings.SUPPORT_TEAM_EMAIL)
    seen, out = set(), []
    for address in to:
        if address and address.lower() not in seen:
            seen.add(address.lower())
            out.append(address)
    return out


def notice_for(event: EscalationEvent) -> events.Notice:
    """The notice of one escalation event (level 0 is the 75% warning)."""
    people = known_people(event.ticket)
    recipients = [(a, people.get(a.lower())) for a in recipients_of(event)]
    data = {
        "level": event.level,
        "role": event.role,
        "phase": event.phase,
        "reason": event.reason,
        "contact_missing": event.contact_missing,
    }
    kind = "warning" if event.level == Level.WARNING else "escalation"
    return events.Notice(kind, event.ticket, recipients, data)


def send_oncall_mail(ticket: Ticket, engineer: User | None) -> None:
    """Page the engineer on call (or the support team when nobody is) about an urgent P0."""
    recipients: list[tuple[str, User | None]]
    if engineer is not None and engineer.email:
        recipients = [(engineer.email, engineer)]
    else:
        recipients = [(settings.SUPPORT_TEAM_EMAIL, None)]
    events.publish([events.Notice("oncall", ticket, recipients, {})])

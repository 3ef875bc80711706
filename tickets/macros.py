"""Filling a macro's placeholders for one ticket, in the language of its client."""

import re

from django.db.models import Q
from django.utils import timezone

from .models import Macro, Ticket

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def client_language(ticket: Ticket) -> str:
    reporter = ticket.reporter
    return (reporter and reporter.language) or ticket.organization.language or "en"


def placeholders(ticket: Ticket, agent, tz) -> dict[str, str]:
    """The values a macro may quote; deadlines in the organization's local time (``tz``)."""
    reporter = ticket.reporter
    client = (reporter.get_full_name() or reporter.username) if reporter else ""
    return {
        "reference": ticket.reference,
        "subject": ticket.subject,
        "client_name": client,
        "organization": ticket.organization.name,
        "agent_name": agent.get_full_name() or agent.get_username(),
        "response_due": _moment(ticket.response_due_at, tz),
        "resolution_due": _moment(ticket.resolution_due_at, tz),
    }


def _moment(value, tz) -> str:
    if value is None:
        return "—"
    return timezone.localtime(value, tz).strftime("%Y-%m-%d %H:%M %Z")


def render_body(body: str, values: dict[str, str]) -> str:
    """Replace known {name} placeholders; unknown ones stay as typed (no format() tricks)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def macros_for(ticket: Ticket, agent, tz) -> list[dict]:
    """The active macros for this ticket's client language, rendered and ready for the page."""
    language = client_language(ticket)
    rows = Macro.objects.filter(Q(language="") | Q(language=language), active=True)
    values = placeholders(ticket, agent, tz)
    return [
        {
            "id": macro.pk,
            "title": macro.title,
            "language": macro.language,
            "body": render_body(macro.body, values),
            "internal": macro.internal,
            "status": macro.set_status,
            "priority": macro.set_priority,
            "assignee": agent.pk if macro.assign_to_me else None,
        }
        for macro in rows
    ]

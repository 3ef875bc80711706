"""``{% load sla_tags %}``: ``{% sla_status ticket as sla %}``, ``{{ ticket|sla_text }}``,
``{% sla_badge ticket %}``."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from sla.calendars import region_timezone
from sla.display import SlaStatus
from sla.display import sla_status as _sla_status
from tickets.event_text import describe
from tickets.models import Ticket, TicketEvent

register = template.Library()


@register.simple_tag
def sla_status(ticket: Ticket) -> SlaStatus:
    """The ticket's SlaStatus (badge, text, title, style)."""
    return _sla_status(ticket)


@register.simple_tag
def ticket_timezone(ticket: Ticket) -> str:
    """The IANA zone of the ticket's support region, for ``{% timezone %}`` blocks."""
    return region_timezone(ticket.organization.region)


@register.filter
def event_sentence(event: TicketEvent) -> str:
    """A timeline or audit event worded in the reader's language and time zone."""
    return describe(event)


@register.filter
def sla_text(ticket: Ticket) -> str:
    return _sla_status(ticket).text


@register.simple_tag
def sla_badge(ticket: Ticket) -> SafeString:
    return badge(_sla_status(ticket))


def badge(status: SlaStatus) -> SafeString:
    return format_html(
        '<span class="sla sla-{}" style="{}" title="{}">{}</span>',
        status.badge,
        status.style,
        status.title,
        status.text,
    )

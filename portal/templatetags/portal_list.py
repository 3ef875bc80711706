"""``{% load portal_list %}{% ticket_rows tickets show_org %}``: the rows of the portal's ticket
list, rendered in Python.

Through the template engine, a row of eight cells with dates, badges and the SLA include cost
a few hundred node renders: two thirds of the page. Here each row is one format_html, with the
cell labels (shown on narrow screens) translated once per page. It lives in the project package
because a row joins the tickets app's fields with the sla app's badge.
"""

from django import template
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from sla.templatetags.sla_tags import sla_badge

register = template.Library()

ROW = """
    <tr{unread_class}>
      <td data-label="{l_reference}"><a class="ref" href="{url}">{reference}</a></td>
      <td data-label="{l_subject}" class="subject"><a href="{url}">{subject}</a>{marker}</td>
      {organization}
      <td data-label="{l_priority}"><span class="badge prio-{prio}">{priority}</span></td>
      <td data-label="{l_status}"><span class="badge status-{status}">{status_text}</span></td>
      <td data-label="{l_received}"><time datetime="{received_iso}">{received}</time></td>
      <td data-label="{l_sla}">{sla}</td>
      <td data-label="{l_updated}"><time datetime="{updated_iso}">{updated}</time></td>
    </tr>"""


def labels() -> dict[str, str]:
    return {
        "l_reference": _("Reference"),
        "l_subject": _("Subject"),
        "l_organization": _("Organization"),
        "l_priority": _("Priority"),
        "l_status": _("Status"),
        "l_received": _("Received"),
        "l_sla": _("SLA"),
        "l_updated": _("Last update"),
        "l_unread_title": _(
            "Support replied or changed the status since you last opened this ticket."
        ),
        "l_unread": _("Updated"),
    }


def local(value, fmt: str) -> str:
    """What ``{{ value|date:fmt }}`` shows: the moment in the active time zone."""
    return dateformat.format(timezone.localtime(value), fmt) if value else ""


def row(ticket, words: dict[str, str], show_org: bool) -> SafeString:
    marker = (
        format_html(
            ' <span class="badge unread-marker" title="{}">{}</span>',
            words["l_unread_title"],
            words["l_unread"],
        )
        if ticket.unread
        else ""
    )
    organization = (
        format_html(
            '<td data-label="{}">{}</td>', words["l_organization"], ticket.organization.name
        )
        if show_org
        else ""
    )
    return format_html(
        ROW,
        unread_class=mark_safe(' class="unread"') if ticket.unread else "",  # noqa: S308 - a constant
        url=reverse("tickets:detail", args=[ticket.reference]),
        reference=ticket.reference,
        subject=ticket.subject,
        marker=marker,
        organization=organization,
        prio=ticket.priority.lower(),
        priority=ticket.priority,
        status=ticket.status,
        status_text=ticket.get_status_display(),
        received_iso=local(ticket.received_at, "c"),
        received=local(ticket.received_at, "Y-m-d H:i T"),
        sla=sla_badge(ticket),
        updated_iso=local(ticket.updated_at, "c"),
        updated=local(ticket.updated_at, "Y-m-d H:i T"),
        **words,  # the labels the row names (format ignores the unread marker's two)
    )


@register.simple_tag
def ticket_rows(tickets, show_org: bool) -> SafeString:
    """The list's <tr> rows; each ticket needs `unread` (with_unread_for) and its
    organization's contract selected (the SLA badge)."""
    words = labels()
    return mark_safe("".join(row(ticket, words, show_org) for ticket in tickets))  # noqa: S308 - each row is format_html

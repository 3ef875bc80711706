"""Tags for the include templates, so the portal views need no extra context."""

from django import template
from django.conf import settings
from django.utils import timezone

from accounts.models import Region

from ..models import MAX_LEVEL, ROLES, OnCallShift

register = template.Library()


@register.simple_tag
def ticket_escalations(ticket, user):
    """The history shown on the ticket page (one query); warnings only for staff."""
    return list(ticket.escalations.seen_by(user))


@register.filter
def role_name(level) -> str:
    """The role a level reaches, in the reader's language (rows store the writer's words)."""
    return str(ROLES.get(level, ""))


@register.simple_tag
def escalation_max_level():
    return MAX_LEVEL


@register.simple_tag
def oncall_now():
    """For each region: who answers the P0 line now (one query), with the phone number."""
    now = timezone.now()
    on_call = {}
    for shift in OnCallShift.objects.at(now).select_related("engineer").order_by("starts_at"):
        on_call[shift.region] = shift.engineer  # latest-starting shift wins
    phones = settings.SUPPORT_PHONE_NUMBERS
    return [
        {
            "code": code,
            "label": label,
            "phone": phones.get(code, ""),
            "engineer": on_call.get(code),
        }
        for code, label in Region.choices
    ]

"""Tags for the include templates, so the portal views need no extra context."""

from typing import Any

from django import template
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts.models import Region, User
from tickets.models import Ticket

from ..models import MAX_LEVEL, ROLES, EscalationEvent, Level, OnCallShift

register = template.Library()


@register.simple_tag
def ticket_escalations(
    ticket: Ticket, user: AbstractBaseUser | AnonymousUser
) -> list[EscalationEvent]:
    """The history shown on the ticket page (one query); warnings only for staff."""
    return list(ticket.escalations.seen_by(user))


@register.filter
def role_name(level: int) -> str:
    """The role a level reaches, in the reader's language (rows store the writer's words)."""
    return str(ROLES[Level(level)]) if level in Level.values else ""


@register.simple_tag
def escalation_max_level() -> int:
    return MAX_LEVEL


@register.simple_tag
def oncall_now() -> list[dict[str, Any]]:
    """For each region: who answers the P0 line now (one query), with the phone number."""
    now = timezone.now()
    on_call: dict[str, User] = {}
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
